//! The `herald` binary. Everything it does is `herald::cli::main`: parse the arguments, set up
//! logging, run the command, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    one_malloc_arena();
    herald::cli::main()
}

/// glibc gives each thread that allocates its own arena (up to eight per core), and each keeps
/// the memory it once held: with the runtime's threads and one thread per SQLite connection, a
/// send's peak RSS grew with the list (35.5 MiB at 200,000 readers against 25.7 at 20,000). One
/// arena took 6 MiB off that, at no cost measured in the send rate (`benches/delivery.sh`). Set
/// before the first thread starts. The only `unsafe` in Herald (the lint denies it elsewhere).
#[allow(unsafe_code)]
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

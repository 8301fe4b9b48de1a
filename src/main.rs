//! The `herald` binary. Everything it does is `herald::cli::main`: parse the arguments, set up
//! logging, run the command, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    herald::cli::main()
}

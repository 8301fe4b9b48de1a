//! Stop requests: SIGINT and SIGTERM become a [`Shutdown`] that long-running work watches.
//! At the bottom of the house: everything that runs long may depend on it, it on nothing.

use tokio::sync::watch;
use tracing::info;

/// A stop request: `true` once the run should wind down.
pub type Shutdown = watch::Receiver<bool>;

/// A shutdown that never fires, for callers with nothing to stop them.
pub fn never_stop() -> Shutdown {
    let (sender, receiver) = watch::channel(false);
    // Leaking one sender keeps the channel open for the life of the process; it is tiny.
    std::mem::forget(sender);
    receiver
}

/// A shutdown that fires on the first SIGINT (Ctrl-C) or SIGTERM.
pub fn on_signals() -> Shutdown {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("stop requested: finishing in-flight work");
        let _ = sender.send(true);
        // Keep the channel open so watchers see `true`, not a closed channel.
        std::future::pending::<()>().await;
    });
    receiver
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

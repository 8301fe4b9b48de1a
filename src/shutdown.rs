//! Stop requests: SIGINT and SIGTERM become a [`Shutdown`] that long-running work watches.

use tokio::sync::watch;
use tracing::info;

pub use crate::delivery::sender::Shutdown;

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

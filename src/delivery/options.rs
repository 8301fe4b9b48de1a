//! How fast and how persistently a run sends.

use std::time::Duration;

use crate::settings::{Settings, TransportKind};

/// How fast and how persistently to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub concurrency: usize,
    /// Messages per second over all connections; 0 for no limit.
    pub rate_per_second: u32,
    pub max_attempts: u32,
    /// The first retry waits this long; each further one twice as long.
    pub retry_base: Duration,
}

impl SendOptions {
    /// From `[delivery]`; over SMTP, also at most `smtp.pool_size` connections (one message is
    /// in flight per connection).
    pub fn from_settings(settings: &Settings) -> Self {
        let delivery = &settings.delivery;
        let concurrency = match settings.transport.kind {
            TransportKind::Smtp => delivery.concurrency.min(settings.smtp.pool_size),
            TransportKind::File => delivery.concurrency,
        };
        let settings = delivery;
        Self {
            concurrency: concurrency as usize,
            rate_per_second: settings.rate_per_second,
            max_attempts: settings.max_attempts,
            retry_base: Duration::from_secs(settings.retry_base_secs),
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
    }
}

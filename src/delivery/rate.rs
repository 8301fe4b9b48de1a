//! `delivery.rate_per_second`: evenly spaced send slots shared by every connection.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    /// `None`: no limit.
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_second(rate: u32) -> Self {
        Self {
            interval: (rate > 0).then(|| Duration::from_secs(1) / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot. Slots not used while idle are not saved up, so a pause is
    /// not followed by a burst.
    pub async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate_and_idle_time_is_not_banked() {
        let limiter = RateLimiter::per_second(10);
        let started = Instant::now();
        for _ in 0..5 {
            limiter.wait().await;
        }
        assert_eq!(started.elapsed(), Duration::from_millis(400));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let resumed = Instant::now();
        limiter.wait().await;
        limiter.wait().await;
        assert_eq!(resumed.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_no_limit() {
        let limiter = RateLimiter::per_second(0);
        let started = Instant::now();
        for _ in 0..100 {
            limiter.wait().await;
        }
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}

//! In-process measurements for `/metrics`; counts that live in the database are read at scrape
//! time instead (see `web::health`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the send-latency buckets, in seconds.
pub const SEND_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    send_buckets: [AtomicU64; SEND_BUCKETS.len()],
    send_count: AtomicU64,
    send_micros: AtomicU64,
    pub subscribe_requests: AtomicU64,
    pub subscribe_rate_limited: AtomicU64,
    pub confirmations_sent: AtomicU64,
}

impl Metrics {
    /// One SMTP transaction (or file write), however it ended.
    pub fn observe_send(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, bucket) in SEND_BUCKETS.iter().zip(&self.send_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.send_count.fetch_add(1, Ordering::Relaxed);
        self.send_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The send-latency histogram in Prometheus text format.
    pub fn write_send_histogram(&self, out: &mut String) {
        use std::fmt::Write as _;
        let name = "herald_send_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to hand one message to the SMTP server."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, bucket) in SEND_BUCKETS.iter().zip(&self.send_buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.send_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.send_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

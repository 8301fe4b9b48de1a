//! The circuit breaker between a run and a failing server. A few consecutive failures of the
//! server (refused or dropped connections, timeouts, `421`, a full outbox) open it: no
//! connection is opened while it cools down, with a back-off that doubles each time; after
//! `max_attempts` openings without a success in between, the run gives up. A permanent failure
//! (AUTH or sender refused, certificate not trusted) ends the run at once. Either way the rows
//! stay deliverable: the breaker is about the server, never about a reader.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::warn;

use crate::delivery::failure::ServerFailure;

/// Consecutive server failures that open the breaker.
pub const THRESHOLD: u32 = 3;

/// Why the run must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The server refused us for good.
    Refused(ServerFailure),
    /// The server kept failing through every back-off.
    GaveUp {
        failure: ServerFailure,
        openings: u32,
    },
}

impl Halt {
    pub fn failure(&self) -> &ServerFailure {
        match self {
            Self::Refused(failure) | Self::GaveUp { failure, .. } => failure,
        }
    }
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(failure) => write!(f, "{failure}"),
            Self::GaveUp { failure, openings } => {
                write!(f, "{failure} (gave up after backing off {openings} times)")
            }
        }
    }
}

#[derive(Debug)]
struct State {
    consecutive: u32,
    openings: u32,
    /// Bumped at each opening: failures of attempts admitted before it were already counted.
    generation: u64,
    closed_at: Instant,
    halt: Option<Halt>,
}

#[derive(Debug)]
pub struct Breaker {
    max_openings: u32,
    base: Duration,
    state: Mutex<State>,
    halted: watch::Sender<bool>,
}

/// Permission to try the server once, from a given generation of the breaker.
#[derive(Debug, Clone, Copy)]
pub struct Admission(u64);

impl Breaker {
    pub fn new(max_openings: u32, base: Duration) -> Self {
        Self {
            max_openings: max_openings.max(1),
            base,
            state: Mutex::new(State {
                consecutive: 0,
                openings: 0,
                generation: 0,
                closed_at: Instant::now(),
                halt: None,
            }),
            halted: watch::channel(false).0,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the counters half-written; keep going with them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits while the breaker cools down; `None` once the run must stop.
    pub async fn admit(&self) -> Option<Admission> {
        let mut halted = self.halted.subscribe();
        loop {
            let (closed_at, generation) = {
                let state = self.state();
                if state.halt.is_some() {
                    return None;
                }
                (state.closed_at, state.generation)
            };
            if Instant::now() >= closed_at {
                return Some(Admission(generation));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(closed_at) => {}
                _ = halted.changed() => {}
            }
        }
    }

    pub fn succeeded(&self) {
        let mut state = self.state();
        state.consecutive = 0;
        state.openings = 0;
    }

    pub fn failed(&self, admission: Admission, failure: &ServerFailure) {
        let mut state = self.state();
        if state.halt.is_some() {
            return;
        }
        if failure.permanent {
            state.halt = Some(Halt::Refused(failure.clone()));
            drop(state);
            self.halted.send_replace(true);
            return;
        }
        if admission.0 != state.generation {
            return;
        }
        state.consecutive += 1;
        if state.consecutive < THRESHOLD {
            return;
        }
        state.consecutive = 0;
        state.openings += 1;
        state.generation += 1;
        if state.openings >= self.max_openings {
            state.halt = Some(Halt::GaveUp {
                failure: failure.clone(),
                openings: state.openings,
            });
            drop(state);
            self.halted.send_replace(true);
            return;
        }
        let pause = self
            .base
            .saturating_mul(1u32 << (state.openings - 1).min(16));
        state.closed_at = Instant::now() + pause;
        warn!(
            "{failure}; {THRESHOLD} failures in a row, pausing {} s before trying the server again ({} of {})",
            pause.as_secs(),
            state.openings,
            self.max_openings
        );
    }

    /// Fires once the run must stop.
    pub fn halted(&self) -> watch::Receiver<bool> {
        self.halted.subscribe()
    }

    pub fn halt(&self) -> Option<Halt> {
        self.state().halt.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::failure::Stage;

    fn failure(permanent: bool) -> ServerFailure {
        ServerFailure {
            target: "smtp 127.0.0.1:25".into(),
            stage: Stage::Connect,
            detail: "connection refused".into(),
            permanent,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_pause_with_growing_backoff_then_give_up() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        for _ in 0..THRESHOLD {
            let admission = breaker.admit().await.expect("closed");
            breaker.failed(admission, &failure(false));
        }
        let started = Instant::now();
        let admission = breaker.admit().await.expect("still trying");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        for _ in 0..THRESHOLD {
            breaker.failed(admission, &failure(false));
        }
        let admission = breaker.admit().await.expect("still trying");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        for _ in 0..THRESHOLD {
            breaker.failed(admission, &failure(false));
        }
        assert!(breaker.admit().await.is_none());
        assert!(matches!(
            breaker.halt(),
            Some(Halt::GaveUp { openings: 3, .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_of_attempts_admitted_before_an_opening_count_once() {
        let breaker = Breaker::new(2, Duration::from_secs(1));
        let admissions: Vec<_> = futures_util::future::join_all((0..8).map(|_| breaker.admit()))
            .await
            .into_iter()
            .flatten()
            .collect();
        for admission in admissions {
            breaker.failed(admission, &failure(false));
        }
        assert_eq!(
            breaker.halt(),
            None,
            "eight parallel failures are one opening"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count_and_a_permanent_failure_halts_at_once() {
        let breaker = Breaker::new(2, Duration::from_secs(1));
        let admission = breaker.admit().await.expect("closed");
        breaker.failed(admission, &failure(false));
        breaker.failed(admission, &failure(false));
        breaker.succeeded();
        breaker.failed(admission, &failure(false));
        assert!(breaker.admit().await.is_some());
        breaker.failed(admission, &failure(true));
        assert!(breaker.admit().await.is_none());
        assert!(matches!(breaker.halt(), Some(Halt::Refused(_))));
    }
}

//! Where an edition and each of its deliveries stand, as their `status` columns store them.

/// An edition's state: built and `Ready`, `Sending` once a run has started, `Sent` when no
/// delivery is left to make, `Skipped` when there was nothing to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditionState {
    Ready,
    Sending,
    Sent,
    Skipped,
}

impl EditionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
        }
    }
}

/// One delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not tried yet.
    Pending,
    /// Claimed by a sender under a lease.
    Sending,
    Sent,
    /// Due again at `next_attempt_at`: the reader's server said "later", or the run paused.
    Retry,
    /// The reader's server said "later" to every attempt allowed: given up, not a bounce.
    Deferred,
    /// Refused for good, or unsendable.
    Failed,
    /// The reader left the list before it was sent.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Deferred => "deferred",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

//! Where an edition and each of its deliveries stand, and what a bounce report said, as their
//! columns store them. Rows are read with `#[sqlx(try_from = "String")]` and written with
//! `as_str()`, so a state leaves `store/` typed and no other layer spells one out.

use std::fmt;

/// Names each variant as its column stores it, and reads it back.
macro_rules! stored_as_text {
    ($state:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $state {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl TryFrom<String> for $state {
            type Error = UnknownState;
            fn try_from(stored: String) -> Result<Self, UnknownState> {
                match stored.as_str() {
                    $($name => Ok(Self::$variant),)+
                    _ => Err(UnknownState {
                        what: stringify!($state),
                        stored,
                    }),
                }
            }
        }

        impl fmt::Display for $state {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $state {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

/// A state column holding a value this version does not know: a newer version wrote it, or the
/// database was edited by hand.
#[derive(Debug, thiserror::Error)]
#[error("the database holds {stored:?}, which is not a {what}")]
pub struct UnknownState {
    what: &'static str,
    stored: String,
}

/// An edition's state: built and `Ready`, `Sending` once a run has started, `Sent` when no
/// delivery is left to make, `Skipped` when there was nothing to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditionState {
    Ready,
    Sending,
    Sent,
    Skipped,
}

stored_as_text!(EditionState {
    Ready => "ready",
    Sending => "sending",
    Sent => "sent",
    Skipped => "skipped",
});

impl EditionState {
    /// What an edition starts as: `Ready` to send, or `Skipped` when it holds nothing.
    pub fn built(has_content: bool) -> Self {
        if has_content {
            Self::Ready
        } else {
            Self::Skipped
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

stored_as_text!(DeliveryState {
    Pending => "pending",
    Sending => "sending",
    Sent => "sent",
    Retry => "retry",
    Deferred => "deferred",
    Failed => "failed",
    Cancelled => "cancelled",
});

/// What a report says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Permanent failure (5.x.x): no such user, no such domain.
    Hard,
    /// Temporary failure (4.x.x, or a full mailbox): counts towards `bounces.soft_limit`.
    Soft,
    /// A warning (`Action: delayed`) or another notice that is not a failure.
    Delayed,
    /// The reader marked the mail as spam (ARF `Feedback-Type: abuse`).
    Complaint,
    /// A vacation notice, an auto-responder, a challenge: never a bounce.
    AutoReply,
    /// Not a report Herald can read (malformed, or ordinary mail): kept, no effect.
    Unrecognised,
}

stored_as_text!(ReportKind {
    Hard => "hard",
    Soft => "soft",
    Delayed => "delayed",
    Complaint => "complaint",
    AutoReply => "auto_reply",
    Unrecognised => "unrecognised",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_what_it_stores_and_refuses_what_it_does_not_know() {
        for state in [
            DeliveryState::Pending,
            DeliveryState::Deferred,
            DeliveryState::Cancelled,
        ] {
            assert_eq!(
                DeliveryState::try_from(state.as_str().to_string()).expect("known"),
                state
            );
        }
        assert_eq!(
            ReportKind::try_from("auto_reply".to_string()).expect("known"),
            ReportKind::AutoReply
        );
        let error = EditionState::try_from("archived".to_string()).expect_err("unknown");
        assert!(error.to_string().contains("\"archived\""), "{error}");
        assert!(error.to_string().contains("EditionState"), "{error}");
    }
}

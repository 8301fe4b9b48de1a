//! Sending editions: MIME messages, DKIM, transports and the crash-safe send loop.

pub mod breaker;
pub mod confirmations;
pub mod dkim;
pub mod edition_lock;
pub mod failure;
pub mod headers;
pub mod mailer;
pub mod message;
pub mod options;
pub mod rate;
pub mod recorder;
pub mod sender;
pub mod transport;
pub mod write_turn;

//! Sending editions: MIME messages, DKIM, transports and the crash-safe send loop.

pub mod breaker;
pub mod confirmations;
pub mod dkim;
pub mod failure;
pub mod headers;
pub mod mailer;
pub mod message;
pub mod rate;
pub mod sender;
pub mod transport;

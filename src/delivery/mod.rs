//! Sending editions: MIME messages, DKIM, transports and the crash-safe send loop.

pub mod breaker;
pub mod dkim;
pub mod failure;
pub mod headers;
pub mod message;
pub mod rate;
pub mod sender;
pub mod transport;

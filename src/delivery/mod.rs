//! Sending editions: MIME messages and (later) transports and the send loop.
pub mod headers;
pub mod message;

//! Herald's integration tests: one binary, each test on its own temporary SQLite file.

mod helpers;

mod binary;
mod concurrency;
mod delivery;
mod digest;
mod digest_snapshot;
mod lists;
mod smtp;
mod settings;
mod stories;
mod subscriber_import;
mod subscribers;

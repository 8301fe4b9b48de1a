//! Herald's integration tests: one binary, each test on its own temporary SQLite file.

mod helpers;

mod backup;
mod binary;
mod bounces;
mod concurrency;
mod config_check;
mod crash;
pub mod daemon;
mod delivery;
mod digest;
mod digest_snapshot;
mod dkim;
mod feed_corpus;
mod feeds;
mod fuzz_replay;
mod html_check;
mod imap_bounces;
pub mod languages;
mod lists;
mod operations;
mod outbound;
mod package;
mod pictures;
mod postfix_bounces;
mod postgres_db;
mod schedule;
mod server_faults;
mod settings;
mod smtp;
mod stories;
mod story_api;
mod subscriber_import;
mod subscribers;
mod web_busy;
mod web_limits;
mod webhooks;

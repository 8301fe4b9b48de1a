//! Herald: a self-hosted daily digest mailer. The binary is a thin shell over this library.

pub mod app;
pub mod bounces;
pub mod cli;
pub mod clicks;
pub mod clock;
pub mod daemon;
pub mod delivery;
pub mod demo;
pub mod digest;
pub mod domain;
pub mod error;
pub mod feeds;
pub mod fingerprint;
pub mod import;
pub mod locale;
pub mod logging;
pub mod metrics;
pub mod scheduler;
pub mod settings;
pub mod shutdown;
pub mod store;
#[path = "../templates/mod.rs"]
pub mod templates;
pub mod tls;
pub mod web;

pub use app::App;
pub use error::BadInput;

//! The digest: which stories an edition carries, rendering it once for all subscribers, and
//! creating the edition with its deliveries.

pub mod build;
pub mod edition;
pub mod ranking;
pub mod steer;
pub mod template;

pub use build::{build_edition, Built};
pub use edition::{plan, render, today, EditionPlan, RenderedEdition};

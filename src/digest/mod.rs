//! The digest: which stories an edition carries, and rendering it once for all subscribers.

pub mod edition;
pub mod ranking;
pub mod template;

pub use edition::{plan, render, EditionPlan, RenderedEdition};

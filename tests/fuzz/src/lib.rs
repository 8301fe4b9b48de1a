//! The checks each fuzz target runs on one input.

pub mod checks;

//! Analyse: the collected facts turned into the figures of the
//! [`Summary`](crate::Summary), all pure functions so every figure is
//! unit-tested against known input, one module per idea of the report. They
//! compute every percentile through [`crate::stats`], which holds the one
//! convention.

pub mod activity;
pub mod assemble;
pub mod findings;
pub mod phases;
pub mod series;
pub mod stages;
pub mod targets;

//! Scenarios: one command from a scenario file to a performance report.
//!
//! [`ScenarioFile`] is the TOML a user writes (`configs/*.toml`);
//! [`run::run`] starts the database (the embedded PostgreSQL unless a URL is
//! given, see [`database`]), the pipeline and the generator, waits for the
//! pipeline to drain, and has the reporter write `runs/<run-id>/`;
//! [`sweep::sweep`] runs one scenario under a matrix of pipeline settings
//! and compares the runs.

mod activity;
pub mod bench;
pub mod database;
pub mod external;
pub mod failover;
pub mod pipeline_process;
mod progress;
pub mod resources;
pub mod run;
mod scenario_file;
pub mod sweep;

pub use scenario_file::{GeneratorSection, Overrides, ScenarioFile};

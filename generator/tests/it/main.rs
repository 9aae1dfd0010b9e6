//! Integration tests of the generator: files, manifest, rows, determinism,
//! stopping, and manifest reading.

mod common;
mod determinism;
mod manifest_read;
mod perf;
mod run;
mod stop;

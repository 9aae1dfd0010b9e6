//! Integration tests of the generator: files, manifest, rows, determinism,
//! stopping, manifest reading, rate profiles and concurrent sources.

mod common;
mod determinism;
mod manifest_read;
mod perf;
mod rate;
mod run;
mod sources;
mod stop;

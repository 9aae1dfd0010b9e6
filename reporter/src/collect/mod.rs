//! Collect: everything the report knows, read once. The manifest (what
//! should have happened), the database (what did: rows, commit times,
//! batches, rejects, the table's size and query timings), the clock offset
//! to a remote server, and the run's side files. Nothing here judges a
//! figure; [`crate::analyse`] does.

pub mod activity;
pub mod clock;
pub mod database;
pub mod gather;
pub mod manifest;
pub mod run_files;

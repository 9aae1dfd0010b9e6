//! Exactly-once micro-batch ingest of CSV files into PostgreSQL, through
//! DataFusion.
//!
//! Data flows one way through typed values, one module per stage:
//!
//! | stage | module | in → out |
//! | --- | --- | --- |
//! | discover | [`discover`] | folder events and listings → pending [`checkpoint::PlannedFile`]s |
//! | plan / checkpoint | [`checkpoint`] | pending files → a durable [`checkpoint::Plan`] |
//! | parse | [`parse`] | files → Arrow `RecordBatch`es + [`parse::RejectedRow`]s |
//! | transform | [`transform`] | batch → deduped batch (DataFusion SQL) |
//! | sink | [`sink`] | batch → one PostgreSQL transaction per micro-batch |
//!
//! [`batch`] runs one plan through parse → transform → sink; [`check`] runs
//! what a start verifies without ingesting (`sluice check`); [`driver`] paces
//! batches by the trigger and recovers after a crash; [`stage`] logs where a
//! batch is; [`metrics`] serves a run's figures to Prometheus; [`claims`]
//! lets several workers share one folder, coordinated by the database. The PostgreSQL used when no database URL is given lives in its
//! own crate (`sluice-postgres`): this one only talks to a server.
//!
//! Exactly once: a batch's plan is written to the checkpoint folder before
//! it runs; its rows, rejects and `sluice_batches` record commit in one
//! transaction; on restart [`checkpoint::decide`] asks the database whether
//! the interrupted batch committed and replays it with the same files if not.
//! The upsert rewrites nothing on an identical replay.
//!
//! The table is a function of the input: of a key's versions the greatest
//! version column (`event_time`) wins, then the greater file name, then the
//! later line, whatever the batches (the transform within a chunk, the
//! upsert's guard across chunks and batches: [`sink`]). One process owns a
//! checkpoint (a file lock and a database advisory lock); batch ids come
//! from a database sequence, so pipelines sharing a database never collide.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use pipeline::{config::{IngestConfig, Trigger}, db::DbTarget, driver};
//!
//! let config = IngestConfig { input: "incoming".into(), trigger: Trigger::AvailableNow, ..Default::default() };
//! let db = DbTarget::parse("postgres://postgres@127.0.0.1:5432/sluice")?;
//! let summary = driver::run(&config, &db, Default::default(), Arc::new(driver::LogObserver)).await?;
//! println!("{} rows upserted, {} rejected", summary.rows_upserted, summary.rows_rejected);
//! # Ok(()) }
//! ```

pub mod batch;
pub mod check;
pub mod checkpoint;
pub mod claims;
pub mod config;
pub mod db;
pub mod discover;
pub mod driver;
pub mod metrics;
pub mod parse;
pub mod schema;
pub mod sink;
pub mod stage;
pub mod tls;
pub mod transform;

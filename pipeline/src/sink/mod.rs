//! Write: one PostgreSQL transaction per micro-batch.
//!
//! A [`SinkBatch`] holds a pooled connection with an open transaction. The
//! batch's rows are upserted through the configured [`WriteMode`], its
//! rejects and quarantined files are recorded, and its `sluice_batches` row
//! is inserted last, in the same transaction, so the data, the rejects and
//! the record of the batch become visible together or not at all.

mod copy_merge;
mod encode;
mod insert;
pub mod ledger;
mod unnest;
mod upsert;

use std::pin::pin;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use deadpool_postgres::{Object, Pool};
use serde::{Deserialize, Serialize};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::claims::{ClaimLost, Claims};
use crate::db::DbError;
use crate::parse::RejectedRow;
use crate::schema::TableSchema;

pub use encode::EncodeError;

/// How rows reach the target table. Every mode is an idempotent upsert: an
/// identical replay rewrites nothing (and so keeps the first commit time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteMode {
    /// Binary COPY into the target for keys it does not hold yet; the others
    /// by binary COPY into a temporary staging table, then one
    /// `INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE … IS DISTINCT FROM …`.
    #[default]
    CopyMerge,
    /// Multi-row `INSERT … VALUES … ON CONFLICT …` of `batch_size` rows per
    /// statement (the JDBC-batch analogue).
    Insert,
    /// `INSERT … SELECT … FROM unnest(array parameters) ON CONFLICT …` of
    /// `batch_size` rows per statement.
    Unnest,
}

impl WriteMode {
    pub const ALL: [WriteMode; 3] = [WriteMode::CopyMerge, WriteMode::Insert, WriteMode::Unnest];
}

impl std::str::FromStr for WriteMode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "copy-merge" => Ok(Self::CopyMerge),
            "insert" => Ok(Self::Insert),
            "unnest" => Ok(Self::Unnest),
            other => Err(format!(
                "unknown write mode `{other}`: use copy-merge, insert or unnest"
            )),
        }
    }
}

impl std::fmt::Display for WriteMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CopyMerge => "copy-merge",
            Self::Insert => "insert",
            Self::Unnest => "unnest",
        })
    }
}

/// How one attempt of a batch writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// Keys the table lacks by COPY straight into it, the others merged.
    Fast,
    /// Every row through the merge: after another writer stored a key of
    /// the batch between its probe and its COPY (another worker, another
    /// pipeline on the same table), a conflict the merge absorbs.
    MergeOnly,
    /// Every row through the merge, each chunk under a savepoint and split
    /// until the rows the database refuses are found (they become rejects).
    IsolateRefused,
}

/// What the write stage can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Encode(EncodeError),
    #[error(
        "batch {0} is already recorded in sluice_batches by another checkpoint folder: batch ids \
         come from the database's sequence sluice_batch_ids, so it was reset or the database was \
         restored under a running pipeline. Restore the sequence past max(batch_id), then run again"
    )]
    AlreadyCommitted(u64),
    /// This checkpoint committed the batch earlier (the acknowledgement of
    /// that COMMIT was lost): the batch is done, nothing of this attempt commits.
    #[error("batch {0} committed earlier; its acknowledgement was lost")]
    CommittedEarlier(u64),
    /// Another worker of the pipeline holds some of the batch's files now.
    #[error(transparent)]
    ClaimLost(ClaimLost),
    /// Another writer stored a key of the batch after its probe: the
    /// batch is written again through the merge alone.
    #[error(transparent)]
    KeyRace(DbError),
}

impl SinkError {
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(error) => error.is_transient(),
            Self::Encode(EncodeError::Db(error)) => crate::db::is_transient(error),
            Self::Encode(EncodeError::Value(_))
            | Self::AlreadyCommitted(_)
            | Self::CommittedEarlier(_)
            | Self::ClaimLost(_)
            | Self::KeyRace(_) => false,
        }
    }

    /// Whether the database refused a row for its own content (a value out
    /// of range for the column, a constraint): a reject, found by writing
    /// the chunk again in parts ([`SinkBatch::write`] with isolation).
    pub fn is_refused(&self) -> bool {
        match self {
            Self::Db(DbError::Query { source, .. }) => refused_by_content(source),
            Self::Encode(EncodeError::Value(_)) => true,
            Self::Encode(EncodeError::Db(source)) => refused_by_content(source),
            _ => false,
        }
    }

    /// The database's own words, for a refused row's reject reason.
    fn refusal(&self) -> String {
        match self {
            Self::Db(DbError::Query { detail, .. }) => detail.clone(),
            Self::Encode(EncodeError::Db(source)) => crate::db::describe(source),
            other => other.to_string(),
        }
    }
}

/// SQLSTATE class 22 (data exception) or 23 (integrity constraint violation).
fn refused_by_content(error: &tokio_postgres::Error) -> bool {
    error
        .code()
        .is_some_and(|code| code.code().starts_with("22") || code.code().starts_with("23"))
}

/// The `sluice_batches` row of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRecord {
    pub batch_id: u64,
    /// `[{"name","size","mtime_us","discovered_at_us","rows","rejected","quarantined"}]`
    pub files: serde_json::Value,
    pub file_count: u32,
    pub files_quarantined: u32,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_deduped: u64,
    pub rows_upserted: u64,
    pub planned_at_us: i64,
    pub started_at_us: i64,
    pub parse_ms: f64,
    pub transform_ms: f64,
    pub write_ms: f64,
}

/// The write side of a run: a pool, the target and the SQL built for it once.
pub struct Sink {
    pool: Pool,
    checkpoint_id: String,
    table: Arc<TableSchema>,
    mode: WriteMode,
    batch_size: usize,
    statements: copy_merge::Statements,
    unnest_sql: String,
    /// With several workers: each commit marks its files committed, and
    /// only while this worker holds their claims.
    claims: Option<Claims>,
}

impl Sink {
    /// `checkpoint_id` tags every batch record with the folder that ran it.
    pub fn new(
        pool: Pool,
        checkpoint_id: String,
        table: Arc<TableSchema>,
        mode: WriteMode,
        batch_size: usize,
    ) -> Self {
        Self {
            statements: copy_merge::Statements::new(&table),
            unnest_sql: unnest::statement_sql(&table),
            pool,
            checkpoint_id,
            table,
            mode,
            batch_size: batch_size.max(1),
            claims: None,
        }
    }

    /// A sink of one worker among several: see [`crate::claims`].
    pub fn with_claims(self, claims: Option<Claims>) -> Self {
        Self { claims, ..self }
    }

    /// A pooled connection (outside any batch's transaction).
    pub async fn connection(&self) -> Result<Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|error| DbError::Pool(error.to_string()))
    }

    /// Opens the transaction of batch `batch_id`, writing by `path`.
    pub async fn begin(&self, batch_id: u64, path: WritePath) -> Result<SinkBatch<'_>, SinkError> {
        let client = self.connection().await?;
        let begin = match self.mode {
            WriteMode::CopyMerge => format!("BEGIN; {}", self.statements.create_stage),
            WriteMode::Insert | WriteMode::Unnest => "BEGIN".to_string(),
        };
        client
            .batch_execute(&begin)
            .await
            .map_err(DbError::query("starting the batch transaction"))?;
        Ok(SinkBatch {
            sink: self,
            client: Some(client),
            batch_id: batch_id as i64,
            rows_upserted: 0,
            path,
        })
    }
}

/// One batch's open transaction. Dropped without [`SinkBatch::commit`], it
/// rolls back (the connection is discarded, so nothing half-done survives).
pub struct SinkBatch<'a> {
    sink: &'a Sink,
    /// `None` once committed.
    client: Option<Object>,
    batch_id: i64,
    rows_upserted: u64,
    path: WritePath,
}

impl SinkBatch<'_> {
    fn client(&self) -> &Object {
        self.client
            .as_ref()
            .expect("the transaction is open until commit consumes it")
    }

    /// Upserts transformed rows (target columns + source_file). Returns the
    /// rows the database refused, as rejects (always none unless the batch
    /// isolates refused rows: otherwise a refusal is an error).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<Vec<RejectedRow>, SinkError> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        if self.path != WritePath::IsolateRefused {
            self.rows_upserted += self.write_rows(batch).await?;
            return Ok(Vec::new());
        }
        // Rows of a chunk have distinct keys (the transform deduped them), so
        // writing its parts in any order gives the same table.
        let mut refused = Vec::new();
        let mut parts = vec![(0, batch.num_rows())];
        while let Some((offset, length)) = parts.pop() {
            let part = batch.slice(offset, length);
            self.execute("SAVEPOINT sluice_rows").await?;
            match self.write_rows(&part).await {
                Ok(upserted) => {
                    self.execute("RELEASE SAVEPOINT sluice_rows").await?;
                    self.rows_upserted += upserted;
                }
                Err(error) if error.is_refused() => {
                    self.execute(
                        "ROLLBACK TO SAVEPOINT sluice_rows; RELEASE SAVEPOINT sluice_rows",
                    )
                    .await?;
                    if length == 1 {
                        refused.push(encode::refused_row(
                            &part,
                            &self.sink.table,
                            format!("the database refused the row: {}", error.refusal()),
                        ));
                    } else {
                        let half = length / 2;
                        parts.push((offset + half, length - half));
                        parts.push((offset, half));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Ok(refused)
    }

    async fn execute(&self, sql: &str) -> Result<(), SinkError> {
        self.client()
            .batch_execute(sql)
            .await
            .map_err(DbError::query("isolating refused rows"))?;
        Ok(())
    }

    /// Writes rows through the configured mode; returns the rows changed.
    async fn write_rows(&self, batch: &RecordBatch) -> Result<u64, SinkError> {
        let upserted = match self.sink.mode {
            WriteMode::CopyMerge => {
                copy_merge::write(
                    self.client(),
                    &self.sink.statements,
                    &self.sink.table,
                    self.batch_id,
                    batch,
                    self.sink.batch_size,
                    self.path != WritePath::Fast,
                )
                .await?
            }
            WriteMode::Insert => {
                insert::write(
                    self.client(),
                    &self.sink.table,
                    self.batch_id,
                    batch,
                    self.sink.batch_size,
                )
                .await?
            }
            WriteMode::Unnest => {
                unnest::write(
                    self.client(),
                    &self.sink.unnest_sql,
                    &self.sink.table,
                    self.batch_id,
                    batch,
                    self.sink.batch_size,
                )
                .await?
            }
        };
        Ok(upserted)
    }

    pub fn rows_upserted(&self) -> u64 {
        self.rows_upserted
    }

    /// Records rejected rows.
    pub async fn reject(&mut self, rejects: &[RejectedRow]) -> Result<(), SinkError> {
        if rejects.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "COPY {} (source_file, line, raw, reason, batch_id) FROM STDIN (FORMAT binary)",
            self.sink.table.rejects_table().quoted()
        );
        let copy = self
            .client()
            .copy_in(&sql)
            .await
            .map_err(DbError::query("recording rejected rows"))?;
        let mut writer = pin!(BinaryCopyInWriter::new(
            copy,
            &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT, Type::INT8]
        ));
        for reject in rejects {
            let line = reject.line.map(|line| line as i64);
            writer
                .as_mut()
                .write(&[
                    &reject.file,
                    &line,
                    &reject.raw,
                    &reject.reason,
                    &self.batch_id,
                ])
                .await
                .map_err(DbError::query("recording rejected rows"))?;
        }
        writer
            .finish()
            .await
            .map_err(DbError::query("recording rejected rows"))?;
        Ok(())
    }

    /// Records a file that could not be read at all.
    pub async fn quarantine(&mut self, file: &str, reason: &str) -> Result<(), SinkError> {
        self.client()
            .execute(
                "INSERT INTO sluice_quarantine (source_file, reason, batch_id) VALUES ($1, $2, $3)",
                &[&file, &reason, &self.batch_id],
            )
            .await
            .map_err(DbError::query("recording a quarantined file"))?;
        Ok(())
    }

    /// Inserts the batch record, marks `files` committed when the pipeline
    /// has several workers (refusing to commit files this worker no longer
    /// holds), and commits everything.
    pub async fn commit(mut self, record: &BatchRecord, files: &[&str]) -> Result<(), SinkError> {
        let time = |us: i64| chrono::DateTime::from_timestamp_micros(us).unwrap_or_default();
        let result = self
            .client()
            .execute(
                "INSERT INTO sluice_batches (batch_id, target_table, checkpoint_id, files, file_count,
                    files_quarantined, rows_read, rows_rejected, rows_deduped, rows_upserted, planned_at,
                    started_at, parse_ms, transform_ms, write_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (batch_id) DO NOTHING",
                &[
                    &self.batch_id,
                    &self.sink.table.table.as_str(),
                    &self.sink.checkpoint_id,
                    &record.files,
                    &(record.file_count as i32),
                    &(record.files_quarantined as i32),
                    &(record.rows_read as i64),
                    &(record.rows_rejected as i64),
                    &(record.rows_deduped as i64),
                    &(record.rows_upserted as i64),
                    &time(record.planned_at_us),
                    &time(record.started_at_us),
                    &record.parse_ms,
                    &record.transform_ms,
                    &record.write_ms,
                ],
            )
            .await;
        let inserted = result.map_err(DbError::query("recording the batch"))?;
        if inserted == 0 {
            // The id is taken: by an earlier attempt of this very batch whose
            // COMMIT reached the server but whose answer was lost, or by
            // another checkpoint (the sequence was reset). Nothing of this
            // attempt commits either way.
            let owner: String = self
                .client()
                .query_one(
                    "SELECT checkpoint_id FROM sluice_batches WHERE batch_id = $1",
                    &[&self.batch_id],
                )
                .await
                .map_err(DbError::query("reading who committed the batch"))?
                .get(0);
            let batch_id = self.batch_id as u64;
            return Err(if owner == self.sink.checkpoint_id {
                SinkError::CommittedEarlier(batch_id)
            } else {
                SinkError::AlreadyCommitted(batch_id)
            });
        }
        if let Some(claims) = &self.sink.claims {
            let held = claims
                .commit_files(self.client(), self.batch_id, files)
                .await?;
            if held != files.len() {
                return Err(SinkError::ClaimLost(ClaimLost {
                    batch_id: self.batch_id as u64,
                    files: files.len(),
                    lost: files.len() - held,
                }));
            }
        }
        self.client()
            .batch_execute("COMMIT")
            .await
            .map_err(DbError::query("committing the batch"))?;
        // Committed: the connection may go back to the pool.
        self.client = None;
        Ok(())
    }
}

impl Drop for SinkBatch<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // The transaction may be mid-COPY or failed: never hand this
            // connection back to the pool. Closing it rolls everything back.
            drop(Object::take(client));
        }
    }
}

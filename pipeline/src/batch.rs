//! One micro-batch, from its plan to its commit, in three stages that run
//! at once on successive chunks: parse (a blocking thread streaming each file
//! in chunks of `chunk_rows` rows) → transform (a task running DataFusion) →
//! write (this task, inside the batch's one database transaction). Each
//! channel between stages holds one chunk, so memory stays bounded by a few
//! chunks whatever the files' sizes.
//!
//! A batch can also stay open while files are added to it one group at a
//! time ([`OpenBatch`]): an interval trigger writes files as they arrive
//! and its tick only commits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::checkpoint::{CheckpointError, Plan, PlanWrite, PlannedFile};
use crate::parse::{BatchBuilder, FileReader, ParseLimits, ReadBudget, RejectedRow, Tokenizer};
use crate::schema::TableSchema;
use crate::sink::{BatchRecord, Sink, SinkBatch, SinkError, WritePath};
use crate::stage::{Stage, StageProbe};
use crate::transform::{Transform, TransformError};

/// Input bytes per chunk at most: with `chunk_rows`, bounds a chunk's memory
/// whatever the row width (a file of very wide rows, or of rejected rows
/// only, must not be held whole).
pub const CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// What a batch can fail with. Data problems never fail a batch: they
/// become rejects and quarantined files.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error("the parse thread stopped unexpectedly: {0}")]
    ParseThread(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl BatchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Sink(error) if error.is_transient())
    }

    /// The database refused a row for its content: replay the batch
    /// isolating refused rows (they become rejects).
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Sink(error) if error.is_refused())
    }

    /// The batch committed in an earlier attempt whose answer was lost.
    pub fn committed_earlier(&self) -> bool {
        matches!(self, Self::Sink(SinkError::CommittedEarlier(_)))
    }

    /// Another writer stored a key of the batch after its probe: write it
    /// again through the merge alone.
    pub fn key_race(&self) -> bool {
        matches!(self, Self::Sink(SinkError::KeyRace(_)))
    }

    /// Another worker took over some of the batch's files: nothing of it
    /// committed, its files are to be claimed again.
    pub fn claim_lost(&self) -> bool {
        matches!(self, Self::Sink(SinkError::ClaimLost(_)))
    }
}

/// What one file contributed to a batch.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub name: String,
    pub size: u64,
    pub mtime_us: i64,
    pub discovered_at_us: i64,
    /// When the batch began to process it, Unix µs: the batch's start, or
    /// later for a file that joined an open batch on arrival.
    pub started_at_us: i64,
    pub rows: u64,
    pub rejected: u64,
    /// CRC-32 of the bytes read, for a file read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
}

impl FileOutcome {
    /// What the checkpoint log keeps of it.
    pub fn committed(&self) -> crate::checkpoint::CommittedFile {
        crate::checkpoint::CommittedFile {
            name: self.name.clone(),
            record: crate::checkpoint::FileRecord {
                version: Some(crate::checkpoint::FileVersion {
                    size: self.size,
                    mtime_us: self.mtime_us,
                }),
                hash: self.hash,
                quarantined: self.quarantined.is_some(),
            },
        }
    }
}

/// A committed batch, as the rest of the program sees it.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    pub batch_id: u64,
    pub files: Vec<FileOutcome>,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_deduped: u64,
    pub rows_upserted: u64,
    pub started_at_us: i64,
    pub committed_at_us: i64,
    pub parse_ms: f64,
    pub transform_ms: f64,
    pub write_ms: f64,
}

impl BatchOutcome {
    pub fn files_quarantined(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.quarantined.is_some())
            .count()
    }
}

/// Messages from the parse thread. File outcomes ride with the chunks: a
/// message per file would fill the one-slot channels and stall parsing
/// while the writer is busy.
enum Parsed {
    Chunk {
        rows: RecordBatch,
        rejects: Vec<RejectedRow>,
        /// Files finished since the previous chunk.
        files: Vec<FileOutcome>,
    },
    Done {
        parse_ms: f64,
    },
}

/// The parts of a run a batch needs.
pub struct BatchContext<'a> {
    pub table: &'a Arc<TableSchema>,
    pub sink: &'a Sink,
    pub transform: &'a Arc<Transform>,
    pub input: &'a Path,
    pub chunk_rows: usize,
    pub limits: ParseLimits,
    pub stages: &'a StageProbe,
}

/// Runs the plan in one transaction and commits it once `plan_write` has
/// put the plan on disk. Nothing is committed unless everything is.
pub async fn execute(
    context: &BatchContext<'_>,
    plan: &Plan,
    plan_write: &mut PlanWrite,
    started_at_us: i64,
    path: WritePath,
) -> Result<BatchOutcome, BatchError> {
    let mut batch = OpenBatch::begin(context.sink, plan.batch_id, started_at_us, path).await?;
    context.stages.enter(Stage::Writing, plan.batch_id).await;
    batch.add(context, &plan.files).await?;
    let waiting = Instant::now();
    plan_write.wait().await?;
    let waited_ms = ms_since(waiting);
    let committing = Instant::now();
    let outcome = batch.commit(plan, context.stages).await?;
    tracing::debug!(
        batch = plan.batch_id,
        plan_wait_ms = waited_ms,
        commit_ms = ms_since(committing),
        "committed"
    );
    Ok(outcome)
}

/// A batch whose transaction is open: files are parsed, transformed and
/// written into it as they are added, and none of it is visible until
/// [`OpenBatch::commit`]. Dropped uncommitted, it rolls back.
pub struct OpenBatch<'a> {
    transaction: SinkBatch<'a>,
    started_at_us: i64,
    files: Vec<FileOutcome>,
    parse_ms: f64,
    transform_ms: f64,
    write_ms: f64,
    /// Valid rows that went into the transform, and rows it kept.
    rows_valid: u64,
    rows_kept: u64,
    /// Rows the database refused, by file (rejects, counted with the file's).
    refused: std::collections::HashMap<String, u64>,
}

impl<'a> OpenBatch<'a> {
    /// Opens the transaction of batch `batch_id`.
    pub async fn begin(
        sink: &'a Sink,
        batch_id: u64,
        started_at_us: i64,
        path: WritePath,
    ) -> Result<Self, BatchError> {
        Ok(Self {
            transaction: sink.begin(batch_id, path).await?,
            refused: std::collections::HashMap::new(),
            started_at_us,
            files: Vec::new(),
            parse_ms: 0.0,
            transform_ms: 0.0,
            write_ms: 0.0,
            rows_valid: 0,
            rows_kept: 0,
        })
    }

    /// Makes the tick that commits the batch its start: its wall time is
    /// then the commit at the tick, the time its rows wait beyond the tick
    /// (each file's own start, when it was written, stays in its outcome).
    pub fn start_at_tick(&mut self, tick_us: i64) {
        self.started_at_us = tick_us;
    }

    /// Parses, transforms and writes `files` (after the files already
    /// added) into the open transaction. They are read in name order, so
    /// within a chunk a later `_seq` means a greater file name or a later
    /// line: the tie-break of the version rule (see `sink::upsert`).
    pub async fn add(
        &mut self,
        context: &BatchContext<'_>,
        files: &[PlannedFile],
    ) -> Result<(), BatchError> {
        let (sender, receiver) = mpsc::channel(1);
        let parser = {
            let table = Arc::clone(context.table);
            let mut files: Vec<(PathBuf, PlannedFile)> = files
                .iter()
                .map(|f| (context.input.join(&f.name), f.clone()))
                .collect();
            files.sort_unstable_by(|a, b| a.1.name.cmp(&b.1.name));
            let first_index = self.files.len() as u32;
            let (chunk_rows, limits) = (context.chunk_rows, context.limits);
            let started_at_us = crate::discover::now_us();
            tokio::task::spawn_blocking(move || {
                let files = FilesToParse {
                    files: &files,
                    first_index,
                    started_at_us,
                };
                parse_files(files, table, chunk_rows, limits, &sender)
            })
        };
        let mut transformed = spawn_transform(Arc::clone(context.transform), receiver);
        let mut waited = std::time::Duration::ZERO;
        loop {
            let waiting = Instant::now();
            let Some(message) = transformed.recv().await else {
                break;
            };
            waited += waiting.elapsed();
            match message? {
                Ready::Rows {
                    out,
                    rejects,
                    files: finished,
                    valid,
                    ms,
                } => {
                    self.rows_valid += valid;
                    self.transform_ms += ms;
                    let started = Instant::now();
                    for out in &out {
                        self.rows_kept += out.num_rows() as u64;
                        let refused = self.transaction.write(out).await?;
                        for row in &refused {
                            *self.refused.entry(row.file.clone()).or_default() += 1;
                        }
                        self.transaction.reject(&refused).await?;
                    }
                    self.transaction.reject(&rejects).await?;
                    for outcome in finished {
                        if let Some(reason) = &outcome.quarantined {
                            self.transaction.quarantine(&outcome.name, reason).await?;
                        }
                        self.files.push(outcome);
                    }
                    self.write_ms += ms_since(started);
                }
                Ready::Done { parse_ms } => self.parse_ms += parse_ms,
            }
        }
        tracing::debug!(
            files = files.len(),
            waited_ms = waited.as_secs_f64() * 1000.0,
            "writer idle, waiting for transformed chunks"
        );
        parser
            .await
            .map_err(|error| BatchError::ParseThread(error.to_string()))
    }

    /// Records the batch in `sluice_batches` and commits everything.
    pub async fn commit(
        self,
        plan: &Plan,
        stages: &StageProbe,
    ) -> Result<BatchOutcome, BatchError> {
        stages.enter(Stage::Committing, plan.batch_id).await;
        let mut files = self.files;
        for file in &mut files {
            file.rejected += self.refused.get(&file.name).copied().unwrap_or(0);
        }
        let rows_read: u64 = files.iter().map(|f| f.rows).sum();
        let rows_rejected: u64 = files.iter().map(|f| f.rejected).sum();
        let record = BatchRecord {
            batch_id: plan.batch_id,
            files: serde_json::to_value(&files).expect("file outcomes serialise"),
            file_count: files.len() as u32,
            files_quarantined: files.iter().filter(|f| f.quarantined.is_some()).count() as u32,
            rows_read,
            rows_rejected,
            rows_deduped: self.rows_valid - self.rows_kept,
            rows_upserted: self.transaction.rows_upserted(),
            planned_at_us: plan.planned_at_us,
            started_at_us: self.started_at_us,
            parse_ms: self.parse_ms,
            transform_ms: self.transform_ms,
            write_ms: self.write_ms,
        };
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        self.transaction.commit(&record, &names).await?;
        stages.enter(Stage::Committed, plan.batch_id).await;
        Ok(BatchOutcome {
            batch_id: plan.batch_id,
            files,
            rows_read,
            rows_rejected,
            rows_deduped: record.rows_deduped,
            rows_upserted: record.rows_upserted,
            started_at_us: self.started_at_us,
            committed_at_us: crate::discover::now_us(),
            parse_ms: self.parse_ms,
            transform_ms: self.transform_ms,
            write_ms: self.write_ms,
        })
    }
}

/// What the transform stage hands the writer.
enum Ready {
    Rows {
        out: Vec<RecordBatch>,
        rejects: Vec<RejectedRow>,
        files: Vec<FileOutcome>,
        /// Valid rows that went into the transform.
        valid: u64,
        ms: f64,
    },
    Done {
        parse_ms: f64,
    },
}

/// The transform stage as its own task, so DataFusion works on chunk N+1
/// while PostgreSQL merges chunk N. Stops at the first error, or quietly
/// when the writer is gone (the batch failed).
fn spawn_transform(
    transform: Arc<Transform>,
    mut parsed: mpsc::Receiver<Parsed>,
) -> mpsc::Receiver<Result<Ready, TransformError>> {
    let (sender, ready) = mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(message) = parsed.recv().await {
            let next = match message {
                Parsed::Chunk {
                    rows,
                    rejects,
                    files,
                } => {
                    let started = Instant::now();
                    let valid = rows.num_rows() as u64;
                    transform.apply(rows).await.map(|out| Ready::Rows {
                        out,
                        rejects,
                        files,
                        valid,
                        ms: ms_since(started),
                    })
                }
                Parsed::Done { parse_ms } => Ok(Ready::Done { parse_ms }),
            };
            let failed = next.is_err();
            if sender.send(next).await.is_err() || failed {
                return;
            }
            // The send woke the writer into this worker's LIFO slot, which
            // other workers cannot steal from: yield so it runs now instead
            // of after the next chunk's CPU-bound transform.
            tokio::task::yield_now().await;
        }
    });
    ready
}

/// Files handed to the parse thread at once.
struct FilesToParse<'a> {
    files: &'a [(PathBuf, PlannedFile)],
    /// Index of the first one in its batch (orders `_seq`).
    first_index: u32,
    /// When their processing began, Unix µs.
    started_at_us: i64,
}

/// The parse thread: every file in order, in chunks of at most
/// `chunk_rows` rows (good and rejected) and about [`CHUNK_BYTES`] of input.
/// Stops quietly when the receiver is gone (the batch failed).
fn parse_files(
    to_parse: FilesToParse<'_>,
    table: Arc<TableSchema>,
    chunk_rows: usize,
    limits: ParseLimits,
    sender: &mpsc::Sender<Parsed>,
) {
    // Time spent parsing, not waiting for the writer to take a chunk.
    let mut busy = std::time::Duration::ZERO;
    let mut builder = BatchBuilder::new(table.clone());
    let mut rejects = Vec::new();
    let mut chunk_bytes = 0;
    let mut finished = Vec::new();
    // Kept from file to file (a file that cannot be opened takes it along).
    let mut spare_tokenizer: Option<Tokenizer> = None;
    let send = |message: Parsed| sender.blocking_send(message).is_ok();
    for (index, (path, planned)) in to_parse.files.iter().enumerate() {
        let mut outcome = FileOutcome {
            name: planned.name.clone(),
            size: planned.size,
            mtime_us: planned.mtime_us,
            discovered_at_us: planned.discovered_at_us,
            started_at_us: to_parse.started_at_us,
            rows: 0,
            rejected: 0,
            hash: None,
            quarantined: None,
        };
        let opened = Instant::now();
        let index = to_parse.first_index + index as u32;
        let tokenizer = spare_tokenizer.take().unwrap_or_default();
        let reader = FileReader::open(path, &planned.name, index, &table, &limits, tokenizer);
        busy += opened.elapsed();
        match reader {
            Err(problem) => outcome.quarantined = Some(problem.to_string()),
            Ok(mut reader) => {
                loop {
                    let budget = ReadBudget {
                        rows: chunk_rows
                            .saturating_sub(builder.len() + rejects.len())
                            .max(1),
                        bytes: CHUNK_BYTES.saturating_sub(chunk_bytes).max(1),
                    };
                    let reading = Instant::now();
                    let read = reader.read_into(&mut builder, &mut rejects, budget, &limits);
                    busy += reading.elapsed();
                    match read {
                        Ok(read) if read.rows == 0 => break,
                        Ok(read) => {
                            chunk_bytes += read.bytes;
                            if builder.len() + rejects.len() >= chunk_rows
                                || chunk_bytes >= CHUNK_BYTES
                            {
                                let chunk = Parsed::Chunk {
                                    rows: builder.finish(),
                                    rejects: std::mem::take(&mut rejects),
                                    files: std::mem::take(&mut finished),
                                };
                                chunk_bytes = 0;
                                if !send(chunk) {
                                    return;
                                }
                            }
                        }
                        Err(problem) => {
                            // Unreadable part-way: the rows read so far stay
                            // in this batch; the file is quarantined for the rest.
                            outcome.quarantined = Some(format!(
                                "{problem} (after {} rows, which were kept)",
                                reader.rows_read()
                            ));
                            break;
                        }
                    }
                }
                outcome.rows = reader.rows_read();
                outcome.rejected = reader.rows_rejected();
                if outcome.quarantined.is_none() {
                    outcome.hash = Some(reader.content_hash());
                }
                spare_tokenizer = Some(reader.into_tokenizer());
            }
        }
        finished.push(outcome);
    }
    if !builder.is_empty() || !rejects.is_empty() || !finished.is_empty() {
        let chunk = Parsed::Chunk {
            rows: builder.finish(),
            rejects,
            files: finished,
        };
        if !send(chunk) {
            return;
        }
    }
    send(Parsed::Done {
        parse_ms: busy.as_secs_f64() * 1000.0,
    });
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

//! Rate-controlled, deterministic CSV event file generator for sluice.
//!
//! The generator writes e-commerce events (`page_view`, `add_to_cart`, …) as
//! CSV files into a directory on an absolute schedule (file `k` is due at
//! `start + k * interval`), each file appearing atomically (hidden temp file,
//! fsync, rename; the directory is fsync'd when the run ends), and appends one line per file to a JSON-lines manifest
//! that the reporter uses as ground truth (rows, duplicates, malformed rows,
//! and the instant the file became visible).
//!
//! The load has two knobs besides the interval:
//! - [`GeneratorConfig::rate`], a [`RateProfile`] (steady, steps, bursts,
//!   ramp) that sizes every file from the rate integrated over its interval;
//!   without one, each file has a uniform random `rows_min..=rows_max` rows;
//! - [`GeneratorConfig::sources`], concurrent writers (devices, shops), each
//!   on its own thread with its own random stream, file names and event ids,
//!   sharing the schedule, the profile's total rate and one manifest.
//!
//! Main items:
//! - [`GeneratorConfig`] and [`generate`], which runs a whole schedule and
//!   returns a [`GeneratorSummary`];
//! - [`event`]: columns, row formatting, bad and duplicate rows,
//!   [`event::FileBuilder`] (deterministic for a seed);
//! - [`rate`]: rate profiles, their text and serde forms, exact integrals;
//! - [`schedule`]: absolute deadlines and lateness accounting;
//! - [`writer`]: the atomic file writer;
//! - [`manifest`]: [`ManifestEntry`], [`ManifestWriter`], [`read_manifest`].
//!
//! Files are named `{file_prefix}-{seq:06}.csv` with `seq` from 1, or
//! `{file_prefix}-s{source:03}-{seq:06}.csv` with more than one source; the
//! generator refuses to overwrite an existing file of that name.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use std::time::Duration;
//! use generator::{generate, read_manifest, GeneratorConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let config = GeneratorConfig {
//!     out_dir: dir.path().join("input"),
//!     manifest_path: dir.path().join("manifest.jsonl"),
//!     id_prefix: "doc-".into(),
//!     interval: Duration::from_millis(5),
//!     duration: Duration::from_millis(15),
//!     rate: Some("bursts:4000@5ms,2000@5ms".parse().unwrap()),
//!     sources: 2,
//!     dup_rate: 0.05,
//!     bad_rate: 0.01,
//!     ..GeneratorConfig::default()
//! };
//! let stop = AtomicBool::new(false);
//! let summary = generate(&config, &stop, &mut |entry| println!("{}", entry.file)).unwrap();
//! assert_eq!((summary.files, summary.rows), (6, 50));
//! let entries = read_manifest(&config.manifest_path).unwrap();
//! assert_eq!(entries.len(), 6);
//! let first = entries.iter().find(|e| e.file == "events-s001-000001.csv").unwrap();
//! assert_eq!((first.rows, first.target_rows_per_s), (10, Some(4000)));
//! assert!(config.out_dir.join("events-s002-000003.csv").exists());
//! ```

pub mod event;
pub mod manifest;
pub mod rate;
pub mod schedule;
pub mod sharing;
pub mod writer;

use std::fs;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use event::{FileBuilder, FileStats, HEADER};
pub use manifest::{read_manifest, ManifestEntry, ManifestWriter};
pub use rate::{ParseRateError, RateProfile, RateStep};
pub use schedule::{LatenessStats, Schedule};

/// Largest accepted `rows_max`, and largest file a rate profile may ask one
/// source for (a file is built in memory, about 110 bytes per row).
pub const MAX_ROWS_PER_FILE: u32 = 10_000_000;

/// Most concurrent sources: file names carry a three-digit source number,
/// and each source is a thread.
pub const MAX_SOURCES: u32 = 999;

/// What to generate, where, and how fast.
///
/// [`GeneratorConfig::default`] is a starting point (one source, 100 rows
/// every second for a minute, no profile) so that callers name only what
/// they set; `out_dir` and `manifest_path` are empty there and must be set.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Directory the CSV files appear in (created if missing).
    pub out_dir: PathBuf,
    /// JSON-lines manifest, appended to (created if missing).
    pub manifest_path: PathBuf,
    /// File names are `{file_prefix}-{seq:06}.csv`, `seq` from 1, or
    /// `{file_prefix}-s{source:03}-{seq:06}.csv` with several sources.
    pub file_prefix: String,
    /// Prefix of every event_id, so that runs never collide (with several
    /// sources, followed by `s{source:03}-`).
    pub id_prefix: String,
    /// Smallest number of rows per file, without a rate profile.
    pub rows_min: u32,
    /// Largest number of rows per file (uniform in `[rows_min, rows_max]`),
    /// without a rate profile.
    pub rows_max: u32,
    /// Time between files (of each source).
    pub interval: Duration,
    /// Run length: `max(1, floor(duration / interval))` files per source,
    /// unless `max_files` is given.
    pub duration: Duration,
    /// Number of files per source, overriding `duration`.
    pub max_files: Option<u64>,
    /// Seed of the random generator (each source derives its own stream).
    pub seed: u64,
    /// Fraction of rows that exactly repeat a valid row of an earlier file.
    pub dup_rate: f64,
    /// Fraction of rows that are malformed.
    pub bad_rate: f64,
    /// Total rows per second over time, all sources together; each file
    /// carries the rows of its interval ([`rate`]), which may be none at a
    /// low rate (the file then holds only the header). `None` keeps
    /// `rows_min..=rows_max` rows per file (and per source).
    pub rate: Option<RateProfile>,
    /// Concurrent writers, each on its own thread with its own files, event
    /// ids and random stream, all on the same schedule; from 1 to
    /// [`MAX_SOURCES`].
    pub sources: u32,
}

impl Default for GeneratorConfig {
    fn default() -> GeneratorConfig {
        GeneratorConfig {
            out_dir: PathBuf::new(),
            manifest_path: PathBuf::new(),
            file_prefix: "events".into(),
            id_prefix: String::new(),
            rows_min: 100,
            rows_max: 100,
            interval: Duration::from_secs(1),
            duration: Duration::from_secs(60),
            max_files: None,
            seed: 42,
            dup_rate: 0.0,
            bad_rate: 0.0,
            rate: None,
            sources: 1,
        }
    }
}

/// SplitMix64's output function: spreads consecutive inputs over the whole
/// range, so that the streams of sources 1, 2, … of one seed are unrelated
/// to each other and to those of the neighbouring seeds.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl GeneratorConfig {
    /// Checks the configuration; the error says what is wrong and what to do.
    /// One check after another, each with its own message: long, not deep.
    pub fn validate(&self) -> Result<(), GeneratorError> {
        let invalid = |msg: String| Err(GeneratorError::InvalidConfig(msg));
        if self.out_dir.as_os_str().is_empty() {
            return invalid(
                "out_dir is empty; set it to the directory the pipeline watches".into(),
            );
        }
        if self.manifest_path.as_os_str().is_empty() {
            return invalid(
                "manifest_path is empty; set it to a file path such as runs/<run>/manifest.jsonl"
                    .into(),
            );
        }
        if self.manifest_path.file_name().is_none() {
            return invalid(format!(
                "manifest_path `{}` does not name a file; give a file path such as manifest.jsonl",
                self.manifest_path.display()
            ));
        }
        let bad_name_char = |c: char| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        };
        if self.file_prefix.is_empty()
            || self.file_prefix.starts_with('.')
            || self.file_prefix.chars().any(bad_name_char)
        {
            return invalid(format!(
                "file_prefix {:?} is not usable in a file name; use a non-empty name without path \
                 separators or any of :*?\"<>| that does not start with '.' (hidden files are ignored \
                 by the pipeline), e.g. \"events\"",
                self.file_prefix
            ));
        }
        if self
            .id_prefix
            .chars()
            .any(|c| c.is_control() || c == ',' || c == '"')
        {
            return invalid(format!(
                "id_prefix {:?} contains a comma, a double quote or a control character; use \
                 letters, digits and '-' only, e.g. \"r20261123a-\"",
                self.id_prefix
            ));
        }
        if self.sources == 0 || self.sources > MAX_SOURCES {
            return invalid(format!(
                "sources ({}) must be between 1 and {MAX_SOURCES}",
                self.sources
            ));
        }
        if self.interval.is_zero() {
            return invalid("interval is 0; set a positive interval between files, e.g. 1s".into());
        }
        if let Some(profile) = &self.rate {
            profile
                .validate()
                .map_err(|msg| GeneratorError::InvalidConfig(format!("rate `{profile}`: {msg}")))?;
            if self.interval < rate::MIN_PHASE {
                return invalid(format!(
                    "interval ({:?}) is below 1ms; a rate profile needs files at least 1ms apart",
                    self.interval
                ));
            }
            let rows = self.max_rows_per_file();
            if rows > u64::from(MAX_ROWS_PER_FILE) {
                return invalid(format!(
                    "rate `{profile}` asks one source for up to {rows} rows per file, above \
                     {MAX_ROWS_PER_FILE}; each file is built in memory, so shorten the interval \
                     or add sources"
                ));
            }
        } else {
            if self.rows_max == 0 {
                return invalid("rows_max is 0; set it to at least 1".into());
            }
            if self.rows_min > self.rows_max {
                return invalid(format!(
                    "rows_min ({}) is greater than rows_max ({}); lower rows_min or raise rows_max",
                    self.rows_min, self.rows_max
                ));
            }
            if self.rows_max > MAX_ROWS_PER_FILE {
                return invalid(format!(
                    "rows_max ({}) is above {MAX_ROWS_PER_FILE}; each file is built in memory, so \
                     write more, smaller files (shorter interval, lower rows_max)",
                    self.rows_max
                ));
            }
        }
        if self.max_files == Some(0) {
            return invalid(
                "max_files is 0; set it to at least 1, or leave it out to use duration".into(),
            );
        }
        for (name, rate) in [("dup_rate", self.dup_rate), ("bad_rate", self.bad_rate)] {
            if !(rate.is_finite() && (0.0..1.0).contains(&rate)) {
                return invalid(format!(
                    "{name} ({rate}) must be a fraction in [0, 1), e.g. 0.01 for 1 % of the rows"
                ));
            }
        }
        if self.dup_rate + self.bad_rate >= 1.0 {
            return invalid(format!(
                "dup_rate + bad_rate ({} + {}) must be below 1 so that some rows are valid; lower them",
                self.dup_rate, self.bad_rate
            ));
        }
        Ok(())
    }

    /// Number of files the schedule has: `max_files`, or
    /// `max(1, floor(duration / interval))`.
    pub fn file_count(&self) -> u64 {
        if let Some(n) = self.max_files {
            return n;
        }
        if self.interval.is_zero() {
            return 1;
        }
        let n = self.duration.as_nanos() / self.interval.as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX).max(1)
    }

    /// The most rows one file of one source can have: `rows_max`, or with
    /// a rate profile one more than the peak rate over an interval (the
    /// floors of the running total), dealt out over the sources.
    pub fn max_rows_per_file(&self) -> u64 {
        match &self.rate {
            None => u64::from(self.rows_max),
            Some(profile) => {
                let per_interval = u128::from(profile.peak_rows_per_s())
                    .saturating_mul(self.interval.as_micros())
                    / 1_000_000;
                let total = u64::try_from(per_interval)
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                rate::source_share(total, self.sources, 1)
            }
        }
    }

    /// Name of file `seq` of source `source` (both from 1): `file_name`
    /// for one source, `source_file_name` for several.
    pub fn file_name(&self, source: u32, seq: u64) -> String {
        if self.sources > 1 {
            source_file_name(&self.file_prefix, source, seq)
        } else {
            file_name(&self.file_prefix, seq)
        }
    }

    /// Path of file `seq` of source `source` (both from 1).
    pub fn file_path(&self, source: u32, seq: u64) -> PathBuf {
        self.out_dir.join(self.file_name(source, seq))
    }

    /// Seed of source `source`'s random stream. With one source it is
    /// `seed` itself, so that a seed reproduces the files it produced before
    /// sources existed.
    pub fn source_seed(&self, source: u32) -> u64 {
        if self.sources > 1 {
            mix64(self.seed ^ mix64(u64::from(source)))
        } else {
            self.seed
        }
    }

    /// Event-id prefix of source `source`: `id_prefix`, followed by
    /// `s{source:03}-` with several sources so that ids stay unique.
    pub fn source_id_prefix(&self, source: u32) -> String {
        if self.sources > 1 {
            format!("{}s{source:03}-", self.id_prefix)
        } else {
            self.id_prefix.clone()
        }
    }
}

/// The file name of file `seq`: `{prefix}-{seq:06}.csv`.
pub fn file_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}-{seq:06}.csv")
}

/// The file name of file `seq` of source `source`:
/// `{prefix}-s{source:03}-{seq:06}.csv`.
pub fn source_file_name(prefix: &str, source: u32, seq: u64) -> String {
    format!("{prefix}-s{source:03}-{seq:06}.csv")
}

/// What a run did. A field a reader's copy lacks (an older layout) reads
/// as its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneratorSummary {
    pub seed: u64,
    pub out_dir: PathBuf,
    pub manifest_path: PathBuf,
    pub interval_ms: f64,
    pub rows_min: u32,
    pub rows_max: u32,
    pub dup_rate: f64,
    pub bad_rate: f64,
    /// The rate profile, when one sized the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateProfile>,
    /// Concurrent sources (summaries written before sources existed had 1).
    #[serde(default = "one_source")]
    pub sources: u32,
    /// Files written, all sources.
    pub files: u64,
    /// Data rows written.
    pub rows: u64,
    pub dup_rows: u64,
    pub bad_rows: u64,
    /// `rows - dup_rows - bad_rows`: distinct valid events.
    pub expected_rows: u64,
    /// From the schedule start to the last manifest line.
    pub elapsed_s: f64,
    pub rows_per_s: f64,
    /// Files renamed more than 10 % of the interval after their deadline.
    pub late_files: u64,
    pub max_lateness_ms: f64,
    pub mean_lateness_ms: f64,
    /// The stop flag ended the run before all files were written.
    pub stopped_early: bool,
}

fn one_source() -> u32 {
    1
}

/// Errors of the generator. Messages name the path and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The configuration is unusable.
    #[error("invalid generator configuration: {0}")]
    InvalidConfig(String),
    /// A file system operation failed.
    #[error(
        "could not {action} `{}`: {error}; check that the directory exists and is writable and \
         that the disk is not full",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    /// The generator would overwrite an input file.
    #[error(
        "`{}` already exists and the generator never overwrites input files; use an empty output \
         directory or another file prefix",
        path.display()
    )]
    FileExists { path: PathBuf },
    /// A manifest line could not be parsed.
    #[error(
        "manifest `{}` line {line}: {message}; fix or delete that line (each line must be one \
         JSON object)",
        path.display()
    )]
    ManifestLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Runs the schedule; returns when all files are written or `stop` becomes
/// true (checked at least every 50 ms while sleeping, and before each file
/// is renamed into view). Calls `on_file` after each file's manifest line is
/// written.
///
/// One source runs on the calling thread, so `on_file` runs before the next
/// file is written (a stop it sets is seen at once). Several sources run on
/// threads of their own and append to the manifest under a lock;
/// `on_file` then runs on the calling thread, in the order the sources
/// reported their files (about the order of publication), and a stop it sets is seen by every source before its next
/// file. When a source fails, the others stop and the first error (by
/// source number) is returned.
pub fn generate(
    config: &GeneratorConfig,
    stop: &AtomicBool,
    on_file: &mut dyn FnMut(&ManifestEntry),
) -> Result<GeneratorSummary, GeneratorError> {
    config.validate()?;
    fs::create_dir_all(&config.out_dir).map_err(|error| GeneratorError::Io {
        action: "create the output directory",
        path: config.out_dir.clone(),
        error,
    })?;
    let manifest = Mutex::new(ManifestWriter::open(&config.manifest_path)?);
    let halt = AtomicBool::new(false);
    let run = Run {
        config,
        schedule: Schedule::start_now(config.interval),
        manifest: &manifest,
        stop,
        halt: &halt,
    };

    let outcomes: Vec<Result<SourceOutcome, GeneratorError>> = if config.sources == 1 {
        vec![run.source(1, on_file)]
    } else {
        thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<ManifestEntry>();
            let workers: Vec<_> = (1..=config.sources)
                .map(|source| {
                    let (tx, run, halt) = (tx.clone(), &run, &halt);
                    scope.spawn(move || {
                        let mut send = |entry: &ManifestEntry| {
                            // The receiver lives until every sender is gone.
                            let _ = tx.send(entry.clone());
                        };
                        let outcome =
                            panic::catch_unwind(AssertUnwindSafe(|| run.source(source, &mut send)));
                        if !matches!(outcome, Ok(Ok(_))) {
                            halt.store(true, Ordering::Relaxed);
                        }
                        outcome.unwrap_or_else(|payload| panic::resume_unwind(payload))
                    })
                })
                .collect();
            drop(tx);
            for entry in rx {
                on_file(&entry);
            }
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|payload| panic::resume_unwind(payload))
                })
                .collect()
        })
    };

    let mut totals = FileStats::default();
    let mut files = 0u64;
    let mut lateness = LatenessStats::new(config.interval);
    let mut stopped_early = false;
    let outcomes: Vec<SourceOutcome> = outcomes.into_iter().collect::<Result<_, _>>()?;
    writer::sync_dir(&config.out_dir).map_err(|error| GeneratorError::Io {
        action: "fsync the output directory",
        path: config.out_dir.clone(),
        error,
    })?;
    for outcome in outcomes {
        files += outcome.files;
        totals.rows += outcome.totals.rows;
        totals.dup_rows += outcome.totals.dup_rows;
        totals.bad_rows += outcome.totals.bad_rows;
        lateness.merge(&outcome.lateness);
        stopped_early |= outcome.stopped_early;
    }

    let elapsed_s = run.schedule.start().elapsed().as_secs_f64();
    Ok(GeneratorSummary {
        seed: config.seed,
        out_dir: config.out_dir.clone(),
        manifest_path: config.manifest_path.clone(),
        interval_ms: config.interval.as_secs_f64() * 1000.0,
        rows_min: config.rows_min,
        rows_max: config.rows_max,
        dup_rate: config.dup_rate,
        bad_rate: config.bad_rate,
        rate: config.rate.clone(),
        sources: config.sources,
        files,
        rows: totals.rows,
        dup_rows: totals.dup_rows,
        bad_rows: totals.bad_rows,
        expected_rows: totals.expected_rows(),
        elapsed_s,
        rows_per_s: if elapsed_s > 0.0 {
            totals.rows as f64 / elapsed_s
        } else {
            0.0
        },
        late_files: lateness.late_files(),
        max_lateness_ms: lateness.max_ms(),
        mean_lateness_ms: lateness.mean_ms(),
        stopped_early,
    })
}

/// What every source of one run shares.
struct Run<'a> {
    config: &'a GeneratorConfig,
    /// One anchor for all sources: file `k` of every source is due at the
    /// same instant, so the profile's rate is offered in step.
    schedule: Schedule,
    manifest: &'a Mutex<ManifestWriter>,
    /// The caller's stop flag.
    stop: &'a AtomicBool,
    /// Raised when a source fails, to stop the others.
    halt: &'a AtomicBool,
}

/// What one source did.
struct SourceOutcome {
    files: u64,
    totals: FileStats,
    lateness: LatenessStats,
    stopped_early: bool,
}

impl Run<'_> {
    /// Writes the files of source `source` (from 1) on the calling thread.
    fn source(
        &self,
        source: u32,
        on_file: &mut dyn FnMut(&ManifestEntry),
    ) -> Result<SourceOutcome, GeneratorError> {
        let config = self.config;
        let stops = [self.stop, self.halt];
        let mut builder = FileBuilder::from_config(config, source);
        let estimated_row_bytes = 112 + config.id_prefix.len();
        let capacity = usize::try_from(config.max_rows_per_file())
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .saturating_mul(estimated_row_bytes);
        let mut buf: Vec<u8> = Vec::with_capacity(capacity);
        let mut outcome = SourceOutcome {
            files: 0,
            totals: FileStats::default(),
            lateness: LatenessStats::new(config.interval),
            stopped_early: false,
        };

        for k in 0..config.file_count() {
            let seq = k + 1;
            let path = config.file_path(source, seq);
            // File k is built, written and fsync'd as a hidden temp file as
            // soon as file k-1 is out, and only renamed at its deadline, so
            // a large file still appears on time (its rows carry the time
            // they were built as event_time).
            let event_time = event::format_event_time(chrono::Utc::now());
            let stats = match &config.rate {
                Some(profile) => {
                    let rows = profile.file_rows(config.interval, k, config.sources, source);
                    builder.build_file_with_rows(seq, rows, &event_time, &mut buf)
                }
                None => builder.build_file(seq, &event_time, &mut buf),
            };
            let prepared = writer::prepare(&path, &buf)?;
            if !self.schedule.wait_until_any(k, &stops) {
                // Dropping `prepared` removes its temp file.
                outcome.stopped_early = true;
                break;
            }
            // Checked just before the rename, which would replace the file.
            if fs::symlink_metadata(&path).is_ok() {
                return Err(GeneratorError::FileExists { path });
            }
            // The directory is fsync'd once at the end of the run, not per
            // file (see the `writer` module docs): it halves the cost of a
            // small file.
            let published = prepared.publish()?;
            let late = self.schedule.lateness(k, published.at);
            outcome.lateness.record(late);

            let entry = ManifestEntry {
                seq,
                file: config.file_name(source, seq),
                rows: stats.rows,
                created_at_us: published.unix_us,
                dup_rows: stats.dup_rows,
                bad_rows: stats.bad_rows,
                scheduled_at_us: Some(self.schedule.scheduled_unix_us(k)),
                late_us: Some(i64::try_from(late.as_micros()).unwrap_or(i64::MAX)),
                source: (config.sources > 1).then_some(source),
                target_rows_per_s: config
                    .rate
                    .as_ref()
                    .map(|p| p.file_target_rows_per_s(config.interval, k)),
                key_prefix: Some(format!("{}{seq:06}-", config.source_id_prefix(source))),
            };
            // A poisoned lock means another source panicked between whole
            // lines; the file itself is still consistent.
            self.manifest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .append(&entry)?;
            outcome.files += 1;
            outcome.totals.rows += stats.rows;
            outcome.totals.dup_rows += stats.dup_rows;
            outcome.totals.bad_rows += stats.bad_rows;
            on_file(&entry);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GeneratorConfig {
        GeneratorConfig {
            out_dir: "in".into(),
            manifest_path: "m.jsonl".into(),
            file_prefix: "events".into(),
            id_prefix: "r1-".into(),
            rows_min: 1,
            rows_max: 2,
            interval: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            max_files: None,
            seed: 1,
            dup_rate: 0.1,
            bad_rate: 0.1,
            rate: None,
            sources: 1,
        }
    }

    fn err(c: &GeneratorConfig) -> String {
        c.validate().unwrap_err().to_string()
    }

    #[test]
    fn validation_messages() {
        assert!(config().validate().is_ok());
        let mut c = config();
        c.rows_min = 3;
        assert!(err(&c).contains("rows_min (3) is greater than rows_max (2)"));
        let mut c = config();
        c.interval = Duration::ZERO;
        assert!(err(&c).contains("interval is 0"));
        let mut c = config();
        c.dup_rate = 1.0;
        assert!(err(&c).contains("dup_rate (1)"));
        let mut c = config();
        c.bad_rate = f64::NAN;
        assert!(err(&c).contains("bad_rate"));
        let mut c = config();
        c.bad_rate = -0.1;
        assert!(err(&c).contains("bad_rate (-0.1)"));
        let mut c = config();
        c.dup_rate = 0.6;
        c.bad_rate = 0.5;
        assert!(err(&c).contains("must be below 1"));
        let mut c = config();
        c.file_prefix = ".hidden".into();
        assert!(err(&c).contains("file_prefix"));
        let mut c = config();
        c.file_prefix = "a/b".into();
        assert!(err(&c).contains("file_prefix"));
        let mut c = config();
        c.id_prefix = "a,b".into();
        assert!(err(&c).contains("id_prefix"));
        let mut c = config();
        c.max_files = Some(0);
        assert!(err(&c).contains("max_files is 0"));
        let mut c = config();
        c.rows_min = 0;
        c.rows_max = 0;
        assert!(err(&c).contains("rows_max is 0"));
        let mut c = config();
        c.sources = 0;
        assert!(err(&c).contains("sources (0) must be between 1 and 999"));
        c.sources = 1000;
        assert!(err(&c).contains("sources (1000)"));
    }

    #[test]
    fn validation_with_a_rate_profile() {
        let mut c = config();
        c.rate = Some("steady:1000".parse().unwrap());
        // rows_min and rows_max do not apply.
        c.rows_min = 5;
        c.rows_max = 0;
        assert!(c.validate().is_ok());
        c.interval = Duration::from_micros(999);
        assert!(err(&c).contains("interval (999µs) is below 1ms"));
        c.interval = Duration::from_secs(1);
        c.rate = Some(RateProfile::Steady { rows_per_s: 0 });
        assert_eq!(
            err(&c),
            "invalid generator configuration: rate `steady:0`: every rate is 0, so no row \
             would be written; give a positive rate"
        );
        c.rate = Some("steady:20000000".parse().unwrap());
        c.interval = Duration::from_millis(500);
        c.sources = 2;
        assert!(c.validate().is_ok());
        assert_eq!(c.max_rows_per_file(), 5_000_001);
        c.sources = 1;
        assert!(err(&c).contains("up to 10000001 rows per file, above 10000000"));
    }

    #[test]
    fn default_is_one_source_without_profile() {
        let c = GeneratorConfig {
            out_dir: "in".into(),
            manifest_path: "m.jsonl".into(),
            ..GeneratorConfig::default()
        };
        assert!(c.validate().is_ok());
        assert_eq!((c.sources, c.rate.as_ref(), c.file_count()), (1, None, 60));
        assert!(GeneratorConfig::default()
            .validate()
            .unwrap_err()
            .to_string()
            .contains("out_dir is empty"));
    }

    #[test]
    fn sources_get_their_own_names_ids_and_streams() {
        let mut c = config();
        assert_eq!(c.file_name(1, 7), "events-000007.csv");
        assert_eq!(c.source_id_prefix(1), "r1-");
        assert_eq!(c.source_seed(1), 1);
        c.sources = 12;
        assert_eq!(c.file_name(12, 7), "events-s012-000007.csv");
        assert_eq!(
            c.file_path(3, 1),
            std::path::Path::new("in").join("events-s003-000001.csv")
        );
        assert_eq!(c.source_id_prefix(3), "r1-s003-");
        let seeds: std::collections::HashSet<u64> = (1..=12).map(|s| c.source_seed(s)).collect();
        assert_eq!(seeds.len(), 12);
        assert!(!seeds.contains(&1));
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn file_count_and_names() {
        let mut c = config();
        assert_eq!(c.file_count(), 10);
        c.duration = Duration::from_millis(10_999);
        assert_eq!(c.file_count(), 10);
        c.duration = Duration::from_millis(10);
        assert_eq!(c.file_count(), 1);
        c.max_files = Some(3);
        assert_eq!(c.file_count(), 3);
        assert_eq!(file_name("events", 1), "events-000001.csv");
        assert_eq!(file_name("x", 1_234_567), "x-1234567.csv");
        assert_eq!(
            c.file_path(1, 2),
            std::path::Path::new("in").join("events-000002.csv")
        );
        assert_eq!(source_file_name("x", 4, 12), "x-s004-000012.csv");
    }
}

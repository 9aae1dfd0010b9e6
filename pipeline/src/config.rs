//! The pipeline's options, validated. The command-line program merges flags,
//! `SLUICE_…` variables and scenario files into this one type.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::parse::ParseLimits;
use crate::schema::TableConfig;
use crate::sink::WriteMode;
use crate::stage::StageProbe;

/// When batches start, as Spark users know triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Trigger {
    /// A batch starts every interval when new files wait; a batch that
    /// overruns is followed at once.
    Interval(Duration),
    /// The next batch starts as soon as the previous ends and files wait.
    Continuous,
    /// Drain the files present at start, in batches honouring the caps, then exit.
    AvailableNow,
}

impl FromStr for Trigger {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "continuous" | "0" | "0s" => Ok(Self::Continuous),
            "available-now" | "availableNow" | "once" => Ok(Self::AvailableNow),
            other => humantime::parse_duration(other)
                .map(|d| if d.is_zero() { Self::Continuous } else { Self::Interval(d) })
                .map_err(|_| format!("invalid trigger `{other}`: use an interval such as 10s or 500ms, `continuous` or `available-now`")),
        }
    }
}

impl TryFrom<String> for Trigger {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Trigger> for String {
    fn from(trigger: Trigger) -> Self {
        trigger.to_string()
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Interval(d) => write!(f, "{}", humantime::format_duration(*d)),
            Self::Continuous => f.write_str("continuous"),
            Self::AvailableNow => f.write_str("available-now"),
        }
    }
}

/// When an interval trigger's batch writes its rows. Either way the rows
/// become visible together at the tick, exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteTiming {
    /// Each file is written into the batch's open transaction as soon as it
    /// is discovered (its name joins the logged plan first); the tick only
    /// commits. Latency is the trigger wait plus the commit.
    #[default]
    OnArrival,
    /// The whole batch is read and written after the tick (Spark's model).
    /// Latency is the trigger wait plus the batch's whole write time.
    AtTick,
}

impl FromStr for WriteTiming {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "on-arrival" => Ok(Self::OnArrival),
            "at-tick" => Ok(Self::AtTick),
            other => Err(format!(
                "unknown write timing `{other}`: use on-arrival or at-tick"
            )),
        }
    }
}

impl std::fmt::Display for WriteTiming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::OnArrival => "on-arrival",
            Self::AtTick => "at-tick",
        })
    }
}

/// What happens to an input file after its batch commits (Spark's `cleanSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cleanup {
    /// Leave it where it is (its name is remembered as processed).
    #[default]
    Keep,
    /// Move it to the archive folder.
    Archive,
    /// Delete it.
    Delete,
}

impl FromStr for Cleanup {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "keep" => Ok(Self::Keep),
            "archive" => Ok(Self::Archive),
            "delete" => Ok(Self::Delete),
            other => Err(format!(
                "unknown cleanup `{other}`: use keep, archive or delete"
            )),
        }
    }
}

/// Retry of a batch when the database is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First delay.
    #[serde(with = "humantime_serde")]
    pub initial: Duration,
    /// Longest delay between two attempts.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// Give up (exit non-zero) after the database was unreachable this long.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// At start, before the database first answered, give up after this
    /// long (at most `deadline`): a wrong URL or a stopped server is said
    /// within seconds; the long wait is for outages after a good start. A
    /// service started before its database raises it.
    #[serde(with = "humantime_serde")]
    pub startup: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(10),
            deadline: Duration::from_secs(300),
            startup: Duration::from_secs(10),
        }
    }
}

impl RetryConfig {
    /// Delay before attempt `attempt` (1-based) with `jitter` in [0, 1):
    /// exponential, capped, then spread over [delay/2, delay).
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exponential = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(30)));
        let capped = exponential.min(self.max);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Everything `sluice ingest` needs besides the database URL, its fields
/// grouped by the stage that reads them. The struct stays flat because its
/// keys are the flat `[pipeline]` table of a configuration file, read with
/// `deny_unknown_fields` so a misspelt key is refused at start: serde cannot
/// refuse unknown keys through flattened sub-structs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    // Source (discover): which files, and when a file is complete.
    /// Folder watched for input files.
    pub input: PathBuf,
    /// File names to ingest (hidden names are always ignored).
    pub glob: String,
    /// Interval of the full folder listing that backs up the watcher.
    #[serde(with = "humantime_serde")]
    pub listing_interval: Duration,
    /// A file written in place (not renamed into the folder, its writer's
    /// close not seen) is read once its size and modification time have
    /// not changed for this long.
    #[serde(with = "humantime_serde")]
    pub settle_time: Duration,
    /// Where unreadable files go, with a reason file; default `<input>/quarantine`.
    pub quarantine: Option<PathBuf>,

    // Plan and checkpoint: what one batch takes, when it commits, where its plan is logged.
    pub trigger: Trigger,
    /// When an interval trigger's batch writes its rows (continuous and
    /// available-now batches always write at once).
    pub write_timing: WriteTiming,
    pub max_files_per_trigger: usize,
    /// Cap on rows per batch, estimated from file sizes before reading.
    pub max_rows_per_trigger: Option<u64>,
    /// Checkpoint folder (plan and commit log). A worker of a named
    /// pipeline takes the first free `worker-N` folder inside it.
    pub checkpoint: PathBuf,
    /// The pipeline this process serves as one of several workers sharing
    /// the input folder and the database: files are claimed through the
    /// database (`sluice_files`, see `crate::claims`). None: a single process.
    pub pipeline: Option<String>,
    /// How long a worker's claim on a file lasts without renewal (its
    /// heartbeat renews it every third of this): a dead worker's files are
    /// taken over this long after its last heartbeat.
    #[serde(with = "humantime_serde")]
    pub claim_lease: Duration,
    /// Move the checkpoint folder aside first and start a new checkpoint:
    /// every file in the input folder is ingested again (after a restore,
    /// or a table emptied on purpose). A run-time choice, never in a file.
    #[serde(skip)]
    pub reset_checkpoint: bool,

    // Parse: rows read at once and what one row may take.
    /// Rows parsed and transformed at once: bounds memory for files of any size.
    pub chunk_rows: usize,
    pub max_field_bytes: usize,
    pub max_raw_bytes: usize,
    /// Longest record in bytes: what one row may take in memory. A longer
    /// one is rejected and reading resumes at the next line.
    pub max_record_bytes: usize,

    // Transform.
    /// Transform SQL file; default `pipeline/sql/transform.sql` (built in) for a table with
    /// the `events` columns (any name),
    /// a dedupe-by-key query for other tables.
    pub transform: Option<PathBuf>,
    /// DataFusion partitions for the transform.
    pub partitions: usize,

    // Sink: the table, how rows reach it, and what a lost database costs.
    /// The target table (default: the contract's `events`).
    pub table: TableConfig,
    pub write_mode: WriteMode,
    /// Rows per COPY round trip (the JDBC `batchsize` knob).
    pub batch_size: usize,
    pub retry: RetryConfig,

    // After the commit.
    /// What to do with a file once its batch committed.
    pub cleanup: Cleanup,
    /// Archive folder for `cleanup = "archive"`; default `<input>/archive`.
    pub archive: Option<PathBuf>,

    // The process.
    /// On SIGTERM / Ctrl-C, how long the batch in flight may run on before it
    /// is rolled back (its plan stays, so the next start replays it whole).
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Exit non-zero when any row was rejected or file quarantined.
    pub fail_on_rejects: bool,
    /// Test hook: linger at batch steps (`SLUICE_STAGE_DELAY`), see [`crate::stage`].
    #[serde(skip)]
    pub stage_probe: StageProbe,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            input: PathBuf::from("input"),
            glob: "*.csv".into(),
            checkpoint: PathBuf::from("checkpoints").join("default"),
            pipeline: None,
            claim_lease: Duration::from_secs(30),
            quarantine: None,
            cleanup: Cleanup::Keep,
            archive: None,
            trigger: Trigger::Interval(Duration::from_secs(10)),
            write_timing: WriteTiming::OnArrival,
            max_files_per_trigger: 1000,
            max_rows_per_trigger: None,
            batch_size: 10_000,
            chunk_rows: 4096,
            write_mode: WriteMode::CopyMerge,
            listing_interval: Duration::from_secs(5),
            retry: RetryConfig::default(),
            shutdown_grace: Duration::from_secs(10),
            max_field_bytes: ParseLimits::default().max_field_bytes,
            max_raw_bytes: ParseLimits::default().max_raw_bytes,
            max_record_bytes: ParseLimits::default().max_record_bytes,
            settle_time: Duration::from_secs(1),
            partitions: 1,
            table: TableConfig::events(),
            transform: None,
            fail_on_rejects: false,
            reset_checkpoint: false,
            stage_probe: StageProbe::default(),
        }
    }
}

impl IngestConfig {
    pub fn quarantine_dir(&self) -> PathBuf {
        self.quarantine
            .clone()
            .unwrap_or_else(|| self.input.join("quarantine"))
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.archive
            .clone()
            .unwrap_or_else(|| self.input.join("archive"))
    }

    pub fn limits(&self) -> ParseLimits {
        ParseLimits {
            max_field_bytes: self.max_field_bytes,
            max_raw_bytes: self.max_raw_bytes,
            max_record_bytes: self.max_record_bytes,
        }
    }

    /// Checks the numbers a user can get wrong.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("max_files_per_trigger", self.max_files_per_trigger),
            ("batch_size", self.batch_size),
            ("chunk_rows", self.chunk_rows),
            ("max_field_bytes", self.max_field_bytes),
            ("max_record_bytes", self.max_record_bytes),
            ("partitions", self.partitions),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.max_rows_per_trigger == Some(0) {
            return Err("max_rows_per_trigger must be at least 1".into());
        }
        if let Some(name) = &self.pipeline {
            let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            if name.is_empty()
                || name.len() > 63
                || name.starts_with('.')
                || !name.chars().all(plain)
            {
                return Err(format!(
                    "pipeline name {name:?}: use 1 to 63 letters, digits, '-', '_' or '.', not \
                     starting with '.' (it names a folder of the checkpoint)"
                ));
            }
        }
        if let (true, Some(name)) = (self.reset_checkpoint, &self.pipeline) {
            return Err(format!(
                "--reset-checkpoint cannot be used with --pipeline: the workers of pipeline \
                 {name:?} share what they committed through the database (sluice_files), not \
                 through a checkpoint folder. To ingest its files again, stop its workers and \
                 run DELETE FROM sluice_files WHERE pipeline = '{name}'"
            ));
        }
        if self.claim_lease < Duration::from_millis(300) {
            return Err(format!(
                "claim_lease {:?} is too short: a worker renews its claims every third of it; use \
                 at least 300ms (30s by default)",
                self.claim_lease
            ));
        }
        if self.retry.initial.is_zero() || self.retry.max < self.retry.initial {
            return Err("retry: initial must be positive and max at least initial".into());
        }
        let paths = [
            ("input", Some(&self.input)),
            ("checkpoint", Some(&self.checkpoint)),
            ("quarantine", self.quarantine.as_ref()),
            ("archive", self.archive.as_ref()),
            ("transform", self.transform.as_ref()),
        ];
        for (name, path) in paths {
            let Some(path) = path else { continue };
            // "C:\new\table" in double quotes reads as a newline and a tab.
            if path.to_string_lossy().chars().any(char::is_control) {
                return Err(format!(
                    "{name} {path:?} holds a control character: a Windows path in double quotes \
                     reads \\n, \\t, \\r, \\b, \\f and \\e as escapes. Write it in single quotes \
                     ('C:\\new\\table') or with forward slashes (\"C:/new/table\")"
                ));
            }
        }
        Ok(())
    }
}

/// A settings file's parse error, with the fix for the mistake Windows
/// users make most: a path like "C:\data\in" in double quotes, where TOML
/// reads `\d` as an (invalid) escape.
pub fn explain_settings_error(message: &str) -> String {
    if message.contains("escape") {
        format!(
            "{message}\nA Windows path in double quotes needs its backslashes doubled: write \
             'C:\\data\\in' (single quotes), \"C:\\\\data\\\\in\" or \"C:/data/in\""
        )
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_triggers() {
        assert_eq!(
            "10s".parse::<Trigger>().unwrap(),
            Trigger::Interval(Duration::from_secs(10))
        );
        assert_eq!(
            "500ms".parse::<Trigger>().unwrap(),
            Trigger::Interval(Duration::from_millis(500))
        );
        assert_eq!(
            "continuous".parse::<Trigger>().unwrap(),
            Trigger::Continuous
        );
        assert_eq!("0".parse::<Trigger>().unwrap(), Trigger::Continuous);
        assert_eq!(
            "available-now".parse::<Trigger>().unwrap(),
            Trigger::AvailableNow
        );
        assert!("soon"
            .parse::<Trigger>()
            .unwrap_err()
            .contains("available-now"));
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let retry = RetryConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            deadline: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        assert_eq!(retry.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(retry.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(retry.delay(20, 1.0), Duration::from_secs(1));
        assert_eq!(retry.delay(3, 0.0), Duration::from_millis(200));
    }

    #[test]
    fn a_windows_path_in_double_quotes_gets_the_fix() {
        let error = toml::from_str::<IngestConfig>("input = \"C:\\data\\in\"")
            .unwrap_err()
            .to_string();
        let explained = explain_settings_error(&error);
        assert!(
            explained.contains("'C:\\data\\in' (single quotes)"),
            "{explained}"
        );
        let config: IngestConfig = toml::from_str("input = 'C:\\data\\in'").unwrap();
        assert_eq!(config.input, std::path::PathBuf::from("C:\\data\\in"));
        assert_eq!(explain_settings_error("unknown field"), "unknown field");
    }

    #[test]
    fn a_path_read_as_escapes_is_refused() {
        let config: IngestConfig = toml::from_str("input = \"C:\\new\\table\"").unwrap();
        let error = config.validate().unwrap_err();
        assert!(error.starts_with("input \"C:\\ne"), "{error}");
        assert!(
            error.contains("single quotes ('C:\\new\\table')"),
            "{error}"
        );
    }

    #[test]
    fn a_pipeline_name_and_its_lease_are_checked() {
        let with = |pipeline: &str, lease_ms: u64, reset: bool| IngestConfig {
            pipeline: Some(pipeline.into()),
            claim_lease: Duration::from_millis(lease_ms),
            reset_checkpoint: reset,
            ..IngestConfig::default()
        };
        assert_eq!(with("orders-eu_1.v2", 300, false).validate(), Ok(()));
        for name in ["", ".hidden", "a/b", "ünïcode", &"x".repeat(64)] {
            let error = with(name, 30_000, false).validate().unwrap_err();
            assert!(error.starts_with("pipeline name"), "{name}: {error}");
        }
        let error = with("orders", 299, false).validate().unwrap_err();
        assert!(error.contains("at least 300ms"), "{error}");
        let error = with("orders", 30_000, true).validate().unwrap_err();
        assert!(
            error.contains("DELETE FROM sluice_files WHERE pipeline = 'orders'"),
            "{error}"
        );
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let error = toml::from_str::<IngestConfig>("bach_size = 5")
            .unwrap_err()
            .to_string();
        assert!(error.contains("bach_size"), "{error}");
    }
}

//! The scenario file: load shape, pipeline settings and duration.

use std::path::Path;
use std::time::Duration;

use pipeline::config::{IngestConfig, Trigger};
use serde::{Deserialize, Serialize};

/// A scenario as written in `configs/NAME.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name shown in the report and used in the run id.
    pub name: String,
    /// How long the generator writes files.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Longest wait for the pipeline to drain after the generator stops.
    #[serde(with = "humantime_serde", default = "default_drain_timeout")]
    pub drain_timeout: Duration,
    /// Database URL; the embedded PostgreSQL when absent.
    #[serde(default)]
    pub database_url: Option<String>,
    pub generator: GeneratorSection,
    #[serde(default)]
    pub pipeline: IngestConfig,
    /// Kills and restarts of the pipeline and the database during the run;
    /// the pipeline then runs as a separate `sluice ingest` process.
    #[serde(default)]
    pub failover: Option<crate::failover::FailoverSection>,
    /// Runs the pipeline as a separate `sluice ingest` process (as failover
    /// runs do) rather than as a task beside the generator: the pipeline's
    /// CPU and memory are then its own, as in production.
    #[serde(default)]
    pub separate_process: bool,
    /// Several workers of one pipeline (`sluice ingest --pipeline`), each a
    /// separate process, sharing the input folder through their claims.
    #[serde(default)]
    pub workers: Option<WorkersSection>,
    /// Pass/fail targets judged by the report; `sluice run` fails when one
    /// is missed (past its `slack_pct`, none by default) or not measured
    /// (unless listed in `optional`).
    #[serde(default)]
    pub targets: Option<reporter::Targets>,
    /// A pipeline that is not sluice, run by its command (`[pipeline]
    /// command`, `sluice run --pipeline-cmd`); `[pipeline]`'s other keys
    /// then only name the table and the trigger it is given.
    #[serde(skip)]
    pub external: Option<crate::external::ExternalPipeline>,
    /// `[pipeline]`'s waits and table for a command given by
    /// `--pipeline-cmd`, when the file names none itself.
    #[serde(skip)]
    pub external_without_command: Option<crate::external::ExternalPipeline>,
}

/// The `[workers]` section of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersSection {
    /// Worker processes (1: one process, as without the section).
    pub count: usize,
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(120)
}

/// The load: rows per file, pace and data quality.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSection {
    /// Rows per file, uniform in [rows_min, rows_max], when no `rate` is given.
    #[serde(default = "default_rows_min")]
    pub rows_min: u32,
    #[serde(default = "default_rows_max")]
    pub rows_max: u32,
    /// Rows per second over time (steady, steps, bursts, ramp): each file
    /// holds the profile's rows for its interval.
    #[serde(default)]
    pub rate: Option<generator::RateProfile>,
    /// Concurrent writers, each with its own files; the rate is split among them.
    #[serde(default = "default_sources")]
    pub sources: u32,
    /// Time between two files.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Fraction of rows repeating an earlier file's row.
    #[serde(default)]
    pub dup_rate: f64,
    /// Fraction of malformed rows.
    #[serde(default)]
    pub bad_rate: f64,
}

fn default_seed() -> u64 {
    42
}

fn default_rows_min() -> u32 {
    50
}

fn default_rows_max() -> u32 {
    100
}

fn default_sources() -> u32 {
    1
}

/// Values given on the command line or as `SLUICE_…` variables; they win
/// over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub duration: Option<Duration>,
    pub trigger: Option<Trigger>,
    pub batch_size: Option<usize>,
    pub database_url: Option<String>,
    /// `--pipeline-cmd`: run this command instead of sluice (its waits as
    /// the scenario's `[pipeline]` gives them, else the defaults).
    pub pipeline_command: Option<String>,
    /// `--pipeline-table`: the table that command writes.
    pub pipeline_table: Option<String>,
}

/// What is wrong with a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read the scenario file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid scenario file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl ScenarioFile {
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|error| {
            invalid(pipeline::config::explain_settings_error(&error.to_string()))
        })?;
        let external = match table.get_mut("pipeline") {
            Some(toml::Value::Table(pipeline)) => {
                crate::external::ExternalPipeline::take_from(pipeline).map_err(invalid)?
            }
            _ => None,
        };
        let mut scenario: Self = table.try_into().map_err(|error: toml::de::Error| {
            invalid(pipeline::config::explain_settings_error(&error.to_string()))
        })?;
        match external {
            Some(external) if external.command.trim().is_empty() => {
                scenario.external_without_command = Some(external);
            }
            external => scenario.external = external,
        }
        Ok(scenario)
    }

    /// Worker processes of the pipeline: `[workers] count`, else 1.
    pub fn worker_count(&self) -> usize {
        self.workers.as_ref().map_or(1, |w| w.count.max(1))
    }

    /// Applies command-line and environment overrides.
    pub fn apply(&mut self, overrides: &Overrides) {
        if let Some(duration) = overrides.duration {
            self.duration = duration;
        }
        if let Some(trigger) = overrides.trigger {
            self.pipeline.trigger = trigger;
        }
        if let Some(batch_size) = overrides.batch_size {
            self.pipeline.batch_size = batch_size;
        }
        if let Some(url) = &overrides.database_url {
            self.database_url = Some(url.clone());
        }
        if let Some(command) = &overrides.pipeline_command {
            let mut external = self
                .external
                .take()
                .or_else(|| self.external_without_command.take())
                .unwrap_or_else(|| crate::external::ExternalPipeline::new(""));
            external.command = command.clone();
            self.external = Some(external);
        }
        if let (Some(external), Some(table)) = (&mut self.external, &overrides.pipeline_table) {
            external.table = Some(table.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_parses() {
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut parsed = 0;
        for entry in std::fs::read_dir(configs).unwrap() {
            let path = entry.unwrap().path();
            // sweep.toml and capacity.toml are sweep files (a matrix over a
            // scenario), tested in sweep.rs.
            if path.extension().is_some_and(|e| e == "toml")
                && path
                    .file_stem()
                    .is_some_and(|s| s != "sweep" && s != "capacity")
            {
                let scenario = ScenarioFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
                scenario.pipeline.validate().unwrap();
                if let Some(failover) = &scenario.failover {
                    failover.validate(scenario.duration).unwrap();
                }
                parsed += 1;
            }
        }
        assert_eq!(
            parsed, 8,
            "smoke, baseline, high-load, stress, burst, soak, failover, fleet"
        );
    }

    #[test]
    fn overrides_win_over_the_file() {
        let mut scenario: ScenarioFile = toml::from_str(
            "name = 'x'\nduration = '10m'\n[generator]\nrows_min = 1\nrows_max = 2\ninterval = '1s'\n[pipeline]\ntrigger = '30s'\nbatch_size = 1000\n",
        )
        .unwrap();
        scenario.apply(&Overrides {
            duration: Some(Duration::from_secs(5)),
            trigger: Some(Trigger::Continuous),
            batch_size: Some(7),
            database_url: None,
            pipeline_command: None,
            pipeline_table: None,
        });
        assert_eq!(scenario.duration, Duration::from_secs(5));
        assert_eq!(scenario.pipeline.trigger, Trigger::Continuous);
        assert_eq!(scenario.pipeline.batch_size, 7);
    }
}

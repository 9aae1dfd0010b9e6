//! A sweep file: read, checked, and planned into its runs (the cartesian
//! product of the matrix, each run on its own table).

use std::path::Path;
use std::time::Duration;

use generator::RateProfile;
use pipeline::config::{Trigger, WriteTiming};
use pipeline::sink::WriteMode;

use super::{
    sweep_table, PlannedRun, RawSweepFile, RunOverrides, RunSettings, SweepError, SweepFile,
};
use crate::scenario_file::{GeneratorSection, ScenarioFile};

impl SweepFile {
    /// Reads and checks a sweep file (and the scenario it names).
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses sweep file text; `path` names it in errors and anchors a
    /// relative scenario path.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SweepError> {
        let invalid = |message: String| SweepError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let raw: RawSweepFile = toml::from_str(text)
            .map_err(|e| invalid(pipeline::config::explain_settings_error(&e.to_string())))?;
        let (scenario, scenario_source) = match raw.scenario {
            toml::Value::String(file) => {
                let file = path.parent().unwrap_or(Path::new("")).join(file);
                let scenario = ScenarioFile::load(&file).map_err(|e| invalid(e.to_string()))?;
                (scenario, file.display().to_string())
            }
            toml::Value::Table(table) => {
                let scenario = toml::Value::Table(table)
                    .try_into::<ScenarioFile>()
                    .map_err(|e| invalid(format!("in [scenario]: {}", e.message())))?;
                (scenario, "inline".to_string())
            }
            other => {
                return Err(invalid(format!(
                    "`scenario` must be a scenario file's path (a string) or an inline \
                     [scenario] table; found a value of type {}",
                    other.type_str()
                )))
            }
        };
        let sweep = SweepFile {
            path: path.to_path_buf(),
            scenario_source,
            scenario,
            duration: raw.duration,
            matrix: raw.matrix,
        };
        sweep.runs(&RunOverrides::default()).map_err(invalid)?;
        Ok(sweep)
    }

    /// The runs of the matrix, in order (trigger, then batch size, write mode
    /// and max files per trigger, each in the order listed), each with its
    /// scenario ready for [`run::run`] and its own table. Fails when the
    /// matrix gives fewer than two runs or a combination is invalid.
    pub fn runs(&self, overrides: &RunOverrides) -> Result<Vec<PlannedRun>, String> {
        let (product, varied) = self.combinations()?;
        product
            .into_iter()
            .enumerate()
            .map(|(i, combination)| self.plan_run(i + 1, combination, &varied, overrides))
            .collect()
    }

    /// The cartesian product of the matrix lists, in the order the keys are
    /// listed, and the keys that take more than one value.
    fn combinations(&self) -> Result<(Vec<Combination>, Vec<&'static str>), String> {
        let m = &self.matrix;
        let base = &self.scenario.pipeline;
        let lists = [
            ("trigger", m.trigger.as_ref().map(Vec::len)),
            ("batch_size", m.batch_size.as_ref().map(Vec::len)),
            ("write_mode", m.write_mode.as_ref().map(Vec::len)),
            ("write_timing", m.write_timing.as_ref().map(Vec::len)),
            (
                "max_files_per_trigger",
                m.max_files_per_trigger.as_ref().map(Vec::len),
            ),
            ("rate", m.rate.as_ref().map(Vec::len)),
        ];
        if let Some((key, _)) = lists.iter().find(|(_, len)| *len == Some(0)) {
            return Err(format!(
                "[matrix] {key} is empty: list at least one value, or leave the key out"
            ));
        }
        let varied = lists
            .iter()
            .filter(|(_, len)| len > &Some(1))
            .map(|(key, _)| *key)
            .collect();
        let triggers = listed(&m.trigger, base.trigger);
        let batch_sizes = listed(&m.batch_size, base.batch_size);
        let modes = listed(&m.write_mode, base.write_mode);
        let timings = listed(&m.write_timing, base.write_timing);
        let max_files = listed(&m.max_files_per_trigger, base.max_files_per_trigger);
        let rates: Vec<Option<u64>> = match &m.rate {
            Some(rates) => {
                steady_load(&self.scenario.generator)?;
                rates.iter().copied().map(Some).collect()
            }
            None => vec![None],
        };
        let product: Vec<Combination> = triggers
            .iter()
            .flat_map(|&t| batch_sizes.iter().map(move |&b| (t, b)))
            .flat_map(|(t, b)| modes.iter().map(move |&w| (t, b, w)))
            .flat_map(|(t, b, w)| timings.iter().map(move |&wt| (t, b, w, wt)))
            .flat_map(|(t, b, w, wt)| max_files.iter().map(move |&f| (t, b, w, wt, f)))
            .flat_map(|(t, b, w, wt, f)| rates.iter().map(move |&r| (t, b, w, wt, f, r)))
            .collect();
        if product.len() < 2 {
            return Err(format!(
                "the [matrix] gives {} run; a sweep compares at least two: list two or more \
                 values of trigger, batch_size, write_mode, write_timing, max_files_per_trigger \
                 or rate",
                product.len()
            ));
        }
        Ok((product, varied))
    }

    /// Run `index` (1-based) of the sweep: the scenario with one combination
    /// applied, on its own table, labelled by the varied keys.
    fn plan_run(
        &self,
        index: usize,
        (trigger, batch_size, write_mode, write_timing, max_files_per_trigger, rate): Combination,
        varied: &[&str],
        overrides: &RunOverrides,
    ) -> Result<PlannedRun, String> {
        let settings = RunSettings {
            trigger: trigger.to_string(),
            batch_size,
            write_mode: write_mode.to_string(),
            write_timing: write_timing.to_string(),
            max_files_per_trigger,
            rate_rows_per_s: rate,
        };
        let label = [
            ("trigger", settings.trigger.clone()),
            ("batch_size", batch_size.to_string()),
            ("write_mode", settings.write_mode.clone()),
            ("write_timing", settings.write_timing.clone()),
            ("max_files_per_trigger", max_files_per_trigger.to_string()),
            ("rate", rate.map_or_else(String::new, |r| r.to_string())),
        ]
        .iter()
        .filter(|(key, _)| varied.contains(key))
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ");
        let mut scenario = self.scenario.clone();
        if let Some(duration) = overrides.duration.or(self.duration) {
            scenario.duration = duration;
        }
        if let Some(url) = &overrides.database_url {
            scenario.database_url = Some(url.clone());
        }
        if let Some(rate) = rate {
            offer(&mut scenario.generator, rate)
                .map_err(|e| format!("run {index} ({label}): {e}"))?;
        }
        let pipeline = &mut scenario.pipeline;
        if trigger == Trigger::AvailableNow {
            return Err(
                "trigger `available-now` drains what is there at start and exits: a sweep \
                 runs a live load, so use intervals or `continuous`"
                    .into(),
            );
        }
        pipeline.trigger = trigger;
        pipeline.batch_size = batch_size;
        pipeline.write_mode = write_mode;
        pipeline.write_timing = write_timing;
        pipeline.max_files_per_trigger = max_files_per_trigger;
        pipeline.table.name = sweep_table(&self.scenario.pipeline.table.name, index);
        pipeline
            .validate()
            .map_err(|e| format!("run {index} ({label}): {e}"))?;
        pipeline
            .table
            .validate()
            .map_err(|e| format!("run {index} ({label}): {e}"))?;
        Ok(PlannedRun {
            index,
            label,
            settings,
            scenario,
        })
    }
}

/// One point of the sweep matrix: trigger, batch size, write mode, write
/// timing, files per trigger and offered rate.
type Combination = (Trigger, usize, WriteMode, WriteTiming, usize, Option<u64>);

/// The scenario's steady load as (rows/s, interval), which a `rate` axis
/// scales; other profiles have no single rate to replace.
fn steady_load(generator: &GeneratorSection) -> Result<(u64, Duration), String> {
    match &generator.rate {
        Some(RateProfile::Steady { rows_per_s }) if *rows_per_s > 0 => {
            Ok((*rows_per_s, generator.interval))
        }
        _ => Err(
            "[matrix] rate needs a steady load in the scenario: set [generator] \
                  rate = \"steady:ROWS_PER_S\" and the interval that gives the file size \
                  (1000 rows per file at 10000 rows/s: interval = \"100ms\")"
                .into(),
        ),
    }
}

/// Sets the scenario's steady load to `rate` rows/s in files of the same
/// size: the interval shrinks as the rate grows.
fn offer(generator: &mut GeneratorSection, rate: u64) -> Result<(), String> {
    if rate == 0 {
        return Err("a rate of 0 rows/s offers no load".into());
    }
    let (base_rate, base_interval) = steady_load(generator)?;
    let rows_per_file = base_rate as f64 * base_interval.as_secs_f64();
    generator.interval = Duration::from_secs_f64(rows_per_file / rate as f64);
    generator.rate = Some(RateProfile::Steady { rows_per_s: rate });
    Ok(())
}

/// A matrix list, or the scenario's own value alone.
fn listed<T: Clone>(list: &Option<Vec<T>>, scenario_value: T) -> Vec<T> {
    list.clone().unwrap_or_else(|| vec![scenario_value])
}

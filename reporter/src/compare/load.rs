//! Reading the runs: each run folder's `summary.json` (an older or partial layout read over the defaults) and its label.

use std::fs;

use serde_json::Value;
use std::path::{Path, PathBuf};

use super::CompareError;
use crate::summary::{RunSummary, Summary};
use crate::SUMMARY_FILE;

/// `runs_dir/compare-YYYYmmdd-HHMMSS` (local time, like run ids): the
/// default output folder.
pub fn default_out_dir(runs_dir: &Path) -> PathBuf {
    runs_dir.join(format!(
        "compare-{}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ))
}

/// `run_dir/summary.json`, or `run_dir` itself when it is a file.
pub fn summary_path(run_dir: &Path) -> PathBuf {
    if run_dir.is_file() {
        run_dir.to_path_buf()
    } else {
        run_dir.join(SUMMARY_FILE)
    }
}

/// Reads and parses one `summary.json` ([`parse_summary`]).
pub fn load_summary(path: &Path) -> Result<Summary, CompareError> {
    let text = fs::read_to_string(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            CompareError::SummaryNotFound {
                path: path.to_path_buf(),
            }
        } else {
            CompareError::SummaryUnreadable {
                path: path.to_path_buf(),
                error,
            }
        }
    })?;
    parse_summary(&text).map_err(|error| CompareError::SummaryInvalid {
        path: path.to_path_buf(),
        error,
    })
}

/// Parses `summary.json` text. Fields it lacks, at any depth, take their
/// [`Summary::default`] values; a `run` section's missing fields take
/// [`RunSummary::default`]'s, and a `latency_distribution` row's take zeros.
/// Fields present must have the right types.
pub fn parse_summary(text: &str) -> Result<Summary, serde_json::Error> {
    let mut given: Value = serde_json::from_str(text)?;
    let mut base = serde_json::to_value(Summary::default())?;
    if given.get("run").is_some_and(Value::is_object) {
        base["run"] = serde_json::to_value(RunSummary::default())?;
    }
    if let Some(rows) = given
        .get_mut("latency_distribution")
        .and_then(Value::as_array_mut)
    {
        for row in rows.iter_mut().filter(|r| r.is_object()) {
            let mut full = serde_json::json!({
                "range": "", "from_ms": 0.0, "to_ms": null, "count": 0,
                "percent": 0.0, "cumulative_percent": 0.0
            });
            merge(&mut full, row.take());
            *row = full;
        }
    }
    merge(&mut base, given);
    serde_json::from_value(base)
}

/// Overlays `given` on `base`: objects key by key (recursively), anything
/// else replaced.
pub(super) fn merge(base: &mut Value, given: Value) {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) => {
            for (key, value) in given {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The run's column label: its run id, else its folder's name, else the
/// path as given.
pub fn run_label(summary: &Summary, run_dir: &Path) -> String {
    let non_empty = |s: &String| !s.trim().is_empty();
    summary
        .run_id
        .clone()
        .filter(non_empty)
        .or_else(|| {
            summary
                .run
                .as_ref()
                .map(|r| r.run_id.clone())
                .filter(non_empty)
        })
        .or_else(|| {
            let dir = if run_dir.is_file() {
                run_dir.parent()?
            } else {
                run_dir
            };
            dir.file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| run_dir.display().to_string())
}

/// Labels made unique: a repeat gets ` (2)`, ` (3)`, ...
pub fn unique_labels(labels: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for label in labels {
        let mut candidate = label.clone();
        let mut n = 1;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{label} ({n})");
        }
        out.push(candidate);
    }
    out
}

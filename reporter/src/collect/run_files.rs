//! Side files a run leaves in its folder for the report, beside the
//! manifest: CPU and memory samples ([`RESOURCES_FILE`]) and the windows in
//! which something was deliberately interrupted ([`EVENTS_FILE`]).
//!
//! Both are JSON lines, one object per line, so a run can write them with
//! the helpers here (the scenario crate does) and a person can read them with
//! `jq`. Both are optional: without them the report omits the resource
//! charts and the interruption shading, and says so. Readers ignore unknown
//! keys and blank lines, like the manifest's reader.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::summary::{round3, Interruption, MemorySplit};

/// Resource samples of a run, one [`ResourceSample`] per line.
pub const RESOURCES_FILE: &str = "resources.jsonl";
/// Interruptions of a run, one [`RunEvent`] per line.
pub const EVENTS_FILE: &str = "events.jsonl";

/// One resource sample, taken at a fixed interval during the run.
///
/// Process CPU is in % of one core (100 = one core busy, so it can exceed
/// 100), as `sysinfo` gives it per process. `system_cpu_pct` is `sysinfo`'s
/// global usage: % of all logical CPUs together (100 = every CPU busy).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
pub struct ResourceSample {
    /// Seconds since the sampler started (just before the generator's first
    /// file, so the report reads it as seconds since the first file).
    pub t_s: f64,
    /// CPU of the pipeline process, % of one core.
    pub pipeline_cpu_pct: f32,
    /// Resident set size of the pipeline process, bytes.
    pub pipeline_rss_bytes: u64,
    /// CPU of the PostgreSQL postmaster and its children, % of one core.
    pub postgres_cpu_pct: f32,
    /// Resident set size of the PostgreSQL processes together, bytes.
    pub postgres_rss_bytes: u64,
    /// CPU of the whole system, % of all logical CPUs.
    pub system_cpu_pct: f32,
    /// Bytes the pipeline process read from storage since the previous sample.
    #[serde(default)]
    pub pipeline_read_bytes: u64,
    /// Bytes the pipeline process wrote to storage since the previous sample.
    #[serde(default)]
    pub pipeline_written_bytes: u64,
    /// Bytes the PostgreSQL processes read from storage since the previous sample.
    #[serde(default)]
    pub postgres_read_bytes: u64,
    /// Bytes the PostgreSQL processes wrote to storage since the previous sample.
    #[serde(default)]
    pub postgres_written_bytes: u64,
    /// Where the pipeline's memory is (Linux `smaps_rollup`; `None` elsewhere).
    #[serde(default)]
    pub pipeline_memory: Option<MemorySplit>,
    /// Where PostgreSQL's memory is, summed over its processes (Linux only).
    #[serde(default)]
    pub postgres_memory: Option<MemorySplit>,
}

/// A window in which part of the system was deliberately down (a failover
/// or outage scenario's own doing), so the report can shade it and readers
/// do not mistake its latency spike for a pipeline fault.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// What happened: `pipeline_killed`, `database_stopped`, ...
    pub kind: String,
    /// When it started, Unix µs (the host's clock, like the manifest's
    /// `created_at_us`).
    pub start_unix_us: i64,
    /// When it ended, Unix µs; `None` when it lasted to the end of the run.
    pub end_unix_us: Option<i64>,
    /// Free text for the report (`kill -9 of pid 4242`).
    #[serde(default)]
    pub note: String,
}

impl RunEvent {
    /// The event on the report's time axis: seconds since `origin_us` (the
    /// first file's creation), duration in seconds.
    pub fn to_interruption(&self, origin_us: i64) -> Interruption {
        Interruption {
            kind: self.kind.clone(),
            start_offset_s: round3((self.start_unix_us - origin_us) as f64 / 1e6),
            duration_s: self
                .end_unix_us
                .map(|end| round3((end - self.start_unix_us).max(0) as f64 / 1e6)),
            note: self.note.clone(),
        }
    }
}

/// Reads `path` as [`RESOURCES_FILE`]; `Ok(None)` when it does not exist.
pub fn read_resource_samples(path: &Path) -> Result<Option<Vec<ResourceSample>>, ReportError> {
    read_lines(path)
}

/// Writes `samples` to `path` as [`RESOURCES_FILE`] (whole file, atomically).
pub fn write_resource_samples(path: &Path, samples: &[ResourceSample]) -> Result<(), ReportError> {
    write_lines(path, samples)
}

/// Reads `path` as [`EVENTS_FILE`]; `Ok(None)` when it does not exist.
pub fn read_events(path: &Path) -> Result<Option<Vec<RunEvent>>, ReportError> {
    read_lines(path)
}

/// Writes `events` to `path` as [`EVENTS_FILE`] (whole file, atomically).
pub fn write_events(path: &Path, events: &[RunEvent]) -> Result<(), ReportError> {
    write_lines(path, events)
}

fn read_lines<T: DeserializeOwned>(path: &Path) -> Result<Option<Vec<T>>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ReportError::Io {
                action: "read",
                path: path.to_path_buf(),
                error,
            })
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| ReportError::RunFile {
                path: path.to_path_buf(),
                line: i + 1,
                detail: e.to_string(),
            })
        })
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}

fn write_lines<T: Serialize>(path: &Path, items: &[T]) -> Result<(), ReportError> {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    crate::files::write_atomic(path, text.as_bytes())
}

/// What the report found of a run's side files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFiles {
    /// The samples; empty when [`RESOURCES_FILE`] is absent or unreadable.
    pub resources: Vec<ResourceSample>,
    /// The events; empty when [`EVENTS_FILE`] is absent or unreadable.
    pub events: Vec<RunEvent>,
    /// A sentence per file that exists but could not be read: a bad side
    /// file costs its charts, never the report.
    pub notes: Vec<String>,
}

impl RunFiles {
    /// Reads both files from the first of `dirs` that holds each (the
    /// manifest's folder, then the report's, which `sluice run` makes one).
    pub fn load(dirs: &[PathBuf]) -> RunFiles {
        let mut out = RunFiles::default();
        let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.exists());
        if let Some(path) = find(RESOURCES_FILE) {
            match read_resource_samples(&path) {
                Ok(samples) => out.resources = samples.unwrap_or_default(),
                Err(e) => out.notes.push(format!("No resource charts: {e}.")),
            }
        }
        if let Some(path) = find(EVENTS_FILE) {
            match read_events(&path) {
                Ok(events) => out.events = events.unwrap_or_default(),
                Err(e) => out.notes.push(format!("No interruptions shown: {e}.")),
            }
        }
        out.resources.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        out.events.sort_by_key(|e| e.start_unix_us);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, rss_mib: u64) -> ResourceSample {
        ResourceSample {
            t_s,
            pipeline_cpu_pct: 12.5,
            pipeline_rss_bytes: rss_mib << 20,
            postgres_cpu_pct: 150.0,
            postgres_rss_bytes: 100 << 20,
            system_cpu_pct: 40.0,
            ..Default::default()
        }
    }

    #[test]
    fn resource_samples_round_trip_one_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RESOURCES_FILE);
        let samples = vec![sample(0.5, 20), sample(1.0, 21)];
        write_resource_samples(&path, &samples).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            "{\"t_s\":0.5,\"pipeline_cpu_pct\":12.5,\"pipeline_rss_bytes\":20971520,\
             \"postgres_cpu_pct\":150.0,\"postgres_rss_bytes\":104857600,\"system_cpu_pct\":40.0,\
             \"pipeline_read_bytes\":0,\"pipeline_written_bytes\":0,\"postgres_read_bytes\":0,\
             \"postgres_written_bytes\":0,\"pipeline_memory\":null,\"postgres_memory\":null}"
        );
        assert_eq!(text.lines().count(), 2);
        assert_eq!(read_resource_samples(&path).unwrap(), Some(samples));
        assert_eq!(
            read_resource_samples(&dir.path().join("absent.jsonl")).unwrap(),
            None
        );
    }

    #[test]
    fn events_round_trip_and_tolerate_unknown_keys_and_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let events = vec![
            RunEvent {
                kind: "pipeline_killed".into(),
                start_unix_us: 5_000_000,
                end_unix_us: Some(7_500_000),
                note: "kill -9".into(),
            },
            RunEvent {
                kind: "database_stopped".into(),
                start_unix_us: 9_000_000,
                end_unix_us: None,
                note: String::new(),
            },
        ];
        write_events(&path, &events).unwrap();
        assert_eq!(read_events(&path).unwrap(), Some(events.clone()));
        std::fs::write(
            &path,
            "{\"kind\":\"database_stopped\",\"start_unix_us\":1,\"end_unix_us\":null,\"by\":\"x\"}\n\n",
        )
        .unwrap();
        let read = read_events(&path).unwrap().unwrap();
        assert_eq!((read.len(), read[0].note.as_str()), (1, ""));
        // Seconds since the first file (at 4 s): 1 s in, 2.5 s long.
        assert_eq!(
            events[0].to_interruption(4_000_000),
            Interruption {
                kind: "pipeline_killed".into(),
                start_offset_s: 1.0,
                duration_s: Some(2.5),
                note: "kill -9".into(),
            }
        );
        assert_eq!(events[1].to_interruption(4_000_000).duration_s, None);
    }

    #[test]
    fn a_bad_line_is_named_and_costs_only_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("report");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(
            dir.path().join(RESOURCES_FILE),
            "{\"t_s\":1.0,\"pipeline_cpu_pct\":1,\"pipeline_rss_bytes\":1,\
             \"postgres_cpu_pct\":1,\"postgres_rss_bytes\":1,\"system_cpu_pct\":1}\nnot json\n",
        )
        .unwrap();
        let err = read_resource_samples(&dir.path().join(RESOURCES_FILE)).unwrap_err();
        assert!(err.to_string().contains("line 2 is unusable"), "{err}");
        // The events live in the second folder, in the wrong order.
        write_events(
            &other.join(EVENTS_FILE),
            &[
                RunEvent {
                    kind: "b".into(),
                    start_unix_us: 2,
                    end_unix_us: None,
                    note: String::new(),
                },
                RunEvent {
                    kind: "a".into(),
                    start_unix_us: 1,
                    end_unix_us: Some(3),
                    note: String::new(),
                },
            ],
        )
        .unwrap();
        let files = RunFiles::load(&[dir.path().to_path_buf(), other]);
        assert!(files.resources.is_empty());
        assert_eq!(files.notes.len(), 1);
        assert!(files.notes[0].starts_with("No resource charts: "));
        let kinds: Vec<&str> = files.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["a", "b"]);
        assert_eq!(RunFiles::load(&[]), RunFiles::default());
    }
}

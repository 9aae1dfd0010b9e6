//! What the manifest says should have happened: the files, when each became
//! visible, how many rows were generated and how many a correct pipeline must
//! store; and how late the generator was against its own schedule.

use std::collections::HashMap;
use std::path::Path;

use generator::manifest::ManifestEntry;
use generator::GeneratorSummary;

use crate::error::ReportError;
use crate::stats::median_gap;
use crate::summary::{round3, GeneratorLateness};

/// Lateness above this share of the interval makes the report warn: the
/// generator offered less load than configured, so latency is understated.
/// The same 10 % threshold the generator uses to count a file as late.
pub const LATENESS_WARN_FRACTION: f64 = 0.10;

/// The manifest, reduced to what the report needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestFacts {
    /// Distinct file names, in manifest order: the `ANY($1)` of every query.
    pub files: Vec<String>,
    /// What the keys of each file's own rows begin with, parallel to
    /// `files`: the manifest's `key_prefix`, else the file name without its
    /// extension and a `-` (what sluice's runs write: file `RUN-000001.csv`,
    /// keys `RUN-000001-00001`…). Ties rows to files in a table with no
    /// `source_file` column.
    pub key_prefixes: Vec<String>,
    /// When each file became visible (Unix µs, this host's clock). If a name
    /// appears twice, the first entry wins: that is when its rows could first
    /// be read.
    pub created_at_us: HashMap<String, i64>,
    /// Expected rows per file name.
    pub expected_per_file: HashMap<String, u64>,
    /// Generated rows (`rows`) per file name: the offered load over time.
    pub generated_per_file: HashMap<String, u64>,
    /// Sum of `rows`.
    pub generated: u64,
    /// Sum of `rows − dup_rows − bad_rows`.
    pub expected: u64,
    /// Sum of `dup_rows`.
    pub dup_rows: u64,
    /// Sum of `bad_rows`.
    pub bad_rows: u64,
    /// Earliest `created_at_us`.
    pub first_created_us: Option<i64>,
    /// Latest `created_at_us`.
    pub last_created_us: Option<i64>,
    /// Per-file lateness (µs, negative = early) where the generator wrote it.
    pub late_us: Vec<i64>,
    /// Interval between scheduled files (µs), the median of the gaps between
    /// consecutive `scheduled_at_us`, where the generator wrote them.
    pub interval_us: Option<i64>,
    /// The rate profile's target (rows/s) per file name, where the generator
    /// wrote one (`target_rows_per_s`): what the load phases are cut from.
    pub target_rows_per_s: HashMap<String, u64>,
    /// Each file's deadline on the schedule (Unix µs), where the generator
    /// wrote one: the files of several sources for one deadline share it, so
    /// it orders files by the profile's clock rather than by rename jitter.
    pub scheduled_at_us: HashMap<String, i64>,
}

impl ManifestFacts {
    /// Sums and indexes the entries.
    pub fn from_entries(entries: &[ManifestEntry]) -> Self {
        let mut facts = ManifestFacts::default();
        let mut scheduled = Vec::new();
        for e in entries {
            facts.generated += e.rows;
            facts.expected += e.expected_rows();
            facts.dup_rows += e.dup_rows;
            facts.bad_rows += e.bad_rows;
            if !facts.created_at_us.contains_key(&e.file) {
                facts.files.push(e.file.clone());
                facts
                    .key_prefixes
                    .push(e.key_prefix.clone().unwrap_or_else(|| {
                        let stem = Path::new(&e.file)
                            .file_stem()
                            .map_or(e.file.as_str(), |s| s.to_str().unwrap_or(&e.file));
                        format!("{stem}-")
                    }));
                facts.created_at_us.insert(e.file.clone(), e.created_at_us);
                if let Some(target) = e.target_rows_per_s {
                    facts.target_rows_per_s.insert(e.file.clone(), target);
                }
                if let Some(at) = e.scheduled_at_us {
                    facts.scheduled_at_us.insert(e.file.clone(), at);
                }
            }
            *facts.expected_per_file.entry(e.file.clone()).or_default() += e.expected_rows();
            *facts.generated_per_file.entry(e.file.clone()).or_default() += e.rows;
            facts.first_created_us = Some(
                facts
                    .first_created_us
                    .map_or(e.created_at_us, |f| f.min(e.created_at_us)),
            );
            facts.last_created_us = Some(
                facts
                    .last_created_us
                    .map_or(e.created_at_us, |l| l.max(e.created_at_us)),
            );
            if let Some(late) = e.late_us {
                facts.late_us.push(late);
            }
            if let Some(at) = e.scheduled_at_us {
                scheduled.push(at);
            }
        }
        facts.interval_us = median_gap(&scheduled);
        facts
    }
}

/// Reads the manifest with the generator's reader (it ignores unknown keys,
/// tolerates a BOM and CRLF) and reduces it.
pub fn load(path: &Path) -> Result<ManifestFacts, ReportError> {
    if !path.exists() {
        return Err(ReportError::ManifestNotFound {
            path: path.to_path_buf(),
        });
    }
    let entries = generator::read_manifest(path).map_err(|e| ReportError::Manifest {
        path: path.to_path_buf(),
        error: Box::new(e),
    })?;
    if entries.is_empty() {
        return Err(ReportError::EmptyManifest {
            path: path.to_path_buf(),
        });
    }
    Ok(ManifestFacts::from_entries(&entries))
}

/// How late the generator was: from its own summary (`sluice run`) when it
/// has the figures, otherwise from the manifest's `late_us` keys; `None` when
/// neither knows.
///
/// Files the generator renamed after their deadline became visible later
/// than the schedule said; their latency is measured from the actual
/// rename, so the pipeline looks as fast as ever while the offered load was
/// lower than configured. Above 10 % of the interval this is worth a warning.
pub fn generator_lateness(
    run_generator: Option<&GeneratorSummary>,
    facts: &ManifestFacts,
) -> Option<GeneratorLateness> {
    let interval_from_run = run_generator.map(|g| g.interval_ms).filter(|&i| i > 0.0);
    let interval_ms = interval_from_run.or(facts.interval_us.map(|us| us as f64 / 1000.0));
    let significant =
        |max_ms: f64| interval_ms.is_some_and(|i| i > 0.0 && max_ms > i * LATENESS_WARN_FRACTION);
    if let Some(g) = run_generator {
        return Some(GeneratorLateness {
            late_files: g.late_files,
            max_lateness_ms: round3(g.max_lateness_ms),
            mean_lateness_ms: round3(g.mean_lateness_ms),
            interval_ms,
            significant: significant(g.max_lateness_ms),
            source: "run".to_string(),
        });
    }
    if facts.late_us.is_empty() {
        return None;
    }
    let late_ms: Vec<f64> = facts
        .late_us
        .iter()
        .map(|&us| us.max(0) as f64 / 1000.0)
        .collect();
    let max_ms = late_ms.iter().copied().fold(0.0, f64::max);
    let mean_ms = late_ms.iter().sum::<f64>() / late_ms.len() as f64;
    let threshold_ms = interval_ms.map_or(0.0, |i| i * LATENESS_WARN_FRACTION);
    Some(GeneratorLateness {
        late_files: late_ms.iter().filter(|&&l| l > threshold_ms).count() as u64,
        max_lateness_ms: round3(max_ms),
        mean_lateness_ms: round3(mean_ms),
        interval_ms,
        significant: significant(max_ms),
        source: "manifest".to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(seq: u64, rows: u64, dup: u64, bad: u64) -> ManifestEntry {
        ManifestEntry {
            seq,
            file: format!("events-{seq:06}.csv"),
            rows,
            created_at_us: 1_000_000 * seq as i64,
            dup_rows: dup,
            bad_rows: bad,
            ..ManifestEntry::default()
        }
    }

    #[test]
    fn sums_and_expected_rows() {
        let facts = ManifestFacts::from_entries(&[
            entry(1, 100, 0, 0),
            entry(2, 50, 5, 2),
            entry(3, 10, 0, 10),
        ]);
        assert_eq!(facts.generated, 160);
        assert_eq!(facts.expected, 100 + 43);
        assert_eq!(facts.dup_rows, 5);
        assert_eq!(facts.bad_rows, 12);
        assert_eq!(facts.files.len(), 3);
        assert_eq!(facts.first_created_us, Some(1_000_000));
        assert_eq!(facts.last_created_us, Some(3_000_000));
        assert_eq!(facts.expected_per_file["events-000002.csv"], 43);
        assert_eq!(facts.expected_per_file["events-000003.csv"], 0);
        assert_eq!(facts.generated_per_file["events-000002.csv"], 50);
        assert_eq!(facts.interval_us, None);
    }

    #[test]
    fn key_prefixes_from_the_manifest_else_from_the_file_name() {
        let mut named = entry(2, 5, 0, 0);
        named.key_prefix = Some("run-s002-000002-".into());
        let facts = ManifestFacts::from_entries(&[entry(1, 5, 0, 0), named]);
        assert_eq!(
            facts.key_prefixes,
            vec!["events-000001-".to_string(), "run-s002-000002-".to_string()]
        );
    }

    #[test]
    fn repeated_file_name_counts_once_in_the_file_set() {
        let mut again = entry(1, 7, 0, 0);
        again.created_at_us = 9_000_000;
        let facts = ManifestFacts::from_entries(&[entry(1, 3, 0, 0), again]);
        assert_eq!(facts.files, vec!["events-000001.csv".to_string()]);
        assert_eq!(facts.created_at_us["events-000001.csv"], 1_000_000);
        assert!(facts.target_rows_per_s.is_empty() && facts.scheduled_at_us.is_empty());
        assert_eq!(facts.generated, 10);
        assert_eq!(facts.generated_per_file["events-000001.csv"], 10);
    }

    #[test]
    fn target_rate_and_schedule_per_file_first_entry_wins() {
        let mut first = entry(1, 3, 0, 0);
        first.target_rows_per_s = Some(5000);
        first.scheduled_at_us = Some(900_000);
        let mut again = entry(1, 7, 0, 0);
        again.target_rows_per_s = Some(100);
        again.scheduled_at_us = Some(8_900_000);
        let facts = ManifestFacts::from_entries(&[first, again, entry(2, 1, 0, 0)]);
        assert_eq!(
            facts.target_rows_per_s,
            HashMap::from([("events-000001.csv".to_string(), 5000)])
        );
        assert_eq!(
            facts.scheduled_at_us,
            HashMap::from([("events-000001.csv".to_string(), 900_000)])
        );
    }

    #[test]
    fn lateness_from_run_summary_wins() {
        let facts = ManifestFacts::default();
        let g = GeneratorSummary {
            interval_ms: 100.0,
            late_files: 3,
            max_lateness_ms: 25.0,
            mean_lateness_ms: 4.5,
            ..GeneratorSummary::default()
        };
        let l = generator_lateness(Some(&g), &facts).unwrap();
        assert_eq!(l.source, "run");
        assert_eq!(l.late_files, 3);
        assert!(l.significant);
        let g = GeneratorSummary {
            interval_ms: 1000.0,
            max_lateness_ms: 25.0,
            ..GeneratorSummary::default()
        };
        assert!(!generator_lateness(Some(&g), &facts).unwrap().significant);
        assert_eq!(generator_lateness(None, &facts), None);
    }

    #[test]
    fn lateness_from_manifest() {
        let entries: Vec<ManifestEntry> = (1..=5)
            .map(|i| {
                let mut e = entry(i, 10, 0, 0);
                e.scheduled_at_us = Some(i as i64 * 200_000);
                e.late_us = Some(if i == 3 { 50_000 } else { 1_000 });
                e
            })
            .collect();
        let facts = ManifestFacts::from_entries(&entries);
        assert_eq!(facts.interval_us, Some(200_000));
        let l = generator_lateness(None, &facts).unwrap();
        assert_eq!(l.source, "manifest");
        assert_eq!(l.interval_ms, Some(200.0));
        assert_eq!(l.max_lateness_ms, 50.0);
        assert_eq!(l.mean_lateness_ms, 10.8);
        assert_eq!(l.late_files, 1);
        assert!(l.significant);
    }

    #[test]
    fn missing_manifest_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.jsonl");
        let err = load(&path).unwrap_err();
        assert!(matches!(err, ReportError::ManifestNotFound { .. }));
        assert!(err.to_string().contains("nope.jsonl"));
    }

    #[test]
    fn empty_manifest_is_an_error_and_a_real_one_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.jsonl");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            load(&path),
            Err(ReportError::EmptyManifest { .. })
        ));
        std::fs::write(
            &path,
            "{\"seq\":1,\"file\":\"events-000001.csv\",\"rows\":87,\"created_at_us\":1795000000123456,\"dup_rows\":2,\"bad_rows\":1,\"extra\":true}\n",
        )
        .unwrap();
        let facts = load(&path).unwrap();
        assert_eq!((facts.generated, facts.expected), (87, 84));
    }
}

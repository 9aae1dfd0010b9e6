//! From what the manifest says and what the database holds to the
//! [`Summary`]: pure, so the whole chain of figures is tested without a
//! database.

use std::collections::{HashMap, HashSet};

use crate::analyse::series::{drift, ChartInput, CHECKPOINT_BAND};
use crate::analyse::stages::{
    slowest_batches, stage_breakdown, trigger_adherence, SLOWEST_BATCHES,
};
use crate::analyse::{activity, findings, phases, targets};
use crate::collect::clock::{estimate_offset, local_clock, remote_clock};
use crate::collect::gather::{Attribution, CommitTimeSource, Gathered, LISTED_FILES};
use crate::collect::manifest::{generator_lateness, ManifestFacts};
use crate::collect::run_files::RunFiles;
use crate::request::{ReportRequest, RunContext};
use crate::stats::{
    batch_summary, distribution, missing_rows, success_rate_pct, throughput_rows_per_s,
    worker_figures, BatchRecord, Latencies,
};
use crate::summary::{
    round3, ClockSummary, FileCounts, Interruption, LatencySummary, RowCounts, RunSummary, Setting,
    Span, Summary, SUMMARY_VERSION,
};

/// Builds the summary. `generated_at` is the report's timestamp (RFC 3339).
pub fn build_summary(
    request: &ReportRequest,
    facts: &ManifestFacts,
    gathered: &Gathered,
    generated_at: String,
) -> Summary {
    let mut notes = Vec::new();

    let (clock, offset_us) = clock_correction(request, gathered, &mut notes);

    let latencies = Latencies::from_groups(&gathered.groups, &facts.created_at_us, offset_us);
    let latency_ms = latencies.summary();
    let phase_split = phases::split(facts, &gathered.groups, offset_us);
    notes.extend(phase_split.note);

    let rows = row_counts(facts, gathered);
    let database_activity = request
        .run
        .as_ref()
        .and_then(|r| r.activity.as_ref())
        .map(|record| activity::measure(record, rows.found));
    let files = file_counts(facts, gathered, &latencies.found_per_file);

    let batches = clock_corrected(&gathered.batches, offset_us);

    let span = Span {
        first_file_created_us: facts.first_created_us,
        last_file_created_us: facts.last_created_us,
        first_commit_us: latencies.first_commit_us,
        last_commit_us: latencies.last_commit_us,
        run_s: seconds_between(facts.first_created_us, latencies.last_commit_us),
        committed_span_s: seconds_between(latencies.first_commit_us, latencies.last_commit_us),
    };

    source_notes(request, facts, gathered, &latency_ms, &mut notes);

    let run = request.run.as_ref().map(run_summary);

    let configured_trigger = request.run.as_ref().and_then(|r| r.trigger.as_ref());
    if let Some(db) = &gathered.database {
        notes.extend(db.notes.iter().map(|n| format!("Database: {n}")));
    }

    let mut summary = Summary {
        summary_version: SUMMARY_VERSION,
        generated_at,
        scenario: request.run.as_ref().map(|r| r.scenario.clone()),
        run_id: request.run.as_ref().map(|r| r.run_id.clone()),
        manifest: request.manifest_path.display().to_string(),
        table: request.table.clone(),
        rejects_table: request.rejects_table.clone(),
        success_rate_pct: success_rate_pct(rows.expected, rows.found),
        rows,
        rejected_by_reason: gathered.rejected_by_reason.clone(),
        files,
        latency_distribution: distribution(&latencies.histogram),
        latency_ms,
        throughput_rows_per_s: throughput_rows_per_s(
            gathered.found,
            facts.first_created_us,
            latencies.last_commit_us,
        ),
        span,
        commit_time_source: gathered.commit_source.as_str().to_string(),
        row_attribution: gathered.attribution.as_str().to_string(),
        batches: batch_summary(&batches),
        clock,
        generator_lateness: generator_lateness(
            request.run.as_ref().and_then(|r| r.generator.as_ref()),
            facts,
        ),
        run,
        optimized_build: request.optimized_build,
        notes,
        charts: Vec::new(),
        stages: stage_breakdown(
            &gathered.file_stages,
            &facts.created_at_us,
            offset_us,
            &batches,
        ),
        slowest_batches: slowest_batches(&batches, SLOWEST_BATCHES),
        workers: worker_figures(&batches),
        trigger_adherence: trigger_adherence(&batches, configured_trigger),
        database: gathered.database.clone(),
        targets: Vec::new(),
        passed: true,
        findings: Vec::new(),
        database_activity,
        interruptions: Vec::new(),
        resource_samples: 0,
        drift: Default::default(),
        phases: phase_split.phases,
    };
    if let Some(t) = &request.targets {
        summary.targets = targets::evaluate(t, &summary);
        summary.passed = targets::passed(&summary.targets);
    }
    summary.findings = findings::analyse(&summary);
    summary
}

/// The batch records with their commit instants on the local clock: batch
/// processing time is committed_at (server clock) − started_at (the
/// pipeline's clock, on this host when the report runs from `sluice run`),
/// so it gets the same correction as the commit times.
fn clock_corrected(batches: &[BatchRecord], offset_us: i64) -> Vec<BatchRecord> {
    batches
        .iter()
        .map(|b| BatchRecord {
            committed_us: b.committed_us.saturating_sub(offset_us),
            ..b.clone()
        })
        .collect()
}

/// The clock summary and the offset (server − local, µs) subtracted from
/// every server-side time: none on one host, the measured one otherwise.
fn clock_correction(
    request: &ReportRequest,
    gathered: &Gathered,
    notes: &mut Vec<String>,
) -> (ClockSummary, i64) {
    if request.database_is_local {
        (local_clock(), 0)
    } else {
        let estimate = gathered.clock_samples.as_deref().and_then(estimate_offset);
        if estimate.is_none() {
            notes.push(
                "The clock offset to the database server could not be measured (the local clock \
                 went backwards during every sample); commit times are not corrected."
                    .to_string(),
            );
        }
        (remote_clock(estimate), estimate.map_or(0, |e| e.offset_us))
    }
}

/// The row figures: what the manifest expects against what the table holds.
fn row_counts(facts: &ManifestFacts, gathered: &Gathered) -> RowCounts {
    RowCounts {
        generated: facts.generated,
        expected: facts.expected,
        found: gathered.found,
        missing: missing_rows(facts.expected, gathered.found),
        rejected: gathered.rejected,
        duplicates: gathered.found.saturating_sub(gathered.distinct_keys),
        absorbed_duplicates: facts.dup_rows,
        bad_input: facts.bad_rows,
        extra: gathered.found.saturating_sub(facts.expected),
        unexpected_rejects: gathered.rejected.saturating_sub(facts.bad_rows),
    }
}

/// The file figures: quarantined files, and the files with no row or fewer
/// rows in the table than the manifest expects (the first few listed).
fn file_counts(
    facts: &ManifestFacts,
    gathered: &Gathered,
    found_per_file: &HashMap<String, u64>,
) -> FileCounts {
    let quarantined: HashSet<&str> = gathered
        .quarantined
        .iter()
        .map(|q| q.file.as_str())
        .collect();
    let mut missing_files = Vec::new();
    let mut missing_from_db = 0u64;
    let mut incomplete = 0u64;
    for file in &facts.files {
        if quarantined.contains(file.as_str()) {
            continue;
        }
        let expected = facts.expected_per_file.get(file).copied().unwrap_or(0);
        let found = found_per_file.get(file).copied().unwrap_or(0);
        if expected > 0 && found == 0 {
            missing_from_db += 1;
            if missing_files.len() < LISTED_FILES {
                missing_files.push(file.clone());
            }
        } else if found < expected {
            incomplete += 1;
        }
    }
    FileCounts {
        manifest: facts.files.len() as u64,
        quarantined: quarantined.len() as u64,
        missing_from_db,
        incomplete,
        quarantined_files: gathered
            .quarantined
            .iter()
            .take(LISTED_FILES)
            .cloned()
            .collect(),
        missing_files,
    }
}

/// Notes on where the figures came from and what was missing: the commit
/// time source, rows without a commit time, clock skew, rows beyond the
/// manifest, bookkeeping tables that do not exist.
fn source_notes(
    request: &ReportRequest,
    facts: &ManifestFacts,
    gathered: &Gathered,
    latency_ms: &LatencySummary,
    notes: &mut Vec<String>,
) {
    match gathered.commit_source {
        CommitTimeSource::CommitTimestamp => {}
        CommitTimeSource::BatchCommittedAt => notes.push(
            "track_commit_timestamp is off on the database server, so commit times come from \
             sluice_batches.committed_at (written inside the batch's transaction, just before \
             its commit) rather than from each row's own commit."
                .to_string(),
        ),
        CommitTimeSource::Unavailable => notes.push(
            "track_commit_timestamp is off and the sluice_batches table does not exist: no \
             commit time is known, so no latency was measured."
                .to_string(),
        ),
    }
    if gathered.fallback_rows > 0 {
        notes.push(format!(
            "{} rows have no commit timestamp (their transaction committed before \
             track_commit_timestamp was on, or its entry was truncated); their batch's \
             committed_at was used instead.",
            gathered.fallback_rows
        ));
    }
    if latency_ms.unmeasured > 0 {
        notes.push(format!(
            "{} found rows have no commit time at all (no commit timestamp and no matching \
             sluice_batches row) and are not in the latency figures.",
            latency_ms.unmeasured
        ));
    }
    if latency_ms.negative_latencies > 0 {
        notes.push(format!(
            "{} rows were committed before their file was created according to the clocks \
             (clock skew); they are counted as 1 µs.",
            latency_ms.negative_latencies
        ));
    }
    if gathered.found > facts.expected {
        notes.push(format!(
            "The table holds {} more rows for these file names than the manifest expects: \
             rows from an earlier run with the same file names, or a manifest that lost lines.",
            gathered.found - facts.expected
        ));
    }
    if !gathered.tables.rejects {
        notes.push(format!(
            "The rejects table \"{}\" does not exist; rejected rows are counted as 0.",
            request.rejects_table
        ));
    }
    if gathered.attribution == Attribution::KeyPrefix {
        notes.push(format!(
            "The table has no source_file column: each row was tied to its file by its key \
             (\"{}\"), whose prefix the generator gives every row of a file. Batches, stages \
             and trigger adherence come from sluice's own bookkeeping and do not apply to \
             this pipeline.",
            request.key_column
        ));
    } else if !gathered.tables.batches {
        notes.push(
            "The sluice_batches table does not exist; there are no batch figures.".to_string(),
        );
    }
    if !gathered.tables.quarantine {
        notes.push(
            "The sluice_quarantine table does not exist; quarantined files are counted as 0."
                .to_string(),
        );
    }
}

/// The run's context as the summary records it.
fn run_summary(r: &RunContext) -> RunSummary {
    RunSummary {
        scenario: r.scenario.clone(),
        run_id: r.run_id.clone(),
        settings: r
            .settings
            .iter()
            .map(|(name, value)| Setting {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        generator: r.generator.clone(),
        pipeline: r.pipeline.clone(),
        resources: r.resources,
        external_command: r.external_command.clone(),
    }
}

/// Adds what the run's side files and the charts' data say to the summary
/// and the chart input: the trigger interval, logical CPUs and load phases
/// (from the summary) and the samples and interruptions (from `files`, placed on the
/// time axis that starts at `origin_us`, the first file's creation) go to
/// the charts; the interruptions, sample count, drift figures and any
/// unreadable-file note go to the summary, whose findings are then derived
/// again.
pub fn add_run_timeline(
    summary: &mut Summary,
    input: &mut ChartInput,
    files: RunFiles,
    origin_us: Option<i64>,
) {
    input.trigger_interval_s = summary
        .trigger_adherence
        .as_ref()
        .and_then(|t| t.interval_ms)
        .map(|ms| ms / 1000.0);
    input.logical_cpus = summary
        .run
        .as_ref()
        .and_then(|r| r.resources.as_ref())
        .map(|r| r.logical_cpus as u64)
        .filter(|&n| n > 0);
    input.phases = summary
        .phases
        .iter()
        .map(|p| (p.start_s, p.start_s + p.duration_s))
        .collect();
    input.resources = files.resources;
    input.interruptions = match origin_us {
        Some(origin) => files
            .events
            .iter()
            .map(|e| e.to_interruption(origin))
            .collect(),
        None => Vec::new(),
    };
    summary.interruptions = input.interruptions.clone();
    // Checkpoints share the charts' bands (not the summary's list of
    // deliberate interruptions): a latency spike lines up with its cause.
    if let (Some(origin), Some(checkpoints)) = (
        origin_us,
        summary
            .database_activity
            .as_ref()
            .and_then(|a| a.checkpoints.as_ref()),
    ) {
        input
            .interruptions
            .extend(checkpoints.events.iter().map(|c| Interruption {
                kind: CHECKPOINT_BAND.to_string(),
                start_offset_s: (c.started_after_us - origin) as f64 / 1e6,
                duration_s: Some((c.ended_by_us - c.started_after_us) as f64 / 1e6),
                note: format!(
                    "write {:.1} s, sync {:.1} s",
                    c.write_ms / 1000.0,
                    c.sync_ms / 1000.0
                ),
            }));
    }
    summary.resource_samples = input.resources.len() as u64;
    summary.drift = drift(input);
    summary.notes.extend(files.notes);
    summary.findings = findings::analyse(summary);
}

/// Server clock − local clock in µs, as [`build_summary`] subtracts it from
/// commit times: 0 for a local database or when the offset could not be
/// measured.
pub fn clock_offset_us(request: &ReportRequest, gathered: &Gathered) -> i64 {
    if request.database_is_local {
        return 0;
    }
    gathered
        .clock_samples
        .as_deref()
        .and_then(estimate_offset)
        .map_or(0, |e| e.offset_us)
}

fn seconds_between(from_us: Option<i64>, to_us: Option<i64>) -> f64 {
    match (from_us, to_us) {
        (Some(a), Some(b)) if b > a => round3((b - a) as f64 / 1_000_000.0),
        _ => 0.0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::collect::clock::ClockSample;
    use crate::collect::gather::FileStageRecord;
    use crate::collect::gather::TablesPresent;
    use crate::collect::manifest::tests::entry;
    use crate::collect::run_files::{ResourceSample, RunEvent};
    use crate::request::{ConfiguredTrigger, RunContext};
    use crate::stats::CommitGroup;
    use crate::summary::{
        Interruption, Phase, PhaseLatency, QuarantinedFile, Quarters, ReasonCount,
    };
    use std::path::PathBuf;
    use std::time::Duration;

    fn trigger(label: &str, interval_ms: u64) -> ConfiguredTrigger {
        ConfiguredTrigger {
            label: label.to_string(),
            interval: Some(Duration::from_millis(interval_ms)),
        }
    }

    pub(crate) fn request() -> ReportRequest {
        ReportRequest {
            manifest_path: PathBuf::from("runs/r1/manifest.jsonl"),
            out_dir: PathBuf::from("runs/r1"),
            table: "events".into(),
            rejects_table: "events_rejects".into(),
            key_column: "event_id".into(),
            run: None,
            optimized_build: true,
            database_is_local: true,
            latency_target_ms: None,
            targets: None,
        }
    }

    /// Three files of 100 rows created at 1 s, 2 s, 3 s; file 2 has 10
    /// repeated keys and 5 malformed rows; file 3 is quarantined.
    pub(crate) fn scenario() -> (ManifestFacts, Gathered) {
        let facts = ManifestFacts::from_entries(&[
            entry(1, 100, 0, 0),
            entry(2, 100, 10, 5),
            entry(3, 100, 0, 0),
        ]);
        let gathered = Gathered {
            found: 185,
            distinct_keys: 185,
            attribution: Attribution::SourceFileColumn,
            groups: vec![
                CommitGroup {
                    source_file: "events-000001.csv".into(),
                    commit_us: Some(1_250_000),
                    rows: 100,
                },
                CommitGroup {
                    source_file: "events-000002.csv".into(),
                    commit_us: Some(2_500_000),
                    rows: 85,
                },
            ],
            fallback_rows: 0,
            commit_source: CommitTimeSource::CommitTimestamp,
            rejected: 5,
            rejected_by_reason: vec![ReasonCount {
                reason: "bad price".into(),
                count: 5,
            }],
            quarantined: vec![QuarantinedFile {
                file: "events-000003.csv".into(),
                reason: "wrong header".into(),
            }],
            batches: vec![BatchRecord {
                batch_id: 1,
                file_count: 3,
                rows_read: 200,
                started_us: 2_400_000,
                committed_us: 2_500_000,
                ..BatchRecord::default()
            }],
            file_stages: vec![
                FileStageRecord {
                    file: "events-000001.csv".into(),
                    batch_id: 1,
                    rows: 100,
                    rejected: 0,
                    discovered_us: Some(1_050_000),
                    started_us: 2_400_000,
                    committed_us: 2_500_000,
                    quarantined: false,
                },
                FileStageRecord {
                    file: "events-000002.csv".into(),
                    batch_id: 1,
                    rows: 95,
                    rejected: 5,
                    discovered_us: Some(2_010_000),
                    started_us: 2_400_000,
                    committed_us: 2_500_000,
                    quarantined: false,
                },
                FileStageRecord {
                    file: "events-000003.csv".into(),
                    batch_id: 1,
                    quarantined: true,
                    discovered_us: Some(3_000_000),
                    started_us: 2_400_000,
                    committed_us: 2_500_000,
                    ..FileStageRecord::default()
                },
            ],
            database: None,
            clock_samples: None,
            tables: TablesPresent {
                rejects: true,
                batches: true,
                quarantine: true,
            },
        };
        (facts, gathered)
    }

    #[test]
    fn figures_from_a_known_run() {
        let (facts, gathered) = scenario();
        let s = build_summary(&request(), &facts, &gathered, "t".into());
        assert_eq!(s.rows.generated, 300);
        assert_eq!(s.rows.expected, 285);
        assert_eq!(s.rows.found, 185);
        assert_eq!(s.rows.missing, 100);
        assert_eq!(s.rows.rejected, 5);
        assert_eq!(s.rows.duplicates, 0);
        assert_eq!(s.rows.absorbed_duplicates, 10);
        assert_eq!(s.files.manifest, 3);
        assert_eq!(s.files.quarantined, 1);
        assert_eq!(s.files.missing_from_db, 0);
        assert_eq!(s.latency_ms.count, 185);
        assert!((s.latency_ms.p50 - 250.0).abs() < 0.5);
        assert!((s.latency_ms.max - 500.0).abs() < 0.5);
        // 185 rows over 1 s (first file) → 2.5 s (last commit).
        assert_eq!(s.throughput_rows_per_s, 123.333);
        assert_eq!(s.span.run_s, 1.5);
        assert_eq!(s.span.committed_span_s, 1.25);
        assert_eq!(s.batches.count, 1);
        assert_eq!(s.batches.time_ms_p50, 100.0);
        assert_eq!(s.commit_time_source, "pg_xact_commit_timestamp");
        assert!(s.clock.local && !s.clock.applied);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        assert_eq!(s.success_rate_pct, 64.912);
    }

    #[test]
    fn stages_findings_and_targets_from_a_known_run() {
        let (facts, gathered) = scenario();
        let s = build_summary(&request(), &facts, &gathered, "t".into());
        let st = s.stages.as_ref().unwrap();
        // File 1 (100 rows): visible 1.0 s, discovered 1.05 s; file 2 (90
        // valid rows): visible 2.0 s, discovered 2.01 s; both in the batch
        // started 2.4 s, committed 2.5 s. File 3 is quarantined.
        assert_eq!((st.files, st.rows, st.files_unmeasured), (2, 190, 1));
        let means: Vec<(&str, f64, Option<f64>)> = st
            .latency
            .iter()
            .map(|f| (f.stage.as_str(), f.mean_ms, f.share_pct))
            .collect();
        assert_eq!(
            means,
            vec![
                ("visible_to_discovered", 31.053, Some(3.026)),
                ("discovered_to_batch_start", 895.263, Some(87.231)),
                ("batch_start_to_committed", 100.0, Some(9.744)),
                ("visible_to_committed", 1026.316, Some(100.0)),
            ]
        );
        assert_eq!(st.latency[3].p50_ms, 1500.0);
        assert_eq!(st.latency[3].max_ms, 1500.0);
        assert_eq!(s.slowest_batches.len(), 1);
        assert_eq!(s.slowest_batches[0].time_ms, 100.0);
        // No run context: the trigger is unknown.
        let t = s.trigger_adherence.as_ref().unwrap();
        assert_eq!((t.configured.as_deref(), t.overran), (None, None));
        let rules: Vec<&str> = s.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            rules,
            vec!["rows_missing", "trigger_wait_dominates", "rows_rejected"]
        );
        assert!(s.targets.is_empty() && s.passed);

        let mut req = request();
        req.targets = Some(crate::request::Targets {
            p99_ms: Some(600.0),
            error_rate_pct: Some(1.0),
            ..crate::request::Targets::default()
        });
        req.run = Some(RunContext {
            trigger: Some(trigger("50ms", 50)),
            ..RunContext::default()
        });
        let s = build_summary(&req, &facts, &gathered, "t".into());
        let got: Vec<(&str, crate::summary::TargetStatus)> = s
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.status))
            .collect();
        use crate::summary::TargetStatus::{Fail, Pass};
        assert_eq!(got, vec![("p99_ms", Pass), ("error_rate_pct", Fail)]);
        // 100 missing of 285 expected.
        assert_eq!(s.targets[1].measured, Some(35.088));
        assert!(!s.passed);
        let t = s.trigger_adherence.as_ref().unwrap();
        assert_eq!((t.interval_ms, t.overran), (Some(50.0), Some(1)));
        assert!(s.findings.iter().any(|f| f.rule == "falling_behind"));
    }

    #[test]
    fn load_phases_from_the_manifest_rates() {
        let (_, gathered) = scenario();
        // Files 1 and 2 at 5,000 rows/s, the quarantined file 3 at 100.
        let rated = |seq: u64, rows: u64, dup: u64, bad: u64, rate: u64| {
            let mut e = entry(seq, rows, dup, bad);
            e.target_rows_per_s = Some(rate);
            e
        };
        let facts = ManifestFacts::from_entries(&[
            rated(1, 100, 0, 0, 5000),
            rated(2, 100, 10, 5, 5000),
            rated(3, 100, 0, 0, 100),
        ]);
        let s = build_summary(&request(), &facts, &gathered, "t".into());
        // Phase 1: 185 rows committed at 1.25 s and 2.5 s, within [1 s, 3 s),
        // 100 of them after 250 ms and 85 after 500 ms; caught up before
        // file 3 (3 s). Phase 2: file 3, quarantined, until 4 s.
        assert_eq!(
            s.phases,
            vec![
                Phase {
                    index: 1,
                    target_rows_per_s: 5000,
                    target_max_rows_per_s: None,
                    start_s: 0.0,
                    duration_s: 2.0,
                    files: 2,
                    rows: 200,
                    rows_per_s: 92.5,
                    latency_ms: PhaseLatency {
                        p50: 250.0,
                        p95: 500.0,
                        p99: 500.0,
                        max: 500.0,
                        count: 185,
                    },
                    recovery_s: Some(0.0),
                },
                Phase {
                    index: 2,
                    target_rows_per_s: 100,
                    target_max_rows_per_s: None,
                    start_s: 2.0,
                    duration_s: 1.0,
                    files: 1,
                    rows: 100,
                    rows_per_s: 0.0,
                    latency_ms: PhaseLatency::default(),
                    recovery_s: None,
                },
            ]
        );
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        // The charts band them.
        let mut s = s;
        let mut input = ChartInput::default();
        add_run_timeline(&mut s, &mut input, RunFiles::default(), None);
        assert_eq!(input.phases, vec![(0.0, 2.0), (2.0, 3.0)]);

        // A profile that swings too often: no phases, and a note says why.
        let swinging: Vec<_> = (1..=30)
            .map(|seq| {
                rated(
                    seq,
                    1,
                    0,
                    0,
                    if seq % 2 == 0 { 100 + seq } else { 5000 + seq },
                )
            })
            .collect();
        let facts = ManifestFacts::from_entries(&swinging);
        let s = build_summary(&request(), &facts, &gathered, "t".into());
        assert!(s.phases.is_empty());
        assert!(s.notes.iter().any(|n| n.starts_with("No load phases:")));
    }

    #[test]
    fn missing_files_and_duplicates() {
        let (facts, mut gathered) = scenario();
        gathered.groups.remove(1);
        gathered.found = 110;
        gathered.distinct_keys = 100;
        let s = build_summary(&request(), &facts, &gathered, "t".into());
        assert_eq!(s.rows.duplicates, 10);
        assert_eq!(s.files.missing_from_db, 1);
        assert_eq!(s.files.missing_files, vec!["events-000002.csv".to_string()]);
    }

    #[test]
    fn remote_clock_is_corrected() {
        let (facts, mut gathered) = scenario();
        // Server 1 s ahead of this host, 2 ms round trip.
        gathered.clock_samples = Some(vec![ClockSample {
            local_before_us: 10_000_000,
            server_us: 11_001_000,
            local_after_us: 10_002_000,
        }]);
        for g in &mut gathered.groups {
            g.commit_us = g.commit_us.map(|c| c + 1_000_000);
        }
        let mut req = request();
        req.database_is_local = false;
        let s = build_summary(&req, &facts, &gathered, "t".into());
        assert!(s.clock.applied && !s.clock.local);
        assert_eq!(s.clock.offset_ms, 1000.0);
        assert_eq!(clock_offset_us(&req, &gathered), 1_000_000);
        assert_eq!(clock_offset_us(&request(), &gathered), 0);
        assert_eq!(s.clock.uncertainty_ms, 1.0);
        assert!((s.latency_ms.p50 - 250.0).abs() < 0.5);
        assert_eq!(s.span.last_commit_us, Some(2_500_000));
    }

    #[test]
    fn run_timeline_reaches_the_charts_and_the_summary() {
        let (facts, gathered) = scenario();
        let mut req = request();
        req.run = Some(RunContext {
            trigger: Some(trigger("500ms", 500)),
            resources: Some(crate::summary::ResourceProfile {
                samples: 1,
                logical_cpus: 4,
                ..crate::summary::ResourceProfile::default()
            }),
            ..RunContext::default()
        });
        let mut s = build_summary(&req, &facts, &gathered, "t".into());
        let mut input = ChartInput::from_run(&facts, &gathered.groups, &gathered.file_stages, 0);
        let rss = |t_s: f64, mib: u64| ResourceSample {
            t_s,
            pipeline_rss_bytes: mib << 20,
            ..ResourceSample::default()
        };
        let files = RunFiles {
            resources: vec![rss(0.5, 10), rss(2.5, 30)],
            // 0.5 s after the first file (created at 1 s), for 0.5 s.
            events: vec![RunEvent {
                kind: "database_stopped".into(),
                start_unix_us: 1_500_000,
                end_unix_us: Some(2_000_000),
                note: String::new(),
            }],
            notes: vec!["No interruptions shown: x.".into()],
        };
        add_run_timeline(&mut s, &mut input, files, facts.first_created_us);
        assert_eq!(input.trigger_interval_s, Some(0.5));
        assert_eq!(input.logical_cpus, Some(4));
        assert_eq!((input.resources.len(), s.resource_samples), (2, 2));
        let outage = Interruption {
            kind: "database_stopped".into(),
            start_offset_s: 0.5,
            duration_s: Some(0.5),
            note: String::new(),
        };
        assert_eq!(s.interruptions, vec![outage.clone()]);
        assert_eq!(input.interruptions, vec![outage]);
        assert_eq!(
            s.drift.pipeline_rss_mb,
            Some(Quarters {
                first: 10.0,
                last: 30.0,
                span_s: 2.0
            })
        );
        // Files 1 (250 ms) and 2 (500 ms), created 1 s apart.
        assert_eq!(
            s.drift.latency_p95_ms,
            Some(Quarters {
                first: 250.0,
                last: 500.0,
                span_s: 1.0
            })
        );
        assert!(s.notes.contains(&"No interruptions shown: x.".to_string()));
        // The findings are derived again, the earlier ones kept.
        assert_eq!(s.findings[0].rule, "rows_missing");

        // No manifest time: nothing to place the events on.
        let mut input = ChartInput::default();
        let files = RunFiles {
            events: vec![RunEvent {
                kind: "pipeline_killed".into(),
                start_unix_us: 1,
                end_unix_us: None,
                note: String::new(),
            }],
            ..RunFiles::default()
        };
        add_run_timeline(&mut s, &mut input, files, None);
        assert!(input.interruptions.is_empty() && s.interruptions.is_empty());
        assert_eq!(s.resource_samples, 0);
    }

    #[test]
    fn fallback_source_and_run_context() {
        let (facts, mut gathered) = scenario();
        gathered.commit_source = CommitTimeSource::BatchCommittedAt;
        gathered.tables.rejects = false;
        let mut req = request();
        req.run = Some(RunContext {
            scenario: "baseline".into(),
            run_id: "20261122-1000".into(),
            settings: vec![("trigger".into(), "1s".into())],
            trigger: Some(trigger("1s", 1000)),
            generator: Some(generator::GeneratorSummary {
                interval_ms: 100.0,
                max_lateness_ms: 50.0,
                ..generator::GeneratorSummary::default()
            }),
            pipeline: None,
            resources: None,
            activity: None,
            external_command: None,
        });
        let s = build_summary(&req, &facts, &gathered, "t".into());
        assert_eq!(s.commit_time_source, "sluice_batches.committed_at");
        assert!(s
            .notes
            .iter()
            .any(|n| n.contains("track_commit_timestamp is off")));
        assert!(s.notes.iter().any(|n| n.contains("events_rejects")));
        assert_eq!(s.scenario.as_deref(), Some("baseline"));
        assert_eq!(s.run.as_ref().unwrap().settings[0].name, "trigger");
        assert!(s.generator_lateness.unwrap().significant);
    }
}

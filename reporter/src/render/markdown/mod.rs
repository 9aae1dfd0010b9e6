//! `report.md`: the summary, for a person.
//!
//! Rendered from the [`Summary`] alone, so the report never states a figure
//! that `summary.json` lacks. Markdown tables throughout; counts with
//! thousands separators, milliseconds with three decimals, percentages with
//! two.

mod database;
mod internals;
mod latency;
mod load;
mod outcome;
mod setup;

use std::fmt::Write as _;

use crate::render::table::Table;

use crate::render::charts::ChartInfo;
use crate::summary::Summary;
use database::{bottlenecks, clock, database, notes};
use internals::internals;
use latency::{batches, latency, where_the_time_goes};
use load::{load_phases, stability, throughput};
use outcome::{headline, integrity, interruptions, targets, title, warnings};
use setup::{charts, configuration};

/// Commit-time source names as they appear in `summary.json`.
const SOURCE_COMMIT_TS: &str = "pg_xact_commit_timestamp";
const SOURCE_BATCHES: &str = "sluice_batches.committed_at";

/// The warning line put at the top of a report from a debug build.
pub const UNOPTIMISED_WARNING: &str =
    "> ⚠️ **Unoptimised (debug) build.** These figures come from \
     an unoptimised build of sluice and are not representative of its performance: build with \
     `cargo build --release` (or run with `cargo run --release`) before measuring.";

/// How to turn on exact commit times; shown wherever the fallback is used.
pub const TRACK_COMMIT_TIMESTAMP_FIX: &str =
    "`ALTER SYSTEM SET track_commit_timestamp = on;` then restart PostgreSQL";

fn check(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

/// Renders the report.
pub fn render(s: &Summary) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail; the results are ignored below.
    title(&mut md, s);
    warnings(&mut md, s);
    headline(&mut md, s);
    targets(&mut md, s);
    configuration(&mut md, s);
    integrity(&mut md, s);
    interruptions(&mut md, s);
    latency(&mut md, s);
    where_the_time_goes(&mut md, s);
    throughput(&mut md, s);
    load_phases(&mut md, s);
    stability(&mut md, s);
    charts(&mut md, s);
    batches(&mut md, s);
    database(&mut md, s);
    internals(&mut md, s);
    bottlenecks(&mut md, s);
    clock(&mut md, s);
    notes(&mut md, s);
    let _ = writeln!(
        md,
        "\n---\n\nGenerated {} by sluice-reporter. The same figures, for machines: `summary.json`.",
        s.generated_at
    );
    md
}

fn key_value_table(md: &mut String, header: (&str, &str), rows: &[(String, String)]) {
    let mut table = Table::new([header.0, header.1]);
    for (k, v) in rows {
        table.row([k, v]);
    }
    let _ = writeln!(md, "{table}");
}

/// A chart embedded with its caption.
fn embed(md: &mut String, info: &ChartInfo) {
    let _ = writeln!(md, "![{}]({})\n\n*{}*\n", info.alt, info.file, info.caption);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::stages::BATCH_START_TO_COMMITTED;
    use crate::analyse::stages::DISCOVERED_TO_BATCH_START;
    use crate::analyse::stages::VISIBLE_TO_COMMITTED;
    use crate::analyse::stages::VISIBLE_TO_DISCOVERED;
    use crate::render::charts::CHARTS;
    use crate::render::charts::RESOURCE_CHARTS;
    use crate::summary::tests::sample;
    use crate::summary::Quarters;
    use crate::summary::Severity;
    use crate::summary::TargetStatus;
    use crate::summary::{DistributionRow, GeneratorLateness, Interruption, RunSummary, Setting};

    #[test]
    fn unoptimised_warning_iff_debug_build() {
        let mut s = sample();
        s.optimized_build = false;
        let md = render(&s);
        assert!(md.contains(UNOPTIMISED_WARNING));
        // At the very top: right under the title, before any figure.
        let first_lines: Vec<&str> = md.lines().take(3).collect();
        assert!(first_lines
            .iter()
            .any(|l| l.contains("Unoptimised (debug) build")));
        s.optimized_build = true;
        let md = render(&s);
        assert!(!md.contains("Unoptimised (debug) build"));
    }

    #[test]
    fn fallback_commit_time_source_is_explained() {
        let mut s = sample();
        s.commit_time_source = "sluice_batches.committed_at".into();
        let md = render(&s);
        assert!(md.contains("track_commit_timestamp` is off"));
        assert!(md.contains("ALTER SYSTEM SET track_commit_timestamp = on"));
        assert!(md.contains("restart"));
        // Prominent: before the headline table.
        let warn = md.find("Approximate commit times").unwrap();
        assert!(warn < md.find("## Headline").unwrap());

        let s = sample();
        let md = render(&s);
        assert!(!md.contains("ALTER SYSTEM"));
        assert!(md.contains("Commit-time source: `pg_xact_commit_timestamp(xmin)`"));
    }

    #[test]
    fn title_and_sections() {
        let md = render(&sample());
        assert!(md.starts_with("# sluice performance report: baseline (run r1)\n"));
        for section in [
            "## Headline",
            "## Configuration",
            "## Data integrity",
            "## Latency",
            "## Throughput",
            "## Batches",
            "## Clock",
        ] {
            assert!(md.contains(section), "missing {section}");
        }
        assert!(md.contains("Database on this host: commit times and file times share one clock"));
        assert!(md.contains("Generator lateness: not recorded."));
    }

    #[test]
    fn figures_and_tables() {
        let mut s = sample();
        s.rows.generated = 12_000;
        s.rows.expected = 11_000;
        s.rows.found = 10_990;
        s.rows.missing = 10;
        s.latency_ms.count = 10_990;
        s.latency_ms.p50 = 12.5;
        s.latency_ms.p95 = 40.25;
        s.latency_ms.p99 = 1234.567;
        s.latency_distribution = vec![DistributionRow {
            range: "10 ms – 20 ms".into(),
            from_ms: 10.0,
            to_ms: Some(20.0),
            count: 10_990,
            percent: 100.0,
            cumulative_percent: 100.0,
        }];
        s.run = Some(RunSummary {
            scenario: "baseline".into(),
            run_id: "r1".into(),
            settings: vec![Setting {
                name: "batch size".into(),
                value: "1000".into(),
            }],
            generator: Some(generator::GeneratorSummary {
                seed: 42,
                rows_per_s: 512.5,
                ..generator::GeneratorSummary::default()
            }),
            pipeline: Some(serde_json::json!({"batches": 7})),
            resources: Some(crate::summary::ResourceProfile {
                samples: 2,
                pipeline_rss_peak_mb: 31.5,
                ..crate::summary::ResourceProfile::default()
            }),
            external_command: None,
        });
        s.generator_lateness = Some(GeneratorLateness {
            late_files: 4,
            max_lateness_ms: 80.0,
            mean_lateness_ms: 5.0,
            interval_ms: Some(100.0),
            significant: true,
            source: "run".into(),
        });
        let md = render(&s);
        assert!(md.contains("| Rows generated | 12,000 | |"));
        assert!(md.contains("| Rows missing | 10 | ✗ |"));
        assert!(md.contains("| Latency P50 / P95 / P99 | 12.5 / 40.2 / 1,235 ms | |"));
        assert!(md.contains("| 10 ms – 20 ms | 10,990 | 100.00 % | 100.00 % |"));
        assert!(md.contains("| batch size | 1000 |"));
        assert!(md.contains("| Seed | 42 |"));
        assert!(md.contains("| Batches committed | 7 |"));
        assert!(md.contains("10 expected rows are missing"));
        assert!(md.contains("The generator fell behind its schedule"));
        assert!(md.contains("these latencies are understated"));
    }

    #[test]
    fn remote_clock_is_stated() {
        let mut s = sample();
        s.clock.local = false;
        s.clock.applied = true;
        s.clock.offset_ms = -12.5;
        s.clock.uncertainty_ms = 0.25;
        s.clock.samples = 5;
        let md = render(&s);
        assert!(md.contains("12.5 ms behind this host's (± 0.250 ms"));
    }

    #[test]
    fn charts_are_embedded_with_captions() {
        let mut s = sample();
        s.latency_ms.count = 10;
        s.charts = CHARTS.iter().map(|c| c.file.to_string()).collect();
        let md = render(&s);
        let section = md.find("## Charts").unwrap();
        assert!(section > md.find("## Throughput").unwrap());
        assert!(section < md.find("## Batches").unwrap());
        assert!(md.contains("![Latency over time](latency_over_time.svg)\n\n*Latency of each"));
        assert!(md.contains("![Latency histogram](latency_histogram.svg)"));
        assert!(md.contains("![Latency percentiles over time](latency_percentiles_over_time.svg)"));
        assert!(md.contains("![Latency cumulative distribution](latency_cdf.svg)"));
        assert!(md.contains("![Throughput over time](throughput.svg)"));
        assert_eq!(md.matches("](").count(), 5);
    }

    #[test]
    fn no_charts_without_latency() {
        let s = sample();
        let md = render(&s);
        assert!(md.contains("## Charts\n\nNo charts: no latency was measured (0 rows"));
        assert!(!md.contains(".svg"));
        let mut s = sample();
        s.latency_ms.count = 3;
        assert!(render(&s).contains("No charts were written with this report."));
    }

    #[test]
    fn resources_section_links_its_charts_or_says_not_sampled() {
        let md = render(&sample());
        assert!(md.contains(
            "### Resources\n\nResources were not sampled: the run folder has no \
             `resources.jsonl` and the run recorded no resource profile"
        ));
        let mut s = sample();
        s.run = Some(RunSummary {
            resources: Some(crate::summary::ResourceProfile {
                samples: 2,
                pipeline_rss_peak_mb: 31.5,
                ..crate::summary::ResourceProfile::default()
            }),
            ..RunSummary::default()
        });
        let md = render(&s);
        assert!(md.contains("| sluice memory (RSS), mean / peak | 0.0 MiB / 31.5 MiB |"));
        assert!(md.contains("Resources were not sampled over time (no `resources.jsonl`"));
        assert!(!md.contains(".svg"));

        s.resource_samples = 240;
        s.latency_ms.count = 10;
        s.charts = CHARTS
            .iter()
            .chain(&RESOURCE_CHARTS)
            .map(|c| c.file.to_string())
            .collect();
        let md = render(&s);
        let cpu = md
            .find("![CPU over time](resources_cpu.svg)\n\n*CPU of the pipeline")
            .unwrap();
        let memory = md
            .find("![Memory over time](resources_memory.svg)")
            .unwrap();
        let table = md
            .find("| sluice memory (RSS), mean / peak | 0.0 MiB / 31.5 MiB |")
            .unwrap();
        assert!(md.find("### Resources").unwrap() < table && table < cpu && cpu < memory);
        assert!(memory < md.find("## Data integrity").unwrap());
        // Each chart once: the resource charts are not repeated under Charts.
        assert_eq!(md.matches("](").count(), 7);
        assert!(!md.contains("not sampled"));

        s.charts.truncate(5);
        assert!(render(&s)
            .contains("240 samples were read, but no resource chart could be drawn (see Notes)."));
    }

    #[test]
    fn interruptions_are_listed_before_the_latency() {
        let mut s = sample();
        assert!(!render(&s).contains("## Interruptions"));
        s.interruptions = vec![
            Interruption {
                kind: "pipeline_killed".into(),
                start_offset_s: 12.5,
                duration_s: Some(30.25),
                note: "kill -9 | pid 7".into(),
            },
            Interruption {
                kind: "database_stopped".into(),
                start_offset_s: 100.0,
                duration_s: None,
                note: String::new(),
            },
        ];
        let md = render(&s);
        let section = md.find("## Interruptions").unwrap();
        assert!(md.find("## Data integrity").unwrap() < section);
        assert!(section < md.find("## Latency").unwrap());
        assert!(md.contains(
            "| Kind | Start (s after the first file) | Duration (s) | Note |\n\
             | --- | ---: | ---: | --- |\n\
             | pipeline killed | 12.500 | 30.250 | `kill -9 \\| pid 7` |\n\
             | database stopped | 100.000 | to the end of the run | |\n"
        ));
    }

    #[test]
    fn targets_table_after_the_headline() {
        use crate::summary::TargetResult;
        let mut s = sample();
        let md = render(&s);
        assert!(md.contains("## Targets\n\nNo targets were set"));
        assert!(!md.contains("Targets met"));
        s.targets = vec![
            TargetResult {
                name: "p99_ms".into(),
                target: 1500.0,
                measured: Some(1612.5),
                bound: "max".into(),
                status: TargetStatus::Warn,
            },
            TargetResult {
                name: "throughput_rows_per_s".into(),
                target: 300.0,
                measured: Some(120.0),
                bound: "min".into(),
                status: TargetStatus::Fail,
            },
            TargetResult {
                name: "postgres_rss_mb".into(),
                target: 500.0,
                measured: None,
                bound: "max".into(),
                status: TargetStatus::Unmeasured,
            },
        ];
        s.passed = false;
        let md = render(&s);
        let targets = md.find("## Targets").unwrap();
        assert!(md.find("## Headline").unwrap() < targets);
        assert!(targets < md.find("## Configuration").unwrap());
        assert!(md.contains("| Targets met | 1 of 3 | ✗ |"));
        assert!(md.contains("| Latency P99 (`p99_ms`) | ≤ 1,500 ms | 1,612 ms | ⚠ |"));
        assert!(md.contains(
            "| Throughput (`throughput_rows_per_s`) | ≥ 300.0 rows/s | 120.0 rows/s | ✗ |"
        ));
        assert!(md.contains("| not measured | ✗ |"));
        assert!(md.contains(
            "**✗ Failed: 2 target(s) missed or not measured: throughput_rows_per_s, postgres_rss_mb.**"
        ));
    }

    #[test]
    fn where_the_time_goes_and_batches() {
        use crate::summary::{
            BusyFigures, SlowBatch, StageBreakdown, StageFigures, TriggerAdherence,
        };
        let fig = |stage: &str, mean: f64, share: f64| StageFigures {
            stage: stage.into(),
            p50_ms: mean,
            p95_ms: mean * 2.0,
            p99_ms: mean * 3.0,
            max_ms: mean * 4.0,
            mean_ms: mean,
            share_pct: Some(share),
        };
        let mut s = sample();
        let md = render(&s);
        assert!(md.contains("## Where the time goes\n\nNo batch record mentions"));
        s.batches.count = 2;
        s.batches.time_ms_p50 = 300.0;
        s.stages = Some(StageBreakdown {
            files: 4,
            rows: 1000,
            files_unmeasured: 1,
            latency: vec![
                fig(VISIBLE_TO_DISCOVERED, 10.0, 1.0),
                fig(DISCOVERED_TO_BATCH_START, 700.0, 70.0),
                fig(BATCH_START_TO_COMMITTED, 290.0, 29.0),
                fig(VISIBLE_TO_COMMITTED, 1000.0, 100.0),
            ],
            batches: 2,
            busy: vec![BusyFigures {
                stage: "write".into(),
                p50_ms: 200.0,
                p95_ms: 250.0,
                max_ms: 250.0,
                mean_ms: 225.0,
                share_of_wall_pct: Some(75.0),
            }],
        });
        s.trigger_adherence = Some(TriggerAdherence {
            configured: Some("1s".into()),
            interval_ms: Some(1000.0),
            batches: 2,
            start_gap_ms_p50: 1000.0,
            start_gap_ms_max: 1000.0,
            overran: Some(0),
            overran_pct: Some(0.0),
        });
        s.slowest_batches = vec![SlowBatch {
            batch_id: 9,
            time_ms: 350.0,
            files: 3,
            rows: 1234,
            parse_ms: 20.0,
            transform_ms: 30.0,
            write_ms: 300.0,
            started_at_us: 0,
        }];
        let md = render(&s);
        let section = md.find("## Where the time goes").unwrap();
        assert!(md.find("## Latency").unwrap() < section);
        assert!(section < md.find("## Throughput").unwrap());
        assert!(md.contains(
            "| Discovered → batch start (trigger wait) | 700 | 1,400 | 2,100 | 2,800 | 700 | 70.00 % ██████████████ |"
        ));
        assert!(md.contains("| **End to end** (visible → committed) | 1,000 |"));
        assert!(md.contains("| 1,000 | 100.00 % |"));
        assert!(md.contains("1 files of these batches are left out"));
        assert!(md.contains("| write busy | 200 | 250 | 250 | 225 | 75.00 % |"));
        assert!(md.contains("| **Batch wall time** (started → committed) | 300 |"));
        assert!(md.contains("### Trigger adherence"));
        assert!(md.contains("| Configured trigger | 1s (1,000 ms) |"));
        assert!(md.contains(
            "| Batches longer than the interval (overran: falling behind) | 0 of 2 (0.00 %) ✓ |"
        ));
        assert!(md
            .contains("| 9 | 350 | 3 | 1,234 | 20.0 | 30.0 | 300 | 1970-01-01 00:00:00.000 UTC |"));
    }

    #[test]
    fn database_and_bottlenecks() {
        use crate::summary::{DatabaseSummary, Finding, IndexStat, QueryTiming};
        let mut s = sample();
        let md = render(&s);
        assert!(!md.contains("## Database"));
        assert!(md.contains("## Bottlenecks and recommendations\n\nNo bottleneck stands out"));
        s.database = Some(DatabaseSummary {
            table_bytes: 8 * 1024 * 1024,
            indexes_bytes: 4 * 1024 * 1024,
            total_bytes: 12 * 1024 * 1024,
            rows: Some(123_456),
            indexes: vec![IndexStat {
                name: "events_pkey".into(),
                bytes: 2048,
                idx_scan: 5000,
            }],
            queries: vec![QueryTiming {
                name: "count(*)".into(),
                sql: "SELECT count(*) FROM \"events\"".into(),
                runs_ms: vec![3.0, 2.0, 2.5],
                median_ms: 2.5,
                rows: 1,
                plan_node: "Aggregate".into(),
                plan_index: None,
                plan_scan: Some("Index Only Scan using events_pkey".into()),
            }],
            notes: vec![
                "The table has no `user_id` column: the queries on it were skipped.".into(),
            ],
        });
        s.findings = vec![Finding {
            rule: "database_bound".into(),
            severity: Severity::Warning,
            finding: "Writes dominate.".into(),
            recommendation: "Fewer indexes.".into(),
        }];
        let md = render(&s);
        let db = md.find("## Database").unwrap();
        assert!(md.find("## Batches").unwrap() < db);
        assert!(db < md.find("## Bottlenecks and recommendations").unwrap());
        assert!(md.contains(
            "Table `events`: 12.0 MiB in all (table 8.0 MiB, indexes 4.0 MiB), 123,456 rows (all runs)."
        ));
        assert!(md.contains("| `events_pkey` | 2.0 KiB | 5,000 |"));
        assert!(md.contains(
            "| All rows counted (`count(*)`) | 2.5 | 3.0 / 2.0 / 2.5 | 1 | Aggregate ← Index Only Scan using `events_pkey` | `SELECT count(*) FROM \"events\"` |"
        ));
        assert!(md.contains("- The table has no `user_id` column"));
        assert!(md.contains(
            "1. ⚠ Writes dominate. **What to do:** Fewer indexes. *(rule `database_bound`)*"
        ));
    }

    #[test]
    fn stability_compares_the_quarters_of_a_long_run_only() {
        let mut s = sample();
        s.drift.pipeline_rss_mb = Some(Quarters {
            first: 99.132,
            last: 102.082,
            span_s: 3599.8,
        });
        s.drift.latency_p95_ms = Some(Quarters {
            first: 4612.885,
            last: 4609.963,
            span_s: 599.0,
        });
        let md = render(&s);
        let section = md.find("## Stability over the run").unwrap();
        assert!(section < md.find("## Charts").unwrap());
        assert!(md.contains(
            "| Pipeline memory (mean RSS, MiB) | 99.1 | 102.1 | +3.0 % | ×1.2 and +10 MiB |\n"
        ));
        assert!(
            !md.contains("| Latency P95 (ms) |"),
            "a span under ten minutes is not judged"
        );
        s.drift = Default::default();
        assert!(!render(&s).contains("## Stability"));
    }

    #[test]
    fn load_phases_after_the_throughput() {
        use crate::analyse::phases::tests::phase;
        let mut s = sample();
        assert!(!render(&s).contains("Load phases") && !render(&s).contains("Load profile"));
        s.phases = vec![phase(1, 2000, 300.0, 400.0, None)];
        let md = render(&s);
        assert!(!md.contains("## Load phases"));
        assert!(md.contains(
            "Load profile: one target rate throughout (2,000 rows/s), so there are no load \
             phases to compare.\n"
        ));
        let mut quiet = phase(2, 100, 120.0, 150.0, None);
        quiet.latency_ms.count = 0;
        s.phases = vec![
            phase(1, 5000, 1800.0, 2500.0, Some(3.25)),
            quiet,
            phase(3, 5000, 900.0, 1000.0, None),
        ];
        let md = render(&s);
        let section = md.find("## Load phases").unwrap();
        assert!(md.find("## Throughput").unwrap() < section);
        assert!(section < md.find("## Charts").unwrap());
        assert!(md.contains("(in schedule order) with the same target rate"));
        assert!(md.contains(
            "| 1 | 5,000 | 0.000 | 10.000 | 10 | 50,000 | 5,000.0 | 900 | 1,800 | 1,800 | \
             2,500 | 3.250 |\n\
             | 2 | 100 | 10.000 | 10.000 | 10 | 1,000 | 100.0 | – | – | – | – | – |\n\
             | 3 | 5,000 | 20.000 | 10.000 | 10 | 50,000 | 5,000.0 | 450 | 900 | 900 | 1,000 \
             | – |\n"
        ));
        assert!(md.contains(
            "- Phase 1 (5,000 rows/s) → phase 2 (100 rows/s): 3.250 s\n\n**At the peak rate** \
             (5,000 rows/s, 2 of 3 phases): worst max latency 2,500 ms (phase 1), worst P99 \
             1,800 ms (phase 1). **Longest recovery:** 3.250 s after phase 1.\n"
        ));
        // A ramp's bands, rising: no drop, no recovery.
        s.phases = vec![
            phase(1, 100, 10.0, 20.0, None),
            phase(2, 1000, 30.0, 40.0, None),
        ];
        s.phases[0].target_max_rows_per_s = Some(900);
        s.phases[1].target_max_rows_per_s = Some(1000);
        s.phases[1].recovery_s = None;
        let md = render(&s);
        assert!(md.contains("fall in one of 10 equal bands"));
        assert!(md.contains("| 1 | 100–900 | 0.000 |"));
        assert!(md.contains("| 2 | 1,000 | 10.000 |"));
        assert!(md.contains("The load never dropped: no phase is followed by a lower one."));
        assert!(md.contains("**Longest recovery:** none measured."));
        // A drop after a phase none of whose rows committed.
        s.phases[1].target_rows_per_s = 50;
        s.phases[1].target_max_rows_per_s = Some(60);
        assert!(render(&s).contains(
            "- Phase 1 (100–900 rows/s) → phase 2 (50–60 rows/s): not measured (none of its rows \
             was committed)"
        ));
    }

    /// Every table row of the configuration shows a label a person reads
    /// (no machine key) and figures rounded to what they mean (no float with
    /// more than three decimals outside a code span).
    #[test]
    fn configuration_reads_as_labels_and_rounded_figures() {
        let mut s = sample();
        s.run = Some(RunSummary {
            scenario: "smoke".into(),
            run_id: "smoke-1".into(),
            settings: vec![Setting {
                name: "trigger".into(),
                value: "1s".into(),
            }],
            generator: Some(generator::GeneratorSummary {
                seed: 42,
                out_dir: "runs/smoke-1/input".into(),
                interval_ms: 200.0,
                rows_min: 50,
                rows_max: 100,
                dup_rate: 0.02,
                bad_rate: 0.01,
                sources: 1,
                files: 100,
                rows: 7438,
                dup_rows: 153,
                bad_rows: 59,
                expected_rows: 7226,
                elapsed_s: 19.801554862,
                rows_per_s: 375.62706826996845,
                max_lateness_ms: 2.039822,
                mean_lateness_ms: 0.2328313,
                ..generator::GeneratorSummary::default()
            }),
            pipeline: Some(serde_json::json!({
                "batches": 20, "database_retries": 0, "files": 100, "rows_read": 7438,
                "rows_unchanged": 153, "rows_upserted": 7226, "a_new_counter": 1.23456
            })),
            resources: Some(crate::summary::ResourceProfile {
                interval_ms: 500,
                samples: 41,
                logical_cpus: 2,
                pipeline_cpu_mean_pct: 20.683245699580123,
                pipeline_cpu_peak_pct: 55.4455451965332,
                pipeline_rss_mean_mb: 102.08003048780488,
                pipeline_rss_peak_mb: 102.703125,
                postgres_rss_peak_mb: 108.8984375,
                postgres_cpu_mean_pct: 1.3611203286705948,
                system_cpu_mean_pct: 11.281530266854821,
                pipeline_cpu_seconds: 4.26,
                ..crate::summary::ResourceProfile::default()
            }),
            external_command: None,
        });
        let md = render(&s);
        let start = md.find("## Configuration").unwrap();
        let end = md.find("## Data integrity").unwrap();
        let long_float = |text: &str| {
            let without_code: String = text.split('`').step_by(2).collect();
            without_code
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .any(|n| n.split_once('.').is_some_and(|(_, d)| d.len() > 3))
        };
        for line in md[start..end].lines().filter(|l| l.starts_with("| ")) {
            let label = line.split(" | ").next().unwrap().trim_start_matches("| ");
            assert!(!label.contains('_'), "machine key: {line}");
            assert!(!long_float(line), "unrounded figure: {line}");
        }
        for want in [
            "| Rows per second written | 375.6 |",
            "| sluice CPU, mean / peak (of one core) | 20.7 % / 55.4 % |",
            "| PostgreSQL memory (RSS), peak | 108.9 MiB |",
            "| Rows left as stored (the stored version is as new or newer) | 153 |",
            "| A new counter | 1.23 |",
            "| Output folder | `runs/smoke-1/input` |",
        ] {
            assert!(md.contains(want), "no {want:?} in\n{}", &md[start..end]);
        }
    }
}

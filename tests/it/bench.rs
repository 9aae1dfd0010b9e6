//! `sluice bench` end to end on tiny sizes: every measurement runs, the
//! pipeline is measured as its own process, and the figures add up.

use crate::support::{run_ok, sluice, Scratch};

#[test]
#[cfg_attr(
    windows,
    ignore = "under Wine the bench has exited with its load phase's ingest process still \
              running, which held the test's pipes open until CI's time ran out (README)"
)]
fn bench_measures_every_mode_backlog_and_latency_on_the_same_files() {
    let scratch = Scratch::new();
    let work = scratch.path("bench");
    let stdout = run_ok(
        sluice()
            .args(["bench", "--rows", "3000", "--rows-per-file", "100"])
            .args(["--load-rows-per-s", "400", "--load-seconds", "2"])
            .args(["--backlog-files", "1500", "--workers", "2"])
            .args(["--database-url", &scratch.url()])
            .arg("--work-dir")
            .arg(&work),
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("bench.json")).unwrap()).unwrap();
    let throughput = report["throughput"].as_array().unwrap();
    let rows: Vec<u64> = throughput
        .iter()
        .map(|t| t["rows"].as_u64().unwrap())
        .collect();
    // psql \copy (the ceiling, when psql is installed: not beside the
    // Windows server binaries that CI runs under Wine), COPY from the bench
    // process, copy-merge, insert, unnest, then 1 and 2 workers of one
    // pipeline, each in two alternating rounds; then backlogs of 1 000 and
    // 1 500 files × 10 rows.
    let has_psql = std::process::Command::new(embedded_pg::psql_program())
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    let copies = if has_psql { 7 } else { 6 };
    let mut expected_rows = vec![3000; copies];
    expected_rows.extend([10_000, 15_000]);
    assert_eq!(rows, expected_rows, "{stdout}");
    let rounds: Vec<u64> = throughput
        .iter()
        .map(|t| t["rounds"].as_u64().unwrap())
        .collect();
    let mut expected_rounds = vec![2; copies];
    expected_rounds.extend([1, 1]);
    assert_eq!(rounds, expected_rounds);
    for row in throughput {
        let (min, median, max) = (
            row["rows_per_s_min"].as_f64().unwrap(),
            row["rows_per_s"].as_f64().unwrap(),
            row["rows_per_s_max"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= median && median <= max, "{row}");
    }
    assert_eq!(throughput[0]["ratio_to_ceiling"].as_f64().unwrap(), 1.0);
    for sluice_row in &throughput[copies - 5..] {
        assert!(
            sluice_row["peak_rss_mb"].as_f64().unwrap() > 1.0,
            "{sluice_row}"
        );
        assert!(
            sluice_row["cpu_s_per_million_rows"].as_f64().unwrap() > 0.0,
            "{sluice_row}"
        );
    }
    let latency = report["latency"].as_array().unwrap();
    assert_eq!(latency.len(), 4);
    // 2 s of 400 rows/s in files of 40 rows: continuous, 1 s on arrival, 1 s
    // at the tick; then 100 one-row files.
    let found: Vec<u64> = latency
        .iter()
        .map(|l| l["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(found, [800, 800, 800, 100], "{stdout}");
    for row in latency {
        assert!(row["floor"]["commits"].as_u64().unwrap() > 10, "{row}");
        assert!(row["floor"]["p50_ms"].as_f64().unwrap() > 0.0, "{row}");
        // The three slowest batches (a 2 s load at a 1 s trigger may make
        // only two, and one under Wine, whose batches take seconds), slowest
        // first, each attributed to a cause.
        let spikes = row["spikes"].as_array().unwrap();
        assert!((1..=3).contains(&spikes.len()), "{row}");
        let times: Vec<f64> = spikes
            .iter()
            .map(|s| s["batch_ms"].as_f64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{row}");
        for spike in spikes {
            let cause = spike["cause"].as_str().unwrap();
            assert!(
                ["checkpoint", "fsync stall", "neither"].contains(&cause),
                "{spike}"
            );
        }
    }
    assert!(stdout.contains("coincided with"), "{stdout}");
    assert!(stdout.contains("trigger 1s, on-arrival writes"), "{stdout}");
    let ceiling = if has_psql {
        "| ceiling: psql \\copy FORMAT csv"
    } else {
        "| COPY FORMAT csv from the bench process | 3000 | 2 |"
    };
    assert!(stdout.contains(ceiling), "{stdout}");
}

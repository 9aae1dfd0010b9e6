//! A pipeline that is not sluice, measured by `sluice run --pipeline-cmd`:
//! the Python loader of `configs/external/psql_loader.py` (csv module +
//! psql), its table without `source_file`, its report checked against the
//! commit timestamps read straight from the table, and `sluice compare` of
//! it beside a sluice run of the same scenario.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::support::{run_ok, sluice, Scratch};

const SCENARIO: &str = "name = \"external\"\nduration = \"5s\"\ndrain_timeout = \"60s\"\n\
     [generator]\nrows_min = 50\nrows_max = 100\ninterval = \"100ms\"\ndup_rate = 0.03\nbad_rate = 0.02\n\
     [pipeline]\ntrigger = \"300ms\"\nquiet = \"5s\"\n";

fn loader_command() -> String {
    let loader = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/external/psql_loader.py");
    format!(
        "python3 '{}' --input {{input}} --database-url {{database_url}} --trigger {{trigger}} \
         --ready-file {{ready_file}}",
        loader.display()
    )
}

/// `sluice run` of the scenario file into `runs`; its one run folder.
fn run_scenario(scratch: &Scratch, scenario: &Path, runs: &Path, command: Option<&str>) -> PathBuf {
    let mut run = sluice();
    run.arg("run")
        .arg(scenario)
        .args(["--database-url", &scratch.url()])
        .arg("--runs-dir")
        .arg(runs)
        .env("PSQL", embedded_pg::psql_program());
    if let Some(command) = command {
        run.args(["--pipeline-cmd", command]);
    }
    let stdout = run_ok(&mut run);
    assert!(
        stdout.contains("missing 0") && stdout.contains("duplicates 0"),
        "{stdout}"
    );
    crate::support::only_run(runs).0
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[i64], quantile: f64) -> i64 {
    let rank = (quantile * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_loader_is_measured_like_sluice_and_compared_with_it() {
    let scratch = Scratch::new();
    let scenario = scratch.path("external.toml");
    // `[pipeline] command` in the file; `--pipeline-cmd` below replaces it
    // (the file's `quiet` stays).
    std::fs::write(
        &scenario,
        format!("{SCENARIO}command = \"python3 absent.py\"\n"),
    )
    .unwrap();
    let external_runs = scratch.path("external-runs");
    let run_dir = run_scenario(&scratch, &scenario, &external_runs, Some(&loader_command()));
    let summary = crate::support::summary(&run_dir);

    // The loader's own table: the contract's columns, no source_file.
    let client = scratch.client().await;
    let has_source_file = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_name = 'events' AND column_name = 'source_file'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(has_source_file, 0);
    assert_eq!(summary["row_attribution"], "key prefix");
    let rows = &summary["rows"];
    let expected = rows["expected"].as_u64().unwrap();
    assert!(expected > 1000, "{rows}");
    assert_eq!(rows["found"].as_u64(), Some(expected), "{rows}");
    assert_eq!(
        (rows["missing"].as_u64(), rows["duplicates"].as_u64()),
        (Some(0), Some(0))
    );

    // Latency computed here from the table and the manifest alone: each
    // row's commit timestamp minus its file's creation, the file named by
    // the id (`RUN-000001-00042` → `RUN-000001.csv`).
    let manifest = std::fs::read_to_string(run_dir.join("manifest.jsonl")).unwrap();
    let created: HashMap<String, i64> = manifest
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["created_at_us"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut latencies: Vec<i64> = client
        .query(
            "SELECT event_id, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1e6)::bigint
             FROM events",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let id: String = row.get(0);
            let file = format!("{}.csv", &id[..id.rfind('-').unwrap()]);
            row.get::<_, i64>(1) - created[&file]
        })
        .collect();
    latencies.sort_unstable();
    assert_eq!(latencies.len() as u64, expected);
    assert_eq!(summary["latency_ms"]["count"].as_u64(), Some(expected));
    for (name, quantile) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)] {
        let independent_ms = nearest_rank(&latencies, quantile) as f64 / 1000.0;
        let reported_ms = summary["latency_ms"][name].as_f64().unwrap();
        let tolerance = (independent_ms * 0.01).max(2.0);
        assert!(
            (reported_ms - independent_ms).abs() <= tolerance,
            "{name}: report {reported_ms} ms, table {independent_ms} ms"
        );
    }

    // psql alone (sql/check_run.sql, by key) finds the same rows and percentiles.
    let vars = ["table=events", "key=event_id"];
    if let Some(check) =
        crate::support::psql_check_run(&scratch.url(), &run_dir.join("manifest.jsonl"), &vars)
    {
        let figures = &check[1];
        assert_eq!(figures[0], expected.to_string(), "{check:?}");
        for (index, name) in [(1, "p50"), (3, "p99"), (4, "max")] {
            let psql_ms: f64 = figures[index].parse().unwrap();
            let reported_ms = summary["latency_ms"][name].as_f64().unwrap();
            assert!(
                (reported_ms - psql_ms).abs() <= (psql_ms * 0.01).max(2.0),
                "{name}: report {reported_ms} ms, psql {psql_ms} ms"
            );
        }
    }

    // The report is whole: its sections say what does not apply.
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("external command"), "{report}");
    assert!(report.contains("do not apply to this pipeline"), "{report}");
    assert!(
        report.contains("rows in the table whose key carries a manifest file's key prefix"),
        "{report}"
    );
    let settings = summary["run"]["settings"].to_string();
    assert!(settings.contains("psql_loader.py"), "{settings}");
    let pipeline = summary["run"]["pipeline"].to_string();
    assert!(pipeline.contains("stopped when asked"), "{pipeline}");
    let log = std::fs::read_to_string(run_dir.join("pipeline.log")).unwrap();
    assert!(log.contains("psql_loader: stopped"), "{log}");
    // Its resources were sampled (the shell, Python and each psql).
    assert!(
        summary["run"]["resources"]["pipeline_rss_peak_mb"]
            .as_f64()
            .unwrap()
            > 1.0,
        "{summary}"
    );

    // sluice on the same scenario (a fresh table), then both side by side.
    client.batch_execute("DROP TABLE events").await.unwrap();
    std::fs::write(&scenario, SCENARIO.replace("quiet = \"5s\"\n", "")).unwrap();
    let sluice_runs = scratch.path("sluice-runs");
    let sluice_dir = run_scenario(&scratch, &scenario, &sluice_runs, None);
    let out = scratch.path("compare");
    run_ok(
        sluice()
            .arg("compare")
            .arg(&run_dir)
            .arg(&sluice_dir)
            .arg("--out")
            .arg(&out),
    );
    let compare = std::fs::read_to_string(out.join("compare.md")).unwrap();
    let run_id = |dir: &Path| dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(compare.contains(&run_id(&run_dir)), "{compare}");
    assert!(compare.contains(&run_id(&sluice_dir)), "{compare}");
    assert!(compare.contains("external command"), "{compare}");
    assert!(
        compare.contains("psql_loader.py"),
        "the pipeline column names the command: {compare}"
    );
    assert!(compare.contains(" | sluice |"), "{compare}");
}

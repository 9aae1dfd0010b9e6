//! `sluice run` with a `[failover]` section: the run kills its own pipeline
//! process and restarts it, stops the embedded PostgreSQL and restarts it,
//! records each interruption for the report, and loses nothing.

use crate::support::{open_to_others, run_ok, sluice};

#[test]
fn failover_run_survives_its_own_kills_and_database_stops_with_nothing_lost() {
    let (_dir, run_dir, summary) = run_scenario(
        r#"name = "failover-test"
duration = "14s"
drain_timeout = "60s"
[generator]
rate = "steady:400"
interval = "100ms"
dup_rate = 0.02
bad_rate = 0.01
[pipeline]
trigger = "500ms"
batch_size = 200
[pipeline.retry]
initial = "100ms"
max = "1s"
deadline = "60s"
[failover]
kill_pipeline_at = ["3s", "10s"]
restart_after = "500ms"
stop_database_at = ["5s"]
database_down_for = "2s"
"#,
    );
    let rows = assert_nothing_lost(&summary, 4000);
    let kinds: Vec<&str> = summary["interruptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["pipeline_killed", "database_stopped", "pipeline_killed"]
    );
    assert_eq!(summary["run"]["pipeline"]["restarts"], 2);
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("| database stopped |"),
        "the report lists the interruptions"
    );
    assert!(run_dir.join("events.jsonl").exists() && run_dir.join("resources.jsonl").exists());
    println!(
        "reliability: failover run: 2 pipeline kills, 1 database stop of 2 s; rows expected {}; lost 0; duplicated 0",
        rows["expected"]
    );
}

/// `[workers] count = 3`: three `sluice ingest --pipeline` processes share
/// the run's folder; the failover schedule kills a worker picked at random
/// and stops the database; nothing is lost or stored twice, and the report
/// shows what each worker committed.
#[test]
fn a_run_of_three_workers_survives_killing_them_and_reports_each() {
    let (_dir, run_dir, summary) = run_scenario(
        r#"name = "fleet-test"
duration = "14s"
drain_timeout = "60s"
[generator]
rate = "steady:600"
interval = "100ms"
dup_rate = 0.02
bad_rate = 0.01
[workers]
count = 3
[pipeline]
trigger = "500ms"
batch_size = 200
max_files_per_trigger = 3
claim_lease = "1s"
[pipeline.retry]
initial = "100ms"
max = "1s"
deadline = "60s"
[failover]
kill_pipeline_at = ["3s", "7s", "11s"]
restart_after = "300ms"
stop_database_at = ["5s"]
database_down_for = "1s"
"#,
    );
    let rows = assert_nothing_lost(&summary, 6000);
    assert_eq!(summary["run"]["pipeline"]["restarts"], 3);
    let workers = summary["workers"].as_array().unwrap();
    assert_eq!(
        workers.len(),
        3,
        "every worker committed batches: {workers:?}"
    );
    let batches: u64 = workers.iter().map(|w| w["batches"].as_u64().unwrap()).sum();
    assert_eq!(batches, summary["batches"]["count"].as_u64().unwrap());
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("### Workers"),
        "the report has a table per worker"
    );
    assert!(
        report.contains("kill -9 of worker "),
        "the interruptions name the worker killed"
    );
    for worker in 1..=3 {
        assert!(run_dir
            .join(format!("pipeline-worker-{worker}.log"))
            .exists());
    }
    println!(
        "reliability: 3-worker run: 3 worker kills, 1 database stop of 1 s; rows expected {}; \
         batches by worker {:?}; lost 0; duplicated 0",
        rows["expected"],
        workers
            .iter()
            .map(|w| w["batches"].as_u64().unwrap())
            .collect::<Vec<_>>()
    );
}

/// Runs `sluice run` on a scenario file with `text` in a folder of its own
/// (kept alive by the returned guard); returns the run's folder and summary.
fn run_scenario(text: &str) -> (tempfile::TempDir, std::path::PathBuf, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    open_to_others(dir.path());
    let config = dir.path().join("scenario.toml");
    std::fs::write(&config, text).unwrap();
    let runs = dir.path().join("runs");
    run_ok(
        sluice()
            .current_dir(dir.path())
            .env("SLUICE_PG_DATA", dir.path().join("pg"))
            .arg("run")
            .arg(&config)
            .arg("--runs-dir")
            .arg(&runs),
    );
    let (run_dir, summary) = crate::support::only_run(&runs);
    (dir, run_dir, summary)
}

/// Every expected row found once; returns the rows figures.
fn assert_nothing_lost(summary: &serde_json::Value, at_least: u64) -> serde_json::Value {
    let rows = summary["rows"].clone();
    assert!(rows["expected"].as_u64().unwrap() > at_least, "{rows}");
    assert_eq!(rows["found"], rows["expected"], "{rows}");
    assert_eq!(rows["missing"], 0, "{rows}");
    assert_eq!(rows["duplicates"], 0, "{rows}");
    rows
}

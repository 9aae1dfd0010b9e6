//! `sluice run` with a `[failover]` section: the run kills its own pipeline
//! process and restarts it, stops the embedded PostgreSQL and restarts it,
//! records each interruption for the report, and loses nothing.

use crate::support::{open_to_others, run_ok, sluice};

#[test]
fn failover_run_survives_its_own_kills_and_database_stops_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    open_to_others(dir.path());
    let config = dir.path().join("failover.toml");
    std::fs::write(
        &config,
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
    )
    .unwrap();
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
    let rows = &summary["rows"];
    assert!(rows["expected"].as_u64().unwrap() > 4000, "{rows}");
    assert_eq!(rows["found"], rows["expected"], "{rows}");
    assert_eq!(rows["missing"], 0, "{rows}");
    assert_eq!(rows["duplicates"], 0, "{rows}");
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

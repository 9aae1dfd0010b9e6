//! Runs side by side: `sluice compare` of two runs, and a sweep that runs
//! each setting on a fresh table and compares them.

use crate::support::{count, run_ok, sluice, summary, Scratch};

#[test]
fn compare_puts_two_runs_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let mut run_dirs = Vec::new();
    for (run_id, trigger, p99) in [("cmp-fast", "1s", 120.0), ("cmp-slow", "10s", 9500.0)] {
        let run = dir.path().join(run_id);
        std::fs::create_dir_all(&run).unwrap();
        let summary = serde_json::json!({
            "run_id": run_id,
            "rows": {"generated": 100, "expected": 100, "found": 100},
            "latency_ms": {"p50": p99 / 3.0, "p95": p99 / 1.5, "p99": p99, "max": p99, "count": 100},
            "latency_distribution": [
                {"to_ms": p99 / 2.0, "cumulative_percent": 60.0}
            ],
            "throughput_rows_per_s": 250.0,
            "run": {"settings": [
                {"name": "trigger", "value": trigger},
                {"name": "write mode", "value": "copy-merge"}
            ]}
        });
        std::fs::write(run.join("summary.json"), summary.to_string()).unwrap();
        run_dirs.push(run);
    }
    let out = dir.path().join("compare");
    let stdout = run_ok(
        sluice()
            .arg("compare")
            .args(&run_dirs)
            .arg("--out")
            .arg(&out),
    );
    assert!(stdout.contains("compare.md"), "{stdout}");
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("cmp-fast") && md.contains("cmp-slow"), "{md}");
    assert!(md.contains("| trigger | 1s | 10s |"), "{md}");
    let svg = std::fs::read_to_string(out.join("latency_cdf_compare.svg")).unwrap();
    assert!(svg.contains("<text"));
    assert!(out.join("compare.json").exists());

    // One run is not a comparison; a folder without summary.json is named.
    let output = sluice()
        .arg("compare")
        .arg(&run_dirs[0])
        .arg(dir.path().join("absent"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("absent") && stderr.contains("summary.json"),
        "{stderr}"
    );
}

/// A real sweep of two runs end to end, checked file by file (sweep.md,
/// sweep.json, each run's report, the comparison): one long function, as the
/// files it checks come from one sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_runs_each_setting_on_a_fresh_table_and_compares_them() {
    let scratch = Scratch::new();
    let client = scratch.client().await;
    // An earlier sweep's first run left its table, rejects table, batches
    // and migration record: this sweep's first run must start from nothing.
    scratch.generate(3, 0.0, 0.2);
    let mut earlier = scratch.config();
    earlier.table.name = "events_sweep_1".into();
    let stale = scratch.ingest(&earlier).await.unwrap();
    assert!(stale.rows_upserted > 0 && stale.rows_rejected > 0);
    let sweep_file = scratch.path("sweep.toml");
    std::fs::write(
        &sweep_file,
        "duration = \"2s\"\n\
         [scenario]\nname = \"tiny\"\nduration = \"1m\"\ndrain_timeout = \"30s\"\n\
         [scenario.generator]\nrows_min = 20\nrows_max = 40\ninterval = \"100ms\"\ndup_rate = 0.05\nbad_rate = 0.02\n\
         [scenario.pipeline]\ntrigger = \"500ms\"\nbatch_size = 50\n\
         [matrix]\nwrite_mode = [\"copy-merge\", \"insert\"]\n",
    )
    .unwrap();
    let runs = scratch.path("runs");
    let stdout = run_ok(
        sluice()
            .arg("sweep")
            .arg(&sweep_file)
            .args(["--database-url", &scratch.url()])
            .arg("--runs-dir")
            .arg(&runs),
    );
    let folders: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let sweep_dir = &folders[0];
    let name = sweep_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("sweep-"), "{name}");
    let labels = ["write_mode=copy-merge", "write_mode=insert"];
    for (n, label) in labels.iter().enumerate() {
        let index = n + 1;
        let run_root = sweep_dir.join(format!("run-0{index}"));
        let run_dirs: Vec<_> = std::fs::read_dir(&run_root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(run_dirs.len(), 1, "{run_dirs:?}");
        let summary = summary(&run_dirs[0]);
        let table = format!("events_sweep_{index}");
        assert_eq!(summary["table"], table.as_str());
        let expected = summary["rows"]["expected"].as_u64().unwrap();
        assert!(expected > 200, "{expected}");
        assert_eq!(summary["rows"]["found"], expected);
        assert_eq!(summary["rows"]["missing"], 0);
        assert_eq!(summary["rows"]["duplicates"], 0);
        let mode = label.trim_start_matches("write_mode=");
        let settings = summary["run"]["settings"].as_array().unwrap();
        assert!(
            settings.contains(&serde_json::json!({"name": "write mode", "value": mode})),
            "{settings:?}"
        );
        // The whole table holds this run's rows and nothing else, and the
        // bookkeeping knows only this run's batches.
        assert_eq!(
            count(&client, &format!("SELECT count(*) FROM {table}")).await,
            expected as i64
        );
        assert_eq!(
            count(
                &client,
                &format!(
                    "SELECT count(*) FROM sluice_batches b, jsonb_array_elements(b.files) f \
                     WHERE b.target_table = '{table}' AND f->>'name' NOT LIKE 'tiny-%'"
                )
            )
            .await,
            0
        );
        assert_eq!(
            count(&client, &format!("SELECT count(*) FROM {table}_rejects")).await,
            summary["rows"]["rejected"].as_i64().unwrap()
        );
        assert!(
            stdout.contains(&format!("run {index}/2 {label}: complete")),
            "{stdout}"
        );
    }
    let compare = std::fs::read_to_string(sweep_dir.join("compare.md")).unwrap();
    for label in labels {
        assert!(compare.contains(&format!("| {label} |")), "{compare}");
    }
    assert!(
        compare.contains("| write mode | copy-merge | insert |"),
        "{compare}"
    );
    assert!(sweep_dir.join("latency_cdf_compare.svg").exists());
    let sweep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep_dir.join("sweep.json")).unwrap())
            .unwrap();
    let statuses: Vec<&str> = sweep["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["complete", "complete"]);
    let rec = &sweep["recommendation"];
    for pick in ["lowest_p99", "highest_throughput"] {
        let label = rec[pick]["run"].as_str().unwrap_or_default();
        assert!(labels.contains(&label), "{pick}: {rec}");
    }
    let md = std::fs::read_to_string(sweep_dir.join("sweep.md")).unwrap();
    assert!(
        md.contains("Lowest P99 that keeps up: **write_mode="),
        "{md}"
    );
    assert!(
        stdout.contains("Highest sustained throughput: **write_mode="),
        "{stdout}"
    );
    assert!(stdout.contains("sweep: "), "{stdout}");
}

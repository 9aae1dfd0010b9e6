//! The `sluice` program itself, as a user runs it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{count, ingest_args, run_ok, sluice, summary, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_ingest_available_now_and_report_agree_with_the_manifest() {
    let scratch = Scratch::new();
    let input = scratch.path("input");
    let manifest = scratch.path("manifest.jsonl");
    run_ok(
        sluice()
            .args([
                "generate",
                "--files",
                "15",
                "--interval",
                "5ms",
                "--rows-min",
                "10",
                "--rows-max",
                "30",
            ])
            .args([
                "--dup-rate",
                "0.05",
                "--bad-rate",
                "0.03",
                "--seed",
                "9",
                "--id-prefix",
                "cli-",
            ])
            .arg("--out")
            .arg(&input)
            .arg("--manifest")
            .arg(&manifest),
    );
    let entries = generator::read_manifest(&manifest).unwrap();
    assert_eq!(entries.len(), 15);
    let expected: u64 = entries.iter().map(|e| e.expected_rows()).sum();
    let bad: u64 = entries.iter().map(|e| e.bad_rows).sum();

    let stdout = run_ok(
        sluice()
            .args([
                "ingest",
                "--trigger",
                "available-now",
                "--max-files-per-trigger",
                "4",
            ])
            .args(["--database-url", &scratch.url()])
            .arg("--input")
            .arg(&input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoint")),
    );
    let counters: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(counters["batches"], 4);
    assert_eq!(counters["rows_upserted"], expected);

    let out = scratch.path("report");
    run_ok(
        sluice()
            .args(["report", "--database-url", &scratch.url()])
            .arg("--manifest")
            .arg(&manifest)
            .arg("--out")
            .arg(&out),
    );
    let summary = summary(&out);
    assert_eq!(summary["rows"]["expected"], expected);
    assert_eq!(summary["rows"]["found"], expected);
    assert_eq!(summary["rows"]["missing"], 0);
    assert_eq!(summary["rows"]["duplicates"], 0);
    assert_eq!(summary["rows"]["rejected"], bad);
    assert!(summary["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    // Every stored value against the files, read by Python's csv module.
    let client = scratch.client().await;
    assert_eq!(
        crate::support::assert_table_holds_newest_versions(&client, "events", &[&input]).await
            as u64,
        expected
    );
    crate::support::assert_written_exactly_once(&client, "events").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_completes_a_short_scenario_with_nothing_missing() {
    let scratch = Scratch::new();
    let config = scratch.path("tiny.toml");
    std::fs::write(
        &config,
        "name = \"tiny\"\nduration = \"3s\"\ndrain_timeout = \"30s\"\n\
         [generator]\nrows_min = 20\nrows_max = 40\ninterval = \"100ms\"\ndup_rate = 0.05\nbad_rate = 0.02\n\
         [pipeline]\ntrigger = \"500ms\"\nbatch_size = 50\n",
    )
    .unwrap();
    let runs = scratch.path("runs");
    let stdout = run_ok(
        sluice()
            .arg("run")
            .arg(&config)
            .args(["--database-url", &scratch.url()])
            .arg("--runs-dir")
            .arg(&runs),
    );
    assert!(stdout.contains("report: "), "{stdout}");
    let (run_dir, summary) = crate::support::only_run(&runs);
    assert!(summary["rows"]["expected"].as_u64().unwrap() > 400);
    assert_eq!(summary["rows"]["found"], summary["rows"]["expected"]);
    assert_eq!(summary["rows"]["missing"], 0);
    assert_eq!(summary["rows"]["duplicates"], 0);
    let p50 = summary["latency_ms"]["p50"].as_f64().unwrap();
    let p99 = summary["latency_ms"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p99 >= p50, "p50 {p50} p99 {p99}");
    // No [targets] in the scenario: nothing judged, so the run passes.
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["targets"], serde_json::json!([]));
    // The breakdown and the database figures come from the real database.
    let stages = &summary["stages"];
    assert_eq!(stages["latency"].as_array().unwrap().len(), 4, "{stages}");
    assert_eq!(stages["busy"].as_array().unwrap().len(), 3, "{stages}");
    assert!(stages["files"].as_u64().unwrap() > 0, "{stages}");
    let database = &summary["database"];
    assert_eq!(database["notes"], serde_json::json!([]), "{database}");
    assert_eq!(
        database["queries"].as_array().unwrap().len(),
        5,
        "{database}"
    );
    assert!(
        database["indexes"].as_array().unwrap().len() >= 5,
        "{database}"
    );
    assert_eq!(summary["trigger_adherence"]["interval_ms"], 500.0);
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("## Latency") && report.contains("### Resources"));
    for section in [
        "## Targets",
        "## Where the time goes",
        "## Database",
        "## Bottlenecks and recommendations",
    ] {
        assert!(report.contains(section), "no {section}");
    }
    let resources = &summary["run"]["resources"];
    assert!(resources["samples"].as_u64().unwrap() >= 2, "{resources}");
    assert!(resources["pipeline_rss_peak_mb"].as_f64().unwrap() > 1.0);
    assert!(
        resources["postgres_rss_peak_mb"].as_f64().unwrap() == 0.0,
        "an external database is not sampled"
    );
    if cfg!(target_os = "linux") {
        // The generator runs in this process too: its files are written here.
        assert!(resources["pipeline_disk_written_bytes"].as_u64().unwrap() > 0);
        let memory = &resources["pipeline_memory_at_peak"];
        assert!(memory["anon_bytes"].as_u64().unwrap() > 0, "{memory}");
        assert!(memory["file_bytes"].as_u64().unwrap() > 0, "{memory}");
    }
}

/// Where a kill landed, read from the killed process's own log (its last
/// `batch N stage NAME` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KilledAt {
    /// No batch in flight: at start-up or between batches.
    BeforeThePlan,
    DuringTheWrite,
    DuringTheCommit,
    BetweenTheCommitAndTheLog,
}

fn killed_at(log: &str) -> KilledAt {
    let last = log
        .lines()
        .rev()
        .find_map(|line| line.split(" stage ").nth(1))
        .map(str::trim);
    match last {
        Some("writing") => KilledAt::DuringTheWrite,
        Some("committing") => KilledAt::DuringTheCommit,
        Some("committed") => KilledAt::BetweenTheCommitAndTheLog,
        _ => KilledAt::BeforeThePlan,
    }
}

/// SIGKILL while files keep arriving (25 kills, alternately under a
/// continuous trigger and under a 150 ms interval trigger whose batches
/// write files into an open transaction on arrival). Every fifth kill falls
/// at a random instant; the others are aimed, through the process's own log
/// and `SLUICE_STAGE_DELAY`, at a step of a batch in turn: the write, the
/// commit, between the commit and the log, and no batch in flight. Each
/// kill's landing is read from the killed process's log, and the run must
/// have met all four. Every restart resumes; at the end every valid row is
/// there once, with the values the files hold, and every file was committed
/// in exactly one batch. On Windows the kill is TerminateProcess. One
/// function: the kills, their landings and the final check are one story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_repeated_kill_9_with_exactly_once_effect() {
    const KILLS: usize = 25;
    const FILES: u64 = 150;
    let scratch = Scratch::new();
    let input = scratch.input();
    let seed: u64 = std::env::var("SLUICE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    println!("kill schedule seed: {seed} (replay with SLUICE_KILL_SEED={seed})");
    let generator = crate::support::generate_slowly(&scratch, &input, FILES);
    let mut state = seed;
    let mut landed = Vec::new();
    for kill in 0..KILLS {
        let trigger = if kill % 2 == 0 { "continuous" } else { "150ms" };
        // Aim: (the step to linger at, the log line to wait for).
        let aim = match kill % 5 {
            0 => None,
            1 => Some(("", "stage logged")),
            2 => Some(("writing=3s", "stage writing")),
            3 => Some(("committing=3s", "stage committing")),
            _ => Some(("committed=3s", "stage committed")),
        };
        let log_path = scratch.path(&format!("kill-{kill}.log"));
        let mut child = sluice()
            .args([
                "ingest",
                "--trigger",
                trigger,
                "--max-files-per-trigger",
                "3",
                "--batch-size",
                "7",
            ])
            .args(["--database-url", &scratch.url()])
            .arg("--input")
            .arg(&input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoint"))
            .env("RUST_LOG", "warn,sluice::stage=info")
            .env("NO_COLOR", "1")
            .env("SLUICE_STAGE_DELAY", aim.map_or("", |(delay, _)| delay))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        match aim {
            None => {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                tokio::time::sleep(Duration::from_millis(60 + (state >> 33) % 400)).await;
            }
            Some((_, line)) => {
                let deadline = std::time::Instant::now() + Duration::from_secs(8);
                while std::time::Instant::now() < deadline {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    let last = log.lines().rev().find(|l| l.contains(" stage "));
                    if last.is_some_and(|l| l.trim_end().ends_with(line)) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "an ingest with a continuous or interval trigger exits only when told to"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        landed.push(killed_at(&std::fs::read_to_string(&log_path).unwrap()));
    }
    let mut tally = std::collections::BTreeMap::new();
    for at in &landed {
        *tally.entry(*at).or_insert(0) += 1;
    }
    println!("kills landed: {tally:?}");
    for at in [
        KilledAt::BeforeThePlan,
        KilledAt::DuringTheWrite,
        KilledAt::DuringTheCommit,
        KilledAt::BetweenTheCommitAndTheLog,
    ] {
        assert!(tally.contains_key(&at), "no kill landed {at:?}: {landed:?}");
    }
    let generated = generator.join().unwrap();
    run_ok(ingest_args(
        &mut sluice(),
        "available-now",
        &scratch.url(),
        &input,
        &scratch.path("checkpoint"),
    ));
    let client = scratch.client().await;
    // Every file committed in exactly one batch, no row rewritten by a
    // replay, every stored value as the files say.
    assert_eq!(generated.files, FILES);
    crate::support::assert_exact_outcome(&client, &generated, &[&input]).await;
    println!(
        "reliability: kill -9 survived: {KILLS} (seed {seed}; landed {tally:?}); files {}; rows expected {}; lost 0; duplicated 0",
        generated.files, generated.expected_rows
    );
}

pub(crate) fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_password_never_appears_in_output_logs_or_reports() {
    const SECRET: &str = "Sup3r-s3cret-pw";
    let scratch = Scratch::new();
    let client = scratch.client().await;
    client
        .batch_execute(&format!(
            "CREATE ROLE app LOGIN SUPERUSER PASSWORD '{SECRET}'"
        ))
        .await
        .unwrap();
    let url = format!(
        "postgres://app:{SECRET}@127.0.0.1:{}/sluice",
        scratch.server.port()
    );
    let input = scratch.input();
    let manifest = scratch.path("manifest.jsonl");
    crate::support::generate_into(&input, &manifest, 3, 0.0, 0.3);
    let mut seen = String::new();
    for args in [
        vec![
            "ingest",
            "--trigger",
            "available-now",
            "--database-url",
            &url,
        ],
        vec!["report", "--database-url", &url],
    ] {
        let mut command = sluice();
        command.args(&args).env("RUST_LOG", "debug");
        if args[0] == "ingest" {
            command
                .arg("--input")
                .arg(&input)
                .arg("--checkpoint")
                .arg(scratch.path("checkpoint"));
        } else {
            command
                .arg("--manifest")
                .arg(&manifest)
                .arg("--out")
                .arg(scratch.path("report"));
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        seen.push_str(&String::from_utf8_lossy(&output.stdout));
        seen.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    // A failure names the server without the password.
    let unreachable = format!("postgres://app:{SECRET}@127.0.0.1:1/sluice");
    let output = sluice()
        .args([
            "ingest",
            "--trigger",
            "available-now",
            "--retry-deadline",
            "1s",
            "--database-url",
            &unreachable,
        ])
        .arg("--input")
        .arg(&input)
        .arg("--checkpoint")
        .arg(scratch.path("checkpoint-2"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("postgres://app:***@127.0.0.1:1/sluice"),
        "{stderr}"
    );
    seen.push_str(&stderr);
    for file in ["report.md", "summary.json"] {
        seen.push_str(&std::fs::read_to_string(scratch.path("report").join(file)).unwrap());
    }
    assert!(seen.contains("rows"), "the outputs were captured");
    assert!(!seen.contains(SECRET), "the password leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_archives_or_deletes_only_committed_files() {
    let scratch = Scratch::new();
    let input = scratch.input();
    crate::support::write_file(&input, "bad-header.csv", "nope\n1\n");
    crate::support::generate_into(&input, &scratch.path("manifest.jsonl"), 3, 0.0, 0.0);
    run_ok(
        sluice()
            .args([
                "ingest",
                "--trigger",
                "available-now",
                "--cleanup",
                "archive",
                "--database-url",
                &scratch.url(),
            ])
            .arg("--input")
            .arg(&input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoint")),
    );
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&input), ["archive", "quarantine"]);
    assert_eq!(
        names(&input.join("archive")),
        [
            "events-000001.csv",
            "events-000002.csv",
            "events-000003.csv"
        ]
    );
    assert_eq!(
        names(&input.join("quarantine")),
        ["bad-header.csv", "bad-header.csv.reason.txt"]
    );

    crate::support::generate_into(
        &scratch.path("more"),
        &scratch.path("more.jsonl"),
        2,
        0.0,
        0.0,
    );
    for name in ["events-000001.csv", "events-000002.csv"] {
        std::fs::rename(
            scratch.path("more").join(name),
            input.join(format!("more-{name}")),
        )
        .unwrap();
    }
    run_ok(
        sluice()
            .args([
                "ingest",
                "--trigger",
                "available-now",
                "--cleanup",
                "delete",
                "--database-url",
                &scratch.url(),
            ])
            .arg("--input")
            .arg(&input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoint")),
    );
    assert_eq!(names(&input), ["archive", "quarantine"]);
}

/// `sluice check`: each step it passes says what the pipeline would do, and
/// each kind of mistake stops it with one line that names it, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_a_start_would_do_or_names_the_first_problem() {
    let scratch = Scratch::new();
    let input = scratch.input();
    crate::support::write_file(&input, "a.csv", "x\n");
    crate::support::write_file(&input, "b.csv", "x\n");
    crate::support::write_file(&input, "notes.txt", "x\n");
    let url = scratch.url();
    let check_at = |url: &str, extra: &[&str], input: &Path| {
        let mut command = sluice();
        command
            .args(["check", "--database-url", url])
            .args(extra)
            .arg("--input")
            .arg(input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoint"));
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let check = |extra: &[&str], input: &Path| check_at(&url, extra, input);

    let (code, stdout, stderr) = check(&[], &input);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for want in [
        "✓ settings",
        "✓ table      events keyed by event_id",
        "✓ transform  the built-in dedupe",
        "2 files match `*.csv` now",
        "✓ checkpoint",
        "PostgreSQL 15",
        "the table events does not exist yet: a start creates it",
    ] {
        assert!(stdout.contains(want), "no {want:?} in\n{stdout}");
    }
    // Nothing was created: the check's migration was rolled back.
    let client = scratch.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sluice_%' OR tablename = 'events'").await,
        0
    );

    let refused = |extra: &[&str], input: &Path, want: &str| {
        let (code, stdout, stderr) = check(extra, input);
        assert_eq!(code, Some(1), "{want}: {stdout}{stderr}");
        assert!(stderr.contains(want), "no {want:?} in\n{stderr}");
    };
    refused(&[], &input.join("a.csv"), "is not a folder");
    refused(&["--glob", "events-[.csv"], &input, "is not valid");
    refused(&["--batch-size", "0"], &input, "batch");
    let (code, _, stderr) = check_at("postgres://nobody@127.0.0.1:1/none", &[], &input);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
    client
        .batch_execute("CREATE TABLE events (event_id text PRIMARY KEY, event_time integer)")
        .await
        .unwrap();
    refused(&[], &input, "events");
}

#[test]
fn a_missing_scenario_file_is_named_once_and_fails() {
    let output = sluice()
        .args(["run", "configs/no-such-scenario.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot read the scenario file configs/no-such-scenario.toml"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
}

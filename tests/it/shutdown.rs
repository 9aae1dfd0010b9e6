//! SIGTERM: the batch in flight finishes within the grace period, or is
//! rolled back and replayed whole by the next start; either way the program
//! exits 0 promptly and nothing is lost or written twice.
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{count, ingest_args, sluice, write_file, Scratch, HEADER};

const ROWS: usize = 60_000;

fn big_file(input: &Path) {
    let mut content = String::with_capacity(ROWS * 64);
    content.push_str(HEADER);
    content.push('\n');
    for index in 0..ROWS {
        content.push_str(&format!(
            "term-{index},page_view,{},{},,1.00,1,2026-11-23T10:00:00Z\n",
            index % 97,
            index % 31
        ));
    }
    write_file(input, "events-000001.csv", &content);
}

fn start_ingest(scratch: &Scratch, trigger: &str, grace: &str) -> Child {
    ingest_args(
        &mut sluice(),
        trigger,
        &scratch.url(),
        &scratch.input(),
        &scratch.path("checkpoint"),
    )
    .args(["--shutdown-grace", grace])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Sends SIGTERM as soon as the first batch is planned (in flight).
fn terminate_once_planned(scratch: &Scratch, child: &Child) {
    let plan = scratch.path("checkpoint").join("plan.json");
    let started = Instant::now();
    while !plan.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no batch was planned"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the exit; returns (exit success, seconds after SIGTERM, stdout, stderr).
fn wait_exit(child: Child) -> (bool, f64, String, String) {
    let terminated = Instant::now();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        terminated.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn summary_field(stdout: &str, key: &str) -> u64 {
    let summary: serde_json::Value = serde_json::from_str(stdout).unwrap_or_else(|error| {
        panic!("ingest printed no JSON summary ({error}): {stdout}");
    });
    summary[key].as_u64().unwrap()
}

/// The two ways a batch runs: read and written at once (continuous), and
/// written file by file into a transaction open until the tick (an interval
/// with on-arrival writes; the first tick comes at start).
const TRIGGERS: [&str; 2] = ["continuous", "1h"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishes_the_batch_in_flight_on_sigterm_and_exits_zero() {
    for trigger in TRIGGERS {
        finishes_the_batch_in_flight(trigger).await;
    }
}

async fn finishes_the_batch_in_flight(trigger: &str) {
    let scratch = Scratch::new();
    big_file(&scratch.input());
    let child = start_ingest(&scratch, trigger, "5m");
    terminate_once_planned(&scratch, &child);
    let (success, _, stdout, stderr) = wait_exit(child);
    assert!(success, "exit after SIGTERM ({trigger}): {stderr}");
    assert_eq!(summary_field(&stdout, "batches"), 1, "{trigger}: {stdout}");
    assert_eq!(summary_field(&stdout, "rolled_back_batches"), 0);
    let client = scratch.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        ROWS as i64
    );

    // Committed and checkpointed: a restart has nothing to replay or write.
    let child = start_ingest(&scratch, "available-now", "10s");
    let (success, _, stdout, stderr) = wait_exit(child);
    assert!(success, "{stderr}");
    assert_eq!(summary_field(&stdout, "replayed_batches"), 0, "{stdout}");
    assert_eq!(summary_field(&stdout, "rows_read"), 0, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolls_back_a_batch_that_outlasts_the_shutdown_grace_and_replays_it_whole() {
    for trigger in TRIGGERS {
        rolls_back_and_replays(trigger).await;
    }
}

async fn rolls_back_and_replays(trigger: &str) {
    let scratch = Scratch::new();
    big_file(&scratch.input());
    let child = start_ingest(&scratch, trigger, "0s");
    terminate_once_planned(&scratch, &child);
    let (success, seconds, stdout, stderr) = wait_exit(child);
    assert!(success, "exit after SIGTERM: {stderr}");
    assert!(
        seconds < 5.0,
        "SIGTERM with a zero grace period took {seconds:.1} s to exit"
    );
    assert_eq!(
        summary_field(&stdout, "rolled_back_batches"),
        1,
        "{trigger}: {stdout}"
    );
    assert!(stderr.contains("rolled back"), "{stderr}");
    let client = scratch.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_batches").await,
        0
    );

    let child = start_ingest(&scratch, "available-now", "10s");
    let (success, _, stdout, stderr) = wait_exit(child);
    assert!(success, "{stderr}");
    assert_eq!(summary_field(&stdout, "replayed_batches"), 1, "{stdout}");
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        ROWS as i64
    );
    crate::support::assert_written_exactly_once(&client, "events").await;
}

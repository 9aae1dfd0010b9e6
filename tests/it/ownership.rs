//! One owner per checkpoint; several pipelines per database.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{count, generator_config, ingest_args, run_ok, sluice, Scratch};

/// Starts `sluice ingest --trigger continuous` on `checkpoint`.
/// A process killed when dropped, also when its test panics: left running,
/// it would hold what it inherited open (under Wine, the test log's pipe).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_continuous(scratch: &Scratch, checkpoint: &std::path::Path) -> KillOnDrop {
    let child = ingest_args(
        &mut sluice(),
        "continuous",
        &scratch.url(),
        &scratch.input(),
        checkpoint,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    KillOnDrop(child)
}

/// Waits until the process owns its checkpoint in the database (its
/// advisory lock is granted).
async fn wait_for_owner(scratch: &Scratch) {
    let client = scratch.client().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(
        &client,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1",
    )
    .await
        == 0
    {
        assert!(Instant::now() < deadline, "the first process never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A second `sluice ingest` on a checkpoint in use refuses at once, naming
/// the folder and the PID that holds it; a copy of the folder used from
/// "another machine" is refused by the database's lock; after kill -9 of the
/// owner the folder is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_a_busy_checkpoint_refuses_to_start() {
    let scratch = Scratch::new();
    let checkpoint = scratch.path("checkpoint");
    let owner = start_continuous(&scratch, &checkpoint);
    wait_for_owner(&scratch).await;

    let started = Instant::now();
    let output = ingest_args(
        &mut sluice(),
        "continuous",
        &scratch.url(),
        &scratch.input(),
        &checkpoint,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a second owner started: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    assert!(
        stderr.contains("is in use by another sluice process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", owner.0.id())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&checkpoint.display().to_string()),
        "{stderr}"
    );

    // Another machine sharing the folder: its own file lock is free, the
    // checkpoint id is the same; the database refuses it.
    let copy = scratch.path("checkpoint-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for name in ["id", "commits.log"] {
        let from = checkpoint.join(name);
        if from.exists() {
            std::fs::copy(from, copy.join(name)).unwrap();
        }
    }
    let output = ingest_args(
        &mut sluice(),
        "continuous",
        &scratch.url(),
        &scratch.input(),
        &copy,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a second owner started: {stderr}");
    assert!(
        stderr.contains("in use by another sluice process connected to the database"),
        "{stderr}"
    );

    drop(owner);
    run_ok(ingest_args(
        &mut sluice(),
        "available-now",
        &scratch.url(),
        &scratch.input(),
        &checkpoint,
    ));
}

/// Two pipelines, each with its own input folder and checkpoint, write one
/// table of one database at the same time, a batch per file: both exit 0,
/// every row lands once, every batch id is unique and every file is in
/// exactly one batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pipelines_write_one_table_at_once_exactly_once() {
    const FILES: u64 = 30;
    let scratch = Scratch::new();
    let mut expected = 0;
    let mut children = Vec::new();
    for pipeline in ["left", "right"] {
        let input = scratch.path(pipeline);
        let config = generator::GeneratorConfig {
            id_prefix: format!("{pipeline}-"),
            file_prefix: pipeline.into(),
            ..generator_config(&input, &scratch.path(&format!("{pipeline}.jsonl")), FILES)
        };
        std::fs::create_dir_all(&input).unwrap();
        expected += generator::generate(
            &config,
            &std::sync::atomic::AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap()
        .expected_rows;
        let child = ingest_args(
            &mut sluice(),
            "available-now",
            &scratch.url(),
            &input,
            &scratch.path(&format!("{pipeline}-checkpoint")),
        )
        .args(["--max-files-per-trigger", "1", "--settle-time", "0s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        children.push(child);
    }
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let client = scratch.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        expected as i64
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_batches").await,
        2 * FILES as i64
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(DISTINCT checkpoint_id) FROM sluice_batches"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(DISTINCT f->>'name') FROM sluice_batches, jsonb_array_elements(files) f"
        )
        .await,
        2 * FILES as i64
    );
    // Each row was written by a batch of its own pipeline.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM events e JOIN sluice_batches b USING (batch_id)
             WHERE left(e.event_id, 4) <> left(e.source_file, 4)"
        )
        .await,
        0
    );
}

//! Exactly once across interruptions: plans replayed with the same files,
//! commits the log missed taken from the database, damage detected.

use pipeline::checkpoint::{Checkpoint, Plan, PlannedFile, FORMAT_VERSION};

use crate::support::{count, Scratch};

fn planned(names: &[&str]) -> Vec<PlannedFile> {
    names
        .iter()
        .map(|name| PlannedFile {
            name: name.to_string(),
            size: 0,
            mtime_us: 0,
            discovered_at_us: 1,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_a_batch_planned_but_not_committed_with_exactly_its_files() {
    let scratch = Scratch::new();
    let generated = scratch.generate(6, 0.0, 0.0);
    let config = scratch.config();
    // A crash right after the plan was written: the batch never reached the database.
    let (mut checkpoint, _) = Checkpoint::open(&config.checkpoint).unwrap();
    checkpoint
        .write_plan(&Plan {
            version: FORMAT_VERSION,
            batch_id: 1,
            planned_at_us: 1,
            files: planned(&["events-000002.csv", "events-000005.csv"]),
        })
        .unwrap();
    drop(checkpoint);
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(summary.replayed_batches, 1);
    let client = scratch.client().await;
    let replayed: Vec<String> = client
        .query(
            "SELECT DISTINCT source_file FROM events WHERE batch_id = 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(replayed, ["events-000002.csv", "events-000005.csv"]);
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        generated.expected_rows as i64
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_batches").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_a_commit_the_log_missed_from_the_database_instead_of_replaying() {
    let scratch = Scratch::new();
    let generated = scratch.generate(3, 0.0, 0.0);
    let config = scratch.config();
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    let before = client
        .query_one(
            "SELECT string_agg(xmin::text, ',' ORDER BY event_id) FROM events",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    // A crash between the database commit and the log append: the plan is
    // on disk, the log does not have the commit.
    std::fs::write(config.checkpoint.join("commits.log"), "").unwrap();
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(
        (summary.replayed_batches, summary.batches, summary.rows_read),
        (0, 0, 0)
    );
    let after = client
        .query_one(
            "SELECT string_agg(xmin::text, ',' ORDER BY event_id) FROM events",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    assert_eq!(before, after, "no row was rewritten");
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        generated.expected_rows as i64
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_batches").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilds_processed_files_from_the_database_when_the_checkpoint_is_garbled() {
    let scratch = Scratch::new();
    let generated = scratch.generate(4, 0.0, 0.0);
    let config = scratch.config();
    scratch.ingest(&config).await.unwrap();
    let log = config.checkpoint.join("commits.log");
    let garbled = std::fs::read_to_string(&log)
        .unwrap()
        .replace("events-", "evXnts-");
    std::fs::write(&log, garbled).unwrap();
    std::fs::write(config.checkpoint.join("plan.json"), "0000 {not json").unwrap();
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(
        (summary.batches, summary.rows_read),
        (0, 0),
        "nothing ingested twice"
    );
    let client = scratch.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        generated.expected_rows as i64
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM events_rejects").await,
        0
    );
    // The rebuilt folder is healthy again: a new file gets the next batch id.
    crate::support::write_file(
        &config.input,
        "late.csv",
        &format!(
            "{}\nlate1,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n",
            crate::support::HEADER
        ),
    );
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!((summary.batches, summary.rows_upserted), (1, 1));
    assert_eq!(
        count(&client, "SELECT max(batch_id) FROM sluice_batches").await,
        2
    );
}

fn one_row_file(id: &str) -> String {
    format!(
        "{}\n{id},page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n",
        crate::support::HEADER
    )
}

/// A committed file rewritten in place with other content of the same size
/// and modification time is not deleted: clean-up compares the content's
/// hash, not size and mtime alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_deletes_a_file_whose_content_changed_after_it_was_read() {
    let scratch = Scratch::new();
    let mut config = scratch.config();
    let path = config.input.join("a.csv");
    crate::support::write_file(&config.input, "a.csv", &one_row_file("first"));
    scratch.ingest(&config).await.unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::write(&path, one_row_file("other")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    config.cleanup = pipeline::config::Cleanup::Delete;
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(summary.batches, 0);
    assert!(path.exists(), "a file with unread content was deleted");
    // Unchanged, it is cleaned up.
    crate::support::write_file(&config.input, "b.csv", &one_row_file("second"));
    scratch.ingest(&config).await.unwrap();
    assert!(!config.input.join("b.csv").exists());
}

/// A crash between the commit and the quarantine move leaves a quarantined
/// file in the input folder: the next start moves it to quarantine, never to
/// the archive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_file_found_after_a_crash_goes_to_quarantine_not_the_archive() {
    let scratch = Scratch::new();
    let mut config = scratch.config();
    config.cleanup = pipeline::config::Cleanup::Archive;
    crate::support::write_file(&config.input, "bad.csv", "no,header\n1,2\n");
    scratch.ingest(&config).await.unwrap();
    let quarantine = config.quarantine_dir();
    // As if the process died right after the commit: the file is back in place.
    std::fs::rename(quarantine.join("bad.csv"), config.input.join("bad.csv")).unwrap();
    std::fs::remove_file(quarantine.join("bad.csv.reason.txt")).unwrap();
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(summary.batches, 0);
    assert!(quarantine.join("bad.csv").exists());
    assert!(quarantine.join("bad.csv.reason.txt").exists());
    assert!(!config.archive_dir().join("bad.csv").exists());
}

/// The target table emptied by hand under a checkpoint that ingested into
/// it: start-up stops with a clear error instead of skipping the files it
/// holds as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_when_the_table_was_emptied_under_the_checkpoint() {
    let scratch = Scratch::new();
    scratch.generate(3, 0.0, 0.0);
    let config = scratch.config();
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    client.batch_execute("TRUNCATE events").await.unwrap();
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(
        error.contains("the table events is missing or empty"),
        "{error}"
    );
    assert!(error.contains("--reset-checkpoint"), "{error}");
    client.batch_execute("DROP TABLE events").await.unwrap();
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(error.contains("missing or empty"), "{error}");
    // The explicit way on: a new checkpoint ingests every file again.
    let reset = pipeline::config::IngestConfig {
        reset_checkpoint: true,
        ..config.clone()
    };
    let summary = scratch.ingest(&reset).await.unwrap();
    assert_eq!(summary.files, 3);
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        summary.rows_upserted as i64
    );
    scratch.ingest(&config).await.unwrap();
}

/// The database restored from a backup older than the checkpoint's last
/// commit: start-up stops and says what happened and how to continue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_when_the_database_is_behind_the_checkpoint() {
    let scratch = Scratch::new();
    scratch.generate(3, 0.0, 0.0);
    let mut config = scratch.config();
    config.max_files_per_trigger = 1;
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    // The restore lost the last batch.
    client
        .batch_execute(
            "DELETE FROM events WHERE batch_id = (SELECT max(batch_id) FROM sluice_batches);
             DELETE FROM sluice_batches WHERE batch_id = (SELECT max(batch_id) FROM sluice_batches)",
        )
        .await
        .unwrap();
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(
        error.contains("the database is behind checkpoint folder"),
        "{error}"
    );
    assert!(error.contains("Restore the database"), "{error}");
    assert!(error.contains("--reset-checkpoint"), "{error}");
}

/// Bookkeeping tables dropped by hand come back at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreates_bookkeeping_tables_dropped_by_hand() {
    let scratch = Scratch::new();
    let config = scratch.config();
    crate::support::write_file(&config.input, "a.csv", &one_row_file("a1"));
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    client
        .batch_execute("DROP TABLE events_rejects; DROP TABLE sluice_quarantine")
        .await
        .unwrap();
    crate::support::write_file(
        &config.input,
        "b.csv",
        &format!(
            "{}\nbad,page_view,x,2,,1.00,1,2026-11-22T10:00:00Z\n",
            crate::support::HEADER
        ),
    );
    crate::support::write_file(&config.input, "c.csv", "wrong,header\n");
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!((summary.rows_rejected, summary.files_quarantined), (1, 1));
    assert_eq!(
        count(&client, "SELECT count(*) FROM events_rejects").await,
        1
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_quarantine").await,
        1
    );
}

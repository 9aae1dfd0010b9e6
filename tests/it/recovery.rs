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

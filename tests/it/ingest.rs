//! What the pipeline writes for given input files.

use crate::support::{assert_exact_outcome, count, write_file, Scratch, HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn available_now_ingests_every_valid_row_once_and_exits() {
    let scratch = Scratch::new();
    let generated = scratch.generate(30, 0.05, 0.02);
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    let client = scratch.client().await;
    assert_eq!(generated.files, 30);
    assert_exact_outcome(&client, &generated, &[&scratch.input()]).await;
    assert_eq!(summary.files, 30);
    assert_eq!(summary.rows_read, generated.rows);
    assert_eq!(summary.rows_rejected, generated.bad_rows);
    assert_eq!(summary.rows_upserted, generated.expected_rows);
    // rows read = inserted + absorbed duplicates + rejected
    assert_eq!(
        summary.rows_read,
        summary.rows_upserted
            + summary.rows_deduped
            + summary.rows_unchanged
            + summary.rows_rejected
    );
    let batched: i64 = count(
        &client,
        "SELECT sum(file_count)::bigint FROM sluice_batches",
    )
    .await;
    assert_eq!(batched, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_malformed_rows_with_line_and_reason_and_keeps_the_rest() {
    let scratch = Scratch::new();
    let content = format!(
        "{HEADER}\n\
         a1,page_view,1,2,Books,9.99,1,2026-11-22T10:00:00.000001Z\n\
         a2,page_view,1,2,Books,9.99,many,2026-11-22T10:00:00.000001Z\n\
         a3,purchase,5,6,\"Home, Garden\",19.50,2,2026-11-22T10:00:01Z\n\
         a4,purchase,5,6,,19.50,2\n"
    );
    write_file(&scratch.input(), "mixed.csv", &content);
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_upserted,
            summary.rows_rejected
        ),
        (4, 2, 2)
    );
    let client = scratch.client().await;
    let ids: Vec<String> = client
        .query("SELECT event_id FROM events ORDER BY event_id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, ["a1", "a3"]);
    let rejects = client
        .query(
            "SELECT source_file, line, raw, reason FROM events_rejects ORDER BY line",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, i64, String, String)> = rejects
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "mixed.csv".to_string(),
                3,
                "a2,page_view,1,2,Books,9.99,many,2026-11-22T10:00:00.000001Z".to_string(),
                "column `quantity`: `many` is not an integer".to_string()
            ),
            (
                "mixed.csv".to_string(),
                5,
                "a4,purchase,5,6,,19.50,2".to_string(),
                "expected 8 fields, found 7".to_string()
            ),
        ]
    );
    let category: String = client
        .query_one("SELECT category FROM events WHERE event_id = 'a3'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(category, "Home, Garden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reads_hidden_temp_files_or_non_matching_names() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let row = "h1,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z";
    std::fs::write(
        input.join(".events-9.csv.tmp"),
        format!("{HEADER}\n{row}\n"),
    )
    .unwrap();
    std::fs::write(input.join(".hidden.csv"), format!("{HEADER}\n{row}\n")).unwrap();
    std::fs::write(input.join("notes.txt"), format!("{HEADER}\n{row}\n")).unwrap();
    write_file(
        &input,
        "real.csv",
        &format!("{HEADER}\nr1,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n"),
    );
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (
            summary.files,
            summary.rows_upserted,
            summary.files_quarantined
        ),
        (1, 1, 0)
    );
    let client = scratch.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM events WHERE event_id = 'h1'").await,
        0
    );
    assert!(input.join(".hidden.csv").exists() && input.join("notes.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantines_unreadable_files_with_a_reason_and_counts_them() {
    let scratch = Scratch::new();
    let input = scratch.input();
    write_file(&input, "wrong-header.csv", "id,name\n1,x\n");
    write_file(&input, "empty.csv", "");
    write_file(
        &input,
        "good.csv",
        &format!("{HEADER}\ng1,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n"),
    );
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (
            summary.files,
            summary.files_quarantined,
            summary.rows_upserted
        ),
        (3, 2, 1)
    );
    let quarantine = input.join("quarantine");
    assert!(
        quarantine.join("wrong-header.csv").exists() && !input.join("wrong-header.csv").exists()
    );
    let reason = std::fs::read_to_string(quarantine.join("wrong-header.csv.reason.txt")).unwrap();
    assert!(
        reason.starts_with("wrong header `id,name`: expected the columns `event_id,"),
        "{reason}"
    );
    let client = scratch.client().await;
    let recorded: Vec<String> = client
        .query("SELECT source_file FROM sluice_quarantine ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(recorded, ["empty.csv", "wrong-header.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupes_within_a_batch_keeping_the_latest_event_time_and_never_rewrites_identical_rows() {
    let scratch = Scratch::new();
    let input = scratch.input();
    write_file(
        &input,
        "a.csv",
        &format!(
            "{HEADER}\n\
             k1,page_view,1,2,,1.00,1,2026-11-22T10:00:05Z\n\
             k1,purchase,1,2,,1.00,1,2026-11-22T10:00:09Z\n\
             k1,add_to_cart,1,2,,1.00,1,2026-11-22T10:00:01Z\n\
             k2,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n\
             k3,page_view,1,2,,1.00,1,2026-11-22T10:00:07Z\n\
             k3,add_to_cart,1,2,,1.00,1,2026-11-22T10:00:07Z\n"
        ),
    );
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!((summary.rows_upserted, summary.rows_deduped), (3, 3));
    let client = scratch.client().await;
    let (kind, xmin): (String, String) = {
        let row = client
            .query_one(
                "SELECT event_type, xmin::text FROM events WHERE event_id = 'k1'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(kind, "purchase");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM events WHERE event_id = 'k3' AND event_type = 'add_to_cart'"
        )
        .await,
        1,
        "the row read last wins a tie on event_time"
    );
    // The same row again in a later file: absorbed, not rewritten.
    write_file(
        &input,
        "b.csv",
        &format!("{HEADER}\nk2,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n"),
    );
    let summary = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_upserted,
            summary.rows_unchanged
        ),
        (1, 0, 1)
    );
    let row = client
        .query_one(
            "SELECT xmin::text, source_file FROM events WHERE event_id = 'k2'",
            &[],
        )
        .await
        .unwrap();
    let (k2_xmin, source): (String, String) = (row.get(0), row.get(1));
    assert_eq!(k2_xmin, xmin, "an identical row keeps its first commit");
    assert_eq!(source, "a.csv");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_mode_lands_each_valid_row_once_and_a_replay_rewrites_nothing() {
    use pipeline::sink::WriteMode;
    for mode in WriteMode::ALL {
        let scratch = Scratch::new();
        let generated = scratch.generate(12, 0.05, 0.02);
        let mut config = scratch.config();
        config.write_mode = mode;
        config.batch_size = 7; // several statements per chunk, a short last one
        let summary = scratch.ingest(&config).await.unwrap();
        assert_eq!(summary.rows_upserted, generated.expected_rows, "{mode}");
        let client = scratch.client().await;
        assert_eq!(
            count(&client, "SELECT count(*) FROM events").await,
            generated.expected_rows as i64,
            "{mode}"
        );
        let category: Option<String> = client
            .query_one(
                "SELECT category FROM events WHERE category LIKE '%,%' LIMIT 1",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(category.as_deref(), Some("Home, Garden"), "{mode}");
        let before: String = client
            .query_one("SELECT string_agg(xmin::text || price::text || event_time::text, ',' ORDER BY event_id) FROM events", &[])
            .await
            .unwrap()
            .get(0);
        // The same files again under a new checkpoint: every row is identical.
        config.checkpoint = scratch.path("checkpoint-replay");
        let replay = scratch.ingest(&config).await.unwrap();
        assert_eq!(
            (replay.rows_upserted, replay.rows_read),
            (0, generated.rows),
            "{mode}"
        );
        let after: String = client
            .query_one("SELECT string_agg(xmin::text || price::text || event_time::text, ',' ORDER BY event_id) FROM events", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(before, after, "{mode}: a replay rewrote rows");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_replaced_under_a_processed_name_is_reported_not_ingested() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let row = |id: &str| format!("{id},page_view,1,2,,1.00,1,2026-11-23T10:00:00Z\n");
    write_file(&input, "a.csv", &format!("{HEADER}\n{}", row("r1")));
    write_file(&input, "b.csv", &format!("{HEADER}\n{}", row("r2")));
    let first = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (first.files, first.rows_upserted, first.files_replaced),
        (2, 2, 0)
    );

    // a.csv comes back with more rows; b.csv is untouched.
    write_file(
        &input,
        "a.csv",
        &format!("{HEADER}\n{}{}", row("r1"), row("r3")),
    );
    let second = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!((second.files, second.rows_read), (0, 0));
    assert_eq!(second.files_replaced, 1);
    let client = scratch.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 2);
    assert_eq!(
        count(&client, "SELECT count(*) FROM events WHERE event_id = 'r3'").await,
        0
    );

    // Under a new name its content is ingested (r1 again is a no-op upsert).
    std::fs::rename(input.join("a.csv"), input.join("a-v2.csv")).unwrap();
    let third = scratch.ingest(&scratch.config()).await.unwrap();
    assert_eq!(
        (third.files, third.rows_upserted, third.files_replaced),
        (1, 1, 0)
    );
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 3);
}

/// With an interval trigger, files that arrive between ticks are written at
/// once into the batch's open transaction, invisible until the tick commits
/// them together: one batch, every row once, each file started well before
/// the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_files_on_arrival_and_commits_them_together_at_the_tick() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let config = pipeline::config::IngestConfig {
        trigger: pipeline::config::Trigger::Interval(std::time::Duration::from_secs(4)),
        ..scratch.config()
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let pipeline = {
        let (config, target, cancel) = (config.clone(), scratch.target(), cancel.clone());
        tokio::spawn(async move {
            pipeline::driver::run(
                &config,
                &target,
                cancel,
                std::sync::Arc::new(pipeline::driver::QuietObserver),
            )
            .await
        })
    };
    let client = scratch.client().await;
    // Started: migrated, and the first (empty) tick has passed.
    while count(
        &client,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'sluice_batches'",
    )
    .await
        == 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for (file, ids) in [
        ("a.csv", ["a1", "a2"]),
        ("b.csv", ["b1", "b2"]),
        ("c.csv", ["c1", "c2"]),
    ] {
        let rows: String = ids
            .iter()
            .map(|id| format!("{id},page_view,1,2,,1.00,1,2026-11-23T10:00:00Z\n"))
            .collect();
        write_file(&input, file, &format!("{HEADER}\n{rows}"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    // Written, not yet visible: the batch's transaction is open.
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 0);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
        )
        .await,
        1,
        "the batch's transaction holds the upserted rows"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&client, "SELECT count(*) FROM events").await < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the tick did not commit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cancel.cancel();
    let summary = pipeline.await.unwrap().unwrap();
    assert_eq!(
        (summary.batches, summary.files, summary.rows_upserted),
        (1, 3, 6)
    );
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 6);
    let row = client
        .query_one(
            "SELECT file_count, (SELECT min((f->>'started_at_us')::bigint) FROM jsonb_array_elements(files) f), \
                    (extract(epoch FROM committed_at) * 1000000)::bigint \
             FROM sluice_batches",
            &[],
        )
        .await
        .unwrap();
    let (files, first_started, committed): (i32, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(files, 3);
    assert!(
        committed - first_started > 500_000,
        "the first file was written {} ms before the commit",
        (committed - first_started) / 1000
    );
}

/// A table described in the configuration gets the generic transform: one
/// row per key, the row read last winning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_table_is_deduped_by_its_key_keeping_the_row_read_last() {
    use pipeline::schema::TableConfig;
    let scratch = Scratch::new();
    let input = scratch.input();
    let column = crate::support::required_column;
    let config = pipeline::config::IngestConfig {
        table: TableConfig {
            name: "orders".into(),
            key: "order_id".into(),
            columns: vec![
                column("order_id", "text"),
                column("amount", "numeric(10,2)"),
                column("placed_at", "timestamptz"),
            ],
            indexes: vec!["placed_at".into()],
            version_column: None,
        },
        ..scratch.config()
    };
    write_file(
        &input,
        "a.csv",
        "order_id,amount,placed_at\n\
         o1,1.00,2026-11-22T10:00:00Z\n\
         o2,2.00,2026-11-22T10:00:00Z\n\
         o1,3.00,2026-11-22T09:00:00Z\n",
    );
    write_file(
        &input,
        "b.csv",
        "order_id,amount,placed_at\no2,4.00,2026-11-22T08:00:00Z\n",
    );
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_deduped,
            summary.rows_upserted
        ),
        (4, 2, 2)
    );
    let client = scratch.client().await;
    let rows: Vec<(String, String)> = client
        .query(
            "SELECT order_id, amount::text FROM orders ORDER BY order_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        rows,
        [
            ("o1".to_string(), "3.00".to_string()),
            ("o2".to_string(), "4.00".to_string())
        ]
    );
}

/// An input path that is a file stops the start with a clear line; a
/// missing input folder is created (and the run says so in its log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_input_path_that_is_a_file_and_creates_a_missing_folder() {
    let scratch = Scratch::new();
    let file = scratch.path("not-a-folder.csv");
    std::fs::write(&file, "x").unwrap();
    let config = pipeline::config::IngestConfig {
        input: file,
        ..scratch.config()
    };
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(
        error.contains("is not a folder") && error.contains("--input"),
        "{error}"
    );
    let missing = scratch.path("later").join("input");
    let config = pipeline::config::IngestConfig {
        input: missing.clone(),
        ..scratch.config()
    };
    let summary = scratch.ingest(&config).await.unwrap();
    assert!(missing.is_dir());
    assert_eq!((summary.files, summary.rows_upserted), (0, 0));
}

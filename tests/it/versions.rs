//! The version rule: of all the versions of a key ever ingested, the table
//! holds the one with the greatest event_time, a tie going to the greater
//! file name, then to the later line, whatever the batches, chunks, write
//! modes, kills and restarts.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pipeline::config::IngestConfig;
use pipeline::schema::TableConfig;
use pipeline::sink::WriteMode;

use crate::support::{
    assert_table_holds_newest_versions, count, ingest_args, run_ok, sluice, write_file, Scratch,
    HEADER,
};

const FILES: u64 = 24;
const ROWS_PER_FILE: u64 = 30;
const KEYS: u64 = 40;

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Conflicting versions: 40 keys over 24 files of 30 rows, event times from
/// six instants (many ties, some written with a +02:00 offset), every file
/// ending with a second version of its first key at the same instant (a tie
/// inside one file), every row's values unique.
fn corpus() -> Vec<(String, String)> {
    let mut random = Lcg(20261130);
    let types = ["page_view", "add_to_cart", "purchase"];
    (0..FILES)
        .map(|file| {
            let mut content = format!("{HEADER}\n");
            let mut first: Option<(u64, u64)> = None;
            for row in 0..ROWS_PER_FILE {
                let (key, instant) = match (row, first) {
                    (last, Some(first)) if last == ROWS_PER_FILE - 1 => first,
                    _ => (random.next(KEYS), random.next(6)),
                };
                first.get_or_insert((key, instant));
                let micros = 123_456 + instant * 7;
                let time = if random.next(4) == 0 {
                    format!("2026-11-22T{:02}:00:0{instant}.{micros:06}+02:00", 12)
                } else {
                    format!("2026-11-22T10:00:0{instant}.{micros:06}Z")
                };
                let category = if random.next(5) == 0 {
                    String::new()
                } else {
                    format!("\"cat, {}\"", random.next(9))
                };
                content.push_str(&format!(
                    "k-{key:03},{},{},{},{category},{}.{:02},{},{time}\n",
                    types[random.next(3) as usize],
                    random.next(1_000_000),
                    random.next(5_000),
                    random.next(100_000),
                    random.next(100),
                    file * 1000 + row,
                ));
            }
            (format!("v-{file:02}.csv"), content)
        })
        .collect()
}

/// Writes the corpus into `dir` in a shuffled order, so that arrival order
/// (modification time) differs from name order.
fn write_shuffled(dir: &Path, files: &[(String, String)]) {
    let mut order: Vec<usize> = (0..files.len()).collect();
    let mut random = Lcg(7);
    for index in (1..order.len()).rev() {
        order.swap(index, random.next(index as u64 + 1) as usize);
    }
    for index in order {
        write_file(dir, &files[index].0, &files[index].1);
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How one way of ingesting changes the default settings.
type Settings = fn(IngestConfig) -> IngestConfig;

fn events_named(name: &str) -> TableConfig {
    TableConfig {
        name: name.into(),
        ..TableConfig::events()
    }
}

/// The rows `sql` returns, three columns each.
async fn rows_of_three<A, B, C>(client: &tokio_postgres::Client, sql: &str) -> Vec<(A, B, C)>
where
    A: for<'a> tokio_postgres::types::FromSql<'a>,
    B: for<'a> tokio_postgres::types::FromSql<'a>,
    C: for<'a> tokio_postgres::types::FromSql<'a>,
{
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// Every column but the batch bookkeeping, by key, as text.
async fn table_as_text(client: &tokio_postgres::Client, table: &str) -> Vec<String> {
    client
        .query(
            &format!(
                "SELECT (event_id, event_type, user_id, product_id, category, price, quantity, \
                 event_time, source_file)::text FROM \"{table}\" ORDER BY event_id"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// One corpus ingested four ways (a file per batch; one batch; chunks of
/// four rows written by multi-row inserts; and under repeated kill -9 with
/// alternating continuous and on-arrival interval triggers): the four
/// tables are identical, value by value, and equal to what Python's csv
/// module computes from the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_the_newest_version_of_each_key_whatever_the_batches() {
    let scratch = Scratch::new();
    let files = corpus();
    let ways: [(&str, Settings); 3] = [
        ("events_file_per_batch", |c| IngestConfig {
            max_files_per_trigger: 1,
            ..c
        }),
        ("events_one_batch", |c| IngestConfig {
            max_files_per_trigger: 1000,
            chunk_rows: 100_000,
            ..c
        }),
        ("events_small_chunks", |c| IngestConfig {
            chunk_rows: 4,
            batch_size: 3,
            write_mode: WriteMode::Insert,
            ..c
        }),
    ];
    for (table, settings) in ways {
        let input = scratch.path(table);
        std::fs::create_dir_all(&input).unwrap();
        write_shuffled(&input, &files);
        let config = settings(IngestConfig {
            input,
            checkpoint: scratch.path(&format!("{table}-checkpoint")),
            table: events_named(table),
            ..scratch.config()
        });
        let summary = scratch.ingest(&config).await.unwrap();
        assert_eq!(summary.rows_read, FILES * ROWS_PER_FILE, "{table}");
        assert_eq!(summary.rows_rejected, 0, "{table}");
    }

    // The fourth way: `events`, under kill -9.
    let input = scratch.path("killed");
    std::fs::create_dir_all(&input).unwrap();
    write_shuffled(&input, &files);
    let checkpoint = scratch.path("killed-checkpoint");
    let mut random = Lcg(99);
    for kill in 0..8 {
        let trigger = if kill % 2 == 0 { "continuous" } else { "100ms" };
        let mut child = ingest_args(&mut sluice(), trigger, &scratch.url(), &input, &checkpoint)
            .args(["--max-files-per-trigger", "2", "--batch-size", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150 + random.next(450))).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    run_ok(ingest_args(
        &mut sluice(),
        "available-now",
        &scratch.url(),
        &input,
        &checkpoint,
    ));

    let client = scratch.client().await;
    let reference = table_as_text(&client, "events").await;
    assert_eq!(reference.len() as u64, KEYS);
    for (table, _) in ways {
        assert_eq!(
            table_as_text(&client, table).await,
            reference,
            "{table} differs from the table written under kill -9"
        );
        assert_eq!(
            assert_table_holds_newest_versions(&client, table, &[&scratch.path(table)]).await,
            KEYS as usize
        );
    }
    assert_table_holds_newest_versions(&client, "events", &[&input]).await;
}

/// A configured table with a `version_column` follows the same rule;
/// without one, the version read last wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_version_column_keeps_the_greatest_version_across_batches() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let column = crate::support::required_column;
    let config = IngestConfig {
        table: TableConfig {
            name: "orders".into(),
            key: "order_id".into(),
            columns: vec![
                column("order_id", "text"),
                column("amount", "numeric(10,2)"),
                column("revision", "bigint"),
            ],
            indexes: vec![],
            version_column: Some("revision".into()),
        },
        max_files_per_trigger: 1,
        ..scratch.config()
    };
    // Arrival order a, b, c; the newest revision of o1 arrives first, and o2
    // ties on its revision across files (the greater name, c, wins).
    write_file(
        &input,
        "b.csv",
        "order_id,amount,revision\no1,9.00,3\no2,1.00,5\n",
    );
    std::thread::sleep(Duration::from_millis(5));
    write_file(
        &input,
        "c.csv",
        "order_id,amount,revision\no1,1.00,1\no2,7.00,5\n",
    );
    std::thread::sleep(Duration::from_millis(5));
    write_file(
        &input,
        "a.csv",
        "order_id,amount,revision\no1,2.00,2\no2,3.00,5\n",
    );
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!(summary.batches, 3);
    let client = scratch.client().await;
    let rows: Vec<(String, String, i64, String)> = client
        .query(
            "SELECT order_id, amount::text, revision, source_file FROM orders ORDER BY order_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            ("o1".into(), "9.00".into(), 3, "b.csv".into()),
            ("o2".into(), "7.00".into(), 5, "c.csv".into()),
        ]
    );
}

/// A key that another writer commits between sluice's probe of a chunk's
/// keys and its COPY of the new ones: the COPY waits for that writer, meets
/// the key, and the batch is written again through the guarded merge. The
/// newer version wins and nothing is rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_another_writer_commits_meanwhile_takes_the_merge() {
    let scratch = Scratch::new();
    let config = IngestConfig {
        trigger: pipeline::config::Trigger::Continuous,
        settle_time: Duration::ZERO,
        ..scratch.config()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let ingest = tokio::spawn({
        let (target, config, stop) = (scratch.target(), config.clone(), stop.clone());
        async move {
            pipeline::driver::run(
                &config,
                &target,
                stop,
                std::sync::Arc::new(pipeline::driver::LogObserver),
            )
            .await
        }
    });
    let watcher = scratch.client().await;
    let wait_for = |sql: &'static str, what: &'static str| {
        let watcher = &watcher;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while count(watcher, sql).await != 1 {
                assert!(std::time::Instant::now() < deadline, "{what}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(
        "SELECT count(*) FROM pg_tables WHERE tablename = 'sluice_batches'",
        "sluice never created its tables",
    )
    .await;
    let other = scratch.client().await;
    other
        .batch_execute(
            "BEGIN; INSERT INTO events (event_id, event_type, user_id, product_id, category, \
             price, quantity, event_time, source_file, batch_id) VALUES ('k1', 'page_view', 9, \
             9, 'Old', 1.00, 1, '2026-11-22T09:00:00Z', 'other-writer.csv', 0)",
        )
        .await
        .unwrap();
    let rows: String = (1..=5)
        .map(|key| format!("k{key},purchase,{key},2,Books,9.99,3,2026-11-22T10:00:00Z\n"))
        .collect();
    write_file(&config.input, "race.csv", &format!("{HEADER}\n{rows}"));
    wait_for(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE 'COPY%'",
        "sluice's COPY never waited on the other writer's key",
    )
    .await;
    other.batch_execute("COMMIT").await.unwrap();
    wait_for(
        "SELECT count(*) FROM sluice_batches",
        "the batch never committed",
    )
    .await;
    stop.cancel();
    let summary = ingest.await.unwrap().unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_upserted,
            summary.rows_rejected
        ),
        (5, 5, 0)
    );
    let stored: Vec<(String, i32, String)> = rows_of_three(
        &watcher,
        "SELECT event_id, quantity, source_file FROM events ORDER BY event_id",
    )
    .await;
    let expected: Vec<(String, i32, String)> = (1..=5)
        .map(|key| (format!("k{key}"), 3, "race.csv".to_string()))
        .collect();
    assert_eq!(stored, expected);
}

/// A chunk whose keys rise is probed by its key range (where the key column
/// sorts by bytes) instead of key by key: keys stored before it, one older
/// and one newer than the file's version, and another writer's key inside
/// the range that the file lacks, end as the version rule says, whether the
/// key column sorts by bytes (the database's `C` default) or by an ICU
/// collation that orders these mixed-case keys differently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rising_keys_found_stored_by_their_range_keep_the_version_rule_under_any_collation() {
    let scratch = Scratch::new();
    let client = scratch.client().await;
    // Byte order: A1 < B2 < C3 < a4 < b5 < c6; ICU: A1 < a4 < B2 < b5 < C3 < c6.
    let rows: String = ["A1", "B2", "C3", "a4", "b5", "c6"]
        .iter()
        .map(|key| format!("{key},purchase,1,2,Books,9.99,3,2026-11-22T10:00:00Z\n"))
        .collect();
    for (table, collation) in [("events_bytes", None), ("events_icu", Some("und-x-icu"))] {
        let schema = events_named(table).validate().unwrap();
        client
            .batch_execute(&schema.create_table_sql())
            .await
            .unwrap();
        if let Some(collation) = collation {
            client
                .batch_execute(&format!(
                    "ALTER TABLE {table} ALTER COLUMN event_id TYPE text COLLATE \"{collation}\""
                ))
                .await
                .unwrap();
        }
        client
            .batch_execute(&format!(
                "INSERT INTO {table} (event_id, event_type, user_id, product_id, category, price, \
                 quantity, event_time, source_file, batch_id) VALUES \
                 ('B2', 'page_view', 1, 2, 'Old', 1.00, 1, '2026-11-22T09:00:00Z', 'other.csv', 0), \
                 ('b5', 'page_view', 1, 2, 'New', 1.00, 1, '2026-11-22T11:00:00Z', 'other.csv', 0), \
                 ('Bz', 'page_view', 1, 2, 'Else', 1.00, 1, '2026-11-22T09:00:00Z', 'other.csv', 0)"
            ))
            .await
            .unwrap();
        let config = IngestConfig {
            input: scratch.path(&format!("input-{table}")),
            checkpoint: scratch.path(&format!("checkpoint-{table}")),
            table: events_named(table),
            ..scratch.config()
        };
        std::fs::create_dir_all(&config.input).unwrap();
        write_file(&config.input, "rising.csv", &format!("{HEADER}\n{rows}"));
        let summary = scratch.ingest(&config).await.unwrap();
        assert_eq!(
            (
                summary.rows_read,
                summary.rows_upserted,
                summary.rows_rejected
            ),
            (6, 5, 0),
            "{table}: b5's stored version is newer and stays"
        );
        let stored: Vec<(String, String, String)> = rows_of_three(
            &client,
            &format!(
                "SELECT event_id, category, source_file FROM {table} ORDER BY event_id COLLATE \"C\""
            ),
        )
        .await;
        let expected: Vec<(String, String, String)> = [
            ("A1", "Books", "rising.csv"),
            ("B2", "Books", "rising.csv"),
            ("Bz", "Else", "other.csv"),
            ("C3", "Books", "rising.csv"),
            ("a4", "Books", "rising.csv"),
            ("b5", "New", "other.csv"),
            ("c6", "Books", "rising.csv"),
        ]
        .iter()
        .map(|(key, category, file)| (key.to_string(), category.to_string(), file.to_string()))
        .collect();
        assert_eq!(stored, expected, "{table}");
    }
}

//! A corpus of hostile input files, each with its expected outcome. The
//! pipeline stays up through all of it, every valid row lands once, every bad
//! row is rejected with an actionable reason, every unreadable file is
//! quarantined, and the counters add up.

use std::collections::BTreeMap;

use pipeline::checkpoint::{Checkpoint, Plan, PlannedFile, FORMAT_VERSION};

#[cfg(unix)]
use crate::support::{ingest_args, run_ok};
use crate::support::{write_file, Scratch, HEADER};

pub(crate) const GOOD: &str = "2026-11-22T10:00:00.000001Z";

pub(crate) fn row(id: &str) -> String {
    format!("{id},page_view,1,2,Books,9.99,1,{GOOD}")
}

/// Every file of the corpus in one run, and one long function on purpose:
/// the pipeline must stay up through all of them at once, and each file's
/// expected outcome sits beside the file it is about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_file_has_its_expected_outcome() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let text_files: Vec<(&str, String)> = vec![
        ("01-bom-crlf.csv", format!("\u{feff}{HEADER}\r\n{}\r\n{}\r\n", row("bom1"), row("bom2"))),
        (
            "02-quoted.csv",
            format!(
                "{HEADER}\nq1,page_view,1,2,\"Home, Garden\",9.99,1,{GOOD}\nq2,page_view,1,2,\"two\nlines \"\"quoted\"\"\",9.99,1,{GOOD}\n"
            ),
        ),
        ("03-no-final-newline.csv", format!("{HEADER}\n{}", row("nl1"))),
        (
            "04-bad-values.csv",
            [
                HEADER.to_string(),
                row("ok4"),
                format!("b1,page_view,abc,2,,9.99,1,{GOOD}"),
                format!("b2,page_view,1,2,,9.99,99999999999,{GOOD}"),
                "b3,page_view,1,2,,9.99,1,yesterday".to_string(),
                "b4,page_view,1,2,,9.99,1,2026-11-22T10:00:00".to_string(),
                format!("b5,page_view,,2,,9.99,1,{GOOD}"),
                format!("b6,page_view,1,2,,9.999,1,{GOOD}"),
                format!("b7,page_view,1,2,{},9.99,1,{GOOD}", "x".repeat(200)),
                format!("b8,page_view,1,2,,9.99,1,{GOOD},extra"),
                format!("b9,page_view,99999999999999999999,2,,9.99,1,{GOOD}"),
            ]
            .join("\n")
                + "\n",
        ),
        ("05-cut-mid-row.csv", format!("{HEADER}\n{}\nc2,page_view,1,2,Bo", row("c1"))),
        ("06-cut-in-quote.csv", format!("{HEADER}\n{}\nu2,page_view,1,2,\"Boo", row("u1"))),
        ("07-header-only.csv", format!("{HEADER}\n")),
        ("08-empty.csv", String::new()),
        ("09-wrong-header.csv", format!("id,type,user\n{}\n", row("w1"))),
        ("10-no-header.csv", format!("{}\n{}\n", row("n1"), row("n2"))),
        (
            "11-dup-within.csv",
            format!(
                "{HEADER}\n{}\n{}\nd2,page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\nd2,purchase,1,2,,1.00,1,2026-11-22T11:00:00Z\n",
                row("d1"),
                row("d1")
            ),
        ),
        ("12-dup-across-a.csv", format!("{HEADER}\n{}\n", row("x1"))),
        ("13-dup-across-b.csv", format!("{HEADER}\n{}\n", row("x1"))),
    ];
    for (name, content) in &text_files {
        write_file(&input, name, content);
    }
    // Bytes that are not text: a NUL in a field, invalid UTF-8, UTF-16.
    std::fs::write(input.join("14-binary.csv"), {
        let mut bytes = format!("{HEADER}\n{}\n", row("bin1")).into_bytes();
        bytes.extend_from_slice(format!("nul1,page\0view,1,2,,9.99,1,{GOOD}\n").as_bytes());
        bytes.extend_from_slice(b"utf1,page_view,1,2,Caf\xe9,9.99,1,2026-11-22T10:00:00Z\n");
        bytes
    })
    .unwrap();
    let utf16: Vec<u8> = format!("{HEADER}\n{}\n", row("w16"))
        .encode_utf16()
        .flat_map(|unit| unit.to_le_bytes())
        .collect();
    std::fs::write(
        input.join("15-utf16.csv"),
        [&[0xff, 0xfe][..], &utf16].concat(),
    )
    .unwrap();
    std::fs::create_dir(input.join("16-directory.csv")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(input.join("01-bom-crlf.csv"), input.join("17-symlink.csv"))
        .unwrap();

    let mut config = scratch.config();
    config.max_files_per_trigger = 1; // one file per batch: cross-file duplicates meet the upsert
    config.max_field_bytes = 100;
    // A file planned, then deleted before it was read (the plan survives a crash).
    let (mut checkpoint, _) = Checkpoint::open(&config.checkpoint).unwrap();
    checkpoint
        .write_plan(&Plan {
            version: FORMAT_VERSION,
            batch_id: 1,
            planned_at_us: 1,
            files: vec![PlannedFile {
                name: "00-vanished.csv".into(),
                size: 10,
                mtime_us: 1,
                discovered_at_us: 1,
            }],
        })
        .unwrap();
    drop(checkpoint);

    let summary = scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;

    let landed: BTreeMap<String, i64> = client
        .query("SELECT source_file, count(*) FROM events GROUP BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected_landed: BTreeMap<String, i64> = [
        ("01-bom-crlf.csv", 2),
        ("02-quoted.csv", 2),
        ("03-no-final-newline.csv", 1),
        ("04-bad-values.csv", 1),
        ("05-cut-mid-row.csv", 1),
        ("06-cut-in-quote.csv", 1),
        ("11-dup-within.csv", 2),
        ("12-dup-across-a.csv", 1),
        ("14-binary.csv", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(landed, expected_landed);

    let rejects = crate::support::rejects_by_file(&client).await;
    let expected_reasons = [
        (
            "04-bad-values.csv",
            3,
            "column `user_id`: `abc` is not an integer",
        ),
        (
            "04-bad-values.csv",
            4,
            "column `quantity`: `99999999999` is out of range for integer",
        ),
        (
            "04-bad-values.csv",
            5,
            "column `event_time`: `yesterday` is not an RFC 3339 timestamp",
        ),
        (
            "04-bad-values.csv",
            6,
            "column `event_time`: `2026-11-22T10:00:00` is not an RFC 3339 timestamp",
        ),
        (
            "04-bad-values.csv",
            7,
            "column `user_id`: empty, but a value is required",
        ),
        (
            "04-bad-values.csv",
            8,
            "column `price`: `9.999` has more than 2 decimal places",
        ),
        (
            "04-bad-values.csv",
            9,
            "column `category`: field is 200 bytes, over the limit of 100",
        ),
        ("04-bad-values.csv", 10, "expected 8 fields, found 9"),
        (
            "04-bad-values.csv",
            11,
            "column `user_id`: `99999999999999999999` is out of range for bigint",
        ),
        ("05-cut-mid-row.csv", 3, "expected 8 fields, found 5"),
        ("06-cut-in-quote.csv", 3, "expected 8 fields, found 5"),
        (
            "14-binary.csv",
            3,
            "column `event_type`: contains a NUL byte",
        ),
        ("14-binary.csv", 4, "column `category`: invalid UTF-8"),
    ];
    assert_eq!(rejects.len(), expected_reasons.len(), "{rejects:#?}");
    for ((file, line, reason), (want_file, want_line, want_reason)) in
        rejects.iter().zip(expected_reasons)
    {
        assert_eq!((file.as_str(), *line), (want_file, want_line));
        assert!(
            reason.starts_with(want_reason),
            "{file}:{line}: `{reason}` should start with `{want_reason}`"
        );
    }

    let quarantined: Vec<(String, String)> = client
        .query(
            "SELECT source_file, reason FROM sluice_quarantine ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<&str> = quarantined.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected_quarantine = vec![
        "00-vanished.csv",
        "08-empty.csv",
        "09-wrong-header.csv",
        "10-no-header.csv",
        "15-utf16.csv",
        "16-directory.csv",
    ];
    if cfg!(unix) {
        expected_quarantine.push("17-symlink.csv");
    }
    assert_eq!(names, expected_quarantine);
    assert!(quarantined[0].1.contains("disappeared"));
    assert!(quarantined[1].1.starts_with("empty file"));
    assert!(quarantined[5].1.starts_with("not a regular file"));
    let quarantine_dir = input.join("quarantine");
    for name in &expected_quarantine[1..] {
        assert!(
            quarantine_dir.join(name).exists(),
            "{name} moved to quarantine"
        );
        assert!(quarantine_dir.join(format!("{name}.reason.txt")).exists());
    }

    let category: String = client
        .query_one("SELECT category FROM events WHERE event_id = 'q2'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(category, "two\nlines \"quoted\"");
    let d2: String = client
        .query_one("SELECT event_type FROM events WHERE event_id = 'd2'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(d2, "purchase", "the latest event_time wins within a batch");

    // The counters add up: every row read is upserted, deduped, absorbed or rejected.
    assert_eq!(summary.rows_rejected, 13);
    assert_eq!(summary.rows_upserted, 12);
    assert_eq!(
        summary.rows_read,
        summary.rows_upserted
            + summary.rows_deduped
            + summary.rows_unchanged
            + summary.rows_rejected
    );
    assert_eq!((summary.rows_deduped, summary.rows_unchanged), (2, 1));
    assert_eq!(summary.files_quarantined, expected_quarantine.len() as u64);
    println!(
        "reliability: hostile input files tried: {} ({} rows read: {} upserted, {} rejected with a reason, {} quarantined files); lost 0",
        summary.files,
        summary.rows_read,
        summary.rows_upserted,
        summary.rows_rejected,
        summary.files_quarantined
    );
}

/// A file the pipeline's user cannot read is quarantined with a reason that
/// says what to do, and the readable file beside it lands. Root reads
/// everything, so as root the program runs as the server's unprivileged user.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_is_quarantined_with_a_permission_reason() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;

    let scratch = Scratch::new();
    let owner = std::fs::metadata(scratch.server.data_dir()).unwrap();
    let (uid, gid) = (owner.uid(), owner.gid());
    let work = scratch.path("unprivileged");
    let input = work.join("input");
    std::fs::create_dir_all(&input).unwrap();
    write_file(
        &input,
        "readable.csv",
        &format!("{HEADER}\n{}\n", row("ok1")),
    );
    write_file(&input, "secret.csv", &format!("{HEADER}\n{}\n", row("no1")));
    // The program itself, where that user can reach it (test folders may be 0700).
    let program = work.join("sluice");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_sluice"), &program).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_sluice"), &program).unwrap();
    }
    for path in [
        &work,
        &input,
        &input.join("readable.csv"),
        &input.join("secret.csv"),
    ] {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(
        input.join("secret.csv"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();

    let mut command = std::process::Command::new(&program);
    command
        .uid(uid)
        .gid(gid)
        .current_dir(&work)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL");
    let stdout = run_ok(ingest_args(
        &mut command,
        "available-now",
        &scratch.url(),
        &input,
        &work.join("checkpoint"),
    ));
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["files_quarantined"], 1);
    assert_eq!(summary["rows_upserted"], 1);

    let client = scratch.client().await;
    let ids: Vec<String> = client
        .query("SELECT event_id FROM events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, ["ok1"]);
    let reason: String = client
        .query_one(
            "SELECT reason FROM sluice_quarantine WHERE source_file = 'secret.csv'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(reason.starts_with("permission denied"), "{reason}");
    assert!(reason.contains("chmod a+r"), "{reason}");
    let quarantine = input.join("quarantine");
    assert!(quarantine.join("secret.csv").exists());
    assert!(!input.join("secret.csv").exists());
    let reason_file = std::fs::read_to_string(quarantine.join("secret.csv.reason.txt")).unwrap();
    assert!(
        reason_file.starts_with("permission denied"),
        "{reason_file}"
    );
}

/// Rows the database refuses for their own content (a CHECK constraint, a
/// value too long for a `varchar`) become rejects with the database's
/// message, found by splitting the failing chunk; the rest of the batch
/// lands, in every write mode, and the run exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_database_refuses_becomes_a_reject_and_the_batch_goes_on() {
    use pipeline::sink::WriteMode;
    let scratch = Scratch::new();
    let client = scratch.client().await;
    for mode in WriteMode::ALL {
        let table = format!("strict_{}", mode.to_string().replace('-', "_"));
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (
                    event_id text PRIMARY KEY, event_type text NOT NULL, user_id bigint NOT NULL,
                    product_id bigint NOT NULL, category varchar(5),
                    price numeric(12,2) NOT NULL, quantity integer NOT NULL CHECK (quantity < 100),
                    event_time timestamptz NOT NULL, source_file text NOT NULL,
                    batch_id bigint NOT NULL, ingested_at timestamptz NOT NULL DEFAULT now())"
            ))
            .await
            .unwrap();
        let input = scratch.path(&table);
        std::fs::create_dir_all(&input).unwrap();
        let mut content = format!("{HEADER}\n");
        for index in 0..40 {
            let (category, quantity) = match index {
                7 => ("Books", 500),
                23 => ("Garden", 1),
                31 => ("Toys", 100),
                _ => ("Books", 1),
            };
            content.push_str(&format!(
                "r{index},page_view,1,2,{category},9.99,{quantity},{GOOD}\n"
            ));
        }
        write_file(&input, "strict.csv", &content);
        let config = pipeline::config::IngestConfig {
            input,
            checkpoint: scratch.path(&format!("{table}-checkpoint")),
            table: pipeline::schema::TableConfig {
                name: table.clone(),
                ..pipeline::schema::TableConfig::events()
            },
            chunk_rows: 16,
            write_mode: mode,
            ..scratch.config()
        };
        let summary = scratch.ingest(&config).await.unwrap();
        assert_eq!(
            (
                summary.rows_read,
                summary.rows_upserted,
                summary.rows_rejected
            ),
            (40, 37, 3),
            "{mode}"
        );
        let rejects: Vec<(String, Option<i64>, String)> = client
            .query(
                &format!("SELECT raw, line, reason FROM {table}_rejects ORDER BY raw"),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(rejects.len(), 3, "{mode}: {rejects:?}");
        assert!(
            rejects[0].0.starts_with("r23,page_view,1,2,Garden"),
            "{rejects:?}"
        );
        assert!(rejects[0].2.contains("value too long"), "{rejects:?}");
        assert!(rejects[1].0.starts_with("r31,"), "{rejects:?}");
        assert!(rejects[2].0.starts_with("r7,"), "{rejects:?}");
        for (_, line, reason) in &rejects[1..] {
            assert!(
                reason.starts_with("the database refused the row"),
                "{reason}"
            );
            assert!(reason.contains("check constraint"), "{reason}");
            assert_eq!(*line, None);
        }
        assert_eq!(
            crate::support::count(&client, &format!("SELECT count(*) FROM {table}")).await,
            37
        );
    }
}

/// A table sluice cannot write is refused at start with what is wrong, not
/// at every batch; so is a schema sluice cannot encode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_at_start_a_table_it_cannot_write() {
    let scratch = Scratch::new();
    let client = scratch.client().await;
    client
        .batch_execute(
            "CREATE TABLE events (
                event_id text, event_type text NOT NULL, user_id bigint NOT NULL,
                product_id bigint NOT NULL, category text NOT NULL, price numeric(10,2) NOT NULL,
                quantity integer NOT NULL, event_time timestamptz NOT NULL,
                source_file text NOT NULL, batch_id bigint NOT NULL)",
        )
        .await
        .unwrap();
    let error = scratch
        .ingest(&scratch.config())
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "column price is numeric(10,2) in the database but numeric(12,2)",
        "column category is NOT NULL in the database but nullable",
        "the key event_id has no primary key or unique index",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let mut config = scratch.config();
    config.table.columns[5].ty = "numeric(38,2)".into();
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(error.contains("at most 28 digits"), "{error}");
    let mut config = scratch.config();
    config.table.columns[0].nullable = true;
    let error = scratch.ingest(&config).await.unwrap_err().to_string();
    assert!(error.contains("is nullable"), "{error}");
}

/// A FIFO under a matching name is quarantined with its reason, never
/// opened in a way that waits for a writer (the run would wedge); the file
/// beside it lands.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_is_quarantined_not_waited_on() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let fifo = std::ffi::CString::new(input.join("pipe.csv").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    write_file(&input, "real.csv", &format!("{HEADER}\n{}\n", row("real1")));
    let summary = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        scratch.ingest(&scratch.config()),
    )
    .await
    .expect("the run waited on a FIFO")
    .unwrap();
    assert_eq!((summary.files, summary.files_quarantined), (2, 1));
    let client = scratch.client().await;
    let reason: String = client
        .query_one(
            "SELECT reason FROM sluice_quarantine WHERE source_file = 'pipe.csv'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(reason.contains("FIFO"), "{reason}");
    assert_eq!(
        crate::support::count(&client, "SELECT count(*) FROM events").await,
        1
    );
}

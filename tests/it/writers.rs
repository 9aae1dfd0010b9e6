//! Writers that do not rename: a file written in place is read only once
//! complete (its writer closed it, or it settled), never half-written.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    assert_table_holds_newest_versions, count, ingest_args, sluice, Scratch, HEADER,
};

const FILES: usize = 6;
const ROWS_PER_FILE: usize = 40;

/// Writes `FILES` files in place, three at a time, each slowly: pieces of 37
/// bytes (cut mid-row and mid-field) 60 ms apart; half the files stay open
/// throughout, the other half are reopened to append each piece (a logger
/// that closes after every write).
fn write_in_place_slowly(input: &std::path::Path, tag: &str) -> usize {
    let writers: Vec<_> = (0..FILES)
        .map(|file| {
            let path = input.join(format!("{tag}-{file:02}.csv"));
            let mut content = format!("{HEADER}\n");
            for row in 0..ROWS_PER_FILE {
                content.push_str(&format!(
                    "{tag}-{file}-{row},page_view,{row},{file},\"Home, Garden\",{row}.{:02},{},2026-11-22T10:00:{:02}.{:06}Z\n",
                    file,
                    row + 1,
                    row % 60,
                    file * 1000 + row
                ));
            }
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400 * (file as u64 / 3)));
                let created = std::fs::File::create(&path).unwrap();
                let mut kept_open = (file % 2 == 0).then_some(created);
                for piece in content.as_bytes().chunks(37) {
                    match &mut kept_open {
                        Some(out) => {
                            out.write_all(piece).unwrap();
                            out.flush().unwrap();
                        }
                        None => std::fs::OpenOptions::new()
                            .append(true)
                            .open(&path)
                            .unwrap()
                            .write_all(piece)
                            .unwrap(),
                    }
                    std::thread::sleep(Duration::from_millis(60));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    FILES * ROWS_PER_FILE
}

async fn ingests_files_written_in_place(trigger: &str) {
    let scratch = Scratch::new();
    let input = scratch.input();
    let mut child = ingest_args(
        &mut sluice(),
        trigger,
        &scratch.url(),
        &input,
        &scratch.path("checkpoint"),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let client = scratch.client().await;
    let expected = write_in_place_slowly(&input, "slow") as i64;
    // Under Wine, beside the rest of the suite, catching up has taken over
    // 30 s (217 of 240 rows by then, all of them when run alone).
    let deadline = Instant::now() + Duration::from_secs(90);
    // Wait until the pipeline has caught up (with a margin for any late write).
    loop {
        let stored = count(&client, "SELECT count(*) FROM events").await.max(0);
        if stored >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        count(&client, "SELECT count(*) FROM events").await,
        expected,
        "{trigger}"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM events_rejects").await,
        0,
        "{trigger}: a half-written row was read"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_quarantine").await,
        0,
        "{trigger}"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM sluice_batches, jsonb_array_elements(files) f"
        )
        .await,
        FILES as i64,
        "{trigger}: each file read once, whole"
    );
    assert_table_holds_newest_versions(&client, "events", &[&input]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_files_written_in_place_only_when_complete_on_arrival() {
    ingests_files_written_in_place("300ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_files_written_in_place_only_when_complete_continuously() {
    ingests_files_written_in_place("continuous").await;
}

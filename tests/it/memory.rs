//! Bounded memory whatever the input: a file of hundreds of MB streams in
//! chunks, and a giant record is rejected without being held whole.

#[cfg(target_os = "linux")]
use crate::hostile::{row, GOOD};
#[cfg(target_os = "linux")]
use crate::support::{ingest_args, write_file, Scratch, HEADER};

/// A file of several hundred MB streams through in bounded chunks: the
/// program's peak RSS grows far less than the file's size over its
/// footprint on a one-row file. Rows are wide (2 KB)
/// and repeat 100 ids, so the database work stays small and the test
/// measures the pipeline, not PostgreSQL.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_a_300_mb_file_in_bounded_memory() {
    use std::io::Write;

    const FILE_BYTES: u64 = 300 * 1024 * 1024;
    /// Chunks of at most 8 MiB of input, a few in flight: tens of MB.
    const GROWTH_LIMIT_MB: f64 = 96.0;
    let scratch = Scratch::new();
    let input = scratch.input();
    let lines: Vec<String> = (0..100)
        .map(|id| {
            let category = format!("{id:03}").repeat(700);
            format!("wide-{id},page_view,1,2,{category},9.99,1,{GOOD}\n")
        })
        .collect();
    let temp = input.join(".big.csv.tmp");
    let mut rows = 0u64;
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&temp).unwrap());
        writeln!(out, "{HEADER}").unwrap();
        let mut written = 0u64;
        while written < FILE_BYTES {
            let line = &lines[(rows % 100) as usize];
            out.write_all(line.as_bytes()).unwrap();
            written += line.len() as u64;
            rows += 1;
        }
    }
    std::fs::rename(&temp, input.join("big.csv")).unwrap();

    // The same program on a one-row file first: its footprint without data.
    let small = scratch.path("small");
    std::fs::create_dir_all(&small).unwrap();
    write_file(&small, "one.csv", &format!("{HEADER}\n{}\n", row("tiny1")));
    let (_, baseline_mb) = ingest_measuring_peak_rss(&scratch, &small, "checkpoint-small");
    let (output, peak_mb) = ingest_measuring_peak_rss(&scratch, &input, "checkpoint");
    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["rows_read"], rows);
    assert_eq!(summary["rows_rejected"], 0);
    assert_eq!(summary["rows_upserted"], 100);
    assert_eq!(
        summary["rows_deduped"].as_u64().unwrap() + summary["rows_unchanged"].as_u64().unwrap(),
        rows - 100
    );
    let client = scratch.client().await;
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE event_id LIKE 'wide-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 100);
    let growth_mb = peak_mb - baseline_mb;
    println!(
        "reliability: streamed a {} MB file of {rows} rows: peak RSS {peak_mb:.0} MB, \
         {growth_mb:.0} MB above the same program on a one-row file ({baseline_mb:.0} MB)",
        FILE_BYTES / (1024 * 1024)
    );
    assert!(
        baseline_mb > 0.0 && growth_mb < GROWTH_LIMIT_MB,
        "peak RSS grew by {growth_mb:.0} MB while streaming a {} MB file",
        FILE_BYTES / (1024 * 1024)
    );
}

/// Runs `sluice ingest --trigger available-now` on `input`; returns its
/// output and its peak RSS in MB, as the kernel accounted it for that
/// process alone (`wait4`'s `ru_maxrss`: no sampling that can miss the peak
/// or see nothing).
#[cfg(target_os = "linux")]
fn ingest_measuring_peak_rss(
    scratch: &Scratch,
    input: &std::path::Path,
    checkpoint: &str,
) -> (std::process::Output, f64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // Reaped by wait4 below (std's wait gives no resource usage).
    #[allow(clippy::zombie_processes)]
    let mut child = ingest_args(
        &mut crate::support::sluice(),
        "available-now",
        &scratch.url(),
        input,
        &scratch.path(checkpoint),
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        stderr.read_to_end(&mut text).unwrap();
        text
    });
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills in; the PID is our
    // own child, which std's `Child` has not waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t, "wait4 failed");
    let output = std::process::Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: out,
        stderr: errors.join().unwrap(),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak_mb = usage.ru_maxrss as f64 / 1024.0;
    assert!(peak_mb > 0.0, "the kernel reported no peak RSS");
    (output, peak_mb)
}

/// A 200 MB line with no line break, and an unclosed quote running on for
/// 20 MB: each is one reject with its reason, reading resumes at the next
/// line, the rows around them and the next file land, and the program's
/// peak RSS stays far below the record's size.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_giant_record_and_resyncs_in_bounded_memory() {
    use std::io::Write;
    /// The record limit (4 MiB by default) and a few chunks in flight.
    const GROWTH_LIMIT_MB: f64 = 64.0;
    let scratch = Scratch::new();
    let input = scratch.input();
    let write = |name: &str, fill: &dyn Fn(&mut dyn Write)| {
        let temp = input.join(format!(".{name}.tmp"));
        {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&temp).unwrap());
            fill(&mut out);
        }
        std::fs::rename(&temp, input.join(name)).unwrap();
    };
    write("a-giant-line.csv", &|out| {
        writeln!(out, "{HEADER}\n{}", row("before-giant")).unwrap();
        write!(out, "giant,page_view,1,2,").unwrap();
        let block = vec![b'x'; 1024 * 1024];
        for _ in 0..200 {
            out.write_all(&block).unwrap();
        }
        writeln!(out, ",9.99,1,{GOOD}\n{}", row("after-giant")).unwrap();
    });
    let tail_rows = 200_000u64;
    write("b-unclosed-quote.csv", &|out| {
        writeln!(out, "{HEADER}\n{}", row("before-quote")).unwrap();
        writeln!(out, "quote,page_view,1,2,\"never closed,9.99,1,{GOOD}").unwrap();
        for index in 0..tail_rows {
            writeln!(out, "{}", row(&format!("t{}", index % 1000))).unwrap();
        }
    });
    write("c-next.csv", &|out| {
        writeln!(out, "{HEADER}\n{}", row("next-file")).unwrap();
    });

    let small = scratch.path("small");
    std::fs::create_dir_all(&small).unwrap();
    write_file(&small, "one.csv", &format!("{HEADER}\n{}\n", row("tiny1")));
    let (_, baseline_mb) = ingest_measuring_peak_rss(&scratch, &small, "checkpoint-small");
    let (output, peak_mb) = ingest_measuring_peak_rss(&scratch, &input, "checkpoint");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let client = scratch.client().await;
    let landed = |id: &'static str| {
        let client = &client;
        async move {
            crate::support::count(
                client,
                &format!("SELECT count(*) FROM events WHERE event_id = '{id}'"),
            )
            .await
        }
    };
    for id in [
        "before-giant",
        "after-giant",
        "before-quote",
        "t999",
        "next-file",
    ] {
        assert_eq!(landed(id).await, 1, "{id} must land");
    }
    let rejects = crate::support::rejects_by_file(&client).await;
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(
        (rejects[0].0.as_str(), rejects[0].1),
        ("a-giant-line.csv", 3)
    );
    assert_eq!(
        (rejects[1].0.as_str(), rejects[1].1),
        ("b-unclosed-quote.csv", 3)
    );
    for (_, _, reason) in &rejects {
        assert!(reason.contains("longer than max_record_bytes"), "{reason}");
    }
    assert_eq!(summary["rows_rejected"], 2);
    assert_eq!(summary["files_quarantined"], 0);
    // Every row read is accounted for.
    let read = summary["rows_read"].as_u64().unwrap();
    let accounted = [
        "rows_upserted",
        "rows_deduped",
        "rows_unchanged",
        "rows_rejected",
    ]
    .iter()
    .map(|key| summary[key].as_u64().unwrap())
    .sum::<u64>();
    assert_eq!(read, accounted);
    let growth_mb = peak_mb - baseline_mb;
    println!(
        "reliability: a 200 MB line and a 20 MB unclosed quote rejected: peak RSS {peak_mb:.0} MB, \
         {growth_mb:.0} MB above the same program on a one-row file ({baseline_mb:.0} MB)"
    );
    assert!(
        growth_mb < GROWTH_LIMIT_MB,
        "peak RSS grew by {growth_mb:.0} MB on a 200 MB record"
    );
}

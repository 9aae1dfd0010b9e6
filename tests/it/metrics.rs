//! `sluice ingest --metrics-addr`: the run's figures, scraped over HTTP as
//! Prometheus would, agree with the database.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use crate::support::{count, ingest_args, sluice, Scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_prometheus_metrics_that_agree_with_the_table() {
    let scratch = Scratch::new();
    let generated = scratch.generate(6, 0.05, 0.03);
    let mut command = sluice();
    ingest_args(
        &mut command,
        "200ms",
        &scratch.url(),
        &scratch.input(),
        &scratch.path("checkpoint"),
    )
    .args(["--metrics-addr", "127.0.0.1:0"])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let address = stderr
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("sluice: metrics at http://")
                .and_then(|rest| rest.strip_suffix("/metrics"))
                .map(str::to_string)
        })
        .expect("sluice says where its metrics are");

    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let page = scrape(&address, "/metrics");
        if metric(&page, "sluice_files_committed_total") == Some(6.0) {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "not all files committed:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let missing = scrape(&address, "/nothing");
    child.kill().unwrap();
    child.wait().unwrap();

    let client = scratch.client().await;
    let rejected = count(&client, "SELECT count(*) FROM events_rejects").await;
    let batches = count(&client, "SELECT count(*) FROM sluice_batches").await;
    assert_eq!(
        metric(&metrics, "sluice_rows_read_total"),
        Some(generated.rows as f64),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "sluice_rows_rejected_total"),
        Some(rejected as f64)
    );
    assert_eq!(rejected as u64, generated.bad_rows);
    assert_eq!(
        metric(&metrics, "sluice_batches_committed_total"),
        Some(batches as f64)
    );
    assert_eq!(
        metric(&metrics, "sluice_batch_duration_seconds_count"),
        Some(batches as f64)
    );
    assert_eq!(
        metric(&metrics, "sluice_file_commit_lag_seconds_count"),
        Some(6.0)
    );
    assert_eq!(metric(&metrics, "sluice_backlog_files"), Some(0.0));
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(missing.contains("/metrics"), "{missing}");
}

/// One `GET` over a plain TCP connection: the whole response, head and body.
pub(crate) fn scrape(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The value of an unlabelled sample in an OpenMetrics page.
pub(crate) fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines().find_map(|line| {
        let (sample, value) = line.split_once(' ')?;
        (sample == name).then(|| value.parse().ok())?
    })
}

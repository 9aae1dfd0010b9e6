//! The report is true: its figures agree with the database computed independently.

use std::collections::HashMap;

use crate::support::Scratch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_percentiles_agree_with_sql_percentile_disc() {
    let scratch = Scratch::new();
    let generated = scratch.generate(12, 0.03, 0.02);
    let mut config = scratch.config();
    config.max_files_per_trigger = 3;
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    let out = scratch.path("report");
    let mut request = reporter::ReportRequest::new(scratch.path("manifest.jsonl"), &out);
    request.optimized_build = true;
    let summary = reporter::report(&client, &request).await.unwrap();
    assert_eq!(summary.rows.generated, generated.rows);
    assert_eq!(summary.rows.expected, generated.expected_rows);
    assert_eq!(summary.rows.found, generated.expected_rows);
    assert_eq!((summary.rows.missing, summary.rows.duplicates), (0, 0));
    assert_eq!(summary.rows.rejected, generated.bad_rows);
    assert_eq!(summary.commit_time_source, "pg_xact_commit_timestamp");

    let manifest = generator::read_manifest(&scratch.path("manifest.jsonl")).unwrap();
    let created: HashMap<String, i64> = manifest
        .iter()
        .map(|e| (e.file.clone(), e.created_at_us))
        .collect();
    let names: Vec<String> = created.keys().cloned().collect();
    let times: Vec<i64> = names.iter().map(|n| created[n]).collect();
    let row = client
        .query_one(
            "WITH m AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS m(file, created_us)),
                  l AS (SELECT (extract(epoch FROM pg_xact_commit_timestamp(e.xmin)) * 1e6)::bigint - m.created_us AS us
                        FROM events e JOIN m ON m.file = e.source_file)
             SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY us),
                    percentile_disc(0.99) WITHIN GROUP (ORDER BY us),
                    max(us), count(*),
                    percentile_disc(0.95) WITHIN GROUP (ORDER BY us) FROM l",
            &[&names, &times],
        )
        .await
        .unwrap();
    let (p50, p99, max, rows, p95): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(rows as u64, summary.latency_ms.count);
    // HdrHistogram with 3 significant digits reports highest-equivalent values.
    let close = |report_ms: f64, sql_us: i64| {
        let sql_ms = sql_us as f64 / 1000.0;
        (report_ms - sql_ms).abs() <= sql_ms * 0.002 + 0.002
    };
    assert!(
        close(summary.latency_ms.p50, p50),
        "p50 {} vs {p50} µs",
        summary.latency_ms.p50
    );
    assert!(
        close(summary.latency_ms.p99, p99),
        "p99 {} vs {p99} µs",
        summary.latency_ms.p99
    );
    assert!(
        close(summary.latency_ms.max, max),
        "max {} vs {max} µs",
        summary.latency_ms.max
    );
    assert!(out.join("report.md").exists() && out.join("summary.json").exists());

    // sql/check_run.sql, the check a user runs with psql alone, finds the
    // same files, rows and percentiles (psql is not beside the Windows server
    // binaries that CI runs under Wine).
    let Some(check) = crate::support::psql_check_run(
        &scratch.url(),
        &scratch.path("manifest.jsonl"),
        &["table=events"],
    ) else {
        return;
    };
    let ms = |us: i64| format!("{:.3}", us as f64 / 1000.0);
    assert_eq!(
        check,
        vec![
            vec![
                manifest.len().to_string(),
                generated.rows.to_string(),
                generated.expected_rows.to_string()
            ],
            vec![rows.to_string(), ms(p50), ms(p95), ms(p99), ms(max)],
        ]
    );
}

/// The server's counters as the test reads them itself: WAL position,
/// shared-buffer hits and reads, checkpoints completed.
async fn server_counters(client: &tokio_postgres::Client) -> (i64, i64, i64, i64) {
    let row = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                    (SELECT blks_hit FROM pg_stat_database WHERE datname = current_database()),
                    (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()),
                    (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// The Database internals chapter of a `sluice run` agrees with the
/// server's own views read by the test before and after the whole run (a
/// `CHECKPOINT` issued mid-run must be counted and placed in the run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_internals_agree_with_the_servers_views_read_around_the_run() {
    let scratch = Scratch::new();
    let config = scratch.path("internals.toml");
    std::fs::write(
        &config,
        "name = \"internals\"\nduration = \"6s\"\ndrain_timeout = \"30s\"\n\
         [generator]\nrows_min = 100\nrows_max = 200\ninterval = \"100ms\"\ndup_rate = 0.0\nbad_rate = 0.0\n\
         [pipeline]\ntrigger = \"500ms\"\n",
    )
    .unwrap();
    let runs = scratch.path("runs");
    let client = scratch.client().await;
    let (wal_before, hit_before, read_before, checkpoints_before) = server_counters(&client).await;
    let child = crate::support::sluice()
        .arg("run")
        .arg(&config)
        .args(["--database-url", &scratch.url()])
        .arg("--runs-dir")
        .arg(&runs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    client.batch_execute("CHECKPOINT").await.unwrap();
    let checkpoint_at_us = chrono::Utc::now().timestamp_micros();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (wal_after, hit_after, read_after, checkpoints_after) = server_counters(&client).await;

    let (run_dir, summary) = crate::support::only_run(&runs);
    let activity = &summary["database_activity"];
    assert_eq!(activity["unread"], serde_json::json!([]), "{activity}");

    // WAL: the run's readings lie inside the test's, and nothing but the
    // run wrote in between (the report only reads).
    let wal = activity["wal"]["bytes"].as_i64().unwrap();
    let independent = wal_after - wal_before;
    assert!(wal > 100_000, "{activity}");
    assert!(
        wal <= independent && independent - wal <= 64 * 1024,
        "run {wal} B, server {independent} B"
    );
    // Checkpoints: exactly the one the test asked for.
    let checkpoints = &activity["checkpoints"];
    assert_eq!(checkpoints_after - checkpoints_before, 1);
    assert_eq!(checkpoints["requested"], 1, "{checkpoints}");
    assert_eq!(checkpoints["timed"], 0, "{checkpoints}");
    let events = checkpoints["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{checkpoints}");
    assert_eq!(events[0]["requested"], true);
    let ended_by = events[0]["ended_by_us"].as_i64().unwrap();
    assert!(
        ended_by >= checkpoint_at_us - 5_000_000 && ended_by <= checkpoint_at_us + 1_500_000,
        "checkpoint seen ending at {ended_by}, issued by {checkpoint_at_us}"
    );
    // Cache: the run's ratio against the test's, which also counts the
    // report's own queries after the run's last reading.
    let ratio = activity["cache"]["hit_ratio_pct"].as_f64().unwrap();
    let (hit, read) = (hit_after - hit_before, read_after - read_before);
    let independent_ratio = hit as f64 * 100.0 / (hit + read) as f64;
    assert!(
        (ratio - independent_ratio).abs() <= 2.0,
        "run {ratio:.2} %, server {independent_ratio:.2} %"
    );
    assert!(activity["cache"]["blocks_hit"].as_i64().unwrap() <= hit);
    let inserted = activity["table"]["inserted"].as_i64().unwrap();
    assert_eq!(inserted as u64, summary["rows"]["found"].as_u64().unwrap());

    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("## Database internals"), "{report}");
    assert!(
        report.contains("| Checkpoints | 0 timed, 1 requested |"),
        "{report}"
    );
    assert!(report.contains("rule `checkpoint_stalls`"), "{report}");
}

/// The bytes a run sent to and received from the database are what a proxy
/// between sluice and the server forwarded, to the byte: received exactly;
/// sent, but for the 5-byte goodbye (`Terminate`) each connection still
/// open when the run counted sends as it closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_on_the_wire_are_what_a_proxy_between_sluice_and_the_database_forwarded() {
    let scratch = Scratch::new();
    scratch.generate(6, 0.05, 0.02);
    let proxy = CountingProxy::start(scratch.server.port()).await;
    let url = scratch.url().replace(
        &format!(":{}/", scratch.server.port()),
        &format!(":{}/", proxy.port),
    );
    let target = pipeline::db::DbTarget::parse(&format!("{url}?sslmode=disable")).unwrap();
    let mut config = scratch.config();
    config.max_files_per_trigger = 2;
    let summary = pipeline::driver::run(
        &config,
        &target,
        tokio_util::sync::CancellationToken::new(),
        std::sync::Arc::new(pipeline::driver::LogObserver),
    )
    .await
    .unwrap();
    assert_eq!(summary.batches, 3);
    let (to_server, to_client, connections) = proxy.totals_once_closed().await;
    assert!(
        connections >= 2,
        "the checkpoint lock and the sink's connections"
    );
    assert_eq!(summary.database_bytes_received, to_client);
    println!("wire: sent {} / proxy {to_server}, received {} / proxy {to_client}, {connections} connections", summary.database_bytes_sent, summary.database_bytes_received);
    let goodbyes = to_server - summary.database_bytes_sent;
    assert!(
        goodbyes <= 5 * connections && goodbyes % 5 == 0,
        "sent {} bytes, the proxy forwarded {to_server} over {connections} connections",
        summary.database_bytes_sent
    );
    // The rows themselves went over: binary COPY carries every value.
    assert!(summary.database_bytes_sent > summary.rows_upserted * 60);
}

/// A loopback proxy that forwards everything and counts the bytes in each
/// direction.
struct CountingProxy {
    port: u16,
    to_server: std::sync::Arc<std::sync::atomic::AtomicU64>,
    to_client: std::sync::Arc<std::sync::atomic::AtomicU64>,
    connections: std::sync::Arc<std::sync::atomic::AtomicU64>,
    open: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CountingProxy {
    async fn start(server_port: u16) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            port: listener.local_addr().unwrap().port(),
            to_server: Default::default(),
            to_client: Default::default(),
            connections: Default::default(),
            open: Default::default(),
        };
        let (to_server, to_client) = (proxy.to_server.clone(), proxy.to_client.clone());
        let (connections, open) = (proxy.connections.clone(), proxy.open.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                open.fetch_add(1, Ordering::SeqCst);
                let server = tokio::net::TcpStream::connect(("127.0.0.1", server_port))
                    .await
                    .unwrap();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = forward(client_read, server_write, to_server.clone());
                let down = forward(server_read, client_write, to_client.clone());
                let open = open.clone();
                tokio::spawn(async move {
                    tokio::join!(up, down);
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        proxy
    }

    /// Bytes to the server, bytes to the client and connections, once every
    /// connection has closed.
    async fn totals_once_closed(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "connections still open"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        (
            self.to_server.load(Ordering::SeqCst),
            self.to_client.load(Ordering::SeqCst),
            self.connections.load(Ordering::SeqCst),
        )
    }
}

/// Copies one direction of a connection, counting, until either side closes.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counted: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 || to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        counted.fetch_add(read as u64, std::sync::atomic::Ordering::SeqCst);
    }
    let _ = to.shutdown().await;
}

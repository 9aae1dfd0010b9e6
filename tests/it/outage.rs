//! Database outages: the pipeline keeps discovering, retries with back-off,
//! resumes by itself and loses nothing; past the deadline it stops with a
//! clear error and a restart continues exactly.

use std::sync::Arc;
use std::time::Duration;

use pipeline::config::{RetryConfig, Trigger};
use pipeline::driver::{self, PipelineError};
use tokio_util::sync::CancellationToken;

use crate::support::{count, write_file, Scratch, HEADER};

fn file_of(prefix: &str, rows: usize) -> String {
    let mut content = format!("{HEADER}\n");
    for index in 0..rows {
        content.push_str(&format!(
            "{prefix}-{index},page_view,1,2,,1.00,1,2026-11-22T10:00:00Z\n"
        ));
    }
    content
}

async fn wait_for_rows(scratch: &Scratch, rows: i64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(client) = scratch.target().connect().await {
            if let Ok(row) = client.query_one("SELECT count(*) FROM events", &[]).await {
                if row.get::<_, i64>(0) == rows {
                    return;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{rows} rows not ingested within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_ten_second_database_outage_and_resumes_by_itself() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let mut config = scratch.config();
    config.trigger = Trigger::Interval(Duration::from_millis(200));
    config.listing_interval = Duration::from_millis(300);
    config.retry = RetryConfig {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
        deadline: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    let cancel = CancellationToken::new();
    let run = {
        let (config, target, cancel) = (config.clone(), scratch.target(), cancel.clone());
        tokio::spawn(async move {
            driver::run(&config, &target, cancel, Arc::new(driver::LogObserver)).await
        })
    };
    for index in 0..3 {
        write_file(
            &input,
            &format!("before-{index}.csv"),
            &file_of(&format!("b{index}"), 50),
        );
    }
    wait_for_rows(&scratch, 150, Duration::from_secs(30)).await;

    let port = scratch.server.port();
    let down = std::time::Instant::now();
    scratch.server.cluster().stop_immediately().unwrap();
    for index in 0..4 {
        write_file(
            &input,
            &format!("during-{index}.csv"),
            &file_of(&format!("d{index}"), 50),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    let restarted = scratch.server.cluster().start_on(Some(port)).unwrap();
    let outage = down.elapsed();
    wait_for_rows(&scratch, 350, Duration::from_secs(30)).await;
    cancel.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(summary.database_retries > 0, "the outage was noticed");
    println!(
        "reliability: database outage survived: {:.1} s ({} retries); rows lost 0",
        outage.as_secs_f64(),
        summary.database_retries
    );
    assert_eq!(summary.rows_upserted, 350);
    assert_eq!(summary.files, 7);
    let client = scratch.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 350);
    assert_eq!(
        crate::support::assert_written_exactly_once(&client, "events").await,
        7
    );
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_does_not_answer_at_start_is_said_within_the_startup_wait_and_a_restart_continues(
) {
    let scratch = Scratch::new();
    let input = scratch.input();
    let mut config = scratch.config();
    write_file(&input, "first.csv", &file_of("f", 10));
    scratch.ingest(&config).await.unwrap();

    let port = scratch.server.port();
    scratch.server.cluster().stop_immediately().unwrap();
    write_file(&input, "second.csv", &file_of("s", 10));
    // The outage deadline is long; a database that does not answer at
    // start is a start-up problem, given only `startup`.
    config.retry = RetryConfig {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        deadline: Duration::from_secs(300),
        startup: Duration::from_secs(2),
    };
    let started = std::time::Instant::now();
    let error = scratch.ingest(&config).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        matches!(error, PipelineError::DatabaseUnreachableAtStart { .. }),
        "{error}"
    );
    // No batch was in flight, and the message says what to do.
    let message = error.to_string();
    assert!(
        message.contains("did not answer at start")
            && message.contains("fix the URL")
            && !message.contains("batch"),
        "{message}"
    );

    let _restarted = scratch.server.cluster().start_on(Some(port)).unwrap();
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!((summary.files, summary.rows_upserted), (1, 10));
    let client = scratch.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_the_whole_batch_when_its_connection_drops_mid_write() {
    let scratch = Scratch::new();
    let input = scratch.input();
    for index in 0..40 {
        write_file(
            &input,
            &format!("f-{index:02}.csv"),
            &file_of(&format!("r{index}"), 200),
        );
    }
    let mut config = scratch.config();
    config.batch_size = 20; // many COPY round trips: a long write to cut into
    config.chunk_rows = 200;
    // The files were renamed into place before the start: no need to wait
    // for them to settle (a listing cannot tell).
    config.settle_time = Duration::ZERO;
    config.retry = RetryConfig {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        deadline: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    let run = {
        let (config, target) = (config.clone(), scratch.target());
        tokio::spawn(async move {
            driver::run(
                &config,
                &target,
                CancellationToken::new(),
                Arc::new(driver::LogObserver),
            )
            .await
        })
    };
    let admin = scratch.client().await;
    // Cut the batch's connection as soon as it is in flight (watched every
    // 10 ms: start-up takes longer on a slow machine or under Wine), then
    // twice more, 250 ms apart.
    let mut terminated = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while terminated < 3 && !run.is_finished() && std::time::Instant::now() < deadline {
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = 'sluice' AND pid <> pg_backend_pid() AND state <> 'idle'",
                &[],
            )
            .await
            .unwrap();
        let cut = row.get::<_, i64>(0);
        terminated += cut;
        let pause = if cut > 0 { 250 } else { 10 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let summary = run.await.unwrap().unwrap();
    println!(
        "reliability: connections cut mid-batch: {terminated}, database retries: {}",
        summary.database_retries
    );
    assert!(
        terminated > 0,
        "the batch was still writing when its connection was cut"
    );
    assert!(summary.database_retries > 0);
    assert_eq!(count(&admin, "SELECT count(*) FROM events").await, 8000);
    assert_eq!(
        count(&admin, "SELECT count(DISTINCT batch_id) FROM events").await,
        1
    );
    assert_eq!(
        count(&admin, "SELECT count(*) FROM sluice_batches").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_at_once_on_an_error_that_retrying_cannot_fix() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let config = scratch.config();
    write_file(&input, "first.csv", &file_of("p", 5));
    scratch.ingest(&config).await.unwrap();
    let admin = scratch.client().await;
    admin
        .batch_execute(
            "CREATE ROLE reader LOGIN PASSWORD 'reader';
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
        )
        .await
        .unwrap();
    write_file(&input, "second.csv", &file_of("q", 5));
    let mut config = config;
    config.retry.deadline = Duration::from_secs(120);
    let reader = pipeline::db::DbTarget::parse(&format!(
        "postgres://reader:reader@127.0.0.1:{}/sluice",
        scratch.server.port()
    ))
    .unwrap();
    let started = std::time::Instant::now();
    let error = driver::run(
        &config,
        &reader,
        CancellationToken::new(),
        Arc::new(driver::LogObserver),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "not retried until the deadline"
    );
    assert!(error.to_string().contains("permission denied"), "{error}");
    assert_eq!(count(&admin, "SELECT count(*) FROM events").await, 5);
}

/// A loopback proxy to the database that forwards everything, except that
/// on the first connection that records a batch (`INSERT INTO
/// sluice_batches`), it passes the following `COMMIT` on, lets the server
/// commit, and cuts the connection before the answer reaches the client:
/// the ambiguous commit of a network failure.
async fn proxy_losing_the_first_commit_answer(server_port: u16) -> u16 {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(true));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let armed = Arc::clone(&armed);
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", server_port))
                    .await
                    .unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let cut = tokio_util::sync::CancellationToken::new();
                let to_client = {
                    let cut = cut.clone();
                    tokio::spawn(async move {
                        let mut buffer = vec![0u8; 64 * 1024];
                        loop {
                            let read = tokio::select! {
                                read = server_read.read(&mut buffer) => read,
                                _ = cut.cancelled() => return,
                            };
                            match read {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if client_write.write_all(&buffer[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    })
                };
                let commit: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
                let record: &[u8] = b"INSERT INTO sluice_batches";
                let mut recorded = false;
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    match client_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let chunk = &buffer[..n];
                            recorded |= chunk.windows(record.len()).any(|w| w == record);
                            let is_commit = chunk.windows(commit.len()).any(|w| w == commit);
                            if recorded && is_commit && armed.swap(false, Ordering::SeqCst) {
                                // Stop answering first, then let the COMMIT through.
                                cut.cancel();
                                server_write.write_all(chunk).await.unwrap();
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                return;
                            }
                            if server_write.write_all(chunk).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                to_client.abort();
            });
        }
    });
    port
}

/// The connection drops after COMMIT was sent: the batch did commit, but
/// sluice never heard so. It looks the batch up in `sluice_batches`, records
/// it as committed and goes on: no exit, no second copy, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_a_commit_whose_answer_was_lost_from_sluice_batches() {
    let scratch = Scratch::new();
    let input = scratch.input();
    for index in 0..3 {
        write_file(
            &input,
            &format!("c-{index}.csv"),
            &file_of(&format!("c{index}"), 20),
        );
    }
    let port = proxy_losing_the_first_commit_answer(scratch.server.port()).await;
    let url = scratch.url().replace(
        &format!(":{}/", scratch.server.port()),
        &format!(":{port}/"),
    );
    let target = pipeline::db::DbTarget::parse(&format!("{url}?sslmode=disable")).unwrap();
    let mut config = scratch.config();
    config.max_files_per_trigger = 1;
    config.settle_time = Duration::ZERO;
    config.retry = RetryConfig {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        deadline: Duration::from_secs(30),
        ..RetryConfig::default()
    };
    let summary = driver::run(
        &config,
        &target,
        CancellationToken::new(),
        Arc::new(driver::LogObserver),
    )
    .await
    .unwrap();
    assert!(summary.database_retries > 0, "the cut was noticed");
    let client = scratch.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM events").await, 60);
    assert_eq!(
        count(&client, "SELECT count(*) FROM sluice_batches").await,
        3
    );
    assert_eq!(
        crate::support::assert_written_exactly_once(&client, "events").await,
        3
    );
    // The checkpoint recorded it: a restart has nothing to do.
    let again = scratch.ingest(&config).await.unwrap();
    assert_eq!((again.batches, again.replayed_batches), (0, 0));
}

/// SIGTERM or Ctrl-C (the cancellation they trigger) ends every wait for an
/// unreachable database within the shutdown grace, though the retry
/// deadline is far: during a run, and at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_the_wait_for_an_unreachable_database_within_the_grace() {
    let scratch = Scratch::new();
    let input = scratch.input();
    let mut config = scratch.config();
    config.trigger = Trigger::Continuous;
    config.retry.deadline = Duration::from_secs(300);
    config.retry.startup = Duration::from_secs(300);
    let run_until_stopped = |config: pipeline::config::IngestConfig| {
        let stop = CancellationToken::new();
        let target = scratch.target();
        let run = tokio::spawn({
            let stop = stop.clone();
            async move { driver::run(&config, &target, stop, Arc::new(driver::LogObserver)).await }
        });
        (stop, run)
    };
    let grace = config.shutdown_grace;

    write_file(&input, "first.csv", &file_of("f", 10));
    let (stop, run) = run_until_stopped(config.clone());
    let client = scratch.client().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The table appears with the run's first connection: until then, 0.
    while client
        .query_one("SELECT count(*) FROM sluice_batches", &[])
        .await
        .map_or(0, |row| row.get::<_, i64>(0))
        != 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first file never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
    let port = scratch.server.port();
    scratch.server.cluster().stop_immediately().unwrap();
    write_file(&input, "second.csv", &file_of("s", 10));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.cancel();
    let summary = tokio::time::timeout(grace, run)
        .await
        .expect("the run stopped within the shutdown grace while the database was down")
        .unwrap()
        .unwrap();
    assert_eq!((summary.files, summary.rows_upserted), (1, 10));
    assert!(summary.database_retries > 0, "the outage was met");

    let (stop, run) = run_until_stopped(config.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.cancel();
    let summary = tokio::time::timeout(grace, run)
        .await
        .expect("the run stopped within the shutdown grace while waiting at start")
        .unwrap()
        .unwrap();
    assert_eq!(summary.files, 0);

    let _restarted = scratch.server.cluster().start_on(Some(port)).unwrap();
    config.trigger = Trigger::AvailableNow;
    let summary = scratch.ingest(&config).await.unwrap();
    assert_eq!((summary.files, summary.rows_upserted), (1, 10));
}

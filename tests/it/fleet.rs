//! Several workers of one pipeline (`--pipeline NAME`) on one folder and one
//! database: files are claimed through the database, each committed by
//! exactly one worker, whatever kills and outages happen.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{count, run_ok, sluice, Scratch};

const PIPELINE: &str = "orders";
const WORKERS: usize = 3;

/// Starts a worker of the pipeline, its log in `scratch/LOG`.
fn start_worker(scratch: &Scratch, input: &Path, trigger: &str, log: &str) -> Child {
    start_worker_with(scratch, input, trigger, log, &[])
}

fn start_worker_with(
    scratch: &Scratch,
    input: &Path,
    trigger: &str,
    log: &str,
    extra: &[&str],
) -> Child {
    sluice()
        .args(["ingest", "--pipeline", PIPELINE, "--trigger", trigger])
        .args(["--max-files-per-trigger", "3", "--batch-size", "7"])
        .args(["--claim-lease", "1s", "--database-url", &scratch.url()])
        .arg("--input")
        .arg(input)
        .arg("--checkpoint")
        .arg(scratch.path("checkpoints"))
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(scratch.path(log)).unwrap())
        .spawn()
        .unwrap()
}

/// The end state every fleet test requires: every valid row once with the
/// files' newest values, each bad row rejected once, each file in exactly
/// one committed batch and committed once in `sluice_files`, no claim left.
async fn assert_exactly_once(
    scratch: &Scratch,
    input: &Path,
    generated: &generator::GeneratorSummary,
) {
    let client = scratch.client().await;
    crate::support::assert_exact_outcome(&client, generated, &[input]).await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM sluice_files f JOIN sluice_batches b USING (batch_id)
             WHERE f.state = 'committed'
               AND b.files @> jsonb_build_array(jsonb_build_object('name', f.name))"
        )
        .await,
        generated.files as i64,
        "every file is committed in sluice_files by the batch that read it"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM sluice_files WHERE state = 'claimed'"
        )
        .await,
        0
    );
}

/// Files committed so far (0 before the first worker made the tables).
async fn committed_files(client: &tokio_postgres::Client) -> i64 {
    if count(client, "SELECT count(to_regclass('sluice_files'))").await == 0 {
        return 0;
    }
    count(
        client,
        "SELECT count(*) FROM sluice_files WHERE state = 'committed'",
    )
    .await
}

/// Drains what is left with one more worker once the killed workers'
/// leases ran out: it takes their claims over.
fn drain(scratch: &Scratch, input: &Path) -> String {
    std::thread::sleep(Duration::from_millis(1500));
    run_ok(
        sluice()
            .args([
                "ingest",
                "--pipeline",
                PIPELINE,
                "--trigger",
                "available-now",
            ])
            .args(["--claim-lease", "1s", "--database-url", &scratch.url()])
            .arg("--input")
            .arg(input)
            .arg("--checkpoint")
            .arg(scratch.path("checkpoints")),
    )
}

/// Three workers on one folder while files arrive; a worker picked at
/// random is killed with SIGKILL (TerminateProcess on Windows) 25 times,
/// each restarted at once. The end state is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_a_folder_exactly_once_through_25_kills() {
    const KILLS: usize = 25;
    const FILES: u64 = 120;
    let scratch = Scratch::new();
    let input = scratch.input();
    let seed = crate::cli::rand_seed();
    println!("kill schedule seed: {seed}");
    let generator = crate::support::generate_slowly(&scratch, &input, FILES);
    let trigger = |n: usize| {
        if n.is_multiple_of(2) {
            "continuous"
        } else {
            "150ms"
        }
    };
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|w| start_worker(&scratch, &input, trigger(w), &format!("worker-{w}-0.log")))
        .collect();
    let mut state = seed;
    for kill in 1..=KILLS {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(150 + (state >> 33) % 500)).await;
        let victim = ((state >> 20) % WORKERS as u64) as usize;
        assert!(
            workers[victim].try_wait().unwrap().is_none(),
            "a worker with a continuous or interval trigger exits only when told to: see {}",
            scratch.path("worker-*.log").display()
        );
        workers[victim].kill().unwrap();
        workers[victim].wait().unwrap();
        workers[victim] = start_worker(
            &scratch,
            &input,
            trigger(kill),
            &format!("worker-{victim}-{kill}.log"),
        );
    }
    let generated = generator.join().unwrap();
    // Let the fleet work on, then kill it too: the drain takes over.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for worker in &mut workers {
        worker.kill().unwrap();
        worker.wait().unwrap();
    }
    drain(&scratch, &input);
    assert_exactly_once(&scratch, &input, &generated).await;
    let client = scratch.client().await;
    let committers = count(
        &client,
        "SELECT count(DISTINCT checkpoint_id) FROM sluice_batches",
    )
    .await;
    // Under Wine a worker takes seconds to start, and the kill schedule may
    // let only one reach a commit: the sharing is then shown by the other
    // fleet tests, the exactly-once end state above by this one.
    assert!(
        committers >= 2 || cfg!(windows),
        "the work was shared (batches from {committers} worker checkpoint)"
    );
    println!(
        "fleet: {WORKERS} workers, {KILLS} kills (seed {seed}); files {FILES}; rows {}; batches \
         from {committers} worker checkpoints; lost 0; duplicated 0",
        generated.expected_rows
    );
}

/// Three workers while the database stops for a few seconds and comes back
/// on its port: they resume by themselves, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_resume_by_themselves_after_the_database_stops() {
    const FILES: u64 = 60;
    let scratch = Scratch::new();
    let input = scratch.input();
    let generator = crate::support::generate_slowly(&scratch, &input, FILES);
    // Each worker serves its metrics too.
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|w| {
            start_worker_with(
                &scratch,
                &input,
                "continuous",
                &format!("worker-{w}.log"),
                &["--metrics-addr", "127.0.0.1:0"],
            )
        })
        .collect();
    let client = scratch.client().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_files(&client).await < 3 {
        assert!(Instant::now() < deadline, "no batch committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(client);
    let port = scratch.server.port();
    scratch.server.cluster().stop_immediately().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _restarted = scratch.server.cluster().start_on(Some(port)).unwrap();
    let generated = generator.join().unwrap();
    let client = scratch.client().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let committed = committed_files(&client).await;
        if committed == FILES as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the workers did not finish after the outage: {committed} of {FILES} files committed"
        );
        for (index, worker) in workers.iter_mut().enumerate() {
            assert!(
                worker.try_wait().unwrap().is_none(),
                "worker {index} stopped: see {}",
                scratch.path(&format!("worker-{index}.log")).display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = run_ok(
        sluice()
            .args(["status", "--pipeline", PIPELINE, "--database-url"])
            .arg(scratch.url()),
    );
    println!("{status}");
    assert!(
        status.contains(&format!("{FILES} files committed, 0 claimed")),
        "{status}"
    );
    assert_eq!(status.matches("| running |").count(), WORKERS, "{status}");
    // Which worker takes the files is a race (one has taken nearly all of
    // them): the counters are checked on the one that committed the most.
    let mut committed_by = Vec::new();
    for worker in &workers {
        let sql = format!(
            "SELECT count(*) FROM sluice_files f JOIN sluice_workers w USING (pipeline, worker)
             WHERE w.pid = {} AND f.state = 'committed'",
            worker.id()
        );
        committed_by.push(count(&client, &sql).await);
    }
    let (busiest, &committed_by_it) = committed_by
        .iter()
        .enumerate()
        .max_by_key(|(_, committed)| **committed)
        .unwrap();
    assert_eq!(
        committed_by.iter().sum::<i64>(),
        FILES as i64,
        "{committed_by:?}"
    );
    let log = std::fs::read_to_string(scratch.path(&format!("worker-{busiest}.log"))).unwrap();
    let address = log
        .lines()
        .find_map(|line| {
            line.strip_prefix("sluice: metrics at http://")?
                .strip_suffix("/metrics")
        })
        .expect("each worker says where its metrics are");
    let page = crate::metrics::scrape(address, "/metrics");
    let claimed = crate::metrics::metric(&page, "sluice_files_claimed_total").unwrap();
    assert!(
        claimed >= committed_by_it as f64,
        "worker {busiest} claimed {claimed} files and committed {committed_by_it}"
    );
    for worker in &mut workers {
        worker.kill().unwrap();
        worker.wait().unwrap();
    }
    assert_exactly_once(&scratch, &input, &generated).await;
    let retried = (0..WORKERS)
        .filter(|w| {
            std::fs::read_to_string(scratch.path(&format!("worker-{w}.log")))
                .unwrap_or_default()
                .contains("database unavailable")
        })
        .count();
    println!("fleet: database outage of 4 s under {WORKERS} workers; {retried} said they waited; files committed by each {committed_by:?}; lost 0; duplicated 0");
}

//! Shared fixtures: a scratch PostgreSQL, input folders, generated files.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use embedded_pg::{Cluster, EmbeddedPostgres};
use generator::{GeneratorConfig, GeneratorSummary};
use pipeline::config::{IngestConfig, Trigger};
use pipeline::db::DbTarget;
use pipeline::driver::{self, IngestSummary, PipelineError};
use tokio_util::sync::CancellationToken;

pub const HEADER: &str =
    "event_id,event_type,user_id,product_id,category,price,quantity,event_time";

/// A scratch folder with its own PostgreSQL, stopped and removed on drop.
pub struct Scratch {
    pub server: EmbeddedPostgres,
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// A scratch folder whose cluster is a copy of [`template`]'s.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        open_to_others(dir.path());
        let cluster = Cluster::new(dir.path().join("pg")).expect("PostgreSQL binaries");
        cluster
            .init_from(template())
            .unwrap_or_else(|error| panic!("cannot copy the template PostgreSQL: {error}"));
        let server = start_with_a_retry_under_wine(&cluster);
        Self { server, dir }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn target(&self) -> DbTarget {
        DbTarget::parse(&self.url()).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn input(&self) -> PathBuf {
        let input = self.path("input");
        std::fs::create_dir_all(&input).unwrap();
        input
    }

    /// Ingest settings for this scratch folder: available-now, small chunks.
    pub fn config(&self) -> IngestConfig {
        IngestConfig {
            input: self.input(),
            checkpoint: self.path("checkpoint"),
            trigger: Trigger::AvailableNow,
            batch_size: 100,
            chunk_rows: 500,
            ..IngestConfig::default()
        }
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        self.target().connect().await.unwrap()
    }

    /// Runs the pipeline in this process until it returns.
    pub async fn ingest(&self, config: &IngestConfig) -> Result<IngestSummary, PipelineError> {
        driver::run(
            config,
            &self.target(),
            CancellationToken::new(),
            Arc::new(driver::LogObserver),
        )
        .await
    }

    /// Generates `files` files of 20–40 rows into the input folder.
    pub fn generate(&self, files: u64, dup_rate: f64, bad_rate: f64) -> GeneratorSummary {
        generate_into(
            &self.input(),
            &self.path("manifest.jsonl"),
            files,
            dup_rate,
            bad_rate,
        )
    }
}

/// Starts a cluster's server, once more under Wine: there initdb's and
/// pg_ctl's commands through cmd.exe now and then fail when two clusters
/// start at once ("Can't recognize ... as an internal or external command").
fn start_with_a_retry_under_wine(cluster: &Cluster) -> EmbeddedPostgres {
    match cluster.start() {
        Ok(server) => server,
        Err(error) if cfg!(windows) => {
            eprintln!("the test PostgreSQL did not start ({error}); trying again");
            cluster
                .start()
                .unwrap_or_else(|error| panic!("cannot start the test PostgreSQL: {error}"))
        }
        Err(error) => panic!("cannot start the test PostgreSQL: {error}"),
    }
}

/// A stopped cluster holding the sluice database, which every [`Scratch`]
/// copies instead of running initdb (seconds each, over ten under Wine, for
/// some sixty tests). Made once and kept in the temp folder, under a name
/// keyed by the server binaries and the embedded server's source, so a
/// change to either (its settings, say) makes a new one.
fn template() -> &'static Cluster {
    static TEMPLATE: OnceLock<Cluster> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let binaries = embedded_pg::find_binaries().expect("PostgreSQL binaries");
        let mut key = std::hash::DefaultHasher::new();
        (binaries, include_str!("../../postgres/src/lib.rs")).hash(&mut key);
        let dir = std::env::temp_dir().join(format!("sluice-test-pg-{:016x}", key.finish()));
        if !dir.join("PG_VERSION").is_file() {
            // Made aside and renamed into place whole: a test run stopped
            // halfway, or another one at the same time, leaves no half
            // template behind.
            let building = tempfile::tempdir().expect("temp dir");
            open_to_others(building.path());
            let made = building.path().join("pg");
            drop(start_with_a_retry_under_wine(
                &Cluster::new(&made).expect("PostgreSQL binaries"),
            ));
            if std::fs::rename(&made, &dir).is_err() && !dir.join("PG_VERSION").is_file() {
                panic!("cannot move the template PostgreSQL to {}", dir.display());
            }
        }
        Cluster::new(dir).expect("PostgreSQL binaries")
    })
}

pub fn generate_into(
    dir: &Path,
    manifest: &Path,
    files: u64,
    dup_rate: f64,
    bad_rate: f64,
) -> GeneratorSummary {
    let config = GeneratorConfig {
        dup_rate,
        bad_rate,
        ..generator_config(dir, manifest, files)
    };
    std::fs::create_dir_all(dir).unwrap();
    generator::generate(&config, &AtomicBool::new(false), &mut |_| {}).unwrap()
}

/// 20–40 rows per file, a file every 2 ms, fixed seed, ids prefixed `t-`.
pub fn generator_config(dir: &Path, manifest: &Path, files: u64) -> GeneratorConfig {
    GeneratorConfig {
        out_dir: dir.to_path_buf(),
        manifest_path: manifest.to_path_buf(),
        file_prefix: "events".into(),
        id_prefix: "t-".into(),
        rows_min: 20,
        rows_max: 40,
        interval: Duration::from_millis(2),
        duration: Duration::from_secs(1),
        max_files: Some(files),
        seed: 7,
        dup_rate: 0.0,
        bad_rate: 0.0,
        ..GeneratorConfig::default()
    }
}

/// Writes `files` generated files (3 % upstream duplicates, 2 % bad rows)
/// into `input`, one every 100 ms, on a thread.
pub fn generate_slowly(
    scratch: &Scratch,
    input: &Path,
    files: u64,
) -> std::thread::JoinHandle<generator::GeneratorSummary> {
    let config = generator::GeneratorConfig {
        interval: Duration::from_millis(100),
        dup_rate: 0.03,
        bad_rate: 0.02,
        ..generator_config(input, &scratch.path("manifest.jsonl"), files)
    };
    std::thread::spawn(move || {
        generator::generate(
            &config,
            &std::sync::atomic::AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap()
    })
}

/// The `sluice` program of this build, quiet, with no database from the environment.
pub fn sluice() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.env("RUST_LOG", "warn").env_remove("DATABASE_URL");
    command
}

/// Adds `ingest --trigger TRIGGER --database-url URL --input INPUT
/// --checkpoint CHECKPOINT` to a `sluice` command.
pub fn ingest_args<'a>(
    command: &'a mut std::process::Command,
    trigger: &str,
    url: &str,
    input: &Path,
    checkpoint: &Path,
) -> &'a mut std::process::Command {
    command
        .args(["ingest", "--trigger", trigger, "--database-url", url])
        .arg("--input")
        .arg(input)
        .arg("--checkpoint")
        .arg(checkpoint)
}

/// Runs a command that must succeed; returns its standard output.
pub fn run_ok(command: &mut std::process::Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Lets the unprivileged server user traverse a root-owned temp folder.
pub fn open_to_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes a file atomically, as the contract says writers do.
pub fn write_file(dir: &Path, name: &str, content: &str) {
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, content).unwrap();
    std::fs::rename(temp, dir.join(name)).unwrap();
}

pub async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Checks every stored value of `table` (an `events`-shaped table) against
/// the rows the contract demands from the files in `inputs`, computed by
/// another tool: Python's csv module (`newest_versions.py`). Returns the
/// number of keys checked.
///
/// Under Wine (the Windows build's CI) a Windows program cannot start the
/// Linux `python3`: there only the number of keys stored is returned (the
/// callers compare it with the keys they wrote), saying so, and their other
/// assertions (tables identical across batchings, exactly-once bookkeeping)
/// carry the check.
#[cfg(windows)]
pub async fn assert_table_holds_newest_versions(
    client: &tokio_postgres::Client,
    table: &str,
    _inputs: &[&Path],
) -> usize {
    eprintln!("{table}: values not checked against Python's csv module (no python3 under Wine)");
    count(client, &format!("SELECT count(*) FROM \"{table}\"")).await as usize
}

#[cfg(not(windows))]
pub async fn assert_table_holds_newest_versions(
    client: &tokio_postgres::Client,
    table: &str,
    inputs: &[&Path],
) -> usize {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/newest_versions.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(inputs)
        .output()
        .expect("python3 computes the expected table");
    assert!(
        output.status.success(),
        "newest_versions.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap();
    let rows = client
        .query(
            &format!(
                "SELECT event_id, event_type, user_id, product_id, category, price::text, quantity,
                        to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                        source_file
                 FROM \"{table}\""
            ),
            &[],
        )
        .await
        .unwrap();
    let mut mismatches = Vec::new();
    for row in &rows {
        let key: String = row.get(0);
        let stored = serde_json::json!([
            row.get::<_, String>(1),
            row.get::<_, i64>(2),
            row.get::<_, i64>(3),
            row.get::<_, Option<String>>(4),
            row.get::<_, String>(5),
            row.get::<_, i32>(6),
            row.get::<_, String>(7),
        ]);
        let file: String = row.get(8);
        match expected.get(&key) {
            None => mismatches.push(format!("{key}: stored, but no valid version in the files")),
            Some(want) => {
                if want["row"] != stored {
                    mismatches.push(format!("{key}: stored {stored}, expected {}", want["row"]));
                }
                let files = want["files"].as_array().unwrap();
                if !files.iter().any(|f| f == &serde_json::json!(file)) {
                    mismatches.push(format!(
                        "{key}: source_file {file}, expected one of {files:?}"
                    ));
                }
            }
        }
    }
    let stored: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    mismatches.extend(
        expected
            .keys()
            .filter(|key| !stored.contains(*key))
            .map(|key| format!("{key}: missing from {table}")),
    );
    assert!(
        mismatches.is_empty(),
        "{table} differs from the files in {} of {} keys:\n{}",
        mismatches.len(),
        expected.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    expected.len()
}

/// The end state exactly-once promises for generated files: every valid row
/// once, each bad row rejected once, each file in exactly one batch, every
/// stored value the newest version the files hold (Python's csv module).
pub async fn assert_exact_outcome(
    client: &tokio_postgres::Client,
    generated: &GeneratorSummary,
    inputs: &[&Path],
) {
    assert_eq!(
        count(client, "SELECT count(*) FROM events").await,
        generated.expected_rows as i64
    );
    assert_eq!(
        count(client, "SELECT count(*) FROM events_rejects").await,
        generated.bad_rows as i64
    );
    assert_eq!(
        assert_written_exactly_once(client, "events").await,
        generated.files as i64
    );
    assert_table_holds_newest_versions(client, "events", inputs).await;
}

/// Checks that can fail where `count(*) − count(DISTINCT key)` on a primary
/// key cannot: every committed file is in exactly one batch; every row of
/// `table` was last written by the transaction of the batch it names (its
/// `xmin` is that batch's), and that batch holds the row's source file, so
/// no replay rewrote a row committed earlier; each rejected line and each
/// quarantined file is recorded once. Returns the number of files committed.
pub async fn assert_written_exactly_once(client: &tokio_postgres::Client, table: &str) -> i64 {
    let files = count(
        client,
        "SELECT count(*) FROM sluice_batches, jsonb_array_elements(files) f",
    )
    .await;
    let distinct_files = count(
        client,
        "SELECT count(DISTINCT f->>'name') FROM sluice_batches, jsonb_array_elements(files) f",
    )
    .await;
    assert_eq!(files, distinct_files, "a file was committed in two batches");
    let misattributed = count(
        client,
        &format!(
            "SELECT count(*) FROM \"{table}\" e LEFT JOIN sluice_batches b USING (batch_id)
             WHERE b.batch_id IS NULL OR e.xmin::text <> b.xmin::text
                OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(b.files) f
                               WHERE f->>'name' = e.source_file)"
        ),
    )
    .await;
    assert_eq!(
        misattributed, 0,
        "rows of {table} rewritten by a later transaction than their batch's, or naming a batch \
         that did not read their file"
    );
    let rejects = format!("{table}_rejects");
    let repeated_rejects = count(
        client,
        &format!(
            "SELECT count(*) - count(DISTINCT (source_file, line)) FROM \"{rejects}\"
             WHERE line IS NOT NULL"
        ),
    )
    .await;
    assert_eq!(repeated_rejects, 0, "a rejected line was recorded twice");
    let repeated_quarantine = count(
        client,
        "SELECT count(*) - count(DISTINCT source_file) FROM sluice_quarantine",
    )
    .await;
    assert_eq!(repeated_quarantine, 0, "a file was quarantined twice");
    files
}

/// A required column of a configured table.
pub fn required_column(name: &str, ty: &str) -> pipeline::schema::ColumnConfig {
    pipeline::schema::ColumnConfig {
        name: name.into(),
        ty: ty.into(),
        nullable: false,
    }
}

/// `(source_file, line, reason)` of every reject in `events_rejects`, by
/// file and line.
pub async fn rejects_by_file(client: &tokio_postgres::Client) -> Vec<(String, i64, String)> {
    client
        .query(
            "SELECT source_file, line, reason FROM events_rejects ORDER BY source_file, line",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// A run folder's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// The one run folder `sluice run` made under `runs`, and its summary.
pub fn only_run(runs: &Path) -> (PathBuf, serde_json::Value) {
    let run_dir = std::fs::read_dir(runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let summary = summary(&run_dir);
    (run_dir, summary)
}

/// Runs `sql/check_run.sql` through psql on the run's manifest with the
/// given `-v` variables (`table=events`); `None` when no psql is installed.
pub fn psql_check_run(url: &str, manifest: &Path, variables: &[&str]) -> Option<Vec<Vec<String>>> {
    let psql = embedded_pg::psql_program();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/check_run.sql");
    let mut command = std::process::Command::new(psql);
    command.args(["-X", "-q", "-A", "-t", "-F", ","]);
    for variable in variables {
        command.args(["-v", variable]);
    }
    let output = command
        .arg("-f")
        .arg(&script)
        .arg(url)
        .stdin(std::fs::File::open(manifest).unwrap())
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "psql -f sql/check_run.sql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line.split(',').map(str::to_string).collect())
            .collect(),
    )
}

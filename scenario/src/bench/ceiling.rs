//! The ceiling sluice is measured against: the same files into an identical
//! table by `psql \copy` (what a user would run) and by COPY from this process.

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::SinkExt;
use pipeline::db::DbTarget;
use pipeline::schema::TableSchema;

use super::Sample;
use crate::run::RunError;

/// A table identical to `events` (same key, same four indexes) for COPY,
/// which writes neither `source_file` nor `batch_id`.
pub(super) async fn create_ceiling_table(target: &DbTarget) -> Result<(), RunError> {
    target
        .connect()
        .await?
        .batch_execute(&format!(
            "{}ALTER TABLE events ALTER source_file DROP NOT NULL, ALTER batch_id DROP NOT NULL;",
            TableSchema::events().create_table_sql()
        ))
        .await
        .map_err(pipeline::db::DbError::query("creating the ceiling table"))?;
    Ok(())
}

/// The generated CSV files, by name.
pub(super) fn csv_files(files_dir: &Path) -> Result<Vec<PathBuf>, RunError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(files_dir)
        .map_err(|source| RunError::RunDir {
            path: files_dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// `psql \copy` of every file in one psql session (a script of one `\copy`
/// per file), as a user would load them; the password travels in psql's
/// environment, not its arguments.
pub(super) fn psql_copy(
    psql: &Path,
    target: &DbTarget,
    files_dir: &Path,
    work_dir: &Path,
) -> Result<f64, RunError> {
    let columns = TableSchema::events().column_list();
    let script: String = csv_files(files_dir)?
        .iter()
        .map(|path| {
            let path = path.display().to_string().replace('\'', "''");
            format!("\\copy events ({columns}) FROM '{path}' WITH (FORMAT csv, HEADER true)\n")
        })
        .collect();
    let script_path = work_dir.join("psql-copy.sql");
    std::fs::write(&script_path, script).map_err(|source| RunError::RunDir {
        path: script_path.clone(),
        source,
    })?;
    let started = Instant::now();
    let output = std::process::Command::new(psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&script_path)
        .envs(target.libpq_env())
        .output()
        .map_err(|error| RunError::Failover(format!("cannot run psql: {error}")))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(RunError::Failover(format!(
            "psql \\copy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(seconds)
}

/// COPY of the same file bytes from this process, one COPY per file.
pub(super) async fn copy_from_process(
    target: &DbTarget,
    files_dir: &Path,
) -> Result<Sample, RunError> {
    let client = target.connect().await?;
    let sql = format!(
        "COPY events ({}) FROM STDIN (FORMAT csv, HEADER true)",
        TableSchema::events().column_list()
    );
    let cpu = cpu_time::ProcessTime::now();
    let started = Instant::now();
    let mut rows = 0;
    for path in &csv_files(files_dir)? {
        let bytes = std::fs::read(path).map_err(|source| RunError::RunDir {
            path: path.clone(),
            source,
        })?;
        let sink = client
            .copy_in(&sql)
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
        let mut sink = std::pin::pin!(sink);
        sink.send(bytes::Bytes::from(bytes))
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
        rows += sink
            .as_mut()
            .finish()
            .await
            .map_err(pipeline::db::DbError::query("COPY (ceiling)"))?;
    }
    Ok(Sample {
        rows,
        seconds: started.elapsed().as_secs_f64(),
        cpu_s_per_million_rows: cpu.elapsed().as_secs_f64() * 1e6 / rows.max(1) as f64,
        peak_rss_mb: 0.0,
    })
}

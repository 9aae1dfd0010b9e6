//! Errors of the reporter. Each message says what was wrong and what to do.

use std::path::PathBuf;

/// Why a report could not be made.
#[derive(thiserror::Error, Debug)]
pub enum ReportError {
    /// The manifest file does not exist.
    #[error(
        "manifest `{}` not found: pass the manifest the generator wrote (--manifest), \
         or run `sluice generate` first",
        path.display()
    )]
    ManifestNotFound {
        /// The path that was tried.
        path: PathBuf,
    },
    /// The manifest exists but could not be read or parsed.
    #[error("manifest `{}` is unusable: {error}", path.display())]
    Manifest {
        /// The manifest path.
        path: PathBuf,
        /// What the reader said (it names the line).
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The manifest has no entries: nothing to report on.
    #[error(
        "manifest `{}` has no entries: the generator wrote no file yet; \
         run `sluice generate` (or wait for it) before reporting",
        path.display()
    )]
    EmptyManifest {
        /// The manifest path.
        path: PathBuf,
    },
    /// The target table does not exist.
    #[error(
        "table {table} does not exist in this database: run `sluice ingest` first or pass --table"
    )]
    TableMissing {
        /// The table name, quoted as in SQL.
        table: String,
    },
    /// The target table has no column to tie its rows to the manifest's files.
    #[error(
        "table {table} has no column {column}: {why}; pass --key-column NAME (`key` in a \
         scenario's [pipeline.table]) to name the column that holds the generator's event ids"
    )]
    ColumnMissing {
        /// The table name, quoted as in SQL.
        table: String,
        /// The missing column, quoted as in SQL.
        column: String,
        /// What the column is needed for.
        why: &'static str,
    },
    /// A query failed.
    #[error("database query failed while {what}: {detail}; check the connection settings and the database's log")]
    Database {
        /// What the reporter was doing.
        what: &'static str,
        /// The server's message (tokio-postgres' own `Display` is only "db error").
        detail: String,
        /// The error itself.
        error: tokio_postgres::Error,
    },
    /// The report files could not be written.
    #[error("could not {action} `{}`: {error}; check that the directory is writable and the disk is not full", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A chart could not be drawn (the report itself is still written).
    #[error("could not draw the chart `{}`: {detail}", path.display())]
    Chart {
        /// The chart's path.
        path: PathBuf,
        /// What the drawing library said.
        detail: String,
    },
    /// A line of a run's side file (`resources.jsonl`, `events.jsonl`) is not
    /// the JSON object it should be.
    #[error("`{}` line {line} is unusable: {detail}", path.display())]
    RunFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the JSON reader said.
        detail: String,
    },
    /// `summary.json` could not be serialised (a non-finite number slipped in).
    #[error("could not serialise summary.json: {0}")]
    Json(#[from] serde_json::Error),
}

impl ReportError {
    /// Wraps a database error with what the reporter was doing, keeping the
    /// server's own message (and its detail and hint) in the text.
    pub(crate) fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> ReportError {
        move |error| {
            let detail = match error.as_db_error() {
                Some(db) => {
                    let mut s = db.message().to_string();
                    if let Some(d) = db.detail() {
                        s.push_str(&format!(" ({d})"));
                    }
                    if let Some(h) = db.hint() {
                        s.push_str(&format!("; hint: {h}"));
                    }
                    s
                }
                None => error.to_string(),
            };
            ReportError::Database {
                what,
                detail,
                error,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_missing_says_what_to_do() {
        let e = ReportError::TableMissing {
            table: "\"events\"".into(),
        };
        let msg = e.to_string();
        assert!(msg.contains("\"events\""));
        assert!(msg.contains("run `sluice ingest` first or pass --table"));
    }

    #[test]
    fn manifest_not_found_gives_the_path() {
        let e = ReportError::ManifestNotFound {
            path: PathBuf::from("/tmp/x/manifest.jsonl"),
        };
        assert!(e.to_string().contains("/tmp/x/manifest.jsonl"));
    }
}

//! `sluice check`: everything a start verifies, in the order a start meets
//! it, without ingesting or changing anything (the database's part runs in
//! a transaction that is rolled back). Each step that passes says what the
//! pipeline would do; the first that fails stops the check with the error a
//! start would give, so a wrong folder, URL or setting is learnt in seconds.

use std::path::Path;

use crate::config::IngestConfig;
use crate::db::{self, DbTarget};
use crate::discover::file_matcher;
use crate::driver::{distinct_keys_sql, input_not_a_folder, transform_sql, PipelineError};
use crate::schema::TableSchema;
use crate::transform::Transform;

/// One step that passed: what was checked, and what the pipeline would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// The part checked (`settings`, `input`, `database`, ...).
    pub step: &'static str,
    /// What was found and would be done.
    pub detail: String,
}

/// Checks `config` against `db` step by step, handing each passed step to
/// `passed` as it passes; the first problem ends the check.
pub async fn check(
    config: &IngestConfig,
    db: &DbTarget,
    passed: &mut dyn FnMut(Passed),
) -> Result<(), PipelineError> {
    config.validate().map_err(PipelineError::Config)?;
    let caps = match config.max_rows_per_trigger {
        Some(rows) => format!("{} files or {rows} rows", config.max_files_per_trigger),
        None => format!("{} files", config.max_files_per_trigger),
    };
    passed(Passed {
        step: "settings",
        detail: format!(
            "trigger {}, write mode {} (writes {}), {} rows per COPY, at most {caps} per batch",
            config.trigger, config.write_mode, config.write_timing, config.batch_size
        ),
    });

    let table = config.table.validate()?;
    passed(Passed {
        step: "table",
        detail: format!(
            "{} keyed by {} ({} columns; {}), rejects into {}",
            table.table,
            table.key,
            table.columns.len(),
            table.version.as_ref().map_or_else(
                || "the row read last wins".to_string(),
                |column| format!("of a key's versions the greatest {column} wins")
            ),
            table.rejects_table()
        ),
    });

    let sql = transform_sql(config, &table)?;
    Transform::new(sql, std::sync::Arc::new(table.clone()), config.partitions)
        .with_distinct_keys_sql(distinct_keys_sql(config, &table))
        .check()
        .await?;
    passed(Passed {
        step: "transform",
        detail: match &config.transform {
            Some(path) => format!("{} compiles against the table's columns", path.display()),
            None => "the built-in dedupe: one row per key, the newest version".to_string(),
        },
    });

    passed(Passed {
        step: "input",
        detail: input_folder(&config.input, &config.glob)?,
    });
    passed(Passed {
        step: "checkpoint",
        detail: checkpoint_folder(&config.checkpoint)?,
    });
    passed(Passed {
        step: "database",
        detail: database(db, &table).await?,
    });
    Ok(())
}

/// The input folder: a readable folder (or one a start creates) and how many
/// of its files the glob takes.
fn input_folder(input: &Path, glob: &str) -> Result<String, PipelineError> {
    let matcher = file_matcher(glob)?;
    if !input.exists() {
        return Ok(format!(
            "{} does not exist yet: a start creates it, empty; check the path if files were \
             expected there",
            input.display()
        ));
    }
    if !input.is_dir() {
        return Err(input_not_a_folder(input));
    }
    let entries = std::fs::read_dir(input).map_err(|error| {
        PipelineError::Config(format!(
            "the input folder {} cannot be read ({error}): give this user read access to it",
            input.display()
        ))
    })?;
    let matching = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && matcher.is_match(name.as_ref())
        })
        .count();
    let files = if matching == 1 {
        "file matches"
    } else {
        "files match"
    };
    Ok(format!(
        "{}: {matching} {files} `{glob}` now",
        input.display()
    ))
}

/// The checkpoint folder: writable where it is, or creatable.
fn checkpoint_folder(checkpoint: &Path) -> Result<String, PipelineError> {
    let existing = checkpoint
        .ancestors()
        .find(|dir| dir.is_dir())
        .unwrap_or(Path::new("."));
    tempfile::tempfile_in(existing).map_err(|error| {
        PipelineError::Config(format!(
            "the checkpoint folder {} cannot be written ({error} in {}): point --checkpoint at \
             a folder this user may write",
            checkpoint.display(),
            existing.display()
        ))
    })?;
    Ok(if checkpoint.is_dir() {
        format!("{}: writable", checkpoint.display())
    } else {
        format!(
            "{} does not exist yet: a start creates it",
            checkpoint.display()
        )
    })
}

/// The database: it answers, and the table is as a start needs it (checked
/// by the start's own migration, rolled back).
async fn database(db: &DbTarget, table: &TableSchema) -> Result<String, PipelineError> {
    let mut client = db.connect().await?;
    let version: String = client
        .query_one("SHOW server_version", &[])
        .await
        .map_err(db::DbError::query("asking the server's version"))?
        .get(0);
    let exists = db::check_target(&mut client, table).await?;
    Ok(format!(
        "{}: PostgreSQL {version}; the table {} {}",
        db.display(),
        table.table,
        if exists {
            "exists and takes what sluice writes"
        } else {
            "does not exist yet: a start creates it"
        }
    ))
}

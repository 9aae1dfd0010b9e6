//! `copy-merge`: binary COPY into a temporary staging table, in chunks of
//! `batch_size` rows, then one merge into the target:
//! `INSERT … SELECT … ON CONFLICT (key) DO UPDATE … WHERE … IS DISTINCT FROM …`.
//!
//! The `WHERE … IS DISTINCT FROM` makes a replay of identical rows a no-op:
//! the row keeps its first `xmin`, hence its first commit time.

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;

use super::encode::copy_rows;
use super::upsert;
use super::SinkError;
use crate::db::DbError;
use crate::schema::{TableSchema, SOURCE_FILE};

/// SQL built once per run from the validated schema.
pub(super) struct Statements {
    pub(super) create_stage: String,
    copy: String,
    merge: String,
    clear: String,
}

impl Statements {
    pub(super) fn new(table: &TableSchema) -> Self {
        let stage = table.stage_table().quoted();
        let columns = table.column_list();
        let definitions: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name.quoted(), c.ty))
            .chain([format!("{SOURCE_FILE} text")])
            .collect();
        Self {
            create_stage: format!(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} ({}) ON COMMIT DELETE ROWS",
                definitions.join(", ")
            ),
            copy: format!("COPY {stage} ({columns}, {SOURCE_FILE}) FROM STDIN (FORMAT binary)"),
            merge: format!(
                "{} SELECT {columns}, {SOURCE_FILE}, $1::bigint FROM {stage} {}",
                upsert::insert_into(table),
                upsert::on_conflict(table)
            ),
            clear: format!("TRUNCATE {stage}"),
        }
    }
}

/// Stages and merges one transformed batch; returns the rows inserted or changed.
pub(super) async fn write(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    batch_id: i64,
    batch: &RecordBatch,
    batch_size: usize,
) -> Result<u64, SinkError> {
    let mut start = 0;
    while start < batch.num_rows() {
        let end = (start + batch_size).min(batch.num_rows());
        let sink = client
            .copy_in(&statements.copy)
            .await
            .map_err(DbError::query("starting the COPY"))?;
        copy_rows(sink, batch, table, start..end)
            .await
            .map_err(SinkError::Encode)?;
        start = end;
    }
    let merge = client
        .prepare_cached(&statements.merge)
        .await
        .map_err(DbError::query("preparing the merge"))?;
    let upserted = client
        .execute(&merge, &[&batch_id])
        .await
        .map_err(DbError::query(format!("merging into {}", table.table)))?;
    client
        .batch_execute(&statements.clear)
        .await
        .map_err(DbError::query("clearing the staging table"))?;
    Ok(upserted)
}

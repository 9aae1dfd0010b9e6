//! `copy-merge`: binary COPY into a temporary staging table, in chunks of
//! `batch_size` rows, then one merge into the target:
//! `INSERT … SELECT … ON CONFLICT (key) DO UPDATE … WHERE … IS DISTINCT FROM …`.
//!
//! The `WHERE … IS DISTINCT FROM` makes a replay of identical rows a no-op:
//! the row keeps its first `xmin`, hence its first commit time.

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;

use super::encode::copy_rows;
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
        let stage = format!("\"sluice_stage_{}\"", table.table.as_str());
        let columns = table.column_list();
        let definitions: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name.quoted(), c.ty))
            .chain([format!("{SOURCE_FILE} text")])
            .collect();
        let updated: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| c.name != table.key)
            .map(|c| c.name.as_str())
            .collect();
        let on_conflict = if updated.is_empty() {
            "DO NOTHING".to_string()
        } else {
            let set: Vec<String> = updated
                .iter()
                .map(|c| format!("\"{c}\" = EXCLUDED.\"{c}\""))
                .chain([
                    format!("{SOURCE_FILE} = EXCLUDED.{SOURCE_FILE}"),
                    "batch_id = EXCLUDED.batch_id".into(),
                ])
                .collect();
            let old: Vec<String> = updated.iter().map(|c| format!("t.\"{c}\"")).collect();
            let new: Vec<String> = updated
                .iter()
                .map(|c| format!("EXCLUDED.\"{c}\""))
                .collect();
            format!(
                "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
                set.join(", "),
                old.join(", "),
                new.join(", ")
            )
        };
        Self {
            create_stage: format!(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} ({}) ON COMMIT DELETE ROWS",
                definitions.join(", ")
            ),
            copy: format!("COPY {stage} ({columns}, {SOURCE_FILE}) FROM STDIN (FORMAT binary)"),
            merge: format!(
                "INSERT INTO {} AS t ({columns}, {SOURCE_FILE}, batch_id) \
                 SELECT {columns}, {SOURCE_FILE}, $1::bigint FROM {stage} \
                 ON CONFLICT ({}) {on_conflict}",
                table.table.quoted(),
                table.key.quoted()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_rewrites_only_changed_rows() {
        let statements = Statements::new(&TableSchema::events());
        assert!(statements.merge.contains(
            "ON CONFLICT (\"event_id\") DO UPDATE SET \"event_type\" = EXCLUDED.\"event_type\""
        ));
        assert!(statements.merge.contains("WHERE (t.\"event_type\", "));
        assert!(statements
            .merge
            .contains("IS DISTINCT FROM (EXCLUDED.\"event_type\", "));
        assert!(!statements.merge.contains("t.\"event_id\""));
    }
}

//! `unnest`: one `INSERT … SELECT … FROM unnest($2::type[], …) ON CONFLICT …`
//! per `batch_size` rows, each column sent as one array parameter.

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;

use super::encode::{cell, row_types, Cell};
use super::{upsert, SinkError};
use crate::db::DbError;
use crate::schema::{TableSchema, SOURCE_FILE};

/// The statement, built once per run from the schema.
pub(super) fn statement_sql(table: &TableSchema) -> String {
    let arrays: Vec<String> = table
        .columns
        .iter()
        .map(|c| c.ty.sql_type())
        .chain(["text".to_string()])
        .enumerate()
        .map(|(index, ty)| format!("${}::{ty}[]", index + 2))
        .collect();
    format!(
        "{} SELECT u.*, $1::bigint FROM unnest({}) AS u({}, {SOURCE_FILE}) {}",
        upsert::insert_into(table),
        arrays.join(", "),
        table.column_list(),
        upsert::on_conflict(table)
    )
}

/// Upserts a transformed batch; returns the rows inserted or changed.
pub(super) async fn write(
    client: &Object,
    sql: &str,
    table: &TableSchema,
    batch_id: i64,
    batch: &RecordBatch,
    batch_size: usize,
) -> Result<u64, SinkError> {
    let types = row_types(table);
    let statement = client
        .prepare_cached(sql)
        .await
        .map_err(DbError::query("preparing the unnest insert"))?;
    let mut upserted = 0;
    let mut start = 0;
    while start < batch.num_rows() {
        let end = (start + batch_size).min(batch.num_rows());
        let mut columns: Vec<Vec<Cell<'_>>> = Vec::with_capacity(types.len());
        for (index, ty) in types.iter().enumerate() {
            let array = batch.column(index).as_ref();
            let column = (start..end)
                .map(|row| cell(array, *ty, row))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SinkError::Encode(super::EncodeError::Value(e)))?;
            columns.push(column);
        }
        let mut parameters: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(columns.len() + 1);
        parameters.push(&batch_id);
        parameters.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
        upserted += client
            .execute(&statement, &parameters)
            .await
            .map_err(DbError::query(format!("inserting into {}", table.table)))?;
        start = end;
    }
    Ok(upserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_one_typed_array_per_column() {
        let sql = statement_sql(&TableSchema::events());
        assert!(sql.contains("unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::numeric(12,2)[], $8::integer[], $9::timestamptz[], $10::text[])"), "{sql}");
        assert!(sql.contains("SELECT u.*, $1::bigint"));
    }
}

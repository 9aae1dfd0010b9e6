//! `insert`: multi-row `INSERT … VALUES (…), (…) ON CONFLICT …` statements
//! of `batch_size` rows, with bound parameters: the analogue of a JDBC
//! `batchsize`, for comparison with `copy-merge`.

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;

use super::encode::{cell, row_types, Cell};
use super::{upsert, SinkError};
use crate::db::DbError;
use crate::schema::TableSchema;

/// PostgreSQL's limit on bound parameters in one statement.
const MAX_PARAMETERS: usize = 65_535;

/// Upserts a transformed batch; returns the rows inserted or changed.
pub(super) async fn write(
    client: &Object,
    table: &TableSchema,
    batch_id: i64,
    batch: &RecordBatch,
    batch_size: usize,
) -> Result<u64, SinkError> {
    let types = row_types(table);
    // One parameter is the batch id; each row takes one per column.
    let rows_per_statement = batch_size.min((MAX_PARAMETERS - 1) / types.len()).max(1);
    let mut upserted = 0;
    let mut start = 0;
    while start < batch.num_rows() {
        let end = (start + rows_per_statement).min(batch.num_rows());
        let statement = client
            .prepare_cached(&statement_sql(table, types.len(), end - start))
            .await
            .map_err(DbError::query("preparing the insert"))?;
        let mut cells: Vec<Cell<'_>> = Vec::with_capacity((end - start) * types.len());
        for row in start..end {
            for (index, ty) in types.iter().enumerate() {
                cells.push(
                    cell(batch.column(index).as_ref(), *ty, row)
                        .map_err(|e| SinkError::Encode(super::EncodeError::Value(e)))?,
                );
            }
        }
        let mut parameters: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(cells.len() + 1);
        parameters.push(&batch_id);
        parameters.extend(cells.iter().map(|c| c as &(dyn ToSql + Sync)));
        upserted += client
            .execute(&statement, &parameters)
            .await
            .map_err(DbError::query(format!("inserting into {}", table.table)))?;
        start = end;
    }
    Ok(upserted)
}

/// `INSERT … VALUES ($2, …, $1), (…) ON CONFLICT …` for `rows` rows.
fn statement_sql(table: &TableSchema, width: usize, rows: usize) -> String {
    let mut values = Vec::with_capacity(rows);
    for row in 0..rows {
        let first = 2 + row * width;
        let placeholders: Vec<String> = (first..first + width).map(|n| format!("${n}")).collect();
        values.push(format!("({}, $1)", placeholders.join(", ")));
    }
    format!(
        "{} VALUES {} {}",
        upsert::insert_into(table),
        values.join(", "),
        upsert::on_conflict(table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_the_placeholders_row_by_row() {
        let sql = statement_sql(&TableSchema::events(), 9, 2);
        assert!(sql.contains("VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $1), ($11, $12, $13, $14, $15, $16, $17, $18, $19, $1) ON CONFLICT"), "{sql}");
    }
}

//! Arrow columns → PostgreSQL binary COPY rows.

use std::error::Error;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::schema::{ColumnType, TableSchema};

/// The PostgreSQL type a column is sent as.
pub fn pg_type(ty: ColumnType) -> Type {
    match ty {
        ColumnType::Text => Type::TEXT,
        ColumnType::Int32 => Type::INT4,
        ColumnType::Int64 => Type::INT8,
        ColumnType::Float64 => Type::FLOAT8,
        ColumnType::Bool => Type::BOOL,
        ColumnType::Decimal { .. } => Type::NUMERIC,
        ColumnType::Timestamptz => Type::TIMESTAMPTZ,
    }
}

/// Types of a transformed batch: the columns, then source_file.
pub fn copy_types(table: &TableSchema) -> Vec<Type> {
    table
        .columns
        .iter()
        .map(|c| pg_type(c.ty))
        .chain([Type::TEXT])
        .collect()
}

/// One value on its way to PostgreSQL.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Null,
    Text(&'a str),
    Int32(i32),
    Int64(i64),
    Float64(f64),
    Bool(bool),
    Decimal(Decimal),
    Timestamp(DateTime<Utc>),
}

impl ToSql for Cell<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Int32(v) => v.to_sql(ty, out),
            Cell::Int64(v) => v.to_sql(ty, out),
            Cell::Float64(v) => v.to_sql(ty, out),
            Cell::Bool(v) => v.to_sql(ty, out),
            Cell::Decimal(v) => v.to_sql(ty, out),
            Cell::Timestamp(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Reads one row's cell from a typed column.
fn cell(array: &dyn Array, ty: ColumnType, row: usize) -> Result<Cell<'_>, String> {
    if array.is_null(row) {
        return Ok(Cell::Null);
    }
    Ok(match ty {
        ColumnType::Text => Cell::Text(array.as_string::<i32>().value(row)),
        ColumnType::Int32 => Cell::Int32(array.as_primitive::<Int32Type>().value(row)),
        ColumnType::Int64 => Cell::Int64(array.as_primitive::<Int64Type>().value(row)),
        ColumnType::Float64 => Cell::Float64(array.as_primitive::<Float64Type>().value(row)),
        ColumnType::Bool => Cell::Bool(array.as_boolean().value(row)),
        ColumnType::Decimal { scale, .. } => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            Cell::Decimal(
                Decimal::try_from_i128_with_scale(value, scale as u32)
                    .map_err(|e| format!("decimal {value}e-{scale}: {e}"))?,
            )
        }
        ColumnType::Timestamptz => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            Cell::Timestamp(
                DateTime::from_timestamp_micros(micros)
                    .ok_or_else(|| format!("timestamp {micros} µs out of range"))?,
            )
        }
    })
}

/// Writes rows `range` of a transformed batch (target columns + source_file).
pub async fn write_rows(
    mut writer: std::pin::Pin<&mut BinaryCopyInWriter>,
    batch: &RecordBatch,
    table: &TableSchema,
    range: std::ops::Range<usize>,
) -> Result<(), EncodeError> {
    let types: Vec<ColumnType> = table
        .columns
        .iter()
        .map(|c| c.ty)
        .chain([ColumnType::Text])
        .collect();
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(types.len());
    for row in range {
        cells.clear();
        for (index, ty) in types.iter().enumerate() {
            cells.push(cell(batch.column(index).as_ref(), *ty, row).map_err(EncodeError::Value)?);
        }
        writer
            .as_mut()
            .write_raw(cells.iter())
            .await
            .map_err(EncodeError::Db)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode a value for PostgreSQL: {0}")]
    Value(String),
    #[error(transparent)]
    Db(tokio_postgres::Error),
}

//! Arrow columns → PostgreSQL binary COPY rows.

use std::error::Error;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::SinkExt;
use rust_decimal::Decimal;
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

/// Types of a transformed row as every write mode sends it: the target
/// columns, then source_file.
pub(super) fn row_types(table: &TableSchema) -> Vec<ColumnType> {
    table
        .columns
        .iter()
        .map(|c| c.ty)
        .chain([ColumnType::Text])
        .collect()
}

/// One value on its way to PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell<'a> {
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
pub(super) fn cell(array: &dyn Array, ty: ColumnType, row: usize) -> Result<Cell<'_>, String> {
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

/// A one-row transformed batch the database refused, as a reject: its
/// values as CSV (in the target's column order), the source file, no line
/// (the transform's output does not keep it).
pub(super) fn refused_row(
    row: &RecordBatch,
    table: &TableSchema,
    reason: String,
) -> crate::parse::RejectedRow {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut fields = Vec::with_capacity(table.columns.len());
    for index in 0..table.columns.len() {
        let text = ArrayFormatter::try_new(row.column(index).as_ref(), &options)
            .map(|formatter| formatter.value(0).to_string())
            .unwrap_or_default();
        fields.push(text);
    }
    let mut raw = Vec::new();
    {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut raw);
        let _ = writer.write_record(&fields);
        let _ = writer.flush();
    }
    let file_column = row.column(table.columns.len());
    crate::parse::RejectedRow {
        file: file_column.as_string::<i32>().value(0).to_string(),
        line: None,
        raw: String::from_utf8_lossy(&raw).trim_end().to_string(),
        reason,
    }
}

/// Signature, flags and header extension of PostgreSQL's binary COPY format.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Bytes buffered before a chunk is sent to the server.
const SEND_THRESHOLD: usize = 1 << 20;

/// Streams the given rows of a transformed batch (target columns +
/// source_file, then `batch_id` when given) as one binary COPY, encoding
/// into large buffers: tokio-postgres' `BinaryCopyInWriter` sends every
/// 4 KiB, which costs a round of the sink per few rows.
pub async fn copy_rows(
    sink: tokio_postgres::CopyInSink<Bytes>,
    batch: &RecordBatch,
    table: &TableSchema,
    rows: &[usize],
    batch_id: Option<i64>,
) -> Result<u64, EncodeError> {
    let types = row_types(table);
    let pg_types: Vec<Type> = types.iter().map(|t| pg_type(*t)).collect();
    let width = types.len() + usize::from(batch_id.is_some());
    let mut sink = std::pin::pin!(sink);
    let mut buffer = BytesMut::with_capacity(SEND_THRESHOLD + 64 * 1024);
    buffer.extend_from_slice(COPY_HEADER);
    for &row in rows {
        buffer.put_i16(width as i16);
        for (index, (ty, pg)) in types.iter().zip(&pg_types).enumerate() {
            let value = cell(batch.column(index).as_ref(), *ty, row).map_err(EncodeError::Value)?;
            let at = buffer.len();
            buffer.put_i32(0);
            let length = match value
                .to_sql(pg, &mut buffer)
                .map_err(|e| EncodeError::Value(e.to_string()))?
            {
                IsNull::Yes => -1,
                IsNull::No => (buffer.len() - at - 4) as i32,
            };
            buffer[at..at + 4].copy_from_slice(&length.to_be_bytes());
        }
        if let Some(batch_id) = batch_id {
            buffer.put_i32(8);
            buffer.put_i64(batch_id);
        }
        if buffer.len() >= SEND_THRESHOLD {
            sink.send(buffer.split().freeze())
                .await
                .map_err(EncodeError::Db)?;
        }
    }
    buffer.put_i16(-1);
    sink.send(buffer.freeze()).await.map_err(EncodeError::Db)?;
    sink.as_mut().finish().await.map_err(EncodeError::Db)
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode a value for PostgreSQL: {0}")]
    Value(String),
    #[error(transparent)]
    Db(tokio_postgres::Error),
}

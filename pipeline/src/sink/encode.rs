//! Arrow columns → PostgreSQL binary COPY rows.

use std::error::Error;

use arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampMicrosecondArray,
};
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
    let columns: Vec<ColumnWriter<'_>> = row_types(table)
        .into_iter()
        .enumerate()
        .map(|(index, ty)| ColumnWriter::new(batch.column(index).as_ref(), ty))
        .collect();
    let width = columns.len() + usize::from(batch_id.is_some());
    let mut sink = std::pin::pin!(sink);
    let mut buffer = BytesMut::with_capacity(SEND_THRESHOLD + 64 * 1024);
    buffer.extend_from_slice(COPY_HEADER);
    for &row in rows {
        buffer.put_i16(width as i16);
        for column in &columns {
            column.write(row, &mut buffer);
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

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 UTC.
const POSTGRES_EPOCH_US: i64 = 946_684_800_000_000;

/// One column of a batch, downcast once, written cell by cell in the binary
/// COPY format (length, then the value as PostgreSQL's `*send` writes it):
/// a `Cell` and its `ToSql` per value cost a dynamic downcast, and for
/// numeric an allocation, each.
enum ColumnWriter<'a> {
    Text(&'a StringArray),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Float64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Decimal(&'a Decimal128Array, u16),
    Timestamp(&'a TimestampMicrosecondArray),
}

impl<'a> ColumnWriter<'a> {
    fn new(array: &'a dyn Array, ty: ColumnType) -> Self {
        match ty {
            ColumnType::Text => Self::Text(array.as_string::<i32>()),
            ColumnType::Int32 => Self::Int32(array.as_primitive::<Int32Type>()),
            ColumnType::Int64 => Self::Int64(array.as_primitive::<Int64Type>()),
            ColumnType::Float64 => Self::Float64(array.as_primitive::<Float64Type>()),
            ColumnType::Bool => Self::Bool(array.as_boolean()),
            ColumnType::Decimal { scale, .. } => {
                Self::Decimal(array.as_primitive::<Decimal128Type>(), scale.max(0) as u16)
            }
            ColumnType::Timestamptz => {
                Self::Timestamp(array.as_primitive::<TimestampMicrosecondType>())
            }
        }
    }

    fn write(&self, row: usize, out: &mut BytesMut) {
        let null = match self {
            Self::Text(a) => a.is_null(row),
            Self::Int32(a) => a.is_null(row),
            Self::Int64(a) => a.is_null(row),
            Self::Float64(a) => a.is_null(row),
            Self::Bool(a) => a.is_null(row),
            Self::Decimal(a, _) => a.is_null(row),
            Self::Timestamp(a) => a.is_null(row),
        };
        if null {
            out.put_i32(-1);
            return;
        }
        match self {
            Self::Text(a) => {
                let text = a.value(row).as_bytes();
                out.put_i32(text.len() as i32);
                out.extend_from_slice(text);
            }
            Self::Int32(a) => {
                out.put_i32(4);
                out.put_i32(a.value(row));
            }
            Self::Int64(a) => {
                out.put_i32(8);
                out.put_i64(a.value(row));
            }
            Self::Float64(a) => {
                out.put_i32(8);
                out.put_f64(a.value(row));
            }
            Self::Bool(a) => {
                out.put_i32(1);
                out.put_u8(u8::from(a.value(row)));
            }
            Self::Decimal(a, scale) => put_numeric(out, a.value(row), *scale),
            Self::Timestamp(a) => {
                out.put_i32(8);
                out.put_i64(a.value(row) - POSTGRES_EPOCH_US);
            }
        }
    }
}

/// `unscaled × 10^-scale` as PostgreSQL's binary numeric, length first:
/// base-10 000 digits (most significant first, no leading or trailing zero
/// digit), the weight of the first, the sign and the display scale.
fn put_numeric(out: &mut BytesMut, unscaled: i128, scale: u16) {
    // Pad the fraction to whole base-10 000 digits (at most 10^3 × 10^28,
    // `schema::MAX_DECIMAL_PRECISION`: well inside u128).
    let pad = (4 - scale % 4) % 4;
    let fraction_digits = i32::from((scale + pad) / 4);
    let mut magnitude = unscaled.unsigned_abs() * 10u128.pow(u32::from(pad));
    let mut digits = [0i16; 40]; // least significant first
    let mut count = 0;
    // 128-bit steps only while the rest exceeds 64 bits: a 128-bit division
    // is a call into the compiler's runtime, a 64-bit one by a constant a
    // multiplication (prices and amounts never need the first loop).
    while magnitude > u128::from(u64::MAX) {
        digits[count] = (magnitude % 10_000) as i16;
        magnitude /= 10_000;
        count += 1;
    }
    let mut rest = magnitude as u64;
    while rest > 0 {
        digits[count] = (rest % 10_000) as i16;
        rest /= 10_000;
        count += 1;
    }
    // Trailing zero digits (the least significant) carry nothing.
    let trailing = digits[..count].iter().take_while(|&&d| d == 0).count();
    let kept = &digits[trailing..count];
    let weight = count as i32 - fraction_digits - 1;
    out.put_i32(8 + 2 * kept.len() as i32);
    out.put_i16(kept.len() as i16);
    out.put_i16(if kept.is_empty() { 0 } else { weight as i16 });
    out.put_u16(if unscaled < 0 { 0x4000 } else { 0 });
    out.put_u16(scale);
    for digit in kept.iter().rev() {
        out.put_i16(*digit);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode a value for PostgreSQL: {0}")]
    Value(String),
    #[error(transparent)]
    Db(tokio_postgres::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value a binary numeric stands for, times 10^scale, and its
    /// display scale.
    fn read_numeric(bytes: &[u8], scale: u32) -> (i128, u16) {
        let word = |at: usize| i16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let length = i32::from_be_bytes(bytes[..4].try_into().unwrap());
        assert_eq!(length as usize, bytes.len() - 4);
        let (count, weight, sign) = (word(4) as usize, word(6) as i32, word(8) as u16);
        let mut value: i128 = 0;
        for i in 0..count {
            let digit = i128::from(word(12 + 2 * i));
            assert!((0..10_000).contains(&digit));
            // digit × 10000^(weight − i) × 10^scale
            let exponent = 4 * (weight - i as i32) + scale as i32;
            value += if exponent >= 0 {
                digit * 10i128.pow(exponent as u32)
            } else {
                let divisor = 10i128.pow((-exponent) as u32);
                assert_eq!(digit % divisor, 0, "a digit below the scale");
                digit / divisor
            };
        }
        if count > 0 {
            assert_ne!(word(12), 0, "a leading zero digit");
            assert_ne!(word(12 + 2 * (count - 1)), 0, "a trailing zero digit");
        }
        (if sign == 0x4000 { -value } else { value }, word(10) as u16)
    }

    #[test]
    fn numerics_are_written_as_postgres_reads_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut cases: Vec<(i128, u16)> = vec![
            (0, 2),
            (1, 0),
            (-1, 2),
            (10_000, 0),
            (123_456_789, 2),
            (-99_999_999_999_999_999, 9),
            (100_000_000, 4),
            (i128::from(i64::MAX), 12),
            // Either side of 64 bits, and near numeric(38)'s largest.
            (i128::from(u64::MAX), 0),
            (-i128::from(u64::MAX) - 1, 0),
            (i128::from(u64::MAX) * 10_000 + 7, 3),
            (10i128.pow(37) + 12_345, 4),
        ];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let scale = (state % 13) as u16;
            let value = (state >> 8) as i64 as i128 / 10i128.pow((state % 7) as u32);
            cases.push((value, scale));
        }
        for (unscaled, scale) in cases {
            let mut out = BytesMut::new();
            put_numeric(&mut out, unscaled, scale);
            assert_eq!(
                read_numeric(&out, u32::from(scale)),
                (unscaled, scale),
                "{unscaled}e-{scale}"
            );
        }
    }

    #[test]
    fn timestamps_count_from_the_postgres_epoch() {
        let times = TimestampMicrosecondArray::from(vec![POSTGRES_EPOCH_US + 5, 0]);
        let mut out = BytesMut::new();
        let writer = ColumnWriter::new(&times, ColumnType::Timestamptz);
        writer.write(0, &mut out);
        writer.write(1, &mut out);
        let mut chrono = BytesMut::new();
        DateTime::from_timestamp_micros(0)
            .unwrap()
            .to_sql(&Type::TIMESTAMPTZ, &mut chrono)
            .unwrap();
        assert_eq!(&out[..12], [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&out[16..], &chrono[..]);
    }
}

//! The Arrow batch of good rows, one typed builder per column.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;

use super::value::Value;
use crate::schema::{ColumnType, TableSchema, UTC};

/// Builds the Arrow batch of good rows, one typed builder per column.
pub struct BatchBuilder {
    schema: Arc<Schema>,
    table: Arc<TableSchema>,
    columns: Vec<ColumnBuilder>,
    source_file: StringBuilder,
    seq: Int64Builder,
    rows: usize,
}

enum ColumnBuilder {
    Text(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Decimal(Decimal128Builder, u8, i8),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    /// A builder with room for `rows` values (and `bytes` of text): sized
    /// like the chunk before, a chunk fills it without regrowing (each
    /// doubling copies the column, and `finish` leaves a builder empty).
    pub(super) fn with_capacity(ty: ColumnType, rows: usize, bytes: usize) -> Self {
        match ty {
            ColumnType::Text => Self::Text(StringBuilder::with_capacity(rows, bytes)),
            ColumnType::Int32 => Self::Int32(Int32Builder::with_capacity(rows)),
            ColumnType::Int64 => Self::Int64(Int64Builder::with_capacity(rows)),
            ColumnType::Float64 => Self::Float64(Float64Builder::with_capacity(rows)),
            ColumnType::Bool => Self::Bool(BooleanBuilder::with_capacity(rows)),
            ColumnType::Decimal { precision, scale } => {
                Self::Decimal(Decimal128Builder::with_capacity(rows), precision, scale)
            }
            ColumnType::Timestamptz => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
        }
    }

    pub(super) fn append(&mut self, value: Value<'_>) {
        match (self, value) {
            (Self::Text(b), Value::Text(v)) => b.append_value(v),
            (Self::Int32(b), Value::Int32(v)) => b.append_value(v),
            (Self::Int64(b), Value::Int64(v)) => b.append_value(v),
            (Self::Float64(b), Value::Float64(v)) => b.append_value(v),
            (Self::Bool(b), Value::Bool(v)) => b.append_value(v),
            (Self::Decimal(b, ..), Value::Decimal(v)) => b.append_value(v),
            (Self::Timestamp(b), Value::Timestamp(v)) => b.append_value(v),
            (Self::Text(b), _) => b.append_null(),
            (Self::Int32(b), _) => b.append_null(),
            (Self::Int64(b), _) => b.append_null(),
            (Self::Float64(b), _) => b.append_null(),
            (Self::Bool(b), _) => b.append_null(),
            (Self::Decimal(b, ..), _) => b.append_null(),
            (Self::Timestamp(b), _) => b.append_null(),
        }
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Text(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
            Self::Decimal(b, precision, scale) => Arc::new(
                b.finish()
                    .with_precision_and_scale(*precision, *scale)
                    .expect("validated precision and scale"),
            ),
            Self::Timestamp(b) => Arc::new(b.finish().with_timezone(UTC)),
        }
    }
}

impl BatchBuilder {
    pub fn new(table: Arc<TableSchema>) -> Self {
        Self {
            schema: table.batch_schema(),
            columns: table
                .columns
                .iter()
                .map(|c| ColumnBuilder::with_capacity(c.ty, 0, 0))
                .collect(),
            table,
            source_file: StringBuilder::new(),
            seq: Int64Builder::new(),
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub(super) fn push(&mut self, values: &[Value<'_>], file: &str, seq: i64) {
        for (builder, value) in self.columns.iter_mut().zip(values) {
            builder.append(*value);
        }
        self.source_file.append_value(file);
        self.seq.append_value(seq);
        self.rows += 1;
    }

    /// The rows pushed so far as one batch; the builder starts empty again.
    pub fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> =
            self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        arrays.push(Arc::new(self.source_file.finish()));
        arrays.push(Arc::new(self.seq.finish()));
        // The next chunk gets the room this one took.
        let rows = self.rows;
        let text_bytes = |array: &ArrayRef| match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().value_data().len(),
            _ => 0,
        };
        for ((builder, column), array) in self
            .columns
            .iter_mut()
            .zip(&self.table.columns)
            .zip(&arrays)
        {
            *builder = ColumnBuilder::with_capacity(column.ty, rows, text_bytes(array));
        }
        let files = &arrays[self.columns.len()];
        self.source_file = StringBuilder::with_capacity(rows, text_bytes(files));
        self.seq = Int64Builder::with_capacity(rows);
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the batch schema")
    }

    pub fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }
}

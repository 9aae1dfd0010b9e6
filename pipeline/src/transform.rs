//! Transform: the batch through DataFusion SQL (`pipeline/sql/transform.sql` by
//! default): dedupe by key, normalise, filter.
//!
//! One `SessionContext` lives for the whole run; each batch is registered as
//! the table `batch`, queried, and deregistered. Output columns are cast to
//! the target types, so a user's SQL may compute them in any compatible type.

use std::sync::Arc;

use arrow::array::{new_empty_array, ArrayRef};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::schema::{TableSchema, SOURCE_FILE};

/// The transform SQL shipped with sluice, for the contract's `events` table.
pub const DEFAULT_EVENTS_SQL: &str = include_str!("../sql/transform.sql");

/// What went wrong in the transform: the SQL or its output, a configuration
/// problem (not worth retrying).
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("the transform SQL failed: {0}. Check the `transform` SQL against the table `batch` (the configured columns, source_file, _seq)")]
    Sql(#[from] datafusion::error::DataFusionError),
    #[error("the transform's output has no column `{0}`: it must return every target column and source_file")]
    MissingColumn(String),
    #[error("the transform's column `{column}` cannot be converted to {target}: {error}")]
    Cast {
        column: String,
        target: String,
        error: String,
    },
}

/// The name the SQL reads a batch under.
const BATCH_TABLE: &str = "batch";

/// Deregisters the batch when dropped, also when the transform's future is
/// dropped mid-query (a batch abandoned because its write failed): the
/// replay must find the name free.
struct Registered<'a>(&'a SessionContext);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let _ = self.0.deregister_table(BATCH_TABLE);
    }
}

/// The planned transform of one run.
pub struct Transform {
    context: SessionContext,
    sql: String,
    table: Arc<TableSchema>,
}

/// The transform's output: target columns then source_file, target types.
pub type Transformed = Vec<RecordBatch>;

impl Transform {
    /// A transform running `sql` over batches of `table`, in `partitions`
    /// parallel partitions (1 suits micro-batches: no repartition cost).
    pub fn new(sql: String, table: Arc<TableSchema>, partitions: usize) -> Self {
        let config = SessionConfig::new()
            .with_target_partitions(partitions.max(1))
            .with_batch_size(8192);
        Self {
            context: SessionContext::new_with_config(config),
            sql,
            table,
        }
    }

    /// Runs the SQL once on an empty batch, so a broken transform stops the
    /// pipeline at start with a clear message instead of at the first file.
    pub async fn check(&self) -> Result<(), TransformError> {
        let schema = self.table.batch_schema();
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| new_empty_array(f.data_type()))
            .collect();
        let empty = RecordBatch::try_new(schema, columns).expect("empty arrays match the schema");
        self.run(empty).await.map(|_| ())
    }

    /// Transforms one parsed batch. An empty batch skips the engine.
    pub async fn apply(&self, batch: RecordBatch) -> Result<Transformed, TransformError> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        self.run(batch).await
    }

    async fn run(&self, batch: RecordBatch) -> Result<Transformed, TransformError> {
        self.context.register_batch(BATCH_TABLE, batch)?;
        let _registered = Registered(&self.context);
        let result = self.context.sql(&self.sql).await?.collect().await?;
        result.into_iter().map(|out| self.conform(out)).collect()
    }

    /// Selects the target columns and source_file by name, cast to the target types.
    fn conform(&self, out: RecordBatch) -> Result<RecordBatch, TransformError> {
        let target = self.table.batch_schema();
        let wanted = &target.fields()[..self.table.columns.len() + 1];
        debug_assert_eq!(wanted.last().map(|f| f.name().as_str()), Some(SOURCE_FILE));
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut columns = Vec::with_capacity(wanted.len());
        for field in wanted {
            let array = out
                .column_by_name(field.name())
                .ok_or_else(|| TransformError::MissingColumn(field.name().clone()))?;
            let array = if array.data_type() == field.data_type() {
                array.clone()
            } else {
                cast_with_options(array, field.data_type(), &options).map_err(|error| {
                    TransformError::Cast {
                        column: field.name().clone(),
                        target: field.data_type().to_string(),
                        error: error.to_string(),
                    }
                })?
            };
            columns.push(array);
        }
        let schema = Arc::new(arrow::datatypes::Schema::new(wanted.to_vec()));
        Ok(RecordBatch::try_new(schema, columns).expect("columns match the target fields"))
    }
}

//! Transform: the batch through DataFusion SQL (`pipeline/sql/transform.sql` by
//! default): dedupe by key, normalise, filter.
//!
//! One `SessionContext` lives for the whole run, with one in-memory table
//! `batch`. Each SQL is parsed, analysed and optimised once, at the first
//! chunk; a chunk is placed in `batch` only for its physical planning (the
//! physical plan holds the data), so a chunk costs no SQL parsing and no
//! logical optimisation (both were paid per chunk before: per file on the
//! on-arrival path). Output columns are cast to the target types, so a
//! user's SQL may compute them in any compatible type.
//!
//! The built-in transforms also have a form for a chunk whose keys are all
//! distinct (the common case): their dedupe would keep every row, so only
//! the normalising runs. Profiled, the dedupe was 40 % of an ingest's CPU.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::collect;
use datafusion::prelude::{SessionConfig, SessionContext};
use tokio::sync::{Mutex, OnceCell};

use crate::schema::{TableSchema, SOURCE_FILE};

/// The transform SQL shipped with sluice, for the contract's `events` table.
pub const DEFAULT_EVENTS_SQL: &str = include_str!("../sql/transform.sql");

/// [`DEFAULT_EVENTS_SQL`] for a chunk whose keys are all distinct: the same
/// normalising, no dedupe (a test holds the two equal on such chunks).
pub const DISTINCT_KEYS_EVENTS_SQL: &str = "SELECT event_id, lower(trim(event_type)) AS \
     event_type, user_id, product_id, category, price, quantity, event_time, source_file FROM batch";

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

/// The planned transform of one run.
pub struct Transform {
    context: SessionContext,
    sql: String,
    /// The same transform for a chunk whose keys are distinct and whose
    /// versions are all present (built-in transforms only).
    distinct_keys_sql: Option<String>,
    table: Arc<TableSchema>,
    /// The table `batch`: it holds a chunk from its placing to its plan.
    chunk: Arc<MemTable>,
    /// One chunk in `chunk` at a time.
    planning: Mutex<()>,
    /// The SQL and the distinct-keys SQL as optimised logical plans.
    planned: OnceCell<(LogicalPlan, Option<LogicalPlan>)>,
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
        let context = SessionContext::new_with_config(config);
        let chunk = Arc::new(
            MemTable::try_new(table.batch_schema(), vec![Vec::new()])
                .expect("an empty table of the batch schema"),
        );
        context
            .register_table(BATCH_TABLE, Arc::clone(&chunk) as Arc<dyn TableProvider>)
            .expect("a new context has no table `batch`");
        Self {
            context,
            sql,
            distinct_keys_sql: None,
            table,
            chunk,
            planning: Mutex::new(()),
            planned: OnceCell::new(),
        }
    }

    /// Runs `sql` instead for a chunk without a repeated key (or a missing
    /// key or version): it must give what the transform gives such a chunk.
    pub fn with_distinct_keys_sql(self, sql: Option<String>) -> Self {
        Self {
            distinct_keys_sql: sql,
            ..self
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
        self.run(false, empty.clone()).await?;
        if self.distinct_keys_sql.is_some() {
            self.run(true, empty).await?;
        }
        Ok(())
    }

    /// Transforms one parsed batch. An empty batch skips the engine.
    pub async fn apply(&self, batch: RecordBatch) -> Result<Transformed, TransformError> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let distinct_keys = self.distinct_keys_sql.is_some() && self.keys_distinct(&batch);
        self.run(distinct_keys, batch).await
    }

    /// Whether no two rows share a key and none lacks its key or version:
    /// the dedupe would then keep every row as it is.
    fn keys_distinct(&self, batch: &RecordBatch) -> bool {
        let keys = batch.column(self.table.key_index());
        let version = self
            .table
            .version
            .as_ref()
            .and_then(|version| self.table.columns.iter().position(|c| &c.name == version));
        if keys.null_count() > 0 || version.is_some_and(|v| batch.column(v).null_count() > 0) {
            return false;
        }
        /// Keys in strictly increasing order (sequence numbers, time-ordered
        /// ids: most event streams) are distinct without hashing them.
        fn all_distinct<T: Ord + Hash>(values: impl ExactSizeIterator<Item = T> + Clone) -> bool {
            let mut ordered = values.clone().zip(values.clone().skip(1));
            if ordered.all(|(before, after)| before < after) {
                return true;
            }
            let mut seen = HashSet::with_capacity(values.len());
            values.into_iter().all(|value| seen.insert(value))
        }
        match keys.data_type() {
            DataType::Utf8 => all_distinct(keys.as_string::<i32>().iter()),
            DataType::Int64 => all_distinct(keys.as_primitive::<Int64Type>().values().iter()),
            DataType::Int32 => all_distinct(keys.as_primitive::<Int32Type>().values().iter()),
            _ => false,
        }
    }

    /// Runs the SQL (or, with `distinct_keys`, its distinct-keys form) on
    /// one chunk.
    async fn run(
        &self,
        distinct_keys: bool,
        batch: RecordBatch,
    ) -> Result<Transformed, TransformError> {
        let state = self.context.state();
        let (full, distinct) = self
            .planned
            .get_or_try_init(|| async {
                let optimised = |sql: String| {
                    let state = &state;
                    async move { state.optimize(&state.create_logical_plan(&sql).await?) }
                };
                let full = optimised(self.sql.clone()).await?;
                let distinct = match &self.distinct_keys_sql {
                    Some(sql) => Some(optimised(sql.clone()).await?),
                    None => None,
                };
                Ok::<_, TransformError>((full, distinct))
            })
            .await?;
        let logical = match distinct {
            Some(distinct) if distinct_keys => distinct,
            _ => full,
        };
        let physical = {
            let _one_chunk = self.planning.lock().await;
            *self.chunk.batches[0].write().await = vec![batch];
            let physical = state
                .query_planner()
                .create_physical_plan(logical, &state)
                .await;
            self.chunk.batches[0].write().await.clear();
            physical?
        };
        let result = collect(physical, state.task_ctx()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::compute::{cast, concat_batches, sort_to_indices, take_record_batch};

    /// A batch of `table` with keys `keys` (in that order), the other
    /// columns filled from the row number, `event_type` untidy.
    fn batch_of(table: &TableSchema, keys: &[i64]) -> RecordBatch {
        let schema = table.batch_schema();
        let rows = keys.len() as i64;
        let columns = schema
            .fields()
            .iter()
            .map(|field| -> ArrayRef {
                let numbers: ArrayRef = match field.name().as_str() {
                    "event_type" => Arc::new(StringArray::from_iter_values(
                        (0..rows).map(|i| [" View", "purchase ", "CART"][i as usize % 3]),
                    )),
                    "source_file" => Arc::new(StringArray::from_iter_values(
                        (0..rows).map(|i| format!("f{}.csv", i / 2)),
                    )),
                    name if *name == *table.key.as_str() => {
                        Arc::new(Int64Array::from(keys.to_vec()))
                    }
                    _ => Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i * 7 + 1))),
                };
                cast(&numbers, field.data_type()).unwrap()
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// Every row of `out`, ordered by the first column.
    fn sorted(out: Transformed) -> RecordBatch {
        let all = concat_batches(&out[0].schema(), &out).unwrap();
        let order = sort_to_indices(all.column(0), None, None).unwrap();
        take_record_batch(&all, &order).unwrap()
    }

    #[tokio::test]
    async fn the_distinct_keys_form_gives_what_the_dedupe_gives_a_chunk_of_distinct_keys() {
        let events = Arc::new(TableSchema::events());
        let mut other = TableSchema::events();
        other.version = None;
        let other = Arc::new(other);
        let cases = [
            (
                &events,
                DEFAULT_EVENTS_SQL.to_string(),
                DISTINCT_KEYS_EVENTS_SQL.to_string(),
            ),
            (
                &events,
                events.default_transform_sql(),
                events.distinct_keys_sql(),
            ),
            (
                &other,
                other.default_transform_sql(),
                other.distinct_keys_sql(),
            ),
        ];
        for (table, full, distinct) in cases {
            let transform =
                Transform::new(full, Arc::clone(table), 1).with_distinct_keys_sql(Some(distinct));
            let batch = batch_of(table, &[5, 3, 9, 1, 7, 2]);
            let deduped = sorted(transform.run(false, batch.clone()).await.unwrap());
            let fast = sorted(transform.run(true, batch).await.unwrap());
            assert_eq!(deduped, fast);
            assert_eq!(fast.num_rows(), 6);
        }
    }

    #[tokio::test]
    async fn a_chunk_with_a_repeated_key_takes_the_dedupe() {
        let table = Arc::new(TableSchema::events());
        // A marked fast form, to see which one ran.
        let marked = "SELECT event_id, event_type, user_id, product_id, category, price, \
                      quantity, event_time, 'fast' AS source_file FROM batch";
        let transform = Transform::new(DEFAULT_EVENTS_SQL.to_string(), Arc::clone(&table), 1)
            .with_distinct_keys_sql(Some(marked.to_string()));
        let files = |out: Transformed| -> Vec<String> {
            let out = sorted(out);
            let column = out
                .column_by_name(SOURCE_FILE)
                .unwrap()
                .as_string::<i32>()
                .clone();
            column.iter().map(|f| f.unwrap().to_string()).collect()
        };
        let distinct = transform.apply(batch_of(&table, &[1, 2, 3])).await.unwrap();
        assert_eq!(files(distinct), ["fast", "fast", "fast"]);
        let repeated = transform.apply(batch_of(&table, &[1, 2, 1])).await.unwrap();
        // Key 1's later row (the greater event_time) wins; no fast form.
        assert_eq!(files(repeated), ["f1.csv", "f0.csv"]);
    }
}

//! `copy-merge`: rows whose key the table does not hold yet go straight into
//! the target by binary COPY; the others are binary-COPYed into a temporary
//! staging table and merged with
//! `INSERT … SELECT … ON CONFLICT (key) DO UPDATE … WHERE … IS DISTINCT FROM …`.
//!
//! Why two paths: profiled on PostgreSQL 15 with the events table and its
//! five indexes, the merge of a staged row costs about a quarter more server
//! CPU than COPY of the same row into the target (speculative insertion and
//! the executor's row-at-a-time insert against COPY's multi-insert), and the
//! staging adds a tenth. A probe of the chunk's keys (one index lookup each,
//! in the batch's transaction, so keys written by its earlier chunks count)
//! decides the path of each row.
//!
//! The version rule holds on both paths: a key absent from the table has no
//! stored version to lose to, and a present key takes the guarded merge. A
//! key that another writer commits between the probe and the COPY makes the
//! COPY fail with a unique violation ([`SinkError::KeyRace`]): the batch is
//! written again through the merge alone (`WritePath::MergeOnly`), which
//! absorbs such conflicts; several workers of one pipeline meet this when
//! two of them hold versions of one key at once. The `WHERE … IS DISTINCT FROM` makes a replay of
//! identical rows a no-op: the row keeps its first `xmin`, hence its first
//! commit time.

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;

use super::encode::{cell, copy_rows, Cell, EncodeError};
use super::upsert;
use super::SinkError;
use crate::db::DbError;
use crate::schema::{TableSchema, SOURCE_FILE};

/// SQL built once per run from the validated schema.
pub(super) struct Statements {
    pub(super) create_stage: String,
    probe: String,
    copy_to_target: String,
    copy_to_stage: String,
    merge: String,
    clear: String,
}

impl Statements {
    pub(super) fn new(table: &TableSchema) -> Self {
        let target = table.table.quoted();
        let stage = table.stage_table().quoted();
        let columns = table.column_list();
        let key = table.key.quoted();
        let key_type = table.columns[table.key_index()].ty;
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
            probe: format!(
                "SELECT (u.position - 1)::int4 FROM unnest($1::{key_type}[]) WITH ORDINALITY \
                 AS u(key, position) JOIN {target} t ON t.{key} = u.key"
            ),
            copy_to_target: format!(
                "COPY {target} ({columns}, {SOURCE_FILE}, batch_id) FROM STDIN (FORMAT binary)"
            ),
            copy_to_stage: format!(
                "COPY {stage} ({columns}, {SOURCE_FILE}) FROM STDIN (FORMAT binary)"
            ),
            merge: format!(
                "{} SELECT {columns}, {SOURCE_FILE}, $1::bigint FROM {stage} {}",
                upsert::insert_into(table),
                upsert::on_conflict(table)
            ),
            clear: format!("TRUNCATE {stage}"),
        }
    }
}

/// Writes one transformed chunk (its keys are distinct: the transform
/// deduped them); returns the rows inserted or changed. `merge_only` sends
/// every row through the merge (used while isolating refused rows, so that
/// a key taken meanwhile is merged, not refused).
pub(super) async fn write(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    batch_id: i64,
    batch: &RecordBatch,
    batch_size: usize,
    merge_only: bool,
) -> Result<u64, SinkError> {
    let all: Vec<usize> = (0..batch.num_rows()).collect();
    if merge_only {
        return merge(client, statements, table, batch_id, batch, &all, batch_size).await;
    }
    let stored = stored_keys(client, statements, table, batch).await?;
    let (known, fresh): (Vec<usize>, Vec<usize>) = all.into_iter().partition(|&row| stored[row]);
    let mut upserted = 0;
    for rows in fresh.chunks(batch_size) {
        let sink = client
            .copy_in(&statements.copy_to_target)
            .await
            .map_err(DbError::query("starting the COPY of new keys"))?;
        upserted += copy_rows(sink, batch, table, rows, Some(batch_id))
            .await
            .map_err(|error| match error {
                EncodeError::Db(source) => {
                    let race = source.code() == Some(&SqlState::UNIQUE_VIOLATION);
                    let error = DbError::query(format!(
                        "copying new keys into {} (another writer stored one of them \
                         meanwhile: the batch is written again through the merge)",
                        table.table
                    ))(source);
                    if race {
                        SinkError::KeyRace(error)
                    } else {
                        error.into()
                    }
                }
                value => SinkError::Encode(value),
            })?;
    }
    if !known.is_empty() {
        upserted += merge(
            client, statements, table, batch_id, batch, &known, batch_size,
        )
        .await?;
    }
    Ok(upserted)
}

/// For each row of the chunk, whether the table already holds its key (as
/// this transaction sees it). A key that cannot be encoded counts as stored:
/// the merge then meets the value and reports it.
async fn stored_keys(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    batch: &RecordBatch,
) -> Result<Vec<bool>, SinkError> {
    let key_index = table.key_index();
    let key_type = table.columns[key_index].ty;
    let column = batch.column(key_index).as_ref();
    let keys: Result<Vec<Cell<'_>>, String> = (0..batch.num_rows())
        .map(|row| cell(column, key_type, row))
        .collect();
    let Ok(keys) = keys else {
        return Ok(vec![true; batch.num_rows()]);
    };
    let probe = client
        .prepare_cached(&statements.probe)
        .await
        .map_err(DbError::query("preparing the probe of stored keys"))?;
    let found = client
        .query(&probe, &[&keys])
        .await
        .map_err(DbError::query(format!(
            "looking up the chunk's keys in {}",
            table.table
        )))?;
    let mut stored = vec![false; batch.num_rows()];
    for row in found {
        let position: i32 = row.get(0);
        stored[position as usize] = true;
    }
    Ok(stored)
}

/// Stages `rows` and merges them into the target.
async fn merge(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    batch_id: i64,
    batch: &RecordBatch,
    rows: &[usize],
    batch_size: usize,
) -> Result<u64, SinkError> {
    for part in rows.chunks(batch_size) {
        let sink = client
            .copy_in(&statements.copy_to_stage)
            .await
            .map_err(DbError::query("starting the COPY"))?;
        copy_rows(sink, batch, table, part, None)
            .await
            .map_err(SinkError::Encode)?;
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

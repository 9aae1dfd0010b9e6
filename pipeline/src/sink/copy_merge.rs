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
//! decides the path of each row. A chunk whose keys rise strictly (sequence
//! numbers, time-ordered ids: most event streams) is probed by its key range
//! instead, one index descent that returns the stored keys between its
//! first and last, where the key column sorts as sluice compares (integers,
//! or text under a byte-order collation: `C` or `POSIX`); the per-key probe
//! took 13 % of the writer's database time per file at 58 000 rows/s.
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

use std::cmp::Ordering;

use arrow::record_batch::RecordBatch;
use deadpool_postgres::Object;
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::encode::{cell, copy_rows, Cell, EncodeError};
use super::upsert;
use super::SinkError;
use crate::db::DbError;
use crate::schema::{ColumnType, TableSchema, SOURCE_FILE};

/// SQL built once per run from the validated schema.
pub(super) struct Statements {
    pub(super) create_stage: String,
    probe: String,
    range_probe: String,
    /// Whether the key column sorts in the order [`key_order`] compares
    /// (asked of the database at the first range probe).
    key_sorts_bytewise: OnceCell<bool>,
    key_sort_question: Option<String>,
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
            range_probe: format!(
                "SELECT t.{key} FROM {target} t \
                 WHERE t.{key} >= $1::{key_type} AND t.{key} <= $2::{key_type} LIMIT $3"
            ),
            key_sorts_bytewise: OnceCell::new(),
            key_sort_question: key_sort_question(table),
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
    if rising(&keys) && key_sorts_bytewise(client, statements, table).await? {
        if let Some(stored) = stored_in_range(client, statements, table, &keys).await? {
            return Ok(stored);
        }
    }
    stored_each(client, statements, table, &keys).await
}

/// The per-key probe: one index lookup per key.
async fn stored_each(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    keys: &[Cell<'_>],
) -> Result<Vec<bool>, SinkError> {
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
    let mut stored = vec![false; keys.len()];
    for row in found {
        let position: i32 = row.get(0);
        stored[position as usize] = true;
    }
    Ok(stored)
}

/// The range probe of rising `keys`: the stored keys between the first and
/// the last, each found in the chunk by binary search (a stored key between
/// them that the chunk lacks, another writer's, is passed over). `None`
/// when the range holds more stored keys than twice the chunk (keys of
/// other writers interleaved with this one's): the per-key probe is then
/// cheaper.
async fn stored_in_range(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
    keys: &[Cell<'_>],
) -> Result<Option<Vec<bool>>, SinkError> {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(Some(Vec::new()));
    };
    let limit = 2 * keys.len() as i64;
    let probe = client
        .prepare_cached(&statements.range_probe)
        .await
        .map_err(DbError::query("preparing the range probe of stored keys"))?;
    let found = client
        .query(&probe, &[first, last, &limit])
        .await
        .map_err(DbError::query(format!(
            "looking up the chunk's key range in {}",
            table.table
        )))?;
    if found.len() as i64 >= limit {
        return Ok(None);
    }
    let mut stored = vec![false; keys.len()];
    for row in &found {
        let key = stored_key(row, &keys[0]);
        if let Ok(position) = keys.binary_search_by(|probe| key_order(probe, &key)) {
            stored[position] = true;
        }
    }
    Ok(Some(stored))
}

/// A key the range probe returned, as the chunk's keys are (`like`'s type).
fn stored_key<'r>(row: &'r Row, like: &Cell<'_>) -> Cell<'r> {
    match like {
        Cell::Text(_) => Cell::Text(row.get(0)),
        Cell::Int32(_) => Cell::Int32(row.get(0)),
        _ => Cell::Int64(row.get(0)),
    }
}

/// The order keys are compared in for the range probe: text by its bytes
/// (as PostgreSQL's `C` collation does), integers by value; other types
/// (and NULL) are not ordered here.
fn key_order(a: &Cell<'_>, b: &Cell<'_>) -> Ordering {
    match (a, b) {
        (Cell::Text(a), Cell::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Cell::Int32(a), Cell::Int32(b)) => a.cmp(b),
        (Cell::Int64(a), Cell::Int64(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

/// Whether the keys rise strictly in [`key_order`] (which orders only text
/// and integers, so keys of another type never count as rising).
fn rising(keys: &[Cell<'_>]) -> bool {
    keys.len() > 1
        && keys.windows(2).all(|pair| {
            matches!(pair[0], Cell::Text(_) | Cell::Int32(_) | Cell::Int64(_))
                && key_order(&pair[0], &pair[1]) == Ordering::Less
        })
}

/// Whether the table's key column sorts as [`key_order`] compares: an
/// integer column, or a text column whose collation is `C` or `POSIX`
/// (or the database's default, when that is a libc `C` or `POSIX`).
/// Asked once per run.
async fn key_sorts_bytewise(
    client: &Object,
    statements: &Statements,
    table: &TableSchema,
) -> Result<bool, SinkError> {
    let Some(question) = &statements.key_sort_question else {
        return Ok(true);
    };
    let answer = statements
        .key_sorts_bytewise
        .get_or_try_init(|| async {
            let row = client
                .query_opt(question, &[&table.table.quoted(), &table.key.as_str()])
                .await
                .map_err(DbError::query(format!(
                    "reading the collation of {}'s key column",
                    table.table
                )))?;
            Ok::<bool, DbError>(row.is_some_and(|row| row.get::<_, Option<bool>>(0) == Some(true)))
        })
        .await?;
    Ok(*answer)
}

/// The catalog question behind [`key_sorts_bytewise`], none for an integer
/// key: `$1` the quoted table, `$2` the key column's name. `datlocprovider` (PostgreSQL 15 and
/// later; an ICU default does not sort by bytes) is read through `to_jsonb`
/// so the query also runs on servers that lack the column.
fn key_sort_question(table: &TableSchema) -> Option<String> {
    match table.columns[table.key_index()].ty {
        ColumnType::Int32 | ColumnType::Int64 => None,
        _ => Some(
            "SELECT CASE \
                WHEN c.collnamespace = 'pg_catalog'::regnamespace AND c.collname IN ('C', 'POSIX') THEN true \
                WHEN c.oid = 100 THEN (SELECT coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') = 'c' \
                                              AND d.datcollate IN ('C', 'POSIX') \
                                       FROM pg_database d WHERE d.datname = current_database()) \
                ELSE false END \
              FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation \
              WHERE a.attrelid = to_regclass($1) AND a.attname = $2"
                .into(),
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_keys_rise_strictly_by_bytes_or_by_value() {
        assert!(rising(&[
            Cell::Text("A1"),
            Cell::Text("B2"),
            Cell::Text("a0")
        ]));
        assert!(rising(&[Cell::Int64(-5), Cell::Int64(0), Cell::Int64(7)]));
        assert!(rising(&[Cell::Int32(1), Cell::Int32(2)]));
        // A repeated key, a fall, a lone key, NULL and unordered types: no.
        assert!(!rising(&[Cell::Text("a"), Cell::Text("a")]));
        assert!(!rising(&[Cell::Text("b"), Cell::Text("a")]));
        assert!(!rising(&[Cell::Text("a")]));
        assert!(!rising(&[Cell::Null, Cell::Text("a")]));
        assert!(!rising(&[Cell::Bool(false), Cell::Bool(true)]));
        // "é" (0xC3 0xA9) sorts after "z" by bytes, as under `C`.
        assert!(rising(&[Cell::Text("z"), Cell::Text("é")]));
    }

    #[test]
    fn a_stored_key_is_found_in_the_chunk_only_when_equal() {
        let keys = [Cell::Text("k1"), Cell::Text("k3"), Cell::Text("k5")];
        let find = |key: &str| keys.binary_search_by(|probe| key_order(probe, &Cell::Text(key)));
        assert_eq!(find("k3"), Ok(1));
        assert!(find("k2").is_err());
        assert!(find("k30").is_err());
    }
}

//! Reading `sluice_batches`: what the database says committed. Recovery asks
//! it whether an interrupted batch committed, and rebuilds the set of
//! processed files from it when the checkpoint folder is damaged.

use crate::checkpoint::{CommittedBatch, CommittedFile, FileRecord, FileVersion, ProcessedFiles};
use crate::db::DbError;

/// Batches of checkpoint `checkpoint_id` with ids above `after`, oldest first.
pub async fn committed_after(
    client: &tokio_postgres::Client,
    checkpoint_id: &str,
    after: Option<u64>,
) -> Result<Vec<CommittedBatch>, DbError> {
    let after = after.map_or(0, |id| id as i64);
    let rows = client
        .query(
            "SELECT batch_id, files::text
             FROM sluice_batches WHERE checkpoint_id = $1 AND batch_id > $2 ORDER BY batch_id",
            &[&checkpoint_id, &after],
        )
        .await
        .map_err(DbError::query("reading committed batches"))?;
    rows.iter()
        .map(|row| {
            Ok(CommittedBatch {
                batch_id: row.get::<_, i64>(0) as u64,
                files: parse_files(row.get(1))?,
            })
        })
        .collect()
}

/// The `files` column: `[{"name", "size", "mtime_us", …}]`.
fn parse_files(json: &str) -> Result<Vec<CommittedFile>, DbError> {
    serde_json::from_str(json).map_err(|error| DbError::Ledger {
        detail: format!("sluice_batches.files is not the expected JSON: {error}"),
    })
}

/// The highest batch id checkpoint `checkpoint_id` committed.
pub async fn last_batch_id(
    client: &tokio_postgres::Client,
    checkpoint_id: &str,
) -> Result<Option<u64>, DbError> {
    let row = client
        .query_one(
            "SELECT max(batch_id) FROM sluice_batches WHERE checkpoint_id = $1",
            &[&checkpoint_id],
        )
        .await
        .map_err(DbError::query("reading the checkpoint's last batch id"))?;
    Ok(row.get::<_, Option<i64>>(0).map(|id| id as u64))
}

/// Moves the batch id sequence past `batch_id`, an id a plan already holds
/// (a plan written before the sequence existed, or by hand).
pub async fn reserve_batch_id(
    client: &tokio_postgres::Client,
    batch_id: u64,
) -> Result<(), DbError> {
    client
        .execute(
            "SELECT setval('sluice_batch_ids', $1) WHERE $1 >= (SELECT CASE WHEN is_called \
             THEN last_value + 1 ELSE last_value END FROM sluice_batch_ids)",
            &[&(batch_id as i64)],
        )
        .await
        .map_err(DbError::query("reserving a planned batch id"))?;
    Ok(())
}

/// A new batch id, unique across every pipeline writing this database.
pub async fn next_batch_id(client: &tokio_postgres::Client) -> Result<u64, DbError> {
    let row = client
        .query_one("SELECT nextval('sluice_batch_ids')", &[])
        .await
        .map_err(DbError::query("taking a new batch id"))?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Rows of `table` that batches of checkpoint `checkpoint_id` upserted, and
/// whether the table holds any row at all: a table emptied by hand under a
/// checkpoint that ingested into it is caught at start.
pub async fn target_state(
    client: &tokio_postgres::Client,
    table: &crate::schema::TableSchema,
    checkpoint_id: &str,
) -> Result<(i64, bool), DbError> {
    let upserted: i64 = client
        .query_one(
            "SELECT coalesce(sum(rows_upserted), 0)::bigint FROM sluice_batches
             WHERE checkpoint_id = $1 AND target_table = $2",
            &[&checkpoint_id, &table.table.as_str()],
        )
        .await
        .map_err(DbError::query("reading what the checkpoint ingested"))?
        .get(0);
    let has_rows: bool = client
        .query_one(
            &format!("SELECT EXISTS (SELECT 1 FROM {})", table.table.quoted()),
            &[],
        )
        .await
        .map_err(DbError::query(format!("reading the table {}", table.table)))?
        .get(0);
    Ok((upserted, has_rows))
}

/// Every file checkpoint `checkpoint_id` committed (rebuild after damage).
pub async fn committed_files(
    client: &tokio_postgres::Client,
    checkpoint_id: &str,
) -> Result<ProcessedFiles, DbError> {
    let rows = client
        .query(
            "SELECT f->>'name', (f->>'size')::bigint, (f->>'mtime_us')::bigint,
                    (f->>'hash')::bigint, f ? 'quarantined'
             FROM sluice_batches, jsonb_array_elements(files) f WHERE checkpoint_id = $1",
            &[&checkpoint_id],
        )
        .await
        .map_err(DbError::query("reading committed files"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let size: Option<i64> = row.get(1);
            let mtime_us: Option<i64> = row.get(2);
            let version = size.zip(mtime_us).map(|(size, mtime_us)| FileVersion {
                size: size as u64,
                mtime_us,
            });
            let hash: Option<i64> = row.get(3);
            let record = FileRecord {
                version,
                hash: hash.map(|hash| hash as u32),
                quarantined: row.get(4),
            };
            (row.get(0), record)
        })
        .collect())
}

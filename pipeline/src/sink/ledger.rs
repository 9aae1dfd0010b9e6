//! Reading `sluice_batches`: what the database says committed. Recovery asks
//! it whether an interrupted batch committed, and rebuilds the set of
//! processed files from it when the checkpoint folder is damaged.

use crate::checkpoint::{CommittedBatch, CommittedFile, FileVersion, ProcessedFiles};
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

/// The highest batch id of any target (ids are unique across the database).
pub async fn max_batch_id(client: &tokio_postgres::Client) -> Result<Option<u64>, DbError> {
    let row = client
        .query_one("SELECT max(batch_id) FROM sluice_batches", &[])
        .await
        .map_err(DbError::query("reading the last batch id"))?;
    Ok(row.get::<_, Option<i64>>(0).map(|id| id as u64))
}

/// Every file checkpoint `checkpoint_id` committed (rebuild after damage).
pub async fn committed_files(
    client: &tokio_postgres::Client,
    checkpoint_id: &str,
) -> Result<ProcessedFiles, DbError> {
    let rows = client
        .query(
            "SELECT f->>'name', (f->>'size')::bigint, (f->>'mtime_us')::bigint
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
            (row.get(0), version)
        })
        .collect())
}

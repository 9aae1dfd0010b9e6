//! Reading `sluice_batches`: what the database says committed. Recovery asks
//! it whether an interrupted batch committed, and rebuilds the set of
//! processed files from it when the checkpoint folder is damaged.

use std::collections::HashSet;

use crate::checkpoint::CommittedBatch;
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
            "SELECT batch_id, ARRAY(SELECT f->>'name' FROM jsonb_array_elements(files) f)
             FROM sluice_batches WHERE checkpoint_id = $1 AND batch_id > $2 ORDER BY batch_id",
            &[&checkpoint_id, &after],
        )
        .await
        .map_err(DbError::query("reading committed batches"))?;
    Ok(rows
        .iter()
        .map(|row| CommittedBatch {
            batch_id: row.get::<_, i64>(0) as u64,
            files: row.get(1),
        })
        .collect())
}

/// The highest batch id of any target (ids are unique across the database).
pub async fn max_batch_id(client: &tokio_postgres::Client) -> Result<Option<u64>, DbError> {
    let row = client
        .query_one("SELECT max(batch_id) FROM sluice_batches", &[])
        .await
        .map_err(DbError::query("reading the last batch id"))?;
    Ok(row.get::<_, Option<i64>>(0).map(|id| id as u64))
}

/// Every file name checkpoint `checkpoint_id` committed (rebuild after damage).
pub async fn committed_files(
    client: &tokio_postgres::Client,
    checkpoint_id: &str,
) -> Result<HashSet<String>, DbError> {
    let rows = client
        .query(
            "SELECT f->>'name' FROM sluice_batches, jsonb_array_elements(files) f WHERE checkpoint_id = $1",
            &[&checkpoint_id],
        )
        .await
        .map_err(DbError::query("reading committed files"))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

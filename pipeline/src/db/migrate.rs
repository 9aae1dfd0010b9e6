//! The bookkeeping tables (versioned migrations), the target table's check, and the reset a sweep needs between runs.

use super::DbError;
use crate::schema::{Ident, TableSchema};

/// Bookkeeping migrations, in order: (version, SQL with `{rejects}` placeholders).
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../sql/migrations/0001_bookkeeping.sql")),
    (2, include_str!("../../sql/migrations/0002_claims.sql")),
];

/// Creates or upgrades the bookkeeping tables and the target table, idempotently.
/// Concurrent callers serialise on an advisory lock.
pub async fn migrate(
    client: &mut tokio_postgres::Client,
    table: &TableSchema,
) -> Result<(), DbError> {
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting the migration"))?;
    apply_migrations(&transaction, table).await?;
    transaction
        .commit()
        .await
        .map_err(DbError::query("committing the migration"))
}

/// What [`migrate`] would find and do, without changing anything: the same
/// statements and checks in a transaction that is rolled back. Says whether
/// the target table exists already.
pub async fn check_target(
    client: &mut tokio_postgres::Client,
    table: &TableSchema,
) -> Result<bool, DbError> {
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting the check"))?;
    let exists: bool = transaction
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&table.table.quoted()],
        )
        .await
        .map_err(DbError::query(format!(
            "looking for the table {}",
            table.table
        )))?
        .get(0);
    apply_migrations(&transaction, table).await?;
    transaction
        .rollback()
        .await
        .map_err(DbError::query("rolling the check back"))?;
    Ok(exists)
}

/// The migrations, the batch id sequence, the target table and the check of
/// its columns, in the caller's transaction.
pub(super) async fn apply_migrations(
    transaction: &tokio_postgres::Transaction<'_>,
    table: &TableSchema,
) -> Result<(), DbError> {
    transaction
        .batch_execute(
            "SELECT pg_advisory_xact_lock(7250923411);
             CREATE TABLE IF NOT EXISTS sluice_migrations (
                 target text NOT NULL,
                 version integer NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                 PRIMARY KEY (target, version))",
        )
        .await
        .map_err(DbError::query("creating sluice_migrations"))?;
    let target = table.table.as_str();
    // Every migration is idempotent and runs at every start, so bookkeeping
    // tables dropped by hand come back instead of failing every batch.
    for (version, sql) in MIGRATIONS {
        let rejects = table.rejects_table();
        let sql = sql
            .replace(
                "{rejects_file_index}",
                &rejects.derived("_file_idx").quoted(),
            )
            .replace("{rejects}", &rejects.quoted());
        if any_missing(transaction, &sql).await? {
            transaction
                .batch_execute(&sql)
                .await
                .map_err(DbError::query(format!("applying migration {version}")))?;
        }
        transaction
            .execute(
                "INSERT INTO sluice_migrations (target, version) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&target, version],
            )
            .await
            .map_err(DbError::query("recording a migration"))?;
    }
    // Batch ids come from one sequence, so pipelines sharing the database
    // never collide; it starts after any id written before it existed.
    transaction
        .batch_execute(
            "CREATE SEQUENCE IF NOT EXISTS sluice_batch_ids;
             SELECT setval('sluice_batch_ids', m) FROM (SELECT max(batch_id) AS m FROM sluice_batches) b
             WHERE m >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
                         FROM sluice_batch_ids)",
        )
        .await
        .map_err(DbError::query("creating the batch id sequence"))?;
    let create_table = table.create_table_sql();
    if any_missing(transaction, &create_table).await? {
        transaction
            .batch_execute(&create_table)
            .await
            .map_err(DbError::query(format!(
                "creating the table {}",
                table.table
            )))?;
    }
    check_columns(transaction, table).await
}

/// The tables and indexes `sql` creates (`CREATE … IF NOT EXISTS name`).
fn created_relations(sql: &str) -> Vec<&str> {
    sql.split("IF NOT EXISTS ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '(').next())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Whether a table or index that `sql` creates is missing. Its statements
/// run only then: `CREATE INDEX IF NOT EXISTS` takes a SHARE lock on its
/// table even when the index exists, and a worker starting beside others
/// whose batches hold the target and then `sluice_files` would deadlock
/// with them (seen with three workers starting at once).
async fn any_missing(
    transaction: &tokio_postgres::Transaction<'_>,
    sql: &str,
) -> Result<bool, DbError> {
    let names = created_relations(sql);
    let missing: i64 = transaction
        .query_one(
            "SELECT count(*) FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NULL",
            &[&names],
        )
        .await
        .map_err(DbError::query("looking for the bookkeeping tables"))?
        .get(0);
    Ok(missing > 0)
}

/// Forgets a target table: drops it and its rejects table and deletes what
/// the bookkeeping tables record about it (its migrations, its batches and
/// their quarantine rows and committed files), in one transaction, so the next [`migrate`]
/// creates both tables afresh and no earlier batch of the same name counts.
/// Bookkeeping tables that do not exist yet are skipped.
pub async fn forget_target(
    client: &mut tokio_postgres::Client,
    table: &Ident,
) -> Result<(), DbError> {
    let name = table.as_str();
    let transaction = client
        .transaction()
        .await
        .map_err(DbError::query("starting to forget a table"))?;
    let row = transaction
        .query_one(
            "SELECT to_regclass('sluice_batches') IS NOT NULL, \
                    to_regclass('sluice_quarantine') IS NOT NULL, \
                    to_regclass('sluice_migrations') IS NOT NULL, \
                    to_regclass('sluice_files') IS NOT NULL",
            &[],
        )
        .await
        .map_err(DbError::query("looking for the bookkeeping tables"))?;
    let (batches, quarantine, migrations, files): (bool, bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let mut statements = Vec::new();
    if batches && files {
        statements.push(
            "DELETE FROM sluice_files WHERE batch_id IN \
             (SELECT batch_id FROM sluice_batches WHERE target_table = $1)",
        );
    }
    if batches && quarantine {
        statements.push(
            "DELETE FROM sluice_quarantine WHERE batch_id IN \
             (SELECT batch_id FROM sluice_batches WHERE target_table = $1)",
        );
    }
    if batches {
        statements.push("DELETE FROM sluice_batches WHERE target_table = $1");
    }
    if migrations {
        statements.push("DELETE FROM sluice_migrations WHERE target = $1");
    }
    for sql in statements {
        transaction
            .execute(sql, &[&name])
            .await
            .map_err(DbError::query(format!("forgetting the batches of {table}")))?;
    }
    transaction
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {}, {}",
            table.quoted(),
            table.derived("_rejects").quoted()
        ))
        .await
        .map_err(DbError::query(format!(
            "dropping {table} and its rejects table"
        )))?;
    transaction
        .commit()
        .await
        .map_err(DbError::query(format!("committing the removal of {table}")))
}

/// Checks that the target table can take what sluice writes: every
/// configured column with its type (text may be `varchar`), no NOT NULL
/// where the configuration allows empty values, no other required column
/// without a default, and a primary key or unique index on the key alone
/// (the upsert's conflict target).
pub(super) async fn check_columns(
    client: &tokio_postgres::Transaction<'_>,
    table: &TableSchema,
) -> Result<(), DbError> {
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
                    EXISTS (SELECT 1 FROM pg_index i
                            WHERE i.indrelid = a.attrelid AND (i.indisprimary OR i.indisunique)
                              AND i.indnatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL)
             FROM pg_attribute a
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table.table.quoted()],
        )
        .await
        .map_err(DbError::query("reading the target table's columns"))?;
    let present: Vec<ExistingColumn> = rows
        .iter()
        .map(|row| ExistingColumn {
            name: row.get(0),
            ty: row.get(1),
            not_null: row.get(2),
            has_default: row.get(3),
            unique: row.get(4),
        })
        .collect();
    let problems = table_problems(table, &present);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DbError::TableMismatch {
            table: table.table.to_string(),
            problems: problems.join("; "),
        })
    }
}

/// A column of the existing target table, as the catalog describes it.
#[derive(Debug, Clone)]
pub(super) struct ExistingColumn {
    name: String,
    /// `format_type`: `numeric(12,2)`, `timestamp with time zone`, …
    ty: String,
    not_null: bool,
    has_default: bool,
    /// Alone under a primary key or a unique index.
    unique: bool,
}

/// What keeps sluice from writing `existing` as `table` is configured (pure).
pub(super) fn table_problems(table: &TableSchema, existing: &[ExistingColumn]) -> Vec<String> {
    use crate::schema::ColumnType;
    let mut problems = Vec::new();
    let find = |name: &str| existing.iter().find(|c| c.name == name);
    for column in &table.columns {
        let Some(found) = find(column.name.as_str()) else {
            problems.push(format!("column {} is missing", column.name));
            continue;
        };
        let expected = match column.ty {
            ColumnType::Timestamptz => "timestamp with time zone".to_string(),
            other => other.sql_type(),
        };
        let fits = found.ty == expected
            || (column.ty == ColumnType::Text && found.ty.starts_with("character varying"));
        if !fits {
            problems.push(format!(
                "column {} is {} in the database but {} in the configuration",
                column.name, found.ty, expected
            ));
        }
        if column.nullable && found.not_null {
            problems.push(format!(
                "column {} is NOT NULL in the database but nullable in the configuration                  (an empty field would be refused)",
                column.name
            ));
        }
    }
    for (name, ty) in [("source_file", "text"), ("batch_id", "bigint")] {
        match find(name) {
            None => problems.push(format!("column {name} is missing")),
            Some(found) if found.ty != ty => problems.push(format!(
                "column {name} is {} in the database; sluice writes {ty}",
                found.ty
            )),
            Some(_) => {}
        }
    }
    let written = |name: &str| {
        table.columns.iter().any(|c| c.name.as_str() == name)
            || ["source_file", "batch_id"].contains(&name)
    };
    for extra in existing
        .iter()
        .filter(|c| c.not_null && !c.has_default && !written(&c.name))
    {
        problems.push(format!(
            "column {} is NOT NULL without a default and sluice does not write it",
            extra.name
        ));
    }
    if find(table.key.as_str()).is_some_and(|key| !key.unique) {
        problems.push(format!(
            "the key {} has no primary key or unique index of its own (the upsert's conflict target)",
            table.key
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_relations_a_migration_creates() {
        let sql = "CREATE TABLE IF NOT EXISTS \"events_rejects\" (a int);\n\
                   CREATE INDEX IF NOT EXISTS \"x_idx\" ON t (a);\n\
                   CREATE TABLE IF NOT EXISTS sluice_batches(\n a int);";
        assert_eq!(
            created_relations(sql),
            ["\"events_rejects\"", "\"x_idx\"", "sluice_batches"]
        );
    }

    fn existing(name: &str, ty: &str, not_null: bool) -> ExistingColumn {
        ExistingColumn {
            name: name.into(),
            ty: ty.into(),
            not_null,
            has_default: false,
            unique: name == "event_id",
        }
    }

    fn events_as_created() -> Vec<ExistingColumn> {
        vec![
            existing("event_id", "text", true),
            existing("event_type", "text", true),
            existing("user_id", "bigint", true),
            existing("product_id", "bigint", true),
            existing("category", "text", false),
            existing("price", "numeric(12,2)", true),
            existing("quantity", "integer", true),
            existing("event_time", "timestamp with time zone", true),
            existing("source_file", "text", true),
            existing("batch_id", "bigint", true),
            ExistingColumn {
                has_default: true,
                ..existing("ingested_at", "timestamp with time zone", true)
            },
        ]
    }

    #[test]
    fn accepts_the_table_it_creates_and_names_each_mismatch() {
        let table = TableSchema::events();
        assert!(table_problems(&table, &events_as_created()).is_empty());
        let mut columns = events_as_created();
        columns[5].ty = "numeric(10,2)".into();
        columns[4].not_null = true;
        columns[0].unique = false;
        columns.push(existing("tenant", "text", true));
        columns.retain(|c| c.name != "quantity");
        let problems = table_problems(&table, &columns).join("\n");
        for expected in [
            "column price is numeric(10,2) in the database but numeric(12,2)",
            "column category is NOT NULL in the database but nullable",
            "column quantity is missing",
            "column tenant is NOT NULL without a default",
            "the key event_id has no primary key or unique index",
        ] {
            assert!(problems.contains(expected), "{expected}\n{problems}");
        }
        let mut varchar = events_as_created();
        varchar[1].ty = "character varying(20)".into();
        assert!(table_problems(&table, &varchar).is_empty());
    }
}

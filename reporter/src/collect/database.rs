//! The target table in the database: its size, its indexes and how they were
//! used, and how long the queries users run against it take, with the plan
//! PostgreSQL chose for each.
//!
//! These figures are about the whole table (every run it holds), because that
//! is what a user's query reads. Index use (`idx_scan`) is read before the
//! report's own queries run, so it shows the pipeline's use (the upsert's
//! key lookups) and anything else since the statistics were last reset.
//!
//! Nothing here fails the report: a query that cannot run becomes a note.

use std::time::Instant;

use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::error::ReportError;
use crate::stats::median;
use crate::summary::{round3, DatabaseSummary, IndexStat, QueryTiming};

/// Runs of each timed query; the median is reported.
pub const QUERY_RUNS: usize = 3;

/// Longest a timed query may run (`statement_timeout` while timing): a huge
/// table must not hold the report for minutes.
pub const QUERY_TIMEOUT: &str = "30s";

/// Sizes of the table (`$1` is the quoted name): heap, indexes, total.
pub const SQL_TABLE_SIZE: &str = "SELECT pg_relation_size(c.oid), pg_indexes_size(c.oid), \
            pg_total_relation_size(c.oid) \
     FROM pg_class c WHERE c.oid = to_regclass($1::text)";

/// The table's indexes with their size and scans so far.
pub const SQL_INDEXES: &str = "SELECT s.indexrelname::text, pg_relation_size(s.indexrelid), \
            COALESCE(s.idx_scan, 0) \
     FROM pg_stat_user_indexes s \
     WHERE s.relid = to_regclass($1::text) \
     ORDER BY 1";

/// The table's column names.
pub const SQL_COLUMNS: &str = "SELECT attname::text FROM pg_attribute \
     WHERE attrelid = to_regclass($1::text) AND attnum > 0 AND NOT attisdropped";

/// `true` when the table has at least one row.
pub fn sql_has_rows(table: &str) -> String {
    format!("SELECT EXISTS (SELECT 1 FROM {table})")
}

/// One value of `column` from an existing row, as an SQL literal.
pub fn sql_pick_value(table: &str, column: &str) -> String {
    format!("SELECT quote_literal({column}::text) FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
}

/// The last minute of `event_time` in the table, as two SQL literals.
pub fn sql_last_minute(table: &str) -> String {
    format!(
        "SELECT quote_literal((max(event_time) - interval '1 minute')::text), \
                quote_literal(max(event_time)::text) \
         FROM {table}"
    )
}

/// A user's query: what it is called and its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// What it does.
    pub name: &'static str,
    /// Its SQL.
    pub sql: String,
}

/// Values picked from existing rows (as SQL literals) for the queries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PickedValues {
    /// A `user_id`.
    pub user_id: Option<String>,
    /// A `product_id`.
    pub product_id: Option<String>,
    /// The last minute of `event_time`: from, to.
    pub minute: Option<(String, String)>,
    /// The table has an `event_type` column.
    pub event_type: bool,
}

/// The queries users run against the table (`table` quoted), those whose
/// column and value exist: count(*), by one user_id, by one product_id, a
/// 1-minute event_time range, GROUP BY event_type.
pub fn user_queries(table: &str, values: &PickedValues) -> Vec<UserQuery> {
    let mut queries = vec![UserQuery {
        name: "count(*)",
        sql: format!("SELECT count(*) FROM {table}"),
    }];
    if let Some(v) = &values.user_id {
        queries.push(UserQuery {
            name: "one user_id",
            sql: format!("SELECT * FROM {table} WHERE user_id = {v}"),
        });
    }
    if let Some(v) = &values.product_id {
        queries.push(UserQuery {
            name: "one product_id",
            sql: format!("SELECT * FROM {table} WHERE product_id = {v}"),
        });
    }
    if let Some((from, to)) = &values.minute {
        queries.push(UserQuery {
            name: "1-minute event_time range",
            sql: format!("SELECT * FROM {table} WHERE event_time >= {from} AND event_time <= {to}"),
        });
    }
    if values.event_type {
        queries.push(UserQuery {
            name: "GROUP BY event_type",
            sql: format!(
                "SELECT event_type, count(*) FROM {table} GROUP BY event_type ORDER BY 2 DESC"
            ),
        });
    }
    queries
}

/// The plan's summary: top node type, its index, and (when the top node
/// names no index) the first scan below it, depth first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanSummary {
    /// `Plan."Node Type"`.
    pub node: String,
    /// `Plan."Index Name"`.
    pub index: Option<String>,
    /// `Index Only Scan using events_pkey`, `Seq Scan`, ...
    pub scan: Option<String>,
}

fn describe_scan(node: &serde_json::Value) -> Option<String> {
    let kind = node.get("Node Type")?.as_str()?;
    if !kind.contains("Scan") {
        return None;
    }
    Some(match node.get("Index Name").and_then(|v| v.as_str()) {
        Some(index) => format!("{kind} using {index}"),
        None => kind.to_string(),
    })
}

fn first_scan(node: &serde_json::Value) -> Option<String> {
    describe_scan(node).or_else(|| node.get("Plans")?.as_array()?.iter().find_map(first_scan))
}

/// Summarises the output of `EXPLAIN (FORMAT JSON)`: `[{"Plan": {...}}]`.
/// `None` when it has no `Plan."Node Type"`.
pub fn summarise_plan(explain: &serde_json::Value) -> Option<PlanSummary> {
    let plan = explain.get(0).unwrap_or(explain).get("Plan")?;
    let node = plan.get("Node Type")?.as_str()?.to_string();
    let index = plan
        .get("Index Name")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let scan = if index.is_some() {
        None
    } else {
        plan.get("Plans")
            .and_then(|p| p.as_array())
            .and_then(|children| children.iter().find_map(first_scan))
    };
    Some(PlanSummary { node, index, scan })
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The first row's first value of a simple query's answer.
async fn first_value(client: &Client, sql: &str) -> Result<Option<String>, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    }))
}

fn db_note(what: &str, error: tokio_postgres::Error) -> String {
    let detail = match ReportError::db("")(error) {
        ReportError::Database { detail, .. } => detail,
        other => other.to_string(),
    };
    format!("Could not {what}: {detail}.")
}

/// Times one query [`QUERY_RUNS`] times and asks for its plan. The query is
/// prepared once; each run is timed from execute to the last row received,
/// the rows streamed and dropped (a range over a large table never sits in
/// memory). Also returns the first row's first value as a bigint, when it
/// is one (the count of `count(*)`).
async fn time_query(
    client: &Client,
    query: &UserQuery,
) -> Result<(QueryTiming, Option<i64>), tokio_postgres::Error> {
    const NO_PARAMS: [&(dyn ToSql + Sync); 0] = [];
    let statement = client.prepare(&query.sql).await?;
    let mut runs_ms = Vec::with_capacity(QUERY_RUNS);
    let mut rows = 0;
    let mut first = None;
    for _ in 0..QUERY_RUNS {
        let started = Instant::now();
        let stream = client.query_raw(&statement, NO_PARAMS).await?;
        let mut stream = std::pin::pin!(stream);
        rows = 0;
        while let Some(row) = stream.try_next().await? {
            if rows == 0 {
                first = row.try_get::<_, i64>(0).ok();
            }
            rows += 1;
        }
        runs_ms.push(round3(started.elapsed().as_secs_f64() * 1000.0));
    }
    let explain = first_value(client, &format!("EXPLAIN (FORMAT JSON) {}", query.sql)).await?;
    let plan = explain
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| summarise_plan(&v))
        .unwrap_or_default();
    Ok((
        QueryTiming {
            name: query.name.to_string(),
            sql: query.sql.clone(),
            median_ms: round3(median(&runs_ms)),
            runs_ms,
            rows,
            plan_node: plan.node,
            plan_index: plan.index,
            plan_scan: plan.scan,
        },
        first,
    ))
}

/// Gathers the database figures for `table` (quoted). Never fails: what
/// cannot be read becomes a note.
pub async fn gather_database(client: &Client, table: &str) -> DatabaseSummary {
    let mut db = DatabaseSummary::default();
    match client.query_one(SQL_TABLE_SIZE, &[&table]).await {
        Ok(row) => {
            db.table_bytes = count(row.get(0));
            db.indexes_bytes = count(row.get(1));
            db.total_bytes = count(row.get(2));
        }
        Err(e) => db.notes.push(db_note("read the table's size", e)),
    }
    match client.query(SQL_INDEXES, &[&table]).await {
        Ok(rows) => {
            db.indexes = rows
                .into_iter()
                .map(|r| IndexStat {
                    name: r.get(0),
                    bytes: count(r.get(1)),
                    idx_scan: count(r.get(2)),
                })
                .collect()
        }
        Err(e) => db.notes.push(db_note("read the index statistics", e)),
    }
    match first_value(client, &sql_has_rows(table)).await {
        Ok(Some(has)) if has == "t" => {}
        Ok(_) => {
            db.rows = Some(0);
            db.notes.push(
                "The table is empty: no query was timed (there are no values to look up)."
                    .to_string(),
            );
            return db;
        }
        Err(e) => {
            db.notes.push(db_note("look into the table", e));
            return db;
        }
    }
    let values = pick_values(client, table, &mut db.notes).await;
    time_queries(client, table, &values, &mut db).await;
    db
}

/// Values the timed queries look up (a user, a product, the last minute),
/// taken from the table itself; a missing column skips its queries, said in
/// `notes`.
async fn pick_values(client: &Client, table: &str, notes: &mut Vec<String>) -> PickedValues {
    let columns: Vec<String> = match client.query(SQL_COLUMNS, &[&table]).await {
        Ok(rows) => rows.into_iter().map(|r| r.get(0)).collect(),
        Err(e) => {
            notes.push(db_note("list the table's columns", e));
            Vec::new()
        }
    };
    let has = |c: &str| columns.iter().any(|x| x == c);
    let mut values = PickedValues {
        event_type: has("event_type"),
        ..PickedValues::default()
    };
    let mut absent = Vec::new();
    for (column, slot) in [
        ("user_id", &mut values.user_id),
        ("product_id", &mut values.product_id),
    ] {
        if !has(column) {
            absent.push(column);
            continue;
        }
        match first_value(client, &sql_pick_value(table, column)).await {
            Ok(v) => *slot = v,
            Err(e) => notes.push(db_note(&format!("pick a {column}"), e)),
        }
    }
    if has("event_time") {
        match client.simple_query(&sql_last_minute(table)).await {
            Ok(messages) => {
                values.minute = messages.iter().find_map(|m| match m {
                    SimpleQueryMessage::Row(row) => {
                        Some((row.get(0)?.to_string(), row.get(1)?.to_string()))
                    }
                    _ => None,
                })
            }
            Err(e) => notes.push(db_note("find the last minute of event_time", e)),
        }
    } else {
        absent.push("event_time");
    }
    if !values.event_type {
        absent.push("event_type");
    }
    if !absent.is_empty() {
        notes.push(format!(
            "The table has no {} column: the queries on it were skipped.",
            absent
                .iter()
                .map(|column| format!("`{column}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    values
}

/// Runs each timed query (under a statement timeout) and keeps its timing;
/// `count(*)` gives the table's rows.
async fn time_queries(
    client: &Client,
    table: &str,
    values: &PickedValues,
    db: &mut DatabaseSummary,
) {
    if let Err(e) = client
        .simple_query(&format!("SET statement_timeout = '{QUERY_TIMEOUT}'"))
        .await
    {
        db.notes
            .push(db_note("limit the timed queries' duration", e));
    }
    for query in user_queries(table, values) {
        match time_query(client, &query).await {
            Ok((timing, first)) => {
                if query.name == "count(*)" {
                    db.rows = first.and_then(|v| u64::try_from(v).ok());
                }
                db.queries.push(timing);
            }
            Err(e) => db.notes.push(db_note(
                &format!(
                    "time the query `{}` (each run is limited to {QUERY_TIMEOUT})",
                    query.sql
                ),
                e,
            )),
        }
    }
    if let Err(e) = client.simple_query("RESET statement_timeout").await {
        db.notes.push(db_note("reset statement_timeout", e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_follow_the_columns_and_values() {
        let t = "\"events\"";
        let all = PickedValues {
            user_id: Some("'42'".into()),
            product_id: Some("'7'".into()),
            minute: Some(("'a'".into(), "'b'".into())),
            event_type: true,
        };
        let q = user_queries(t, &all);
        let names: Vec<&str> = q.iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            vec![
                "count(*)",
                "one user_id",
                "one product_id",
                "1-minute event_time range",
                "GROUP BY event_type"
            ]
        );
        assert_eq!(q[0].sql, "SELECT count(*) FROM \"events\"");
        assert_eq!(q[1].sql, "SELECT * FROM \"events\" WHERE user_id = '42'");
        assert_eq!(q[2].sql, "SELECT * FROM \"events\" WHERE product_id = '7'");
        assert_eq!(
            q[3].sql,
            "SELECT * FROM \"events\" WHERE event_time >= 'a' AND event_time <= 'b'"
        );
        assert!(q[4].sql.contains("GROUP BY event_type"));
        let only_count = user_queries(t, &PickedValues::default());
        assert_eq!(only_count.len(), 1);
        assert!(sql_pick_value(t, "user_id").contains("quote_literal(user_id::text)"));
        assert!(sql_last_minute(t).contains("interval '1 minute'"));
        assert_eq!(sql_has_rows(t), "SELECT EXISTS (SELECT 1 FROM \"events\")");
    }

    #[test]
    fn plan_of_an_index_scan() {
        let explain = json!([{"Plan": {"Node Type": "Index Scan", "Index Name": "events_user_id_idx",
                                       "Relation Name": "events"}}]);
        assert_eq!(
            summarise_plan(&explain),
            Some(PlanSummary {
                node: "Index Scan".into(),
                index: Some("events_user_id_idx".into()),
                scan: None,
            })
        );
    }

    #[test]
    fn plan_finds_the_scan_below_the_top_node() {
        let explain = json!([{"Plan": {"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Gather", "Plans": [
                {"Node Type": "Sort", "Plans": []},
                {"Node Type": "Index Only Scan", "Index Name": "events_pkey"}
            ]},
            {"Node Type": "Seq Scan"}
        ]}}]);
        let p = summarise_plan(&explain).unwrap();
        assert_eq!(p.node, "Aggregate");
        assert_eq!(p.index, None);
        assert_eq!(p.scan.as_deref(), Some("Index Only Scan using events_pkey"));
        let bitmap = json!([{"Plan": {"Node Type": "Bitmap Heap Scan", "Plans": [
            {"Node Type": "Bitmap Index Scan", "Index Name": "events_event_time_idx"}]}}]);
        let p = summarise_plan(&bitmap).unwrap();
        assert_eq!(p.node, "Bitmap Heap Scan");
        assert_eq!(
            p.scan.as_deref(),
            Some("Bitmap Index Scan using events_event_time_idx")
        );
        let seq = json!([{"Plan": {"Node Type": "Seq Scan"}}]);
        assert_eq!(summarise_plan(&seq).unwrap().scan, None);
        let agg =
            json!([{"Plan": {"Node Type": "HashAggregate", "Plans": [{"Node Type": "Seq Scan"}]}}]);
        assert_eq!(
            summarise_plan(&agg).unwrap().scan.as_deref(),
            Some("Seq Scan")
        );
        assert_eq!(summarise_plan(&json!([{}])), None);
        assert_eq!(summarise_plan(&json!("x")), None);
    }
}

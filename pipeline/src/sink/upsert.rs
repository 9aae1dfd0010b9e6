//! The upsert every write mode ends with: rows land once per key, and an
//! identical row is never rewritten (`WHERE … IS DISTINCT FROM …`), so a
//! replay keeps the row's first `xmin`, hence its first commit time.
//!
//! With a version column the update is also guarded by the version rule:
//! a stored row is replaced only by a version at least as new, ordered by
//! (version, source file name in byte order). Within one file the later
//! line comes later (chunks are written in file order), so `>=` lets it win;
//! the table then holds the same version whatever the batches, chunks,
//! write timing, kills or replays.

use crate::schema::{TableSchema, SOURCE_FILE};

/// `INSERT INTO "table" AS t ("col", …, source_file, batch_id)`
pub(super) fn insert_into(table: &TableSchema) -> String {
    format!(
        "INSERT INTO {} AS t ({}, {SOURCE_FILE}, batch_id)",
        table.table.quoted(),
        table.column_list()
    )
}

/// `ON CONFLICT (key) DO UPDATE SET … WHERE (old …) IS DISTINCT FROM (new …)`,
/// or `DO NOTHING` for a table that is only a key.
pub(super) fn on_conflict(table: &TableSchema) -> String {
    let updated: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.name != table.key)
        .map(|c| c.name.as_str())
        .collect();
    let key = table.key.quoted();
    if updated.is_empty() {
        return format!("ON CONFLICT ({key}) DO NOTHING");
    }
    let set: Vec<String> = updated
        .iter()
        .map(|c| format!("\"{c}\" = EXCLUDED.\"{c}\""))
        .chain([
            format!("{SOURCE_FILE} = EXCLUDED.{SOURCE_FILE}"),
            "batch_id = EXCLUDED.batch_id".into(),
        ])
        .collect();
    let old: Vec<String> = updated.iter().map(|c| format!("t.\"{c}\"")).collect();
    let new: Vec<String> = updated
        .iter()
        .map(|c| format!("EXCLUDED.\"{c}\""))
        .collect();
    let newer = match &table.version {
        Some(version) => {
            let version = version.quoted();
            format!(
                "(EXCLUDED.{version}, EXCLUDED.{SOURCE_FILE} COLLATE \"C\") >= \
                 (t.{version}, t.{SOURCE_FILE} COLLATE \"C\") AND "
            )
        }
        None => String::new(),
    };
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET {} WHERE {newer}({}) IS DISTINCT FROM ({})",
        set.join(", "),
        old.join(", "),
        new.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_changed_rows() {
        let clause = on_conflict(&TableSchema::events());
        assert!(clause.starts_with(
            "ON CONFLICT (\"event_id\") DO UPDATE SET \"event_type\" = EXCLUDED.\"event_type\""
        ));
        assert!(clause.contains(
            "WHERE (EXCLUDED.\"event_time\", EXCLUDED.source_file COLLATE \"C\") >= \
             (t.\"event_time\", t.source_file COLLATE \"C\") AND (t.\"event_type\", "
        ));
        assert!(clause.contains("IS DISTINCT FROM (EXCLUDED.\"event_type\", "));
        assert!(!clause.contains("t.\"event_id\""));
    }

    #[test]
    fn without_a_version_column_the_row_read_last_wins() {
        let mut table = TableSchema::events();
        table.version = None;
        let clause = on_conflict(&table);
        assert!(clause.contains("WHERE (t.\"event_type\", "), "{clause}");
        assert!(!clause.contains(">="), "{clause}");
    }
}

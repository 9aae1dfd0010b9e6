//! The upsert every write mode ends with: rows land once per key, and an
//! identical row is never rewritten (`WHERE … IS DISTINCT FROM …`), so a
//! replay keeps the row's first `xmin`, hence its first commit time.

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
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
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
        assert!(clause.contains("WHERE (t.\"event_type\", "));
        assert!(clause.contains("IS DISTINCT FROM (EXCLUDED.\"event_type\", "));
        assert!(!clause.contains("t.\"event_id\""));
    }
}

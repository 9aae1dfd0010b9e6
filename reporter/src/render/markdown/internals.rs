//! The database's internals during the run: cache, WAL, checkpoints and the
//! table's activity, from the server's own counters.

use std::fmt::Write as _;

use super::embed;
use crate::format::{fmt_bytes, fmt_count, fmt_decimal, fmt_pct, fmt_time_us};
use crate::render::charts::DATABASE_CHARTS;
use crate::render::table::{Align, Table};
use crate::summary::{DatabaseActivity, Summary};

pub(super) fn internals(md: &mut String, s: &Summary) {
    let Some(activity) = &s.database_activity else {
        return;
    };
    let _ = writeln!(md, "## Database internals\n");
    let _ = writeln!(
        md,
        "The server's own counters (`pg_stat_database`, `pg_stat_wal`, `{}`, \
         `pg_stat_user_tables`), read before the pipeline started and after it stopped, \
         {} s apart; cache and WAL figures are the whole database's and cluster's, not only \
         sluice's.\n",
        if activity.server_version_num >= 170_000 {
            "pg_stat_checkpointer"
        } else {
            "pg_stat_bgwriter"
        },
        fmt_decimal(activity.span_s, 1)
    );
    let mut table = Table::figures(["Figure", "During the run", "Meaning"]).aligned(&[
        Align::Left,
        Align::Right,
        Align::Left,
    ]);
    for (figure, value, meaning) in rows(activity, s.rows.found) {
        table.row([figure, value, meaning]);
    }
    let _ = writeln!(md, "{table}");
    checkpoint_list(md, s, activity);
    for info in DATABASE_CHARTS
        .iter()
        .filter(|c| s.charts.iter().any(|f| f == c.file))
    {
        embed(md, info);
    }
    if !activity.unread.is_empty() {
        let _ = writeln!(md, "Not read:\n");
        for reason in &activity.unread {
            let _ = writeln!(md, "- {reason}");
        }
        md.push('\n');
    }
}

/// (figure, value, meaning) for each figure the counters gave.
fn rows(a: &DatabaseActivity, rows_found: u64) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let bytes = |n: i64| fmt_bytes(u64::try_from(n).unwrap_or(0));
    let count = |n: i64| fmt_count(u64::try_from(n).unwrap_or(0));
    if let Some(c) = &a.cache {
        rows.push((
            "Cache hit ratio".to_string(),
            c.hit_ratio_pct.map_or("–".to_string(), fmt_pct),
            format!(
                "blocks found in shared buffers: {} hit, {} read from the operating system",
                count(c.blocks_hit),
                count(c.blocks_read)
            ),
        ));
        rows.push((
            "Temporary files".to_string(),
            format!("{} ({})", count(c.temp_files), bytes(c.temp_bytes)),
            "queries that spilled to disk (`work_mem` too small)".to_string(),
        ));
    }
    if let Some(w) = &a.wal {
        let per_rows = w.bytes_per_1000_rows.map_or(String::new(), |b| {
            format!(", {} per 1 000 rows", fmt_bytes(b as u64))
        });
        rows.push((
            "WAL written".to_string(),
            format!("{}{per_rows}", bytes(w.bytes)),
            format!(
                "the log every change goes through first ({} rows in the table)",
                fmt_count(rows_found)
            ),
        ));
        if let (Some(records), Some(images)) = (w.records, w.full_page_images) {
            rows.push((
                "WAL records, full-page images".to_string(),
                format!("{}, {}", count(records), count(images)),
                "a page's first change after a checkpoint logs the whole page".to_string(),
            ));
        }
    }
    if let Some(c) = &a.checkpoints {
        rows.push((
            "Checkpoints".to_string(),
            format!("{} timed, {} requested", c.timed, c.requested),
            "requested ones mean `max_wal_size` filled up (or a `CHECKPOINT`)".to_string(),
        ));
        rows.push((
            "Checkpoint writes".to_string(),
            format!(
                "{} buffers; write {} s, sync {} s",
                count(c.buffers_written),
                fmt_decimal(c.write_ms / 1000.0, 1),
                fmt_decimal(c.sync_ms / 1000.0, 1)
            ),
            "spread over `checkpoint_completion_target` of the interval".to_string(),
        ));
    }
    if let Some(t) = &a.table {
        rows.push((
            "Rows inserted, updated (HOT)".to_string(),
            format!(
                "{}, {} ({})",
                count(t.inserted),
                count(t.updated),
                count(t.hot_updated)
            ),
            "the table's own counters; an upsert of an existing key is an update".to_string(),
        ));
        rows.push((
            "Dead tuples at the end; autovacuum, autoanalyze runs".to_string(),
            format!(
                "{}; {}, {}",
                count(t.dead_at_end),
                count(t.autovacuum_runs),
                count(t.autoanalyze_runs)
            ),
            "old row versions waiting for vacuum".to_string(),
        ));
    }
    rows
}

/// Each checkpoint seen, with when it ended relative to the first file.
fn checkpoint_list(md: &mut String, s: &Summary, a: &DatabaseActivity) {
    let Some(c) = &a.checkpoints else {
        return;
    };
    if c.events.is_empty() {
        return;
    }
    let origin = s.span.first_file_created_us.unwrap_or(0);
    let _ = writeln!(
        md,
        "Checkpoints during the run (seen by one-second samples):\n"
    );
    for e in &c.events {
        let _ = writeln!(
            md,
            "- ended by {} ({} s after the first file), {}: write {} s, sync {} s",
            fmt_time_us(Some(e.ended_by_us)),
            fmt_decimal((e.ended_by_us - origin) as f64 / 1e6, 1),
            if e.requested { "requested" } else { "timed" },
            fmt_decimal(e.write_ms / 1000.0, 1),
            fmt_decimal(e.sync_ms / 1000.0, 1)
        );
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{CheckpointActivity, CheckpointEvent, WalActivity};

    #[test]
    fn names_what_it_could_not_read_and_lists_the_checkpoints() {
        let mut s = Summary::default();
        s.span.first_file_created_us = Some(1_000_000);
        s.database_activity = Some(DatabaseActivity {
            span_s: 12.0,
            server_version_num: 150_000,
            wal: Some(WalActivity {
                bytes: 3 * 1_048_576,
                bytes_per_1000_rows: Some(2048.0),
                records: None,
                full_page_images: None,
            }),
            checkpoints: Some(CheckpointActivity {
                requested: 1,
                events: vec![CheckpointEvent {
                    started_after_us: 4_000_000,
                    ended_by_us: 6_000_000,
                    write_ms: 1_200.0,
                    sync_ms: 300.0,
                    requested: true,
                }],
                ..CheckpointActivity::default()
            }),
            unread: vec!["cache hits (pg_stat_database): permission denied".into()],
            ..DatabaseActivity::default()
        });
        let mut md = String::new();
        internals(&mut md, &s);
        assert!(
            md.contains("| WAL written | 3.0 MiB, 2.0 KiB per 1 000 rows |"),
            "{md}"
        );
        assert!(
            md.contains("| Checkpoints | 0 timed, 1 requested |"),
            "{md}"
        );
        assert!(!md.contains("Cache hit ratio"), "{md}");
        assert!(md.contains("(5.0 s after the first file), requested: write 1.2 s, sync 0.3 s"));
        assert!(md.contains("Not read:\n\n- cache hits (pg_stat_database): permission denied"));
    }
}

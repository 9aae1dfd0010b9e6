//! The run's database activity from its counters: differences between the
//! reading before the pipeline started and the one after it stopped, and
//! the checkpoints the one-second samples saw end. Pure.

use crate::collect::activity::{ActivityRecord, CheckpointCounters, ServerStats};
use crate::summary::{
    CacheActivity, CheckpointActivity, CheckpointEvent, DatabaseActivity, TableActivity,
    WalActivity,
};

/// The activity of a run that upserted `rows` rows.
pub fn measure(record: &ActivityRecord, rows: u64) -> DatabaseActivity {
    let (before, after) = (&record.before, &record.after);
    let mut unread = before.unread.clone();
    for reason in &after.unread {
        if !unread.contains(reason) {
            unread.push(reason.clone());
        }
    }
    DatabaseActivity {
        span_s: (after.at_us - before.at_us) as f64 / 1e6,
        server_version_num: after.server_version_num,
        cache: both(before.cache, after.cache).map(|(b, a)| {
            let hit = a.blks_hit - b.blks_hit;
            let read = a.blks_read - b.blks_read;
            CacheActivity {
                blocks_hit: hit,
                blocks_read: read,
                hit_ratio_pct: (hit + read > 0).then(|| hit as f64 * 100.0 / (hit + read) as f64),
                temp_files: a.temp_files - b.temp_files,
                temp_bytes: a.temp_bytes - b.temp_bytes,
            }
        }),
        wal: wal(before, after, rows),
        checkpoints: both(before.checkpoints, after.checkpoints).map(|(b, a)| CheckpointActivity {
            timed: a.timed - b.timed,
            requested: a.requested - b.requested,
            buffers_written: a.buffers_written - b.buffers_written,
            write_ms: a.write_ms - b.write_ms,
            sync_ms: a.sync_ms - b.sync_ms,
            events: checkpoint_events(before, &record.samples, after),
        }),
        table: both(before.table, after.table)
            .map(|(b, a)| TableActivity {
                inserted: a.inserted - b.inserted,
                updated: a.updated - b.updated,
                hot_updated: a.hot_updated - b.hot_updated,
                dead_at_end: a.dead,
                autovacuum_runs: a.autovacuum_runs - b.autovacuum_runs,
                autoanalyze_runs: a.autoanalyze_runs - b.autoanalyze_runs,
            })
            // A table the run created: all of its activity is the run's.
            .or_else(|| {
                after.table.map(|a| TableActivity {
                    inserted: a.inserted,
                    updated: a.updated,
                    hot_updated: a.hot_updated,
                    dead_at_end: a.dead,
                    autovacuum_runs: a.autovacuum_runs,
                    autoanalyze_runs: a.autoanalyze_runs,
                })
            }),
        unread,
    }
}

/// WAL written per second between consecutive readings that have a WAL
/// position, at each interval's middle, as `(seconds since origin_us, MiB/s)`.
pub fn wal_rate(record: &ActivityRecord, origin_us: i64) -> Vec<(f64, f64)> {
    let readings: Vec<(i64, i64)> = std::iter::once(&record.before)
        .chain(&record.samples)
        .chain(std::iter::once(&record.after))
        .filter_map(|s| s.wal_position_bytes.map(|b| (s.at_us, b)))
        .collect();
    readings
        .windows(2)
        .filter(|pair| pair[1].0 > pair[0].0)
        .map(|pair| {
            let ((from_us, from), (to_us, to)) = (pair[0], pair[1]);
            let seconds = (to_us - from_us) as f64 / 1e6;
            let middle_s = ((from_us + to_us) / 2 - origin_us) as f64 / 1e6;
            (middle_s, (to - from) as f64 / 1_048_576.0 / seconds)
        })
        .collect()
}

fn both<T>(before: Option<T>, after: Option<T>) -> Option<(T, T)> {
    before.zip(after)
}

/// WAL bytes from the WAL position, which moves at once, else from
/// `pg_stat_wal`, whose counters a backend flushes up to a second later.
fn wal(before: &ServerStats, after: &ServerStats, rows: u64) -> Option<WalActivity> {
    let counters = both(before.wal, after.wal);
    let bytes = both(before.wal_position_bytes, after.wal_position_bytes)
        .map(|(b, a)| a - b)
        .or_else(|| counters.map(|(b, a)| a.bytes - b.bytes))?;
    Some(WalActivity {
        bytes,
        bytes_per_1000_rows: (rows > 0).then(|| bytes as f64 * 1000.0 / rows as f64),
        records: counters.map(|(b, a)| a.records - b.records),
        full_page_images: counters.map(|(b, a)| a.full_page_images - b.full_page_images),
    })
}

/// A checkpoint for each step up of the completed count between two
/// consecutive readings. Two in one second share the step's times.
fn checkpoint_events(
    before: &ServerStats,
    samples: &[ServerStats],
    after: &ServerStats,
) -> Vec<CheckpointEvent> {
    let readings: Vec<(i64, CheckpointCounters)> = std::iter::once(before)
        .chain(samples)
        .chain(std::iter::once(after))
        .filter_map(|s| s.checkpoints.map(|c| (s.at_us, c)))
        .collect();
    let mut events = Vec::new();
    for pair in readings.windows(2) {
        let ((from_us, from), (to_us, to)) = (pair[0], pair[1]);
        let completed = (to.timed + to.requested) - (from.timed + from.requested);
        if completed <= 0 {
            continue;
        }
        let write_ms = (to.write_ms - from.write_ms).max(0.0);
        let sync_ms = (to.sync_ms - from.sync_ms).max(0.0);
        let took_us = ((write_ms + sync_ms) * 1000.0) as i64;
        for _ in 0..completed {
            events.push(CheckpointEvent {
                ended_by_us: to_us,
                started_after_us: from_us - took_us,
                write_ms: write_ms / completed as f64,
                sync_ms: sync_ms / completed as f64,
                requested: to.requested > from.requested,
            });
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::activity::{CacheCounters, TableCounters, WalCounters};

    fn reading(
        at_s: i64,
        hit: i64,
        read: i64,
        wal: i64,
        checkpoints: (i64, i64, f64),
    ) -> ServerStats {
        ServerStats {
            at_us: at_s * 1_000_000,
            server_version_num: 150_000,
            cache: Some(CacheCounters {
                blks_hit: hit,
                blks_read: read,
                temp_files: 0,
                temp_bytes: 0,
            }),
            wal: Some(WalCounters {
                records: wal / 100,
                full_page_images: wal / 10_000,
                bytes: wal,
            }),
            wal_position_bytes: Some(wal + 5),
            checkpoints: Some(CheckpointCounters {
                timed: checkpoints.0,
                requested: checkpoints.1,
                write_ms: checkpoints.2,
                sync_ms: checkpoints.2 / 10.0,
                buffers_written: checkpoints.0 * 100,
            }),
            table: Some(TableCounters {
                inserted: hit / 10,
                ..TableCounters::default()
            }),
            unread: Vec::new(),
        }
    }

    #[test]
    fn differences_between_the_readings_and_checkpoints_where_the_count_steps() {
        let record = ActivityRecord {
            before: reading(100, 1_000, 100, 1_000_000, (3, 1, 500.0)),
            samples: vec![
                reading(101, 2_000, 100, 2_000_000, (3, 1, 500.0)),
                reading(102, 3_000, 150, 3_000_000, (4, 1, 2_500.0)),
            ],
            after: reading(104, 10_000, 200, 5_000_000, (4, 1, 2_500.0)),
        };
        let activity = measure(&record, 20_000);
        assert_eq!(activity.span_s, 4.0);
        let cache = activity.cache.unwrap();
        assert_eq!((cache.blocks_hit, cache.blocks_read), (9_000, 100));
        assert_eq!(cache.hit_ratio_pct, Some(900_000.0 / 9_100.0));
        let wal = activity.wal.unwrap();
        assert_eq!(wal.bytes, 4_000_000);
        assert_eq!(wal.records, Some(40_000));
        assert_eq!(wal.bytes_per_1000_rows, Some(200_000.0));
        assert_eq!(wal.full_page_images, Some(400));
        let checkpoints = activity.checkpoints.unwrap();
        assert_eq!((checkpoints.timed, checkpoints.requested), (1, 0));
        assert_eq!(checkpoints.write_ms, 2_000.0);
        assert_eq!(
            checkpoints.events,
            vec![CheckpointEvent {
                ended_by_us: 102_000_000,
                started_after_us: 101_000_000 - 2_200_000,
                write_ms: 2_000.0,
                sync_ms: 200.0,
                requested: false,
            }]
        );
        assert_eq!(activity.table.unwrap().inserted, 900);
    }

    #[test]
    fn wal_rate_between_readings_at_their_middle() {
        let record = ActivityRecord {
            before: reading(10, 0, 0, 0, (0, 0, 0.0)),
            samples: vec![reading(11, 0, 0, 1_048_576, (0, 0, 0.0))],
            after: reading(13, 0, 0, 2 * 1_048_576, (0, 0, 0.0)),
        };
        assert_eq!(wal_rate(&record, 10_000_000), vec![(0.5, 1.0), (2.0, 0.5)]);
    }

    #[test]
    fn wal_bytes_come_from_the_position_and_unread_views_are_said() {
        let mut before = reading(0, 0, 0, 1_000, (0, 0, 0.0));
        let mut after = reading(1, 0, 0, 9_000, (0, 0, 0.0));
        before.wal = None;
        after.wal = None;
        after.checkpoints = None;
        after.unread = vec!["checkpoints (pg_stat_bgwriter): permission denied".into()];
        let activity = measure(
            &ActivityRecord {
                before,
                samples: Vec::new(),
                after,
            },
            0,
        );
        let wal = activity.wal.unwrap();
        assert_eq!(
            (wal.bytes, wal.records, wal.bytes_per_1000_rows),
            (8_000, None, None)
        );
        assert_eq!(activity.cache.unwrap().hit_ratio_pct, None);
        assert!(activity.checkpoints.is_none());
        assert_eq!(
            activity.unread,
            ["checkpoints (pg_stat_bgwriter): permission denied"]
        );
    }
}

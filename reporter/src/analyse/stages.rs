//! Where the time goes: a row's latency split into the stages it passes
//! through, the busy time of each batch stage, the slowest batches and how
//! well the batches kept the trigger. Pure, so every figure is unit-tested.
//!
//! A row's way, with the clock each instant comes from:
//!
//! | instant | source | clock |
//! | --- | --- | --- |
//! | visible | manifest `created_at_us` | this host (the generator) |
//! | discovered | `sluice_batches.files[].discovered_at_us` | the pipeline |
//! | batch start | `sluice_batches.files[].started_at_us` (the file's processing began), else `started_at` (trigger fired) | the pipeline |
//! | committed | `sluice_batches.committed_at` | the database server |
//!
//! So only `committed_at` gets the clock correction the latency figures get.
//! With on-arrival writes (an interval trigger's default) a file is written
//! as soon as it is discovered, so its trigger wait falls in "batch start →
//! committed": written, waiting for the tick that commits it.
//! Inside a batch, parse, transform and write run at once on successive
//! chunks: their busy times overlap and are reported per stage, over batches,
//! beside the batch's wall time (committed_at − started_at).

use std::collections::HashMap;

use crate::collect::gather::FileStageRecord;
use crate::request::ConfiguredTrigger;
use crate::stats::{mean, percentile_sorted, start_gaps, weighted_percentiles, BatchRecord};
use crate::summary::{
    round3, BusyFigures, SlowBatch, StageBreakdown, StageFigures, TriggerAdherence,
};

/// Batches listed in the slowest-batches table.
pub const SLOWEST_BATCHES: usize = 5;

/// Stage ids, in the order a row passes them.
pub const VISIBLE_TO_DISCOVERED: &str = "visible_to_discovered";
/// The trigger wait: discovered, waiting for the next batch.
pub const DISCOVERED_TO_BATCH_START: &str = "discovered_to_batch_start";
/// The batch's wall time, as its rows wait it.
pub const BATCH_START_TO_COMMITTED: &str = "batch_start_to_committed";
/// The whole way.
pub const VISIBLE_TO_COMMITTED: &str = "visible_to_committed";

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

/// Row-weighted P50/P95/P99/max/mean of `(ms, rows)` values; `share_pct` is
/// filled in by the caller.
fn weighted_figures(stage: &str, values: &[(f64, u64)]) -> StageFigures {
    let p = weighted_percentiles(values, &[0.50, 0.95, 0.99]);
    let rows: u64 = values.iter().map(|v| v.1).sum();
    let mean_ms = if rows == 0 {
        0.0
    } else {
        values.iter().map(|(v, w)| v * *w as f64).sum::<f64>() / rows as f64
    };
    let max_ms = values
        .iter()
        .filter(|v| v.1 > 0)
        .map(|v| v.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        .unwrap_or(0.0);
    StageFigures {
        stage: stage.to_string(),
        p50_ms: round3(p[0]),
        p95_ms: round3(p[1]),
        p99_ms: round3(p[2]),
        max_ms: round3(max_ms),
        mean_ms: round3(mean_ms),
        share_pct: None,
    }
}

/// P50/P95/max/mean of one stage's busy time over batches, and its share of
/// the summed wall time.
fn busy_figures(stage: &str, values: &[f64], wall_ms_sum: f64) -> BusyFigures {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let sum: f64 = values.iter().sum();
    BusyFigures {
        stage: stage.to_string(),
        p50_ms: round3(percentile_sorted(&sorted, 0.50)),
        p95_ms: round3(percentile_sorted(&sorted, 0.95)),
        max_ms: round3(sorted.last().copied().unwrap_or(0.0)),
        mean_ms: round3(mean(values.iter().copied())),
        share_of_wall_pct: (wall_ms_sum > 0.0).then(|| round3(sum * 100.0 / wall_ms_sum)),
    }
}

/// The breakdown.
///
/// `files` come from the database (one per manifest file that a batch
/// carried), `created_at_us` from the manifest, `offset_us` is server clock −
/// local clock (subtracted from `committed_at`), and `batches` are the
/// batches with their `committed_us` already corrected (as
/// [`crate::stats::batch_summary`] gets them).
///
/// Per file (weighted by its valid rows): visible → discovered, discovered →
/// batch start (the trigger wait), batch start → committed, and the whole
/// way; each stage's share is its mean over the whole way's mean, so the
/// shares add up to 100 %. Per batch: parse, transform and write busy times.
/// `None` when there is neither a measured file nor a batch.
pub fn stage_breakdown(
    files: &[FileStageRecord],
    created_at_us: &HashMap<String, i64>,
    offset_us: i64,
    batches: &[BatchRecord],
) -> Option<StageBreakdown> {
    let mut v2d = Vec::new();
    let mut d2s = Vec::new();
    let mut s2c = Vec::new();
    let mut v2c = Vec::new();
    let mut measured_rows = 0u64;
    let mut unmeasured = 0u64;
    for f in files {
        let weight = f.valid_rows();
        let (Some(&created), Some(discovered), true) =
            (created_at_us.get(&f.file), f.discovered_us, weight > 0)
        else {
            unmeasured += 1;
            continue;
        };
        let committed = f.committed_us.saturating_sub(offset_us);
        v2d.push((ms(discovered - created), weight));
        d2s.push((ms(f.started_us - discovered), weight));
        s2c.push((ms(committed - f.started_us), weight));
        v2c.push((ms(committed - created), weight));
        measured_rows += weight;
    }
    if v2c.is_empty() && batches.is_empty() {
        return None;
    }

    let mut latency = Vec::new();
    if !v2c.is_empty() {
        let total = weighted_figures(VISIBLE_TO_COMMITTED, &v2c);
        for (stage, values) in [
            (VISIBLE_TO_DISCOVERED, &v2d),
            (DISCOVERED_TO_BATCH_START, &d2s),
            (BATCH_START_TO_COMMITTED, &s2c),
        ] {
            let mut figures = weighted_figures(stage, values);
            figures.share_pct =
                (total.mean_ms > 0.0).then(|| round3(figures.mean_ms * 100.0 / total.mean_ms));
            latency.push(figures);
        }
        latency.push(StageFigures {
            share_pct: (total.mean_ms > 0.0).then_some(100.0),
            ..total
        });
    }

    let wall_ms_sum: f64 = batches
        .iter()
        .map(|b| ms(b.committed_us - b.started_us))
        .sum();
    let busy = if batches.is_empty() {
        Vec::new()
    } else {
        let column = |f: fn(&BatchRecord) -> f64| batches.iter().map(f).collect::<Vec<f64>>();
        vec![
            busy_figures("parse", &column(|b| b.parse_ms), wall_ms_sum),
            busy_figures("transform", &column(|b| b.transform_ms), wall_ms_sum),
            busy_figures("write", &column(|b| b.write_ms), wall_ms_sum),
        ]
    };

    Some(StageBreakdown {
        files: v2c.len() as u64,
        rows: measured_rows,
        files_unmeasured: unmeasured,
        latency,
        batches: batches.len() as u64,
        busy,
    })
}

/// The `n` slowest batches by wall time (committed − started, `committed_us`
/// already corrected), slowest first; ties by batch id.
pub fn slowest_batches(batches: &[BatchRecord], n: usize) -> Vec<SlowBatch> {
    let mut sorted: Vec<&BatchRecord> = batches.iter().collect();
    sorted.sort_by(|a, b| {
        (b.committed_us - b.started_us)
            .cmp(&(a.committed_us - a.started_us))
            .then(a.batch_id.cmp(&b.batch_id))
    });
    sorted
        .into_iter()
        .take(n)
        .map(|b| SlowBatch {
            batch_id: b.batch_id,
            time_ms: round3(ms(b.committed_us - b.started_us)),
            files: b.file_count,
            rows: b.rows_read,
            parse_ms: round3(b.parse_ms),
            transform_ms: round3(b.transform_ms),
            write_ms: round3(b.write_ms),
            started_at_us: b.started_us,
        })
        .collect()
}

/// Actual gaps between batch starts against the configured trigger, and the
/// batches that took longer than the interval (the next start was then
/// late: the pipeline fell behind). `None` without batches.
pub fn trigger_adherence(
    batches: &[BatchRecord],
    configured: Option<&ConfiguredTrigger>,
) -> Option<TriggerAdherence> {
    if batches.is_empty() {
        return None;
    }
    let interval_ms = configured
        .and_then(|t| t.interval)
        .map(|d| d.as_secs_f64() * 1000.0)
        .filter(|&ms| ms > 0.0);
    let gaps = start_gaps(batches);
    let overran = interval_ms.map(|interval| {
        batches
            .iter()
            .filter(|b| ms(b.committed_us - b.started_us) > interval)
            .count() as u64
    });
    Some(TriggerAdherence {
        configured: configured.map(|t| t.label.clone()),
        interval_ms: interval_ms.map(round3),
        batches: batches.len() as u64,
        start_gap_ms_p50: gaps.p50_ms,
        start_gap_ms_max: gaps.max_ms,
        overran,
        overran_pct: overran.map(|n| round3(n as f64 * 100.0 / batches.len() as f64)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(
        name: &str,
        batch: i64,
        rows: u64,
        discovered: i64,
        started: i64,
        committed: i64,
    ) -> FileStageRecord {
        FileStageRecord {
            file: name.into(),
            batch_id: batch,
            rows,
            rejected: 0,
            discovered_us: Some(discovered),
            started_us: started,
            committed_us: committed,
            quarantined: false,
        }
    }

    fn batch(id: i64, started_ms: i64, wall_ms: i64, p: f64, t: f64, w: f64) -> BatchRecord {
        BatchRecord {
            batch_id: id,
            file_count: 1,
            rows_read: 10 * id as u64,
            started_us: started_ms * 1000,
            committed_us: (started_ms + wall_ms) * 1000,
            parse_ms: p,
            transform_ms: t,
            write_ms: w,
            ..BatchRecord::default()
        }
    }

    #[test]
    fn breakdown_of_two_files() {
        // a: 10 rows, created 0, discovered 100 ms, batch 1 starts 1000 ms,
        //    commits 1500 ms (server clock 200 ms ahead: 1700 recorded).
        // b: 30 rows (+2 rejected), created 500 ms, discovered 520 ms,
        //    batch 2 starts 2000 ms, commits 2300 ms (2500 recorded).
        // c: quarantined; d: unknown to the manifest; e: no discovery time.
        let created: HashMap<String, i64> = [("a", 0), ("b", 500_000), ("c", 0), ("e", 0)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut b = file("b", 2, 32, 520_000, 2_000_000, 2_500_000);
        b.rejected = 2;
        let mut c = file("c", 2, 0, 0, 2_000_000, 2_500_000);
        c.quarantined = true;
        let mut e = file("e", 2, 5, 0, 2_000_000, 2_500_000);
        e.discovered_us = None;
        let files = vec![
            file("a", 1, 10, 100_000, 1_000_000, 1_700_000),
            b,
            c,
            file("d", 2, 5, 0, 2_000_000, 2_500_000),
            e,
        ];
        let batches = vec![
            batch(1, 1000, 500, 100.0, 50.0, 400.0),
            batch(2, 2000, 300, 60.0, 30.0, 200.0),
        ];
        let s = stage_breakdown(&files, &created, 200_000, &batches).unwrap();
        assert_eq!((s.files, s.rows, s.files_unmeasured), (2, 40, 3));
        let by = |id: &str| s.latency.iter().find(|f| f.stage == id).unwrap().clone();

        // visible → discovered: a 100 ms ×10, b 20 ms ×30.
        let v2d = by(VISIBLE_TO_DISCOVERED);
        assert_eq!(
            (v2d.p50_ms, v2d.p95_ms, v2d.p99_ms, v2d.max_ms),
            (20.0, 100.0, 100.0, 100.0)
        );
        assert_eq!(v2d.mean_ms, 40.0); // (1000 + 600) / 40
                                       // discovered → start: a 900 ms, b 1480 ms.
        let d2s = by(DISCOVERED_TO_BATCH_START);
        assert_eq!(
            (d2s.p50_ms, d2s.p95_ms, d2s.max_ms),
            (1480.0, 1480.0, 1480.0)
        );
        assert_eq!(d2s.mean_ms, 1335.0); // (9000 + 44400) / 40
                                         // start → committed: a 500 ms, b 300 ms.
        let s2c = by(BATCH_START_TO_COMMITTED);
        assert_eq!((s2c.p50_ms, s2c.p95_ms, s2c.max_ms), (300.0, 500.0, 500.0));
        assert_eq!(s2c.mean_ms, 350.0); // (5000 + 9000) / 40
                                        // whole way: a 1500 ms, b 1800 ms.
        let v2c = by(VISIBLE_TO_COMMITTED);
        assert_eq!(
            (v2c.p50_ms, v2c.p99_ms, v2c.max_ms),
            (1800.0, 1800.0, 1800.0)
        );
        assert_eq!(v2c.mean_ms, 1725.0); // (15000 + 54000) / 40 = 40 + 1335 + 350
        assert_eq!(v2d.share_pct, Some(2.319));
        assert_eq!(d2s.share_pct, Some(77.391));
        assert_eq!(s2c.share_pct, Some(20.29));
        assert_eq!(v2c.share_pct, Some(100.0));
        assert_eq!(s.latency.len(), 4);
        assert_eq!(s.latency[3].stage, VISIBLE_TO_COMMITTED);

        // Busy over batches: wall 500 + 300 = 800 ms.
        assert_eq!(s.batches, 2);
        let want = [
            ("parse", 60.0, 100.0, 100.0, 80.0, Some(20.0)),
            ("transform", 30.0, 50.0, 50.0, 40.0, Some(10.0)),
            ("write", 200.0, 400.0, 400.0, 300.0, Some(75.0)),
        ];
        assert_eq!(s.busy.len(), want.len());
        for (b, (stage, p50, p95, max, mean, share)) in s.busy.iter().zip(want) {
            assert_eq!(
                (b.stage.as_str(), b.p50_ms, b.p95_ms, b.max_ms, b.mean_ms),
                (stage, p50, p95, max, mean)
            );
            assert_eq!(b.share_of_wall_pct, share, "{stage}");
        }
    }

    #[test]
    fn nothing_to_break_down() {
        assert_eq!(stage_breakdown(&[], &HashMap::new(), 0, &[]), None);
        // Batches but no measurable file: busy figures only.
        let s =
            stage_breakdown(&[], &HashMap::new(), 0, &[batch(1, 0, 100, 1.0, 2.0, 3.0)]).unwrap();
        assert!(s.latency.is_empty());
        assert_eq!(s.busy.len(), 3);
        assert_eq!(s.busy[2].share_of_wall_pct, Some(3.0));
    }

    #[test]
    fn slowest_first_ties_by_id() {
        let batches = vec![
            batch(1, 0, 100, 1.0, 1.0, 1.0),
            batch(2, 1000, 700, 5.0, 6.0, 7.0),
            batch(3, 2000, 100, 1.0, 1.0, 1.0),
            batch(4, 3000, 300, 1.0, 1.0, 1.0),
        ];
        let slow = slowest_batches(&batches, 3);
        let ids: Vec<i64> = slow.iter().map(|b| b.batch_id).collect();
        assert_eq!(ids, vec![2, 4, 1]);
        assert_eq!(slow[0].time_ms, 700.0);
        assert_eq!((slow[0].files, slow[0].rows), (1, 20));
        assert_eq!(
            (slow[0].parse_ms, slow[0].transform_ms, slow[0].write_ms),
            (5.0, 6.0, 7.0)
        );
        assert_eq!(slow[0].started_at_us, 1_000_000);
        assert_eq!(slowest_batches(&batches, 10).len(), 4);
    }

    #[test]
    fn adherence_counts_overruns() {
        // Starts at 0, 1000, 2500, 3500 ms; walls 400, 1200, 900, 1001 ms.
        let batches = vec![
            batch(1, 0, 400, 0.0, 0.0, 0.0),
            batch(2, 1000, 1200, 0.0, 0.0, 0.0),
            batch(3, 2500, 900, 0.0, 0.0, 0.0),
            batch(4, 3500, 1001, 0.0, 0.0, 0.0),
        ];
        let every_second = ConfiguredTrigger {
            label: "1s".into(),
            interval: Some(std::time::Duration::from_secs(1)),
        };
        let continuous = ConfiguredTrigger {
            label: "continuous".into(),
            interval: None,
        };
        let t = trigger_adherence(&batches, Some(&every_second)).unwrap();
        assert_eq!(t.configured.as_deref(), Some("1s"));
        assert_eq!(t.interval_ms, Some(1000.0));
        assert_eq!(t.batches, 4);
        // Gaps 1000, 1500, 1000.
        assert_eq!(t.start_gap_ms_p50, 1000.0);
        assert_eq!(t.start_gap_ms_max, 1500.0);
        assert_eq!(t.overran, Some(2));
        assert_eq!(t.overran_pct, Some(50.0));

        let t = trigger_adherence(&batches, Some(&continuous)).unwrap();
        assert_eq!(
            (t.interval_ms, t.overran, t.overran_pct),
            (None, None, None)
        );
        assert_eq!(t.start_gap_ms_max, 1500.0);
        let t = trigger_adherence(&batches[..1], None).unwrap();
        assert_eq!(
            (t.configured, t.start_gap_ms_p50, t.overran),
            (None, 0.0, None)
        );
        assert_eq!(trigger_adherence(&[], Some(&every_second)), None);
    }
}

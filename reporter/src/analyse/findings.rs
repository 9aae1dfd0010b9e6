//! Bottlenecks and recommendations: rules over the summary's figures, each
//! finding citing the figures behind it. Pure: the summary in, the findings
//! out, most severe first.
//!
//! | rule | when | severity |
//! | --- | --- | --- |
//! | `rows_missing` | missing > 0 | critical |
//! | `duplicates` | duplicates > 0 | critical |
//! | `falling_behind` | batches took longer than the trigger interval | warning |
//! | `trigger_wait_dominates` | discovered → batch start > 60 % of mean latency | warning |
//! | `slow_discovery` | visible → discovered > 30 % of mean latency and P95 > 500 ms | warning |
//! | `database_bound` | write busy > 2 × (parse + transform) and > 50 % of batch wall time | warning |
//! | `pipeline_bound` | parse + transform busy > 2 × write and one of them > 50 % of wall time | warning |
//! | `database_saturated` | PostgreSQL mean CPU > 80 % of one core | warning |
//! | `generator_late` | the generator fell behind by > 10 % of its interval | warning |
//! | `memory_growth` | soak (≥ 10 min sampled): pipeline RSS of the last quarter > first × 1.2 and + 10 MiB | warning |
//! | `latency_drift` | soak (≥ 10 min of files): P95 of the last quarter > first × 1.5 and + 100 ms | warning |
//! | `slow_recovery` | after a drop in load (load phases) the backlog took > 2 trigger intervals (else 2 × batch P95) to drain | warning |
//! | `phase_latency_over_target` | a load phase's P99 exceeds the scenario's P99 target | warning |
//! | `rows_rejected` | rejected > 0 | info (warning when ≠ the deliberate bad rows) |
//! | `query_without_index` | a lookup or range query runs a Seq Scan and takes > 100 ms | info |
//! | `cache_misses` | cache hit ratio of the run < 99 % over ≥ 10 000 blocks read | warning |
//! | `checkpoint_stalls` | checkpoints ended during the run: do the slowest batches overlap one? | info |

use crate::analyse::phases::{longest_recovery, worst_p99};
use crate::analyse::stages::{
    DISCOVERED_TO_BATCH_START, VISIBLE_TO_COMMITTED, VISIBLE_TO_DISCOVERED,
};
use crate::format::{fmt_count, fmt_decimal};
use crate::summary::{Finding, Quarters, ResourceProfile, Severity, StageFigures, Summary};

/// Cache hit ratio below which the run's reads went to the operating system, percent.
pub const CACHE_HIT_PCT: f64 = 99.0;
/// Blocks read below which a low hit ratio is noise (a cold start).
pub const CACHE_MIN_READS: i64 = 10_000;

/// Trigger-wait share of the mean latency above which it dominates, percent.
pub const TRIGGER_WAIT_SHARE_PCT: f64 = 60.0;
/// Discovery share of the mean latency above which discovery is slow, percent.
pub const DISCOVERY_SHARE_PCT: f64 = 30.0;
/// …and the discovery P95 above which it matters, ms.
pub const DISCOVERY_P95_MS: f64 = 500.0;
/// One stage's busy time is "much larger" than another's at this ratio.
pub const DOMINANCE_RATIO: f64 = 2.0;
/// Share of the batch wall time a dominating stage must keep busy, percent.
pub const BUSY_SHARE_PCT: f64 = 50.0;
/// PostgreSQL mean CPU (% of one core) above which it is saturated.
pub const POSTGRES_CPU_PCT: f64 = 80.0;
/// A lookup slower than this on a Seq Scan deserves an index, ms.
pub const SLOW_QUERY_MS: f64 = 100.0;
/// The drift rules judge runs at least this long, seconds: in a shorter run
/// the first quarter is still start-up (buffers filling, caches warming),
/// so growth from it says nothing about a leak.
pub const SOAK_MIN_S: f64 = 600.0;
/// Pipeline RSS growth that counts, last quarter over first: a ratio...
pub const RSS_GROWTH_RATIO: f64 = 1.2;
/// ...and an absolute growth, MiB (a 20 % rise of a few MiB is noise).
pub const RSS_GROWTH_MIB: f64 = 10.0;
/// P95 drift that counts, last quarter over first: a ratio...
pub const P95_DRIFT_RATIO: f64 = 1.5;
/// ...and an absolute rise, ms.
pub const P95_DRIFT_MS: f64 = 100.0;
/// A recovery after a drop in load longer than this many batch cadences is
/// slow: a pipeline that keeps up commits a phase's last file within one
/// trigger interval of its creation, plus a batch.
pub const RECOVERY_CADENCES: f64 = 2.0;

fn ms(x: f64) -> String {
    format!("{} ms", fmt_decimal(x, 1))
}

fn pct(x: f64) -> String {
    format!("{} %", fmt_decimal(x, 1))
}

fn finding(rule: &str, severity: Severity, finding: String, recommendation: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity,
        finding,
        recommendation,
    }
}

fn stage<'a>(s: &'a Summary, id: &str) -> Option<&'a StageFigures> {
    s.stages.as_ref()?.latency.iter().find(|f| f.stage == id)
}

fn busy_mean(s: &Summary, id: &str) -> Option<(f64, Option<f64>)> {
    s.stages
        .as_ref()?
        .busy
        .iter()
        .find(|b| b.stage == id)
        .map(|b| (b.mean_ms, b.share_of_wall_pct))
}

/// A figure of the run's resource profile; `None` when nothing was sampled.
fn resource(s: &Summary, figure: fn(&ResourceProfile) -> f64) -> Option<f64> {
    s.sampled_resources().map(figure)
}

/// A first-vs-last-quarter figure of a soak-length run that grew by more
/// than `ratio` times and by more than `min_increase`; short runs are
/// still warming up in their first quarter and are not judged.
fn grew(q: Option<Quarters>, ratio: f64, min_increase: f64) -> Option<Quarters> {
    q.filter(|q| {
        q.span_s >= SOAK_MIN_S && q.last > q.first * ratio && q.last - q.first > min_increase
    })
}

/// `last` over `first` as a rise in percent (0 when `first` is not positive).
fn growth_pct(first: f64, last: f64) -> f64 {
    if first > 0.0 {
        (last / first - 1.0) * 100.0
    } else {
        0.0
    }
}

/// The rules in the order of the table above; a rule adds its findings (a
/// function may judge two rules that exclude each other).
const RULES: &[fn(&Summary, &mut Vec<Finding>)] = &[
    rows_missing,
    duplicates,
    falling_behind,
    where_latency_goes,
    batch_bottleneck,
    database_saturated,
    generator_late,
    memory_growth,
    latency_drift,
    load_phase_findings,
    rows_rejected,
    query_without_index,
    cache_misses,
    checkpoint_stalls,
];

/// The findings, most severe first (rules in the order of the table above
/// within one severity).
pub fn analyse(s: &Summary) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        rule(s, &mut out);
    }
    out.sort_by_key(|f| f.severity);
    out
}

/// `rows_missing`.
fn rows_missing(s: &Summary, out: &mut Vec<Finding>) {
    let r = &s.rows;
    if r.missing > 0 {
        out.push(finding(
            "rows_missing",
            Severity::Critical,
            format!(
                "{} of {} expected rows are not in the table ({} files with no row at all, {} \
                 with fewer rows than expected).",
                fmt_count(r.missing),
                fmt_count(r.expected),
                fmt_count(s.files.missing_from_db),
                fmt_count(s.files.incomplete)
            ),
            "Check that the pipeline drained before the report (a longer `drain_timeout`), then \
             its log for failed batches; the files with no rows are listed under Data integrity."
                .to_string(),
        ));
    }
}

/// `duplicates`.
fn duplicates(s: &Summary, out: &mut Vec<Finding>) {
    let r = &s.rows;
    if r.duplicates > 0 {
        out.push(finding(
            "duplicates",
            Severity::Critical,
            format!(
                "{} copies of events beyond the first are in the table: exactly-once was broken.",
                fmt_count(r.duplicates)
            ),
            "Check that the table's key is its primary key and that no other writer (or a second \
             checkpoint folder over the same files) feeds it."
                .to_string(),
        ));
    }
}

/// `falling_behind`.
fn falling_behind(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(t) = &s.trigger_adherence {
        if let (Some(overran), Some(interval)) = (t.overran.filter(|&n| n > 0), t.interval_ms) {
            let slowest = s
                .slowest_batches
                .first()
                .map_or(s.batches.time_ms_max, |b| b.time_ms);
            out.push(finding(
                "falling_behind",
                Severity::Warning,
                format!(
                    "{} of {} batches ({}) took longer than the trigger interval of {} (slowest \
                     {}): the next batch started late, so the pipeline was falling behind.",
                    fmt_count(overran),
                    fmt_count(t.batches),
                    pct(t.overran_pct.unwrap_or(0.0)),
                    ms(interval),
                    ms(slowest)
                ),
                "Raise `max_files_per_trigger` so fewer, larger batches carry the per-batch cost, \
                 shorten the work per batch (larger `batch_size`, fewer indexes), or lengthen the \
                 trigger."
                    .to_string(),
            ));
        }
    }
}

/// `trigger_wait_dominates` and `slow_discovery`.
fn where_latency_goes(s: &Summary, out: &mut Vec<Finding>) {
    let total = stage(s, VISIBLE_TO_COMMITTED).map(|t| t.mean_ms);
    if let (Some(wait), Some(total)) = (stage(s, DISCOVERED_TO_BATCH_START), total) {
        if wait.share_pct.is_some_and(|p| p > TRIGGER_WAIT_SHARE_PCT) {
            let trigger = s
                .trigger_adherence
                .as_ref()
                .and_then(|t| t.configured.clone())
                .map_or(String::new(), |t| format!(" (now {t})"));
            out.push(finding(
                "trigger_wait_dominates",
                Severity::Warning,
                format!(
                    "Latency is dominated by the trigger wait: files wait {} on average between \
                     discovery and their batch's start, of {} mean end to end ({}).",
                    ms(wait.mean_ms),
                    ms(total),
                    pct(wait.share_pct.unwrap_or(0.0))
                ),
                format!(
                    "A shorter trigger{trigger} or `--trigger continuous` lowers it; the cost is \
                     more, smaller batches."
                ),
            ));
        }
    }
    if let (Some(disc), Some(total)) = (stage(s, VISIBLE_TO_DISCOVERED), total) {
        if disc.share_pct.is_some_and(|p| p > DISCOVERY_SHARE_PCT) && disc.p95_ms > DISCOVERY_P95_MS
        {
            out.push(finding(
                "slow_discovery",
                Severity::Warning,
                format!(
                    "Files wait to be discovered: {} on average (P95 {}), {} of the {} mean \
                     latency.",
                    ms(disc.mean_ms),
                    ms(disc.p95_ms),
                    pct(disc.share_pct.unwrap_or(0.0)),
                    ms(total)
                ),
                "The file watcher missed events and the periodic listing found the files: lower \
                 `listing_interval`, or check that the input folder is on a local file system \
                 (network shares send no events)."
                    .to_string(),
            ));
        }
    }
}

/// `database_bound` or `pipeline_bound`.
fn batch_bottleneck(s: &Summary, out: &mut Vec<Finding>) {
    if let (
        Some((parse, parse_share)),
        Some((transform, transform_share)),
        Some((write, write_share)),
    ) = (
        busy_mean(s, "parse"),
        busy_mean(s, "transform"),
        busy_mean(s, "write"),
    ) {
        let cpu = parse + transform;
        // A stage busy longer than the batches' wall time worked before the
        // batches started: files written on arrival, before the tick that
        // starts and commits their batch. Those shares judge nothing.
        let dominant = |share: Option<f64>| share.is_some_and(|p| p > BUSY_SHARE_PCT && p <= 100.0);
        if write > DOMINANCE_RATIO * cpu && dominant(write_share) {
            let indexes = s.database.as_ref().map_or(String::new(), |d| {
                format!(" on its {} indexes", d.indexes.len())
            });
            out.push(finding(
                "database_bound",
                Severity::Warning,
                format!(
                    "Batches are PostgreSQL-bound: writing keeps them busy {} per batch ({} of \
                     the batch wall time) against {} parsing and {} transforming.",
                    ms(write),
                    pct(write_share.unwrap_or(0.0)),
                    ms(parse),
                    ms(transform)
                ),
                format!(
                    "Index maintenance{indexes} is paid on every row: drop indexes no query needs, \
                     or write larger batches (`batch_size`, `max_files_per_trigger`) so each merge \
                     covers more rows."
                ),
            ));
        } else if cpu > DOMINANCE_RATIO * write {
            let (name, busy, share) = if parse >= transform {
                ("parsing", parse, parse_share)
            } else {
                ("transforming", transform, transform_share)
            };
            if dominant(share) {
                out.push(finding(
                    "pipeline_bound",
                    Severity::Warning,
                    format!(
                        "Batches are bound by sluice itself: {name} keeps them busy {} per batch \
                         ({} of the batch wall time) against {} writing.",
                        ms(busy),
                        pct(share.unwrap_or(0.0)),
                        ms(write)
                    ),
                    "Check the build is optimised and the pipeline's CPU (Resources); more \
                     transform partitions or more cores help, the database is not the limit."
                        .to_string(),
                ));
            }
        }
    }
}

/// `database_saturated`.
fn database_saturated(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(cpu) = resource(s, |r| r.postgres_cpu_mean_pct).filter(|&c| c > POSTGRES_CPU_PCT) {
        out.push(finding(
            "database_saturated",
            Severity::Warning,
            format!(
                "PostgreSQL used {} of one core on average during the run: the database is \
                 saturated (one backend writes each batch, so about one core is its ceiling).",
                pct(cpu)
            ),
            "Give the database more CPU or a faster disk, keep fewer indexes on the target, or \
             write larger batches so each merge does more per statement."
                .to_string(),
        ));
    }
}

/// `generator_late`.
fn generator_late(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(l) = s.generator_lateness.as_ref().filter(|l| l.significant) {
        out.push(finding(
            "generator_late",
            Severity::Warning,
            format!(
                "The generator fell behind its schedule by up to {} ({} late files, interval {}).",
                ms(l.max_lateness_ms),
                fmt_count(l.late_files),
                l.interval_ms.map_or("unknown".to_string(), ms)
            ),
            "The offered load was lower than configured, so latency and throughput are \
             understated: run the generator on a less busy host, or lower the load."
                .to_string(),
        ));
    }
}

/// `memory_growth`.
fn memory_growth(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(q) = grew(s.drift.pipeline_rss_mb, RSS_GROWTH_RATIO, RSS_GROWTH_MIB) {
        out.push(finding(
            "memory_growth",
            Severity::Warning,
            format!(
                "Pipeline memory grew during the run: mean RSS {} MiB in the first quarter, {} \
                 MiB in the last (+{} MiB, +{}) over {} s.",
                fmt_decimal(q.first, 1),
                fmt_decimal(q.last, 1),
                fmt_decimal(q.last - q.first, 1),
                pct(growth_pct(q.first, q.last)),
                fmt_decimal(q.span_s, 0)
            ),
            "Memory should stay flat once the pipeline is warm: look at the memory chart for a \
             steady climb (a leak or an unbounded cache) against a step (a larger backlog), \
             and lower `max_files_per_trigger` or `chunk_rows` if it follows the backlog."
                .to_string(),
        ));
    }
}

/// `latency_drift`.
fn latency_drift(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(q) = grew(s.drift.latency_p95_ms, P95_DRIFT_RATIO, P95_DRIFT_MS) {
        out.push(finding(
            "latency_drift",
            Severity::Warning,
            format!(
                "Latency rose during the run: P95 {} for the files of the first quarter, {} for \
                 those of the last (+{}) over {} s.",
                ms(q.first),
                ms(q.last),
                pct(growth_pct(q.first, q.last)),
                fmt_decimal(q.span_s, 0)
            ),
            "A pipeline that keeps up has flat latency: check the backlog in the throughput \
             chart (a growing backlog means the load exceeds what it sustains) and the table's \
             growth (index maintenance gets dearer as it grows)."
                .to_string(),
        ));
    }
}

/// `rows_rejected`.
fn rows_rejected(s: &Summary, out: &mut Vec<Finding>) {
    let r = &s.rows;
    if r.rejected > 0 {
        let top = s.rejected_by_reason.first().map_or(String::new(), |t| {
            format!(
                "; the most common reason: \"{}\" ({} rows)",
                t.reason,
                fmt_count(t.count)
            )
        });
        let deliberate = r.rejected == r.bad_input;
        out.push(finding(
            "rows_rejected",
            if deliberate {
                Severity::Info
            } else {
                Severity::Warning
            },
            format!(
                "{} rows were rejected{top}{}.",
                fmt_count(r.rejected),
                if deliberate {
                    format!(
                        ": exactly the {} malformed rows the generator wrote on purpose",
                        fmt_count(r.bad_input)
                    )
                } else {
                    format!(
                        ", while the generator wrote {} malformed rows on purpose",
                        fmt_count(r.bad_input)
                    )
                }
            ),
            format!(
                "Fix the data upstream: `{}` keeps each rejected row with its file, line and \
                 reason.",
                s.rejects_table
            ),
        ));
    }
}

/// `query_without_index`.
fn query_without_index(s: &Summary, out: &mut Vec<Finding>) {
    if let Some(db) = &s.database {
        for q in &db.queries {
            let seq = q.plan_node == "Seq Scan" || q.plan_scan.as_deref() == Some("Seq Scan");
            let lookup = q.name != "count(*)" && q.name != "GROUP BY event_type";
            if seq && lookup && q.median_ms > SLOW_QUERY_MS {
                out.push(finding(
                    "query_without_index",
                    Severity::Info,
                    format!(
                        "The query `{}` reads the whole table (Seq Scan) and takes {}.",
                        q.name,
                        ms(q.median_ms)
                    ),
                    "An index on its column makes it a lookup (each index costs the writes \
                     some time)."
                        .to_string(),
                ));
            }
        }
    }
}

fn seconds(x: f64) -> String {
    format!("{} s", fmt_decimal(x, 3))
}

/// `slow_recovery` and `phase_latency_over_target`: only with two or more
/// load phases (a single one is the whole run, which the targets judge).
fn load_phase_findings(s: &Summary, out: &mut Vec<Finding>) {
    let phases = &s.phases;
    if phases.len() < 2 {
        return;
    }
    // A continuous trigger starts a batch as soon as the last one ends, so
    // its cadence is a batch's time.
    let cadence = s
        .trigger_adherence
        .as_ref()
        .and_then(|t| t.interval_ms)
        .map(|ms| (ms, "trigger interval"))
        .or_else(|| (s.batches.time_ms_p95 > 0.0).then_some((s.batches.time_ms_p95, "batch P95")));
    if let (Some((phase, recovery)), Some((cadence_ms, cadence_name))) =
        (longest_recovery(phases), cadence)
    {
        let limit_s = RECOVERY_CADENCES * cadence_ms / 1000.0;
        if recovery > limit_s {
            let slow = phases
                .iter()
                .filter(|p| p.recovery_s.is_some_and(|r| r > limit_s))
                .count();
            let measured = phases.iter().filter(|p| p.recovery_s.is_some()).count();
            out.push(finding(
                "slow_recovery",
                Severity::Warning,
                format!(
                    "After load phase {} ({} rows/s) the pipeline took {} to commit the phase's \
                     last rows, more than {} × the {cadence_name} of {}; {} of {} drops in load \
                     took that long.",
                    phase.index,
                    fmt_count(phase.target_rows_per_s),
                    seconds(recovery),
                    fmt_decimal(RECOVERY_CADENCES, 0),
                    ms(cadence_ms),
                    fmt_count(slow as u64),
                    fmt_count(measured as u64)
                ),
                "The pipeline falls behind while the higher load lasts and drains the backlog \
                 afterwards: raise `max_files_per_trigger` (and the rows per trigger) so one batch \
                 takes a burst's backlog, or shorten the work per batch (larger `batch_size`, fewer \
                 indexes)."
                    .to_string(),
            ));
        }
    }
    let target = s
        .targets
        .iter()
        .find(|t| t.name == "p99_ms")
        .map(|t| t.target);
    if let (Some(worst), Some(target)) = (worst_p99(phases), target) {
        if worst.latency_ms.p99 > target {
            let over = phases
                .iter()
                .filter(|p| p.latency_ms.count > 0 && p.latency_ms.p99 > target)
                .count();
            out.push(finding(
                "phase_latency_over_target",
                Severity::Warning,
                format!(
                    "Load phase {} ({} rows/s, from {} for {}) had a P99 latency of {}, above the \
                     scenario's P99 target of {} (the whole run: {}); {} of {} phases were above \
                     it.",
                    worst.index,
                    fmt_count(worst.target_rows_per_s),
                    seconds(worst.start_s),
                    seconds(worst.duration_s),
                    ms(worst.latency_ms.p99),
                    ms(target),
                    ms(s.latency_ms.p99),
                    fmt_count(over as u64),
                    fmt_count(phases.len() as u64)
                ),
                "The whole-run percentiles average the high load with the quiet: size the \
                 pipeline for the peak rate (a shorter trigger, larger batches through \
                 `max_files_per_trigger` and `batch_size`), or lower the peak."
                    .to_string(),
            ));
        }
    }
}

/// `cache_misses`.
fn cache_misses(s: &Summary, out: &mut Vec<Finding>) {
    let Some(cache) = s.database_activity.as_ref().and_then(|a| a.cache) else {
        return;
    };
    let Some(ratio) = cache.hit_ratio_pct else {
        return;
    };
    if ratio < CACHE_HIT_PCT && cache.blocks_read >= CACHE_MIN_READS {
        out.push(finding(
            "cache_misses",
            Severity::Warning,
            format!(
                "Cache hit ratio {} during the run: {} blocks were read from the operating \
                 system against {} found in shared buffers; the table and its indexes no \
                 longer fit in `shared_buffers`.",
                pct(ratio),
                fmt_count(u64::try_from(cache.blocks_read).unwrap_or(0)),
                fmt_count(u64::try_from(cache.blocks_hit).unwrap_or(0))
            ),
            "Raise `shared_buffers` (a quarter of the machine's memory is the usual start), \
             drop indexes nobody reads, or partition the table by time."
                .to_string(),
        ));
    }
}

/// `checkpoint_stalls`: each of the slowest batches is attributed to a
/// checkpoint its run overlapped, or to none.
fn checkpoint_stalls(s: &Summary, out: &mut Vec<Finding>) {
    let Some(checkpoints) = s
        .database_activity
        .as_ref()
        .and_then(|a| a.checkpoints.as_ref())
    else {
        return;
    };
    if checkpoints.events.is_empty() || s.slowest_batches.is_empty() {
        return;
    }
    let origin = s.span.first_file_created_us.unwrap_or(0);
    let at = |us: i64| seconds((us - origin) as f64 / 1e6);
    let overlapping: Vec<String> = s
        .slowest_batches
        .iter()
        .filter_map(|batch| {
            let end = batch.started_at_us + (batch.time_ms * 1000.0) as i64;
            let checkpoint = checkpoints
                .events
                .iter()
                .find(|c| c.overlaps(batch.started_at_us, end))?;
            Some(format!(
                "batch {} at {} ({} ms) during the checkpoint that ended by {} (write {} s, sync \
                 {} s)",
                batch.batch_id,
                at(batch.started_at_us),
                fmt_decimal(batch.time_ms, 0),
                at(checkpoint.ended_by_us),
                fmt_decimal(checkpoint.write_ms / 1000.0, 1),
                fmt_decimal(checkpoint.sync_ms / 1000.0, 1)
            ))
        })
        .collect();
    let n = s.slowest_batches.len();
    if overlapping.is_empty() {
        out.push(finding(
            "checkpoint_stalls",
            Severity::Info,
            format!(
                "{} checkpoint{} ended during the run, and none of the {n} slowest batches \
                 overlapped one: their time went elsewhere (see where the time goes).",
                checkpoints.events.len(),
                if checkpoints.events.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            "Nothing to change in the checkpoint settings for latency.".to_string(),
        ));
    } else {
        out.push(finding(
            "checkpoint_stalls",
            Severity::Info,
            format!(
                "{} of the {n} slowest batches ran during a checkpoint: {}.",
                overlapping.len(),
                overlapping.join("; ")
            ),
            "Spread checkpoints out: raise `checkpoint_timeout` and `max_wal_size`, and keep \
             `checkpoint_completion_target` near 0.9 so their writes do not come in bursts."
                .to_string(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample;
    use crate::summary::{
        BusyFigures, DatabaseSummary, Drift, GeneratorLateness, Quarters, QueryTiming, ReasonCount,
        RunSummary, SlowBatch, StageBreakdown, TriggerAdherence,
    };

    fn stage_fig(id: &str, mean: f64, p95: f64, share: f64) -> StageFigures {
        StageFigures {
            stage: id.into(),
            p50_ms: mean,
            p95_ms: p95,
            p99_ms: p95,
            max_ms: p95,
            mean_ms: mean,
            share_pct: Some(share),
        }
    }

    fn busy(id: &str, mean: f64, share: f64) -> BusyFigures {
        BusyFigures {
            stage: id.into(),
            p50_ms: mean,
            p95_ms: mean,
            max_ms: mean,
            mean_ms: mean,
            share_of_wall_pct: Some(share),
        }
    }

    fn rules(s: &Summary) -> Vec<String> {
        analyse(s).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_healthy_run_has_no_findings() {
        assert!(analyse(&sample()).is_empty());
    }

    #[test]
    fn trigger_wait_dominates() {
        let mut s = sample();
        s.stages = Some(StageBreakdown {
            latency: vec![
                stage_fig(VISIBLE_TO_DISCOVERED, 5.0, 10.0, 0.333),
                stage_fig(DISCOVERED_TO_BATCH_START, 1200.0, 1900.0, 80.0),
                stage_fig("batch_start_to_committed", 295.0, 400.0, 19.667),
                stage_fig(VISIBLE_TO_COMMITTED, 1500.0, 2000.0, 100.0),
            ],
            ..StageBreakdown::default()
        });
        s.trigger_adherence = Some(TriggerAdherence {
            configured: Some("1s".into()),
            interval_ms: Some(1000.0),
            batches: 10,
            overran: Some(0),
            overran_pct: Some(0.0),
            ..TriggerAdherence::default()
        });
        let f = analyse(&s);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "trigger_wait_dominates");
        assert_eq!(
            f[0].finding,
            "Latency is dominated by the trigger wait: files wait 1,200.0 ms on average between \
             discovery and their batch's start, of 1,500.0 ms mean end to end (80.0 %)."
        );
        assert!(f[0]
            .recommendation
            .contains("A shorter trigger (now 1s) or `--trigger continuous`"));
        // At 60 % exactly it does not dominate.
        s.stages.as_mut().unwrap().latency[1].share_pct = Some(60.0);
        assert!(analyse(&s).is_empty());
    }

    #[test]
    fn slow_discovery() {
        let mut s = sample();
        s.stages = Some(StageBreakdown {
            latency: vec![
                stage_fig(VISIBLE_TO_DISCOVERED, 400.0, 900.0, 40.0),
                stage_fig(VISIBLE_TO_COMMITTED, 1000.0, 2000.0, 100.0),
            ],
            ..StageBreakdown::default()
        });
        let f = analyse(&s);
        assert_eq!(f[0].rule, "slow_discovery");
        assert!(f[0]
            .finding
            .contains("400.0 ms on average (P95 900.0 ms), 40.0 %"));
        s.stages.as_mut().unwrap().latency[0].p95_ms = 500.0;
        assert!(analyse(&s).is_empty());
    }

    #[test]
    fn falling_behind_cites_the_slowest_batch() {
        let mut s = sample();
        s.trigger_adherence = Some(TriggerAdherence {
            configured: Some("10s".into()),
            interval_ms: Some(10_000.0),
            batches: 40,
            overran: Some(3),
            overran_pct: Some(7.5),
            ..TriggerAdherence::default()
        });
        s.slowest_batches = vec![SlowBatch {
            batch_id: 7,
            time_ms: 12_345.6,
            files: 1,
            rows: 1,
            parse_ms: 0.0,
            transform_ms: 0.0,
            write_ms: 0.0,
            started_at_us: 0,
        }];
        let f = analyse(&s);
        assert_eq!(f[0].rule, "falling_behind");
        assert_eq!(
            f[0].finding,
            "3 of 40 batches (7.5 %) took longer than the trigger interval of 10,000.0 ms \
             (slowest 12,345.6 ms): the next batch started late, so the pipeline was falling \
             behind."
        );
        assert!(f[0].recommendation.contains("max_files_per_trigger"));
        // No interval (continuous): nothing to fall behind.
        s.trigger_adherence.as_mut().unwrap().interval_ms = None;
        assert!(analyse(&s).is_empty());
    }

    #[test]
    fn database_or_pipeline_bound() {
        let mut s = sample();
        s.stages = Some(StageBreakdown {
            busy: vec![
                busy("parse", 20.0, 10.0),
                busy("transform", 30.0, 15.0),
                busy("write", 180.0, 90.0),
            ],
            ..StageBreakdown::default()
        });
        s.database = Some(DatabaseSummary::default());
        let f = analyse(&s);
        assert_eq!(rules(&s), vec!["database_bound"]);
        assert_eq!(
            f[0].finding,
            "Batches are PostgreSQL-bound: writing keeps them busy 180.0 ms per batch (90.0 % of \
             the batch wall time) against 20.0 ms parsing and 30.0 ms transforming."
        );
        assert!(f[0]
            .recommendation
            .starts_with("Index maintenance on its 0 indexes"));
        // Write 2× parse + transform exactly: not dominant.
        s.stages.as_mut().unwrap().busy[2].mean_ms = 100.0;
        assert!(analyse(&s).is_empty());
        // Parsing dominates.
        s.stages.as_mut().unwrap().busy = vec![
            busy("parse", 300.0, 95.0),
            busy("transform", 50.0, 20.0),
            busy("write", 40.0, 12.0),
        ];
        let f = analyse(&s);
        assert_eq!(rules(&s), vec!["pipeline_bound"]);
        assert!(f[0]
            .finding
            .contains("parsing keeps them busy 300.0 ms per batch (95.0 %"));
    }

    #[test]
    fn saturated_database_late_generator_and_rejects() {
        let mut s = sample();
        s.run = Some(RunSummary {
            scenario: "x".into(),
            run_id: "r".into(),
            settings: vec![],
            generator: None,
            pipeline: None,
            resources: Some(ResourceProfile {
                samples: 10,
                postgres_cpu_mean_pct: 93.3,
                ..ResourceProfile::default()
            }),
            external_command: None,
        });
        s.generator_lateness = Some(GeneratorLateness {
            late_files: 12,
            max_lateness_ms: 250.0,
            mean_lateness_ms: 20.0,
            interval_ms: Some(100.0),
            significant: true,
            source: "run".into(),
        });
        s.rows.rejected = 5;
        s.rows.bad_input = 5;
        s.rejected_by_reason = vec![ReasonCount {
            reason: "invalid price".into(),
            count: 3,
        }];
        let f = analyse(&s);
        assert_eq!(
            rules(&s),
            vec!["database_saturated", "generator_late", "rows_rejected"]
        );
        assert!(f[0]
            .finding
            .starts_with("PostgreSQL used 93.3 % of one core"));
        assert_eq!(
            f[1].finding,
            "The generator fell behind its schedule by up to 250.0 ms (12 late files, interval \
             100.0 ms)."
        );
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(
            f[2].finding,
            "5 rows were rejected; the most common reason: \"invalid price\" (3 rows): exactly \
             the 5 malformed rows the generator wrote on purpose."
        );
        assert!(f[2].recommendation.contains("`events_rejects`"));
        s.rows.rejected = 6;
        assert_eq!(analyse(&s)[2].severity, Severity::Warning);
    }

    #[test]
    fn soak_drift_cites_the_quarters() {
        let mut s = sample();
        s.drift = Drift {
            pipeline_rss_mb: Some(Quarters {
                first: 40.0,
                last: 62.0,
                span_s: 3600.0,
            }),
            latency_p95_ms: Some(Quarters {
                first: 800.0,
                last: 1400.0,
                span_s: 3590.0,
            }),
        };
        let f = analyse(&s);
        assert_eq!(rules(&s), vec!["memory_growth", "latency_drift"]);
        assert_eq!(
            f[0].finding,
            "Pipeline memory grew during the run: mean RSS 40.0 MiB in the first quarter, 62.0 \
             MiB in the last (+22.0 MiB, +55.0 %) over 3,600 s."
        );
        assert_eq!(
            f[1].finding,
            "Latency rose during the run: P95 800.0 ms for the files of the first quarter, \
             1,400.0 ms for those of the last (+75.0 %) over 3,590 s."
        );
        assert!(f[0].recommendation.contains("memory chart"));
        assert!(f[1].recommendation.contains("backlog"));
        // A short run is still warming up: no verdict.
        let mut short = s.clone();
        short.drift.pipeline_rss_mb.as_mut().unwrap().span_s = 599.0;
        short.drift.latency_p95_ms.as_mut().unwrap().span_s = 599.0;
        assert!(analyse(&short).is_empty());
        // Below either threshold: +20 % exactly, or +22.5 % but only 9 MiB;
        // ×1.49, or ×1.9 but only +90 ms.
        for (first, last) in [(40.0, 48.0), (40.0, 49.0)] {
            s.drift.pipeline_rss_mb = Some(Quarters {
                first,
                last,
                span_s: 3600.0,
            });
            assert_eq!(rules(&s), vec!["latency_drift"], "{first} → {last}");
        }
        for (first, last) in [(800.0, 1192.0), (100.0, 190.0)] {
            s.drift.latency_p95_ms = Some(Quarters {
                first,
                last,
                span_s: 3600.0,
            });
            assert!(analyse(&s).is_empty(), "{first} → {last}");
        }
    }

    #[test]
    fn load_phases_recovery_and_latency_over_target() {
        use crate::analyse::phases::tests::phase;
        use crate::summary::{TargetResult, TargetStatus};
        let mut s = sample();
        s.latency_ms.p99 = 640.0;
        s.phases = vec![
            phase(1, 5000, 1800.0, 2500.0, Some(3.25)),
            phase(2, 100, 120.0, 150.0, None),
            phase(3, 5000, 900.0, 1000.0, Some(1.5)),
            phase(4, 100, 110.0, 130.0, None),
        ];
        s.trigger_adherence = Some(TriggerAdherence {
            interval_ms: Some(1000.0),
            ..TriggerAdherence::default()
        });
        s.targets = vec![TargetResult {
            name: "p99_ms".into(),
            target: 1000.0,
            measured: Some(640.0),
            bound: "max".into(),
            status: TargetStatus::Pass,
        }];
        let f = analyse(&s);
        assert_eq!(
            rules(&s),
            vec!["slow_recovery", "phase_latency_over_target"]
        );
        assert_eq!(
            f[0].finding,
            "After load phase 1 (5,000 rows/s) the pipeline took 3.250 s to commit the phase's \
             last rows, more than 2 × the trigger interval of 1,000.0 ms; 1 of 2 drops in load \
             took that long."
        );
        assert!(f[0].recommendation.contains("max_files_per_trigger"));
        assert_eq!(
            f[1].finding,
            "Load phase 1 (5,000 rows/s, from 0.000 s for 10.000 s) had a P99 latency of 1,800.0 \
             ms, above the scenario's P99 target of 1,000.0 ms (the whole run: 640.0 ms); 1 of 4 \
             phases were above it."
        );
        // Within 2 intervals and the target: nothing.
        s.phases[0].recovery_s = Some(2.0);
        s.phases[0].latency_ms.p99 = 1000.0;
        assert!(analyse(&s).is_empty());
        // A continuous trigger: the batch P95 is the cadence.
        s.trigger_adherence = None;
        s.batches.time_ms_p95 = 500.0;
        assert_eq!(rules(&s), vec!["slow_recovery"]);
        assert!(analyse(&s)[0]
            .finding
            .contains("took 2.000 s to commit the phase's last rows, more than 2 × the batch P95 of 500.0 ms; 2 of 2"));
        // One phase is the whole run: no verdict.
        s.phases.truncate(1);
        assert!(analyse(&s).is_empty());
    }

    #[test]
    fn integrity_first_then_queries() {
        let mut s = sample();
        s.rows.expected = 100;
        s.rows.missing = 4;
        s.rows.duplicates = 1;
        s.database = Some(DatabaseSummary {
            queries: vec![
                QueryTiming {
                    name: "one user_id".into(),
                    sql: String::new(),
                    runs_ms: vec![],
                    median_ms: 250.0,
                    rows: 3,
                    plan_node: "Gather".into(),
                    plan_index: None,
                    plan_scan: Some("Seq Scan".into()),
                },
                QueryTiming {
                    name: "count(*)".into(),
                    sql: String::new(),
                    runs_ms: vec![],
                    median_ms: 900.0,
                    rows: 1,
                    plan_node: "Seq Scan".into(),
                    plan_index: None,
                    plan_scan: None,
                },
            ],
            ..DatabaseSummary::default()
        });
        assert_eq!(
            rules(&s),
            vec!["rows_missing", "duplicates", "query_without_index"]
        );
        assert!(analyse(&s)[0]
            .finding
            .starts_with("4 of 100 expected rows are not in the table"));
    }
}

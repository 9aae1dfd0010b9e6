//! How the run was set up: its configuration, the resources it used, and the charts.

use generator::GeneratorSummary;
use std::fmt::Write as _;

use super::{embed, key_value_table};
use crate::format::{fmt_bytes, fmt_count, fmt_decimal, fmt_pct};
use crate::render::charts::{ChartInfo, CHARTS, DATABASE_CHARTS, RESOURCE_CHARTS};
use crate::summary::{ResourceProfile, Summary};

pub(super) fn configuration(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Configuration\n");
    let mut basics = vec![
        ("Manifest".to_string(), format!("`{}`", s.manifest)),
        ("Target table".to_string(), format!("`{}`", s.table)),
        (
            "Rejects table".to_string(),
            format!("`{}`", s.rejects_table),
        ),
        (
            "Build".to_string(),
            if s.optimized_build {
                "optimised (release)".to_string()
            } else {
                "unoptimised (debug): figures not representative".to_string()
            },
        ),
    ];
    let Some(run) = &s.run else {
        key_value_table(md, ("Setting", "Value"), &basics);
        let _ = writeln!(
            md,
            "Not made by `sluice run`: no pipeline or generator settings were recorded.\n"
        );
        resources(md, s);
        return;
    };
    basics.splice(
        0..0,
        [
            ("Scenario".to_string(), run.scenario.clone()),
            ("Run id".to_string(), run.run_id.clone()),
        ],
    );
    basics.extend(
        run.settings
            .iter()
            .map(|st| (st.name.clone(), st.value.clone())),
    );
    key_value_table(md, ("Setting", "Value"), &basics);
    if let Some(g) = &run.generator {
        let _ = writeln!(md, "### Generator\n");
        key_value_table(md, ("Figure", "Value"), &generator_rows(g));
    }
    if let Some(p) = &run.pipeline {
        let rows = counter_rows(p);
        if !rows.is_empty() {
            let _ = writeln!(md, "### Pipeline counters\n");
            key_value_table(md, ("Counter", "Value"), &rows);
        }
    }
    resources(md, s);
}

/// The resource profile (peaks and means) and the CPU and memory charts, or
/// why there are none.
pub(super) fn resources(md: &mut String, s: &Summary) {
    let mut rows = s
        .run
        .as_ref()
        .and_then(|r| r.resources.as_ref())
        .map_or_else(Vec::new, |r| resource_rows(r, s.pipeline_name()));
    if let Some(row) = s
        .run
        .as_ref()
        .and_then(|r| r.pipeline.as_ref())
        .and_then(network_row)
    {
        rows.push(row);
    }
    let _ = writeln!(md, "### Resources\n");
    if rows.is_empty() && s.resource_samples == 0 {
        let _ = writeln!(
            md,
            "Resources were not sampled: the run folder has no `resources.jsonl` and the run \
             recorded no resource profile, so there are no CPU or memory figures or charts.\n"
        );
        return;
    }
    let _ = writeln!(
        md,
        "Sampled at a fixed interval during the run with `sysinfo`. Process CPU % is of one \
         core (100 = one core busy); system CPU is of all logical CPUs together. Memory is \
         resident set size, MiB. PostgreSQL = the postmaster and all its children (embedded \
         server only).\n"
    );
    if !rows.is_empty() {
        key_value_table(md, ("Figure", "Value"), &rows);
    }
    let drawn: Vec<&ChartInfo> = RESOURCE_CHARTS
        .iter()
        .filter(|c| s.charts.iter().any(|f| f == c.file))
        .collect();
    if s.resource_samples == 0 {
        let _ = writeln!(
            md,
            "Resources were not sampled over time (no `resources.jsonl` in the run folder): no \
             CPU or memory charts.\n"
        );
    } else if drawn.is_empty() {
        let _ = writeln!(
            md,
            "{} samples were read, but no resource chart could be drawn (see Notes).\n",
            fmt_count(s.resource_samples)
        );
    }
    for info in drawn {
        embed(md, info);
    }
}

/// The SVG charts beside the report, linked by relative path so the folder
/// can be moved or published as a whole.
pub(super) fn charts(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "## Charts\n");
    let charts: Vec<&String> = s
        .charts
        .iter()
        .filter(|f| {
            !RESOURCE_CHARTS
                .iter()
                .chain(&DATABASE_CHARTS)
                .any(|c| c.file == f.as_str())
        })
        .collect();
    if charts.is_empty() {
        let _ = if s.latency_ms.count == 0 {
            writeln!(
                md,
                "No charts: no latency was measured (0 rows with a commit time), so there is \
                 nothing to plot.\n"
            )
        } else {
            writeln!(md, "No charts were written with this report.\n")
        };
        return;
    }
    for file in charts {
        match CHARTS.iter().find(|c| c.file == file.as_str()) {
            Some(info) => embed(md, info),
            None => {
                let _ = writeln!(md, "![{file}]({file})\n");
            }
        }
    }
}

/// The generator's summary as a person reads it: what it wrote, at what
/// pace, how late.
fn generator_rows(g: &GeneratorSummary) -> Vec<(String, String)> {
    let row = |label: &str, value: String| (label.to_string(), value);
    let sources = if g.sources > 1 {
        format!(" from {} sources", g.sources)
    } else {
        String::new()
    };
    vec![
        row("Seed", g.seed.to_string()),
        row("Files written", format!("{}{sources}", fmt_count(g.files))),
        row(
            "Rows written",
            format!(
                "{} ({}–{} per file)",
                fmt_count(g.rows),
                fmt_count(u64::from(g.rows_min)),
                fmt_count(u64::from(g.rows_max))
            ),
        ),
        row(
            "Duplicate rows (a repeated key, absorbed by the upsert)",
            format!(
                "{} (rate {})",
                fmt_count(g.dup_rows),
                fmt_pct(g.dup_rate * 100.0)
            ),
        ),
        row(
            "Malformed rows (must be rejected)",
            format!(
                "{} (rate {})",
                fmt_count(g.bad_rows),
                fmt_pct(g.bad_rate * 100.0)
            ),
        ),
        row("Expected rows (valid, unique)", fmt_count(g.expected_rows)),
        row(
            "File interval",
            format!("{} ms", fmt_decimal(g.interval_ms, 1)),
        ),
        row("Elapsed", format!("{} s", fmt_decimal(g.elapsed_s, 1))),
        row("Rows per second written", fmt_decimal(g.rows_per_s, 1)),
        row(
            "Late files (renamed > 10 % of the interval after their deadline)",
            format!(
                "{} (max {} ms, mean {} ms late)",
                fmt_count(g.late_files),
                fmt_decimal(g.max_lateness_ms, 1),
                fmt_decimal(g.mean_lateness_ms, 1)
            ),
        ),
        row(
            "Stopped early",
            if g.stopped_early { "yes" } else { "no" }.to_string(),
        ),
        row("Output folder", format!("`{}`", g.out_dir.display())),
    ]
}

/// The pipeline's counters with a label a person reads; a counter this
/// sluice does not know keeps its name, spaced.
fn counter_rows(counters: &serde_json::Value) -> Vec<(String, String)> {
    let Some(map) = counters.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(key, _)| !NETWORK_COUNTERS.contains(&key.as_str()))
        .map(|(key, value)| {
            let label = match key.as_str() {
                "batches" => "Batches committed".to_string(),
                "files" => "Files committed".to_string(),
                "files_quarantined" => "Files quarantined".to_string(),
                "files_replaced" => "Files rewritten in place (read again)".to_string(),
                "rows_read" => "Rows read".to_string(),
                "rows_rejected" => "Rows rejected".to_string(),
                "rows_deduped" => "Rows folded into a newer row of the same batch".to_string(),
                "rows_upserted" => "Rows inserted or updated".to_string(),
                "rows_unchanged" => {
                    "Rows left as stored (the stored version is as new or newer)".to_string()
                }
                "replayed_batches" => "Batches replayed after a crash".to_string(),
                "rolled_back_batches" => "Batches rolled back".to_string(),
                "database_retries" => "Database retries".to_string(),
                "checkpoint_writes" => "Checkpoint folder writes".to_string(),
                "checkpoint_bytes" => "Checkpoint folder bytes written".to_string(),
                "checkpoint_syncs" => "Checkpoint folder syncs (a write made durable)".to_string(),
                "checkpoint_sync_p50_ms" => "Checkpoint sync P50 (ms)".to_string(),
                "checkpoint_sync_p99_ms" => "Checkpoint sync P99 (ms)".to_string(),
                "checkpoint_sync_max_ms" => "Checkpoint sync max (ms)".to_string(),
                other => {
                    let spaced = other.replace('_', " ");
                    let mut chars = spaced.chars();
                    chars.next().map_or(String::new(), |first| {
                        first.to_uppercase().chain(chars).collect()
                    })
                }
            };
            let text = match value {
                serde_json::Value::Number(n) => match n.as_u64() {
                    Some(u) if key.ends_with("bytes") || key.contains("_bytes_") => fmt_bytes(u),
                    Some(u) => fmt_count(u),
                    None => fmt_decimal(n.as_f64().unwrap_or(f64::NAN), 2),
                },
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "–".to_string(),
                other => format!("`{other}`"),
            };
            (label, text)
        })
        .collect()
}

/// The pipeline's counters of bytes to and from the database, shown with
/// the resources rather than among the counters.
const NETWORK_COUNTERS: [&str; 2] = ["database_bytes_sent", "database_bytes_received"];

/// What the pipeline's connections sent to the database and received from
/// it, and per 1 000 rows read, when its counters have the figures.
fn network_row(counters: &serde_json::Value) -> Option<(String, String)> {
    let [sent, received] = NETWORK_COUNTERS.map(|key| counters.get(key)?.as_u64());
    let (sent, received) = (sent?, received?);
    let per_thousand = counters
        .get("rows_read")
        .and_then(serde_json::Value::as_u64)
        .filter(|&rows| rows > 0)
        .map(|rows| format!(" ({} per 1 000 rows read)", fmt_bytes(sent * 1000 / rows)))
        .unwrap_or_default();
    Some((
        "sluice to the database over the network, sent / received".to_string(),
        format!(
            "{} / {}{per_thousand}",
            fmt_bytes(sent),
            fmt_bytes(received)
        ),
    ))
}

/// The resource profile as a person reads it: CPU to 0.1 %, memory to
/// 0.1 MiB.
fn resource_rows(r: &ResourceProfile, name: &str) -> Vec<(String, String)> {
    let row = |label: &str, value: String| (label.to_string(), value);
    let pct = |v: f64| format!("{} %", fmt_decimal(v, 1));
    let mib = |v: f64| format!("{} MiB", fmt_decimal(v, 1));
    let mut rows = vec![
        row(
            "Samples",
            format!(
                "{}, every {} ms, on {} logical CPUs",
                fmt_count(r.samples as u64),
                fmt_count(r.interval_ms),
                r.logical_cpus
            ),
        ),
        row(
            &format!("{name} CPU, mean / peak (of one core)"),
            format!(
                "{} / {}",
                pct(r.pipeline_cpu_mean_pct),
                pct(r.pipeline_cpu_peak_pct)
            ),
        ),
        row(
            &format!("{name} CPU time"),
            format!("{} s", fmt_decimal(r.pipeline_cpu_seconds, 2)),
        ),
        row(
            &format!("{name} memory (RSS), mean / peak"),
            format!(
                "{} / {}",
                mib(r.pipeline_rss_mean_mb),
                mib(r.pipeline_rss_peak_mb)
            ),
        ),
    ];
    if r.postgres_rss_peak_mb > 0.0 {
        rows.push(row(
            "PostgreSQL CPU, mean / peak (of one core)",
            format!(
                "{} / {}",
                pct(r.postgres_cpu_mean_pct),
                pct(r.postgres_cpu_peak_pct)
            ),
        ));
        rows.push(row(
            "PostgreSQL memory (RSS), peak",
            mib(r.postgres_rss_peak_mb),
        ));
    } else {
        rows.push(row(
            "PostgreSQL",
            "no figures (a server on another host, or one sluice did not start)".to_string(),
        ));
    }
    rows.push(row(
        "System CPU, mean / peak (of all CPUs)",
        format!(
            "{} / {}",
            pct(r.system_cpu_mean_pct),
            pct(r.system_cpu_peak_pct)
        ),
    ));
    rows.extend(io_and_memory_rows(r, name));
    rows
}

/// Disk I/O of each side and where its memory was at its peak (the kinds
/// where the platform tells them: Linux).
fn io_and_memory_rows(r: &ResourceProfile, name: &str) -> Vec<(String, String)> {
    let io = |read: u64, written: u64| format!("{} / {}", fmt_bytes(read), fmt_bytes(written));
    let mib = |bytes: u64| format!("{} MiB", fmt_decimal(bytes as f64 / 1_048_576.0, 1));
    let mut rows = vec![(
        format!("{name} disk I/O, read / written"),
        io(r.pipeline_disk_read_bytes, r.pipeline_disk_written_bytes),
    )];
    if let Some(m) = r.pipeline_memory_at_peak {
        rows.push((
            format!("{name} memory at its peak: code and files / heap"),
            format!(
                "{} / {} (proportional set size)",
                mib(m.file_bytes),
                mib(m.anon_bytes)
            ),
        ));
    }
    if r.postgres_rss_peak_mb > 0.0 {
        rows.push((
            "PostgreSQL disk I/O, read / written".to_string(),
            io(r.postgres_disk_read_bytes, r.postgres_disk_written_bytes),
        ));
        if let Some(m) = r.postgres_memory_at_peak {
            rows.push((
                "PostgreSQL memory at its peak: shared buffers / backends' own / code".to_string(),
                format!(
                    "{} / {} / {} (proportional set size, all its processes)",
                    mib(m.shmem_bytes),
                    mib(m.anon_bytes),
                    mib(m.file_bytes)
                ),
            ));
        }
    }
    rows
}

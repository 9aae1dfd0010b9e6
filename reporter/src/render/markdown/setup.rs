//! How the run was set up: its configuration, the resources it used, and the charts.

use super::*;

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
        let mut rows = Vec::new();
        flatten_json("", g, &mut rows);
        if !rows.is_empty() {
            let _ = writeln!(md, "### Generator\n");
            key_value_table(md, ("Figure", "Value"), &rows);
        }
    }
    if let Some(p) = &run.pipeline {
        let mut rows = Vec::new();
        flatten_json("", p, &mut rows);
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
    let mut rows = Vec::new();
    if let Some(r) = s.run.as_ref().and_then(|r| r.resources.as_ref()) {
        flatten_json("", &serde_json::to_value(r).unwrap_or_default(), &mut rows);
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
         core (100 = one core busy); system CPU is of all logical CPUs together; `_normalised` \
         figures divide by the logical CPUs. Memory is resident set size, MiB. PostgreSQL = the \
         postmaster and all its children (embedded server only).\n"
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
        .filter(|f| !RESOURCE_CHARTS.iter().any(|c| c.file == f.as_str()))
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

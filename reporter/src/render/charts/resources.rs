//! The resources family: CPU and memory of sluice, PostgreSQL and the system over the run.

use plotters::prelude::*;
use std::path::Path;

use super::{
    build, dashed, interruption_kinds, legend, line, mesh, round_for_label, seconds_label,
    shade_interruptions, svg_string, time_axis, value_range_for_legend, write_chart, DrawResult,
    Xy, CAPACITY_LINE_SHARE, C_BLUE, C_GREEN, C_GREY, C_VERMILION, X_RUN_TIME_DESC,
};
use crate::analyse::series::{
    bin_means, ChartInput, MAX_RESOURCE_POINTS, MAX_ROLLING_CENTERS, MIB,
};
use crate::error::ReportError;

/// `(t_s, value)` of one field of every sample, averaged into
/// [`MAX_ROLLING_CENTERS`] bins when there are more than
/// [`MAX_RESOURCE_POINTS`] samples.
pub(super) fn resource_line(
    input: &ChartInput,
    f: impl Fn(&crate::collect::run_files::ResourceSample) -> f64,
) -> Vec<Xy> {
    let points: Vec<Xy> = input.resources.iter().map(|s| (s.t_s, f(s))).collect();
    bin_means(&points, MAX_RESOURCE_POINTS, MAX_ROLLING_CENTERS)
}

/// `", means of 6 s"` when the resource lines are averaged, else nothing.
pub(super) fn binning_note(input: &ChartInput) -> String {
    let n = input.resources.len();
    match (input.resources.first(), input.resources.last()) {
        (Some(a), Some(b)) if n > MAX_RESOURCE_POINTS && b.t_s > a.t_s => format!(
            ", means of {}",
            seconds_label(round_for_label(
                (b.t_s - a.t_s) / MAX_ROLLING_CENTERS as f64
            ))
        ),
        _ => String::new(),
    }
}

/// The sampler never saw PostgreSQL (an external server): its lines are
/// left out rather than drawn as zero.
pub(super) fn postgres_sampled(input: &ChartInput) -> bool {
    input
        .resources
        .iter()
        .any(|s| s.postgres_rss_bytes > 0 || s.postgres_cpu_pct > 0.0)
}

/// Chart 6: CPU of the pipeline, PostgreSQL and the whole system in % of
/// one core (the system's share of all CPUs times the logical CPUs, when
/// known, with the machine's capacity as a dashed line).
pub fn resources_cpu(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_resources_cpu(input))
}

pub(super) fn render_resources_cpu(input: &ChartInput) -> DrawResult<String> {
    let cpus = input.logical_cpus.filter(|&n| n > 0);
    let pipeline = resource_line(input, |s| f64::from(s.pipeline_cpu_pct));
    let postgres =
        postgres_sampled(input).then(|| resource_line(input, |s| f64::from(s.postgres_cpu_pct)));
    let scale = cpus.map_or(1.0, |n| n as f64);
    let system = resource_line(input, |s| f64::from(s.system_cpu_pct) * scale);
    let x = time_axis(pipeline.iter().map(|p| p.0));
    let top = pipeline
        .iter()
        .chain(postgres.iter().flatten())
        .chain(&system)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    // The machine's capacity as a line only when the data comes near it;
    // otherwise it would squash the lines to the bottom (the title says it).
    let capacity = cpus
        .map(|n| n as f64 * 100.0)
        .filter(|&c| top >= c * CAPACITY_LINE_SHARE);
    let entries = 2
        + usize::from(postgres.is_some())
        + usize::from(capacity.is_some())
        + interruption_kinds(&input.interruptions);
    let y = value_range_for_legend(top.max(capacity.unwrap_or(0.0)), entries);
    let title = match cpus {
        Some(n) => format!(
            "CPU over time, % of one core ({} logical CPUs = {} %){}",
            n,
            n * 100,
            binning_note(input)
        ),
        None => format!("CPU over time, % of one core{}", binning_note(input)),
    };
    svg_string(|root| {
        let mut chart = build(root, &title, x, y)?;
        mesh(&mut chart, X_RUN_TIME_DESC, "CPU (% of one core)", 10, 8)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        line(
            &mut chart,
            &system,
            C_GREY.mix(0.7).stroke_width(2),
            if cpus.is_some() {
                "system, all processes"
            } else {
                "system, % of all CPUs together (logical CPUs unknown)"
            },
        )?;
        if let Some(postgres) = &postgres {
            line(
                &mut chart,
                postgres,
                C_VERMILION.stroke_width(2),
                "PostgreSQL",
            )?;
        }
        line(
            &mut chart,
            &pipeline,
            C_BLUE.stroke_width(2),
            "pipeline (sluice)",
        )?;
        if let (Some(c), Some(n)) = (capacity, cpus) {
            dashed(
                &mut chart,
                (x.0, c),
                (x.1, c),
                C_GREEN,
                &format!("all {n} logical CPUs busy"),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Chart 7: resident memory of the pipeline and PostgreSQL, MiB.
pub fn resources_memory(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_resources_memory(input))
}

pub(super) fn render_resources_memory(input: &ChartInput) -> DrawResult<String> {
    let pipeline = resource_line(input, |s| s.pipeline_rss_bytes as f64 / MIB);
    let postgres = postgres_sampled(input)
        .then(|| resource_line(input, |s| s.postgres_rss_bytes as f64 / MIB));
    let x = time_axis(pipeline.iter().map(|p| p.0));
    let top = pipeline
        .iter()
        .chain(postgres.iter().flatten())
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let y = value_range_for_legend(
        top,
        1 + usize::from(postgres.is_some()) + interruption_kinds(&input.interruptions),
    );
    svg_string(|root| {
        let mut chart = build(
            root,
            &format!("Memory over time, resident set size{}", binning_note(input)),
            x,
            y,
        )?;
        mesh(&mut chart, X_RUN_TIME_DESC, "RSS (MiB)", 10, 8)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        if let Some(postgres) = &postgres {
            line(
                &mut chart,
                postgres,
                C_VERMILION.stroke_width(2),
                "PostgreSQL (all its processes)",
            )?;
        }
        line(
            &mut chart,
            &pipeline,
            C_BLUE.stroke_width(2),
            "pipeline (sluice)",
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

//! SVG charts written next to `report.md`: latency over time, the latency
//! histogram, percentiles over time, the cumulative distribution,
//! throughput with the backlog, and CPU and memory over time. Deliberate
//! interruptions are shaded on every time axis.
//!
//! Each chart is a function of plain data ([`LatencyPoint`]s, [`TimedRows`])
//! and a path; the numbers come from [`crate::analyse::series`] (pure and tested), so
//! this module only draws. Drawing uses `plotters`' SVG backend alone: text
//! is written as SVG `<text>` elements that the viewer lays out with its own
//! fonts, so no font library is linked. Each file is written to a temporary
//! name and renamed, like the report itself.

mod database;
mod latency;
mod resources;
mod runs;
mod throughput;

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::analyse::series::CHECKPOINT_BAND;
use crate::analyse::series::{throughput, ChartInput};
use crate::error::ReportError;
use crate::format::fmt_decimal;
use crate::summary::{Interruption, LatencySummary};
pub use database::database_wal;
pub use latency::{
    latency_cdf, latency_histogram, latency_over_time, latency_percentiles_over_time,
};
pub use resources::{resources_cpu, resources_memory};
pub use runs::{capacity_curve, latency_cdf_compare};
pub use throughput::throughput_chart;

/// Latency of each (file, commit) group by file creation time, with a moving
/// average and the target.
pub const LATENCY_OVER_TIME: &str = "latency_over_time.svg";
/// Histogram of row latencies with the mean and P95.
pub const LATENCY_HISTOGRAM: &str = "latency_histogram.svg";
/// P50, P95 and P99 per rolling window.
pub const LATENCY_PERCENTILES_OVER_TIME: &str = "latency_percentiles_over_time.svg";
/// Cumulative distribution of row latencies.
pub const LATENCY_CDF: &str = "latency_cdf.svg";
/// Generated and committed rows per second, and the backlog of files.
pub const THROUGHPUT: &str = "throughput.svg";
/// CPU of the pipeline, PostgreSQL and the system over time.
pub const RESOURCES_CPU: &str = "resources_cpu.svg";
/// Resident memory of the pipeline and PostgreSQL over time.
pub const RESOURCES_MEMORY: &str = "resources_memory.svg";
/// WAL written over time (Database internals).
pub const DATABASE_WAL: &str = "database_wal.svg";

/// A chart as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartInfo {
    /// File name in the output directory.
    pub file: &'static str,
    /// The image's alternative text.
    pub alt: &'static str,
    /// One-line caption under the image.
    pub caption: &'static str,
}

/// The charts, in the order the report shows them.
pub const CHARTS: [ChartInfo; 5] = [
    ChartInfo {
        file: LATENCY_OVER_TIME,
        alt: "Latency over time",
        caption: "Latency of each file's rows (one point per file and commit) by when the file \
                  was created, with a row-weighted moving average (and the target, when one was \
                  set); with a rate profile, every other load phase is banded in light green.",
    },
    ChartInfo {
        file: LATENCY_HISTOGRAM,
        alt: "Latency histogram",
        caption: "How many rows had each latency, with the mean and P95 marked.",
    },
    ChartInfo {
        file: LATENCY_PERCENTILES_OVER_TIME,
        alt: "Latency percentiles over time",
        caption: "P50, P95 and P99 of the rows of the files created in each rolling window: \
                  whether the tail grows as the run goes on. The window (in the title) spans \
                  a whole number of batch intervals, at least four, so the trigger's own \
                  sawtooth averages out.",
    },
    ChartInfo {
        file: LATENCY_CDF,
        alt: "Latency cumulative distribution",
        caption: "Share of rows committed within a given latency (read P-anything off the \
                  y axis).",
    },
    ChartInfo {
        file: THROUGHPUT,
        alt: "Throughput over time",
        caption: "Top: rows per second generated (manifest rows at file creation) and \
                  committed (found rows at commit time; rejected and repeated rows excluded), \
                  each instant's rows spread over the file gap or batch interval before it. \
                  Bottom: the backlog, files visible but not yet committed. With a rate \
                  profile, every other load phase is banded in light green.",
    },
];

/// The resource charts, shown in the report's Resources section.
pub const RESOURCE_CHARTS: [ChartInfo; 2] = [
    ChartInfo {
        file: RESOURCES_CPU,
        alt: "CPU over time",
        caption: "CPU of the pipeline process, of PostgreSQL (postmaster and children, embedded \
                  server only) and of the whole system, in % of one core. Time is the sampler's \
                  clock, started with the generator: within a sampling interval of the other \
                  charts' time axis.",
    },
    ChartInfo {
        file: RESOURCES_MEMORY,
        alt: "Memory over time",
        caption: "Resident memory (RSS) of the pipeline process and of PostgreSQL (embedded \
                  server only), MiB.",
    },
];

/// The database's charts, shown in the report's Database internals section.
pub const DATABASE_CHARTS: [ChartInfo; 1] = [ChartInfo {
    file: DATABASE_WAL,
    alt: "WAL written over time",
    caption: "WAL the whole cluster wrote per second, from the WAL position read once a \
              second; checkpoints (between the samples that saw them end) and deliberate \
              interruptions are banded.",
}];

/// Width of every chart, px.
pub const WIDTH: u32 = 1000;
/// Height of every chart but the throughput chart, px.
pub const HEIGHT: u32 = 560;
/// Height of the throughput chart (two panels), px.
pub const THROUGHPUT_HEIGHT: u32 = 800;
/// Height of its upper (rows per second) panel, px.
const THROUGHPUT_UPPER: u32 = 470;

const FONT: &str = "sans-serif";
const TITLE_SIZE: f64 = 24.0;
const DESC_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 16.0;

// Colour-blind-safe, high-contrast (Okabe–Ito).
const C_BLUE: RGBColor = RGBColor(0, 114, 178);
const C_ORANGE: RGBColor = RGBColor(230, 159, 0);
const C_VERMILION: RGBColor = RGBColor(213, 94, 0);
const C_GREEN: RGBColor = RGBColor(0, 158, 115);
const C_PURPLE: RGBColor = RGBColor(204, 121, 167);
const C_GREY: RGBColor = RGBColor(80, 80, 80);

/// Fills of interruption kinds, in order of first appearance.
const SHADES: [RGBColor; 3] = [C_GREY, C_VERMILION, C_PURPLE];
/// Opacity of an interruption's fill: the data stays readable through it.
const SHADE_OPACITY: f64 = 0.16;

/// Opacity of a banded load phase: lighter than an interruption, since a
/// phase is the load's context rather than an event.
const PHASE_OPACITY: f64 = 0.09;
/// Legend line of the banded load phases.
const PHASE_LABEL: &str = "load phases 1, 3, 5, … (see Load phases)";

/// Most dots of the latency-over-time scatter (about 90 bytes each).
pub const MAX_SCATTER_POINTS: usize = 6000;

/// Room above the highest value for the legend, as a share of it.
const HEADROOM: f64 = 0.3;

/// A point in chart coordinates.
type Xy = (f64, f64);
type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws every chart into `out_dir` and returns the names written (the
/// [`CHARTS`] in order, then the [`RESOURCE_CHARTS`]), and a note per chart
/// that failed (a failed chart never stops the report). The latency charts
/// need a latency point, the resource charts a resource sample.
///
/// `latency` gives the mean and percentiles marked on the histogram and the
/// cumulative distribution (the report's own HdrHistogram figures, so the
/// charts and the tables agree); `target_ms` draws the target line.
pub fn write_all(
    out_dir: &Path,
    input: &ChartInput,
    latency: &LatencySummary,
    target_ms: Option<f64>,
) -> (Vec<String>, Vec<String>) {
    let mut results = Vec::new();
    if !input.points.is_empty() {
        results.extend([
            (
                LATENCY_OVER_TIME,
                latency_over_time(&out_dir.join(LATENCY_OVER_TIME), input, target_ms),
            ),
            (
                LATENCY_HISTOGRAM,
                latency_histogram(
                    &out_dir.join(LATENCY_HISTOGRAM),
                    &input.points,
                    latency.mean,
                    latency.p95,
                ),
            ),
            (
                LATENCY_PERCENTILES_OVER_TIME,
                latency_percentiles_over_time(&out_dir.join(LATENCY_PERCENTILES_OVER_TIME), input),
            ),
            (
                LATENCY_CDF,
                latency_cdf(
                    &out_dir.join(LATENCY_CDF),
                    &input.points,
                    &[
                        (50.0, latency.p50),
                        (95.0, latency.p95),
                        (99.0, latency.p99),
                    ],
                ),
            ),
            (
                THROUGHPUT,
                throughput_chart(&out_dir.join(THROUGHPUT), input),
            ),
        ]);
    }
    if !input.resources.is_empty() {
        results.extend([
            (
                RESOURCES_CPU,
                resources_cpu(&out_dir.join(RESOURCES_CPU), input),
            ),
            (
                RESOURCES_MEMORY,
                resources_memory(&out_dir.join(RESOURCES_MEMORY), input),
            ),
        ]);
    }
    if !input.wal_mib_per_s.is_empty() {
        results.push((
            DATABASE_WAL,
            database_wal(&out_dir.join(DATABASE_WAL), input),
        ));
    }
    let mut written = Vec::new();
    let mut notes = Vec::new();
    for (file, result) in results {
        match result {
            Ok(()) => written.push(file.to_string()),
            Err(e) => notes.push(format!("The chart {file} could not be written: {e}.")),
        }
    }
    (written, notes)
}

/// Removes chart files of an earlier report in `out_dir` that this report
/// did not write, so the folder never shows a chart of another run.
pub fn remove_stale(out_dir: &Path, written: &[String]) {
    for info in CHARTS
        .iter()
        .chain(&RESOURCE_CHARTS)
        .chain(&DATABASE_CHARTS)
    {
        if !written.iter().any(|w| w == info.file) {
            // Absent is the usual case; anything else leaves an unlinked file.
            let _ = std::fs::remove_file(out_dir.join(info.file));
        }
    }
}

fn chart_error(path: &Path) -> impl FnOnce(Box<dyn std::error::Error>) -> ReportError + '_ {
    move |e| ReportError::Chart {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn write_chart(path: &Path, svg: DrawResult<String>) -> Result<(), ReportError> {
    let svg = svg.map_err(chart_error(path))?;
    crate::files::write_atomic(path, svg.as_bytes())
}

/// Renders into an SVG string of [`WIDTH`] × [`HEIGHT`] on white.
fn svg_string(
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult<()>,
) -> DrawResult<String> {
    svg_string_sized((WIDTH, HEIGHT), draw)
}

/// Renders into an SVG string of the given size on white.
fn svg_string_sized(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult<()>,
) -> DrawResult<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// `lo..hi` padded by `share` of its width on each side; a zero-width range
/// becomes ± half its value (± 0.5 around 0), so one point sits mid-axis.
fn padded(lo: f64, hi: f64, share: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * share;
        (lo - pad, hi + pad)
    } else {
        let pad = if lo != 0.0 { lo.abs() * 0.5 } else { 0.5 };
        (lo - pad, hi + pad)
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `0..max × (1 + HEADROOM)`, or `0..1` when `max` is not positive.
fn value_range(max: f64) -> (f64, f64) {
    if max > 0.0 && max.is_finite() {
        (0.0, max * (1.0 + HEADROOM))
    } else {
        (0.0, 1.0)
    }
}

/// Tick labels for an axis of the given width: as many decimals as the
/// width needs (none from 100 up), trailing zeros trimmed, thousands
/// grouped.
fn tick_formatter(width: f64) -> impl Fn(&f64) -> String {
    let decimals = if width > 0.0 && width.is_finite() {
        (2 - width.log10().floor() as i32).clamp(0, 6) as usize
    } else {
        3
    };
    move |v: &f64| trimmed(*v, decimals)
}

/// `v` with `decimals` decimals, trailing zeros (and a bare point) removed,
/// thousands grouped; never `-0`.
fn trimmed(v: f64, decimals: usize) -> String {
    let s = fmt_decimal(v, decimals);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Milliseconds for a legend: three significant decimals at most.
fn ms_label(ms: f64) -> String {
    let decimals = if ms >= 100.0 {
        1
    } else if ms >= 1.0 {
        2
    } else {
        3
    };
    format!("{} ms", trimmed(ms, decimals))
}

/// `1 point`, `2,400 points`.
fn plural(n: usize, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {what}{s}", fmt_decimal(n as f64, 0))
}

fn seconds_label(s: f64) -> String {
    format!("{} s", trimmed(s, 3))
}

/// A chart with the house style: title, margins, label areas.
fn build<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    x: (f64, f64),
    y: (f64, f64),
) -> DrawResult<Chart<'a, 'b>> {
    Ok(ChartBuilder::on(root)
        .caption(title, (FONT, TITLE_SIZE).into_font().style(FontStyle::Bold))
        .margin(18)
        .margin_right(32)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?)
}

/// One panel of a multi-panel chart: the house style without a title.
fn panel<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    x: (f64, f64),
    y: (f64, f64),
    x_label_area: u32,
) -> DrawResult<Chart<'a, 'b>> {
    Ok(ChartBuilder::on(area)
        .margin(18)
        .margin_right(32)
        .x_label_area_size(x_label_area)
        .y_label_area_size(96)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?)
}

/// Grid, ticks and axis titles (with units); an empty `x_desc` leaves the
/// x axis untitled (an upper panel sharing the lower one's).
fn mesh<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    x_desc: &str,
    y_desc: &str,
    x_labels: usize,
    y_labels: usize,
) -> DrawResult<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    let fx = tick_formatter((x.end - x.start) / x_labels.max(1) as f64 * 10.0);
    let fy = tick_formatter((y.end - y.start) / y_labels.max(1) as f64 * 10.0);
    let mut style = chart.configure_mesh();
    if !x_desc.is_empty() {
        style.x_desc(x_desc);
    }
    style
        .y_desc(y_desc)
        .x_labels(x_labels)
        .y_labels(y_labels)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .axis_desc_style((FONT, DESC_SIZE))
        .label_style((FONT, TICK_SIZE))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .axis_style(C_GREY)
        .draw()?;
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> DrawResult<()> {
    chart
        .configure_series_labels()
        .position(position)
        .margin(12)
        .legend_area_size(28)
        .label_font((FONT, LEGEND_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.35))
        .draw()?;
    Ok(())
}

/// A line through the points (a dot when there is only one), labelled.
fn line<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    points: &[(f64, f64)],
    style: ShapeStyle,
    label: &str,
) -> DrawResult<()> {
    let annotation = if points.len() == 1 {
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 4, style.color.filled())),
        )?
    } else {
        chart.draw_series(LineSeries::new(points.iter().copied(), style))?
    };
    annotation
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    Ok(())
}

/// A dashed line from `a` to `b`, labelled.
fn dashed<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    a: (f64, f64),
    b: (f64, f64),
    color: RGBColor,
    label: &str,
) -> DrawResult<()> {
    let style = color.stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(vec![a, b], 9, 6, style))?
        .label(label)
        .legend(move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (8, 0)], style)
                + PathElement::new(vec![(13, 0), (21, 0)], style)
        });
    Ok(())
}

/// Seconds-since-start axis for creation times, from 0 (or the earliest
/// instant, if before) to the last, padded.
fn time_axis(times: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = min_max(times).unwrap_or((0.0, 0.0));
    let lo = lo.min(0.0);
    if hi > lo {
        padded(lo, hi, 0.02)
    } else {
        // No span: the instant at the left, a second of axis after it
        // (time since the first file is never much below zero).
        (lo - 0.05, lo + 1.0)
    }
}

const X_TIME_DESC: &str = "Time since the first file was created (s)";
const X_RUN_TIME_DESC: &str = "Time since the run started (s)";

/// Shades each interruption over the chart's height (clipped to its x
/// range; one lasting to the end reaches the right edge; an instant gets a
/// sliver so it stays visible), one fill and legend entry per kind.
fn shade_interruptions<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    interruptions: &[Interruption],
) -> DrawResult<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    let sliver = (x.end - x.start) * 0.004;
    let mut kinds: Vec<&str> = Vec::new();
    for i in interruptions {
        if !kinds.contains(&i.kind.as_str()) {
            kinds.push(&i.kind);
        }
    }
    for (k, kind) in kinds.into_iter().enumerate() {
        let fill = SHADES[k % SHADES.len()].mix(SHADE_OPACITY).filled();
        let bands: Vec<Rectangle<Xy>> = interruptions
            .iter()
            .filter(|i| i.kind == kind)
            .filter_map(|i| {
                let end = i.duration_s.map_or(x.end, |d| i.start_offset_s + d);
                let (from, to) = (
                    i.start_offset_s.max(x.start),
                    end.max(i.start_offset_s + sliver).min(x.end),
                );
                (to > from).then(|| Rectangle::new([(from, y.start), (to, y.end)], fill))
            })
            .collect();
        if bands.is_empty() {
            continue;
        }
        chart
            .draw_series(bands)?
            .label(if kind == CHECKPOINT_BAND {
                "checkpoint (between samples)".to_string()
            } else {
                format!("{} (interruption)", kind.replace('_', " "))
            })
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 24, y + 7)], fill));
    }
    Ok(())
}

/// Bands every other load phase (the 1st, 3rd, …: the bursts of a bursts
/// profile, which starts high) over the chart's height, clipped to its x
/// range, so a burst lines up with the latency and backlog it caused.
/// Nothing with fewer than two phases: one phase is the whole run.
fn shade_phases<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, phases: &[(f64, f64)]) -> DrawResult<()> {
    if phase_legend_entries(phases) == 0 {
        return Ok(());
    }
    let (x, y) = (chart.x_range(), chart.y_range());
    let fill = C_GREEN.mix(PHASE_OPACITY).filled();
    let bands: Vec<Rectangle<Xy>> = phases
        .iter()
        .step_by(2)
        .filter_map(|&(from, to)| {
            let (from, to) = (from.max(x.start), to.min(x.end));
            (to > from).then(|| Rectangle::new([(from, y.start), (to, y.end)], fill))
        })
        .collect();
    if bands.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(bands)?
        .label(PHASE_LABEL)
        .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 24, y + 7)], fill));
    Ok(())
}

/// Legend lines [`shade_phases`] adds: one with two phases or more.
fn phase_legend_entries(phases: &[(f64, f64)]) -> usize {
    usize::from(phases.len() >= 2)
}

/// `4 × 10 s batch interval`: the window in batch cadences (a whole number
/// of them, see [`rolling_window_s`]); `None` without a cadence.
fn window_note(window_s: f64, cadence_s: Option<f64>) -> Option<String> {
    cadence_s.filter(|c| *c > 0.0).map(|c| {
        format!(
            "{} × {} batch interval",
            trimmed((window_s / c).round(), 0),
            seconds_label(c)
        )
    })
}

/// The value axis with room above the data for a legend of `entries` lines
/// in the upper corner (at least [`HEADROOM`]), so a peak never hides
/// behind it.
fn value_range_for_legend(max: f64, entries: usize) -> (f64, f64) {
    let headroom = (LEGEND_SHARE_PER_ENTRY * entries as f64).max(HEADROOM);
    if max > 0.0 && max.is_finite() {
        (0.0, max * (1.0 + headroom))
    } else {
        (0.0, 1.0)
    }
}

/// The CPU chart draws the machine's capacity when the busiest line reaches
/// this share of it.
const CAPACITY_LINE_SHARE: f64 = 0.4;

/// Height of one legend line as a share of a plot's value range.
const LEGEND_SHARE_PER_ENTRY: f64 = 0.12;

/// Distinct interruption kinds: one legend line each.
fn interruption_kinds(interruptions: &[Interruption]) -> usize {
    let mut kinds: Vec<&str> = interruptions.iter().map(|i| i.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.len()
}

/// Overlaid latency CDFs of `sluice compare`, one line per run.
pub const LATENCY_CDF_COMPARE: &str = "latency_cdf_compare.svg";

/// Line colours of the runs in [`latency_cdf_compare`], in order (Okabe–Ito,
/// then black and grey); a ninth run takes the first colour again.
const RUN_COLORS: [RGBColor; 8] = [
    C_BLUE,
    C_VERMILION,
    C_GREEN,
    C_ORANGE,
    C_PURPLE,
    RGBColor(86, 180, 233),
    BLACK,
    C_GREY,
];

const COMPARE_CDF_TITLE: &str = "Latency cumulative distribution by run";
const COMPARE_CDF_Y_DESC: &str = "Rows with latency ≤ x (%)";

/// Seconds rounded for a label: whole from 10 s, a tenth from 1 s, else
/// to the millisecond (a bin of 5.999 s reads as 6 s).
fn round_for_label(s: f64) -> f64 {
    let scale = if s >= 10.0 {
        1.0
    } else if s >= 1.0 {
        10.0
    } else {
        1000.0
    };
    (s * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::latency::*;
    use super::resources::*;
    use super::runs::*;
    use super::throughput::*;
    use super::*;
    use crate::analyse::series::LatencyPoint;
    use crate::analyse::series::{FileWindow, TimedRows};
    use crate::collect::run_files::ResourceSample;

    /// One file of a synthetic run: its latency point, the rows it offered
    /// and committed, and its visible → committed window.
    fn push_file(
        input: &mut ChartInput,
        created: f64,
        commit: f64,
        latency_ms: f64,
        generated: u64,
        committed: u64,
    ) {
        input.points.push(p(created, latency_ms, committed));
        input.generated.push(TimedRows {
            at_s: created,
            rows: generated,
        });
        input.committed.push(TimedRows {
            at_s: commit,
            rows: committed,
        });
        input.files.push(FileWindow {
            visible_s: created,
            committed_s: Some(commit),
        });
    }

    fn p(created_s: f64, latency_ms: f64, rows: u64) -> LatencyPoint {
        LatencyPoint {
            created_s,
            latency_ms,
            rows,
        }
    }

    /// Texts of the SVG's `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = t.split_once('>')?.1;
                Some(body.split_once("</text>")?.0.trim().to_string())
            })
            .collect()
    }

    /// A minute-long run: a file every 0.5 s of 200 rows, latency about
    /// 600 ms with a slow stretch in the middle, committed by a 1 s trigger.
    pub(crate) fn sample_input() -> ChartInput {
        let mut input = ChartInput::default();
        for i in 0..120u32 {
            let created = f64::from(i) * 0.5;
            let slow = if (50..70).contains(&i) { 900.0 } else { 0.0 };
            let jitter = f64::from((i * 37) % 100) * 4.0;
            let latency = 400.0 + jitter + slow;
            input.points.push(p(created, latency, 150));
            input.points.push(p(created, latency + 250.0, 40));
            input.generated.push(TimedRows {
                at_s: created,
                rows: 200,
            });
            input.committed.push(TimedRows {
                at_s: created + latency / 1000.0,
                rows: 150,
            });
            input.committed.push(TimedRows {
                at_s: created + (latency + 250.0) / 1000.0,
                rows: 40,
            });
            input.files.push(FileWindow {
                visible_s: created,
                committed_s: Some(created + (latency + 250.0) / 1000.0),
            });
        }
        input
    }

    /// Two samples a second over the minute: the pipeline's RSS climbing
    /// from 20 MiB, PostgreSQL busy in bursts.
    fn samples(postgres: bool) -> Vec<ResourceSample> {
        (1..=120u32)
            .map(|i| ResourceSample {
                t_s: f64::from(i) * 0.5,
                pipeline_cpu_pct: 10.0 + (i % 4) as f32 * 5.0,
                pipeline_rss_bytes: (20 + u64::from(i) / 10) << 20,
                postgres_cpu_pct: if postgres {
                    (i % 10) as f32 * 12.0
                } else {
                    0.0
                },
                postgres_rss_bytes: if postgres { 150 << 20 } else { 0 },
                system_cpu_pct: 35.0,
                ..Default::default()
            })
            .collect()
    }

    fn outages() -> Vec<Interruption> {
        vec![
            Interruption {
                kind: "pipeline_killed".into(),
                start_offset_s: 20.0,
                duration_s: Some(5.0),
                note: String::new(),
            },
            Interruption {
                kind: "database_stopped".into(),
                start_offset_s: 40.0,
                duration_s: None,
                note: String::new(),
            },
        ]
    }

    fn latency_of(input: &ChartInput) -> LatencySummary {
        let values: Vec<(f64, u64)> = input
            .points
            .iter()
            .map(|p| (p.latency_ms, p.rows))
            .collect();
        let q = crate::stats::weighted_percentiles(&values, &[0.5, 0.95, 0.99]);
        let rows = input.latency_rows();
        LatencySummary {
            p50: q[0],
            p95: q[1],
            p99: q[2],
            mean: values.iter().map(|v| v.0 * v.1 as f64).sum::<f64>() / rows as f64,
            count: rows,
            ..LatencySummary::default()
        }
    }

    #[test]
    fn writes_all_five_charts_with_text_titles_and_units() {
        let dir = tempfile::tempdir().unwrap();
        let input = sample_input();
        let (written, notes) = write_all(dir.path(), &input, &latency_of(&input), Some(1000.0));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(written, CHARTS.map(|c| c.file.to_string()).to_vec());
        let expect: [(&str, &[&str]); 5] = [
            (
                LATENCY_OVER_TIME,
                &[
                    "Latency over time",
                    "Latency (ms)",
                    "(s)",
                    "target 1,000 ms",
                    "moving average",
                ],
            ),
            (
                LATENCY_HISTOGRAM,
                &[
                    "Latency histogram",
                    "Latency (ms)",
                    "Rows (count)",
                    "mean",
                    "P95",
                ],
            ),
            (
                LATENCY_PERCENTILES_OVER_TIME,
                &[
                    "Latency percentiles over time",
                    "(s)",
                    "Latency (ms)",
                    "P50",
                    "P95",
                    "P99",
                ],
            ),
            (
                LATENCY_CDF,
                &[
                    "Latency cumulative distribution",
                    "Latency (ms)",
                    "(%)",
                    "P99",
                ],
            ),
            (
                THROUGHPUT,
                &["Throughput", "(rows/s)", "(s)", "generated", "committed"],
            ),
        ];
        for (file, wanted) in expect {
            let svg = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(svg.starts_with("<svg"), "{file}");
            let texts = texts(&svg);
            for w in wanted {
                let w = w.replace('&', "&amp;");
                assert!(
                    texts.iter().any(|t| t.contains(&w)),
                    "{file}: no <text> with {w:?} in {texts:?}"
                );
            }
            // Tick labels: numbers on both axes.
            assert!(
                texts
                    .iter()
                    .filter(|t| t.parse::<f64>().is_ok() || t.contains(','))
                    .count()
                    >= 6,
                "{file}: {texts:?}"
            );
        }
        // No temporary files left behind.
        let hidden = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(hidden, 0);
    }

    #[test]
    fn every_other_load_phase_is_banded_on_latency_and_throughput() {
        let dir = tempfile::tempdir().unwrap();
        let input = ChartInput {
            phases: vec![(0.0, 20.0), (20.0, 40.0), (40.0, 60.0)],
            ..sample_input()
        };
        write_all(dir.path(), &input, &latency_of(&input), None);
        let count = |file: &str| {
            let svg = std::fs::read_to_string(dir.path().join(file)).unwrap();
            texts(&svg).iter().filter(|t| *t == PHASE_LABEL).count()
        };
        // Throughput: both panels.
        assert_eq!((count(LATENCY_OVER_TIME), count(THROUGHPUT)), (1, 2));
        assert_eq!(count(LATENCY_PERCENTILES_OVER_TIME), 0);
        // One phase is the whole run: no band.
        let input = ChartInput {
            phases: vec![(0.0, 60.0)],
            ..sample_input()
        };
        write_all(dir.path(), &input, &latency_of(&input), None);
        assert_eq!((count(LATENCY_OVER_TIME), count(THROUGHPUT)), (0, 0));
    }

    #[test]
    fn resource_charts_and_interruptions_on_every_time_axis() {
        let dir = tempfile::tempdir().unwrap();
        let input = ChartInput {
            trigger_interval_s: Some(1.0),
            resources: samples(true),
            logical_cpus: Some(2),
            interruptions: outages(),
            ..sample_input()
        };
        let (written, notes) = write_all(dir.path(), &input, &latency_of(&input), None);
        assert!(notes.is_empty(), "{notes:?}");
        let mut want: Vec<String> = CHARTS.map(|c| c.file.to_string()).to_vec();
        want.extend(RESOURCE_CHARTS.map(|c| c.file.to_string()));
        assert_eq!(written, want);
        let expect: [(&str, &[&str]); 5] = [
            (
                RESOURCES_CPU,
                &[
                    "CPU over time, % of one core (2 logical CPUs = 200 %)",
                    "CPU (% of one core)",
                    "Time since the run started (s)",
                    "pipeline (sluice)",
                    "PostgreSQL",
                    "system, all processes",
                    "all 2 logical CPUs busy",
                ],
            ),
            (
                RESOURCES_MEMORY,
                &[
                    "Memory over time, resident set size",
                    "RSS (MiB)",
                    "pipeline (sluice)",
                    "PostgreSQL (all its processes)",
                ],
            ),
            (
                THROUGHPUT,
                &[
                    "Throughput (1 s buckets) and backlog",
                    "Throughput (rows/s)",
                    "Backlog (files)",
                    "files visible, not yet committed",
                    "generated (24,000 rows, at file creation)",
                    "committed (22,800 rows, at commit)",
                ],
            ),
            (
                LATENCY_PERCENTILES_OVER_TIME,
                &["Latency percentiles over time, 4 s window (4 × 1 s batch interval)"],
            ),
            (
                LATENCY_OVER_TIME,
                &["moving average, row-weighted (4 s window = 4 × 1 s batch interval)"],
            ),
        ];
        for (file, wanted) in expect {
            let svg = std::fs::read_to_string(dir.path().join(file)).unwrap();
            let texts = texts(&svg);
            for w in wanted.iter().chain(&[
                "pipeline killed (interruption)",
                "database stopped (interruption)",
            ]) {
                assert!(
                    texts.iter().any(|t| t == w),
                    "{file}: no <text> {w:?} in {texts:?}"
                );
            }
        }
        // The throughput chart has two panels: one time-axis title, below.
        let svg = std::fs::read_to_string(dir.path().join(THROUGHPUT)).unwrap();
        assert_eq!(texts(&svg).iter().filter(|t| *t == X_TIME_DESC).count(), 1);

        // No interruption, no shading; an external PostgreSQL, unknown CPUs.
        let plain = ChartInput {
            resources: samples(false),
            ..sample_input()
        };
        for svg in [
            render_resources_cpu(&plain).unwrap(),
            render_resources_memory(&plain).unwrap(),
            render_throughput(&plain).unwrap(),
        ] {
            let texts = texts(&svg);
            assert!(
                !texts.iter().any(|t| t.contains("interruption")),
                "{texts:?}"
            );
            assert!(
                !texts.iter().any(|t| t.starts_with("PostgreSQL")),
                "{texts:?}"
            );
        }
        let texts = texts(&render_resources_cpu(&plain).unwrap());
        assert!(texts.iter().any(|t| t == "CPU over time, % of one core"));
        assert!(texts
            .iter()
            .any(|t| t == "system, % of all CPUs together (logical CPUs unknown)"));
    }

    #[test]
    fn resource_charts_alone_without_latency() {
        let dir = tempfile::tempdir().unwrap();
        let input = ChartInput {
            resources: samples(true),
            ..ChartInput::default()
        };
        let (written, notes) = write_all(dir.path(), &input, &LatencySummary::default(), None);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(written, vec![RESOURCES_CPU, RESOURCES_MEMORY]);
    }

    #[test]
    fn window_note_names_whole_cadences() {
        assert_eq!(
            window_note(40.0, Some(10.0)).as_deref(),
            Some("4 × 10 s batch interval")
        );
        assert_eq!(window_note(5.0, None), None);
        assert_eq!(value_range_for_legend(100.0, 1), (0.0, 130.0));
        assert_eq!(value_range_for_legend(100.0, 5), (0.0, 160.0));
        assert_eq!(interruption_kinds(&outages()), 2);
        assert_eq!(round_for_label(5.999), 6.0);
        assert_eq!(round_for_label(6.24), 6.2);
        assert_eq!(round_for_label(12.4), 12.0);
        assert_eq!(round_for_label(0.4567), 0.457);
        assert_eq!(
            hold(&[(0.0, 1.0), (2.0, 3.0)], 5.0),
            vec![(0.0, 1.0), (2.0, 1.0), (2.0, 3.0), (5.0, 3.0)]
        );
    }

    #[test]
    fn target_line_only_when_a_target_is_set() {
        let input = sample_input();
        let svg = render_latency_over_time(&input, None).unwrap();
        assert!(!texts(&svg).iter().any(|t| t.contains("target")));
        let svg = render_latency_over_time(&input, Some(750.0)).unwrap();
        assert!(texts(&svg).iter().any(|t| t == "target 750 ms"));
    }

    #[test]
    fn far_stragglers_are_drawn_off_the_scale() {
        let mut input = sample_input();
        input.points.push(p(20.0, 30_000.0, 2));
        let svg = render_latency_over_time(&input, None).unwrap();
        let texts = texts(&svg);
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("1 point above ") && t.ends_with("(off the scale)")),
            "{texts:?}"
        );
        // The axis stops near the bulk (≈ 2 s), not at 30 s.
        assert!(!texts.iter().any(|t| t == "30,000"), "{texts:?}");
        let svg = render_latency_over_time(&sample_input(), None).unwrap();
        assert!(!svg.contains("off the scale"));
    }

    #[test]
    fn nothing_is_drawn_without_latency_points() {
        let dir = tempfile::tempdir().unwrap();
        let input = ChartInput {
            generated: vec![TimedRows { at_s: 0.0, rows: 5 }],
            ..ChartInput::default()
        };
        let (written, notes) = write_all(dir.path(), &input, &LatencySummary::default(), None);
        assert!(written.is_empty() && notes.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn edge_cases_draw_without_error() {
        let dir = tempfile::tempdir().unwrap();
        let single = ChartInput {
            points: vec![p(0.0, 42.0, 7)],
            generated: vec![TimedRows { at_s: 0.0, rows: 7 }],
            committed: vec![TimedRows {
                at_s: 0.042,
                rows: 7,
            }],
            ..ChartInput::default()
        };
        let equal = ChartInput {
            points: (0..10).map(|i| p(f64::from(i), 250.0, 10)).collect(),
            generated: (0..10)
                .map(|i| TimedRows {
                    at_s: f64::from(i),
                    rows: 10,
                })
                .collect(),
            committed: (0..10)
                .map(|i| TimedRows {
                    at_s: f64::from(i) + 0.25,
                    rows: 10,
                })
                .collect(),
            ..ChartInput::default()
        };
        let zero_span = ChartInput {
            points: vec![p(0.0, 0.001, 3), p(0.0, 0.002, 1)],
            generated: vec![TimedRows { at_s: 0.0, rows: 4 }],
            committed: vec![TimedRows { at_s: 0.0, rows: 4 }],
            ..ChartInput::default()
        };
        for (name, input) in [
            ("single", single),
            ("equal", equal),
            ("zero_span", zero_span),
        ] {
            let out = dir.path().join(name);
            std::fs::create_dir_all(&out).unwrap();
            let (written, notes) = write_all(&out, &input, &latency_of(&input), Some(100.0));
            assert!(notes.is_empty(), "{name}: {notes:?}");
            assert_eq!(written.len(), 5, "{name}");
            for file in &written {
                let svg = std::fs::read_to_string(out.join(file)).unwrap();
                assert!(
                    !svg.contains("NaN") && !svg.contains("=\"inf") && !svg.contains("=\"-inf"),
                    "{name}/{file}"
                );
            }
        }
    }

    #[test]
    fn stale_charts_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(THROUGHPUT), "old").unwrap();
        std::fs::write(dir.path().join(LATENCY_CDF), "new").unwrap();
        remove_stale(dir.path(), &[LATENCY_CDF.to_string()]);
        assert!(!dir.path().join(THROUGHPUT).exists());
        assert!(dir.path().join(LATENCY_CDF).exists());
    }

    #[test]
    fn compare_cdf_draws_a_line_per_run_on_either_axis() {
        let runs = vec![
            (
                "run-a".to_string(),
                vec![(10.0, 0.0), (50.0, 50.0), (120.0, 99.0), (150.0, 100.0)],
            ),
            (
                "run-b".to_string(),
                vec![(0.0, 0.0), (900.0, 50.0), (25_000.0, 100.0)],
            ),
            ("no latency".to_string(), vec![]),
        ];
        for log_x in [false, true] {
            let svg = render_latency_cdf_compare(&runs, log_x).unwrap();
            let texts = texts(&svg);
            for want in [
                "Latency cumulative distribution by run",
                "run-a",
                "run-b",
                "(%)",
                if log_x {
                    "Latency (ms, log scale)"
                } else {
                    "Latency (ms)"
                },
            ] {
                assert!(
                    texts.iter().any(|t| t.contains(want)),
                    "log {log_x}: no {want:?} in {texts:?}"
                );
            }
            assert!(!texts.iter().any(|t| t == "no latency"), "{texts:?}");
            assert!(
                !svg.contains("NaN") && !svg.contains("=\"inf") && !svg.contains("=\"-inf"),
                "log {log_x}"
            );
        }
        assert_eq!(log_tick(&1000.0), "1,000");
        assert_eq!(log_tick(&2.5), "2.5");
        assert_eq!(log_tick(&0.05), "0.05");
        // Nothing to draw still gives a chart.
        assert!(render_latency_cdf_compare(&[], true).is_ok());
        assert!(render_latency_cdf_compare(&[], false).is_ok());
    }

    #[test]
    fn tick_and_legend_labels() {
        assert_eq!(tick_formatter(100.0)(&1500.0), "1,500");
        assert_eq!(tick_formatter(10.0)(&2.5), "2.5");
        assert_eq!(tick_formatter(10.0)(&0.30000000000000004), "0.3");
        assert_eq!(tick_formatter(0.01)(&0.0015), "0.0015");
        assert_eq!(tick_formatter(1.0)(&-0.0001), "0");
        assert_eq!(ms_label(1234.56), "1,234.6 ms");
        assert_eq!(ms_label(12.346), "12.35 ms");
        assert_eq!(ms_label(0.001), "0.001 ms");
        assert_eq!(seconds_label(2.0), "2 s");
        assert_eq!(plural(1, "point"), "1 point");
        assert_eq!(plural(2400, "point"), "2,400 points");
        assert_eq!(padded(0.0, 0.0, 0.1), (-0.5, 0.5));
        assert_eq!(padded(10.0, 10.0, 0.1), (5.0, 15.0));
        assert_eq!(padded(0.0, 100.0, 0.1), (-10.0, 110.0));
        assert_eq!(value_range(0.0), (0.0, 1.0));
    }

    /// Writes the sample charts to /tmp/sluice-charts for a person to look
    /// at: `cargo test -p sluice-reporter -- --ignored sample_charts`.
    #[test]
    #[ignore]
    fn sample_charts() {
        let base = std::path::PathBuf::from("/tmp/sluice-charts");
        let input = sample_input();
        let single = ChartInput {
            points: vec![p(0.0, 42.0, 7)],
            generated: vec![TimedRows { at_s: 0.0, rows: 7 }],
            committed: vec![TimedRows {
                at_s: 0.042,
                rows: 7,
            }],
            ..ChartInput::default()
        };
        let mut tail = sample_input();
        tail.points.push(p(20.0, 30_000.0, 2));
        let equal = ChartInput {
            points: (0..10).map(|i| p(f64::from(i), 250.0, 10)).collect(),
            generated: (0..10)
                .map(|i| TimedRows {
                    at_s: f64::from(i),
                    rows: 10,
                })
                .collect(),
            committed: (0..10)
                .map(|i| TimedRows {
                    at_s: f64::from(i) + 0.25,
                    rows: 10,
                })
                .collect(),
            ..ChartInput::default()
        };
        // An hour at ten files a second, committed by a 1 s trigger, with
        // resources sampled every half second (averaged on the charts).
        let commit_at = |created: f64, i: u32| created.floor() + 1.0 + f64::from(i % 7) * 0.01;
        let mut long = ChartInput {
            trigger_interval_s: Some(1.0),
            logical_cpus: Some(8),
            ..ChartInput::default()
        };
        for i in 0..36_000u32 {
            let created = f64::from(i) / 10.0;
            let commit = commit_at(created, i);
            let drift = created / 3600.0 * 300.0;
            push_file(
                &mut long,
                created,
                commit,
                (commit - created) * 1000.0 + drift,
                520,
                500,
            );
        }
        long.resources = (1..=7200u32)
            .map(|i| ResourceSample {
                t_s: f64::from(i) * 0.5,
                pipeline_cpu_pct: 30.0 + (i % 9) as f32 * 3.0,
                pipeline_rss_bytes: (30 + u64::from(i) / 240) << 20,
                postgres_cpu_pct: 60.0 + (i % 13) as f32 * 4.0,
                postgres_rss_bytes: (180 + u64::from(i) / 100) << 20,
                system_cpu_pct: 14.0 + (i % 5) as f32,
                ..Default::default()
            })
            .collect();
        // Like the high-load scenario: a file of 200–500 rows every 0.5 s for
        // two minutes, a 10 s trigger, batches of about 150 ms.
        let mut high = ChartInput {
            trigger_interval_s: Some(10.0),
            logical_cpus: Some(2),
            ..ChartInput::default()
        };
        for i in 0..240u32 {
            let created = f64::from(i) * 0.5 + 0.001;
            let rows = u64::from(200 + (i * 37) % 300);
            let commit = (created / 10.0).ceil() * 10.0 + 0.15 + f64::from(i % 3) * 0.02;
            push_file(
                &mut high,
                created,
                commit,
                (commit - created) * 1000.0,
                rows,
                rows,
            );
        }
        high.resources = (1..=242u32)
            .map(|i| ResourceSample {
                t_s: f64::from(i) * 0.5,
                pipeline_cpu_pct: if i % 20 == 0 { 35.0 } else { 1.5 },
                pipeline_rss_bytes: (18 + u64::from(i) / 60) << 20,
                postgres_cpu_pct: if i % 20 == 0 { 80.0 } else { 2.0 },
                postgres_rss_bytes: 160 << 20,
                system_cpu_pct: if i % 20 == 0 { 60.0 } else { 4.0 },
                ..Default::default()
            })
            .collect();
        // A failover run: 1 s trigger, a file of 100 rows every 0.2 s for five
        // minutes; the pipeline killed at 100 s (back at 130 s), the database
        // stopped at 200 s (back at 230 s).
        let mut failover = ChartInput {
            trigger_interval_s: Some(1.0),
            logical_cpus: Some(2),
            interruptions: vec![
                Interruption {
                    kind: "pipeline_killed".into(),
                    start_offset_s: 100.0,
                    duration_s: Some(30.0),
                    note: String::new(),
                },
                Interruption {
                    kind: "database_stopped".into(),
                    start_offset_s: 200.0,
                    duration_s: Some(30.0),
                    note: String::new(),
                },
            ],
            ..ChartInput::default()
        };
        for i in 0..1500u32 {
            let created = f64::from(i) * 0.2 + 0.001;
            let batch = created.ceil();
            let batch = if (100.0..131.0).contains(&batch) {
                131.0
            } else if (200.0..231.0).contains(&batch) {
                231.0
            } else {
                batch
            };
            let commit = batch + 0.08;
            push_file(
                &mut failover,
                created,
                commit,
                (commit - created) * 1000.0,
                100,
                100,
            );
        }
        failover.resources = (1..=600u32)
            .map(|i| {
                let t = f64::from(i) * 0.5;
                let killed = (100.0..130.0).contains(&t);
                ResourceSample {
                    t_s: t,
                    pipeline_cpu_pct: if killed { 0.0 } else { 8.0 },
                    pipeline_rss_bytes: if killed { 0 } else { 24 << 20 },
                    postgres_cpu_pct: if (200.0..230.0).contains(&t) {
                        0.0
                    } else {
                        15.0
                    },
                    postgres_rss_bytes: if (200.0..230.0).contains(&t) {
                        0
                    } else {
                        170 << 20
                    },
                    system_cpu_pct: 12.0,
                    ..Default::default()
                }
            })
            .collect();
        for (name, input, target, charts) in [
            ("run", input, Some(1000.0), 5),
            ("single", single, None, 5),
            ("tail", tail, None, 5),
            ("equal", equal, Some(200.0), 5),
            ("long", long, Some(1500.0), 7),
            ("high-load", high, Some(10_000.0), 7),
            ("failover", failover, Some(2000.0), 7),
        ] {
            let out = base.join(name);
            std::fs::create_dir_all(&out).unwrap();
            let (written, notes) = write_all(&out, &input, &latency_of(&input), target);
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(written.len(), charts, "{name}");
        }
    }
}

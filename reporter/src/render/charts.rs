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

use std::path::Path;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::analyse::series::{
    backlog, bin_means, cdf, histogram_bins, moving_average, peak_steps, rolling_centers,
    rolling_percentiles, rolling_window_s, tail_cut, thin_scatter, throughput, throughput_bucket_s,
    ChartInput, LatencyPoint, HISTOGRAM_TARGET_BINS, MAX_BACKLOG_STEPS, MAX_CDF_POINTS,
    MAX_RESOURCE_POINTS, MAX_ROLLING_CENTERS, MIB,
};
use crate::error::ReportError;
use crate::format::fmt_decimal;
use crate::summary::{Interruption, LatencySummary};

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
    for info in CHARTS.iter().chain(&RESOURCE_CHARTS) {
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
            .label(format!("{} (interruption)", kind.replace('_', " ")))
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

/// Chart 1: one point per (file, commit) group at the file's creation time,
/// the row-weighted moving average over [`rolling_window_s`], a horizontal
/// target line when `target_ms` is given, and the interruptions.
pub fn latency_over_time(
    path: &Path,
    input: &ChartInput,
    target_ms: Option<f64>,
) -> Result<(), ReportError> {
    write_chart(path, render_latency_over_time(input, target_ms))
}

fn render_latency_over_time(input: &ChartInput, target_ms: Option<f64>) -> DrawResult<String> {
    let points = &input.points;
    let cadence = input.batch_cadence_s();
    let window = rolling_window_s(points, cadence);
    let centers = rolling_centers(points, MAX_ROLLING_CENTERS);
    let x = time_axis(points.iter().map(|p| p.created_s));
    let values: Vec<(f64, u64)> = points.iter().map(|p| (p.latency_ms, p.rows)).collect();
    // A few far stragglers would flatten every other point onto the axis:
    // the axis then stops at P99.9 and they are drawn as ▲ on a line above.
    let cut = tail_cut(&values);
    let data_top = cut.unwrap_or_else(|| values.iter().map(|v| v.0).fold(0.0, f64::max));
    let data_top = data_top.max(target_ms.unwrap_or(0.0));
    let above_at = data_top * 1.08;
    // Dots, average, and each of off-the-scale, target and interruptions.
    let entries = 2
        + usize::from(cut.is_some())
        + usize::from(target_ms.is_some())
        + phase_legend_entries(&input.phases)
        + interruption_kinds(&input.interruptions);
    let y = value_range_for_legend(if cut.is_some() { above_at } else { data_top }, entries);
    let (shown, above): (Vec<Xy>, Vec<Xy>) = points
        .iter()
        .map(|p| (p.created_s, p.latency_ms))
        .partition(|&(_, ms)| cut.is_none_or(|c| ms <= c));
    // Points sharing a cell of a few pixels draw the same picture: keep one.
    let scatter = thin_scatter(
        &shown,
        x,
        y,
        (WIDTH as usize, HEIGHT as usize),
        MAX_SCATTER_POINTS,
    );
    // A moving average of one instant is that instant's point again.
    let average: Vec<(f64, f64)> = if centers.len() > 1 {
        moving_average(points, window, &centers)
            .into_iter()
            .map(|(t, ms)| (t, ms.min(y.1)))
            .collect()
    } else {
        Vec::new()
    };
    svg_string(|root| {
        let mut chart = build(root, "Latency over time", x, y)?;
        mesh(&mut chart, X_TIME_DESC, "Latency (ms)", 10, 8)?;
        shade_phases(&mut chart, &input.phases)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        chart
            .draw_series(
                scatter
                    .iter()
                    .map(|&p| Circle::new(p, 3, C_BLUE.mix(0.45).filled())),
            )?
            .label(format!(
                "rows of one file committed together ({}{})",
                plural(shown.len(), "point"),
                if scatter.len() < shown.len() {
                    "; overlapping ones merged"
                } else {
                    ""
                }
            ))
            .legend(|(x, y)| Circle::new((x + 12, y), 4, C_BLUE.mix(0.6).filled()));
        if let Some(c) = cut {
            chart
                .draw_series(
                    above
                        .iter()
                        .map(|&(t, _)| TriangleMarker::new((t, above_at), 6, C_PURPLE.filled())),
                )?
                .label(format!(
                    "{} above {} (off the scale)",
                    plural(above.len(), "point"),
                    ms_label(c)
                ))
                .legend(|(x, y)| TriangleMarker::new((x + 12, y), 6, C_PURPLE.filled()));
        }
        if !average.is_empty() {
            line(
                &mut chart,
                &average,
                C_VERMILION.stroke_width(3),
                &format!(
                    "moving average, row-weighted ({} window{})",
                    seconds_label(window),
                    window_note(window, cadence).map_or(String::new(), |n| format!(" = {n}"))
                ),
            )?;
        }
        if let Some(t) = target_ms {
            dashed(
                &mut chart,
                (x.0, t),
                (x.1, t),
                C_GREEN,
                &format!("target {}", ms_label(t)),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Chart 2: rows per latency bin ([`histogram_bins`]), with dashed vertical
/// lines at the mean and P95.
pub fn latency_histogram(
    path: &Path,
    points: &[LatencyPoint],
    mean_ms: f64,
    p95_ms: f64,
) -> Result<(), ReportError> {
    write_chart(path, render_latency_histogram(points, mean_ms, p95_ms))
}

fn render_latency_histogram(
    points: &[LatencyPoint],
    mean_ms: f64,
    p95_ms: f64,
) -> DrawResult<String> {
    let h = histogram_bins(points, HISTOGRAM_TARGET_BINS);
    let (lo, hi) = match (h.bins.first(), h.bins.last()) {
        (Some(first), Some(last)) => (first.from_ms, last.to_ms),
        _ => (0.0, 1.0),
    };
    let x = padded(
        lo.min(mean_ms).min(p95_ms),
        hi.max(mean_ms).max(p95_ms),
        0.03,
    );
    let most = h.bins.iter().map(|b| b.rows).max().unwrap_or(0) as f64;
    let y = value_range(most);
    let x_desc = if h.overflow_rows > 0 {
        format!(
            "Latency (ms), bins of {}; {} rows above {} not shown",
            ms_label(h.width_ms),
            fmt_decimal(h.overflow_rows as f64, 0),
            ms_label(hi)
        )
    } else {
        format!("Latency (ms), bins of {}", ms_label(h.width_ms))
    };
    // Whole rows: no more tick marks than there are integers on the axis.
    let y_labels = (y.1.floor() as usize + 1).clamp(2, 8);
    svg_string(|root| {
        let mut chart = build(root, "Latency histogram", x, y)?;
        mesh(&mut chart, &x_desc, "Rows (count)", 10, y_labels)?;
        chart
            .draw_series(h.bins.iter().filter(|b| b.rows > 0).map(|b| {
                Rectangle::new(
                    [(b.from_ms, 0.0), (b.to_ms, b.rows as f64)],
                    C_BLUE.mix(0.55).filled(),
                )
            }))?
            .label("rows per bin")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 24, y + 6)], C_BLUE.mix(0.55).filled())
            });
        chart.draw_series(h.bins.iter().filter(|b| b.rows > 0).map(|b| {
            Rectangle::new(
                [(b.from_ms, 0.0), (b.to_ms, b.rows as f64)],
                C_BLUE.stroke_width(1),
            )
        }))?;
        dashed(
            &mut chart,
            (mean_ms, 0.0),
            (mean_ms, y.1),
            C_ORANGE,
            &format!("mean {}", ms_label(mean_ms)),
        )?;
        dashed(
            &mut chart,
            (p95_ms, 0.0),
            (p95_ms, y.1),
            C_VERMILION,
            &format!("P95 {}", ms_label(p95_ms)),
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Chart 3: P50, P95 and P99 of each rolling window ([`rolling_percentiles`]
/// over [`rolling_window_s`], named in the title), and the interruptions.
pub fn latency_percentiles_over_time(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_latency_percentiles_over_time(input))
}

fn render_latency_percentiles_over_time(input: &ChartInput) -> DrawResult<String> {
    let points = &input.points;
    let cadence = input.batch_cadence_s();
    let window = rolling_window_s(points, cadence);
    let rolling = rolling_percentiles(
        points,
        window,
        &rolling_centers(points, MAX_ROLLING_CENTERS),
    );
    let x = time_axis(points.iter().map(|p| p.created_s));
    let y = value_range_for_legend(
        rolling.iter().map(|r| r.p99).fold(0.0, f64::max),
        3 + interruption_kinds(&input.interruptions),
    );
    let series = |f: fn(&crate::analyse::series::PercentilesAt) -> f64| -> Vec<(f64, f64)> {
        rolling.iter().map(|r| (r.at_s, f(r))).collect()
    };
    svg_string(|root| {
        let mut chart = build(
            root,
            &format!(
                "Latency percentiles over time, {} window{}",
                seconds_label(window),
                window_note(window, cadence).map_or(String::new(), |n| format!(" ({n})"))
            ),
            x,
            y,
        )?;
        mesh(&mut chart, X_TIME_DESC, "Latency (ms)", 10, 8)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        line(
            &mut chart,
            &series(|r| r.p99),
            C_VERMILION.stroke_width(2),
            "P99",
        )?;
        line(
            &mut chart,
            &series(|r| r.p95),
            C_ORANGE.stroke_width(2),
            "P95",
        )?;
        line(
            &mut chart,
            &series(|r| r.p50),
            C_BLUE.stroke_width(2),
            "P50",
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Chart 4: the cumulative distribution ([`cdf`]) as a staircase, with the
/// given `(percent, latency ms)` marks (P50, P95, P99) as dots.
pub fn latency_cdf(
    path: &Path,
    points: &[LatencyPoint],
    marks: &[(f64, f64)],
) -> Result<(), ReportError> {
    write_chart(path, render_latency_cdf(points, marks))
}

fn render_latency_cdf(points: &[LatencyPoint], marks: &[(f64, f64)]) -> DrawResult<String> {
    let curve = cdf(points, MAX_CDF_POINTS);
    let (lo, hi) = min_max(curve.iter().map(|c| c.0)).unwrap_or((0.0, 1.0));
    let x = padded(lo, hi, 0.03);
    // A staircase: up at each latency, flat until the next.
    let mut stairs = Vec::with_capacity(curve.len() * 2 + 1);
    let mut previous = 0.0;
    for &(v, pct) in &curve {
        stairs.push((v, previous));
        stairs.push((v, pct));
        previous = pct;
    }
    if let Some(&(v, _)) = curve.last() {
        stairs.push((x.1.max(v), 100.0));
    }
    let colors = [C_BLUE, C_ORANGE, C_VERMILION, C_GREEN, C_PURPLE];
    svg_string(|root| {
        let mut chart = build(root, "Latency cumulative distribution", x, (0.0, 101.0))?;
        mesh(
            &mut chart,
            "Latency (ms)",
            "Rows with latency ≤ x (%)",
            10,
            11,
        )?;
        line(&mut chart, &stairs, C_GREY.stroke_width(2), "share of rows")?;
        for (i, &(pct, ms)) in marks.iter().enumerate() {
            let color = colors[i % colors.len()];
            chart
                .draw_series(std::iter::once(Circle::new((ms, pct), 6, color.filled())))?
                .label(format!("P{} {}", trimmed(pct, 1), ms_label(ms)))
                .legend(move |(x, y)| Circle::new((x + 12, y), 6, color.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Chart 5, two panels on one time axis: generated vs committed rows per
/// second in buckets of [`throughput_bucket_s`] (as steps), and below it the
/// backlog ([`backlog`]: files visible but not yet committed); both with the
/// interruptions.
pub fn throughput_chart(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_throughput(input))
}

/// `(x, y)` steps: each value held from its instant to the next one's, the
/// last to `end`.
fn hold(steps: &[(f64, f64)], end: f64) -> Vec<Xy> {
    let mut out = Vec::with_capacity(steps.len() * 2);
    for (i, &(t, v)) in steps.iter().enumerate() {
        let next = steps.get(i + 1).map_or(end.max(t), |n| n.0);
        out.push((t, v));
        out.push((next, v));
    }
    out
}

fn render_throughput(input: &ChartInput) -> DrawResult<String> {
    let cadence = input.batch_cadence_s();
    let bucket = throughput_bucket_s(&input.generated, &input.committed, cadence);
    let tp = throughput(&input.generated, &input.committed, bucket, cadence);
    let rates = |rows: &[f64]| -> Vec<(f64, f64)> {
        rows.iter()
            .enumerate()
            .map(|(i, &n)| (tp.edges[i], tp.rate(i, n)))
            .collect()
    };
    let end = tp.edges.last().copied().unwrap_or(0.0);
    let (g, c) = (
        hold(&rates(&tp.generated), end),
        hold(&rates(&tp.committed), end),
    );
    let exact = backlog(&input.files);
    let waiting = peak_steps(&exact, MAX_BACKLOG_STEPS, MAX_ROLLING_CENTERS);
    let x = time_axis(tp.edges.iter().copied().chain(waiting.iter().map(|w| w.0)));
    let waiting: Vec<(f64, f64)> = waiting.iter().map(|&(t, n)| (t, n as f64)).collect();
    let waiting = hold(&waiting, x.1);
    let y = value_range_for_legend(
        g.iter().chain(&c).map(|p| p.1).fold(0.0, f64::max),
        2 + phase_legend_entries(&input.phases) + interruption_kinds(&input.interruptions),
    );
    let most_waiting = waiting.iter().map(|w| w.1).fold(0.0, f64::max);
    let y_waiting = value_range_for_legend(
        most_waiting.max(1.0),
        1 + phase_legend_entries(&input.phases) + interruption_kinds(&input.interruptions),
    );
    let total = |rows: &[crate::analyse::series::TimedRows]| {
        fmt_decimal(rows.iter().map(|t| t.rows).sum::<u64>() as f64, 0)
    };
    let waiting_label = if exact.len() > MAX_BACKLOG_STEPS {
        format!(
            "files visible, not yet committed (peak per {})",
            seconds_label(round_for_label((x.1 - x.0) / MAX_ROLLING_CENTERS as f64))
        )
    } else {
        "files visible, not yet committed".to_string()
    };
    svg_string_sized((WIDTH, THROUGHPUT_HEIGHT), |root| {
        let root = root.titled(
            &format!(
                "Throughput ({} buckets) and backlog",
                seconds_label(tp.bucket_s)
            ),
            (FONT, TITLE_SIZE).into_font().style(FontStyle::Bold),
        )?;
        let (upper, lower) = root.split_vertically(THROUGHPUT_UPPER);
        let mut chart = panel(&upper, x, y, 36)?;
        mesh(&mut chart, "", "Throughput (rows/s)", 10, 7)?;
        shade_phases(&mut chart, &input.phases)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        // Generated wide and light underneath, so it shows where the two
        // lines coincide.
        line(
            &mut chart,
            &g,
            C_ORANGE.mix(0.8).stroke_width(5),
            &format!(
                "generated ({} rows, at file creation)",
                total(&input.generated)
            ),
        )?;
        line(
            &mut chart,
            &c,
            C_BLUE.stroke_width(2),
            &format!("committed ({} rows, at commit)", total(&input.committed)),
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;

        let mut chart = panel(&lower, x, y_waiting, 64)?;
        // Whole files: no more tick marks than there are integers.
        let y_labels = (y_waiting.1.floor() as usize + 1).clamp(2, 6);
        mesh(&mut chart, X_TIME_DESC, "Backlog (files)", 10, y_labels)?;
        shade_phases(&mut chart, &input.phases)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        // The area under the steps, closed along the axis.
        let mut area = waiting.clone();
        if let (Some(first), Some(last)) = (waiting.first(), waiting.last()) {
            area.push((last.0, 0.0));
            area.push((first.0, 0.0));
        }
        chart
            .draw_series(std::iter::once(Polygon::new(
                area,
                C_PURPLE.mix(0.25).filled(),
            )))?
            .label(waiting_label)
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 24, y + 6)], C_PURPLE.mix(0.4).filled())
            });
        chart.draw_series(LineSeries::new(
            waiting.iter().copied(),
            C_PURPLE.stroke_width(2),
        ))?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

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

/// `(t_s, value)` of one field of every sample, averaged into
/// [`MAX_ROLLING_CENTERS`] bins when there are more than
/// [`MAX_RESOURCE_POINTS`] samples.
fn resource_line(
    input: &ChartInput,
    f: impl Fn(&crate::collect::run_files::ResourceSample) -> f64,
) -> Vec<Xy> {
    let points: Vec<Xy> = input.resources.iter().map(|s| (s.t_s, f(s))).collect();
    bin_means(&points, MAX_RESOURCE_POINTS, MAX_ROLLING_CENTERS)
}

/// `", means of 6 s"` when the resource lines are averaged, else nothing.
fn binning_note(input: &ChartInput) -> String {
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
fn postgres_sampled(input: &ChartInput) -> bool {
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

fn render_resources_cpu(input: &ChartInput) -> DrawResult<String> {
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

fn render_resources_memory(input: &ChartInput) -> DrawResult<String> {
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

/// A latency-CDF chart of several runs: one line (with a dot at each known
/// point) per `(label, points)`, points as `(latency ms, percent of rows)`
/// sorted by latency. `log_x` draws the latency axis on a log scale (points
/// at or below 0 ms are then left out). A run without points gets no line.
pub fn latency_cdf_compare(
    path: &Path,
    runs: &[(String, Vec<Xy>)],
    log_x: bool,
) -> Result<(), ReportError> {
    write_chart(path, render_latency_cdf_compare(runs, log_x))
}

const COMPARE_CDF_TITLE: &str = "Latency cumulative distribution by run";
const COMPARE_CDF_Y_DESC: &str = "Rows with latency ≤ x (%)";

fn render_latency_cdf_compare(runs: &[(String, Vec<Xy>)], log_x: bool) -> DrawResult<String> {
    let xs = || runs.iter().flat_map(|(_, pts)| pts.iter().map(|p| p.0));
    let y = (0.0, 101.0);
    if log_x {
        let (lo, hi) = min_max(xs().filter(|&x| x > 0.0)).unwrap_or((1.0, 10.0));
        let (lo, hi) = (lo / 1.25, hi.max(lo * 10.0) * 1.25);
        svg_string(|root| {
            let mut chart = ChartBuilder::on(root)
                .caption(
                    COMPARE_CDF_TITLE,
                    (FONT, TITLE_SIZE).into_font().style(FontStyle::Bold),
                )
                .margin(18)
                .margin_right(32)
                .x_label_area_size(64)
                .y_label_area_size(96)
                .build_cartesian_2d((lo..hi).log_scale(), y.0..y.1)?;
            draw_run_lines(
                &mut chart,
                runs,
                "Latency (ms, log scale)",
                &log_tick,
                |x| x > 0.0,
            )
        })
    } else {
        let hi = xs().fold(0.0, f64::max);
        let x = if hi > 0.0 && hi.is_finite() {
            (0.0, hi * 1.05)
        } else {
            (0.0, 1.0)
        };
        let fx = tick_formatter(x.1 - x.0);
        svg_string(|root| {
            let mut chart = build(root, COMPARE_CDF_TITLE, x, y)?;
            draw_run_lines(&mut chart, runs, "Latency (ms)", &fx, |_| true)
        })
    }
}

/// A tick of a log axis: as many decimals as the value needs.
fn log_tick(v: &f64) -> String {
    let decimals = if *v >= 100.0 {
        0
    } else if *v >= 1.0 {
        2
    } else {
        3
    };
    trimmed(*v, decimals)
}

/// Mesh, one line and its dots per run, legend: the same on a linear or a
/// log latency axis.
fn draw_run_lines<'a, 'b: 'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, RangedCoordf64>>,
    runs: &[(String, Vec<Xy>)],
    x_desc: &str,
    x_fmt: &dyn Fn(&f64) -> String,
    keep: impl Fn(f64) -> bool,
) -> DrawResult<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fy = tick_formatter(101.0 / 11.0 * 10.0);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(COMPARE_CDF_Y_DESC)
        .x_labels(10)
        .y_labels(11)
        .x_label_formatter(x_fmt)
        .y_label_formatter(&fy)
        .axis_desc_style((FONT, DESC_SIZE))
        .label_style((FONT, TICK_SIZE))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .axis_style(C_GREY)
        .draw()?;
    for (i, (label, points)) in runs.iter().enumerate() {
        let color = RUN_COLORS[i % RUN_COLORS.len()];
        let style = color.stroke_width(2);
        let shown: Vec<Xy> = points.iter().copied().filter(|p| keep(p.0)).collect();
        if shown.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(shown.iter().copied(), style))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        chart.draw_series(shown.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .margin(12)
        .legend_area_size(28)
        .label_font((FONT, LEGEND_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.35))
        .draw()?;
    Ok(())
}

/// A capacity curve: offered load (rows/s) against the latency P50 and
/// P99 at that load, with the P99 limit when one is set.
pub fn capacity_curve(
    path: &Path,
    p50: &[Xy],
    p99: &[Xy],
    p99_limit_ms: Option<f64>,
) -> Result<(), ReportError> {
    write_chart(path, render_capacity_curve(p50, p99, p99_limit_ms))
}

fn render_capacity_curve(p50: &[Xy], p99: &[Xy], p99_limit_ms: Option<f64>) -> DrawResult<String> {
    let xs = || p50.iter().chain(p99).map(|p| p.0);
    let (x_lo, x_hi) = min_max(xs()).unwrap_or((0.0, 1.0));
    let pad = ((x_hi - x_lo) * 0.05).max(1.0);
    let y_hi = p99
        .iter()
        .chain(p50)
        .map(|p| p.1)
        .chain(p99_limit_ms)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    svg_string(|root| {
        let mut chart = build(
            root,
            "Latency by offered load",
            ((x_lo - pad).max(0.0), x_hi + pad),
            (0.0, y_hi),
        )?;
        mesh(&mut chart, "Offered load (rows/s)", "Latency (ms)", 10, 10)?;
        line(&mut chart, p50, C_BLUE.stroke_width(2), "P50")?;
        chart.draw_series(p50.iter().map(|&p| Circle::new(p, 3, C_BLUE.filled())))?;
        line(&mut chart, p99, C_VERMILION.stroke_width(2), "P99")?;
        chart.draw_series(p99.iter().map(|&p| Circle::new(p, 3, C_VERMILION.filled())))?;
        if let Some(limit) = p99_limit_ms {
            dashed(
                &mut chart,
                ((x_lo - pad).max(0.0), limit),
                (x_hi + pad, limit),
                C_GREY,
                &format!("P99 limit {} ms", fmt_decimal(limit, 0)),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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

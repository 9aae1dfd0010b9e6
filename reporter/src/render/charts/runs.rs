//! Charts across runs: the latency distributions of compared runs overlaid, and a sweep's capacity curve.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

use super::{
    build, dashed, legend, line, mesh, min_max, svg_string, tick_formatter, trimmed, write_chart,
    DrawResult, Xy, COMPARE_CDF_TITLE, COMPARE_CDF_Y_DESC, C_BLUE, C_GREY, C_VERMILION, DESC_SIZE,
    FONT, LEGEND_SIZE, RUN_COLORS, TICK_SIZE, TITLE_SIZE,
};
use crate::error::ReportError;
use crate::format::fmt_decimal;

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

pub(super) fn render_latency_cdf_compare(
    runs: &[(String, Vec<Xy>)],
    log_x: bool,
) -> DrawResult<String> {
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
pub(super) fn log_tick(v: &f64) -> String {
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
pub(super) fn draw_run_lines<'a, 'b: 'a, X>(
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

pub(super) fn render_capacity_curve(
    p50: &[Xy],
    p99: &[Xy],
    p99_limit_ms: Option<f64>,
) -> DrawResult<String> {
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

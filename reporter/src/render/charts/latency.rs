//! The latency family: over time (a scatter with moving averages), the histogram, percentiles over time, the cumulative distribution.

use plotters::prelude::*;
use std::path::Path;

use super::{
    build, dashed, interruption_kinds, legend, line, mesh, min_max, ms_label, padded,
    phase_legend_entries, plural, seconds_label, shade_interruptions, shade_phases, svg_string,
    time_axis, trimmed, value_range, value_range_for_legend, window_note, write_chart, DrawResult,
    Xy, C_BLUE, C_GREEN, C_GREY, C_ORANGE, C_PURPLE, C_VERMILION, HEIGHT, MAX_SCATTER_POINTS,
    WIDTH, X_TIME_DESC,
};
use crate::analyse::series::{
    cdf, histogram_bins, moving_average, rolling_centers, rolling_percentiles, rolling_window_s,
    tail_cut, thin_scatter, ChartInput, LatencyPoint, HISTOGRAM_TARGET_BINS, MAX_CDF_POINTS,
    MAX_ROLLING_CENTERS,
};
use crate::error::ReportError;
use crate::format::fmt_decimal;

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

pub(super) fn render_latency_over_time(
    input: &ChartInput,
    target_ms: Option<f64>,
) -> DrawResult<String> {
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

pub(super) fn render_latency_histogram(
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

pub(super) fn render_latency_percentiles_over_time(input: &ChartInput) -> DrawResult<String> {
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

pub(super) fn render_latency_cdf(
    points: &[LatencyPoint],
    marks: &[(f64, f64)],
) -> DrawResult<String> {
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

//! The throughput family: rows generated and committed per second, with the backlog of waiting files below.

use plotters::prelude::*;
use std::path::Path;

use super::{
    interruption_kinds, legend, line, mesh, panel, phase_legend_entries, round_for_label,
    seconds_label, shade_interruptions, shade_phases, svg_string_sized, throughput, time_axis,
    value_range_for_legend, write_chart, DrawResult, Xy, C_BLUE, C_ORANGE, C_PURPLE, FONT,
    THROUGHPUT_HEIGHT, THROUGHPUT_UPPER, TITLE_SIZE, WIDTH, X_TIME_DESC,
};
use crate::analyse::series::{
    backlog, peak_steps, throughput_bucket_s, ChartInput, MAX_BACKLOG_STEPS, MAX_ROLLING_CENTERS,
};
use crate::error::ReportError;
use crate::format::fmt_decimal;

/// Chart 5, two panels on one time axis: generated vs committed rows per
/// second in buckets of [`throughput_bucket_s`] (as steps), and below it the
/// backlog ([`backlog`]: files visible but not yet committed); both with the
/// interruptions.
pub fn throughput_chart(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_throughput(input))
}

/// `(x, y)` steps: each value held from its instant to the next one's, the
/// last to `end`.
pub(super) fn hold(steps: &[(f64, f64)], end: f64) -> Vec<Xy> {
    let mut out = Vec::with_capacity(steps.len() * 2);
    for (i, &(t, v)) in steps.iter().enumerate() {
        let next = steps.get(i + 1).map_or(end.max(t), |n| n.0);
        out.push((t, v));
        out.push((next, v));
    }
    out
}

pub(super) fn render_throughput(input: &ChartInput) -> DrawResult<String> {
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

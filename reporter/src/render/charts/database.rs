//! Charts of the database's internals: the WAL it wrote over time, with
//! checkpoints and interruptions banded.

use std::path::Path;

use plotters::prelude::*;

use super::{
    build, interruption_kinds, legend, line, mesh, shade_interruptions, svg_string, time_axis,
    value_range_for_legend, write_chart, DrawResult, C_BLUE, X_RUN_TIME_DESC,
};
use crate::analyse::series::ChartInput;
use crate::error::ReportError;

/// WAL written per second between the database's one-second readings.
pub fn database_wal(path: &Path, input: &ChartInput) -> Result<(), ReportError> {
    write_chart(path, render_database_wal(input))
}

pub(super) fn render_database_wal(input: &ChartInput) -> DrawResult<String> {
    let points = &input.wal_mib_per_s;
    let x = time_axis(points.iter().map(|p| p.0));
    let top = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let y = value_range_for_legend(top, 1 + interruption_kinds(&input.interruptions));
    svg_string(|root| {
        let mut chart = build(root, "WAL written over time", x, y)?;
        mesh(&mut chart, X_RUN_TIME_DESC, "WAL (MiB/s)", 10, 8)?;
        shade_interruptions(&mut chart, &input.interruptions)?;
        line(
            &mut chart,
            points,
            C_BLUE.stroke_width(2),
            "WAL written (cluster)",
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

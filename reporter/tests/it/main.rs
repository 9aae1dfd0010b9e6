//! The reporter on saved runs: one `summary.json` per configs/ scenario
//! (written by `sluice run`, kept in `tests/fixtures/summaries/`), rendered
//! again as a person reads it.

mod reads_as_prose;

//! Every file the reporter writes (`report.md`, `summary.json`, the charts,
//! the run's side files, the comparison) goes through [`write_atomic`], so a
//! reader, or a crash, never sees half a file.

use std::path::Path;

use generator::GeneratorError;

use crate::error::ReportError;

/// Writes `bytes` to `path` through the generator's atomic, durable writer
/// (a hidden temporary name beside it, fsync, rename): the one
/// implementation of an atomic write the reporter and the generator share.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    generator::writer::write_atomic(path, bytes)
        .map(drop)
        .map_err(|error| match error {
            GeneratorError::Io {
                action,
                path,
                error,
            } => ReportError::Io {
                action,
                path,
                error,
            },
            other => ReportError::Io {
                action: "write",
                path: path.to_path_buf(),
                error: std::io::Error::other(other.to_string()),
            },
        })
}

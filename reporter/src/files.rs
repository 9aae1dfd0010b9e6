//! Every file the reporter writes (`report.md`, `summary.json`, the charts,
//! the run's side files, the comparison) goes through [`write_atomic`], so a
//! reader, or a crash, never sees half a file.

use std::fs;
use std::path::Path;

use crate::error::ReportError;

/// Writes `bytes` to a hidden temporary name beside `path`, then renames it
/// into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, bytes).map_err(|error| ReportError::Io {
        action: "write",
        path: tmp.clone(),
        error,
    })?;
    fs::rename(&tmp, path).map_err(|error| ReportError::Io {
        action: "rename into place",
        path: path.to_path_buf(),
        error,
    })
}

//! Atomic file writer.
//!
//! A file is written as a hidden temp file `.NAME.tmp` in the destination
//! directory, flushed and fsync'd, then renamed to `NAME`, so a reader
//! listing the directory sees either nothing or the complete file. After the
//! rename the directory itself is fsync'd on Unix so the new name survives a
//! crash (Windows has no directory fsync; NTFS journals the rename).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::GeneratorError;

/// The moment a file became visible under its final name, taken right after
/// the rename returned (before the directory fsync).
#[derive(Debug, Clone, Copy)]
pub struct Published {
    /// Monotonic time of the rename.
    pub at: Instant,
    /// Unix time of the rename, in microseconds.
    pub unix_us: i64,
}

/// The hidden temp path for `final_path`: `.NAME.tmp` in the same directory.
pub fn temp_path_for(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.tmp"))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory so that renames and creations in it are durable.
/// A no-op on non-Unix platforms.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

fn io_err(action: &'static str, path: &Path, error: io::Error) -> GeneratorError {
    GeneratorError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

/// Writes `data` to `final_path` atomically (see the module docs) and
/// returns the moment the file became visible. An existing file of that name
/// is replaced; a stale temp file from an earlier crash is overwritten. On
/// failure the temp file is removed.
pub fn write_atomic(final_path: &Path, data: &[u8]) -> Result<Published, GeneratorError> {
    let tmp = temp_path_for(final_path);
    let result = write_and_rename(&tmp, final_path, data);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    let published = result?;
    sync_dir(parent_dir(final_path))
        .map_err(|e| io_err("fsync the directory of", final_path, e))?;
    Ok(published)
}

fn write_and_rename(
    tmp: &Path,
    final_path: &Path,
    data: &[u8],
) -> Result<Published, GeneratorError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| io_err("create the temp file", tmp, e))?;
    file.write_all(data)
        .map_err(|e| io_err("write the temp file", tmp, e))?;
    file.flush()
        .map_err(|e| io_err("flush the temp file", tmp, e))?;
    file.sync_all()
        .map_err(|e| io_err("fsync the temp file", tmp, e))?;
    drop(file);
    fs::rename(tmp, final_path).map_err(|e| io_err("rename the temp file to", final_path, e))?;
    Ok(Published {
        at: Instant::now(),
        unix_us: chrono::Utc::now().timestamp_micros(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_name_is_hidden_and_in_same_dir() {
        assert_eq!(
            temp_path_for(Path::new("/a/b/events-000001.csv")),
            PathBuf::from("/a/b/.events-000001.csv.tmp")
        );
        assert_eq!(
            temp_path_for(Path::new("x.csv")),
            PathBuf::from(".x.csv.tmp")
        );
        assert_eq!(parent_dir(Path::new("x.csv")), Path::new("."));
    }

    #[test]
    fn writes_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        fs::write(temp_path_for(&p), b"stale").unwrap();
        let before = chrono::Utc::now().timestamp_micros();
        let pub1 = write_atomic(&p, b"hello\n").unwrap();
        assert!(pub1.unix_us >= before);
        assert_eq!(fs::read(&p).unwrap(), b"hello\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.csv")]);
    }

    #[test]
    fn error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("f.csv");
        let err = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(err.contains(".f.csv.tmp"), "{err}");
    }
}

//! Atomic file writer.
//!
//! A file is written as a hidden temp file `.NAME.tmp` in the destination
//! directory, flushed and fsync'd, then renamed to `NAME`, so a reader
//! listing the directory sees either nothing or the complete file, also
//! after a power cut (the contract of the input files).
//!
//! The two halves can run apart: [`prepare`] writes and fsyncs the temp
//! file, [`Prepared::publish`] renames it, so the generator prepares a file
//! before its deadline and publishes it on time.
//!
//! Making the new *name* durable takes an fsync of the directory on Unix
//! (Windows has none; NTFS journals the rename). [`write_atomic`] does it
//! for each file. [`Prepared::publish`] leaves it to the caller, because it
//! costs as much as the file's own fsync and buys nothing while the machine
//! stays up (the rename is visible at once); the generator syncs the
//! directory once when a run ends. Its manifest is not fsync'd either, so a
//! power cut in the middle of a run loses the run's ground truth anyway.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::GeneratorError;

use crate::sharing::retry_while_shared;

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
        fs::File::open(dir)?.sync_all()?;
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

/// Writes `data` to `final_path` atomically and durably: [`prepare`],
/// [`Prepared::publish`], then an fsync of the directory so that the name
/// survives a power cut. An existing file of that name is replaced.
pub fn write_atomic(final_path: &Path, data: &[u8]) -> Result<Published, GeneratorError> {
    let published = prepare(final_path, data)?.publish()?;
    sync_dir(parent_dir(final_path))
        .map_err(|e| io_err("fsync the directory of", final_path, e))?;
    Ok(published)
}

/// A complete, fsync'd hidden temp file waiting to be renamed to its final
/// name. Preparing ahead lets the generator make a file visible at its
/// deadline with a rename alone, however large the file. Dropping it without
/// [`Prepared::publish`] removes the temp file, so a stopped or failed run
/// leaves nothing hidden behind.
#[derive(Debug)]
pub struct Prepared {
    tmp: PathBuf,
    final_path: PathBuf,
    published: bool,
}

/// Writes `data` to the hidden temp file of `final_path` (see
/// [`temp_path_for`]), flushes and fsyncs it. A stale temp file from an
/// earlier crash is overwritten; on failure the temp file is removed.
pub fn prepare(final_path: &Path, data: &[u8]) -> Result<Prepared, GeneratorError> {
    let prepared = Prepared {
        tmp: temp_path_for(final_path),
        final_path: final_path.to_path_buf(),
        published: false,
    };
    let tmp = prepared.tmp.as_path();
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
    Ok(prepared)
}

impl Prepared {
    /// Renames the temp file to its final name (replacing a file of that
    /// name) and returns the moment it became visible. The directory is not
    /// fsync'd: call [`sync_dir`] when the names must be durable.
    pub fn publish(mut self) -> Result<Published, GeneratorError> {
        retry_while_shared(|| fs::rename(&self.tmp, &self.final_path))
            .map_err(|e| io_err("rename the temp file to", &self.final_path, e))?;
        self.published = true;
        Ok(Published {
            at: Instant::now(),
            unix_us: chrono::Utc::now().timestamp_micros(),
        })
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_file(&self.tmp);
        }
    }
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

    #[test]
    fn prepare_hides_the_file_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        let prepared = prepare(&p, b"a\n").unwrap();
        assert_eq!(fs::read(temp_path_for(&p)).unwrap(), b"a\n");
        assert!(!p.exists());
        prepared.publish().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"a\n");
        assert!(!temp_path_for(&p).exists());

        // Dropped unpublished: the temp file goes, the published file stays.
        drop(prepare(&p, b"b\n").unwrap());
        assert!(!temp_path_for(&p).exists());
        assert_eq!(fs::read(&p).unwrap(), b"a\n");
    }
}

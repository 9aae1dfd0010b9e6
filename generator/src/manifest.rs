//! The manifest: one JSON object per line, appended right after each file
//! becomes visible.
//!
//! ```text
//! {"seq":1,"file":"events-000001.csv","rows":87,"created_at_us":1795000000123456,"dup_rows":0,"bad_rows":0,"scheduled_at_us":1795000000120000,"late_us":3456}
//! ```
//!
//! `scheduled_at_us` and `late_us` are this generator's own keys, and so are
//! `source` (which concurrent writer wrote the file; only with more than one
//! source, whose `seq` then counts per source) and `target_rows_per_s` (the
//! rate the profile asked for during the file's span; only with a rate
//! profile), so that the reporter can tell the phases of a burst or a ramp
//! apart. Readers ignore keys they do not know, and [`read_manifest`] does
//! too; manifests without the optional keys read as `None`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::GeneratorError;

/// One manifest line: a file that became visible.
///
/// `Default` lets code that builds entries (tests, other tools) name only the
/// keys it cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Sequence number of the file, from 1.
    pub seq: u64,
    /// File name (no directory).
    pub file: String,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Unix time in microseconds taken right after the rename.
    pub created_at_us: i64,
    /// Rows repeating a valid row (same event_id, same content) of an
    /// earlier file.
    pub dup_rows: u64,
    /// Malformed rows.
    pub bad_rows: u64,
    /// The file's deadline on the schedule, Unix microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at_us: Option<i64>,
    /// How late the rename was relative to the deadline, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_us: Option<i64>,
    /// The writer (from 1) when the generator ran several sources; `seq`
    /// counts that source's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<u32>,
    /// Total rate (all sources) the rate profile asked for over this file's
    /// span, rows per second, rounded; absent without a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rows_per_s: Option<u64>,
    /// What every key of the file's own rows begins with
    /// (`{id_prefix}{seq:06}-`, the rest being the row number): how a
    /// reporter ties a table's rows to their files when the table has no
    /// file column (a pipeline other than sluice wrote it). A repeated row
    /// keeps the key, so the prefix, of the file it repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

impl ManifestEntry {
    /// Rows a correct pipeline adds to the target: `rows - dup_rows -
    /// bad_rows`, saturating at 0.
    pub fn expected_rows(&self) -> u64 {
        self.rows
            .saturating_sub(self.dup_rows)
            .saturating_sub(self.bad_rows)
    }
}

/// Appends manifest lines, one `write` per line, flushed after each.
#[derive(Debug)]
pub struct ManifestWriter {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
}

fn io_err(action: &'static str, path: &Path, error: io::Error) -> GeneratorError {
    GeneratorError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

impl ManifestWriter {
    /// Opens (creating it and its parent directory if needed) the manifest
    /// at `path` for appending. If an existing manifest ends in a partial
    /// line (a writer crashed mid-line), a newline is appended first so the
    /// next entry starts on its own line.
    pub fn open(path: &Path) -> Result<ManifestWriter, GeneratorError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| io_err("create the manifest directory", parent, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| io_err("open the manifest", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err("read the metadata of the manifest", path, e))?
            .len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| io_err("read the end of the manifest", path, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .map_err(|e| io_err("append to the manifest", path, e))?;
            }
        }
        Ok(ManifestWriter {
            file,
            path: path.to_path_buf(),
            line: Vec::with_capacity(256),
        })
    }

    /// The manifest path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as a single line and flushes it.
    pub fn append(&mut self, entry: &ManifestEntry) -> Result<(), GeneratorError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry)
            .map_err(|e| io_err("serialize an entry for the manifest", &self.path, e.into()))?;
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .and_then(|_| self.file.flush())
            .map_err(|e| io_err("append to the manifest", &self.path, e))
    }
}

/// Reads a manifest: one JSON object per line. Unknown keys are ignored,
/// blank lines skipped, a leading UTF-8 BOM and CRLF line endings tolerated.
/// A final line without a newline is accepted if it parses. A line that does
/// not parse is an error naming the file and the line number (from 1).
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestEntry>, GeneratorError> {
    let bytes = fs::read(path).map_err(|e| io_err("read the manifest", path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| GeneratorError::ManifestLine {
        path: path.to_path_buf(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "not valid UTF-8".to_owned(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.split('\n').collect();
    let last_index = lines.len() - 1;
    let mut entries = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ManifestEntry>(line) {
            Ok(entry) => entries.push(entry),
            Err(e) => {
                let partial = i == last_index && !ends_with_newline;
                let message = if partial {
                    format!(
                        "{e} (this last line has no newline: the writer may still be running or \
                         may have crashed mid-line)"
                    )
                } else {
                    e.to_string()
                };
                return Err(GeneratorError::ManifestLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message,
                });
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> ManifestEntry {
        ManifestEntry {
            seq,
            file: format!("events-{seq:06}.csv"),
            rows: 87,
            created_at_us: 1_795_000_000_123_456,
            dup_rows: 2,
            bad_rows: 1,
            ..ManifestEntry::default()
        }
    }

    #[test]
    fn contract_line_format() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("manifest.jsonl");
        let mut w = ManifestWriter::open(&p).unwrap();
        w.append(&entry(1)).unwrap();
        let mut e2 = entry(2);
        e2.scheduled_at_us = Some(5);
        e2.late_us = Some(6);
        e2.source = Some(3);
        e2.target_rows_per_s = Some(5000);
        w.append(&e2).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "{\"seq\":1,\"file\":\"events-000001.csv\",\"rows\":87,\"created_at_us\":1795000000123456,\"dup_rows\":2,\"bad_rows\":1}\n\
             {\"seq\":2,\"file\":\"events-000002.csv\",\"rows\":87,\"created_at_us\":1795000000123456,\"dup_rows\":2,\"bad_rows\":1,\"scheduled_at_us\":5,\"late_us\":6,\"source\":3,\"target_rows_per_s\":5000}\n"
        );
        assert_eq!(read_manifest(&p).unwrap(), vec![entry(1), e2]);
        assert_eq!(entry(1).expected_rows(), 84);
    }

    #[test]
    fn reopen_repairs_partial_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        fs::write(&p, "{\"seq\":1,\"fi").unwrap();
        let mut w = ManifestWriter::open(&p).unwrap();
        w.append(&entry(2)).unwrap();
        let err = read_manifest(&p).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let text = fs::read_to_string(&p).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            serde_json::to_string(&entry(2)).unwrap()
        );
    }

    #[test]
    fn bom_crlf_and_final_line_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let l1 = serde_json::to_string(&entry(1)).unwrap();
        let l2 = serde_json::to_string(&entry(2)).unwrap();
        fs::write(&p, format!("\u{feff}{l1}\r\n\r\n{l2}")).unwrap();
        assert_eq!(read_manifest(&p).unwrap(), vec![entry(1), entry(2)]);
        fs::write(&p, format!("{l1}\n{{\"seq\":2")).unwrap();
        let err = read_manifest(&p).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("no newline"),
            "{err}"
        );
    }
}

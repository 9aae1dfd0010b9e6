//! Read and parse: CSV files into Arrow batches with the configured schema,
//! row by row, so that one bad row is rejected with its line and reason
//! instead of failing its file (arrow-csv fails whole batches and then never
//! stops returning the error; see shared/deps.md).
//!
//! Files are streamed: a [`FileReader`] hands out at most `max_rows` rows at a
//! time, so a file of any size is read with bounded memory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use crate::schema::TableSchema;

mod builder;
mod records;
mod value;

pub use builder::BatchBuilder;
pub use records::Tokenizer;
use records::{Next, Records};
use value::{parse_field, parse_text, shorten, Value};

/// Limits on what a single row may hold.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Longest accepted field, in bytes.
    pub max_field_bytes: usize,
    /// Longest raw text kept for a rejected row, in bytes.
    pub max_raw_bytes: usize,
    /// Longest record (all its fields), in bytes: what one row may take in
    /// memory. A longer one (a line with no line break, an unclosed quote
    /// running on) is rejected and reading resumes at the next line.
    pub max_record_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_field_bytes: 64 * 1024,
            max_raw_bytes: 4 * 1024,
            max_record_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Most fields one record may have: its field boundaries are held in memory
/// too, and a line of commas must not take gigabytes.
const MAX_FIELDS: usize = 4096;

/// An input row that could not be ingested, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    pub file: String,
    /// 1-based line of the row's first line in its file (`None` for a row
    /// the database refused after the transform, which keeps no lines).
    pub line: Option<u64>,
    /// The row as read (lossy UTF-8, truncated to the limit).
    pub raw: String,
    pub reason: String,
}

/// Why a whole file cannot be read. The file is quarantined with this reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileProblem {
    #[error("empty file (0 bytes): there is no header line")]
    Empty,
    #[error("the header is not valid UTF-8")]
    HeaderNotUtf8,
    #[error("wrong header `{found}`: expected the columns `{expected}`{detail}")]
    WrongHeader {
        found: String,
        expected: String,
        detail: String,
    },
    #[error("the file disappeared before it was read")]
    Vanished,
    #[error("not a regular file ({0})")]
    NotAFile(String),
    #[error(
        "permission denied: the user running sluice cannot read the file; make it readable \
         (chmod a+r, or an ACL) and put it back into the input folder under a new name"
    )]
    PermissionDenied,
    #[error(
        "cannot read the file: {0}; fix the cause and put it back into the input folder under a new name"
    )]
    Unreadable(String),
    #[error(
        "the header line is longer than max_record_bytes ({0} bytes) or has more than 4096 fields: \
         this is not a CSV file of the configured columns"
    )]
    HeaderTooLong(usize),
}

impl FileProblem {
    fn from_io(error: &std::io::Error) -> Self {
        #[cfg(unix)]
        if error.raw_os_error() == Some(libc::ELOOP) {
            return Self::NotAFile("a symbolic link; sluice reads only regular files".into());
        }
        match error.kind() {
            std::io::ErrorKind::NotFound => Self::Vanished,
            std::io::ErrorKind::PermissionDenied => Self::PermissionDenied,
            _ => Self::Unreadable(error.to_string()),
        }
    }
}

/// CRC-32 of a file's whole content, as [`FileReader::content_hash`]
/// computes it after reading the file to its end.
pub fn hash_file(path: &Path) -> std::io::Result<u32> {
    // A file gone since its commit reads as NotFound, as callers expect.
    let file = open_regular_file(path).map_err(|problem| match problem {
        FileProblem::Vanished => std::io::Error::from(std::io::ErrorKind::NotFound),
        other => std::io::Error::other(other),
    })?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut hash = crc32fast::Hasher::new();
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(hash.finalize());
        }
        hash.update(buffer);
        let read = buffer.len();
        input.consume(read);
    }
}

/// Opens `path` for reading only if it is a regular file, checked on the
/// open handle (no window between a check and the open): a symbolic link is
/// not followed and a FIFO does not block the open.
fn open_regular_file(path: &Path) -> Result<File, FileProblem> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        /// Opens a symbolic link (a reparse point) itself, not its target.
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = options.open(path).map_err(|error| {
        // Windows refuses to open a folder as a file ("access denied"):
        // name the real problem.
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => FileProblem::NotAFile("a directory".into()),
            _ => FileProblem::from_io(&error),
        }
    })?;
    let meta = file.metadata().map_err(|e| FileProblem::from_io(&e))?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(FileProblem::NotAFile(
        if kind.is_dir() {
            "a directory"
        } else if kind.is_symlink() {
            "a symbolic link; sluice reads only regular files"
        } else {
            "a FIFO, socket or device; sluice reads only regular files"
        }
        .into(),
    ))
}

/// Reads one CSV file, row by row.
pub struct FileReader {
    name: String,
    /// `_seq` of the file's rows: file index in the batch in the high bits.
    seq_base: i64,
    records: Records,
    /// For each schema column, the index of its field in the file.
    field_of_column: Vec<usize>,
    rows_read: u64,
    rows_rejected: u64,
    /// One row's parsed values: the allocation is kept from row to row.
    values: Vec<Value<'static>>,
}

impl FileReader {
    /// Opens a file and checks its header against the schema; `tokenizer`
    /// is the one the file before handed back ([`FileReader::into_tokenizer`]).
    pub fn open(
        path: &Path,
        name: &str,
        file_index: u32,
        table: &TableSchema,
        limits: &ParseLimits,
        tokenizer: Tokenizer,
    ) -> Result<Self, FileProblem> {
        let file = open_regular_file(path)?;
        let mut records = Records::new(file, limits.max_record_bytes, tokenizer.0);
        match records.next() {
            Ok(Next::Record) => {}
            Ok(Next::End) => return Err(FileProblem::Empty),
            Ok(Next::Oversized { .. }) => {
                return Err(FileProblem::HeaderTooLong(limits.max_record_bytes))
            }
            Err(error) => return Err(FileProblem::from_io(&error)),
        }
        let field_of_column = match_header(&records, table)?;
        Ok(Self {
            name: name.to_string(),
            seq_base: i64::from(file_index) << 32,
            records,
            field_of_column,
            rows_read: 0,
            rows_rejected: 0,
            values: Vec::with_capacity(table.columns.len()),
        })
    }

    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// The tokenizer, for the next file.
    pub fn into_tokenizer(self) -> Tokenizer {
        Tokenizer(self.records.core)
    }

    pub fn rows_rejected(&self) -> u64 {
        self.rows_rejected
    }

    /// CRC-32 of the bytes read so far (the whole file once read to its end).
    pub fn content_hash(&self) -> u32 {
        self.records.hash.clone().finalize()
    }

    /// Reads data rows until `budget` is spent: good rows into `builder`,
    /// bad ones into `rejects`. Returns what was read; 0 rows means end of file.
    pub fn read_into(
        &mut self,
        builder: &mut BatchBuilder,
        rejects: &mut Vec<RejectedRow>,
        budget: ReadBudget,
        limits: &ParseLimits,
    ) -> Result<ReadBudget, FileProblem> {
        let table = Arc::clone(builder.table());
        let start_byte = self.records.byte;
        let mut read = 0;
        while read < budget.rows && self.records.byte - start_byte < budget.bytes {
            let next = self
                .records
                .next()
                .map_err(|error| FileProblem::Unreadable(error.to_string()))?;
            let mut values = recycle(std::mem::take(&mut self.values));
            // Err: the reason, and for an oversized record the bytes held of it.
            let outcome = match next {
                Next::End => break,
                Next::Record => parse_record(
                    &self.records,
                    &self.field_of_column,
                    &table,
                    limits,
                    &mut values,
                )
                .map_err(|reason| (reason, None)),
                Next::Oversized { held } => Err((
                    format!(
                        "the record is longer than max_record_bytes ({} bytes) or has more than \
                         {MAX_FIELDS} fields (an unclosed quote or a missing line break?); it was \
                         skipped through the end of its line and reading resumed on the next",
                        self.records.max_record_bytes
                    ),
                    Some(held),
                )),
            };
            read += 1;
            self.rows_read += 1;
            match outcome {
                Ok(()) => {
                    let seq = self.seq_base + self.rows_read as i64;
                    builder.push(&values, &self.name, seq);
                    self.values = recycle(values);
                }
                Err((reason, held)) => {
                    self.rows_rejected += 1;
                    let raw = match held {
                        Some(held) => lossy_truncated(
                            &self.records.fields[..held.min(self.records.fields.len())],
                            limits.max_raw_bytes,
                        ),
                        None => raw_text(&self.records, limits.max_raw_bytes),
                    };
                    rejects.push(RejectedRow {
                        file: self.name.clone(),
                        line: Some(self.records.line),
                        raw,
                        reason,
                    });
                }
            }
        }
        Ok(ReadBudget {
            rows: read,
            bytes: self.records.byte - start_byte,
        })
    }
}

/// An emptied vector of values of another lifetime, in the same allocation
/// (a row's values borrow its record, which the next row overwrites).
fn recycle<'a, 'b>(mut values: Vec<Value<'a>>) -> Vec<Value<'b>> {
    values.clear();
    values
        .into_iter()
        .map(|_| unreachable!("cleared"))
        .collect()
}

/// Rows and input bytes: a limit on one read, or what it consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBudget {
    pub rows: usize,
    pub bytes: u64,
}

fn parse_record<'a>(
    record: &'a Records,
    field_of_column: &[usize],
    table: &TableSchema,
    limits: &ParseLimits,
    values: &mut Vec<Value<'a>>,
) -> Result<(), String> {
    if record.len != field_of_column.len() {
        return Err(format!(
            "expected {} fields, found {}",
            field_of_column.len(),
            record.len
        ));
    }
    let text = record.text();
    for (column, &field) in table.columns.iter().zip(field_of_column) {
        let value = match text.and_then(|text| record.field_text(text, field)) {
            Some(text) => parse_text(text, column, limits)?,
            None => parse_field(record.field(field), column, limits)?,
        };
        values.push(value);
    }
    Ok(())
}

/// Maps the file's header to the schema: every column exactly once, in any order.
fn match_header(header: &Records, table: &TableSchema) -> Result<Vec<usize>, FileProblem> {
    let mut names = Vec::with_capacity(header.len);
    for (index, field) in header.iter().enumerate() {
        let field = if index == 0 {
            field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
        } else {
            field
        };
        let name = std::str::from_utf8(field).map_err(|_| FileProblem::HeaderNotUtf8)?;
        names.push(name.trim().to_ascii_lowercase());
    }
    let expected: Vec<String> = table
        .columns
        .iter()
        .map(|c| c.name.as_str().to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !names.contains(e))
        .map(String::as_str)
        .collect();
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| !expected.contains(n))
        .map(String::as_str)
        .collect();
    let repeated = names.len() != expected.len() && missing.is_empty() && unknown.is_empty();
    if missing.is_empty() && unknown.is_empty() && !repeated {
        return Ok(expected
            .iter()
            .map(|e| names.iter().position(|n| n == e).expect("checked: present"))
            .collect());
    }
    let mut detail = String::new();
    if !missing.is_empty() {
        detail.push_str(&format!("; missing: {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        detail.push_str(&format!("; unknown: {}", unknown.join(", ")));
    }
    if repeated {
        detail.push_str("; a column appears twice");
    }
    Err(FileProblem::WrongHeader {
        found: shorten(&names.join(",")).to_string(),
        expected: expected.join(","),
        detail,
    })
}

/// The record as CSV text (re-quoted where needed), lossy UTF-8, truncated.
fn raw_text(record: &Records, limit: usize) -> String {
    let mut out = Vec::with_capacity(128);
    {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        let _ = writer.write_record(record.iter());
        let _ = writer.flush();
    }
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    lossy_truncated(&out, limit)
}

/// Bytes as text for PostgreSQL: lossy UTF-8, NUL shown as `\0`, at most
/// `limit` bytes (then `…`).
fn lossy_truncated(bytes: &[u8], limit: usize) -> String {
    let bytes = &bytes[..bytes.len().min(limit.saturating_add(4))];
    let mut text = String::from_utf8_lossy(bytes).replace('\0', "\\0");
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::{Decimal128Type, Int32Type, TimestampMicrosecondType};
    use arrow::record_batch::RecordBatch;

    fn parse_file(content: &[u8]) -> Result<(RecordBatch, Vec<RejectedRow>), FileProblem> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, content).unwrap();
        let table = Arc::new(TableSchema::events());
        let mut reader = FileReader::open(
            &path,
            "f.csv",
            0,
            &table,
            &ParseLimits::default(),
            Tokenizer::default(),
        )?;
        let mut builder = BatchBuilder::new(table);
        let mut rejects = Vec::new();
        let budget = ReadBudget { rows: 2, bytes: 64 };
        while reader
            .read_into(&mut builder, &mut rejects, budget, &ParseLimits::default())?
            .rows
            > 0
        {}
        Ok((builder.finish(), rejects))
    }

    const HEADER: &str =
        "event_id,event_type,user_id,product_id,category,price,quantity,event_time";

    #[test]
    fn parses_good_rows_with_bom_crlf_quotes_and_no_final_newline() {
        let content = format!(
            "\u{feff}{HEADER}\r\na,view,1,2,\"Home, Garden\",12.5,3,2026-11-22T10:00:00.123456Z\r\nb,buy,1,2,\"multi\nline\",0.99,1,2026-11-22T12:00:00+02:00"
        );
        let (batch, rejects) = parse_file(content.as_bytes()).unwrap();
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(4).as_string::<i32>().value(0), "Home, Garden");
        assert_eq!(batch.column(4).as_string::<i32>().value(1), "multi\nline");
        assert_eq!(
            batch.column(5).as_primitive::<Decimal128Type>().value(0),
            1250
        );
        assert_eq!(batch.column(6).as_primitive::<Int32Type>().value(1), 1);
        let times = batch.column(7).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(times.value(0), 1_795_341_600_123_456);
        assert_eq!(times.value(1), 1_795_341_600_000_000);
    }

    #[test]
    fn rejects_bad_rows_with_line_and_reason_and_keeps_the_rest() {
        let content = format!(
            "{HEADER}\n\
             ok1,view,1,2,,1.00,1,2026-11-22T10:00:00Z\n\
             bad1,view,abc,2,,1.00,1,2026-11-22T10:00:00Z\n\
             bad2,view,1,2,,1.001,1,2026-11-22T10:00:00Z\n\
             bad3,view,1,2,,1.00,1,2026-11-22 10:00:00\n\
             bad4,view,1,2,,1.00,99999999999,2026-11-22T10:00:00Z\n\
             bad5,view,1,2,,1.00,1\n\
             bad6,view,,2,,1.00,1,2026-11-22T10:00:00Z\n\
             ok2,view,1,2,x,-3,1,2026-11-22T10:00:00Z\n"
        );
        let (batch, rejects) = parse_file(content.as_bytes()).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let lines: Vec<u64> = rejects.iter().filter_map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
        assert_eq!(
            rejects[0].reason,
            "column `user_id`: `abc` is not an integer"
        );
        assert_eq!(
            rejects[1].reason,
            "column `price`: `1.001` has more than 2 decimal places"
        );
        assert!(rejects[2]
            .reason
            .starts_with("column `event_time`: `2026-11-22 10:00:00` is not an RFC 3339"));
        assert_eq!(
            rejects[3].reason,
            "column `quantity`: `99999999999` is out of range for integer"
        );
        assert_eq!(rejects[4].reason, "expected 8 fields, found 7");
        assert_eq!(
            rejects[5].reason,
            "column `user_id`: empty, but a value is required"
        );
        assert_eq!(
            rejects[1].raw,
            "bad2,view,1,2,,1.001,1,2026-11-22T10:00:00Z"
        );
        assert_eq!(
            batch.column(5).as_primitive::<Decimal128Type>().value(1),
            -300
        );
        assert!(batch.column(4).is_null(0));
    }

    #[test]
    fn rejects_nul_bytes_invalid_utf8_and_overlong_fields() {
        let mut content = format!("{HEADER}\n").into_bytes();
        content.extend_from_slice(b"a,vi\0ew,1,2,,1.00,1,2026-11-22T10:00:00Z\n");
        content.extend_from_slice(b"b,vi\xffew,1,2,,1.00,1,2026-11-22T10:00:00Z\n");
        content.extend_from_slice(
            format!(
                "c,{},1,2,,1.00,1,2026-11-22T10:00:00Z\n",
                "x".repeat(70_000)
            )
            .as_bytes(),
        );
        let (batch, rejects) = parse_file(&content).unwrap();
        assert_eq!(batch.num_rows(), 0);
        assert!(rejects[0].reason.contains("NUL byte"));
        assert!(rejects[1].reason.contains("invalid UTF-8"));
        assert!(rejects[2].reason.contains("over the limit"));
        assert!(rejects[2].raw.len() <= 4 * 1024 + '…'.len_utf8());
    }

    /// The record is checked as a whole first: a character split by a
    /// delimiter is whole in csv-core's joined fields (the quoted line), but
    /// neither field is UTF-8; a plain line is checked with its commas.
    #[test]
    fn rejects_a_character_split_across_two_fields() {
        let mut content = format!("{HEADER}\n").into_bytes();
        content.extend_from_slice(b"a,view\xc3,\xa91,2,,1.00,1,2026-11-22T10:00:00Z\n");
        content.extend_from_slice(b"\"q\",view\xc3,\xa91,2,,1.00,1,2026-11-22T10:00:00Z\n");
        content.extend_from_slice(b"b,vi\xc3\xa9w, 1 ,2,,1.00,1,2026-11-22T10:00:00Z\n");
        let (batch, rejects) = parse_file(&content).unwrap();
        assert_eq!(rejects.len(), 2);
        for (reject, line) in rejects.iter().zip([2, 3]) {
            assert_eq!(reject.line, Some(line));
            assert!(
                reject
                    .reason
                    .contains("column `event_type`: invalid UTF-8 at byte 4"),
                "{}",
                reject.reason
            );
        }
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "vi\u{e9}w");
    }

    #[test]
    fn quarantines_files_that_cannot_be_read() {
        assert_eq!(parse_file(b"").unwrap_err(), FileProblem::Empty);
        assert!(matches!(
            parse_file(b"id,name\n1,2\n").unwrap_err(),
            FileProblem::WrongHeader { .. }
        ));
        assert_eq!(
            parse_file(b"\xff\xfe,x\n").unwrap_err(),
            FileProblem::HeaderNotUtf8
        );
        let (batch, rejects) = parse_file(format!("{HEADER}\n").as_bytes()).unwrap();
        assert_eq!((batch.num_rows(), rejects.len()), (0, 0));
    }

    #[test]
    fn accepts_reordered_header_columns() {
        let content = "event_time,event_id,event_type,user_id,product_id,category,price,quantity\n\
                       2026-11-22T10:00:00Z,a,view,1,2,,1.00,1\n";
        let (batch, rejects) = parse_file(content.as_bytes()).unwrap();
        assert!(rejects.is_empty());
        assert_eq!(batch.column(0).as_string::<i32>().value(0), "a");
    }
}

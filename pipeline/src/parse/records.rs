//! CSV records of bounded size over csv-core.

use std::fs::File;
use std::io::{BufRead, BufReader};

use super::MAX_FIELDS;

/// CSV records of bounded size: csv-core tokenises into buffers that grow
/// only up to `max_record_bytes` (and [`MAX_FIELDS`] field ends), so one
/// record can never take more memory than that (the `csv` crate's reader
/// grows its record without limit: a 600 MB line would take 600 MB).
pub(super) struct Records {
    pub(super) input: BufReader<File>,
    pub(super) core: csv_core::Reader,
    /// The current record's fields, back to back, and where each ends.
    pub(super) fields: Vec<u8>,
    pub(super) ends: Vec<usize>,
    /// Fields in the current record.
    pub(super) len: usize,
    /// Line on which the current record starts (1-based).
    pub(super) line: u64,
    /// Bytes consumed from the file.
    pub(super) byte: u64,
    pub(super) max_record_bytes: usize,
    pub(super) done: bool,
    /// CRC-32 of every byte consumed.
    pub(super) hash: crc32fast::Hasher,
}

/// What [`Records::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    Record,
    /// A record over the limits, skipped through the end of its line:
    /// `held` bytes of it are in `fields` (for the reject's raw text).
    Oversized {
        held: usize,
    },
    End,
}

impl Records {
    pub(super) fn new(file: File, max_record_bytes: usize) -> Self {
        Self {
            input: BufReader::with_capacity(256 * 1024, file),
            core: csv_core::Reader::new(),
            fields: vec![0; 4096.min(max_record_bytes.max(1))],
            ends: vec![0; 64],
            len: 0,
            line: 1,
            byte: 0,
            max_record_bytes: max_record_bytes.max(1),
            done: false,
            hash: crc32fast::Hasher::new(),
        }
    }

    /// Where field `index` lies in `fields`.
    fn span(&self, index: usize) -> std::ops::Range<usize> {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        start..self.ends[index]
    }

    pub(super) fn field(&self, index: usize) -> &[u8] {
        &self.fields[self.span(index)]
    }

    /// The record's fields back to back as text, when they are all UTF-8
    /// without NUL: one check per record instead of one per field.
    pub(super) fn text(&self) -> Option<&str> {
        let bytes = match self.len {
            0 => &[][..],
            len => &self.fields[..self.span(len - 1).end],
        };
        if bytes.contains(&0) {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }

    /// Field `index` of [`Records::text`]; `None` when a multi-byte
    /// character straddles its bounds (each field alone is then not UTF-8).
    pub(super) fn field_text<'a>(&self, text: &'a str, index: usize) -> Option<&'a str> {
        text.get(self.span(index))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len).map(|index| self.field(index))
    }

    pub(super) fn next(&mut self) -> std::io::Result<Next> {
        use csv_core::ReadRecordResult;
        if self.done {
            return Ok(Next::End);
        }
        self.line = self.core.line();
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            let input = self.input.fill_buf()?;
            let (result, read, written, ended) = self.core.read_record(
                input,
                &mut self.fields[out_len..],
                &mut self.ends[ends_len..],
            );
            self.hash.update(&input[..read]);
            self.input.consume(read);
            self.byte += read as u64;
            out_len += written;
            ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.fields.len() >= self.max_record_bytes {
                        return self.skip_line(out_len);
                    }
                    let grown = (self.fields.len() * 2).min(self.max_record_bytes);
                    self.fields.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= MAX_FIELDS {
                        return self.skip_line(out_len);
                    }
                    let grown = (self.ends.len() * 2).min(MAX_FIELDS);
                    self.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    self.len = ends_len;
                    return Ok(Next::Record);
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(Next::End);
                }
            }
        }
    }

    /// Discards input through the next line break (whatever the quoting:
    /// an unclosed quote must not swallow the rest of the file), then
    /// starts a fresh record there.
    pub(super) fn skip_line(&mut self, held: usize) -> std::io::Result<Next> {
        let mut line = self.core.line();
        loop {
            let input = self.input.fill_buf()?;
            if input.is_empty() {
                self.done = true;
                break;
            }
            match input.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.hash.update(&input[..=at]);
                    self.input.consume(at + 1);
                    self.byte += at as u64 + 1;
                    line += 1;
                    break;
                }
                None => {
                    let read = input.len();
                    self.hash.update(input);
                    self.input.consume(read);
                    self.byte += read as u64;
                }
            }
        }
        self.core.reset();
        self.core.set_line(line);
        Ok(Next::Oversized { held })
    }
}

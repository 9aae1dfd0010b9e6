//! CSV records of bounded size over csv-core.

use std::fs::File;
use std::io::{BufRead, BufReader};

use super::MAX_FIELDS;

/// csv-core's reader, passed from one file to the next: building its tables
/// per file took 1.6 % of an ingest's CPU. (It cannot be cloned from a
/// prebuilt one instead: csv-core 0.1's `Clone` copies only part of the
/// tables, and a clone reads every record as one empty field.)
pub struct Tokenizer(pub(super) csv_core::Reader);

impl Default for Tokenizer {
    /// A reader with its tables built (csv-core's own `Default` leaves them
    /// empty).
    fn default() -> Self {
        Self(csv_core::Reader::new())
    }
}

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
    /// The fields are the line as read, one comma between each two (a
    /// plain line, copied whole), rather than csv-core's output.
    separated: bool,
    /// Fields in the current record.
    pub(super) len: usize,
    /// Line on which the current record starts (1-based).
    pub(super) line: u64,
    /// Bytes consumed from the file.
    pub(super) byte: u64,
    pub(super) max_record_bytes: usize,
    pub(super) done: bool,
    /// csv-core has read since its last reset: a byte-order mark is behind
    /// it, so a plain line may be split without it ([`Records::plain_line`]).
    core_has_read: bool,
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
    /// Records of `file`, tokenised by `core` (a reader kept from the file
    /// before: [`Tokenizer`]), reset here.
    pub(super) fn new(file: File, max_record_bytes: usize, core: csv_core::Reader) -> Self {
        Self::with_buffer(file, max_record_bytes, 256 * 1024, core)
    }

    fn with_buffer(
        file: File,
        max_record_bytes: usize,
        buffer_bytes: usize,
        mut core: csv_core::Reader,
    ) -> Self {
        core.reset();
        Self {
            input: BufReader::with_capacity(buffer_bytes, file),
            core,
            fields: vec![0; 4096.min(max_record_bytes.max(1))],
            ends: vec![0; 64],
            len: 0,
            separated: false,
            line: 1,
            byte: 0,
            max_record_bytes: max_record_bytes.max(1),
            done: false,
            core_has_read: false,
            hash: crc32fast::Hasher::new(),
        }
    }

    /// Where field `index` lies in `fields`.
    fn span(&self, index: usize) -> std::ops::Range<usize> {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1] + usize::from(self.separated),
        };
        start..self.ends[index]
    }

    pub(super) fn field(&self, index: usize) -> &[u8] {
        &self.fields[self.span(index)]
    }

    /// The record's fields back to back (or the plain line they came from)
    /// as text, when all of it is UTF-8 without NUL: one check per record
    /// instead of one per field.
    pub(super) fn text(&self) -> Option<&str> {
        let bytes = match self.len {
            0 => &[][..],
            len => &self.fields[..self.span(len - 1).end],
        };
        if memchr::memchr(0, bytes).is_some() {
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
        if self.plain_line()? {
            return Ok(Next::Record);
        }
        self.core_has_read = true;
        self.separated = false;
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

    /// Reads the next record when it is a whole buffered line with neither
    /// quote nor carriage return, and fits the buffers as they are: csv-core
    /// would split it at its commas and nowhere else, so it is split here
    /// with `memchr` (csv-core's byte-by-byte state machine took 11 % of
    /// an ingest's CPU). Anything else (quotes, CRLF, empty lines, a line
    /// across the buffer's end, the first record of a file or after a
    /// skipped one) is left to csv-core. Returns whether a record was read.
    fn plain_line(&mut self) -> std::io::Result<bool> {
        if !self.core_has_read {
            return Ok(false);
        }
        let input = self.input.fill_buf()?;
        let Some(end) = memchr::memchr(b'\n', input) else {
            return Ok(false);
        };
        let line = &input[..end];
        if line.is_empty() || line.len() > self.fields.len() {
            return Ok(false);
        }
        // One scan for the commas and for what makes a line not plain.
        let mut fields = 0;
        for end in memchr::memchr3_iter(b',', b'"', b'\r', line).chain([line.len()]) {
            if fields == self.ends.len() || line.get(end).is_some_and(|&byte| byte != b',') {
                return Ok(false);
            }
            self.ends[fields] = end;
            fields += 1;
        }
        self.fields[..line.len()].copy_from_slice(line);
        self.separated = true;
        self.hash.update(&input[..=end]);
        self.input.consume(end + 1);
        self.byte += end as u64 + 1;
        self.core.set_line(self.line + 1);
        self.len = fields;
        Ok(true)
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
        self.core_has_read = false;
        Ok(Next::Oversized { held })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// A record as (line it starts on, fields).
    type Record = (u64, Vec<Vec<u8>>);

    /// The model: csv-core alone over the whole input at once.
    fn csv_core_records(input: &[u8]) -> Vec<Record> {
        let mut core = csv_core::Reader::new();
        let (mut output, mut ends) = (vec![0; input.len() + 1], vec![0; input.len() + 2]);
        let (mut records, mut rest) = (Vec::new(), input);
        let mut line = core.line();
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            let (result, read, written, ended) =
                core.read_record(rest, &mut output[out_len..], &mut ends[ends_len..]);
            rest = &rest[read..];
            out_len += written;
            ends_len += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::Record => {
                    let mut start = 0;
                    let fields = ends[..ends_len]
                        .iter()
                        .map(|&end| {
                            let field = output[start..end].to_vec();
                            start = end;
                            field
                        })
                        .collect();
                    records.push((line, fields));
                    line = core.line();
                    (out_len, ends_len) = (0, 0);
                }
                csv_core::ReadRecordResult::End => return records,
                full => unreachable!("buffers as large as the input: {full:?}"),
            }
        }
    }

    /// The records of `input`, its bytes consumed and their CRC-32, read
    /// by `core` (left with the next input's reader).
    fn read_all(
        input: &[u8],
        buffer_bytes: usize,
        core: &mut csv_core::Reader,
    ) -> (Vec<Record>, u64, u32) {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(input).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let used = std::mem::take(core);
        let mut records = Records::with_buffer(file, 1 << 20, buffer_bytes, used);
        let mut found = Vec::new();
        while records.next().unwrap() == Next::Record {
            found.push((records.line, records.iter().map(<[u8]>::to_vec).collect()));
        }
        *core = records.core;
        (found, records.byte, records.hash.finalize())
    }

    /// Lines of commas, spaces, NUL and the bytes of a BOM, some with
    /// quotes and CR too; now and then a long one (over the first field
    /// buffer) or one of many fields. Returns the input and how many of its
    /// lines have neither quote nor CR.
    fn random_csv(rng: &mut SmallRng) -> (Vec<u8>, usize) {
        const PLAIN: &[u8] = b"ab,, \0\xEF\xBB\xBF";
        const TRICKY: &[u8] = b"ab,\"\"\r\r\n ";
        let mut input = Vec::new();
        if rng.random_bool(0.2) {
            input.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let mut plain = 0;
        for _ in 0..rng.random_range(0..30) {
            let bytes = if rng.random_bool(0.3) { TRICKY } else { PLAIN };
            plain += usize::from(bytes == PLAIN);
            let len = match rng.random_range(0..100) {
                0 => rng.random_range(4000..6000),
                _ => rng.random_range(0..40),
            };
            input.extend((0..len).map(|_| bytes[rng.random_range(0..bytes.len())]));
            input.push(b'\n');
        }
        if rng.random_bool(0.3) {
            input.pop();
        }
        (input, plain)
    }

    #[test]
    fn plain_lines_split_as_csv_core_splits_them() {
        let mut rng = SmallRng::seed_from_u64(17);
        let mut plain = 0;
        // One reader for every input, as from file to file: each input
        // starts where the one before left it (inside a quote, a CR, …).
        let mut core = csv_core::Reader::new();
        for _ in 0..3000 {
            let (input, plain_lines) = random_csv(&mut rng);
            let buffer_bytes = rng.random_range(8..128);
            let (found, bytes, hash) = read_all(&input, buffer_bytes, &mut core);
            assert_eq!(found, csv_core_records(&input), "input {input:?}");
            assert_eq!(bytes, input.len() as u64);
            assert_eq!(hash, crc32fast::hash(&input));
            plain += plain_lines;
        }
        assert!(plain > 30_000, "too few plain lines: {plain}");
    }

    #[test]
    fn plain_lines_keep_their_line_numbers_and_empty_fields() {
        let input = b"event_id,value\n1,a b\n2,\n3,x\n";
        let (found, ..) = read_all(input, 1 << 10, &mut csv_core::Reader::new());
        let fields = |a: &[u8], b: &[u8]| vec![a.to_vec(), b.to_vec()];
        assert_eq!(
            found,
            vec![
                (1, fields(b"event_id", b"value")),
                (2, fields(b"1", b"a b")),
                (3, fields(b"2", b"")),
                (4, fields(b"3", b"x")),
            ]
        );
    }
}

//! Event model: the CSV columns, random event fields, fast row formatting,
//! malformed ("bad") rows and exact duplicates of earlier rows.
//!
//! Everything here is pure and deterministic: given the same seed, the same
//! configuration and the same `event_time` text, [`FileBuilder::build_file`]
//! produces byte-identical output. The wall clock only enters through the
//! `event_time` argument, which the caller formats once per file with
//! [`format_event_time`].

use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The header line of every generated file (without the line ending).
pub const HEADER: &str =
    "event_id,event_type,user_id,product_id,category,price,quantity,event_time";

/// The column names, in file order.
pub const COLUMNS: [&str; 8] = [
    "event_id",
    "event_type",
    "user_id",
    "product_id",
    "category",
    "price",
    "quantity",
    "event_time",
];

/// Largest generated `user_id` (the smallest is 1).
pub const MAX_USER_ID: i64 = 100_000;
/// Largest generated `product_id` (the smallest is 1).
pub const MAX_PRODUCT_ID: i64 = 20_000;
/// Smallest generated price, in cents (0.50).
pub const MIN_PRICE_CENTS: u32 = 50;
/// Largest generated price, in cents (999.99).
pub const MAX_PRICE_CENTS: u32 = 99_999;
/// Largest generated quantity (the smallest is 1).
pub const MAX_QUANTITY: i32 = 10;

/// Non-empty categories. `Home, Garden` contains a comma so that RFC 4180
/// quoting is exercised by every reader; about 5 % of rows have an empty
/// category instead.
pub const CATEGORIES: [&str; 10] = [
    "Electronics",
    "Books",
    "Clothing",
    "Home, Garden",
    "Sports",
    "Toys",
    "Beauty",
    "Grocery",
    "Automotive",
    "Health",
];

/// Number of earlier valid rows kept as duplicate sources.
pub const DUP_RING_CAPACITY: usize = 4096;

/// Kind of user interaction an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    PageView,
    AddToCart,
    RemoveFromCart,
    Purchase,
    Wishlist,
}

impl EventType {
    /// All event types, most common first.
    pub const ALL: [EventType; 5] = [
        EventType::PageView,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::Purchase,
        EventType::Wishlist,
    ];

    /// Relative weight (percent) of each type in [`EventType::ALL`] order.
    pub const WEIGHTS: [u32; 5] = [60, 15, 5, 10, 10];

    /// The text written to the `event_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::Purchase => "purchase",
            EventType::Wishlist => "wishlist",
        }
    }

    /// Parses the `event_type` column text.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Maps a percentile in `0..100` to a type using [`EventType::WEIGHTS`].
    fn from_percent(p: u32) -> EventType {
        let mut acc = 0;
        for (t, w) in EventType::ALL.into_iter().zip(EventType::WEIGHTS) {
            acc += w;
            if p < acc {
                return t;
            }
        }
        EventType::PageView
    }
}

/// The ways a bad row is malformed. Bad rows rotate through these kinds in
/// [`BadKind::ALL`] order over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadKind {
    /// `quantity` is `abc`.
    NonNumericQuantity,
    /// The `category` field is missing: the row has 7 fields instead of 8.
    MissingField,
    /// `event_time` is `not-a-time`.
    BadEventTime,
    /// `price` is `12.x4`.
    PriceWithLetters,
    /// `user_id` is `99999999999999999999`, beyond the 64-bit range.
    UserIdOutOfRange,
    /// `user_id` is empty although it is required.
    EmptyUserId,
}

impl BadKind {
    /// All kinds, in rotation order.
    pub const ALL: [BadKind; 6] = [
        BadKind::NonNumericQuantity,
        BadKind::MissingField,
        BadKind::BadEventTime,
        BadKind::PriceWithLetters,
        BadKind::UserIdOutOfRange,
        BadKind::EmptyUserId,
    ];

    /// The `n`-th kind of the rotation.
    pub fn nth(n: u64) -> BadKind {
        BadKind::ALL[(n % BadKind::ALL.len() as u64) as usize]
    }

    /// A short description, for logs and tests.
    pub fn describe(self) -> &'static str {
        match self {
            BadKind::NonNumericQuantity => "non-numeric quantity",
            BadKind::MissingField => "one field missing",
            BadKind::BadEventTime => "unparseable event_time",
            BadKind::PriceWithLetters => "price with letters",
            BadKind::UserIdOutOfRange => "user_id out of 64-bit range",
            BadKind::EmptyUserId => "empty user_id",
        }
    }
}

/// The random columns of one event (everything except `event_id` and
/// `event_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFields {
    pub event_type: EventType,
    pub user_id: i64,
    pub product_id: i64,
    /// One of [`CATEGORIES`] or the empty string.
    pub category: &'static str,
    pub price_cents: u32,
    pub quantity: i32,
}

impl EventFields {
    /// Draws the fields from `rng` (always the same number of draws).
    pub fn random(rng: &mut SmallRng) -> EventFields {
        let event_type = EventType::from_percent(rng.random_range(0..100u32));
        let user_id = rng.random_range(1..=MAX_USER_ID);
        let product_id = rng.random_range(1..=MAX_PRODUCT_ID);
        // 200 slots: 10 (5 %) empty, 190 spread evenly over the categories.
        let c = rng.random_range(0..200u32) as usize;
        let category = if c < 10 {
            ""
        } else {
            CATEGORIES[c % CATEGORIES.len()]
        };
        let price_cents = rng.random_range(MIN_PRICE_CENTS..=MAX_PRICE_CENTS);
        let quantity = rng.random_range(1..=MAX_QUANTITY);
        EventFields {
            event_type,
            user_id,
            product_id,
            category,
            price_cents,
            quantity,
        }
    }
}

/// Formats an event time as RFC 3339 UTC with exactly six fractional digits
/// and a `Z` suffix, e.g. `2026-11-22T10:00:00.123456Z`.
pub fn format_event_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Appends the decimal digits of `n`.
#[inline]
pub fn push_u64(buf: &mut Vec<u8>, n: u64) {
    push_u64_padded(buf, n, 0);
}

/// `00`, `01`, … `99`: two digits per division in [`push_u64_padded`],
/// which formats five integers of every row.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal digits of `n`, left-padded with zeros to `width`.
#[inline]
pub fn push_u64_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        tmp[i] = b'0' + n as u8;
    }
    let digits = tmp.len() - i;
    for _ in digits..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends a price in cents as a decimal with exactly two places (`123.45`).
#[inline]
pub fn push_price(buf: &mut Vec<u8>, cents: u32) {
    push_u64(buf, u64::from(cents / 100));
    buf.push(b'.');
    push_u64_padded(buf, u64::from(cents % 100), 2);
}

/// Whether a field needs RFC 4180 quoting (contains a comma, a double quote,
/// a carriage return or a line feed).
#[inline]
pub fn needs_quoting(field: &str) -> bool {
    field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// Appends one field with RFC 4180 quoting: quoted only when needed, inner
/// double quotes doubled.
#[inline]
pub fn push_csv_field(buf: &mut Vec<u8>, field: &str) {
    if !needs_quoting(field) {
        buf.extend_from_slice(field.as_bytes());
        return;
    }
    buf.push(b'"');
    for &b in field.as_bytes() {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

/// Appends the event id `{id_prefix}{seq:06}-{row:05}`.
#[inline]
pub fn push_event_id(buf: &mut Vec<u8>, id_prefix: &str, seq: u64, row: u64) {
    buf.extend_from_slice(id_prefix.as_bytes());
    push_u64_padded(buf, seq, 6);
    buf.push(b'-');
    push_u64_padded(buf, row, 5);
}

/// The event id of row `row` (from 1) of file `seq`, as [`push_event_id`]
/// writes it.
pub fn event_id(id_prefix: &str, seq: u64, row: u64) -> String {
    let mut buf = Vec::with_capacity(id_prefix.len() + 16);
    push_event_id(&mut buf, id_prefix, seq, row);
    String::from_utf8(buf).expect("ASCII digits appended to a str")
}

/// Appends one complete row (with its `\n`). With `bad = Some(kind)` the row
/// is malformed as `kind` says and its event id gets a `-bad` suffix so it
/// can never collide with a valid id.
///
/// `id_prefix` is written verbatim: it must not need CSV quoting
/// ([`crate::GeneratorConfig::validate`] checks this).
pub fn write_row(
    buf: &mut Vec<u8>,
    id_prefix: &str,
    seq: u64,
    row: u64,
    fields: &EventFields,
    event_time: &str,
    bad: Option<BadKind>,
) {
    let mut time_field = Vec::with_capacity(event_time.len() + 2);
    push_csv_field(&mut time_field, event_time);
    write_row_with_time_field(buf, id_prefix, seq, row, fields, &time_field, bad);
}

/// [`write_row`] with the `event_time` field already CSV-quoted: a file
/// shares one event time, so [`FileBuilder`] quotes it once instead of
/// scanning it on every row.
fn write_row_with_time_field(
    buf: &mut Vec<u8>,
    id_prefix: &str,
    seq: u64,
    row: u64,
    fields: &EventFields,
    time_field: &[u8],
    bad: Option<BadKind>,
) {
    push_event_id(buf, id_prefix, seq, row);
    if bad.is_some() {
        buf.extend_from_slice(b"-bad");
    }
    buf.push(b',');
    buf.extend_from_slice(fields.event_type.as_str().as_bytes());
    buf.push(b',');
    match bad {
        Some(BadKind::UserIdOutOfRange) => buf.extend_from_slice(b"99999999999999999999"),
        Some(BadKind::EmptyUserId) => {}
        _ => push_u64(buf, fields.user_id as u64),
    }
    buf.push(b',');
    push_u64(buf, fields.product_id as u64);
    if bad != Some(BadKind::MissingField) {
        buf.push(b',');
        push_csv_field(buf, fields.category);
    }
    buf.push(b',');
    if bad == Some(BadKind::PriceWithLetters) {
        buf.extend_from_slice(b"12.x4");
    } else {
        push_price(buf, fields.price_cents);
    }
    buf.push(b',');
    if bad == Some(BadKind::NonNumericQuantity) {
        buf.extend_from_slice(b"abc");
    } else {
        push_u64(buf, fields.quantity as u64);
    }
    buf.push(b',');
    if bad == Some(BadKind::BadEventTime) {
        buf.extend_from_slice(b"not-a-time");
    } else {
        buf.extend_from_slice(time_field);
    }
    buf.push(b'\n');
}

/// Row counts of one built file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStats {
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that exactly repeat a valid row of an earlier file.
    pub dup_rows: u64,
    /// Malformed rows.
    pub bad_rows: u64,
}

impl FileStats {
    /// Rows a correct pipeline must add to the target: `rows - dup - bad`.
    pub fn expected_rows(&self) -> u64 {
        self.rows
            .saturating_sub(self.dup_rows)
            .saturating_sub(self.bad_rows)
    }
}

/// A bounded ring of the last valid, original rows of earlier files.
#[derive(Debug)]
struct DupRing {
    rows: Vec<Vec<u8>>,
    /// Sequence number of the file that last used each slot as a duplicate.
    used_by: Vec<u64>,
    next: usize,
    capacity: usize,
}

impl DupRing {
    fn new(capacity: usize) -> DupRing {
        DupRing {
            rows: Vec::new(),
            used_by: Vec::new(),
            next: 0,
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn push(&mut self, row: &[u8]) {
        if self.capacity == 0 {
            return;
        }
        if self.rows.len() < self.capacity {
            self.rows.push(row.to_vec());
            self.used_by.push(0);
        } else {
            let slot = &mut self.rows[self.next];
            slot.clear();
            slot.extend_from_slice(row);
            self.used_by[self.next] = 0;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// Takes the first slot at or after `start` not yet used by file `seq`.
    fn take_unused(&mut self, start: usize, seq: u64) -> Option<&[u8]> {
        let n = self.rows.len();
        let slot = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| self.used_by[i] != seq)?;
        self.used_by[slot] = seq;
        Some(&self.rows[slot])
    }
}

/// Builds whole files, deterministically from a seed.
///
/// Holds the random generator, the ring of earlier valid rows that
/// duplicates are copied from, and the bad-row rotation counter, so files
/// must be built in sequence order with one builder per run and source.
#[derive(Debug)]
pub struct FileBuilder {
    rng: SmallRng,
    id_prefix: String,
    rows_min: u32,
    rows_max: u32,
    dup_rate: f64,
    bad_rate: f64,
    ring: DupRing,
    bad_counter: u64,
    /// Byte ranges in the current buffer of the valid original rows.
    valid_spans: Vec<(usize, usize)>,
}

impl FileBuilder {
    /// A builder for rows-per-file uniform in `[rows_min, rows_max]`.
    /// `dup_rate` and `bad_rate` are fractions of rows (see
    /// [`crate::GeneratorConfig`]).
    pub fn new(
        seed: u64,
        id_prefix: &str,
        rows_min: u32,
        rows_max: u32,
        dup_rate: f64,
        bad_rate: f64,
    ) -> FileBuilder {
        FileBuilder {
            rng: SmallRng::seed_from_u64(seed),
            id_prefix: id_prefix.to_owned(),
            rows_min: rows_min.min(rows_max),
            rows_max,
            dup_rate,
            bad_rate,
            ring: DupRing::new(DUP_RING_CAPACITY),
            bad_counter: 0,
            valid_spans: Vec::new(),
        }
    }

    /// The builder of source `source` (from 1) of a (validated) generator
    /// configuration: that source's own random stream and event-id prefix
    /// ([`crate::GeneratorConfig::source_seed`],
    /// [`crate::GeneratorConfig::source_id_prefix`]).
    pub fn from_config(config: &crate::GeneratorConfig, source: u32) -> FileBuilder {
        FileBuilder::new(
            config.source_seed(source),
            &config.source_id_prefix(source),
            config.rows_min,
            config.rows_max,
            config.dup_rate,
            config.bad_rate,
        )
    }

    /// Builds file `seq` (from 1) into `buf` (cleared first): the header and
    /// a random number of rows, all valid rows stamped with `event_time`.
    /// Afterwards, the file's valid original rows become duplicate sources
    /// for later files.
    pub fn build_file(&mut self, seq: u64, event_time: &str, buf: &mut Vec<u8>) -> FileStats {
        let rows = self.rng.random_range(self.rows_min..=self.rows_max);
        self.build_file_with_rows(seq, u64::from(rows), event_time, buf)
    }

    /// Like [`FileBuilder::build_file`] with exactly `rows` data rows, for a
    /// rate profile that decides the size of each file. Draws nothing for
    /// the row count, so `rows_min` and `rows_max` play no part.
    pub fn build_file_with_rows(
        &mut self,
        seq: u64,
        rows: u64,
        event_time: &str,
        buf: &mut Vec<u8>,
    ) -> FileStats {
        buf.clear();
        self.valid_spans.clear();
        buf.extend_from_slice(HEADER.as_bytes());
        buf.push(b'\n');

        let mut stats = FileStats {
            rows,
            ..FileStats::default()
        };
        let mut time_field = Vec::with_capacity(event_time.len() + 2);
        push_csv_field(&mut time_field, event_time);
        let bad_limit = self.bad_rate;
        let dup_limit = self.bad_rate + self.dup_rate;

        for row in 1..=rows {
            let r: f64 = self.rng.random();
            if r < bad_limit {
                let kind = BadKind::nth(self.bad_counter);
                self.bad_counter += 1;
                let fields = EventFields::random(&mut self.rng);
                write_row_with_time_field(
                    buf,
                    &self.id_prefix,
                    seq,
                    row,
                    &fields,
                    &time_field,
                    Some(kind),
                );
                stats.bad_rows += 1;
                continue;
            }
            if r < dup_limit && self.ring.len() > 0 {
                let start = self.rng.random_range(0..self.ring.len());
                if let Some(src) = self.ring.take_unused(start, seq) {
                    buf.extend_from_slice(src);
                    stats.dup_rows += 1;
                    continue;
                }
            }
            let fields = EventFields::random(&mut self.rng);
            let begin = buf.len();
            write_row_with_time_field(buf, &self.id_prefix, seq, row, &fields, &time_field, None);
            self.valid_spans.push((begin, buf.len()));
        }

        let keep = self.valid_spans.len().min(self.ring.capacity);
        for &(a, b) in &self.valid_spans[self.valid_spans.len() - keep..] {
            self.ring.push(&buf[a..b]);
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(buf: &[u8]) -> &str {
        std::str::from_utf8(buf).unwrap()
    }

    #[test]
    fn integers_and_padding() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        b.push(b' ');
        push_u64(&mut b, u64::MAX);
        b.push(b' ');
        push_u64_padded(&mut b, 42, 6);
        b.push(b' ');
        push_u64_padded(&mut b, 1_234_567, 6);
        b.push(b' ');
        push_u64_padded(&mut b, 7, 2);
        b.push(b' ');
        push_u64_padded(&mut b, 10, 0);
        b.push(b' ');
        push_u64_padded(&mut b, 909, 5);
        assert_eq!(s(&b), "0 18446744073709551615 000042 1234567 07 10 00909");
        for n in (0..100_000).step_by(7) {
            let mut b = Vec::new();
            push_u64(&mut b, n);
            assert_eq!(s(&b), n.to_string());
        }
    }

    #[test]
    fn prices_have_two_places() {
        for (cents, text) in [
            (50, "0.50"),
            (99_999, "999.99"),
            (1_205, "12.05"),
            (100, "1.00"),
        ] {
            let mut b = Vec::new();
            push_price(&mut b, cents);
            assert_eq!(s(&b), text);
        }
    }

    #[test]
    fn rfc4180_quoting() {
        let mut b = Vec::new();
        for f in ["plain", "Home, Garden", "say \"hi\"", "a\nb", ""] {
            push_csv_field(&mut b, f);
            b.push(b'|');
        }
        assert_eq!(
            s(&b),
            "plain|\"Home, Garden\"|\"say \"\"hi\"\"\"|\"a\nb\"||"
        );
    }

    #[test]
    fn event_time_format() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_event_time(t), "2026-11-22T10:00:00.123456Z");
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_event_time(t), "2026-11-22T10:00:00.000000Z");
    }

    #[test]
    fn valid_and_bad_rows() {
        let f = EventFields {
            event_type: EventType::Purchase,
            user_id: 17,
            product_id: 9,
            category: "Home, Garden",
            price_cents: 12_345,
            quantity: 3,
        };
        let t = "2026-11-22T10:00:00.123456Z";
        let mut b = Vec::new();
        write_row(&mut b, "r1-", 2, 7, &f, t, None);
        assert_eq!(
            s(&b),
            "r1-000002-00007,purchase,17,9,\"Home, Garden\",123.45,3,2026-11-22T10:00:00.123456Z\n"
        );
        let expected = [
            "r1-000002-00007-bad,purchase,17,9,\"Home, Garden\",123.45,abc,2026-11-22T10:00:00.123456Z\n",
            "r1-000002-00007-bad,purchase,17,9,123.45,3,2026-11-22T10:00:00.123456Z\n",
            "r1-000002-00007-bad,purchase,17,9,\"Home, Garden\",123.45,3,not-a-time\n",
            "r1-000002-00007-bad,purchase,17,9,\"Home, Garden\",12.x4,3,2026-11-22T10:00:00.123456Z\n",
            "r1-000002-00007-bad,purchase,99999999999999999999,9,\"Home, Garden\",123.45,3,2026-11-22T10:00:00.123456Z\n",
            "r1-000002-00007-bad,purchase,,9,\"Home, Garden\",123.45,3,2026-11-22T10:00:00.123456Z\n",
        ];
        for (i, want) in expected.iter().enumerate() {
            let mut b = Vec::new();
            write_row(&mut b, "r1-", 2, 7, &f, t, Some(BadKind::nth(i as u64)));
            assert_eq!(s(&b), *want, "{:?}", BadKind::nth(i as u64));
        }
        assert_eq!(BadKind::nth(6), BadKind::NonNumericQuantity);
    }

    #[test]
    fn event_type_weights() {
        assert_eq!(EventType::WEIGHTS.iter().sum::<u32>(), 100);
        let mut counts = [0u32; 5];
        for p in 0..100 {
            let t = EventType::from_percent(p);
            counts[EventType::ALL.iter().position(|x| *x == t).unwrap()] += 1;
        }
        assert_eq!(counts, EventType::WEIGHTS);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn builder_is_deterministic_and_counts() {
        let t = "2026-11-22T10:00:00.000001Z";
        let mut a = FileBuilder::new(7, "x-", 100, 200, 0.1, 0.05);
        let mut b = FileBuilder::new(7, "x-", 100, 200, 0.1, 0.05);
        let (mut ba, mut bb) = (Vec::new(), Vec::new());
        let mut dup_total = 0;
        for seq in 1..=5 {
            let sa = a.build_file(seq, t, &mut ba);
            let sb = b.build_file(seq, t, &mut bb);
            assert_eq!(sa, sb);
            assert_eq!(ba, bb);
            assert!((100..=200).contains(&sa.rows));
            let lines = s(&ba).lines().count() as u64;
            assert_eq!(lines, sa.rows + 1);
            if seq == 1 {
                assert_eq!(sa.dup_rows, 0);
            }
            dup_total += sa.dup_rows;
        }
        assert!(dup_total > 0);
    }

    #[test]
    fn ring_never_reuses_a_slot_within_a_file() {
        // Dup rate so high that the ring (one file of 3 valid rows) runs out.
        let mut fb = FileBuilder::new(1, "p-", 3, 3, 0.0, 0.0);
        let mut buf = Vec::new();
        let first = fb.build_file(1, "T", &mut buf);
        assert_eq!(
            first,
            FileStats {
                rows: 3,
                dup_rows: 0,
                bad_rows: 0
            }
        );
        fb.dup_rate = 0.99;
        fb.rows_min = 10;
        fb.rows_max = 10;
        let second = fb.build_file(2, "T", &mut buf);
        assert_eq!(second.rows, 10);
        assert!(second.dup_rows <= 3);
        let text = s(&buf);
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().skip(1) {
            assert!(seen.insert(line.to_owned()), "repeated line {line}");
        }
    }
}

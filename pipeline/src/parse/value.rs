//! One field's text to a typed value of its column, or the reason it is not one.

use super::ParseLimits;
use crate::schema::{Column, ColumnType};

/// One parsed field, borrowed from the CSV record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value<'a> {
    Null,
    Text(&'a str),
    Int32(i32),
    Int64(i64),
    Float64(f64),
    Bool(bool),
    Decimal(i128),
    Timestamp(i64),
}

/// Parses one field of a column, or says why it cannot be.
pub(super) fn parse_field<'a>(
    bytes: &'a [u8],
    column: &Column,
    limits: &ParseLimits,
) -> Result<Value<'a>, String> {
    let name = column.name.as_str();
    within_limit(bytes.len(), name, limits)?;
    let text = std::str::from_utf8(bytes).map_err(|error| {
        format!(
            "column `{name}`: invalid UTF-8 at byte {} of the field",
            error.valid_up_to()
        )
    })?;
    if text.contains('\0') {
        return Err(format!(
            "column `{name}`: contains a NUL byte, which PostgreSQL cannot store"
        ));
    }
    parse_text(text, column, limits)
}

/// [`parse_field`] for a field already known to be UTF-8 without NUL (the
/// record's bytes were checked once as a whole).
pub(super) fn parse_text<'a>(
    text: &'a str,
    column: &Column,
    limits: &ParseLimits,
) -> Result<Value<'a>, String> {
    let name = column.name.as_str();
    within_limit(text.len(), name, limits)?;
    if column.ty != ColumnType::Text || text.is_empty() {
        let trimmed = trim(text);
        if trimmed.is_empty() {
            return if column.nullable {
                Ok(Value::Null)
            } else {
                Err(format!("column `{name}`: empty, but a value is required"))
            };
        }
        return parse_typed(trimmed, column.ty)
            .map_err(|what| format!("column `{name}`: `{}` {what}", shorten(trimmed)));
    }
    Ok(Value::Text(text))
}

fn within_limit(len: usize, name: &str, limits: &ParseLimits) -> Result<(), String> {
    if len > limits.max_field_bytes {
        return Err(format!(
            "column `{name}`: field is {len} bytes, over the limit of {} (raise max_field_bytes if this is expected)",
            limits.max_field_bytes
        ));
    }
    Ok(())
}

/// `str::trim`, without its per-character Unicode test when both ends are
/// printable ASCII (every field sluice's own generator writes): then there
/// is nothing to trim.
fn trim(text: &str) -> &str {
    let printable = |byte: &u8| (b'!'..=b'~').contains(byte);
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if printable(first) && printable(last) => text,
        _ => text.trim(),
    }
}

fn parse_typed(text: &str, ty: ColumnType) -> Result<Value<'_>, String> {
    match ty {
        ColumnType::Text => Ok(Value::Text(text)),
        ColumnType::Int32 => parse_int::<i32>(text, "integer").map(Value::Int32),
        ColumnType::Int64 => parse_int::<i64>(text, "bigint").map(Value::Int64),
        ColumnType::Float64 => text
            .parse::<f64>()
            .map(Value::Float64)
            .map_err(|_| "is not a number".to_string()),
        ColumnType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "y" => Ok(Value::Bool(true)),
            "false" | "f" | "0" | "no" | "n" => Ok(Value::Bool(false)),
            _ => Err("is not a boolean (true/false)".into()),
        },
        ColumnType::Decimal { precision, scale } => {
            parse_decimal(text, precision, scale).map(Value::Decimal)
        }
        ColumnType::Timestamptz => parse_timestamp(text).map(Value::Timestamp),
    }
}

fn parse_int<T: std::str::FromStr<Err = std::num::ParseIntError>>(
    text: &str,
    sql: &str,
) -> Result<T, String> {
    text.parse::<T>().map_err(|error| match error.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            format!("is out of range for {sql}")
        }
        _ => "is not an integer".to_string(),
    })
}

/// Parses a plain decimal (`-12.5`) into an integer scaled by `scale`.
/// More fractional digits than the scale is a reject, not a silent rounding.
fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let scale = scale as u32;
    let (negative, unsigned) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = match unsigned.bytes().position(|b| b == b'.') {
        Some(dot) => (&unsigned[..dot], &unsigned[dot + 1..]),
        None => (unsigned, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err("is not a decimal number".into());
    }
    let fraction =
        &fraction[..fraction.len() - fraction.bytes().rev().take_while(|&b| b == b'0').count()];
    if fraction.len() as u32 > scale {
        return Err(format!("has more than {scale} decimal places"));
    }
    let whole = &whole[whole.bytes().take_while(|&b| b == b'0').count()..];
    if whole.len() as u32 > u32::from(precision) - scale {
        return Err(format!("is out of range for numeric({precision},{scale})"));
    }
    let mut value: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        value = value * 10 + i128::from(digit - b'0');
    }
    value *= 10i128.pow(scale - fraction.len() as u32);
    Ok(if negative { -value } else { value })
}

/// Parses an RFC 3339 timestamp with an offset into UTC microseconds: the
/// shape the contract writes by hand (chrono's parser took a tenth of the
/// parse stage's CPU), anything else (a lower-case `t`, a leap second, …)
/// through chrono, which also says why a text is not one.
fn parse_timestamp(text: &str) -> Result<i64, String> {
    if let Some(micros) = canonical_rfc3339_micros(text.as_bytes()) {
        return Ok(micros);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|_| {
            "is not an RFC 3339 timestamp with an offset (e.g. 2026-11-22T10:00:00.123456Z)"
                .to_string()
        })
}

/// `YYYY-MM-DDTHH:MM:SS[.f]` with 1 to 9 fraction digits, then `Z` or
/// `±HH:MM`, every field in range, as UTC µs (digits past the µs dropped,
/// as chrono's `timestamp_micros` drops them); `None` for any other text.
fn canonical_rfc3339_micros(b: &[u8]) -> Option<i64> {
    let number = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |value, &c| {
            c.is_ascii_digit().then(|| value * 10 + i64::from(c - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(&b[0..4])?, number(&b[5..7])?, number(&b[8..10])?);
    let (hour, minute, second) = (
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
    );
    let valid_date = year >= 1 && (1..=12).contains(&month) && day >= 1;
    if !valid_date || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0;
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let kept = &fraction[..digits.min(6)];
        micros = number(kept)? * 10i64.pow(6 - kept.len() as u32);
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

pub(super) fn shorten(text: &str) -> &str {
    const LIMIT: usize = 80;
    if text.len() <= LIMIT {
        return text;
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written path agrees with chrono on every text it takes, and
    /// takes the contract's shapes; 300 000 texts near and off the shape.
    #[test]
    fn timestamps_read_by_hand_agree_with_chrono() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let mut taken = 0;
        for _ in 0..300_000 {
            let fraction = match next(4) {
                0 => String::new(),
                _ => format!(".{}", "123456789012".get(..next(12) as usize).unwrap()),
            };
            let offset = match next(4) {
                0 => "Z".to_string(),
                1 => "z".to_string(),
                _ => format!(
                    "{}{:02}:{:02}",
                    ["+", "-"][next(2) as usize],
                    next(26),
                    next(62)
                ),
            };
            let text = format!(
                "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}{fraction}{offset}",
                next(10_000),
                next(14),
                next(33),
                ["T", "T", "T", "t", " "][next(5) as usize],
                next(25),
                next(61),
                next(62),
            );
            let by_chrono =
                chrono::DateTime::parse_from_rfc3339(&text).map(|t| t.timestamp_micros());
            if let Some(micros) = canonical_rfc3339_micros(text.as_bytes()) {
                assert_eq!(Ok(micros), by_chrono.map_err(|_| ()), "{text}");
                taken += 1;
            }
            assert_eq!(
                parse_timestamp(&text).ok(),
                by_chrono.ok(),
                "{text}: parse_timestamp and chrono differ"
            );
        }
        assert!(taken > 10_000, "the hand path took only {taken}");
        for (text, micros) in [
            ("2026-11-22T10:00:00.123456Z", 1_795_341_600_123_456),
            ("2026-11-22T11:00:00.123456+01:00", 1_795_341_600_123_456),
            ("1970-01-01T00:00:00Z", 0),
            ("2024-02-29T23:59:59.9999999-00:30", 1_709_252_999_999_999),
        ] {
            assert_eq!(
                canonical_rfc3339_micros(text.as_bytes()),
                Some(micros),
                "{text}"
            );
        }
    }

    #[test]
    fn decimal_parsing_is_exact() {
        assert_eq!(parse_decimal("0012.30", 12, 2), Ok(1230));
        assert_eq!(parse_decimal(".5", 12, 2), Ok(50));
        assert_eq!(parse_decimal("-7", 12, 2), Ok(-700));
        assert!(parse_decimal("12345678901.00", 12, 2).is_err());
        assert!(parse_decimal("1e5", 12, 2).is_err());
        assert!(parse_decimal("-", 12, 2).is_err());
        assert!(parse_decimal("1.2.3", 12, 2).is_err());
    }
}

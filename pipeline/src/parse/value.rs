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
    if bytes.len() > limits.max_field_bytes {
        return Err(format!(
            "column `{name}`: field is {} bytes, over the limit of {} (raise max_field_bytes if this is expected)",
            bytes.len(),
            limits.max_field_bytes
        ));
    }
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
    if column.ty != ColumnType::Text || text.is_empty() {
        let trimmed = text.trim();
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
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err("is not a decimal number".into());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() as u32 > scale {
        return Err(format!("has more than {scale} decimal places"));
    }
    let whole = whole.trim_start_matches('0');
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

/// Parses an RFC 3339 timestamp with an offset into UTC microseconds.
fn parse_timestamp(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|_| {
            "is not an RFC 3339 timestamp with an offset (e.g. 2026-11-22T10:00:00.123456Z)"
                .to_string()
        })
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

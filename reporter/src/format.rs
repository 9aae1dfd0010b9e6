//! How numbers, times and text look in every report: counts with
//! thousands separators, milliseconds rounded by their scale (whole from
//! 100 ms, tenths from 1 ms, µs below), percentages with two, bytes with binary units, times in UTC, and
//! the one escaper for a markdown table cell. `report.md`, the compare and
//! sweep reports and the charts' labels all format through here, so one
//! figure reads the same everywhere.

/// `1234567` → `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A number with `decimals` decimals and thousands separators.
pub fn fmt_decimal(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{x:.decimals$}");
    match s.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group_thousands(int)),
        None => group_thousands(&s),
    }
}

/// Milliseconds rounded to what they can mean: whole milliseconds from
/// 100 ms, tenths from 1 ms, and below that the microseconds the inputs
/// have.
pub fn fmt_ms(ms: f64) -> String {
    let decimals = match ms.abs() {
        a if a >= 100.0 => 0,
        a if a >= 1.0 => 1,
        _ => 3,
    };
    fmt_decimal(ms, decimals)
}

/// Percent with two decimals and the sign.
pub fn fmt_pct(p: f64) -> String {
    format!("{} %", fmt_decimal(p, 2))
}

/// Unix µs as an RFC 3339 UTC time with milliseconds.
pub fn fmt_time_us(us: Option<i64>) -> String {
    us.and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_else(|| "n/a".to_string())
}

/// Escapes text for a markdown table cell (pipes and line breaks would
/// break the row); every table of every report goes through it.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Bytes with a binary unit: `512 B`, `1.5 KiB`, `12.3 MiB`, `1.1 GiB`.
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", fmt_decimal(value, 1), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1000), "1,000");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_ms(1234.6), "1,235");
        assert_eq!(fmt_ms(12.34), "12.3");
        assert_eq!(fmt_ms(0.001), "0.001");
        assert_eq!(fmt_decimal(-1234.56, 1), "-1,234.6");
        assert_eq!(fmt_pct(99.999), "100.00 %");
        assert_eq!(fmt_decimal(f64::NAN, 2), "n/a");
        assert_eq!(fmt_time_us(Some(0)), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(fmt_time_us(None), "n/a");
    }

    #[test]
    fn bytes() {
        assert_eq!(fmt_bytes(0), "0 B");
        assert_eq!(fmt_bytes(1023), "1023 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(12 * 1024 * 1024 + 300 * 1024), "12.3 MiB");
        assert_eq!(fmt_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}

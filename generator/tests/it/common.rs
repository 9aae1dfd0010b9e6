//! Shared helpers: a test configuration, a strict reader of the schema, and
//! directory inspection.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::DateTime;
use generator::{generate, GeneratorConfig, GeneratorSummary, ManifestEntry, HEADER};

pub const EVENT_TYPES: [&str; 5] = [
    "page_view",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "wishlist",
];

/// 20 files, one every 10 ms, 50..=150 rows, 10 % duplicates, 5 % bad.
pub fn config(root: &Path, seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        out_dir: root.join("input"),
        manifest_path: root.join("run").join("manifest.jsonl"),
        file_prefix: "events".into(),
        id_prefix: "t1-".into(),
        rows_min: 50,
        rows_max: 150,
        interval: Duration::from_millis(10),
        duration: Duration::from_secs(3600),
        max_files: Some(20),
        seed,
        dup_rate: 0.10,
        bad_rate: 0.05,
        rate: None,
        sources: 1,
    }
}

pub fn run(config: &GeneratorConfig) -> (GeneratorSummary, Vec<ManifestEntry>) {
    let stop = AtomicBool::new(false);
    let mut seen = Vec::new();
    let summary = generate(config, &stop, &mut |e| seen.push(e.clone())).expect("generate");
    (summary, seen)
}

/// A strictly parsed valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub event_type: String,
    pub user_id: i64,
    pub product_id: i64,
    pub category: String,
    pub price: String,
    pub quantity: i32,
    pub event_time: String,
}

/// Parses one record strictly by the schema; the error names the column.
pub fn parse_strict(rec: &csv::StringRecord) -> Result<Event, &'static str> {
    if rec.len() != 8 {
        return Err("field count");
    }
    let event_id = &rec[0];
    if event_id.is_empty() {
        return Err("event_id");
    }
    if !EVENT_TYPES.contains(&&rec[1]) {
        return Err("event_type");
    }
    let user_id: i64 = rec[2].parse().map_err(|_| "user_id")?;
    let product_id: i64 = rec[3].parse().map_err(|_| "product_id")?;
    let price = &rec[5];
    let price_ok = match price.split_once('.') {
        Some((int, frac)) => {
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.len() == 2
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    };
    if !price_ok {
        return Err("price");
    }
    let quantity: i32 = rec[6].parse().map_err(|_| "quantity")?;
    DateTime::parse_from_rfc3339(&rec[7]).map_err(|_| "event_time")?;
    Ok(Event {
        event_id: event_id.to_owned(),
        event_type: rec[1].to_owned(),
        user_id,
        product_id,
        category: rec[4].to_owned(),
        price: price.to_owned(),
        quantity,
        event_time: rec[7].to_owned(),
    })
}

/// One generated file: raw data lines and their records.
pub struct ParsedFile {
    pub lines: Vec<String>,
    pub records: Vec<csv::StringRecord>,
}

/// Reads a file with the `csv` crate (flexible, so that a row with a missing
/// field is still returned as a record), checking the exact header.
pub fn read_file(path: &Path) -> ParsedFile {
    let text = fs::read_to_string(path).expect("utf-8 file");
    assert!(text.ends_with('\n'));
    assert!(!text.contains('\r'));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(lines.remove(0), HEADER);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = rdr.headers().expect("header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        vec![
            "event_id",
            "event_type",
            "user_id",
            "product_id",
            "category",
            "price",
            "quantity",
            "event_time"
        ]
    );
    let records: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("csv record")).collect();
    assert_eq!(
        records.len(),
        lines.len(),
        "one line per record in {path:?}"
    );
    ParsedFile { lines, records }
}

/// File names in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each data line with its last field (event_time) removed, per file name.
pub fn lines_without_time(dir: &Path) -> BTreeMap<String, Vec<String>> {
    dir_names(dir)
        .into_iter()
        .map(|name| {
            let parsed = read_file(&dir.join(&name));
            let stripped = parsed
                .lines
                .iter()
                .map(|l| l[..l.rfind(',').unwrap()].to_owned())
                .collect();
            (name, stripped)
        })
        .collect()
}

//! A full run: files, manifest, rows, duplicates and bad rows.

use std::collections::{HashMap, HashSet};

use generator::{read_manifest, ManifestEntry};

use crate::common::{config, dir_names, parse_strict, read_file, run};

/// One generator run checked from every side (files, manifest, rows, ids,
/// duplicates, malformed rows): one long function over one run's output.
#[test]
fn full_run_files_manifest_rows() {
    let root = tempfile::tempdir().unwrap();
    let cfg = config(root.path(), 7);
    let (summary, seen) = run(&cfg);

    // Files: exact names, nothing hidden left behind.
    let expected_names: Vec<String> = (1..=20).map(|s| format!("events-{s:06}.csv")).collect();
    assert_eq!(dir_names(&cfg.out_dir), expected_names);

    // Manifest: as reported to the callback, increasing seq and times.
    let manifest = read_manifest(&cfg.manifest_path).unwrap();
    assert_eq!(manifest, seen);
    assert_eq!(manifest.len(), 20);
    let raw = std::fs::read_to_string(&cfg.manifest_path).unwrap();
    assert_eq!(raw.lines().count(), 20);
    assert!(raw.lines().all(|l| l.starts_with("{\"seq\":")));
    for (i, e) in manifest.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.file, expected_names[i]);
        assert!((50..=150).contains(&e.rows));
        let sched = e.scheduled_at_us.unwrap();
        assert_eq!(
            sched - manifest[0].scheduled_at_us.unwrap(),
            i as i64 * 10_000
        );
        assert!(e.late_us.unwrap() >= 0);
        if i > 0 {
            assert!(e.created_at_us > manifest[i - 1].created_at_us);
        }
    }
    assert_eq!(manifest[0].dup_rows, 0);

    // Rows: strict parsing, duplicates, bad rows, per file and in total.
    let mut earlier: HashMap<String, String> = HashMap::new();
    let mut valid_ids: HashSet<String> = HashSet::new();
    let mut bad_reasons: HashMap<&'static str, u64> = HashMap::new();
    let (mut rows, mut dups, mut bads) = (0u64, 0u64, 0u64);
    for e in &manifest {
        let parsed = read_file(&cfg.out_dir.join(&e.file));
        assert_eq!(parsed.records.len() as u64, e.rows, "{}", e.file);
        let mut in_file: HashSet<String> = HashSet::new();
        let mut this_file: Vec<(String, String)> = Vec::new();
        let (mut file_dups, mut file_bads) = (0u64, 0u64);
        for (line, rec) in parsed.lines.iter().zip(&parsed.records) {
            assert!(
                in_file.insert(rec[0].to_owned()),
                "id repeated in file: {line}"
            );
            match parse_strict(rec) {
                Err(reason) => {
                    file_bads += 1;
                    *bad_reasons.entry(reason).or_default() += 1;
                    assert!(rec[0].is_empty() || rec[0].ends_with("-bad"), "{line}");
                    assert!(!valid_ids.contains(&rec[0]));
                }
                Ok(ev) => {
                    assert!(ev.event_id.starts_with("t1-"));
                    assert!((1..=100_000).contains(&ev.user_id));
                    assert!((1..=20_000).contains(&ev.product_id));
                    assert!((1..=10).contains(&ev.quantity));
                    let cents: u32 = ev.price.replace('.', "").parse().unwrap();
                    assert!((50..=99_999).contains(&cents), "{}", ev.price);
                    assert_eq!(ev.event_time.len(), "2026-11-22T10:00:00.123456Z".len());
                    assert!(ev.event_time.ends_with('Z'));
                    if let Some(original) = earlier.get(&ev.event_id) {
                        assert_eq!(original, line, "duplicate differs from its original");
                        file_dups += 1;
                    } else {
                        let own = format!("t1-{:06}-", e.seq);
                        assert!(ev.event_id.starts_with(&own), "{line}");
                        assert!(valid_ids.insert(ev.event_id.clone()));
                        this_file.push((ev.event_id, line.clone()));
                    }
                }
            }
        }
        assert_eq!(file_dups, e.dup_rows, "{}", e.file);
        assert_eq!(file_bads, e.bad_rows, "{}", e.file);
        earlier.extend(this_file);
        rows += e.rows;
        dups += file_dups;
        bads += file_bads;
    }

    // Bad kinds rotate in a fixed order over the run: quantity, missing
    // field, event_time, price, user_id out of range, empty user_id (both
    // user_id kinds fail on the user_id column), so the counts are exact.
    let per_kind = |i: u64| bads / 6 + u64::from(i < bads % 6);
    let want: HashMap<&'static str, u64> = [
        ("quantity", per_kind(0)),
        ("field count", per_kind(1)),
        ("event_time", per_kind(2)),
        ("price", per_kind(3)),
        ("user_id", per_kind(4) + per_kind(5)),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    assert_eq!(bad_reasons, want);

    // Summary totals equal the manifest and the files.
    assert_eq!(summary.files, 20);
    assert_eq!(summary.rows, rows);
    assert_eq!(summary.dup_rows, dups);
    assert_eq!(summary.bad_rows, bads);
    assert_eq!(summary.expected_rows, rows - dups - bads);
    assert_eq!(summary.expected_rows, valid_ids.len() as u64);
    assert_eq!(
        manifest
            .iter()
            .map(ManifestEntry::expected_rows)
            .sum::<u64>(),
        summary.expected_rows
    );
    assert!(dups > 0 && bads > 0, "dups {dups} bads {bads}");
    assert!(!summary.stopped_early);
    assert_eq!(summary.seed, 7);
    assert_eq!(summary.interval_ms, 10.0);
    assert!(summary.late_files <= 20);
    assert!(summary.max_lateness_ms >= summary.mean_lateness_ms);

    // Summary serializes for run artifacts.
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["files"], 20);
}

#[test]
fn refuses_to_overwrite_files() {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config(root.path(), 1);
    cfg.max_files = Some(2);
    run(&cfg);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let err = generator::generate(&cfg, &stop, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("events-000001.csv") && msg.contains("already exists"),
        "{msg}"
    );
    assert_eq!(read_manifest(&cfg.manifest_path).unwrap().len(), 2);
}

#[test]
fn invalid_config_is_rejected_before_writing() {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config(root.path(), 1);
    cfg.rows_min = 200;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let err = generator::generate(&cfg, &stop, &mut |_| {}).unwrap_err();
    assert!(err
        .to_string()
        .contains("rows_min (200) is greater than rows_max (150)"));
    assert!(!cfg.out_dir.exists());
    assert!(!cfg.manifest_path.exists());
}

//! Rate profiles and concurrent sources in full runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use generator::{generate, read_manifest, GeneratorConfig, ManifestEntry};

use crate::common::{config, dir_names, lines_without_time, parse_strict, read_file, run};

/// Two sources, 8 files each, 10 ms apart, alternating 20 ms at 6000 rows/s
/// (60 rows a file) and 20 ms at 300 rows/s (3 rows a file).
fn two_sources(root: &std::path::Path, seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        max_files: Some(8),
        rate: Some("bursts:6000@20ms,300@20ms".parse().unwrap()),
        sources: 2,
        ..config(root, seed)
    }
}

fn by_source(manifest: &[ManifestEntry]) -> BTreeMap<u32, Vec<&ManifestEntry>> {
    let mut map: BTreeMap<u32, Vec<&ManifestEntry>> = BTreeMap::new();
    for e in manifest {
        map.entry(e.source.unwrap()).or_default().push(e);
    }
    for entries in map.values_mut() {
        entries.sort_by_key(|e| e.seq);
    }
    map
}

/// Two sources under a burst profile: each source's files, rows and rates
/// per phase checked on one run (a long function over one run's output).
#[test]
fn two_sources_follow_the_burst_profile() {
    let root = tempfile::tempdir().unwrap();
    let cfg = two_sources(root.path(), 11);
    let (summary, seen) = run(&cfg);

    let mut names: Vec<String> = (1..=2)
        .flat_map(|s| (1..=8).map(move |q| format!("events-s{s:03}-{q:06}.csv")))
        .collect();
    names.sort();
    assert_eq!(dir_names(&cfg.out_dir), names);

    // Every file is reported once, to the manifest and to the callback.
    let manifest = read_manifest(&cfg.manifest_path).unwrap();
    let sorted = |v: &[ManifestEntry]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.file.cmp(&b.file));
        v
    };
    assert_eq!(sorted(&manifest), sorted(&seen));

    // Running totals 0, 60, 120, 123, 126, 186, 246, 249, 252 dealt out in
    // turn: source 1 takes the odd row of an odd total.
    let want_rows = [
        (1, [30, 30, 2, 1, 30, 30, 2, 1]),
        (2, [30, 30, 1, 2, 30, 30, 1, 2]),
    ];
    let targets = [6000, 6000, 300, 300, 6000, 6000, 300, 300];
    let per_source = by_source(&manifest);
    assert_eq!(per_source.len(), 2);
    for (source, rows) in want_rows {
        let entries = &per_source[&source];
        let got: Vec<u64> = entries.iter().map(|e| e.rows).collect();
        assert_eq!(got, rows, "source {source}");
        for (k, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, k as u64 + 1);
            assert_eq!(e.file, format!("events-s{source:03}-{:06}.csv", k + 1));
            assert_eq!(e.target_rows_per_s, Some(targets[k]));
        }
        // One schedule: file k of both sources has the same deadline.
        let sched: Vec<i64> = entries.iter().map(|e| e.scheduled_at_us.unwrap()).collect();
        let other: Vec<i64> = per_source[&(3 - source)]
            .iter()
            .map(|e| e.scheduled_at_us.unwrap())
            .collect();
        assert_eq!(sched, other);
    }

    // Rows: ids unique across sources, duplicates repeat an earlier file of
    // the same source byte for byte, counts match the manifest.
    let mut valid: HashMap<String, String> = HashMap::new();
    let (mut dups, mut bads) = (0u64, 0u64);
    for (source, entries) in &per_source {
        let own_prefix = format!("t1-s{source:03}-");
        let mut earlier: HashMap<String, String> = HashMap::new();
        for e in entries {
            let parsed = read_file(&cfg.out_dir.join(&e.file));
            assert_eq!(parsed.records.len() as u64, e.rows, "{}", e.file);
            let mut this_file = Vec::new();
            let (mut file_dups, mut file_bads) = (0, 0);
            for (line, rec) in parsed.lines.iter().zip(&parsed.records) {
                match parse_strict(rec) {
                    Err(_) => file_bads += 1,
                    Ok(ev) => {
                        assert!(ev.event_id.starts_with(&own_prefix), "{line}");
                        if let Some(original) = earlier.get(&ev.event_id) {
                            assert_eq!(original, line);
                            file_dups += 1;
                        } else {
                            let own = format!("{own_prefix}{:06}-", e.seq);
                            assert!(ev.event_id.starts_with(&own), "{line}");
                            assert!(valid.insert(ev.event_id.clone(), line.clone()).is_none());
                            this_file.push((ev.event_id, line.clone()));
                        }
                    }
                }
            }
            assert_eq!(
                (file_dups, file_bads),
                (e.dup_rows, e.bad_rows),
                "{}",
                e.file
            );
            earlier.extend(this_file);
            dups += file_dups;
            bads += file_bads;
        }
    }

    assert_eq!(summary.sources, 2);
    assert_eq!(summary.files, 16);
    assert_eq!(summary.rows, 252);
    assert_eq!((summary.dup_rows, summary.bad_rows), (dups, bads));
    assert_eq!(summary.expected_rows, valid.len() as u64);
    assert_eq!(
        manifest
            .iter()
            .map(ManifestEntry::expected_rows)
            .sum::<u64>(),
        summary.expected_rows
    );
    assert!(dups > 0, "no duplicates in 252 rows at 10 %");
    assert!(!summary.stopped_early);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["sources"], 2);
    assert_eq!(
        json["rate"],
        serde_json::json!({"profile": "bursts", "high": 6000, "high_for": "20ms", "low": 300, "low_for": "20ms"})
    );
}

#[test]
fn sources_are_deterministic_and_distinct() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ca, cb) = (two_sources(a.path(), 5), two_sources(b.path(), 5));
    run(&ca);
    run(&cb);
    let la = lines_without_time(&ca.out_dir);
    assert_eq!(la, lines_without_time(&cb.out_dir));
    // The two sources draw different events.
    let strip_ids = |name: &str| -> Vec<String> {
        la[name]
            .iter()
            .map(|l| l.split_once(',').unwrap().1.to_owned())
            .collect()
    };
    assert_ne!(
        strip_ids("events-s001-000001.csv"),
        strip_ids("events-s002-000001.csv")
    );
}

#[test]
fn one_source_with_a_profile_keeps_the_plain_names() {
    let root = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        max_files: Some(4),
        rate: Some("steady:1500".parse().unwrap()),
        ..config(root.path(), 2)
    };
    let (summary, _) = run(&cfg);
    assert_eq!(
        dir_names(&cfg.out_dir),
        [1, 2, 3, 4].map(|s| format!("events-{s:06}.csv"))
    );
    let raw = std::fs::read_to_string(&cfg.manifest_path).unwrap();
    for line in raw.lines() {
        assert!(
            line.contains(",\"target_rows_per_s\":1500,\"key_prefix\":\"t1-0000"),
            "{line}"
        );
        assert!(!line.contains("\"source\""), "{line}");
    }
    let m = read_manifest(&cfg.manifest_path).unwrap();
    assert_eq!(m.iter().map(|e| e.rows).collect::<Vec<_>>(), [15; 4]);
    assert_eq!(summary.rows, 60);
    assert_eq!(summary.sources, 1);
}

#[test]
fn stop_reaches_every_source() {
    let root = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        interval: Duration::from_secs(60),
        max_files: Some(5),
        sources: 3,
        ..config(root.path(), 4)
    };
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut calls = 0;
    // File 1 of each source is due at once, the second a minute later: the
    // callback stops the run while all three sources sleep.
    let summary = generate(&cfg, &stop, &mut |_| {
        calls += 1;
        if calls == 3 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!((summary.files, calls), (3, 3));
    assert!(summary.stopped_early);
    assert_eq!(
        dir_names(&cfg.out_dir),
        [
            "events-s001-000001.csv",
            "events-s002-000001.csv",
            "events-s003-000001.csv"
        ]
    );

    let root = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        sources: 3,
        ..config(root.path(), 4)
    };
    let summary = generate(&cfg, &AtomicBool::new(true), &mut |_| panic!("no file")).unwrap();
    assert_eq!((summary.files, summary.rows), (0, 0));
    assert!(dir_names(&cfg.out_dir).is_empty());
}

#[test]
fn a_failing_source_stops_the_others() {
    let root = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        interval: Duration::from_millis(50),
        max_files: Some(1000),
        sources: 3,
        ..config(root.path(), 6)
    };
    std::fs::create_dir_all(&cfg.out_dir).unwrap();
    std::fs::write(cfg.out_dir.join("events-s002-000003.csv"), "x").unwrap();
    let stop = AtomicBool::new(false);
    let err = generate(&cfg, &stop, &mut |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("events-s002-000003.csv") && err.contains("already exists"),
        "{err}"
    );
    // Sources 1 and 3 stop around their third file instead of writing 1000.
    let m = read_manifest(&cfg.manifest_path).unwrap();
    let of_two: HashSet<u64> = m
        .iter()
        .filter(|e| e.source == Some(2))
        .map(|e| e.seq)
        .collect();
    assert_eq!(of_two, HashSet::from([1, 2]));
    assert!(m.len() < 100, "{} files", m.len());
}

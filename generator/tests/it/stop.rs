//! The stop flag ends a run early.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use generator::{generate, read_manifest};

use crate::common::{config, dir_names};

#[test]
fn stop_from_callback_after_three_files() {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config(root.path(), 3);
    cfg.max_files = Some(1000);
    let stop = AtomicBool::new(false);
    let mut calls = 0u64;
    let summary = generate(&cfg, &stop, &mut |e| {
        calls += 1;
        assert_eq!(e.seq, calls);
        if e.seq == 3 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(calls, 3);
    assert!(summary.stopped_early);
    assert_eq!(summary.files, 3);
    assert_eq!(
        dir_names(&cfg.out_dir),
        vec![
            "events-000001.csv",
            "events-000002.csv",
            "events-000003.csv"
        ]
    );
    let m = read_manifest(&cfg.manifest_path).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(summary.rows, m.iter().map(|e| e.rows).sum::<u64>());
}

#[test]
fn stop_while_sleeping_returns_promptly() {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config(root.path(), 4);
    cfg.interval = Duration::from_secs(60);
    cfg.max_files = Some(5);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let summary = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            stop.store(true, Ordering::Relaxed);
        });
        generate(&cfg, &stop, &mut |_| {}).unwrap()
    });
    // The first file is due at once; the second is a minute away.
    assert_eq!(summary.files, 1);
    assert!(summary.stopped_early);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(dir_names(&cfg.out_dir), vec!["events-000001.csv"]);
}

#[test]
fn stop_set_before_start_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let cfg = config(root.path(), 4);
    let stop = AtomicBool::new(true);
    let summary = generate(&cfg, &stop, &mut |_| panic!("no file expected")).unwrap();
    assert_eq!(summary.files, 0);
    assert_eq!(summary.rows, 0);
    assert!(summary.stopped_early);
    assert!(dir_names(&cfg.out_dir).is_empty());
    assert!(read_manifest(&cfg.manifest_path).unwrap().is_empty());
}

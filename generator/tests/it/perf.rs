//! Throughput check, run by hand (no timed assertions):
//! `cargo test -p sluice-generator --release --test it -- --ignored --nocapture`

use std::time::Instant;

use generator::FileBuilder;

#[test]
#[ignore = "prints build throughput; run by hand with --ignored --nocapture"]
fn build_throughput() {
    let mut b = FileBuilder::new(1, "perf-", 9_000, 11_000, 0.01, 0.001);
    let mut buf = Vec::new();
    let t = "2026-11-22T10:00:00.123456Z";
    let started = Instant::now();
    let mut rows = 0;
    let mut bytes = 0;
    for seq in 1..=200 {
        rows += b.build_file(seq, t, &mut buf).rows;
        bytes += buf.len();
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "built {rows} rows ({:.1} MB) in {s:.3} s: {:.0} rows/s",
        bytes as f64 / 1e6,
        rows as f64 / s
    );
}

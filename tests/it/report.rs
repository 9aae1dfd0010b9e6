//! The report is true: its figures agree with the database computed independently.

use std::collections::HashMap;

use crate::support::Scratch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_percentiles_agree_with_sql_percentile_disc() {
    let scratch = Scratch::new();
    let generated = scratch.generate(12, 0.03, 0.02);
    let mut config = scratch.config();
    config.max_files_per_trigger = 3;
    scratch.ingest(&config).await.unwrap();
    let client = scratch.client().await;
    let out = scratch.path("report");
    let mut request = reporter::ReportRequest::new(scratch.path("manifest.jsonl"), &out);
    request.optimized_build = true;
    let summary = reporter::report(&client, &request).await.unwrap();
    assert_eq!(summary.rows.generated, generated.rows);
    assert_eq!(summary.rows.expected, generated.expected_rows);
    assert_eq!(summary.rows.found, generated.expected_rows);
    assert_eq!((summary.rows.missing, summary.rows.duplicates), (0, 0));
    assert_eq!(summary.rows.rejected, generated.bad_rows);
    assert_eq!(summary.commit_time_source, "pg_xact_commit_timestamp");

    let manifest = generator::read_manifest(&scratch.path("manifest.jsonl")).unwrap();
    let created: HashMap<String, i64> = manifest
        .iter()
        .map(|e| (e.file.clone(), e.created_at_us))
        .collect();
    let names: Vec<String> = created.keys().cloned().collect();
    let times: Vec<i64> = names.iter().map(|n| created[n]).collect();
    let row = client
        .query_one(
            "WITH m AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS m(file, created_us)),
                  l AS (SELECT (extract(epoch FROM pg_xact_commit_timestamp(e.xmin)) * 1e6)::bigint - m.created_us AS us
                        FROM events e JOIN m ON m.file = e.source_file)
             SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY us),
                    percentile_disc(0.99) WITHIN GROUP (ORDER BY us),
                    max(us), count(*),
                    percentile_disc(0.95) WITHIN GROUP (ORDER BY us) FROM l",
            &[&names, &times],
        )
        .await
        .unwrap();
    let (p50, p99, max, rows, p95): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(rows as u64, summary.latency_ms.count);
    // HdrHistogram with 3 significant digits reports highest-equivalent values.
    let close = |report_ms: f64, sql_us: i64| {
        let sql_ms = sql_us as f64 / 1000.0;
        (report_ms - sql_ms).abs() <= sql_ms * 0.002 + 0.002
    };
    assert!(
        close(summary.latency_ms.p50, p50),
        "p50 {} vs {p50} µs",
        summary.latency_ms.p50
    );
    assert!(
        close(summary.latency_ms.p99, p99),
        "p99 {} vs {p99} µs",
        summary.latency_ms.p99
    );
    assert!(
        close(summary.latency_ms.max, max),
        "max {} vs {max} µs",
        summary.latency_ms.max
    );
    assert!(out.join("report.md").exists() && out.join("summary.json").exists());

    // sql/check_run.sql, the check a user runs with psql alone, finds the
    // same files, rows and percentiles (psql is not beside the Windows server
    // binaries that CI runs under Wine).
    let Some(check) = psql_check_run(&scratch.url(), &scratch.path("manifest.jsonl")) else {
        return;
    };
    let ms = |us: i64| format!("{:.3}", us as f64 / 1000.0);
    assert_eq!(
        check,
        vec![
            vec![
                manifest.len().to_string(),
                generated.rows.to_string(),
                generated.expected_rows.to_string()
            ],
            vec![rows.to_string(), ms(p50), ms(p95), ms(p99), ms(max)],
        ]
    );
}

/// Runs `sql/check_run.sql` through psql on the run's manifest; `None` when
/// no psql is installed.
fn psql_check_run(url: &str, manifest: &std::path::Path) -> Option<Vec<Vec<String>>> {
    let psql = embedded_pg::psql_program();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/check_run.sql");
    let output = std::process::Command::new(psql)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            ",",
            "-v",
            "table=events",
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .stdin(std::fs::File::open(manifest).unwrap())
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "psql -f sql/check_run.sql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line.split(',').map(str::to_string).collect())
            .collect(),
    )
}

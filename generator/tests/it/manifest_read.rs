//! Reading manifests written by other generators.

use std::fs;

use generator::{read_manifest, GeneratorError, ManifestEntry};

#[test]
fn unknown_keys_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.jsonl");
    fs::write(
        &p,
        "{\"seq\":1,\"file\":\"events-000001.csv\",\"rows\":87,\"created_at_us\":1795000000123456,\"dup_rows\":0,\"bad_rows\":0}\n\
         \n\
         {\"run\":\"x\",\"seq\":2,\"file\":\"b.csv\",\"rows\":10,\"created_at_us\":5,\"dup_rows\":1,\"bad_rows\":2,\"late_us\":7,\"extra\":{\"a\":[1,2]}}\n",
    )
    .unwrap();
    let m = read_manifest(&p).unwrap();
    assert_eq!(
        m,
        vec![
            ManifestEntry {
                seq: 1,
                file: "events-000001.csv".into(),
                rows: 87,
                created_at_us: 1_795_000_000_123_456,
                dup_rows: 0,
                bad_rows: 0,
                ..ManifestEntry::default()
            },
            ManifestEntry {
                seq: 2,
                file: "b.csv".into(),
                rows: 10,
                created_at_us: 5,
                dup_rows: 1,
                bad_rows: 2,
                late_us: Some(7),
                ..ManifestEntry::default()
            },
        ]
    );
    assert_eq!(m[0].expected_rows(), 87);
    assert_eq!(m[1].expected_rows(), 7);
}

#[test]
fn malformed_line_reports_file_and_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.jsonl");
    fs::write(
        &p,
        "{\"seq\":1,\"file\":\"a.csv\",\"rows\":1,\"created_at_us\":1,\"dup_rows\":0,\"bad_rows\":0}\n\
         \n\
         {\"seq\":2,\"file\":\"b.csv\",\"rows\":\"many\",\"created_at_us\":1,\"dup_rows\":0,\"bad_rows\":0}\n",
    )
    .unwrap();
    let err = read_manifest(&p).unwrap_err();
    match &err {
        GeneratorError::ManifestLine { path, line, .. } => {
            assert_eq!(path, &p);
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("bad.jsonl") && msg.contains("line 3"), "{msg}");
}

#[test]
fn missing_manifest_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.jsonl");
    let msg = read_manifest(&p).unwrap_err().to_string();
    assert!(msg.contains("nope.jsonl"), "{msg}");
}

#[test]
fn expected_rows_saturates() {
    let e = ManifestEntry {
        seq: 1,
        file: "a.csv".into(),
        rows: 3,
        created_at_us: 0,
        dup_rows: 2,
        bad_rows: 2,
        ..ManifestEntry::default()
    };
    assert_eq!(e.expected_rows(), 0);
}

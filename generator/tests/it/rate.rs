//! Rate profiles as scenario files and run summaries carry them.

use std::time::Duration;

use generator::{RateProfile, RateStep};
use serde::Deserialize;

/// The shape a scenario file gives the profile: an optional `rate` key.
#[derive(Debug, Deserialize)]
struct Section {
    #[serde(default)]
    rate: Option<RateProfile>,
}

fn section(text: &str) -> Result<Option<RateProfile>, String> {
    toml::from_str::<Section>(text)
        .map(|s| s.rate)
        .map_err(|e| e.to_string())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn toml_tables_text_and_numbers() {
    let bursts = RateProfile::Bursts {
        high: 5000,
        high_for: secs(30),
        low: 100,
        low_for: secs(30),
    };
    assert_eq!(
        section(
            r#"rate = { profile = "bursts", high = 5000, high_for = "30s", low = 100, low_for = "30s" }"#
        ),
        Ok(Some(bursts.clone()))
    );
    assert_eq!(
        section(r#"rate = "bursts:5000@30s,100@30s""#),
        Ok(Some(bursts))
    );
    assert_eq!(
        section("rate = 2000"),
        Ok(Some(RateProfile::Steady { rows_per_s: 2000 }))
    );
    assert_eq!(
        section(r#"rate = { profile = "steady", rows_per_s = 2000 }"#),
        Ok(Some(RateProfile::Steady { rows_per_s: 2000 }))
    );
    assert_eq!(
        section(
            "[rate]\nprofile = \"steps\"\nsteps = [\n  { rows_per_s = 100, for = \"30s\" },\n  { rows_per_s = 1000, for = \"1m\" },\n]\n"
        ),
        Ok(Some(RateProfile::Steps {
            steps: vec![
                RateStep {
                    rows_per_s: 100,
                    duration: secs(30)
                },
                RateStep {
                    rows_per_s: 1000,
                    duration: secs(60)
                },
            ]
        }))
    );
    assert_eq!(
        section(r#"rate = { profile = "ramp", from = 100, to = 10000, over = "5m" }"#),
        Ok(Some(RateProfile::Ramp {
            from: 100,
            to: 10000,
            over: secs(300)
        }))
    );
    assert_eq!(section(""), Ok(None));
}

#[test]
fn toml_errors_name_the_problem() {
    let cases = [
        (
            r#"rate = { profile = "steady", rows_per_sec = 2000 }"#,
            "unknown field `rows_per_sec`",
        ),
        (
            r#"rate = { profile = "burst", high = 1 }"#,
            "unknown variant `burst`",
        ),
        (
            r#"rate = { profile = "ramp", from = 1, to = 2, over = "5" }"#,
            "invalid value: string \"5\", expected a duration",
        ),
        (
            r#"rate = { profile = "bursts", high = 0, high_for = "1s", low = 0, low_for = "1s" }"#,
            "every rate is 0",
        ),
        (r#"rate = "bursts:5000@30s""#, "exactly two phases"),
        ("rate = -5", "rate -5 is negative"),
        ("rate = 1.5", "a rate profile: a table such as"),
        (
            r#"rate = { profile = "steps", steps = [] }"#,
            "steps is empty",
        ),
    ];
    for (text, want) in cases {
        let err = section(text).unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn serializes_as_a_table_that_reads_back() {
    let p: RateProfile = "steps:100@30s,1000@1m 30s".parse().unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        json,
        r#"{"profile":"steps","steps":[{"rows_per_s":100,"for":"30s"},{"rows_per_s":1000,"for":"1m 30s"}]}"#
    );
    assert_eq!(serde_json::from_str::<RateProfile>(&json).unwrap(), p);
    let ramp: RateProfile = "ramp:100..10000@5m".parse().unwrap();
    let json = serde_json::to_string(&ramp).unwrap();
    assert_eq!(
        json,
        r#"{"profile":"ramp","from":100,"to":10000,"over":"5m"}"#
    );
    assert_eq!(
        serde_json::from_str::<RateProfile>("\"ramp:100..10000@5m\"").unwrap(),
        ramp
    );
}

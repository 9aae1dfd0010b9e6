//! Every scenario's report reads as prose: outside code spans, code blocks,
//! link targets and HTML tags, no machine key (`snake_case`) and no figure
//! with more than three decimals. The summaries are runs of each scenario,
//! shortened (`--duration`; failover with its kills and stops moved
//! earlier; capacity one 20 s run of its sweep at 20 000 rows/s).

use std::path::{Path, PathBuf};

use reporter::analyse::findings;
use reporter::compare::load_summary;
use reporter::render::markdown::render;

/// The scenarios of configs/ whose run is saved here (the sweep files give
/// runs of a scenario: `capacity` one run of its rate sweep).
const SCENARIOS: [&str; 8] = [
    "smoke",
    "baseline",
    "high-load",
    "stress",
    "burst",
    "soak",
    "failover",
    "capacity",
];

fn fixture(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/summaries")
        .join(format!("{scenario}.json"))
}

/// `line` without its code spans, link targets and HTML tags: what a person
/// reads as text.
fn prose(line: &str) -> String {
    let without_code: String = line.split('`').step_by(2).collect();
    let mut text = String::with_capacity(without_code.len());
    let mut rest = without_code.as_str();
    while let Some(start) = rest.find("](") {
        text.push_str(&rest[..=start]);
        rest = rest[start + 2..]
            .split_once(')')
            .map_or("", |(_, after)| after);
    }
    text.push_str(rest);
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Words of the form `a_b` (a machine key) in `text`.
fn machine_keys(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            word.contains('_')
                && !word.starts_with('_')
                && !word.ends_with('_')
                && word.chars().any(|c| c.is_ascii_lowercase())
        })
        .collect()
}

/// Figures with more than three decimals in `text`.
fn long_floats(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|n| {
            n.split_once('.')
                .is_some_and(|(_, d)| d.len() > 3 && d.chars().all(|c| c.is_ascii_digit()))
        })
        .collect()
}

/// The lines of `md` a person reads, fenced code blocks left out.
fn readable_lines(md: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    md.lines()
        .enumerate()
        .filter(|(_, line)| {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                return false;
            }
            !in_fence
        })
        .map(|(i, line)| (i + 1, line))
        .collect()
}

#[test]
fn every_scenario_report_has_labels_and_rounded_figures_outside_code() {
    let mut problems = Vec::new();
    for scenario in SCENARIOS {
        let path = fixture(scenario);
        let mut summary = load_summary(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Findings are derived from the figures: today's rules, not the
        // saved run's words.
        summary.findings = findings::analyse(&summary);
        let md = render(&summary);
        for (number, line) in readable_lines(&md) {
            let text = prose(line);
            let keys = machine_keys(&text);
            let floats = long_floats(&text);
            if !keys.is_empty() || !floats.is_empty() {
                problems.push(format!(
                    "{scenario} report.md line {number}: keys {keys:?}, floats {floats:?}: {line}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_what_they_look_for() {
    assert_eq!(
        machine_keys(&prose("| pipeline_cpu_mean_pct | 3.8 |")),
        ["pipeline_cpu_mean_pct"]
    );
    assert!(machine_keys(&prose("| CPU | `pipeline_cpu_mean_pct` |")).is_empty());
    assert!(machine_keys(&prose("![Latency](latency_over_time.svg)")).is_empty());
    assert_eq!(
        long_floats(&prose("| rows/s | 375.6338373241534 |")),
        ["375.6338373241534"]
    );
    assert!(long_floats(&prose("| P99 | 1.039 s | `0.123456` |")).is_empty());
    let fenced = "text\n```\nraw_key 1.23456\n```\nmore";
    assert_eq!(
        readable_lines(fenced)
            .iter()
            .map(|(_, l)| *l)
            .collect::<Vec<_>>(),
        ["text", "more"]
    );
}

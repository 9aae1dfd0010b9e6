//! Load phases: a run whose generator followed a rate profile (bursts,
//! steps, a ramp) cut into stretches of one offered rate, each with its own
//! latency and achieved throughput, and how long the pipeline took to
//! recover after each drop in load. The whole-run figures average a burst
//! with the quiet that follows it; users of the burst scenario ask for the
//! peak latency during the bursts and the recovery after each, which only
//! figures per phase give. Pure: manifest facts and commit groups in.
//!
//! # Definitions
//!
//! - **Phase**: a maximal run of consecutive files, in schedule order
//!   (`scheduled_at_us`, else `created_at_us`), with the same
//!   `target_rows_per_s`. Files without a target rate are left out; a
//!   manifest with none gives no phases.
//! - **Straddling file**: when the schedule interval does not divide a
//!   phase, the file whose span crosses the change carries the mean of both
//!   rates. One such schedule slot alone between two longer runs, at a rate
//!   strictly between theirs, joins the neighbour whose rate is closer (the
//!   one it spent more of its span in), so a burst stays one phase instead
//!   of three.
//! - **Ramp**: with more than [`MAX_EXACT_RATES`] distinct rates the rate
//!   changes with nearly every file, and phases of one rate would be one
//!   file each. The rates are then cut into [`RAMP_BANDS`] equal bands from
//!   the lowest to the highest, and a phase is a maximal run of files in one
//!   band (its target is given as the lowest and highest rate of its
//!   files). When even that gives more than [`MAX_BANDED_PHASES`] phases
//!   (a profile that swings back and forth), there are no phases and a note
//!   says why: the charts over time show such a run better than a table.
//! - **Window**: a phase starts when its first file was created and ends
//!   when the next phase's first file was; the last phase ends one schedule
//!   interval after its last file (the span that file's rows stand for).
//! - **Latency**: over the rows of the phase's files, row-weighted exact
//!   nearest-rank percentiles, the commit times clock-corrected as
//!   everywhere in the report.
//! - **Achieved rows/s**: rows of any file committed within the window /
//!   its duration: whether the pipeline kept up while that load was offered
//!   (rows committed after the last phase's end, the final drain, count in
//!   no phase).
//! - **Recovery** (only for a phase followed by one of a lower target): the
//!   last commit of the phase's rows − the end of the phase, at least 0:
//!   how long the backlog built during the higher load took to drain. Rows
//!   never committed are not waited for (the integrity figures count them).

use std::collections::{HashMap, HashSet};

use crate::collect::manifest::ManifestFacts;
use crate::stats::{median_gap, weighted_percentiles, CommitGroup};
use crate::summary::{round3, Phase, PhaseLatency};

/// Most distinct target rates cut into phases of one rate each: a steps or
/// bursts profile has a handful, a ramp one per file.
pub const MAX_EXACT_RATES: usize = 20;
/// Equal rate bands a ramp is grouped into: a table a reader can scan.
pub const RAMP_BANDS: u64 = 10;
/// Most phases a banded profile may give (a ramp up and back down gives
/// about twice [`RAMP_BANDS`]); beyond it there are no phases.
pub const MAX_BANDED_PHASES: usize = 20;

/// The phases of a run and, when its profile could not be cut into phases,
/// why (a sentence for the report's notes).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseSplit {
    /// The phases in time order; empty without target rates or with a note.
    pub phases: Vec<Phase>,
    /// Why a profile with target rates has no phases.
    pub note: Option<String>,
}

/// A manifest file with a target rate.
struct RatedFile<'a> {
    name: &'a str,
    /// Its place on the schedule, Unix µs: the files of several sources
    /// written for one deadline share it.
    slot_us: i64,
    created_us: i64,
    target: u64,
}

/// Files `from..to` of the sorted files, at `target` rows/s.
#[derive(Debug, Clone, Copy)]
struct Run {
    from: usize,
    to: usize,
    target: u64,
}

/// Maximal runs of consecutive files with equal `key`; each run's target is
/// its first file's.
fn runs_by<K: PartialEq>(files: &[RatedFile], key: impl Fn(&RatedFile) -> K) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if key(&files[r.from]) == key(f) => r.to = i + 1,
            _ => runs.push(Run {
                from: i,
                to: i + 1,
                target: f.target,
            }),
        }
    }
    runs
}

/// Joins each straddling slot (see the module docs) to its closer
/// neighbour, the earlier one on a tie.
fn absorb_straddlers(files: &[RatedFile], runs: &[Run]) -> Vec<Run> {
    let one_slot = |r: &Run| files[r.from].slot_us == files[r.to - 1].slot_us;
    let between = |t: u64, a: u64, b: u64| (a < t && t < b) || (b < t && t < a);
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    // The start of a straddler that joins the run after it.
    let mut carried: Option<usize> = None;
    for (i, &run) in runs.iter().enumerate() {
        let mut run = run;
        if let Some(from) = carried.take() {
            run.from = from;
        }
        if i > 0 && i + 1 < runs.len() {
            let (before, after) = (&runs[i - 1], &runs[i + 1]);
            if one_slot(&runs[i])
                && !one_slot(before)
                && !one_slot(after)
                && between(run.target, before.target, after.target)
            {
                match out.last_mut() {
                    Some(left)
                        if run.target.abs_diff(before.target)
                            <= run.target.abs_diff(after.target) =>
                    {
                        left.to = run.to;
                    }
                    _ => carried = Some(run.from),
                }
                continue;
            }
        }
        out.push(run);
    }
    out
}

/// Cuts the run into phases (see the module docs). `offset_us` (server
/// clock − local clock) is subtracted from every commit time.
pub fn split(facts: &ManifestFacts, groups: &[CommitGroup], offset_us: i64) -> PhaseSplit {
    let files = rated_files(facts);
    if files.is_empty() {
        return PhaseSplit::default();
    }
    let (runs, banded) = match group_into_runs(&files) {
        Ok(grouped) => grouped,
        Err(note) => {
            return PhaseSplit {
                phases: Vec::new(),
                note: Some(note),
            }
        }
    };
    let (starts, ends) = phase_bounds(facts, &files, &runs);
    let commits = PhaseCommits::sort(facts, groups, offset_us, &files, &runs);
    let origin_us = facts.first_created_us.unwrap_or(starts[0]);
    let seconds = |us: i64| us as f64 / 1_000_000.0;
    let phases = runs
        .iter()
        .enumerate()
        .map(|(p, r)| {
            let members = &files[r.from..r.to];
            let (start, end) = (starts[p], ends[p]);
            let duration_s = seconds(end.saturating_sub(start).max(0));
            let committed = commits.rows_between(start, end);
            let (target, target_max) = if banded {
                let rates = || members.iter().map(|f| f.target);
                (rates().min().unwrap_or(0), Some(rates().max().unwrap_or(0)))
            } else {
                (r.target, None)
            };
            let values = &commits.latencies[p];
            let q = weighted_percentiles(values, &[0.50, 0.95, 0.99]);
            let lower_next = runs.get(p + 1).is_some_and(|next| next.target < r.target);
            Phase {
                index: u32::try_from(p + 1).unwrap_or(u32::MAX),
                target_rows_per_s: target,
                target_max_rows_per_s: target_max,
                start_s: round3(seconds(start.saturating_sub(origin_us))),
                duration_s: round3(duration_s),
                files: members.len() as u64,
                rows: members
                    .iter()
                    .map(|f| facts.generated_per_file.get(f.name).copied().unwrap_or(0))
                    .sum(),
                rows_per_s: if duration_s > 0.0 {
                    round3(committed as f64 / duration_s)
                } else {
                    0.0
                },
                latency_ms: PhaseLatency {
                    p50: round3(q[0]),
                    p95: round3(q[1]),
                    p99: round3(q[2]),
                    max: round3(values.iter().map(|v| v.0).fold(0.0, f64::max)),
                    count: values.iter().map(|v| v.1).sum(),
                },
                recovery_s: commits.last[p]
                    .filter(|_| lower_next)
                    .map(|c| round3(seconds(c.saturating_sub(end).max(0)))),
            }
        })
        .collect();
    PhaseSplit { phases, note: None }
}

/// The manifest's files that carry a target rate, in schedule order.
fn rated_files(facts: &ManifestFacts) -> Vec<RatedFile<'_>> {
    let mut files: Vec<RatedFile> = facts
        .files
        .iter()
        .filter_map(|name| {
            let target = *facts.target_rows_per_s.get(name)?;
            let created_us = *facts.created_at_us.get(name)?;
            Some(RatedFile {
                name,
                slot_us: facts
                    .scheduled_at_us
                    .get(name)
                    .copied()
                    .unwrap_or(created_us),
                created_us,
                target,
            })
        })
        .collect();
    files.sort_by_key(|f| (f.slot_us, f.created_us));
    files
}

/// Runs of one exact target rate, or of rate bands when the profile has too
/// many rates (`true` then); `Err` says why a profile that swings too often
/// gets no phase table.
fn group_into_runs(files: &[RatedFile]) -> Result<(Vec<Run>, bool), String> {
    let exact = absorb_straddlers(files, &runs_by(files, |f| f.target));
    let distinct: HashSet<u64> = exact.iter().map(|r| r.target).collect();
    if distinct.len() <= MAX_EXACT_RATES {
        return Ok((exact, false));
    }
    let lo = files.iter().map(|f| f.target).min().unwrap_or(0);
    let hi = files.iter().map(|f| f.target).max().unwrap_or(0);
    let bands = runs_by(files, |f| (f.target - lo) * RAMP_BANDS / (hi - lo + 1));
    if bands.len() > MAX_BANDED_PHASES {
        return Err(format!(
            "No load phases: the generator's rate profile has {} distinct target rates, \
             and grouped into {RAMP_BANDS} equal rate bands they still cut the run into \
             {} stretches (more than {MAX_BANDED_PHASES}): it swings too often for a \
             table; the latency and throughput charts over time show it.",
            distinct.len(),
            bands.len()
        ));
    }
    Ok((bands, true))
}

/// Each phase runs from its first file's creation to the next phase's; the
/// last ends one file interval after its last file.
fn phase_bounds(facts: &ManifestFacts, files: &[RatedFile], runs: &[Run]) -> (Vec<i64>, Vec<i64>) {
    let interval_us = facts.interval_us.unwrap_or_else(|| {
        let created: Vec<i64> = files.iter().map(|f| f.created_us).collect();
        median_gap(&created).unwrap_or(0)
    });
    let starts: Vec<i64> = runs
        .iter()
        .map(|r| files[r.from..r.to].iter().map(|f| f.created_us).min())
        .map(|m| m.unwrap_or(0))
        .collect();
    let ends: Vec<i64> = (0..runs.len())
        .map(|p| match starts.get(p + 1) {
            Some(&next) => next,
            None => {
                let r = &runs[p];
                let last = files[r.from..r.to].iter().map(|f| f.created_us).max();
                last.unwrap_or(0).saturating_add(interval_us)
            }
        })
        .collect();
    (starts, ends)
}

/// The run's commits sorted by instant, and per phase its files' latencies
/// (ms, rows) and last commit.
struct PhaseCommits {
    commits: Vec<(i64, u64)>,
    latencies: Vec<Vec<(f64, u64)>>,
    last: Vec<Option<i64>>,
}

impl PhaseCommits {
    fn sort(
        facts: &ManifestFacts,
        groups: &[CommitGroup],
        offset_us: i64,
        files: &[RatedFile],
        runs: &[Run],
    ) -> Self {
        let phase_of: HashMap<&str, usize> = runs
            .iter()
            .enumerate()
            .flat_map(|(p, r)| files[r.from..r.to].iter().map(move |f| (f.name, p)))
            .collect();
        let mut sorted = Self {
            commits: Vec::with_capacity(groups.len()),
            latencies: vec![Vec::new(); runs.len()],
            last: vec![None; runs.len()],
        };
        for g in groups.iter().filter(|g| g.rows > 0) {
            let Some(commit_us) = g.commit_us.map(|c| c.saturating_sub(offset_us)) else {
                continue;
            };
            sorted.commits.push((commit_us, g.rows));
            let (Some(&p), Some(&created_us)) = (
                phase_of.get(g.source_file.as_str()),
                facts.created_at_us.get(&g.source_file),
            ) else {
                continue;
            };
            let latency_us = commit_us.saturating_sub(created_us).max(1);
            sorted.latencies[p].push((latency_us as f64 / 1000.0, g.rows));
            sorted.last[p] = Some(sorted.last[p].map_or(commit_us, |l| l.max(commit_us)));
        }
        sorted.commits.sort_unstable();
        sorted
    }

    /// Rows committed in [from, to).
    fn rows_between(&self, from: i64, to: i64) -> u64 {
        let lo = self.commits.partition_point(|c| c.0 < from);
        let hi = self.commits.partition_point(|c| c.0 < to);
        self.commits[lo..hi.max(lo)].iter().map(|c| c.1).sum()
    }
}

/// The phases at the profile's highest target (for a ramp, the top band):
/// the bursts of a bursts profile, whose latency users ask about.
pub fn peak_phases(phases: &[Phase]) -> Vec<&Phase> {
    let top = phases.iter().map(|p| p.target_rows_per_s).max();
    phases
        .iter()
        .filter(|p| Some(p.target_rows_per_s) == top)
        .collect()
}

/// The phase with the longest recovery (the earliest on a tie); `None` when
/// no recovery was measured.
pub fn longest_recovery(phases: &[Phase]) -> Option<(&Phase, f64)> {
    phases
        .iter()
        .filter_map(|p| p.recovery_s.map(|r| (p, r)))
        .fold(None, |best, (p, r)| match best {
            Some((_, b)) if b >= r => best,
            _ => Some((p, r)),
        })
}

/// The measured phase with the highest P99 (the earliest on a tie).
pub fn worst_p99<'a>(phases: impl IntoIterator<Item = &'a Phase>) -> Option<&'a Phase> {
    phases
        .into_iter()
        .filter(|p| p.latency_ms.count > 0)
        .fold(None, |worst: Option<&Phase>, p| match worst {
            Some(w) if w.latency_ms.p99 >= p.latency_ms.p99 => worst,
            _ => Some(p),
        })
}

/// The measured phase with the highest max latency (the earliest on a tie).
pub fn worst_max<'a>(phases: impl IntoIterator<Item = &'a Phase>) -> Option<&'a Phase> {
    phases
        .into_iter()
        .filter(|p| p.latency_ms.count > 0)
        .fold(None, |worst: Option<&Phase>, p| match worst {
            Some(w) if w.latency_ms.max >= p.latency_ms.max => worst,
            _ => Some(p),
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::collect::manifest::tests::entry;
    use generator::ManifestEntry;

    /// A phase of 10 s from `(index − 1) × 10` s with 1,000 measured rows.
    pub(crate) fn phase(
        index: u32,
        target: u64,
        p99: f64,
        max: f64,
        recovery_s: Option<f64>,
    ) -> Phase {
        Phase {
            index,
            target_rows_per_s: target,
            target_max_rows_per_s: None,
            start_s: f64::from(index - 1) * 10.0,
            duration_s: 10.0,
            files: 10,
            rows: target * 10,
            rows_per_s: target as f64,
            latency_ms: PhaseLatency {
                p50: p99 / 2.0,
                p95: p99,
                p99,
                max,
                count: 1000,
            },
            recovery_s,
        }
    }

    #[test]
    fn peaks_worst_and_longest() {
        let mut quiet = phase(2, 100, 900.0, 950.0, None);
        quiet.latency_ms.count = 0;
        let phases = vec![
            phase(1, 5000, 700.0, 2000.0, Some(1.5)),
            quiet,
            phase(3, 5000, 800.0, 1200.0, Some(4.0)),
            phase(4, 100, 100.0, 150.0, None),
            phase(5, 5000, 800.0, 1300.0, Some(4.0)),
        ];
        let indexes = |ps: Vec<&Phase>| ps.iter().map(|p| p.index).collect::<Vec<_>>();
        assert_eq!(indexes(peak_phases(&phases)), vec![1, 3, 5]);
        assert_eq!(worst_p99(&phases).map(|p| p.index), Some(3));
        assert_eq!(worst_max(peak_phases(&phases)).map(|p| p.index), Some(1));
        assert_eq!(
            longest_recovery(&phases).map(|(p, r)| (p.index, r)),
            Some((3, 4.0))
        );
        assert_eq!(longest_recovery(&phases[1..2]), None);
        assert!(peak_phases(&[]).is_empty() && worst_p99(&[]).is_none());
    }

    /// File `seq` created (and scheduled) at `seq` seconds, at `target`
    /// rows/s, with `rows` rows.
    fn rated(seq: u64, rows: u64, target: u64) -> ManifestEntry {
        let mut e = entry(seq, rows, 0, 0);
        e.target_rows_per_s = Some(target);
        e.scheduled_at_us = Some(e.created_at_us);
        e
    }

    fn group(seq: u64, commit_ms: i64, rows: u64) -> CommitGroup {
        CommitGroup {
            source_file: format!("events-{seq:06}.csv"),
            commit_us: Some(commit_ms * 1000),
            rows,
        }
    }

    fn targets(split: &PhaseSplit) -> Vec<(u64, Option<u64>, u64)> {
        split
            .phases
            .iter()
            .map(|p| (p.target_rows_per_s, p.target_max_rows_per_s, p.files))
            .collect()
    }

    #[test]
    fn a_burst_and_the_quiet_after_it() {
        // Files every second from 1 s: three of 5,000 rows at 5,000 rows/s,
        // then three of 100 at 100 rows/s. The burst falls behind (latency
        // 0.5, 1 and 1.5 s); the quiet catches up.
        let mut entries: Vec<ManifestEntry> = (1..=3).map(|s| rated(s, 5000, 5000)).collect();
        entries.extend((4..=6).map(|s| rated(s, 100, 100)));
        let facts = ManifestFacts::from_entries(&entries);
        let groups = vec![
            group(1, 1500, 5000),
            group(2, 3000, 5000),
            group(3, 4500, 5000),
            group(4, 4500, 100),
            group(5, 5200, 100),
            group(6, 6200, 100),
            // Without a commit time: in no figure.
            CommitGroup {
                source_file: "events-000006.csv".into(),
                commit_us: None,
                rows: 7,
            },
        ];
        let split = split(&facts, &groups, 0);
        assert_eq!(split.note, None);
        assert_eq!(
            split.phases,
            vec![
                Phase {
                    index: 1,
                    target_rows_per_s: 5000,
                    target_max_rows_per_s: None,
                    start_s: 0.0,
                    // Until file 4, created at 4 s.
                    duration_s: 3.0,
                    files: 3,
                    rows: 15_000,
                    // Files 1 and 2 committed in [1 s, 4 s).
                    rows_per_s: 3333.333,
                    latency_ms: PhaseLatency {
                        p50: 1000.0,
                        p95: 1500.0,
                        p99: 1500.0,
                        max: 1500.0,
                        count: 15_000,
                    },
                    // File 3 committed at 4.5 s, the phase ended at 4 s.
                    recovery_s: Some(0.5),
                },
                Phase {
                    index: 2,
                    target_rows_per_s: 100,
                    target_max_rows_per_s: None,
                    start_s: 3.0,
                    // The last file (6 s) plus the 1 s interval.
                    duration_s: 3.0,
                    files: 3,
                    rows: 300,
                    // File 3's 5,000 rows and the 300 of this phase in [4 s, 7 s).
                    rows_per_s: 1766.667,
                    latency_ms: PhaseLatency {
                        p50: 200.0,
                        p95: 500.0,
                        p99: 500.0,
                        max: 500.0,
                        count: 300,
                    },
                    recovery_s: None,
                },
            ]
        );
        // A server clock 1 s ahead, corrected: the same figures.
        let ahead: Vec<CommitGroup> = groups
            .iter()
            .map(|g| CommitGroup {
                commit_us: g.commit_us.map(|c| c + 1_000_000),
                ..g.clone()
            })
            .collect();
        assert_eq!(super::split(&facts, &ahead, 1_000_000), split);
    }

    #[test]
    fn a_caught_up_burst_recovers_in_zero_and_an_uncommitted_one_is_unknown() {
        let entries = [rated(1, 50, 50), rated(2, 50, 50), rated(3, 10, 10)];
        let facts = ManifestFacts::from_entries(&entries);
        let split = split(&facts, &[group(1, 1100, 50), group(2, 2100, 50)], 0);
        assert_eq!(split.phases[0].recovery_s, Some(0.0));
        assert_eq!(split.phases[1].latency_ms, PhaseLatency::default());
        assert_eq!(super::split(&facts, &[], 0).phases[0].recovery_s, None);
    }

    #[test]
    fn straddling_files_join_the_closer_neighbour_and_sources_share_a_slot() {
        // Two sources, files at 1 … 9 s: 5,000 rows/s, a slot straddling
        // into 100 (mean 1,500: closer to 100), 100, a slot straddling
        // back (3,500: closer to 5,000), 5,000.
        let rates = [5000, 5000, 1500, 100, 100, 3500, 5000, 5000];
        let entries: Vec<ManifestEntry> = rates
            .iter()
            .enumerate()
            .flat_map(|(k, &rate)| {
                (0..2).map(move |source| {
                    let seq = 2 * k as u64 + source + 1;
                    let mut e = rated(seq, 10, rate);
                    e.scheduled_at_us = Some(1_000_000 * (k as i64 + 1));
                    // The second source renames 1 ms after the first.
                    e.created_at_us = e.scheduled_at_us.unwrap() + 1000 * source as i64;
                    e
                })
            })
            .collect();
        let facts = ManifestFacts::from_entries(&entries);
        let split = split(&facts, &[], 0);
        assert_eq!(
            targets(&split),
            vec![(5000, None, 4), (100, None, 6), (5000, None, 6)]
        );
        let windows: Vec<(f64, f64)> = split
            .phases
            .iter()
            .map(|p| (p.start_s, p.duration_s))
            .collect();
        // The straddler at 3 s opens the quiet phase; the one at 6 s opens
        // the last burst, which ends a 1 s interval after its last file
        // (the second source's, 1 ms after the first's).
        assert_eq!(windows, vec![(0.0, 2.0), (2.0, 3.0), (5.0, 3.001)]);
    }

    #[test]
    fn a_ramp_is_grouped_into_rate_bands() {
        // 30 files at 100, 200, … 3,000 rows/s: ten bands of three rates.
        let entries: Vec<ManifestEntry> = (1..=30).map(|s| rated(s, s, 100 * s)).collect();
        let facts = ManifestFacts::from_entries(&entries);
        let split = split(&facts, &[], 0);
        assert_eq!(split.note, None);
        let want: Vec<(u64, Option<u64>, u64)> = (0..10)
            .map(|b| (300 * b + 100, Some(300 * b + 300), 3))
            .collect();
        assert_eq!(targets(&split), want);
        assert_eq!(split.phases[9].rows, 28 + 29 + 30);
        // Rising: no drop in load, so no recovery.
        assert!(split.phases.iter().all(|p| p.recovery_s.is_none()));
    }

    #[test]
    fn a_profile_that_swings_too_often_gets_a_note_instead() {
        // 30 distinct rates alternating between the lowest and highest band.
        let entries: Vec<ManifestEntry> = (1..=30)
            .map(|s| rated(s, 1, if s % 2 == 0 { 100 + s } else { 5000 + s }))
            .collect();
        let split = split(&ManifestFacts::from_entries(&entries), &[], 0);
        assert!(split.phases.is_empty());
        assert_eq!(
            split.note.as_deref(),
            Some(
                "No load phases: the generator's rate profile has 30 distinct target rates, and \
                 grouped into 10 equal rate bands they still cut the run into 30 stretches (more \
                 than 20): it swings too often for a table; the latency and throughput charts \
                 over time show it."
            )
        );
    }

    #[test]
    fn steady_gives_one_phase_and_no_target_none() {
        let mut entries: Vec<ManifestEntry> = (1..=4).map(|s| rated(s, 20, 20)).collect();
        // Without a schedule, the interval is the median gap between files.
        for e in &mut entries {
            e.scheduled_at_us = None;
        }
        // A file without a target rate is left out.
        entries.push(entry(5, 20, 0, 0));
        let facts = ManifestFacts::from_entries(&entries);
        let split = split(&facts, &[], 0);
        assert_eq!(targets(&split), vec![(20, None, 4)]);
        assert_eq!(split.phases[0].duration_s, 4.0);
        assert_eq!(split.phases[0].rows, 80);
        let plain = ManifestFacts::from_entries(&[entry(1, 5, 0, 0)]);
        assert_eq!(super::split(&plain, &[], 0), PhaseSplit::default());
    }
}

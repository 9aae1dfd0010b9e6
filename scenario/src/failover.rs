//! Failover runs: the pipeline runs as its own `sluice ingest` process, which
//! the run kills (SIGKILL on Unix, TerminateProcess on Windows) and restarts,
//! and the embedded PostgreSQL is stopped in immediate mode and restarted,
//! on a schedule from the scenario's `[failover]` section. Every
//! interruption is recorded for the report's charts (`events.jsonl`); the
//! integrity check then shows whether anything was lost or duplicated.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_pg::Cluster;
use pipeline::discover::now_us;
use reporter::RunEvent;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::pipeline_process::PipelineProcess;
use crate::resources::SampledPids;

/// The `[failover]` section of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverSection {
    /// Offsets from the start of the run at which the pipeline is killed.
    #[serde(default, with = "humantime_serde_list")]
    pub kill_pipeline_at: Vec<Duration>,
    /// How long the pipeline stays dead before it is restarted.
    #[serde(default = "default_restart_after", with = "humantime_serde")]
    pub restart_after: Duration,
    /// Offsets at which the embedded PostgreSQL is stopped (immediate mode).
    #[serde(default, with = "humantime_serde_list")]
    pub stop_database_at: Vec<Duration>,
    /// How long the database stays down each time.
    #[serde(default = "default_database_down_for", with = "humantime_serde")]
    pub database_down_for: Duration,
}

fn default_restart_after() -> Duration {
    Duration::from_secs(2)
}

fn default_database_down_for() -> Duration {
    Duration::from_secs(20)
}

/// `["30s", "1m"]` as durations.
mod humantime_serde_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(list: &[Duration], serializer: S) -> Result<S::Ok, S::Error> {
        list.iter()
            .map(|d| humantime::format_duration(*d).to_string())
            .collect::<Vec<_>>()
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| humantime::parse_duration(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// One scheduled interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Kill the pipeline, restart it after the given pause.
    KillPipeline { restart_after: Duration },
    /// Stop the database, start it again after the given pause.
    StopDatabase { down_for: Duration },
}

impl FailoverSection {
    /// The interruptions in time order.
    pub fn schedule(&self) -> Vec<(Duration, Action)> {
        let kills = self.kill_pipeline_at.iter().map(|at| {
            (
                *at,
                Action::KillPipeline {
                    restart_after: self.restart_after,
                },
            )
        });
        let stops = self.stop_database_at.iter().map(|at| {
            (
                *at,
                Action::StopDatabase {
                    down_for: self.database_down_for,
                },
            )
        });
        let mut schedule: Vec<_> = kills.chain(stops).collect();
        schedule.sort_by_key(|(at, _)| *at);
        schedule
    }

    /// Checks that every interruption ends before the load does and that
    /// database outages do not overlap (they are carried out one at a time).
    pub fn validate(&self, duration: Duration) -> Result<(), String> {
        for (at, action) in self.schedule() {
            let ends = at
                + match action {
                    Action::KillPipeline { restart_after } => restart_after,
                    Action::StopDatabase { down_for } => down_for,
                };
            if ends >= duration {
                return Err(format!(
                    "[failover]: the interruption at {} ends at {}, after the run's duration {}; \
                     schedule it earlier or lengthen `duration`",
                    humantime::format_duration(at),
                    humantime::format_duration(ends),
                    humantime::format_duration(duration)
                ));
            }
        }
        let mut stops = self.stop_database_at.clone();
        stops.sort();
        if stops
            .windows(2)
            .any(|pair| pair[1] < pair[0] + self.database_down_for)
        {
            return Err(format!(
                "[failover]: database stops closer together than database_down_for ({}); space them out",
                humantime::format_duration(self.database_down_for)
            ));
        }
        Ok(())
    }
}

/// Carries out the schedule from `started` until it is done or `cancel`
/// fires; returns the interruptions as they happened.
pub async fn carry_out(
    schedule: Vec<(Duration, Action)>,
    started: tokio::time::Instant,
    workers: Vec<Arc<Mutex<PipelineProcess>>>,
    database: Option<(Cluster, u16)>,
    pids: Arc<SampledPids>,
    cancel: CancellationToken,
) -> Vec<RunEvent> {
    let mut events = Vec::new();
    for (at, action) in schedule {
        tokio::select! {
            _ = tokio::time::sleep_until(started + at) => {}
            _ = cancel.cancelled() => break,
        }
        let start_unix_us = now_us();
        let (kind, note) = match action {
            Action::KillPipeline { restart_after } => {
                // One worker at random (the only one of a single process).
                let worker = (now_us().unsigned_abs() / 7 % workers.len() as u64) as usize;
                let pipeline = &workers[worker];
                let killed = pipeline.lock().expect("pipeline lock").kill();
                let pid = match killed {
                    Ok(pid) => pid,
                    Err(error) => {
                        tracing::warn!(%error, "could not kill the pipeline");
                        continue;
                    }
                };
                tokio::time::sleep(restart_after).await;
                let restarted = pipeline.lock().expect("pipeline lock").restart();
                let whom = if workers.len() == 1 {
                    format!("pid {pid}")
                } else {
                    format!("worker {} of {} (pid {pid})", worker + 1, workers.len())
                };
                let note = match restarted {
                    Ok(()) => format!("kill -9 of {whom}; restarted after {restart_after:?}"),
                    Err(error) => format!("kill -9 of {whom}; restart FAILED: {error}"),
                };
                ("pipeline_killed", note)
            }
            Action::StopDatabase { down_for } => {
                let Some((cluster, port)) = database.clone() else {
                    tracing::warn!("[failover] database stops need the embedded PostgreSQL; skipped (a database URL was given)");
                    continue;
                };
                let stopped = tokio::task::spawn_blocking({
                    let cluster = cluster.clone();
                    move || cluster.stop_immediately()
                })
                .await;
                if !matches!(stopped, Ok(Ok(()))) {
                    tracing::warn!(?stopped, "could not stop the database");
                    continue;
                }
                tokio::time::sleep(down_for).await;
                let started_again =
                    tokio::task::spawn_blocking(move || cluster.start_on(Some(port))).await;
                let note = match started_again {
                    Ok(Ok(server)) => {
                        pids.postgres
                            .store(server.postmaster_pid().unwrap_or(0), Ordering::Relaxed);
                        // The run's own handle stops it at the end.
                        server.detach();
                        format!(
                            "pg_ctl stop -m immediate; restarted on port {port} after {down_for:?}"
                        )
                    }
                    Ok(Err(error)) => format!("pg_ctl stop -m immediate; restart FAILED: {error}"),
                    Err(error) => format!("pg_ctl stop -m immediate; restart FAILED: {error}"),
                };
                ("database_stopped", note)
            }
        };
        tracing::info!(kind, %note, "failover");
        events.push(RunEvent {
            kind: kind.into(),
            start_unix_us,
            end_unix_us: Some(now_us()),
            note,
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> FailoverSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn schedules_interruptions_in_time_order() {
        let failover = section(
            "kill_pipeline_at = [\"2m\", \"30s\"]\nrestart_after = \"1s\"\n\
             stop_database_at = [\"1m\"]\ndatabase_down_for = \"15s\"",
        );
        assert_eq!(
            failover.schedule(),
            vec![
                (
                    Duration::from_secs(30),
                    Action::KillPipeline {
                        restart_after: Duration::from_secs(1)
                    }
                ),
                (
                    Duration::from_secs(60),
                    Action::StopDatabase {
                        down_for: Duration::from_secs(15)
                    }
                ),
                (
                    Duration::from_secs(120),
                    Action::KillPipeline {
                        restart_after: Duration::from_secs(1)
                    }
                ),
            ]
        );
        assert!(failover.validate(Duration::from_secs(180)).is_ok());
    }

    #[test]
    fn refuses_interruptions_past_the_end_or_overlapping() {
        let late = section("stop_database_at = [\"50s\"]\ndatabase_down_for = \"20s\"");
        let error = late.validate(Duration::from_secs(60)).unwrap_err();
        assert!(error.contains("ends at 1m 10s"), "{error}");
        let overlapping =
            section("stop_database_at = [\"10s\", \"20s\"]\ndatabase_down_for = \"15s\"");
        let error = overlapping.validate(Duration::from_secs(60)).unwrap_err();
        assert!(error.contains("closer together"), "{error}");
        let error = toml::from_str::<FailoverSection>("kill_at = [\"1s\"]").unwrap_err();
        assert!(error.to_string().contains("kill_at"), "{error}");
    }
}

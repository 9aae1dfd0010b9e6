//! Where a batch is: each step of a batch is logged (info, target
//! `sluice::stage`, message `batch N stage NAME`) as it is entered, so the
//! log of a process killed at any instant says where the kill landed. The
//! kill test reads it to prove recovery from every step, and makes the
//! process linger at a step with `SLUICE_STAGE_DELAY` (`committing=2s`):
//! fault injection for tests, off unless set.

use std::time::Duration;

/// A step of a batch, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Its transaction is open and rows are being written.
    Writing,
    /// Its plan is on disk and the batch record and COMMIT are next.
    Committing,
    /// The database committed; the commit log does not have it yet.
    Committed,
    /// The commit log has it: nothing of the batch is in flight.
    Logged,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Writing,
        Stage::Committing,
        Stage::Committed,
        Stage::Logged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Writing => "writing",
            Self::Committing => "committing",
            Self::Committed => "committed",
            Self::Logged => "logged",
        }
    }
}

/// Logs each step entered and lingers where told to.
#[derive(Debug, Clone, Default)]
pub struct StageProbe {
    delays: Vec<(Stage, Duration)>,
}

impl StageProbe {
    /// Parses `NAME=DURATION[,NAME=DURATION…]` (`committing=2s`).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut delays = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, delay) = part
                .split_once('=')
                .ok_or_else(|| format!("stage delay `{part}`: use NAME=DURATION"))?;
            let stage = Stage::ALL
                .into_iter()
                .filter(|s| *s != Stage::Logged)
                .find(|s| s.name() == name.trim())
                .ok_or_else(|| {
                    format!("stage delay `{part}`: the stages that can linger are writing, committing and committed")
                })?;
            let delay = humantime::parse_duration(delay.trim())
                .map_err(|error| format!("stage delay `{part}`: {error}"))?;
            delays.push((stage, delay));
        }
        Ok(Self { delays })
    }

    /// Logs that batch `batch_id` entered `stage`.
    pub fn mark(stage: Stage, batch_id: u64) {
        tracing::info!(target: "sluice::stage", "batch {batch_id} stage {}", stage.name());
    }

    /// Logs that batch `batch_id` entered `stage`, then lingers if told to.
    pub async fn enter(&self, stage: Stage, batch_id: u64) {
        Self::mark(stage, batch_id);
        if let Some((_, delay)) = self.delays.iter().find(|(s, _)| *s == stage) {
            tokio::time::sleep(*delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stage_delays_and_names_mistakes() {
        let probe = StageProbe::parse("committing=2s, writing=150ms").unwrap();
        assert_eq!(
            probe.delays,
            [
                (Stage::Committing, Duration::from_secs(2)),
                (Stage::Writing, Duration::from_millis(150))
            ]
        );
        assert!(StageProbe::parse("commit=1s")
            .unwrap_err()
            .contains("can linger"));
        assert!(StageProbe::parse("logged=1s").is_err());
        assert!(StageProbe::parse("").unwrap().delays.is_empty());
    }
}

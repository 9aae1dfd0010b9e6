//! Waiting for the database: back-off with jitter until it answers, the
//! short start-up wait before it first answered, the long one after.

use std::time::Duration;

use tokio::time::Instant;

use super::{PipelineError, Runner};
use crate::db::DbError;

impl Runner<'_> {
    /// Retries `connect` with back-off until it works or the deadline
    /// passes (the short start-up one until the database first answered),
    /// counting the retries in the summary.
    pub(super) async fn with_retry<T, F, Fut>(&mut self, mut connect: F) -> Result<T, PipelineError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, DbError>>,
    {
        let started = Instant::now();
        let retry = &self.config.retry;
        let deadline = if self.answered {
            retry.deadline
        } else {
            retry.startup.min(retry.deadline)
        };
        let mut attempt = 0;
        loop {
            let result = tokio::select! {
                result = connect() => result,
                _ = self.cancel.cancelled() => return Err(PipelineError::StoppedWaiting),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(error) if error.is_transient() && started.elapsed() < deadline => {
                    attempt += 1;
                    self.summary.database_retries += 1;
                    if !self.answered {
                        tracing::warn!(attempt, %error, "the database does not answer at start; retrying for up to {deadline:?}");
                    } else if attempt == 1 {
                        tracing::warn!(%error, "database unavailable; retrying with back-off");
                    }
                    // The last wait ends at the deadline, for one last attempt there.
                    let delay = self
                        .config
                        .retry
                        .delay(attempt, rand::random::<f64>())
                        .min(deadline.saturating_sub(started.elapsed()));
                    self.observer
                        .database_unavailable(&error.to_string(), delay);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.cancel.cancelled() => return Err(PipelineError::StoppedWaiting),
                    }
                }
                Err(error) if error.is_transient() && !self.answered => {
                    return Err(PipelineError::DatabaseUnreachableAtStart {
                        waited: tenths(started.elapsed()),
                        startup: deadline,
                        last_error: error.to_string(),
                    })
                }
                Err(error) if error.is_transient() => {
                    return Err(PipelineError::DatabaseUnavailable {
                        waited: tenths(started.elapsed()),
                        deadline: self.config.retry.deadline,
                        last_error: error.to_string(),
                        interrupted: None,
                    })
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// A wait as a person reads it: to the tenth of a second.
pub(super) fn tenths(waited: Duration) -> Duration {
    Duration::from_millis(waited.as_millis() as u64 / 100 * 100)
}

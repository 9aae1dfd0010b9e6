//! An interval trigger's batch with `write_timing = "on-arrival"`: each file
//! is written into the batch's open transaction as soon as it is
//! discovered (its name logged in the plan first); the tick only commits.

use tokio::time::Instant;

use super::PipelineError;
use super::{grace_expired, Runner};
use crate::batch::{BatchContext, BatchError, OpenBatch};
use crate::checkpoint::{Plan, PlanWrite, PlannedFile};
use crate::discover::now_us;
use crate::sink::WritePath;
use crate::stage::Stage;

impl Runner<'_> {
    /// One interval batch with on-arrival writes: until `tick`, every file
    /// discovered joins the plan (logged first) and is written into the
    /// batch's open transaction at once; at the tick the batch commits, so
    /// its rows wait only for the tick, not for their own write. A batch that
    /// loses its transaction is replayed whole from its plan, as at a restart.
    pub(super) async fn run_on_arrival_batch(
        &mut self,
        tick: Instant,
        last_listing: &mut Instant,
    ) -> Result<(), PipelineError> {
        let config = self.config;
        let parts = self.batch_parts();
        let context = parts.context(config);
        let mut plan: Option<Plan> = None;
        // `None` with a plan: the transaction failed, the tick replays the plan.
        let mut open: Option<OpenBatch> = None;
        loop {
            let stopping = self.cancel.is_cancelled();
            let ticked = stopping || Instant::now() >= tick;
            self.refresh(last_listing)?;
            // Stopping: commit what the batch holds, take nothing new.
            let files = if stopping {
                Vec::new()
            } else {
                let taken = self.take_within_caps(plan.as_ref());
                self.claim(taken).await?
            };
            if !files.is_empty() {
                let first = plan.is_none();
                if first {
                    self.renew_lease().await?;
                    plan = Some(self.new_plan(Vec::new()).await?);
                }
                let planned = plan.as_mut().expect("a plan was just made");
                planned.files.extend(files.iter().cloned());
                self.checkpoint.write_plan(planned)?;
                if first || open.is_some() {
                    let added = tokio::select! {
                        added = write_on_arrival(&mut open, &context, planned, &files) => Some(added),
                        _ = grace_expired(&self.cancel, config.shutdown_grace) => None,
                    };
                    match added {
                        None => {
                            self.roll_back_at_shutdown(planned.batch_id);
                            return Ok(());
                        }
                        Some(Ok(())) => {}
                        Some(Err(error))
                            if error.is_transient() || error.is_refused() || error.key_race() =>
                        {
                            tracing::warn!(%error, batch = planned.batch_id, "the batch's transaction failed; replaying it whole at the tick");
                            open = None;
                        }
                        Some(Err(error)) => return Err(error.into()),
                    }
                }
            }
            if ticked {
                break;
            }
            let until_listing = config
                .listing_interval
                .saturating_sub(last_listing.elapsed());
            tokio::select! {
                _ = tokio::time::sleep_until(tick) => {}
                _ = self.discovery.wait(until_listing) => {}
                _ = self.cancel.cancelled() => {}
            }
        }
        let Some(plan) = plan else {
            return Ok(());
        };
        let Some(mut open) = open else {
            return self.run_batch(&plan, PlanWrite::written()).await;
        };
        open.start_at_tick(now_us());
        let committed = tokio::select! {
            committed = open.commit(&plan, &config.stage_probe) => Some(committed),
            _ = grace_expired(&self.cancel, config.shutdown_grace) => None,
        };
        match committed {
            None => {
                self.roll_back_at_shutdown(plan.batch_id);
                Ok(())
            }
            Some(Ok(outcome)) => self.finish_batch(&plan, &outcome),
            Some(Err(error)) if error.claim_lost() => {
                self.lost_claims(&plan, &error);
                Ok(())
            }
            Some(Err(error)) if error.is_transient() || error.is_refused() || error.key_race() => {
                tracing::warn!(%error, batch = plan.batch_id, "committing the batch failed; replaying it whole");
                self.run_batch(&plan, PlanWrite::written()).await
            }
            Some(Err(error)) => Err(error.into()),
        }
    }
}

/// Writes `files` into the open batch, opening it first if there is none.
async fn write_on_arrival<'s>(
    open: &mut Option<OpenBatch<'s>>,
    context: &BatchContext<'s>,
    plan: &Plan,
    files: &[PlannedFile],
) -> Result<(), BatchError> {
    let batch = match open {
        Some(batch) => batch,
        None => {
            let batch =
                OpenBatch::begin(context.sink, plan.batch_id, now_us(), WritePath::Fast).await?;
            context.stages.enter(Stage::Writing, plan.batch_id).await;
            open.insert(batch)
        }
    };
    batch.add(context, files).await
}

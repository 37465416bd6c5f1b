//! The reconciler: a background loop that asks providers for the status of attempts they
//! have not finished, and expires checkouts past their deadline.
//!
//! Its schedule lives in the database (`next_poll_at_ms`), so after a restart it resumes where
//! it was. Each attempt is fetched at most once per poll interval.

use std::time::Duration;

use crate::checkouts::{Checkouts, now_ms};

/// How many attempts one tick handles at most.
const BATCH: u32 = 50;

/// Runs forever; spawn it.
pub async fn run(checkouts: Checkouts) {
    let interval = checkouts.poll_interval_ms();
    let tick = Duration::from_millis(interval.clamp(50, 1000) as u64);
    loop {
        tokio::time::sleep(tick).await;
        if let Err(e) = checkouts.expire_due().await {
            tracing::error!(error = %e, "expiring checkouts failed");
        }
        let due = match checkouts.store().due_attempts(now_ms(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "listing pending attempts failed");
                continue;
            }
        };
        for attempt in due {
            // Schedule first: a fetch that hangs or crashes the process is not repeated in a
            // tight loop.
            if let Err(e) = checkouts.store().schedule_poll(&attempt.id, now_ms() + interval).await {
                tracing::error!(error = %e, "scheduling a status fetch failed");
                continue;
            }
            checkouts.refresh(&attempt).await;
        }
    }
}

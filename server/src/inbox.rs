//! The inbox worker: processes the provider notifications the webhook receiver stored.
//!
//! The receiver verifies a notification, stores it (deduplicated) and answers the provider at
//! once; this worker applies it after, in batches of the oldest, several at a time (their
//! writes take the store's urgent lane and share its commits). It wakes when a notification is
//! stored (by this instance or, through [`crate::signals`], another) and also every [`IDLE`], so rows left `received` by a crash or a restart are picked up: a kill
//! between storing and processing loses nothing. A notification that states the payment's state
//! is marked processed by the store in the transaction that applies it; one that only asks for a
//! status fetch (or names no payment of ours) is marked after the fetch, and a kill in between
//! only makes it fetched again: processing twice is harmless (the state machine ignores a
//! repeated update).
//!
//! Every instance on one database runs this worker: each pass **claims** its notifications
//! ([`crate::store::Store::inbox_claim`]) for a [`LEASE`], so two workers never process one
//! notification at once; one whose worker died (a kill, a crash) is claimed again once its
//! lease runs out, and in the meantime the reconciler still polls its payment.

use std::time::Duration;

use futures_util::{StreamExt, stream};

use crate::checkouts::Checkouts;

/// How many notifications one pass handles at most.
const BATCH: u32 = 256;
/// Notifications processed at the same time.
const CONCURRENCY: usize = 256;
/// How long the worker sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(1);
/// Processing tries before a notification is marked `failed` (the reconciler still polls).
const GIVE_UP_AFTER: u32 = 10;
/// How long a claim keeps a notification from other workers: more than a pass takes (one
/// write, or a status fetch bounded by the provider's request timeout and budget).
pub const LEASE: Duration = Duration::from_secs(60);

/// Runs forever; spawn it.
pub async fn run(checkouts: Checkouts, mut stop: crate::shutdown::Stop) {
    // Stops between two batches: the notifications claimed are processed and marked first.
    while !stop.requested() {
        let handled = process_due(&checkouts).await;
        if handled < BATCH as usize {
            tokio::select! {
                () = checkouts.inbox_stored(IDLE) => {}
                () = stop.wait() => {}
            }
        }
    }
}

/// Claims and processes the notifications waiting now; returns how many it claimed.
pub async fn process_due(checkouts: &Checkouts) -> usize {
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX / 4);
    let due = match checkouts.store().inbox_claim(crate::checkouts::now_ms(), lease_ms, BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "listing stored notifications failed");
            return 0;
        }
    };
    // Several at once: their writes then share the store's commits, and a notification that
    // needs a status fetch does not hold up the others. Their order does not matter: the state
    // machine ignores a move backwards, whichever arrives first.
    stream::iter(&due)
        .for_each_concurrent(CONCURRENCY, |n| async move {
            let store = checkouts.store();
            fail::fail_point!("inbox.before_processing");
            let done = match checkouts.process_notification(n).await {
                // An applied update marked its notification processed in its own transaction.
                Ok(outcome @ ("applied" | "unchanged")) => {
                    fail::fail_point!("inbox.processed");
                    tracing::debug!(notification = %n.id, outcome, "notification processed");
                    Ok(())
                }
                Ok(outcome) => {
                    fail::fail_point!("inbox.processed");
                    tracing::debug!(notification = %n.id, outcome, "notification processed");
                    store.inbox_processed(&n.id, outcome).await
                }
                Err(e) => {
                    tracing::warn!(notification = %n.id, error = %e, "processing a notification failed; will retry");
                    store.inbox_retry(&n.id, &e.to_string(), GIVE_UP_AFTER).await
                }
            };
            if let Err(e) = done {
                tracing::error!(notification = %n.id, error = %e, "recording a notification's processing failed");
            }
        })
        .await;
    due.len()
}

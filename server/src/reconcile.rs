//! The reconciler: a background loop that asks providers for the status of attempts they
//! have not finished, and expires checkouts past their deadline.
//!
//! Its schedule lives in the database (`next_poll_at_ms`, and `polls`, the count of fetches
//! so far), so after a restart it resumes where it was, at the same pace. Each provider says
//! how often it may be asked ([`crate::providers::PollPolicy`]): the first fetch comes after
//! the configured interval, and each fetch of a still-pending attempt (or a failed fetch)
//! widens the next gap by half, up to the provider's cap. A fetch the provider's request budget
//! cannot admit ([`crate::providers::budget`]) is deferred, not counted: the attempt stays due.
//! Expiry is left to the provider: an attempt ends when the provider says it expired; the
//! checkout itself expires at its deadline. Pending refunds are followed up the same way
//! (`refunds.next_check_at_ms`, `checks`): the refund is asked again with its id, which the
//! provider deduplicates (NovaSend's `externalReference` and `X-Idempotency-Key`, Scalapay's
//! `Idempotency-Key`), and its answer ends it.

use std::time::Duration;

use crate::checkouts::{Checkouts, now_ms};

/// How many attempts one tick handles at most.
const BATCH: u32 = 50;

/// Runs until `stop` is asked, between two ticks; spawn it.
pub async fn run(checkouts: Checkouts, mut stop: crate::shutdown::Stop) {
    let tick = Duration::from_millis(checkouts.poll_interval_ms().clamp(50, 1000) as u64);
    while !stop.sleep(tick).await {
        tick_once(&checkouts).await;
    }
}

/// Expires what is past its deadline, then fetches the status of every attempt that is due.
pub async fn tick_once(checkouts: &Checkouts) {
    if let Err(e) = checkouts.expire_due().await {
        tracing::error!(error = %e, "expiring checkouts failed");
    }
    let due = match checkouts.store().due_attempts(now_ms(), BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "listing pending attempts failed");
            return;
        }
    };
    for (attempt, polls) in due {
        // The provider's request budget is spent (its rate limit, or a Retry-After): nothing
        // would be sent; the attempt stays due, uncounted, for a later tick.
        if checkouts.budget_closed_for(attempt.provider).is_some() {
            continue;
        }
        // Count and schedule first: a fetch that hangs or crashes the process is not repeated
        // in a tight loop, and every fetch, failed or not, widens the next gap.
        let next = now_ms() + checkouts.poll_delay_ms(attempt.provider, polls + 1);
        match checkouts.store().claim_poll(&attempt.id, polls, next).await {
            Ok(true) => checkouts.refresh(&attempt).await,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "scheduling a status fetch failed"),
        }
    }
    // Refunds whose outcome is unknown (a provider 5xx or timeout, a process that died during
    // the call) are asked about again with the same refund id until final.
    checkouts.follow_up_due_refunds(BATCH).await;
}

#[cfg(test)]
mod tests {
    use crate::providers::PollPolicy;

    #[test]
    fn gaps_grow_by_half_between_the_floor_and_the_cap() {
        let novasend = PollPolicy { floor_ms: 5_000, max_ms: 60_000 };
        let gaps: Vec<i64> = (0..8).map(|n| novasend.delay_ms(5_000, n, true)).collect();
        assert_eq!(gaps, [5_000, 7_500, 11_250, 16_875, 25_312, 37_968, 56_953, 60_000]);
        // A configured interval below the provider's floor is raised to it for a real provider.
        assert_eq!(novasend.delay_ms(300, 0, true), 5_000);
        // With `ignore_provider_poll_floor` (tests), the configured pace.
        assert_eq!(novasend.delay_ms(300, 0, false), 300);
        assert_eq!(novasend.delay_ms(300, 2, false), 675);
        // Far out, the cap holds and nothing overflows.
        assert_eq!(novasend.delay_ms(5_000, u32::MAX, true), 60_000);
        // A cap below the floor wins.
        assert_eq!(PollPolicy { floor_ms: 5_000, max_ms: 1_000 }.delay_ms(300, 0, false), 300);
        assert_eq!(PollPolicy { floor_ms: 5_000, max_ms: 1_000 }.delay_ms(5_000, 3, true), 1_000);
    }
}

//! The one webhook delivery of the four sandboxes: plan (the misbehaviour modes that apply),
//! send each copy through the provider's own signed post, retry with exponential back-off
//! until the receiver acknowledges, and replay an earlier event last when the plan says
//! "out of order".
//!
//! Each sandbox supplies only what differs: how one try is signed and posted, and what counts
//! as an acknowledgement (a 2xx for NovaSend and CaurisFlux, a 200 for Scalapay, a JSON echo
//! for MyPVit).

use std::time::Duration;

use serde::Serialize;

use crate::misbehave::Misbehaviours;

/// How a provider retries an unacknowledged webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all.
    pub tries: u32,
    /// The wait after the first failed try; it doubles after each.
    pub first_backoff: Duration,
}

impl Retry {
    /// The wait after failed try number `attempt` (from 0).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.first_backoff.saturating_mul(2u32.saturating_pow(attempt))
    }
}

/// Whether one try was acknowledged: the receiver answered and `is_ack` accepts its status (a
/// refusal or a transport failure is logged and retried by [`deliver`]).
pub fn acknowledged(
    sent: reqwest::Result<reqwest::Response>,
    is_ack: impl Fn(reqwest::StatusCode) -> bool,
) -> bool {
    match sent {
        Ok(r) if is_ack(r.status()) => true,
        Ok(r) => {
            tracing::warn!(status = %r.status(), "sandbox webhook refused");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "sandbox webhook not delivered");
            false
        }
    }
}

/// Delivers `event` as the misbehaviour modes matching it say (by default: once, retried as
/// `retry` says); `earlier`, an event this payment really went through before, is replayed
/// after it when the plan is "out of order". `send(event, forged)` makes one try (signed with a
/// wrong secret when `forged`) and tells whether the receiver acknowledged it.
pub async fn deliver<E: Serialize + Clone, F: Future<Output = bool>>(
    misbehave: &Misbehaviours,
    retry: Retry,
    event: &E,
    earlier: Option<&E>,
    send: impl Fn(E, bool) -> F,
) {
    let haystack = serde_json::to_string(event).unwrap_or_default();
    let plan = misbehave.webhook_plan(&haystack);
    if !plan.wait().await {
        return;
    }
    for _ in 0..plan.copies {
        with_retries(retry, || send(event.clone(), plan.bad_signature)).await;
    }
    if plan.stale_after
        && let Some(earlier) = earlier
    {
        with_retries(retry, || send(earlier.clone(), plan.bad_signature)).await;
    }
}

/// Tries until `try_once` says acknowledged, `retry.tries` times at most; tells whether it was.
pub async fn with_retries<F: Future<Output = bool>>(retry: Retry, try_once: impl Fn() -> F) -> bool {
    for attempt in 0..retry.tries {
        if try_once().await {
            return true;
        }
        if attempt + 1 < retry.tries {
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn back_off_doubles() {
        let r = Retry { tries: 3, first_backoff: Duration::from_millis(500) };
        assert_eq!([r.backoff(0), r.backoff(1), r.backoff(2)].map(|d| d.as_millis()), [500, 1000, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_acknowledged_then_stops() {
        let tries = AtomicU32::new(0);
        let r = Retry { tries: 5, first_backoff: Duration::from_millis(10) };
        let acked = with_retries(r, || async { tries.fetch_add(1, Ordering::SeqCst) == 2 }).await;
        assert!(acked);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
        let never = AtomicU32::new(0);
        assert!(!with_retries(r, || async { never.fetch_add(1, Ordering::SeqCst) > 100 }).await);
        assert_eq!(never.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn the_plan_decides_copies_forgery_and_the_replayed_earlier_event() {
        let m = Misbehaviours::default();
        m.set_modes_for_tests(r#"{"scope": {"reference": "ref-1"}, "modes": ["duplicate_webhook", "bad_signature", "out_of_order"]}"#);
        let sent = std::sync::Mutex::new(Vec::new());
        let r = Retry { tries: 1, first_backoff: Duration::from_millis(1) };
        deliver(&m, r, &"final ref-1", Some(&"earlier ref-1"), |e: &str, forged| {
            sent.lock().unwrap().push((e.to_owned(), forged));
            async { true }
        })
        .await;
        assert_eq!(
            sent.into_inner().unwrap(),
            [("final ref-1", true), ("final ref-1", true), ("earlier ref-1", true)]
                .map(|(e, f)| (e.to_owned(), f))
        );
        let quiet = std::sync::Mutex::new(Vec::new());
        deliver(&m, r, &"other", Some(&"earlier"), |e: &str, forged| {
            quiet.lock().unwrap().push((e.to_owned(), forged));
            async { true }
        })
        .await;
        assert_eq!(quiet.into_inner().unwrap(), [("other".to_owned(), false)]);
    }
}

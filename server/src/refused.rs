//! Refused (unverifiable) provider notifications cost almost nothing.
//!
//! Anyone can POST to `/webhooks/{provider}`; a forgery is answered 401 and changes nothing. It
//! must not cost a database write either, or a flood of them fills the disk and holds back the
//! writer that finishes genuine payments. So a refused notification only bumps an in-memory
//! tally per provider; [`flush_loop`] writes the tallies at most every [`COUNT_FLUSH_MS`], and
//! keeps a sample of at most one notification a second per provider (body cut to
//! [`SAMPLE_BODY_MAX`] bytes, secrets redacted, phone numbers masked), trimmed to the latest N
//! per provider (`[retention] refused_samples_per_provider`). A flood of any size thus costs
//! one small write a second.
//!
//! A refused notification still asks for its claimed attempt's status sooner (a genuine
//! provider with a rotated secret is not left waiting), but [`RefusedNotices::may_fetch_sooner`]
//! lets that happen at most once per attempt per provider's minimum gap between fetches
//! ([`crate::providers::PollPolicy::floor_ms`]), in memory.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use shared::method::Provider;

use crate::store::{RefusedCount, RefusedSample, Store};

/// The longest sample body kept, in bytes.
pub const SAMPLE_BODY_MAX: usize = 4 * 1024;
/// Shortest gap between two samples of one provider, in ms.
pub const SAMPLE_GAP_MS: i64 = 1_000;
/// Shortest gap between two writes of the counts, in ms.
pub const COUNT_FLUSH_MS: i64 = 5_000;
/// Attempts remembered as brought forward before the expired entries are dropped.
const REMEMBERED: usize = 4_096;

/// The in-memory tally of refused notifications; shared by the webhook receiver and
/// [`flush_loop`].
#[derive(Debug, Default)]
pub struct RefusedNotices {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Counts not written yet.
    unflushed: HashMap<Provider, RefusedCount>,
    /// The latest sample of each provider not written yet.
    pending: HashMap<Provider, RefusedSample>,
    /// When each provider's last sample was taken.
    sampled_at_ms: HashMap<Provider, i64>,
    /// Refusals of each provider since its last sample, that one included.
    since_sample: HashMap<Provider, u64>,
    /// When the counts were last taken for writing.
    counts_taken_at_ms: i64,
    /// Attempt id → when a refused notice last brought its fetch forward.
    brought_forward: HashMap<String, i64>,
}

/// What one flush writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flush {
    /// Counts to add.
    pub counts: Vec<RefusedCount>,
    /// Samples to keep.
    pub samples: Vec<RefusedSample>,
}

impl RefusedNotices {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only counters behind: still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one refused notification of `provider`. Returns, when it is to be taken as a
    /// sample (at most one a second per provider; then given to [`RefusedNotices::keep_sample`],
    /// and logged), how many were refused since the previous sample, this one included.
    pub fn count(&self, provider: Provider, now_ms: i64) -> Option<u64> {
        let mut s = self.state();
        let c = s.unflushed.entry(provider).or_insert(RefusedCount {
            provider,
            refused: 0,
            first_at_ms: now_ms,
            last_at_ms: now_ms,
        });
        c.refused += 1;
        c.last_at_ms = c.last_at_ms.max(now_ms);
        *s.since_sample.entry(provider).or_insert(0) += 1;
        let last = s.sampled_at_ms.get(&provider).copied();
        if last.is_some_and(|at| now_ms - at < SAMPLE_GAP_MS) {
            return None;
        }
        s.sampled_at_ms.insert(provider, now_ms);
        s.since_sample.insert(provider, 0)
    }

    /// Keeps `sample` for the next flush (replacing an unwritten one of the same provider).
    pub fn keep_sample(&self, sample: RefusedSample) {
        self.state().pending.insert(sample.provider, sample);
    }

    /// Whether a refused notice may bring `attempt_id`'s status fetch forward now: once per
    /// `floor_ms` per attempt.
    pub fn may_fetch_sooner(&self, attempt_id: &str, floor_ms: i64, now_ms: i64) -> bool {
        let mut s = self.state();
        if s.brought_forward.get(attempt_id).is_some_and(|&at| now_ms - at < floor_ms) {
            return false;
        }
        if s.brought_forward.len() >= REMEMBERED {
            // Only attempts found pending get here; entries older than any floor are done with.
            s.brought_forward.retain(|_, at| now_ms - *at < crate::providers::PollPolicy::DEFAULT.max_ms);
        }
        s.brought_forward.insert(attempt_id.to_owned(), now_ms);
        true
    }

    /// What to write now: the samples waiting, and the counts when [`COUNT_FLUSH_MS`] passed
    /// since they were last taken. Empty when nothing is due.
    pub fn take(&self, now_ms: i64) -> Flush {
        let mut s = self.state();
        let samples: Vec<RefusedSample> = s.pending.drain().map(|(_, v)| v).collect();
        let counts = if now_ms - s.counts_taken_at_ms >= COUNT_FLUSH_MS && !s.unflushed.is_empty() {
            s.counts_taken_at_ms = now_ms;
            s.unflushed.drain().map(|(_, v)| v).collect()
        } else {
            Vec::new()
        };
        Flush { counts, samples }
    }

    /// Everything not written yet, the counts whatever their age: the last flush, at a stop.
    pub fn take_all(&self) -> Flush {
        self.take(i64::MAX)
    }

    /// Puts back counts whose write failed, so they are written with the next flush.
    pub fn restore(&self, counts: Vec<RefusedCount>) {
        let mut s = self.state();
        for c in counts {
            let e = s.unflushed.entry(c.provider).or_insert(RefusedCount { refused: 0, ..c.clone() });
            e.refused += c.refused;
            e.first_at_ms = e.first_at_ms.min(c.first_at_ms);
            e.last_at_ms = e.last_at_ms.max(c.last_at_ms);
        }
    }
}

/// `body` as a sample keeps it: secrets redacted, phone numbers masked, cut to
/// [`SAMPLE_BODY_MAX`] bytes on a character boundary.
pub fn sample_body(body: &[u8]) -> String {
    let mut text = crate::redact::stored_body(body);
    crate::redact::cut(&mut text, SAMPLE_BODY_MAX);
    text
}

/// Writes the tallies and samples every second (counts every [`COUNT_FLUSH_MS`]); keeps
/// `keep` samples per provider. Runs until `stop` is asked, then writes what is left; spawn it.
pub async fn flush_loop(
    notices: std::sync::Arc<RefusedNotices>,
    store: std::sync::Arc<dyn Store>,
    keep: u32,
    mut stop: crate::shutdown::Stop,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(SAMPLE_GAP_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Asked to stop: one last flush, so that nothing counted is lost.
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = stop.wait() => true,
        };
        let Flush { counts, samples } =
            if stopping { notices.take_all() } else { notices.take(crate::checkouts::now_ms()) };
        if !(counts.is_empty() && samples.is_empty())
            && let Err(e) = store.refused_record(counts.clone(), samples, keep).await
        {
            tracing::error!(error = %e, "recording refused notifications failed");
            notices.restore(counts);
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(provider: Provider, at: i64) -> RefusedSample {
        RefusedSample {
            provider,
            reference: None,
            reason: "bad signature".into(),
            body: "{}".into(),
            received_at_ms: at,
        }
    }

    #[test]
    fn a_flood_is_counted_in_memory_and_sampled_once_a_second_per_provider() {
        let n = RefusedNotices::default();
        let start = 1_000_000;
        // 10,000 refusals over 2.5 s for NovaSend, one for Scalapay.
        let sampled: Vec<u64> =
            (0..10_000).filter_map(|i| n.count(Provider::NovaSend, start + i / 4)).collect();
        // At 0 s, 1 s and 2 s, each with the refusals since the previous one.
        assert_eq!(sampled, vec![1, 4_000, 4_000]);
        assert_eq!(n.count(Provider::Scalapay, start), Some(1));
        n.keep_sample(sample(Provider::NovaSend, start));
        n.keep_sample(sample(Provider::NovaSend, start + 2_000));
        n.keep_sample(sample(Provider::Scalapay, start));
        let first = n.take(start + 2_500);
        // The latest unwritten sample of each provider, and the counts (first flush).
        assert_eq!(first.samples.len(), 2);
        assert!(first.samples.contains(&sample(Provider::NovaSend, start + 2_000)));
        let novasend = first.counts.iter().find(|c| c.provider == Provider::NovaSend).unwrap();
        assert_eq!(
            (novasend.refused, novasend.first_at_ms, novasend.last_at_ms),
            (10_000, start, start + 2_499)
        );
        // More refusals: counts wait for the next 5 s.
        assert_eq!(n.count(Provider::NovaSend, start + 2_600), None);
        assert_eq!(n.take(start + 3_500), Flush::default());
        let later = n.take(start + 2_500 + COUNT_FLUSH_MS);
        assert_eq!(later.counts.len(), 1);
        assert_eq!(later.counts[0].refused, 1);
        // A failed write is put back and written next time.
        n.restore(later.counts);
        assert_eq!(n.take(start + 2_500 + 2 * COUNT_FLUSH_MS).counts[0].refused, 1);
    }

    #[test]
    fn a_fetch_is_brought_forward_once_per_floor_per_attempt() {
        let n = RefusedNotices::default();
        let floor = 5_000;
        let allowed: Vec<i64> =
            (0..12_000).step_by(100).filter(|&t| n.may_fetch_sooner("at_1", floor, t)).collect();
        assert_eq!(allowed, vec![0, 5_000, 10_000]);
        // Another attempt has its own gap.
        assert!(n.may_fetch_sooner("at_2", floor, 100));
        assert!(!n.may_fetch_sooner("at_2", floor, 200));
    }

    #[test]
    fn a_sample_body_is_cut_on_a_character_boundary_and_masked() {
        let long = format!(r#"{{"phone":"+2250707123456","z_pad":"{}"}}"#, "é".repeat(5_000));
        let body = sample_body(long.as_bytes());
        assert!(body.len() <= SAMPLE_BODY_MAX && body.len() > SAMPLE_BODY_MAX - 2);
        assert!(body.contains("+225 07 •• •• •• 56") && !body.contains("0707123456"), "{}", &body[..60]);
    }
}

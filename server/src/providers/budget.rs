//! The request budget of one provider account: the verifier never sends a provider more
//! requests than the provider states it accepts, and waits as long as a provider's
//! `Retry-After` asks.
//!
//! Each adapter holds one [`Budget`] in its [`super::http::Client`], so every call for that
//! account (payment starts, the reconciler's status fetches, captures, refunds, key renewals)
//! draws from the same budget. A request the budget does not admit is not sent:
//! [`super::ProviderError::BudgetSpent`] says so, with how long until it would be.
//!
//! What each provider states:
//! - **CaurisFlux**: 100 requests a minute and 1 000 an hour by default, per API key; an
//!   account's limits can be raised (<https://docs.caurisflux.com/guides/errors>, "Erreurs de
//!   limite"): `[caurisflux] rate_per_minute` and `rate_per_hour`.
//! - **NovaSend** asks for one status call every 5 to 10 s at most per payment when polling
//!   (<https://docs.novasend.app/payin.en>, "Taux de rafraîchissement recommandé"):
//!   that is a pace per payment, kept by the reconciler's poll floor
//!   ([`super::PollPolicy`]), not an account budget. No account limit is stated: no budget.
//! - **MyPVit** (<https://docs.mypvit.pro/en/intro/integration-guide>) and **Scalapay**
//!   (<https://developers.scalapay.com/reference/messages-validation>) state no request limit:
//!   no budget.
//!
//! Every budget, limited or not, honours `Retry-After` (RFC 9110 §10.2.3) on a `429` or `503`:
//! no call to that account until then ([`Budget::block_for`], at most [`MAX_RETRY_AFTER`]).
//!
//! **How a stated limit becomes a budget.** Providers count over sliding or calendar windows;
//! `governor`'s GCRA counts a burst and a steady pace. A burst `B` of a quarter of the stated
//! `N` requests (at least one), then one request every `W / (N - B)`, never puts more than `N`
//! requests in any window of length `W` (`k` requests take at least `(k - B) · W / (N - B)`,
//! which is `W` for `k = N`), whatever the provider's windows are; the steady pace is three
//! quarters of the stated limit, the price of the burst. Each window is its own limiter; a
//! request must pass all of them.
//!
//! Time is `tokio`'s clock ([`TokioClock`]), so tests run on a paused clock without sleeping.

use std::{
    num::NonZeroU32,
    ops::Add,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, Reference},
    middleware::NoOpMiddleware,
    nanos::Nanos,
    state::{InMemoryState, NotKeyed},
};
use tokio::time::Instant;

/// The longest a `Retry-After` may block a provider account: an hour, CaurisFlux's longest
/// window. A longer (or absurd) value is read as an hour; the provider's answer then says
/// whether it still refuses.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A limit as a provider states it: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many requests.
    pub requests: NonZeroU32,
    /// In how long a window.
    pub per: Duration,
}

impl Limit {
    /// `requests` a minute.
    pub fn per_minute(requests: NonZeroU32) -> Limit {
        Limit { requests, per: Duration::from_secs(60) }
    }

    /// `requests` an hour.
    pub fn per_hour(requests: NonZeroU32) -> Limit {
        Limit { requests, per: Duration::from_secs(3600) }
    }

    /// The burst: a quarter of the stated requests, at least one.
    pub fn burst(&self) -> NonZeroU32 {
        NonZeroU32::new(self.requests.get() / 4).unwrap_or(NonZeroU32::MIN)
    }

    /// The gap between two requests once the burst is spent: `per / (requests - burst)` (the
    /// whole window when nothing is left after the burst).
    pub fn pace(&self) -> Duration {
        let steady = (self.requests.get() - self.burst().get()).max(1);
        (self.per / steady).max(Duration::from_nanos(1))
    }

    fn quota(&self) -> Quota {
        // `pace` is never zero, so `with_period` always gives a quota (one request an hour
        // would be the safe reading otherwise).
        Quota::with_period(self.pace())
            .map_or(Quota::per_hour(NonZeroU32::MIN), |q| q.allow_burst(self.burst()))
    }
}

/// `tokio`'s clock for `governor`: the real monotonic clock in production, the paused and
/// advanced one in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

/// An instant of [`TokioClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokioInstant(Instant);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, other: Nanos) -> TokioInstant {
        TokioInstant(self.0 + Duration::from(other))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: TokioInstant) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, duration: Nanos) -> TokioInstant {
        TokioInstant(self.0.checked_sub(duration.into()).unwrap_or(self.0))
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>;

/// The budget is spent: the request was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spent {
    /// How long until a request would be admitted (at the earliest).
    pub retry_in: Duration,
}

/// One provider account's request budget, shared by every call to it.
#[derive(Debug)]
pub struct Budget {
    limits: Vec<(Limit, Limiter)>,
    /// No request before this instant: set by a `Retry-After`, or learnt when a window refused.
    closed_until: Mutex<Option<Instant>>,
}

impl Budget {
    /// A budget for a provider that states no limit: only `Retry-After` closes it.
    pub fn unlimited() -> Budget {
        Budget::new(&[])
    }

    /// A budget that keeps every one of `limits`.
    pub fn new(limits: &[Limit]) -> Budget {
        let mut limits: Vec<(Limit, Limiter)> = limits
            .iter()
            .map(|limit| (*limit, RateLimiter::direct_with_clock(limit.quota(), TokioClock)))
            .collect();
        limits.sort_by_key(|(limit, _)| limit.per);
        Budget { limits, closed_until: Mutex::new(None) }
    }

    /// The limits it keeps.
    pub fn limits(&self) -> impl Iterator<Item = Limit> + '_ {
        self.limits.iter().map(|(limit, _)| *limit)
    }

    fn closed(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // Each write is one assignment: a poisoned lock still holds a consistent instant.
        self.closed_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one request from the budget, or says how long until one would be admitted.
    ///
    /// The windows are asked shortest first, and a refusal closes the budget until the refusing
    /// window admits again, so the common refusal (a burst, refused by the minute) takes
    /// nothing from the hour; when a longer window refuses, the shorter ones' cell is spent
    /// unused, once per refusal, which only ever sends less.
    pub fn admit(&self) -> Result<(), Spent> {
        let now = Instant::now();
        if let Some(wait) = self.closed_for_at(now) {
            return Err(Spent { retry_in: wait });
        }
        for (_, limiter) in &self.limits {
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(TokioInstant(now));
                self.close_until(now + wait);
                return Err(Spent { retry_in: wait });
            }
        }
        Ok(())
    }

    /// How long the budget is known to stay spent, without taking anything from it: a
    /// `Retry-After` still running, or a window that refused and has not refilled. `None` when
    /// a request may be admitted (the next [`Budget::admit`] decides).
    pub fn closed_for(&self) -> Option<Duration> {
        self.closed_for_at(Instant::now())
    }

    fn closed_for_at(&self, now: Instant) -> Option<Duration> {
        self.closed().filter(|until| *until > now).map(|until| until - now)
    }

    fn close_until(&self, until: Instant) {
        let mut closed = self.closed();
        if closed.is_none_or(|current| current < until) {
            *closed = Some(until);
        }
    }

    /// No request for `wait` (a provider's `Retry-After`, capped at [`MAX_RETRY_AFTER`]); a
    /// later instant already set stays.
    pub fn block_for(&self, wait: Duration) {
        self.close_until(Instant::now() + wait.min(MAX_RETRY_AFTER));
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3: `HTTP-date / delay-seconds`) as a wait from `now`:
/// `delay-seconds` is one or more digits; an HTTP-date is read in the three forms RFC 9110
/// §5.6.7 requires recipients to accept (IMF-fixdate, RFC 850, asctime), and a date already
/// past is no wait. `None` for anything else.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is a very long wait: the cap applies.
        return Some(value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn n(requests: u32) -> NonZeroU32 {
        NonZeroU32::new(requests).unwrap()
    }

    /// Counts requests as a provider with a sliding window does (a request counted against
    /// every request of the window before it):
    /// a request is refused when `limit` requests were admitted in the `per` before it.
    /// Returns how many of `times` it would have refused.
    fn refused_by_sliding_window(times: &[Instant], limit: u32, per: Duration) -> usize {
        let mut window: VecDeque<Instant> = VecDeque::new();
        let mut refused = 0;
        for &t in times {
            while window.front().is_some_and(|first| t.duration_since(*first) >= per) {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                refused += 1;
            } else {
                window.push_back(t);
            }
        }
        refused
    }

    #[test]
    fn the_burst_is_a_quarter_and_the_pace_fills_the_rest_of_the_window() {
        let caurisflux_minute = Limit::per_minute(n(100));
        assert_eq!(caurisflux_minute.burst().get(), 25);
        assert_eq!(caurisflux_minute.pace(), Duration::from_millis(800));
        let caurisflux_hour = Limit::per_hour(n(1000));
        assert_eq!(caurisflux_hour.burst().get(), 250);
        assert_eq!(caurisflux_hour.pace(), Duration::from_millis(4800));
        // Tiny limits: at least one request, never a zero pace.
        assert_eq!((Limit::per_minute(n(1)).burst().get(), Limit::per_minute(n(1)).pace()), (1, 60 * SECOND));
        assert_eq!((Limit::per_minute(n(3)).burst().get(), Limit::per_minute(n(3)).pace()), (1, 30 * SECOND));
        assert!(Limit { requests: n(u32::MAX), per: Duration::from_nanos(1) }.pace() > Duration::ZERO);
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_one_request_per_pace() {
        // 12 a minute: a burst of 3, then one every 60 s / 9.
        let budget = Budget::new(&[Limit::per_minute(n(12))]);
        for i in 0..3 {
            assert_eq!(budget.admit(), Ok(()), "request {i} of the burst");
        }
        let Err(spent) = budget.admit() else { panic!("the burst is spent") };
        let pace = Duration::from_secs(60) / 9;
        assert_eq!(spent.retry_in, pace);
        assert_eq!(budget.closed_for(), Some(pace), "known without taking anything");
        tokio::time::advance(pace - Duration::from_millis(1)).await;
        assert!(budget.admit().is_err(), "not a moment early");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(budget.closed_for(), None);
        assert_eq!(budget.admit(), Ok(()));
        assert!(budget.admit().is_err(), "one request per pace");
    }

    /// The instants at which `budget` admitted a request, asked every `step` for `steps`
    /// steps, with a pause of `pause` half-way (the burst refills).
    async fn admitted(budget: &Budget, step: Duration, steps: u32, pause: Duration) -> Vec<Instant> {
        let mut admitted = Vec::new();
        for i in 0..steps {
            if i == steps / 2 {
                tokio::time::advance(pause).await;
            }
            if budget.admit().is_ok() {
                admitted.push(Instant::now());
            }
            tokio::time::advance(step).await;
        }
        admitted
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_of_the_stated_length_ever_holds_more_than_the_stated_requests() {
        // Someone asks every 50 ms for 10 minutes: a provider counting 20 a minute over sliding
        // windows refuses none of what the budget admits.
        let minute = Duration::from_secs(60);
        let budget = Budget::new(&[Limit::per_minute(n(20))]);
        let sent = admitted(&budget, Duration::from_millis(50), 12_000, 2 * minute).await;
        assert_eq!(refused_by_sliding_window(&sent, 20, minute), 0);
        // It is a budget, not a wall: both bursts and the pace (60 s / 15) were used.
        assert!(sent.len() >= 2 * 5 + 600 / 4 - 2, "{} admitted", sent.len());

        // Every second for 6 hours against 60 an hour.
        let hour = Duration::from_secs(3600);
        let budget = Budget::new(&[Limit::per_hour(n(60))]);
        let sent = admitted(&budget, Duration::from_secs(1), 6 * 3600, hour).await;
        assert_eq!(refused_by_sliding_window(&sent, 60, hour), 0);
        assert!(sent.len() >= 2 * 15 + 6 * 45 - 2, "{} admitted", sent.len());

        // Both at once, as CaurisFlux states them (scaled down): neither window is exceeded.
        let budget = Budget::new(&[Limit::per_minute(n(20)), Limit::per_hour(n(60))]);
        let sent = admitted(&budget, Duration::from_millis(500), 6 * 7200, hour).await;
        assert_eq!(refused_by_sliding_window(&sent, 20, minute), 0);
        assert_eq!(refused_by_sliding_window(&sent, 60, hour), 0);
        assert!(sent.len() >= 2 * 15 + 6 * 45 - 2, "{} admitted", sent.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_by_the_minute_takes_nothing_from_the_hour() {
        // 4 a minute (burst 1, then one every 20 s) and 8 an hour (burst 2).
        let budget = Budget::new(&[Limit::per_hour(n(8)), Limit::per_minute(n(4))]);
        assert_eq!(budget.admit(), Ok(()));
        for _ in 0..100 {
            assert_eq!(budget.admit(), Err(Spent { retry_in: 20 * SECOND }));
        }
        tokio::time::advance(20 * SECOND).await;
        assert_eq!(budget.admit(), Ok(()), "the hour's second request is still there");
        tokio::time::advance(20 * SECOND).await;
        let Err(spent) = budget.admit() else { panic!("the hour's burst is spent") };
        assert_eq!(spent.retry_in, Duration::from_secs(3600 / 6) - 40 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_budgets_admit_everything_until_a_retry_after() {
        let budget = Budget::unlimited();
        for _ in 0..10_000 {
            assert_eq!(budget.admit(), Ok(()));
        }
        budget.block_for(Duration::from_secs(3));
        assert_eq!(budget.admit(), Err(Spent { retry_in: Duration::from_secs(3) }));
        // A shorter Retry-After later does not shorten the block.
        budget.block_for(SECOND);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(budget.closed_for(), Some(SECOND));
        tokio::time::advance(SECOND).await;
        assert_eq!(budget.admit(), Ok(()));
        // An absurd wait is capped.
        budget.block_for(Duration::MAX);
        assert_eq!(budget.closed_for(), Some(MAX_RETRY_AFTER));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_closes_a_limited_budget_too() {
        let budget = Budget::new(&[Limit::per_minute(n(100))]);
        assert_eq!(budget.admit(), Ok(()));
        budget.block_for(Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(budget.admit(), Err(Spent { retry_in: SECOND }));
        tokio::time::advance(SECOND).await;
        assert_eq!(budget.admit(), Ok(()));
    }

    /// RFC 9110 §10.2.3's examples, `Retry-After: Fri, 31 Dec 1999 23:59:59 GMT` and
    /// `Retry-After: 120`, and §5.6.7's three forms of one date.
    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // `date -u -d '1999-12-31 23:59:59' +%s` → 946684799.
        let rfc_date = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_799);
        let two_minutes_before = rfc_date - Duration::from_secs(120);
        assert_eq!(retry_after("120", two_minutes_before), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Fri, 31 Dec 1999 23:59:59 GMT", two_minutes_before),
            Some(Duration::from_secs(120))
        );
        // A date already past: retry now.
        assert_eq!(retry_after("Fri, 31 Dec 1999 23:59:59 GMT", rfc_date + SECOND), Some(Duration::ZERO));

        // `date -u -d '1994-11-06 08:49:37' +%s` → 784111777.
        let sunday = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let before = sunday - Duration::from_secs(30);
        for form in
            ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"]
        {
            assert_eq!(retry_after(form, before), Some(Duration::from_secs(30)), "{form}");
        }

        assert_eq!(retry_after(" 0 ", before), Some(Duration::ZERO));
        assert_eq!(retry_after("99999999999999999999999", before), Some(Duration::MAX));
        for bad in ["", "-5", "1.5", "soon", "120 seconds", "Fri, 31 Dec 1999"] {
            assert_eq!(retry_after(bad, before), None, "{bad:?}");
        }
    }
}

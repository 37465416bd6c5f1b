//! What the merchant dashboard's overview reads ([`super::Store::overview`]): the totals of a
//! bounded window of UTC days, aggregated by the database (`GROUP BY`, `SUM`, `COUNT`, the
//! median by its rank), never by reading every row into the verifier.
//!
//! Each backend runs the same four aggregates in one snapshot: checkouts created per UTC day
//! and currency (how many, how many paid, the amount paid), refunds that succeeded per UTC
//! day and currency, attempts per provider and per method (how many, how many succeeded) with
//! the failures by code, and the median time from an attempt's start to its success. The day
//! of a row is `created_at / 86400` (unix seconds: UTC days).

use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Currency,
};

/// Seconds in a UTC day (unix time has no leap seconds).
pub const DAY: i64 = 86_400;

/// The window of [`super::Store::overview`]: whole UTC days, `since` (00:00 UTC of its first
/// day) to `until` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Unix seconds, a multiple of [`DAY`].
    pub since: i64,
    /// Unix seconds, exclusive.
    pub until: i64,
}

impl Window {
    /// The last `days` UTC days up to `now` (unix seconds), today included.
    pub fn last_days(now: i64, days: u32) -> Window {
        let today = now.div_euclid(DAY) * DAY;
        Window { since: today - (i64::from(days.max(1)) - 1) * DAY, until: today + DAY }
    }

    /// The start of every day of the window, oldest first.
    pub fn days(&self) -> impl Iterator<Item = i64> + use<> {
        (self.since.div_euclid(DAY)..self.until.div_euclid(DAY)).map(|d| d * DAY)
    }
}

/// One UTC day's totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    /// 00:00 UTC of the day, unix seconds.
    pub day: i64,
    /// The checkouts' currency.
    pub currency: Currency,
    /// Checkouts created that day.
    pub checkouts: u64,
    /// Of them, paid (succeeded, partially refunded or refunded).
    pub paid: u64,
    /// What they paid, minor units.
    pub paid_minor: u64,
    /// Refunds that succeeded, made that day, minor units.
    pub refunded_minor: u64,
}

/// Attempts of one provider or one method in the window, and how many succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessRate<K> {
    /// The provider or the method.
    pub key: K,
    /// Attempts started.
    pub attempts: u64,
    /// Of them, succeeded.
    pub succeeded: u64,
}

/// Failed attempts with one failure code (`None`: failed without a code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// The catalogue's code.
    pub failure: Option<ErrorCode>,
    /// How many attempts.
    pub count: u64,
}

/// What [`super::Store::overview`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The window read.
    pub window: Window,
    /// Per day and currency, oldest first, only the days with a checkout or a refund.
    pub days: Vec<DayTotals>,
    /// Per provider, by the provider's name.
    pub providers: Vec<SuccessRate<Provider>>,
    /// Per method (the operator the customer chose), by the method's name.
    pub methods: Vec<SuccessRate<PaymentMethod>>,
    /// Failed attempts per code, most frequent first.
    pub failures: Vec<FailureCount>,
    /// The median time from an attempt's start to its success, seconds (the lower median);
    /// `None` without a success in the window.
    pub median_seconds_to_pay: Option<i64>,
}

/// One row of the checkouts' daily aggregate, as a backend reads it.
#[derive(Debug, Clone)]
pub(crate) struct CheckoutDayRow {
    pub(crate) day: i64,
    pub(crate) currency: String,
    pub(crate) checkouts: i64,
    pub(crate) paid: i64,
    pub(crate) paid_minor: i64,
}

/// One row of the refunds' daily aggregate.
#[derive(Debug, Clone)]
pub(crate) struct RefundDayRow {
    pub(crate) day: i64,
    pub(crate) currency: String,
    pub(crate) refunded_minor: i64,
}

/// One row of a `GROUP BY provider` or `GROUP BY method` of attempts.
#[derive(Debug, Clone)]
pub(crate) struct RateRow {
    pub(crate) key: String,
    pub(crate) attempts: i64,
    pub(crate) succeeded: i64,
}

/// A count read from the database as a `u64` (a negative count is a corrupt row).
fn count(what: &str, n: i64) -> Result<u64, super::StoreError> {
    u64::try_from(n)
        .map_err(|_| super::StoreError::Other(anyhow::anyhow!("negative {what} in the database: {n}")))
}

fn currency(code: &str) -> Result<Currency, super::StoreError> {
    Currency::parse(code).map_err(|_| {
        super::StoreError::Other(anyhow::anyhow!("unreadable currency in the database: {code:?}"))
    })
}

/// The days of the checkouts' and the refunds' aggregates joined by (day, currency), oldest
/// first.
pub(crate) fn join_days(
    checkouts: Vec<CheckoutDayRow>,
    refunds: Vec<RefundDayRow>,
) -> Result<Vec<DayTotals>, super::StoreError> {
    let mut days: Vec<DayTotals> = Vec::with_capacity(checkouts.len() + refunds.len());
    for r in checkouts {
        days.push(DayTotals {
            day: r.day * DAY,
            currency: currency(&r.currency)?,
            checkouts: count("checkouts", r.checkouts)?,
            paid: count("paid checkouts", r.paid)?,
            paid_minor: count("amount", r.paid_minor)?,
            refunded_minor: 0,
        });
    }
    for r in refunds {
        let (day, cur, amount) =
            (r.day * DAY, currency(&r.currency)?, count("refunded amount", r.refunded_minor)?);
        match days.iter_mut().find(|d| d.day == day && d.currency == cur) {
            Some(d) => d.refunded_minor = amount,
            None => days.push(DayTotals {
                day,
                currency: cur,
                checkouts: 0,
                paid: 0,
                paid_minor: 0,
                refunded_minor: amount,
            }),
        }
    }
    days.sort_by(|a, b| (a.day, a.currency.code()).cmp(&(b.day, b.currency.code())));
    Ok(days)
}

/// Rows of a `GROUP BY provider` read as success rates.
pub(crate) fn provider_rates(rows: Vec<RateRow>) -> Result<Vec<SuccessRate<Provider>>, super::StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(SuccessRate {
                key: Provider::parse(&r.key).ok_or_else(|| {
                    super::StoreError::Other(anyhow::anyhow!(
                        "unreadable provider in the database: {:?}",
                        r.key
                    ))
                })?,
                attempts: count("attempts", r.attempts)?,
                succeeded: count("successes", r.succeeded)?,
            })
        })
        .collect()
}

/// Rows of a `GROUP BY method` read as success rates.
pub(crate) fn method_rates(rows: Vec<RateRow>) -> Result<Vec<SuccessRate<PaymentMethod>>, super::StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(SuccessRate {
                key: PaymentMethod::parse(&r.key).ok_or_else(|| {
                    super::StoreError::Other(anyhow::anyhow!(
                        "unreadable method in the database: {:?}",
                        r.key
                    ))
                })?,
                attempts: count("attempts", r.attempts)?,
                succeeded: count("successes", r.succeeded)?,
            })
        })
        .collect()
}

/// Rows of a `GROUP BY failure` (code, count) read as failure counts, most frequent first.
pub(crate) fn failure_counts(
    rows: Vec<(Option<String>, i64)>,
) -> Result<Vec<FailureCount>, super::StoreError> {
    let mut out = rows
        .into_iter()
        .map(|(code, n)| {
            let failure = match code {
                Some(c) => Some(ErrorCode::parse(&c).ok_or_else(|| {
                    super::StoreError::Other(anyhow::anyhow!("unreadable failure in the database: {c:?}"))
                })?),
                None => None,
            };
            Ok(FailureCount { failure, count: count("failures", n)? })
        })
        .collect::<Result<Vec<_>, super::StoreError>>()?;
    out.sort_by(|a, b| {
        b.count.cmp(&a.count).then_with(|| a.failure.map(|f| f.as_str()).cmp(&b.failure.map(|f| f.as_str())))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_whole_utc_days_today_included() {
        // 2026-12-07T19:04:31Z.
        let now = 1_796_670_271;
        let w = Window::last_days(now, 30);
        assert_eq!(w.until % DAY, 0);
        assert_eq!(w.since % DAY, 0);
        assert!(w.since <= now && now < w.until);
        assert_eq!(w.days().count(), 30);
        assert_eq!(w.days().last(), Some(now / DAY * DAY));
    }

    #[test]
    fn refunds_join_their_day_and_currency() {
        let days = join_days(
            vec![CheckoutDayRow { day: 3, currency: "XOF".into(), checkouts: 2, paid: 1, paid_minor: 5000 }],
            vec![
                RefundDayRow { day: 3, currency: "XOF".into(), refunded_minor: 2500 },
                RefundDayRow { day: 4, currency: "XOF".into(), refunded_minor: 100 },
            ],
        )
        .unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].day, days[0].paid_minor, days[0].refunded_minor), (3 * DAY, 5000, 2500));
        assert_eq!((days[1].day, days[1].checkouts, days[1].refunded_minor), (4 * DAY, 0, 100));
    }
}

//! The dashboard overview's aggregates (`Store::overview`), the same on every backend.

use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Currency,
    status::{AttemptStatus, RefundStatus},
};

use super::{
    Db,
    build::{PRICE, attempt, checkout, paid_checkout, refund},
    now_secs,
};
use crate::store::{
    AttemptUpdate, Cause,
    overview::{DAY, FailureCount, SuccessRate, Window},
};

pub(super) async fn the_overview_counts_the_window_by_day_provider_method_and_failure(db: &Db) {
    let s = db.store();
    let now = now_secs();
    let window = Window::last_days(now, 30);
    let empty = s.overview(window).await.unwrap();
    assert!(empty.days.is_empty() && empty.providers.is_empty() && empty.failures.is_empty(), "{empty:?}");
    assert_eq!(empty.median_seconds_to_pay, None);

    // Paid, then 2000 of it refunded.
    let paid_attempt = paid_checkout(&*s, "co_paid").await;
    s.start_refund(&refund("rf_1", "co_paid", &paid_attempt, 2000), &Cause::Api("refund")).await.unwrap();
    s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &Cause::Api("refund")).await.unwrap();
    // Started two minutes ago with Wave, failed for want of funds.
    s.insert_checkout(&checkout("co_failed", "order-failed"), &Cause::Api("create")).await.unwrap();
    let mut wave = attempt("at_failed", "co_failed");
    wave.method = PaymentMethod::Wave;
    wave.created_at = now - 120;
    s.start_attempt(&wave, 0, &Cause::Api("pay")).await.unwrap();
    let failed = AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::InsufficientFunds));
    s.update_attempt("at_failed", &failed, &Cause::Poll(Provider::NovaSend)).await.unwrap();
    // Before the window: not counted.
    let mut old = checkout("co_old", "order-old");
    old.created_at = window.since - 1;
    old.expires_at = window.since + 600;
    s.insert_checkout(&old, &Cause::Api("create")).await.unwrap();

    let o = s.overview(window).await.unwrap();
    assert_eq!(o.window, window);
    assert_eq!(o.days.len(), 1, "{:?}", o.days);
    let today = &o.days[0];
    assert_eq!(today.day, now / DAY * DAY);
    assert_eq!(today.currency, Currency::Xof);
    assert_eq!((today.checkouts, today.paid, today.paid_minor, today.refunded_minor), (2, 1, PRICE, 2000));
    assert_eq!(o.providers, vec![SuccessRate { key: Provider::NovaSend, attempts: 2, succeeded: 1 }]);
    assert_eq!(
        o.methods,
        vec![
            SuccessRate { key: PaymentMethod::MobileMoney, attempts: 1, succeeded: 1 },
            SuccessRate { key: PaymentMethod::Wave, attempts: 1, succeeded: 0 },
        ]
    );
    assert_eq!(o.failures, vec![FailureCount { failure: Some(ErrorCode::InsufficientFunds), count: 1 }]);
    // One success, paid within the test's few seconds.
    let median = o.median_seconds_to_pay.expect("a success");
    assert!((0..=5).contains(&median), "{median}");

    // Yesterday's window holds none of it.
    let before = Window { since: window.since - DAY, until: window.since };
    let none = s.overview(before).await.unwrap();
    assert_eq!(none.days.len(), 1, "only the old checkout: {:?}", none.days);
    assert_eq!((none.days[0].checkouts, none.days[0].paid), (1, 0));
    assert!(none.providers.is_empty());
}

//! What one caller of any [`Store`] sees: each function here is one contract test, run on
//! every backend by `contract!` (see the parent module).

use shared::{
    api::{DeliveryState, EventType, WebhookEvent},
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Currency,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};

use super::{
    Db,
    build::{
        PRICE, attempt, checkout, merchant_key, notification, paid_checkout, refund, refused_sample, update,
    },
    now_ms, now_secs,
};
use crate::{
    config::Mode,
    store::{
        AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, DeliveryOutcome,
        IdempotencyBegin, Inserted, LimitReached, NotificationRecord, NotificationState, RefusedCount,
        Reported, StatusChange, StoreError,
    },
};

fn create() -> Cause {
    Cause::Api("create")
}

fn pay() -> Cause {
    Cause::Api("pay")
}

fn poll() -> Cause {
    Cause::Poll(Provider::NovaSend)
}

fn by(notification: &str) -> Cause {
    Cause::Webhook(Provider::NovaSend, notification.to_owned())
}

pub(super) async fn a_checkout_keeps_its_mode(db: &Db) {
    let s = db.store();
    let live = CheckoutRecord { livemode: true, ..checkout("co_live", "order-live") };
    s.insert_checkout(&live, &create()).await.unwrap();
    s.insert_checkout(&checkout("co_test", "order-test"), &create()).await.unwrap();
    assert_eq!(s.checkout("co_live").await.unwrap(), Some(live));
    assert!(!s.checkout("co_test").await.unwrap().unwrap().livemode);
    assert_eq!(s.checkout("co_none").await.unwrap(), None);
}

pub(super) async fn duplicate_reference_is_a_conflict(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "order-1"), &create()).await.unwrap();
    let err = s.insert_checkout(&checkout("co_2", "order-1"), &create()).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(s.checkout("co_2").await.unwrap(), None, "nothing of the refused checkout is stored");
    assert_eq!(s.history("co_2").await.unwrap(), []);
}

pub(super) async fn one_live_attempt_per_checkout(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    let second = s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    assert_eq!(s.attempts("co_1").await.unwrap().len(), 1);
    // A paid checkout takes no attempt either, nor does an unknown one.
    s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    let after = s.start_attempt(&attempt("at_3", "co_1"), 0, &pay()).await;
    assert!(matches!(after, Err(StoreError::Conflict(_))), "{after:?}");
    let unknown = s.start_attempt(&attempt("at_4", "co_none"), 0, &pay()).await;
    assert!(matches!(unknown, Err(StoreError::Conflict(_))), "{unknown:?}");
    assert_eq!(s.attempt("at_4").await.unwrap(), None);
}

pub(super) async fn checkout_attempts_and_refused_codes_are_capped(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    let limits = AttemptLimits {
        per_checkout: 4,
        otp_failures_per_checkout: 3,
        per_phone: 100,
        phone_window_secs: 900,
    };
    let orange = |id: &str| AttemptRecord { method: PaymentMethod::OrangeMoney, ..attempt(id, "co_1") };
    // Three codes refused: at the start (OTP_REQUIRED), by the payin read as a refused code
    // (OTP_REFUSED), then by a payin declined otherwise (PAYMENT_REFUSED).
    for (id, code) in [
        ("at_1", ErrorCode::OtpRequired),
        ("at_2", ErrorCode::OtpRefused),
        ("at_3", ErrorCode::PaymentRefused),
    ] {
        assert_eq!(s.start_attempt_limited(&orange(id), 0, &pay(), &limits).await.unwrap(), Ok(()));
        s.update_attempt(id, &AttemptUpdate::new(AttemptStatus::Failed, Some(code)), &Cause::Api("t"))
            .await
            .unwrap();
    }
    let refused = s.start_attempt_limited(&orange("at_4"), 0, &pay(), &limits).await.unwrap();
    assert_eq!(refused, Err(LimitReached::OtpFailures));
    // Mobile money is still open, once: the checkout then has its four attempts.
    assert_eq!(s.start_attempt_limited(&attempt("at_5", "co_1"), 0, &pay(), &limits).await.unwrap(), Ok(()));
    s.update_attempt("at_5", &update(AttemptStatus::Failed), &Cause::Api("t")).await.unwrap();
    let refused = s.start_attempt_limited(&attempt("at_6", "co_1"), 0, &pay(), &limits).await.unwrap();
    assert_eq!(refused, Err(LimitReached::CheckoutAttempts));
    assert_eq!(s.attempts("co_1").await.unwrap().len(), 4, "a refused attempt writes nothing");
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Open);
}

pub(super) async fn late_updates_never_undo_success(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    let ok = s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &by("wh_1")).await.unwrap();
    assert_eq!(ok.attempt, Some((AttemptStatus::Created, AttemptStatus::Succeeded)));
    assert_eq!(ok.checkout, Some((CheckoutStatus::Processing, CheckoutStatus::Succeeded)));
    for late in [
        AttemptStatus::AwaitingCustomer,
        AttemptStatus::Authorized,
        AttemptStatus::Failed,
        AttemptStatus::Expired,
        AttemptStatus::Review,
        AttemptStatus::Succeeded,
    ] {
        let applied = s.update_attempt("at_1", &update(late), &by("wh_2")).await.unwrap();
        assert!(!applied.changed(), "{late:?} changed something: {applied:?}");
    }
    assert_eq!(s.attempt("at_1").await.unwrap().unwrap().status, AttemptStatus::Succeeded);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Succeeded);
    let history = s.history("co_1").await.unwrap();
    assert_eq!(history.last().unwrap().to, "succeeded");
    assert_eq!(history.last().unwrap().cause, "webhook:nova_send:wh_1");
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::CheckoutSucceeded], "stale updates tell the merchant nothing");
    let unknown = s.update_attempt("at_none", &update(AttemptStatus::Failed), &poll()).await;
    assert!(matches!(unknown, Err(StoreError::Conflict(_))), "{unknown:?}");
}

pub(super) async fn a_failed_attempt_reopens_the_checkout(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    let failed = s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    assert_eq!(failed.checkout, Some((CheckoutStatus::Processing, CheckoutStatus::Open)));
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Open);
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    assert_eq!(s.attempts("co_1").await.unwrap().len(), 2);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Processing);
}

pub(super) async fn a_second_paid_attempt_is_recorded_and_reported_as_overpaid(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    // The first attempt's failure is reversed by the provider: the customer paid twice.
    let late = s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    assert_eq!(late.attempt, Some((AttemptStatus::Failed, AttemptStatus::Succeeded)));
    assert_eq!(late.checkout, None, "the checkout stays succeeded");
    let events = s.checkout_events("co_1").await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::AttemptFailed, EventType::CheckoutSucceeded, EventType::CheckoutOverpaid]);
    let overpaid: WebhookEvent = serde_json::from_str(&events[2].payload).unwrap();
    assert_eq!(overpaid.data.attempt.map(|a| a.id).as_deref(), Some("at_1"));
    let named: Vec<_> = overpaid.data.paid_attempts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(named, ["at_1", "at_2"]);

    // Refunds are capped per attempt: each paid attempt can be given back in full.
    let cap = s.start_refund(&refund("rf_1", "co_1", "at_2", PRICE + 1), &Cause::Api("refund")).await;
    assert!(matches!(cap, Err(StoreError::Rule(ErrorCode::InvalidRefundAmount))), "{cap:?}");
    s.start_refund(&refund("rf_1", "co_1", "at_2", PRICE), &Cause::Api("refund")).await.unwrap();
    let again = s.start_refund(&refund("rf_2", "co_1", "at_2", 1), &Cause::Api("refund")).await;
    assert!(matches!(again, Err(StoreError::Rule(ErrorCode::RefundNotAllowed))), "{again:?}");
    s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &Cause::Api("refund")).await.unwrap();
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::PartiallyRefunded);
    s.start_refund(&refund("rf_3", "co_1", "at_1", PRICE), &Cause::Api("refund")).await.unwrap();
    s.finish_refund("rf_3", RefundStatus::Succeeded, None, None, &Cause::Api("refund")).await.unwrap();
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Refunded);
}

pub(super) async fn an_attempt_not_paid_cannot_be_refunded(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    // Not paid yet: nothing can be refunded.
    let early = s.start_refund(&refund("rf_0", "co_1", "at_2", 100), &Cause::Api("refund")).await;
    assert!(matches!(early, Err(StoreError::Rule(ErrorCode::RefundNotAllowed))), "{early:?}");
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    let refused = s.start_refund(&refund("rf_1", "co_1", "at_1", 100), &Cause::Api("refund")).await;
    assert!(matches!(refused, Err(StoreError::Rule(ErrorCode::RefundNotAllowed))), "{refused:?}");
    assert_eq!(s.refunds("co_1").await.unwrap(), []);
}

pub(super) async fn a_review_keeps_what_was_reported_and_tells_the_merchant(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    let reported = Reported::read(Some("153.00"), Some("XOF"), Currency::Xof, Some("key-at_1"));
    let review = AttemptUpdate { reported: reported.clone(), ..update(AttemptStatus::Review) };
    let applied = s.update_attempt("at_1", &review, &poll()).await.unwrap();
    assert_eq!(applied.attempt, Some((AttemptStatus::Created, AttemptStatus::Review)));
    assert_eq!(applied.checkout, None, "the checkout stays processing");
    let a = s.attempt("at_1").await.unwrap().unwrap();
    assert_eq!(a.reported, Some(reported.clone()));
    // Nothing pays it afterwards.
    s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    assert_eq!(s.attempt("at_1").await.unwrap().unwrap().status, AttemptStatus::Review);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Processing);
    let events = s.checkout_events("co_1").await.unwrap();
    assert_eq!(events.len(), 1);
    let event: WebhookEvent = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(event.kind, EventType::AttemptAmountMismatch);
    let mismatch = event.data.mismatch.unwrap();
    assert_eq!((mismatch.expected.amount, mismatch.expected.reference.as_str()), (PRICE, "key-at_1"));
    assert_eq!(mismatch.reported, reported);
}

pub(super) async fn reads_show_a_checkout_with_its_attempts(db: &Db) {
    let s = db.store();
    let c = checkout("co_1", "o");
    s.insert_checkout(&c, &create()).await.unwrap();
    assert_eq!(s.checkout_with_latest_attempt("co_1").await.unwrap(), Some((c.clone(), None)));
    assert_eq!(s.checkout_with_attempts("co_1").await.unwrap(), Some((c.clone(), Vec::new())));
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    // A second attempt in the same second: the order is the order they were stored in.
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();

    let processing = CheckoutRecord { status: CheckoutStatus::Processing, ..c.clone() };
    let first = AttemptRecord { status: AttemptStatus::Failed, ..attempt("at_1", "co_1") };
    let second = attempt("at_2", "co_1");
    let strip = |a: AttemptRecord| AttemptRecord { created_at: 0, updated_at: 0, ..a };
    let (read, latest) = s.checkout_with_latest_attempt("co_1").await.unwrap().unwrap();
    assert_eq!(read, processing);
    assert_eq!(latest.map(strip), Some(strip(second.clone())));
    let (read, all) = s.checkout_with_attempts("co_1").await.unwrap().unwrap();
    assert_eq!(read, processing);
    assert_eq!(all.into_iter().map(strip).collect::<Vec<_>>(), [strip(first.clone()), strip(second.clone())]);
    let ids: Vec<_> = s.attempts("co_1").await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(ids, ["at_1", "at_2"], "oldest first");
    assert_eq!(s.attempt("at_2").await.unwrap().map(strip), Some(strip(second)));

    // Found by our reference or the provider's, for its own provider only.
    let with_ref = AttemptUpdate {
        provider_reference: Some("nova-77".into()),
        ..update(AttemptStatus::AwaitingCustomer)
    };
    s.update_attempt("at_2", &with_ref, &poll()).await.unwrap();
    let found = |p, r: &'static str| {
        let s = s.clone();
        async move { s.attempt_by_reference(p, r).await.unwrap().map(|a| a.id) }
    };
    assert_eq!(found(Provider::NovaSend, "key-at_1").await.as_deref(), Some("at_1"));
    assert_eq!(found(Provider::NovaSend, "nova-77").await.as_deref(), Some("at_2"));
    assert_eq!(found(Provider::Scalapay, "nova-77").await, None);
    assert_eq!(found(Provider::Scalapay, "key-at_1").await, None);
    assert_eq!(found(Provider::NovaSend, "nothing").await, None);

    for none in [
        s.checkout_with_latest_attempt("co_none").await.unwrap().map(|_| ()),
        s.checkout_with_attempts("co_none").await.unwrap().map(|_| ()),
        s.attempt("at_none").await.unwrap().map(|_| ()),
    ] {
        assert_eq!(none, None);
    }
    assert_eq!(s.attempts("co_none").await.unwrap(), []);
}

pub(super) async fn references_and_links_keep_the_first_given(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    let given = |reference: &str, url: &str, status| AttemptUpdate {
        provider_reference: Some(reference.into()),
        payment_url: Some(url.into()),
        ..update(status)
    };
    s.update_attempt(
        "at_1",
        &given("p-1", "https://pay.example/1", AttemptStatus::AwaitingCustomer),
        &poll(),
    )
    .await
    .unwrap();
    // A repeated state changes no state, and no fact already known either.
    let again = s
        .update_attempt(
            "at_1",
            &given("p-2", "https://pay.example/2", AttemptStatus::AwaitingCustomer),
            &poll(),
        )
        .await
        .unwrap();
    assert!(!again.changed());
    let a = s.attempt("at_1").await.unwrap().unwrap();
    assert_eq!(
        (a.status, a.provider_reference.as_deref(), a.payment_url.as_deref()),
        (AttemptStatus::AwaitingCustomer, Some("p-1"), Some("https://pay.example/1"))
    );
}

pub(super) async fn history_lists_every_change_oldest_first_with_its_cause(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &Cause::ProviderResponse(Provider::NovaSend))
        .await
        .unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &Cause::Routed(Provider::NovaSend, "preferred".into()))
        .await
        .unwrap();
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &by("wh_9")).await.unwrap();
    s.start_refund(&refund("rf_1", "co_1", "at_2", 1000), &Cause::Api("refund")).await.unwrap();
    s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &poll()).await.unwrap();

    let seen: Vec<_> = s
        .history("co_1")
        .await
        .unwrap()
        .into_iter()
        .map(|StatusChange { attempt_id, from, to, cause, .. }| (attempt_id, from, to, cause))
        .collect();
    let line = |a: Option<&str>, from: Option<&str>, to: &str, cause: &str| {
        (a.map(str::to_owned), from.map(str::to_owned), to.to_owned(), cause.to_owned())
    };
    assert_eq!(
        seen,
        [
            line(None, None, "open", "api:create"),
            line(Some("at_1"), None, "created", "api:pay"),
            line(None, Some("open"), "processing", "api:pay"),
            line(Some("at_1"), Some("created"), "failed", "provider_response:nova_send"),
            line(None, Some("processing"), "open", "provider_response:nova_send"),
            line(Some("at_2"), None, "created", "api:pay:route:nova_send:preferred"),
            line(None, Some("open"), "processing", "api:pay:route:nova_send:preferred"),
            line(Some("at_2"), Some("created"), "succeeded", "webhook:nova_send:wh_9"),
            line(None, Some("processing"), "succeeded", "webhook:nova_send:wh_9"),
            line(None, None, "refund rf_1 pending", "api:refund"),
            line(None, Some("refund rf_1 pending"), "refund rf_1 succeeded", "poll:nova_send"),
            line(None, Some("succeeded"), "partially_refunded", "poll:nova_send"),
        ]
    );
    assert_eq!(s.history("co_none").await.unwrap(), []);
}

pub(super) async fn only_open_checkouts_past_their_deadline_expire(db: &Db) {
    let s = db.store();
    let now = now_secs();
    let due = |id: &str, expires_at| CheckoutRecord { expires_at, ..checkout(id, &format!("order-{id}")) };
    s.insert_checkout(&due("co_past", now - 10), &create()).await.unwrap();
    s.insert_checkout(&due("co_now", now), &create()).await.unwrap();
    s.insert_checkout(&due("co_later", now + 1), &create()).await.unwrap();
    // Paying when its deadline passes: the provider's answer decides, not the deadline.
    s.insert_checkout(&due("co_paying", now - 10), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_paying"), 0, &pay()).await.unwrap();

    let mut expired = s.expire_checkouts(now).await.unwrap();
    expired.sort();
    assert_eq!(expired, ["co_now", "co_past"]);
    assert_eq!(s.expire_checkouts(now).await.unwrap(), Vec::<String>::new(), "each expires once");
    for (id, status) in [
        ("co_past", CheckoutStatus::Expired),
        ("co_now", CheckoutStatus::Expired),
        ("co_later", CheckoutStatus::Open),
        ("co_paying", CheckoutStatus::Processing),
    ] {
        assert_eq!(s.checkout(id).await.unwrap().unwrap().status, status, "{id}");
    }
    let last = s.history("co_past").await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from.as_deref(), last.to.as_str(), last.cause.as_str()),
        (Some("open"), "expired", "expiry")
    );
    let kinds: Vec<_> = s.checkout_events("co_past").await.unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::CheckoutExpired]);
    // An expired checkout takes no new payment.
    let late = s.start_attempt(&attempt("at_2", "co_past"), 0, &pay()).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
}

pub(super) async fn due_attempts_are_listed_soonest_first_and_each_fetch_counted_once(db: &Db) {
    let s = db.store();
    for (i, first_poll) in [(1, 3_000), (2, 1_000), (3, 2_000), (4, 9_000)] {
        let id = format!("co_{i}");
        s.insert_checkout(&checkout(&id, &format!("o{i}")), &create()).await.unwrap();
        s.start_attempt(&attempt(&format!("at_{i}"), &id), first_poll, &pay()).await.unwrap();
    }
    // at_3 is waiting for the customer (still pending), at_1 has ended: no more fetches.
    s.update_attempt("at_3", &update(AttemptStatus::AwaitingCustomer), &poll()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    let due = |now, limit| {
        let s = s.clone();
        async move {
            s.due_attempts(now, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|(a, polls)| (a.id, polls))
                .collect::<Vec<_>>()
        }
    };
    let pair = |id: &str, polls: u32| (id.to_owned(), polls);
    assert_eq!(due(5_000, 10).await, [pair("at_2", 0), pair("at_3", 0)]);
    assert_eq!(due(5_000, 1).await, [pair("at_2", 0)]);
    assert_eq!(due(999, 10).await, []);

    // The fetch is counted by whoever saw its count; the next one is due when set.
    assert!(s.claim_poll("at_2", 0, 8_000).await.unwrap());
    assert!(!s.claim_poll("at_2", 0, 8_000).await.unwrap(), "counted already");
    assert_eq!(due(5_000, 10).await, [pair("at_3", 0)]);
    assert_eq!(due(8_000, 10).await, [pair("at_3", 0), pair("at_2", 1)]);
    assert!(s.claim_poll("at_2", 1, 20_000).await.unwrap());
    assert_eq!(due(10_000, 10).await, [pair("at_3", 0), pair("at_4", 0)]);
    assert_eq!(due(20_000, 10).await, [pair("at_3", 0), pair("at_4", 0), pair("at_2", 2)]);
}

pub(super) async fn a_cancelled_attempt_is_fetched_within_its_window_and_not_after(db: &Db) {
    let s = db.store();
    for i in 1..=3 {
        let id = format!("co_{i}");
        s.insert_checkout(&checkout(&id, &format!("o{i}")), &create()).await.unwrap();
        s.start_attempt(&attempt(&format!("at_{i}"), &id), 0, &pay()).await.unwrap();
    }
    // at_1: the customer cancels it; at_2: the provider declines it; at_3: still pending.
    let before = now_ms();
    let cancel = AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled));
    s.update_attempt("at_1", &cancel, &Cause::Api("cancel")).await.unwrap();
    let after = now_ms();
    let declined = AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::PaymentRefused));
    s.update_attempt("at_2", &declined, &poll()).await.unwrap();
    // The provider's own word that the customer cancelled is final: not fetched either.
    s.insert_checkout(&checkout("co_4", "o4"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_4", "co_4"), 0, &pay()).await.unwrap();
    s.update_attempt("at_4", &cancel, &poll()).await.unwrap();
    let due = |now| {
        let s = s.clone();
        async move {
            let mut due: Vec<_> =
                s.due_attempts(now, 10).await.unwrap().into_iter().map(|(a, polls)| (a.id, polls)).collect();
            due.sort();
            due
        }
    };
    let pair = |id: &str, polls: u32| (id.to_owned(), polls);
    let window = crate::store::plan::CANCELLED_POLL_WINDOW_S * 1000;
    assert_eq!(due(after).await, [pair("at_1", 0), pair("at_3", 0)]);
    assert_eq!(due(before + window - 1).await, [pair("at_1", 0), pair("at_3", 0)], "within its window");
    assert_eq!(due(after + window).await, [pair("at_3", 0)], "its window is over");
    assert_eq!(due(i64::MAX).await, [pair("at_3", 0)]);

    // Its fetches are claimed and paced like a pending attempt's.
    let now = now_ms();
    assert!(s.claim_poll("at_1", 0, now + 5_000).await.unwrap());
    assert!(!s.claim_poll("at_1", 0, now + 5_000).await.unwrap(), "counted already");
    assert_eq!(due(now).await, [pair("at_3", 0)]);
    assert_eq!(due(now + 5_000).await, [pair("at_1", 1), pair("at_3", 0)]);
    // A late confirmation pays it, and then it is fetched no more.
    let applied = s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    assert_eq!(applied.attempt, Some((AttemptStatus::Failed, AttemptStatus::Succeeded)));
    assert_eq!(due(now + 5_000).await, [pair("at_3", 0)]);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Succeeded);
}

pub(super) async fn an_unverifiable_notification_only_brings_a_fetch_forward(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 10_000, &pay()).await.unwrap();
    s.poll_no_later_than("at_1", 20_000).await.unwrap();
    assert_eq!(s.due_attempts(10_000, 10).await.unwrap().len(), 1, "not delayed");
    s.poll_no_later_than("at_1", 5_000).await.unwrap();
    assert_eq!(s.due_attempts(5_000, 10).await.unwrap().len(), 1, "brought forward");
    assert!(s.due_attempts(4_999, 10).await.unwrap().is_empty());
}

pub(super) async fn each_state_change_writes_one_event_in_its_transaction(db: &Db) {
    let s = db.store();
    let live = CheckoutRecord { livemode: true, ..checkout("co_1", "order-1") };
    s.insert_checkout(&live, &create()).await.unwrap();
    let cause = by("wh_test");
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &cause).await.unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &cause).await.unwrap();
    // Repeated news changes nothing, so it reports nothing.
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &cause).await.unwrap();
    s.start_refund(&refund("rf_1", "co_1", "at_2", PRICE), &Cause::Api("refund")).await.unwrap();
    let cause = Cause::ProviderResponse(Provider::NovaSend);
    s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &cause).await.unwrap();
    let again = s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &cause).await.unwrap();
    assert!(!again.changed());

    let events = s.checkout_events("co_1").await.unwrap();
    let kinds: Vec<EventType> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventType::AttemptFailed,
            EventType::CheckoutSucceeded,
            EventType::RefundSucceeded,
            EventType::CheckoutRefunded
        ]
    );
    let paid: WebhookEvent = serde_json::from_str(&events[1].payload).unwrap();
    assert_eq!(paid.kind, EventType::CheckoutSucceeded);
    assert_eq!(paid.data.checkout.reference, "order-1");
    assert_eq!(paid.data.checkout.amount, PRICE);
    assert_eq!(paid.data.checkout.status, CheckoutStatus::Succeeded);
    assert_eq!(paid.data.attempt.unwrap().id, "at_2");
    let failed: WebhookEvent = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(failed.data.attempt.unwrap().status, AttemptStatus::Failed);
    assert_eq!(failed.data.checkout.status, CheckoutStatus::Open, "the event shows the checkout reopened");
    let refunded: WebhookEvent = serde_json::from_str(&events[2].payload).unwrap();
    assert_eq!(refunded.data.refund.unwrap().amount, PRICE);
    assert!(events.iter().all(|e| e.id.starts_with("evt_") && e.state == DeliveryState::Pending));
    for e in &events {
        // Every payload says the checkout is live, as stored; each event is readable alone.
        let json: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        assert_eq!(json["livemode"], serde_json::Value::Bool(true), "{}", e.payload);
        assert_eq!(s.event(&e.id).await.unwrap().as_ref(), Some(e));
    }
    assert_eq!(s.event("evt_none").await.unwrap(), None);
}

pub(super) async fn a_failed_refund_frees_its_amount_and_a_discarded_one_leaves_no_trace(db: &Db) {
    let s = db.store();
    let paid = paid_checkout(s.as_ref(), "co_1").await;
    s.start_refund(&refund("rf_1", "co_1", &paid, 3000), &Cause::Api("refund")).await.unwrap();
    // Pending refunds count: 3000 pending leaves 2000.
    let over = s.start_refund(&refund("rf_2", "co_1", &paid, 2001), &Cause::Api("refund")).await;
    assert!(matches!(over, Err(StoreError::Rule(ErrorCode::InvalidRefundAmount))), "{over:?}");
    let failed = s
        .finish_refund(
            "rf_1",
            RefundStatus::Failed,
            Some(ErrorCode::ProviderUnavailable),
            Some("p-rf"),
            &poll(),
        )
        .await
        .unwrap();
    assert_eq!(failed.checkout, None, "a failed refund leaves the checkout paid");
    let r = s.refund("rf_1").await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.failure, r.provider_reference.as_deref(), r.amount.minor()),
        (RefundStatus::Failed, Some(ErrorCode::ProviderUnavailable), Some("p-rf"), 3000)
    );
    let late = s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &poll()).await.unwrap();
    assert!(!late.changed(), "a refund ends once");
    assert_eq!(s.refund("rf_1").await.unwrap().unwrap().status, RefundStatus::Failed);

    // Its amount is free again; a refund the provider could not consider is discarded whole.
    s.start_refund(&refund("rf_3", "co_1", &paid, PRICE), &Cause::Api("refund")).await.unwrap();
    s.discard_refund("rf_3").await.unwrap();
    assert_eq!(s.refund("rf_3").await.unwrap(), None);
    assert!(s.history("co_1").await.unwrap().iter().all(|h| !h.to.contains("rf_3")), "no trace of rf_3");
    // A discard of an ended refund does nothing.
    s.discard_refund("rf_1").await.unwrap();
    let ids: Vec<_> = s.refunds("co_1").await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["rf_1"]);
    s.start_refund(&refund("rf_4", "co_1", &paid, PRICE), &Cause::Api("refund")).await.unwrap();
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::CheckoutSucceeded, EventType::RefundFailed]);
    let ids: Vec<_> = s.refunds("co_1").await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["rf_1", "rf_4"], "oldest first");
    assert_eq!(s.refund("rf_none").await.unwrap(), None);
    let unknown = s.finish_refund("rf_none", RefundStatus::Succeeded, None, None, &poll()).await;
    assert!(matches!(unknown, Err(StoreError::Conflict(_))), "{unknown:?}");
}

pub(super) async fn pending_refunds_are_followed_up_once_per_count(db: &Db) {
    let s = db.store();
    let paid = paid_checkout(s.as_ref(), "co_1").await;
    let started = now_ms();
    s.start_refund(&refund("rf_1", "co_1", &paid, 1000), &Cause::Api("refund")).await.unwrap();
    s.start_refund(&refund("rf_2", "co_1", &paid, 1000), &Cause::Api("refund")).await.unwrap();
    let due = |at, limit| {
        let s = s.clone();
        async move {
            s.due_refunds(at, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|(r, checks)| (r.id, checks))
                .collect::<Vec<_>>()
        }
    };
    // Not before the first check: a request that is still running ends its refund itself.
    assert_eq!(due(started, 10).await, []);
    let later = started + 2 * crate::store::REFUND_FIRST_CHECK_MS;
    assert_eq!(due(later, 10).await.len(), 2);
    assert_eq!(due(later, 1).await.len(), 1);

    // A follow-up is claimed by whoever saw its count; a plain reschedule counts nothing.
    assert!(s.schedule_refund_check("rf_1", Some(0), later + 1_000).await.unwrap());
    assert!(!s.schedule_refund_check("rf_1", Some(0), later + 1_000).await.unwrap(), "counted already");
    assert_eq!(due(later, 10).await, [("rf_2".to_owned(), 0)]);
    assert_eq!(due(later + 1_000, 10).await, [("rf_2".to_owned(), 0), ("rf_1".to_owned(), 1)]);
    assert!(s.schedule_refund_check("rf_2", None, later + 5_000).await.unwrap());
    assert_eq!(due(later + 1_000, 10).await, [("rf_1".to_owned(), 1)]);
    assert_eq!(due(later + 5_000, 10).await, [("rf_1".to_owned(), 1), ("rf_2".to_owned(), 0)]);
    // An ended refund is no longer followed up.
    s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &poll()).await.unwrap();
    assert!(!s.schedule_refund_check("rf_1", Some(1), later + 9_000).await.unwrap());
    assert!(!s.schedule_refund_check("rf_1", None, later + 9_000).await.unwrap());
    assert_eq!(due(later + 10_000, 10).await, [("rf_2".to_owned(), 0)]);
}

pub(super) async fn a_delivery_is_claimed_by_one_sender_at_a_time(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    let now = now_ms() + 1_000;
    let first = s.claim_deliveries(now, 10_000, 10).await.unwrap();
    assert_eq!(first.len(), 2);
    let events = s.checkout_events("co_1").await.unwrap();
    assert_eq!(
        first.iter().map(|d| (d.event_id.as_str(), d.payload.as_str(), d.attempts)).collect::<Vec<_>>(),
        events.iter().map(|e| (e.id.as_str(), e.payload.as_str(), 0)).collect::<Vec<_>>(),
        "the due deliveries, oldest first"
    );
    assert!(s.claim_deliveries(now, 10_000, 10).await.unwrap().is_empty(), "leased");
    let d = &first[1];
    // A late result of a lost claim changes nothing.
    s.finish_delivery(&d.event_id, "not-the-claim", &DeliveryOutcome::Delivered { status: 200 }, now)
        .await
        .unwrap();
    assert_eq!(s.event(&d.event_id).await.unwrap().unwrap().state, DeliveryState::Pending);
    let retry = DeliveryOutcome::Retry { at_ms: now + 50, status: Some(500), error: None };
    s.finish_delivery(&d.event_id, &d.claim, &retry, now).await.unwrap();
    let e = s.event(&d.event_id).await.unwrap().unwrap();
    assert_eq!(
        (e.state, e.attempts, e.next_attempt_at_ms, e.last_status),
        (DeliveryState::Pending, 1, now + 50, Some(500))
    );
    assert!(s.claim_deliveries(now + 49, 10_000, 10).await.unwrap().is_empty(), "not due before its retry");
    let again = s.claim_deliveries(now + 50, 10_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].event_id.as_str(), again[0].attempts), (d.event_id.as_str(), 1));
    assert_ne!(again[0].claim, d.claim, "each claim has its own token");
    s.finish_delivery(&d.event_id, &again[0].claim, &DeliveryOutcome::Delivered { status: 204 }, now)
        .await
        .unwrap();
    let e = s.event(&d.event_id).await.unwrap().unwrap();
    assert_eq!((e.state, e.attempts, e.last_status), (DeliveryState::Delivered, 2, Some(204)));
    // The claim was used: a second result of it changes nothing.
    let twice = DeliveryOutcome::Failed { status: Some(500), error: None };
    s.finish_delivery(&d.event_id, &again[0].claim, &twice, now).await.unwrap();
    assert_eq!(s.event(&d.event_id).await.unwrap().unwrap().state, DeliveryState::Delivered);

    // After the lease, an unfinished claim (a process that died mid-send) is claimed again.
    let expired = s.claim_deliveries(now + 10_001, 10_000, 10).await.unwrap();
    assert_eq!(expired.iter().map(|c| c.event_id.as_str()).collect::<Vec<_>>(), [first[0].event_id.as_str()]);
    let failed = DeliveryOutcome::Failed { status: None, error: Some("connection refused".into()) };
    s.finish_delivery(&expired[0].event_id, &expired[0].claim, &failed, now + 10_002).await.unwrap();
    let e = s.event(&expired[0].event_id).await.unwrap().unwrap();
    assert_eq!(
        (e.state, e.attempts, e.last_error.as_deref()),
        (DeliveryState::Failed, 1, Some("connection refused"))
    );
    assert!(s.claim_deliveries(now + 100_000, 10_000, 10).await.unwrap().is_empty(), "nothing left to send");

    // A redelivery is due at once, with the same event id and a fresh count.
    assert!(s.redeliver(&d.event_id, now + 20_000).await.unwrap());
    assert!(!s.redeliver("evt_nope", now).await.unwrap());
    let e = s.event(&d.event_id).await.unwrap().unwrap();
    assert_eq!((e.state, e.attempts), (DeliveryState::Pending, 0));
    let resent = s.claim_deliveries(now + 20_000, 10_000, 10).await.unwrap();
    assert_eq!(resent.iter().map(|c| c.event_id.as_str()).collect::<Vec<_>>(), [d.event_id.as_str()]);
}

pub(super) async fn an_idempotency_key_runs_once(db: &Db) {
    let s = db.store();
    let begin = |path: &'static str, hash: &'static str, now: i64, take_over: bool| {
        let s = s.clone();
        async move { s.idempotency_begin("k1", path, hash, now, now - 1000, take_over).await.unwrap() }
    };
    assert_eq!(begin("POST /a", "h", 0, true).await, IdempotencyBegin::Started);
    assert_eq!(begin("POST /a", "h", 10, true).await, IdempotencyBegin::InProgress);
    assert_eq!(begin("POST /a", "other", 10, true).await, IdempotencyBegin::Mismatch);
    assert_eq!(begin("POST /b", "h", 10, true).await, IdempotencyBegin::Mismatch);
    // Stale: refused where running twice is unsafe, taken over where it is safe.
    assert_eq!(begin("POST /a", "h", 5000, false).await, IdempotencyBegin::Interrupted);
    assert_eq!(begin("POST /a", "h", 5000, true).await, IdempotencyBegin::Started);
    assert_eq!(begin("POST /a", "h", 5001, true).await, IdempotencyBegin::InProgress);
    s.idempotency_finish("k1", 201, b"{\"id\":1}", 5002).await.unwrap();
    let done = IdempotencyBegin::Done { status: 201, body: b"{\"id\":1}".to_vec() };
    assert_eq!(begin("POST /a", "h", 99_999, false).await, done);
    assert_eq!(begin("POST /a", "h", 99_999, true).await, done, "a stored response is never taken over");
    assert_eq!(begin("POST /a", "other", 99_999, true).await, IdempotencyBegin::Mismatch);
    // A stored response stays: a second finish or a release changes nothing.
    s.idempotency_finish("k1", 500, b"late", 6000).await.unwrap();
    s.idempotency_release("k1").await.unwrap();
    assert_eq!(begin("POST /a", "h", 99_999, false).await, done);
    // Released keys run again; purged keys are forgotten.
    s.idempotency_begin("k2", "POST /a", "h", 0, -1000, false).await.unwrap();
    s.idempotency_release("k2").await.unwrap();
    assert_eq!(
        s.idempotency_begin("k2", "POST /a", "h", 1, -999, false).await.unwrap(),
        IdempotencyBegin::Started
    );
    assert_eq!(s.idempotency_purge(2).await.unwrap(), 1, "k2, reserved at 1 (k1 was reserved again at 5000)");
    assert_eq!(s.idempotency_purge(10_000).await.unwrap(), 1);
    assert_eq!(begin("POST /b", "other", 100_000, false).await, IdempotencyBegin::Started, "forgotten");
}

pub(super) async fn a_notifications_update_marks_it_processed_in_the_same_transaction(db: &Db) {
    let s = db.store();
    s.insert_checkout(&checkout("co_1", "o-1"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.inbox_insert(&notification("wh_1", "k1", true)).await.unwrap();
    s.inbox_insert(&notification("wh_2", "k2", true)).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &by("wh_1")).await.unwrap();
    // The same news again changes nothing, and says so.
    s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &by("wh_2")).await.unwrap();
    assert!(s.inbox_due(10).await.unwrap().is_empty());
    let all = s.notifications(Some(Provider::NovaSend)).await.unwrap();
    let seen: Vec<_> =
        all.iter().map(|n| (n.id.as_str(), n.state, n.outcome.as_deref(), n.attempts)).collect();
    assert_eq!(
        seen,
        [
            ("wh_1", NotificationState::Processed, Some("applied"), 1),
            ("wh_2", NotificationState::Processed, Some("unchanged"), 1),
        ]
    );
    assert!(all.iter().all(|n| n.processed_at_ms.is_some()));
    // A processed notification is processed once: marking it again changes nothing.
    s.inbox_processed("wh_1", "fetched").await.unwrap();
    let first = s.notifications(None).await.unwrap().remove(0);
    assert_eq!((first.outcome.as_deref(), first.attempts), (Some("applied"), 1));
}

pub(super) async fn the_inbox_keeps_one_notification_per_key_and_a_forgery_shadows_nothing(db: &Db) {
    let s = db.store();
    // A forged copy first: refused, kept without a key.
    assert_eq!(s.inbox_insert(&notification("wh_0", "k", false)).await.unwrap(), Inserted::New);
    assert_eq!(s.inbox_insert(&notification("wh_1", "k", true)).await.unwrap(), Inserted::New);
    assert_eq!(
        s.inbox_insert(&notification("wh_2", "k", true)).await.unwrap(),
        Inserted::Duplicate { of: "wh_1".into() }
    );
    // One key per provider: another provider's notification with this key is its own.
    let other = NotificationRecord { provider: Provider::Scalapay, ..notification("wh_3", "k", true) };
    assert_eq!(s.inbox_insert(&other).await.unwrap(), Inserted::New);
    let due = s.inbox_due(10).await.unwrap();
    assert_eq!(due.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["wh_1", "wh_3"], "oldest first");
    assert_eq!(due[0].update, Some(update(AttemptStatus::Succeeded)));
    assert_eq!(s.inbox_due(1).await.unwrap().len(), 1);
    s.inbox_retry("wh_1", "boom", 3).await.unwrap();
    s.inbox_processed("wh_1", "applied").await.unwrap();
    assert_eq!(s.inbox_due(10).await.unwrap().iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["wh_3"]);
    let all = s.notifications(Some(Provider::NovaSend)).await.unwrap();
    let states: Vec<_> = all.iter().map(|n| (n.id.as_str(), n.state, n.dedup_key.is_some())).collect();
    assert_eq!(
        states,
        [
            ("wh_0", NotificationState::Refused, false),
            ("wh_1", NotificationState::Processed, true),
            ("wh_2", NotificationState::Duplicate, false),
        ]
    );
    assert_eq!(
        (all[1].attempts, all[1].outcome.as_deref(), all[1].last_error.as_deref()),
        (2, Some("applied"), Some("boom"))
    );
    assert_eq!(all[2].duplicate_of.as_deref(), Some("wh_1"));
    assert_eq!(s.notifications(Some(Provider::Scalapay)).await.unwrap().len(), 1);
    assert_eq!(s.notifications(None).await.unwrap().len(), 4);
}

pub(super) async fn a_notification_that_keeps_failing_is_given_up(db: &Db) {
    let s = db.store();
    s.inbox_insert(&notification("wh_1", "k", true)).await.unwrap();
    for _ in 0..3 {
        s.inbox_retry("wh_1", "boom", 3).await.unwrap();
    }
    assert!(s.inbox_due(10).await.unwrap().is_empty());
    // A given-up notification is not retried any more.
    s.inbox_retry("wh_1", "again", 3).await.unwrap();
    let n = s.notifications(None).await.unwrap().remove(0);
    assert_eq!((n.state, n.attempts, n.last_error.as_deref()), (NotificationState::Failed, 3, Some("boom")));
}

pub(super) async fn retention_purges_exactly_the_rows_older_than_each_setting(db: &Db) {
    let s = db.store();
    let day = 24 * 3_600_000i64;
    let now = 1_800_000_000_000i64;
    // Notifications of chosen ages: processed 40 and 10 days ago, a duplicate 40 days ago,
    // one still waiting (never cleared, whatever its age).
    for (id, key, age_days) in [("wh_old", "k1", 40), ("wh_new", "k2", 10), ("wh_wait", "k3", 40)] {
        let n = NotificationRecord {
            received_at_ms: now - age_days * day,
            body: r#"{"phone":"+225 07 •• •• •• 56"}"#.into(),
            ..notification(id, key, true)
        };
        s.inbox_insert(&n).await.unwrap();
    }
    let dup = NotificationRecord { received_at_ms: now - 40 * day, ..notification("wh_dup", "k1", true) };
    assert!(matches!(s.inbox_insert(&dup).await.unwrap(), Inserted::Duplicate { .. }));
    s.inbox_processed("wh_old", "applied").await.unwrap();
    s.inbox_processed("wh_new", "applied").await.unwrap();
    // Refused samples 31 and 29 days old; idempotency keys 49 and 47 hours old.
    let samples = vec![
        refused_sample(Provider::NovaSend, now - 31 * day),
        refused_sample(Provider::NovaSend, now - 29 * day),
    ];
    s.refused_record(Vec::new(), samples, 100).await.unwrap();
    for (key, hours) in [("old", 49), ("new", 47)] {
        s.idempotency_begin(key, "POST /v1/checkouts", "h", now - hours * 3_600_000, 0, false).await.unwrap();
    }
    let settings = crate::config::RetentionSettings::default();
    let purged = crate::retention::purge(s.as_ref(), &settings, now).await.unwrap();
    assert_eq!(
        purged,
        crate::retention::Purged { refused_samples: 1, notification_bodies: 2, idempotency_keys: 1 }
    );
    let bodies: Vec<(String, bool, NotificationState)> = s
        .notifications(None)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n.body.is_empty(), n.state))
        .collect();
    assert_eq!(
        bodies,
        vec![
            ("wh_old".into(), true, NotificationState::Processed),
            ("wh_wait".into(), false, NotificationState::Received),
            ("wh_dup".into(), true, NotificationState::Duplicate),
            ("wh_new".into(), false, NotificationState::Processed),
        ]
    );
    // The facts stay: what the cleared notification reported.
    let old = s.notifications(None).await.unwrap().into_iter().find(|n| n.id == "wh_old").unwrap();
    assert_eq!(old.update.map(|u| u.status), Some(AttemptStatus::Succeeded));
    let kept = s.refused_samples(Provider::NovaSend).await.unwrap();
    assert_eq!(kept.iter().map(|k| k.received_at_ms).collect::<Vec<_>>(), vec![now - 29 * day]);
    // A second purge finds nothing more.
    assert_eq!(
        crate::retention::purge(s.as_ref(), &settings, now).await.unwrap(),
        crate::retention::Purged::default()
    );
    // The key 47 h old is still there: beginning it again replays, it is not new.
    let again = s.idempotency_begin("new", "POST /v1/checkouts", "h", now, 0, false).await.unwrap();
    assert!(!matches!(again, IdempotencyBegin::Started), "{again:?}");
    // Bodies are cleared `limit` at a time.
    for i in 0..3 {
        let n = NotificationRecord {
            received_at_ms: now - 40 * day,
            ..notification(&format!("wh_b{i}"), &format!("kb{i}"), true)
        };
        s.inbox_insert(&n).await.unwrap();
        s.inbox_processed(&n.id, "applied").await.unwrap();
    }
    assert_eq!(s.purge_notification_bodies(now - 30 * day, 2).await.unwrap(), 2);
    assert_eq!(s.purge_notification_bodies(now - 30 * day, 2).await.unwrap(), 1);
    assert_eq!(s.purge_notification_bodies(now - 30 * day, 2).await.unwrap(), 0);
}

pub(super) async fn refused_counts_add_up_and_samples_keep_only_the_latest_per_provider(db: &Db) {
    let s = db.store();
    for round in 0..3i64 {
        let counts = vec![RefusedCount {
            provider: Provider::NovaSend,
            refused: 1_000,
            first_at_ms: 100 + round,
            last_at_ms: 200 + round,
        }];
        let samples = (0..4).map(|i| refused_sample(Provider::NovaSend, round * 10 + i)).collect();
        s.refused_record(counts, samples, 5).await.unwrap();
    }
    s.refused_record(Vec::new(), vec![refused_sample(Provider::Scalapay, 7)], 5).await.unwrap();
    let counts = s.refused_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![RefusedCount {
            provider: Provider::NovaSend,
            refused: 3_000,
            first_at_ms: 100,
            last_at_ms: 202
        }]
    );
    let kept: Vec<i64> =
        s.refused_samples(Provider::NovaSend).await.unwrap().iter().map(|k| k.received_at_ms).collect();
    assert_eq!(kept, vec![13, 20, 21, 22, 23]);
    assert_eq!(s.refused_samples(Provider::Scalapay).await.unwrap(), [refused_sample(Provider::Scalapay, 7)]);
    assert_eq!(s.purge_refused_samples(21).await.unwrap(), 3, "13, 20 and Scalapay's 7");
    let kept: Vec<i64> =
        s.refused_samples(Provider::NovaSend).await.unwrap().iter().map(|k| k.received_at_ms).collect();
    assert_eq!(kept, vec![21, 22, 23]);
}

pub(super) async fn merchant_keys_are_found_by_hash_and_mode_and_revoked_once(db: &Db) {
    let s = db.store();
    let test = merchant_key("mkey_1", Mode::Test, "aaaa1111", 100);
    let live = merchant_key("mkey_2", Mode::Live, "bbbb2222", 200);
    let newer = merchant_key("mkey_3", Mode::Test, "cccc3333", 300);
    for k in [&test, &live, &newer] {
        s.merchant_key_insert(k).await.unwrap();
    }
    assert_eq!(s.merchant_key_active("aaaa1111", Mode::Test).await.unwrap(), Some(test.clone()));
    assert_eq!(
        s.merchant_key_active("aaaa1111", Mode::Live).await.unwrap(),
        None,
        "a key works in its mode only"
    );
    assert_eq!(s.merchant_key_active("bbbb2222", Mode::Live).await.unwrap(), Some(live.clone()));
    assert_eq!(s.merchant_key_active("nope", Mode::Test).await.unwrap(), None);

    assert!(s.merchant_key_revoke("mkey_1", 400).await.unwrap());
    assert!(!s.merchant_key_revoke("mkey_1", 500).await.unwrap(), "revoked once");
    assert!(!s.merchant_key_revoke("mkey_none", 500).await.unwrap());
    assert_eq!(s.merchant_key_active("aaaa1111", Mode::Test).await.unwrap(), None);
    assert_eq!(
        s.merchant_keys().await.unwrap(),
        [merchant_key("mkey_1", Mode::Test, "aaaa1111", 100), live, newer]
            .into_iter()
            .map(|k| if k.id == "mkey_1" {
                crate::store::MerchantKeyRecord { revoked_at: Some(400), ..k }
            } else {
                k
            })
            .collect::<Vec<_>>(),
        "oldest first, revoked ones included"
    );
}

pub(super) async fn a_fresh_store_lacks_no_migration_and_counts_pending_deliveries(db: &Db) {
    let s = db.store();
    assert_eq!(s.migrations_pending().await.unwrap(), 0, "opening a store applies every migration");
    assert_eq!(s.deliveries_pending().await.unwrap(), 0);
    s.insert_checkout(&checkout("co_1", "o"), &create()).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll()).await.unwrap();
    s.start_attempt(&attempt("at_2", "co_1"), 0, &pay()).await.unwrap();
    s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &poll()).await.unwrap();
    assert_eq!(s.deliveries_pending().await.unwrap(), 2, "two events, each pending");
    let now = now_ms() + 1_000;
    let claimed = s.claim_deliveries(now, 10_000, 10).await.unwrap();
    assert_eq!(s.deliveries_pending().await.unwrap(), 2, "a claimed delivery is still pending");
    let delivered = DeliveryOutcome::Delivered { status: 200 };
    s.finish_delivery(&claimed[0].event_id, &claimed[0].claim, &delivered, now).await.unwrap();
    let failed = DeliveryOutcome::Failed { status: Some(500), error: None };
    s.finish_delivery(&claimed[1].event_id, &claimed[1].claim, &failed, now).await.unwrap();
    assert_eq!(s.deliveries_pending().await.unwrap(), 0);
}

//! What many callers of any [`Store`] at once never break: each test starts `N` tokio tasks on
//! the multi-thread runtime that meet at a barrier and then call the store together, through
//! several stores opened on one database (on SQLite, two `SqliteStore`s on one file, each with
//! its own writer connection, as two verifier instances would have). Each assertion states the
//! invariant of the issue it checks.

use std::{collections::BTreeMap, sync::Arc};

use rand::{Rng, seq::SliceRandom};
use shared::{
    api::EventType,
    method::Provider,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};

use super::{
    Db,
    build::{PRICE, attempt, checkout, notification, paid_checkout, refund, update},
    now_ms, together,
};
use crate::store::{
    AttemptLimits, AttemptRecord, Cause, CheckoutRecord, IdempotencyBegin, Inserted, LimitReached,
    NotificationState, StatusChange, Store, StoreError,
};

/// Callers at once: at least 16.
const N: usize = 16;
/// Stores (instances) open on the database in each test.
const INSTANCES: usize = 2;

/// How many of `items` are `what`.
fn count<T: PartialEq>(items: impl IntoIterator<Item = T>, what: T) -> usize {
    items.into_iter().filter(|i| *i == what).count()
}

/// The checkout's own moves in its history (`from → to`, attempt and refund lines left out).
fn checkout_moves(history: &[StatusChange]) -> Vec<(CheckoutStatus, CheckoutStatus)> {
    history
        .iter()
        .filter(|h| h.attempt_id.is_none())
        .filter_map(|h| Some((CheckoutStatus::parse(h.from.as_deref()?)?, CheckoutStatus::parse(&h.to)?)))
        .collect()
}

/// Asserts that `moves` form one chain from `start` of legal transitions (each starts where the
/// one before ended, so no state is ever left for an earlier one), and returns where it ends.
fn assert_chain<S: Copy + PartialEq + std::fmt::Debug>(
    start: S,
    moves: &[(S, S)],
    legal: impl Fn(S, S) -> bool,
) -> S {
    let mut at = start;
    for &(from, to) in moves {
        assert_eq!(
            from, at,
            "each move starts where the last one ended (never from an older state): {moves:?}"
        );
        assert!(legal(from, to), "{from:?} → {to:?} is no legal move: {moves:?}");
        at = to;
    }
    at
}

pub(super) async fn the_phone_limit_holds_for_two_instances_on_one_database(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let limits = AttemptLimits {
        per_checkout: 10,
        otp_failures_per_checkout: 3,
        per_phone: 3,
        phone_window_secs: 900,
    };
    for i in 0..N {
        let c = checkout(&format!("co_{i}"), &format!("o{i}"));
        stores[0].insert_checkout(&c, &Cause::Api("create")).await.unwrap();
    }
    // N checkouts paying with one number at once, through both instances.
    let answers = together(&stores, N, move |i, s| async move {
        let at = attempt(&format!("at_{i}"), &format!("co_{i}"));
        s.start_attempt_limited(&at, 0, &Cause::Api("pay"), &limits).await.unwrap()
    })
    .await;
    assert_eq!(
        count(answers.iter().map(Result::is_ok), true),
        3,
        "at most per_phone attempts pass: {answers:?}"
    );
    for refused in answers.iter().filter_map(|r| r.err()) {
        assert!(
            matches!(refused, LimitReached::PhoneRequests { retry_after_secs } if (899..=900).contains(&retry_after_secs)),
            "{refused:?}"
        );
    }
    let mut stored = 0;
    for i in 0..N {
        stored += stores[1].attempts(&format!("co_{i}")).await.unwrap().len();
    }
    assert_eq!(stored, 3, "a refused attempt writes nothing");
    // Another number is not held back.
    stores[1].insert_checkout(&checkout("co_x", "ox"), &Cause::Api("create")).await.unwrap();
    let other = AttemptRecord { phone: Some("+2250700000002".into()), ..attempt("at_x", "co_x") };
    assert_eq!(
        stores[1].start_attempt_limited(&other, 0, &Cause::Api("pay"), &limits).await.unwrap(),
        Ok(())
    );
}

pub(super) async fn concurrent_payments_of_one_checkout_start_one_attempt(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    stores[0].insert_checkout(&checkout("co_1", "o"), &Cause::Api("create")).await.unwrap();
    let answers = together(&stores, N, |i, s| async move {
        s.start_attempt(&attempt(&format!("at_{i}"), "co_1"), 0, &Cause::Api("pay")).await
    })
    .await;
    assert_eq!(
        count(answers.iter().map(Result::is_ok), true),
        1,
        "one live attempt per checkout: {answers:?}"
    );
    assert!(answers.iter().all(|a| matches!(a, Ok(()) | Err(StoreError::Conflict(_)))), "{answers:?}");
    let s = &stores[1];
    assert_eq!(s.attempts("co_1").await.unwrap().len(), 1);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Processing);
    let moves = checkout_moves(&s.history("co_1").await.unwrap());
    assert_eq!(moves, [(CheckoutStatus::Open, CheckoutStatus::Processing)], "one move, one history line");
}

pub(super) async fn concurrent_updates_of_one_attempt_never_move_it_backwards(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let s = stores[0].clone();
    s.insert_checkout(&checkout("co_1", "o"), &Cause::Api("create")).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &Cause::Api("pay")).await.unwrap();
    // Successes, failures and pending states, in a random order.
    use AttemptStatus::*;
    let mut news: Vec<AttemptStatus> =
        [Succeeded, Failed, Expired, AwaitingCustomer, Authorized].into_iter().cycle().take(5 * 5).collect();
    news.shuffle(&mut rand::rng());
    let news = Arc::new(news);
    let applied = together(&stores, news.len(), {
        let news = news.clone();
        move |i, s| {
            let status = news[i];
            async move {
                s.update_attempt("at_1", &update(status), &Cause::Poll(Provider::NovaSend)).await.unwrap()
            }
        }
    })
    .await;

    // One final state: a success wins whatever came before, and nothing leaves it.
    assert_eq!(s.attempt("at_1").await.unwrap().unwrap().status, Succeeded, "in the order {news:?}");
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Succeeded);
    let moves: Vec<_> = applied.iter().filter_map(|a| a.attempt).collect();
    assert_eq!(count(moves.iter().map(|m| m.1), Succeeded), 1, "one caller moved it to succeeded: {moves:?}");

    // Every move reported to a caller is in the history once, and the history is one chain of
    // legal moves: never backwards.
    let history = s.history("co_1").await.unwrap();
    let lines: Vec<(AttemptStatus, AttemptStatus)> = history
        .iter()
        .filter(|h| h.attempt_id.is_some())
        .filter_map(|h| Some((AttemptStatus::parse(h.from.as_deref()?)?, AttemptStatus::parse(&h.to)?)))
        .collect();
    assert_eq!(assert_chain(Created, &lines, AttemptStatus::can_become), Succeeded);
    let (mut reported, mut recorded) = (moves.clone(), lines.clone());
    reported.sort_by_key(|(a, b)| (a.as_str(), b.as_str()));
    recorded.sort_by_key(|(a, b)| (a.as_str(), b.as_str()));
    assert_eq!(reported, recorded, "one history line per move, and a move for each line");

    let checkout_reported: Vec<_> = applied.iter().filter_map(|a| a.checkout).collect();
    let checkout_lines = checkout_moves(&history);
    assert_eq!(checkout_lines[0], (CheckoutStatus::Open, CheckoutStatus::Processing), "the payment's start");
    assert_eq!(
        assert_chain(CheckoutStatus::Open, &checkout_lines, CheckoutStatus::can_become),
        CheckoutStatus::Succeeded
    );
    assert_eq!(checkout_lines.len() - 1, checkout_reported.len(), "one history line per checkout move");

    // One merchant event per move: `attempt.failed` per failure or expiry, one
    // `checkout.succeeded`, nothing else.
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().into_iter().map(|e| e.kind).collect();
    let endings = moves.iter().filter(|m| matches!(m.1, Failed | Expired)).count();
    assert_eq!(count(kinds.iter().copied(), EventType::AttemptFailed), endings, "{kinds:?} for {moves:?}");
    assert_eq!(count(kinds.iter().copied(), EventType::CheckoutSucceeded), 1, "{kinds:?}");
    assert_eq!(kinds.len(), endings + 1, "{kinds:?}");
}

pub(super) async fn concurrent_refunds_never_exceed_what_was_paid(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let paid = paid_checkout(stores[0].as_ref(), "co_1").await;
    // N refunds of 500 to 1500 XOF at once: together far more than was paid.
    let amounts: Vec<u64> = {
        let mut rng = rand::rng();
        (0..N).map(|_| rng.random_range(500..=1500)).collect()
    };
    let answers = together(&stores, N, {
        let (amounts, paid) = (amounts.clone(), paid.clone());
        move |i, s| {
            let r = refund(&format!("rf_{i}"), "co_1", &paid, amounts[i]);
            async move { s.start_refund(&r, &Cause::Api("refund")).await }
        }
    })
    .await;
    let accepted: BTreeMap<String, u64> =
        (0..N).filter(|&i| answers[i].is_ok()).map(|i| (format!("rf_{i}"), amounts[i])).collect();
    let sum: u64 = accepted.values().sum();
    assert!(!accepted.is_empty(), "{answers:?}");
    assert!(sum <= PRICE, "the refunds accepted ({sum}) exceed what was paid ({PRICE}): {accepted:?}");
    let left = PRICE - sum;
    for (i, answer) in answers.iter().enumerate() {
        if let Err(e) = answer {
            assert!(
                matches!(
                    e,
                    StoreError::Rule(
                        shared::catalogue::ErrorCode::InvalidRefundAmount
                            | shared::catalogue::ErrorCode::RefundNotAllowed
                    )
                ),
                "{e:?}"
            );
            assert!(amounts[i] > left, "refund {i} of {} was refused though {left} was left", amounts[i]);
        }
    }
    let s = stores[1].clone();
    let stored: BTreeMap<String, u64> =
        s.refunds("co_1").await.unwrap().into_iter().map(|r| (r.id, r.amount.minor())).collect();
    assert_eq!(stored, accepted, "exactly the accepted refunds are stored");

    // Their successes, reported at once, move the checkout once per state.
    let ids: Vec<String> = accepted.keys().cloned().collect();
    let finished = together(&stores, ids.len(), {
        let ids = ids.clone();
        move |i, s| {
            let id = ids[i].clone();
            async move {
                s.finish_refund(&id, RefundStatus::Succeeded, None, None, &Cause::Poll(Provider::NovaSend))
                    .await
                    .unwrap()
            }
        }
    })
    .await;
    let refunded = if sum == PRICE { CheckoutStatus::Refunded } else { CheckoutStatus::PartiallyRefunded };
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, refunded, "{sum} of {PRICE} refunded");
    let moves = checkout_moves(&s.history("co_1").await.unwrap());
    assert_eq!(assert_chain(CheckoutStatus::Open, &moves, CheckoutStatus::can_become), refunded);
    let mut reported: Vec<_> = finished.iter().filter_map(|a| a.checkout).collect();
    let mut recorded = moves[2..].to_vec();
    reported.sort_by_key(|(a, b)| (a.as_str(), b.as_str()));
    recorded.sort_by_key(|(a, b)| (a.as_str(), b.as_str()));
    assert_eq!(reported, recorded, "after open → processing → succeeded, one history line per move reported");
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        count(kinds.iter().copied(), EventType::RefundSucceeded),
        ids.len(),
        "one event per refund: {kinds:?}"
    );
    for (kind, state) in [
        (EventType::CheckoutPartiallyRefunded, CheckoutStatus::PartiallyRefunded),
        (EventType::CheckoutRefunded, CheckoutStatus::Refunded),
    ] {
        assert_eq!(
            count(kinds.iter().copied(), kind),
            count(moves.iter().map(|m| m.1), state),
            "one {kind:?} per move to {state:?}: {kinds:?}, {moves:?}"
        );
        assert!(count(moves.iter().map(|m| m.1), state) <= 1, "{moves:?}");
    }
}

pub(super) async fn concurrent_inserts_of_one_notification_store_one(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    // One provider event delivered N times at once (two of them forged copies).
    let forged = |i: usize| i < 2;
    let answers = together(&stores, N, move |i, s| async move {
        s.inbox_insert(&notification(&format!("wh_{i}"), "evt-1", !forged(i))).await.unwrap()
    })
    .await;
    let new: Vec<usize> = (0..N).filter(|&i| !forged(i) && answers[i] == Inserted::New).collect();
    assert_eq!(new.len(), 1, "one notification stored as new: {answers:?}");
    let first = format!("wh_{}", new[0]);
    for (i, answer) in answers.iter().enumerate() {
        if forged(i) {
            assert_eq!(*answer, Inserted::New, "a forgery is kept as refused and shadows nothing");
        } else if i != new[0] {
            assert_eq!(
                *answer,
                Inserted::Duplicate { of: first.clone() },
                "every other copy is a duplicate of it"
            );
        }
    }
    let s = &stores[1];
    let all = s.notifications(None).await.unwrap();
    assert_eq!(all.len(), N, "every delivery is kept");
    for n in &all {
        let expected = match n.id.as_str() {
            "wh_0" | "wh_1" => (NotificationState::Refused, None),
            id if id == first => (NotificationState::Received, None),
            _ => (NotificationState::Duplicate, Some(first.as_str())),
        };
        assert_eq!((n.state, n.duplicate_of.as_deref()), expected, "{}", n.id);
    }
    let due: Vec<_> = s.inbox_due(100).await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(due, [first], "one notification to process");
}

pub(super) async fn each_delivery_is_claimed_by_exactly_one_worker(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let mut events = Vec::new();
    for i in 0..8 {
        let id = format!("co_{i}");
        paid_checkout(stores[0].as_ref(), &id).await;
        events.extend(stores[0].checkout_events(&id).await.unwrap().into_iter().map(|e| e.id));
    }
    events.sort();
    let now = now_ms() + 1_000;
    // N dispatchers claim one delivery at a time until nothing is due.
    let claims = together(&stores, N, move |_, s| async move {
        let mut mine = Vec::new();
        loop {
            let got = s.claim_deliveries(now, 60_000, 1).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|d| d.event_id));
        }
    })
    .await;
    let mut claimed: Vec<String> = claims.into_iter().flatten().collect();
    claimed.sort();
    assert_eq!(claimed, events, "each delivery claimed by exactly one worker, none left");
    assert!(stores[1].claim_deliveries(now, 60_000, 100).await.unwrap().is_empty(), "all leased");
}

pub(super) async fn each_poll_is_claimed_by_exactly_one_worker(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let mut attempts = Vec::new();
    for i in 0..4 {
        let id = format!("co_{i}");
        stores[0].insert_checkout(&checkout(&id, &format!("o{i}")), &Cause::Api("create")).await.unwrap();
        let at = attempt(&format!("at_{i}"), &id);
        stores[0].start_attempt(&at, 0, &Cause::Api("pay")).await.unwrap();
        attempts.push(at.id);
    }
    let now = now_ms();
    // N reconcilers each read what is due and claim every fetch they saw.
    let wins = together(&stores, N, move |_, s| async move {
        let mut mine = Vec::new();
        for (a, polls) in s.due_attempts(now, 10).await.unwrap() {
            if s.claim_poll(&a.id, polls, now + 60_000).await.unwrap() {
                mine.push(a.id);
            }
        }
        mine
    })
    .await;
    let mut won: Vec<String> = wins.into_iter().flatten().collect();
    won.sort();
    assert_eq!(won, attempts, "each fetch claimed by exactly one worker");
    assert!(stores[1].due_attempts(now, 10).await.unwrap().is_empty());
    let counted: Vec<u32> =
        stores[1].due_attempts(now + 60_000, 10).await.unwrap().into_iter().map(|d| d.1).collect();
    assert_eq!(counted, [1, 1, 1, 1], "each fetch counted once");
}

pub(super) async fn a_refund_check_is_claimed_by_exactly_one_worker(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let paid = paid_checkout(stores[0].as_ref(), "co_1").await;
    let mut refunds = Vec::new();
    for i in 0..3 {
        let r = refund(&format!("rf_{i}"), "co_1", &paid, 1000);
        stores[0].start_refund(&r, &Cause::Api("refund")).await.unwrap();
        refunds.push(r.id);
    }
    let later = now_ms() + 2 * crate::store::REFUND_FIRST_CHECK_MS;
    let wins = together(&stores, N, move |_, s: Arc<dyn Store>| async move {
        let mut mine = Vec::new();
        for (r, checks) in s.due_refunds(later, 10).await.unwrap() {
            if s.schedule_refund_check(&r.id, Some(checks), later + 60_000).await.unwrap() {
                mine.push(r.id);
            }
        }
        mine
    })
    .await;
    let mut won: Vec<String> = wins.into_iter().flatten().collect();
    won.sort();
    assert_eq!(won, refunds, "each refund's follow-up claimed by exactly one worker");
    assert!(stores[1].due_refunds(later, 10).await.unwrap().is_empty());
    let counted: Vec<u32> =
        stores[1].due_refunds(later + 60_000, 10).await.unwrap().into_iter().map(|d| d.1).collect();
    assert_eq!(counted, [1, 1, 1], "each follow-up counted once");
}

pub(super) async fn one_idempotency_key_is_started_by_exactly_one_request(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let begin = |key: &'static str, now: i64, stale_before: i64| {
        let stores = stores.clone();
        async move {
            together(&stores, N, move |_, s| async move {
                s.idempotency_begin(key, "POST /v1/checkouts", "h", now, stale_before, true).await.unwrap()
            })
            .await
        }
    };
    // N requests with one new key at once.
    let answers = begin("k1", 1_000, 0).await;
    assert_eq!(count(answers.iter(), &IdempotencyBegin::Started), 1, "exactly one runs: {answers:?}");
    assert_eq!(count(answers.iter(), &IdempotencyBegin::InProgress), N - 1, "{answers:?}");

    // N requests taking over one stale reservation at once (its process died).
    stores[0].idempotency_begin("k2", "POST /v1/checkouts", "h", 0, 0, false).await.unwrap();
    let answers = begin("k2", 10_000, 5_000).await;
    assert_eq!(count(answers.iter(), &IdempotencyBegin::Started), 1, "exactly one takes over: {answers:?}");
    assert_eq!(count(answers.iter(), &IdempotencyBegin::InProgress), N - 1, "{answers:?}");

    // Once answered, every request replays the answer.
    stores[1].idempotency_finish("k1", 201, b"{}", 2_000).await.unwrap();
    let answers = begin("k1", 3_000, 0).await;
    let done = IdempotencyBegin::Done { status: 201, body: b"{}".to_vec() };
    assert_eq!(count(answers.iter(), &done), N, "{answers:?}");
}

pub(super) async fn each_checkout_expires_once_and_never_while_paid(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let now = super::now_secs();
    // M checkouts past their deadline; a customer starts paying each of them just as N/2
    // reconcilers expire them.
    const M: usize = 8;
    for i in 0..M {
        let c = CheckoutRecord { expires_at: now - 1, ..checkout(&format!("co_{i}"), &format!("o{i}")) };
        stores[0].insert_checkout(&c, &Cause::Api("create")).await.unwrap();
    }
    enum Did {
        Expired(Vec<String>),
        Paid(usize, Result<(), StoreError>),
    }
    let answers = together(&stores, N + M, move |i, s| async move {
        if i < N {
            Did::Expired(s.expire_checkouts(now).await.unwrap())
        } else {
            let c = i - N;
            Did::Paid(
                c,
                s.start_attempt(&attempt(&format!("at_{c}"), &format!("co_{c}")), 0, &Cause::Api("pay"))
                    .await,
            )
        }
    })
    .await;
    let mut expired: Vec<String> = Vec::new();
    let mut paid = vec![false; M];
    for answer in answers {
        match answer {
            Did::Expired(ids) => expired.extend(ids),
            Did::Paid(c, Ok(())) => paid[c] = true,
            Did::Paid(_, Err(e)) => assert!(matches!(e, StoreError::Conflict(_)), "{e:?}"),
        }
    }
    let s = &stores[1];
    for (c, paid) in paid.into_iter().enumerate() {
        let id = format!("co_{c}");
        let times = count(expired.iter(), &id);
        let status = s.checkout(&id).await.unwrap().unwrap().status;
        let kinds: Vec<_> = s.checkout_events(&id).await.unwrap().into_iter().map(|e| e.kind).collect();
        if paid {
            // The payment started first: the checkout is being paid, never expired under it.
            assert_eq!((times, status), (0, CheckoutStatus::Processing), "{id}");
            assert_eq!(kinds, []);
        } else {
            // Expired first: by exactly one reconciler, with one history line and one event.
            assert_eq!((times, status), (1, CheckoutStatus::Expired), "{id}: expired once");
            assert_eq!(kinds, [EventType::CheckoutExpired], "{id}");
            assert_eq!(s.attempts(&id).await.unwrap(), [], "{id}: no attempt on an expired checkout");
        }
        let moves = checkout_moves(&s.history(&id).await.unwrap());
        assert_eq!(moves.len(), 1, "{id}: one move, one history line: {moves:?}");
    }
}

pub(super) async fn concurrent_notifications_of_one_payment_apply_it_once(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    stores[0].insert_checkout(&checkout("co_1", "o"), &Cause::Api("create")).await.unwrap();
    stores[0].start_attempt(&attempt("at_1", "co_1"), 0, &Cause::Api("pay")).await.unwrap();
    // N distinct notifications (a provider sending its success several times, with different
    // event ids) processed at once by inbox workers on two instances.
    for i in 0..N {
        stores[0].inbox_insert(&notification(&format!("wh_{i}"), &format!("k{i}"), true)).await.unwrap();
    }
    let applied = together(&stores, N, |i, s| async move {
        let cause = Cause::Webhook(Provider::NovaSend, format!("wh_{i}"));
        s.update_attempt("at_1", &update(AttemptStatus::Succeeded), &cause).await.unwrap()
    })
    .await;
    let changed: Vec<usize> = (0..N).filter(|&i| applied[i].changed()).collect();
    assert_eq!(changed.len(), 1, "the payment is applied once: {applied:?}");
    let s = &stores[1];
    let all = s.notifications(None).await.unwrap();
    for n in &all {
        let outcome = if n.id == format!("wh_{}", changed[0]) { "applied" } else { "unchanged" };
        assert_eq!(
            (n.state, n.outcome.as_deref(), n.attempts),
            (NotificationState::Processed, Some(outcome), 1),
            "each notification is marked processed once, by the update it caused: {}",
            n.id
        );
    }
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::CheckoutSucceeded], "one merchant event for one payment");
    let last = s.history("co_1").await.unwrap().pop().unwrap();
    assert_eq!(
        last.cause,
        format!("webhook:nova_send:wh_{}", changed[0]),
        "the history names the notification that applied it"
    );
}

pub(super) async fn a_reader_never_pairs_a_checkout_with_another_moment_of_its_attempts(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    stores[0].insert_checkout(&checkout("co_1", "o"), &Cause::Api("create")).await.unwrap();
    // One task starts and fails attempt after attempt (the checkout goes processing, open,
    // processing, …) while the others read the checkout with its attempts until it is done.
    const CYCLES: usize = 30;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reads = together(&stores, N, move |i, s| {
        let done = done.clone();
        async move {
            if i == 0 {
                for c in 0..CYCLES {
                    let id = format!("at_{c}");
                    s.start_attempt(&attempt(&id, "co_1"), 0, &Cause::Api("pay")).await.unwrap();
                    s.update_attempt(&id, &update(AttemptStatus::Failed), &Cause::Poll(Provider::NovaSend))
                        .await
                        .unwrap();
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                return 0;
            }
            let mut reads = 0;
            // At least one read each, then until the writer is done.
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                // The checkout's state is the one its latest attempt gives it: both as of one
                // instant, in either read.
                let (c, latest) = s.checkout_with_latest_attempt("co_1").await.unwrap().unwrap();
                let expected = latest.as_ref().map_or(CheckoutStatus::Open, |a| a.status.checkout_status());
                assert_eq!(c.status, expected, "checkout_with_latest_attempt paired two moments: {latest:?}");
                let (c, all) = s.checkout_with_attempts("co_1").await.unwrap().unwrap();
                let expected = all.last().map_or(CheckoutStatus::Open, |a| a.status.checkout_status());
                assert_eq!(c.status, expected, "checkout_with_attempts paired two moments: {all:?}");
                assert!(
                    all.iter().rev().skip(1).all(|a| a.status == AttemptStatus::Failed),
                    "only the latest attempt may be live: {all:?}"
                );
                reads += 1;
                if finished {
                    return reads;
                }
            }
        }
    })
    .await;
    assert!(reads[1..].iter().all(|&r| r >= 1), "{reads:?}");
    assert_eq!(stores[1].attempts("co_1").await.unwrap().len(), CYCLES);
}

//! The merchant's list of checkouts ([`crate::store::Store::list_checkouts`]): each filter, the
//! order, the cursor across pages of checkouts created in one second, and the limit; run on
//! every backend by `contract!` (see the parent module).

use shared::{
    method::{PaymentMethod, Provider},
    status::{AttemptStatus, CheckoutStatus},
};

use super::{
    Db,
    build::{attempt, checkout, update},
    now_secs,
};
use crate::store::{AttemptRecord, Cause, CheckoutQuery, CheckoutRecord, ListCursor, Store};

/// A checkout `id` (reference `ref-<id>`) created at `created_at`, still open for an hour.
async fn insert(s: &dyn Store, id: &str, created_at: i64) -> CheckoutRecord {
    let c =
        CheckoutRecord { created_at, expires_at: now_secs() + 3600, ..checkout(id, &format!("ref-{id}")) };
    s.insert_checkout(&c, &Cause::Api("create")).await.unwrap();
    c
}

/// Starts attempt `id` on `checkout_id` with `provider`, `method` and `phone`.
async fn start(
    s: &dyn Store,
    id: &str,
    checkout_id: &str,
    provider: Provider,
    method: PaymentMethod,
    phone: &str,
) -> AttemptRecord {
    let a = AttemptRecord { provider, method, phone: Some(phone.into()), ..attempt(id, checkout_id) };
    s.start_attempt(&a, 0, &Cause::Api("pay")).await.unwrap();
    a
}

/// The ids of a page, in order.
async fn ids(s: &dyn Store, q: CheckoutQuery) -> Vec<String> {
    s.list_checkouts(&CheckoutQuery { limit: q.limit.max(100), ..q })
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c.id)
        .collect()
}

const P1: &str = "+2250700000001";
const P2: &str = "+2250500000002";

pub(super) async fn each_list_filter_selects_exactly_its_checkouts(db: &Db) {
    let s = db.store();
    let s = &*s;
    let t0 = now_secs() - 1000;
    // co_a: a failed NovaSend mobile-money attempt to P1, then paid by card with Scalapay to P2.
    insert(s, "co_a", t0).await;
    start(s, "at_a1", "co_a", Provider::NovaSend, PaymentMethod::MobileMoney, P1).await;
    let poll = Cause::Poll(Provider::NovaSend);
    s.update_attempt("at_a1", &update(AttemptStatus::Failed), &poll).await.unwrap();
    start(s, "at_a2", "co_a", Provider::Scalapay, PaymentMethod::Card, P2).await;
    s.update_attempt("at_a2", &update(AttemptStatus::Succeeded), &poll).await.unwrap();
    // co_b: open, no attempt; live mode.
    let live =
        CheckoutRecord { livemode: true, expires_at: now_secs() + 3600, ..checkout("co_b", "ref-co_b") };
    s.insert_checkout(&CheckoutRecord { created_at: t0 + 10, ..live }, &Cause::Api("create")).await.unwrap();
    // co_c and co_d created in the same second: co_c paying with Orange Money to P2, co_d open.
    insert(s, "co_c", t0 + 20).await;
    start(s, "at_c1", "co_c", Provider::NovaSend, PaymentMethod::OrangeMoney, P2).await;
    insert(s, "co_d", t0 + 20).await;

    let all = s.list_checkouts(&CheckoutQuery { limit: 100, ..Default::default() }).await.unwrap();
    let order: Vec<_> = all.iter().map(|(c, _)| c.id.as_str()).collect();
    assert_eq!(order, ["co_d", "co_c", "co_b", "co_a"], "newest first, then by id descending");
    let latest: Vec<_> = all.iter().map(|(_, a)| a.as_ref().map(|a| a.id.as_str())).collect();
    assert_eq!(latest, [None, Some("at_c1"), None, Some("at_a2")], "each with its latest attempt");
    assert_eq!(all[3].0.status, CheckoutStatus::Succeeded);
    assert_eq!(all[3].1.as_ref().unwrap().status, AttemptStatus::Succeeded);
    assert_eq!(all[1].0, s.checkout("co_c").await.unwrap().unwrap(), "the checkout as stored");

    let q = CheckoutQuery::default;
    let cases: Vec<(CheckoutQuery, Vec<&str>)> = vec![
        (CheckoutQuery { status: Some(CheckoutStatus::Open), ..q() }, vec!["co_d", "co_b"]),
        (CheckoutQuery { status: Some(CheckoutStatus::Succeeded), ..q() }, vec!["co_a"]),
        (CheckoutQuery { status: Some(CheckoutStatus::Refunded), ..q() }, vec![]),
        // Any attempt: co_a's failed NovaSend attempt counts.
        (CheckoutQuery { provider: Some(Provider::NovaSend), ..q() }, vec!["co_c", "co_a"]),
        (CheckoutQuery { provider: Some(Provider::Scalapay), ..q() }, vec!["co_a"]),
        (CheckoutQuery { provider: Some(Provider::MyPvit), ..q() }, vec![]),
        (CheckoutQuery { method: Some(PaymentMethod::MobileMoney), ..q() }, vec!["co_a"]),
        (CheckoutQuery { method: Some(PaymentMethod::OrangeMoney), ..q() }, vec!["co_c"]),
        (CheckoutQuery { method: Some(PaymentMethod::Card), ..q() }, vec!["co_a"]),
        (CheckoutQuery { phone: Some(P1.into()), ..q() }, vec!["co_a"]),
        (CheckoutQuery { phone: Some(P2.into()), ..q() }, vec!["co_c", "co_a"]),
        (CheckoutQuery { phone: Some("+2250700000009".into()), ..q() }, vec![]),
        (CheckoutQuery { reference: Some("ref-co_b".into()), ..q() }, vec!["co_b"]),
        (CheckoutQuery { reference: Some("ref-co".into()), ..q() }, vec![]),
        (CheckoutQuery { created_from: Some(t0 + 10), ..q() }, vec!["co_d", "co_c", "co_b"]),
        (CheckoutQuery { created_before: Some(t0 + 20), ..q() }, vec!["co_b", "co_a"]),
        (CheckoutQuery { created_from: Some(t0 + 1), created_before: Some(t0 + 20), ..q() }, vec!["co_b"]),
        (CheckoutQuery { created_from: Some(t0 + 21), ..q() }, vec![]),
        (CheckoutQuery { livemode: Some(true), ..q() }, vec!["co_b"]),
        (CheckoutQuery { livemode: Some(false), ..q() }, vec!["co_d", "co_c", "co_a"]),
        // Filters add up.
        (
            CheckoutQuery {
                status: Some(CheckoutStatus::Processing),
                provider: Some(Provider::NovaSend),
                ..q()
            },
            vec!["co_c"],
        ),
        (CheckoutQuery { provider: Some(Provider::NovaSend), phone: Some(P1.into()), ..q() }, vec!["co_a"]),
        (CheckoutQuery { status: Some(CheckoutStatus::Open), phone: Some(P2.into()), ..q() }, vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(s, query.clone()).await, expected, "{query:?}");
    }
}

pub(super) async fn the_list_cursor_walks_every_checkout_once_across_equal_times(db: &Db) {
    let s = db.store();
    let s = &*s;
    let t0 = now_secs() - 1000;
    // Seven checkouts in one second between two others: a cursor of the time alone would skip
    // or repeat some of them.
    insert(s, "co_0", t0 - 5).await;
    for i in 1..=7 {
        insert(s, &format!("co_{i}"), t0).await;
    }
    insert(s, "co_9", t0 + 5).await;
    let expected = ["co_9", "co_7", "co_6", "co_5", "co_4", "co_3", "co_2", "co_1", "co_0"];

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s
            .list_checkouts(&CheckoutQuery { after: after.clone(), limit: 3, ..Default::default() })
            .await
            .unwrap();
        assert!(page.len() <= 3, "a page holds at most its limit");
        pages += 1;
        let Some((last, _)) = page.last() else { break };
        after = Some(ListCursor { created_at: last.created_at, id: last.id.clone() });
        seen.extend(page.into_iter().map(|(c, _)| c.id));
        assert!(pages <= 4, "the walk ends");
    }
    assert_eq!(seen, expected, "every checkout once, in order");
    assert_eq!(pages, 4, "three full pages, then an empty one");

    // A cursor continues within the filter.
    let open_after_co_5 = s
        .list_checkouts(&CheckoutQuery {
            status: Some(CheckoutStatus::Open),
            created_from: Some(t0),
            after: Some(ListCursor { created_at: t0, id: "co_5".into() }),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let open_after_co_5: Vec<_> = open_after_co_5.into_iter().map(|(c, _)| c.id).collect();
    assert_eq!(open_after_co_5, ["co_4", "co_3", "co_2", "co_1"]);
}

pub(super) async fn the_list_limit_is_kept_within_one_and_a_hundred_and_one(db: &Db) {
    let s = db.store();
    let s = &*s;
    let t0 = now_secs() - 1000;
    for i in 0..105 {
        insert(s, &format!("co_{i:03}"), t0 + i).await;
    }
    let count = |limit| async move {
        s.list_checkouts(&CheckoutQuery { limit, ..Default::default() }).await.unwrap().len()
    };
    assert_eq!(count(1).await, 1);
    assert_eq!(count(0).await, 1, "at least one row");
    assert_eq!(count(7).await, 7);
    assert_eq!(count(100).await, 100);
    assert_eq!(count(101).await, 101, "a page of a hundred and the row that says more follow");
    assert_eq!(count(1000).await, 101, "at most a hundred and one");
    let first = s.list_checkouts(&CheckoutQuery { limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(first[0].0.id, "co_104");
    assert_eq!(first[1].0.id, "co_103");
}

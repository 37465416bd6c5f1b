//! PostgreSQL-specific tests of [`PgStore`]: they run when `TEST_DATABASE_URL` names a
//! PostgreSQL server (the test command always sets it), each in a database of its own that it
//! creates and drops, and print why they are skipped otherwise. The behaviour every store shares
//! is tested by the store contract suite; these test what PostgreSQL adds: migrations, and the
//! races that its READ COMMITTED transactions would let through without the locks and
//! conditional writes of this store, run from separate connections at once.

use std::{str::FromStr, sync::Arc};

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

use super::PgStore;
use crate::store::{IdempotencyBegin, RefusedCount, Store};
use shared::method::Provider;

/// A database made for one test, dropped (connections and all) when the test ends, even when
/// it fails.
struct TestDb {
    admin: PgConnectOptions,
    name: String,
}

impl TestDb {
    /// A fresh empty database on the `TEST_DATABASE_URL` server; `None` (after saying so) when
    /// the variable is not set.
    async fn create(test: &str) -> Option<TestDb> {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("skipped {test}: TEST_DATABASE_URL is not set (no PostgreSQL to test on)");
            return None;
        };
        let admin = PgConnectOptions::from_str(&url).expect("TEST_DATABASE_URL is a PostgreSQL URL");
        let name = format!("verifier_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn =
            PgConnection::connect_with(&admin).await.expect("TEST_DATABASE_URL accepts connections");
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("a test database is created");
        conn.close().await.ok();
        Some(TestDb { admin, name })
    }

    fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    async fn store(&self) -> PgStore {
        PgStore::connect_with(self.options(), crate::store::SystemClock::shared(), 4)
            .await
            .expect("the store opens and migrates")
    }

    /// A connection of the test's own, beside the store's pool.
    async fn conn(&self) -> PgConnection {
        PgConnection::connect_with(&self.options()).await.expect("a connection to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = std::mem::take(&mut self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect_with(&admin).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("a test database was not dropped");
        }
    }
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_again_changing_nothing() {
    let Some(db) = TestDb::create("migrations_apply_on_an_empty_database_and_again_changing_nothing").await
    else {
        return;
    };
    let first = db.store().await;
    let mut conn = db.conn().await;
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let expected =
        sqlx::migrate!("./migrations/postgres").iter().filter(|m| m.migration_type.is_up_migration()).count();
    assert_eq!(applied.len(), expected);
    assert!(applied.iter().all(|(_, ok)| *ok));
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 12, "the 11 tables of 0001-0006 and provider_keys (0100)");
    first.merchant_key_insert(&key("mkey_1", "h1")).await.unwrap();

    // Again, on a database that has them all (a restart), and by `verifier migrate`.
    drop(first);
    let again = db.store().await;
    let url = format!(
        "postgres://{}@{}:{}/{}",
        db.admin.get_username(),
        db.admin.get_host(),
        db.admin.get_port(),
        db.name
    );
    PgStore::migrate_only(&url).await.unwrap();
    let after: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(after, applied);
    assert_eq!(again.merchant_keys().await.unwrap().len(), 1, "the rows are kept");
}

fn key(id: &str, hash: &str) -> crate::store::MerchantKeyRecord {
    crate::store::MerchantKeyRecord {
        id: id.into(),
        mode: crate::config::Mode::Test,
        hint: "abcd".into(),
        hash: hash.into(),
        created_at: 1_700_000_000,
        revoked_at: None,
    }
}

#[tokio::test]
async fn of_concurrent_requests_with_one_idempotency_key_exactly_one_runs() {
    let Some(db) = TestDb::create("of_concurrent_requests_with_one_idempotency_key_exactly_one_runs").await
    else {
        return;
    };
    // Separate stores: separate pools, as on separate instances.
    let stores: Vec<Arc<PgStore>> =
        futures_util::future::join_all((0..4).map(|_| db.store())).await.into_iter().map(Arc::new).collect();
    for round in 0..10 {
        let key = format!("key-{round}");
        let tasks = (0..16).map(|i| {
            let s = stores[i % stores.len()].clone();
            let key = key.clone();
            tokio::spawn(async move {
                s.idempotency_begin(&key, "POST /v1/checkouts", "hash", 1_000, 0, true).await
            })
        });
        let results: Vec<IdempotencyBegin> =
            futures_util::future::join_all(tasks).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
        let started = results.iter().filter(|r| **r == IdempotencyBegin::Started).count();
        assert_eq!(started, 1, "round {round}: {results:?}");
        assert!(
            results.iter().all(|r| matches!(r, IdempotencyBegin::Started | IdempotencyBegin::InProgress))
        );
    }
    // A stale reservation is taken over by one request only.
    let tasks = (0..16).map(|i| {
        let s = stores[i % stores.len()].clone();
        tokio::spawn(async move {
            s.idempotency_begin("key-0", "POST /v1/checkouts", "hash", 50_000, 10_000, true).await
        })
    });
    let results: Vec<IdempotencyBegin> =
        futures_util::future::join_all(tasks).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| **r == IdempotencyBegin::Started).count(), 1, "{results:?}");
}

#[tokio::test]
async fn refused_counts_flushed_by_several_instances_at_once_all_count() {
    let Some(db) = TestDb::create("refused_counts_flushed_by_several_instances_at_once_all_count").await
    else {
        return;
    };
    let stores: Vec<Arc<PgStore>> =
        futures_util::future::join_all((0..4).map(|_| db.store())).await.into_iter().map(Arc::new).collect();
    let tasks = (0..40i64).map(|i| {
        let s = stores[(i as usize) % stores.len()].clone();
        tokio::spawn(async move {
            let count = RefusedCount {
                provider: Provider::NovaSend,
                refused: 3,
                first_at_ms: 1_000 + i,
                last_at_ms: 2_000 + i,
            };
            s.refused_record(vec![count], Vec::new(), 100).await
        })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap().unwrap();
    }
    let counts = stores[0].refused_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![RefusedCount {
            provider: Provider::NovaSend,
            refused: 120,
            first_at_ms: 1_000,
            last_at_ms: 2_039
        }]
    );
}

#[test]
fn the_url_scheme_selects_the_backend_and_another_is_a_configuration_error() {
    use crate::store::Backend;
    assert_eq!(Backend::of("sqlite://.demo/verifier.db").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::of("postgres://verifier@db:5432/shop").unwrap(), Backend::Postgres);
    assert_eq!(Backend::of("postgresql://verifier@db/shop").unwrap(), Backend::Postgres);
    for wrong in ["mysql://root@db/shop", "verifier.db", ""] {
        let e = Backend::of(wrong).unwrap_err().to_string();
        assert!(e.contains("sqlite://") && e.contains("postgres://"), "{wrong:?}: {e}");
    }
}

// ---- Payments: records and races.

use shared::{
    method::PaymentMethod,
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};

use crate::store::{
    AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, Inserted, LimitReached,
    NotificationRecord, NotificationState, RefundRecord, StoreError,
};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn checkout(id: &str) -> CheckoutRecord {
    CheckoutRecord {
        id: id.into(),
        reference: format!("order-{id}"),
        money: Money::new(5000, Currency::Xof).unwrap(),
        country: Country::Ci,
        description: Some("Panier".into()),
        return_url: None,
        customer: None,
        status: CheckoutStatus::Open,
        livemode: false,
        client_secret_hash: "h".into(),
        created_at: now(),
        expires_at: now() + 600,
    }
}

fn attempt(id: &str, checkout_id: &str, phone: &str) -> AttemptRecord {
    AttemptRecord {
        id: id.into(),
        checkout_id: checkout_id.into(),
        provider: Provider::NovaSend,
        method: PaymentMethod::MobileMoney,
        phone: Some(phone.into()),
        status: AttemptStatus::Created,
        failure: None,
        idempotency_key: format!("key-{id}"),
        provider_reference: None,
        payment_url: None,
        reported: None,
        created_at: now(),
    }
}

fn refund(id: &str, checkout_id: &str, attempt_id: &str, amount: u64) -> RefundRecord {
    RefundRecord {
        id: id.into(),
        checkout_id: checkout_id.into(),
        attempt_id: attempt_id.into(),
        amount: Money::new(amount, Currency::Xof).unwrap(),
        status: RefundStatus::Pending,
        reason: None,
        failure: None,
        provider_reference: None,
        created_at: now(),
    }
}

async fn stores(db: &TestDb, n: usize) -> Vec<Arc<PgStore>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(db.store().await));
    }
    out
}

/// A checkout with an attempt the provider confirmed.
async fn paid(s: &PgStore, id: &str) -> AttemptRecord {
    s.insert_checkout(&checkout(id), &Cause::Api("create")).await.unwrap();
    let a = attempt(&format!("at_{id}"), id, "+2250700000001");
    s.start_attempt(&a, 0, &Cause::Api("pay")).await.unwrap();
    let done = s
        .update_attempt(
            &a.id,
            &AttemptUpdate::new(AttemptStatus::Succeeded, None),
            &Cause::Poll(Provider::NovaSend),
        )
        .await
        .unwrap();
    assert!(done.changed());
    a
}

#[tokio::test]
async fn a_checkout_is_paid_through_an_attempt_and_a_late_failure_changes_nothing() {
    let Some(db) =
        TestDb::create("a_checkout_is_paid_through_an_attempt_and_a_late_failure_changes_nothing").await
    else {
        return;
    };
    let s = db.store().await;
    let c = checkout("co_flow");
    s.insert_checkout(&c, &Cause::Api("create")).await.unwrap();
    assert!(matches!(
        s.insert_checkout(&checkout("co_flow"), &Cause::Api("create")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.checkout("co_flow").await.unwrap().unwrap(), c);

    let a = attempt("at_flow", "co_flow", "+2250700000001");
    s.start_attempt(&a, 0, &Cause::Api("pay")).await.unwrap();
    let second = attempt("at_flow2", "co_flow", "+2250700000001");
    assert!(matches!(s.start_attempt(&second, 0, &Cause::Api("pay")).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.checkout("co_flow").await.unwrap().unwrap().status, CheckoutStatus::Processing);

    let waiting = AttemptUpdate {
        provider_reference: Some("ns-1".into()),
        ..AttemptUpdate::new(AttemptStatus::AwaitingCustomer, None)
    };
    s.update_attempt("at_flow", &waiting, &Cause::ProviderResponse(Provider::NovaSend)).await.unwrap();
    let found = s.attempt_by_reference(Provider::NovaSend, "ns-1").await.unwrap().unwrap();
    assert_eq!(found.id, "at_flow");
    assert_eq!(
        s.attempt_by_reference(Provider::NovaSend, "key-at_flow").await.unwrap().unwrap().id,
        "at_flow"
    );

    let applied = s
        .update_attempt(
            "at_flow",
            &AttemptUpdate::new(AttemptStatus::Succeeded, None),
            &Cause::Poll(Provider::NovaSend),
        )
        .await
        .unwrap();
    assert_eq!(applied.attempt, Some((AttemptStatus::AwaitingCustomer, AttemptStatus::Succeeded)));
    assert_eq!(applied.checkout, Some((CheckoutStatus::Processing, CheckoutStatus::Succeeded)));

    let late = AttemptUpdate::new(AttemptStatus::Failed, Some(shared::catalogue::ErrorCode::PaymentRefused));
    let applied = s.update_attempt("at_flow", &late, &Cause::Poll(Provider::NovaSend)).await.unwrap();
    assert!(!applied.changed());

    let (checkout, attempts) = s.checkout_with_attempts("co_flow").await.unwrap().unwrap();
    assert_eq!(checkout.status, CheckoutStatus::Succeeded);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, AttemptStatus::Succeeded);
    assert_eq!(attempts[0].provider_reference.as_deref(), Some("ns-1"));
    let (_, latest) = s.checkout_with_latest_attempt("co_flow").await.unwrap().unwrap();
    assert_eq!(latest.unwrap(), attempts[0]);

    let history: Vec<(Option<String>, String)> =
        s.history("co_flow").await.unwrap().into_iter().map(|h| (h.from, h.to)).collect();
    let step = |from: Option<&str>, to: &str| (from.map(str::to_owned), to.to_owned());
    assert_eq!(
        history,
        vec![
            step(None, "open"),
            step(None, "created"),
            step(Some("open"), "processing"),
            step(Some("created"), "awaiting_customer"),
            step(Some("awaiting_customer"), "succeeded"),
            step(Some("processing"), "succeeded"),
        ]
    );
    let events = s.checkout_events("co_flow").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["checkout.succeeded"]);
    assert_eq!(events[0].state, shared::api::DeliveryState::Pending);
}

#[tokio::test]
async fn concurrent_updates_of_one_attempt_from_separate_connections_never_move_it_backwards() {
    let Some(db) =
        TestDb::create("concurrent_updates_of_one_attempt_from_separate_connections_never_move_it_backwards")
            .await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    for round in 0..6 {
        let id = format!("co_race{round}");
        stores[0].insert_checkout(&checkout(&id), &Cause::Api("create")).await.unwrap();
        let a = attempt(&format!("at_race{round}"), &id, "+2250700000001");
        stores[0].start_attempt(&a, 0, &Cause::Api("pay")).await.unwrap();
        // Every kind of update at once: pending, success, failure, expiry.
        let updates = [
            AttemptStatus::AwaitingCustomer,
            AttemptStatus::Succeeded,
            AttemptStatus::Failed,
            AttemptStatus::Authorized,
            AttemptStatus::Expired,
            AttemptStatus::Succeeded,
        ];
        let tasks = (0..24).map(|i| {
            let s = stores[i % stores.len()].clone();
            let attempt_id = a.id.clone();
            let status = updates[i % updates.len()];
            tokio::spawn(async move {
                s.update_attempt(
                    &attempt_id,
                    &AttemptUpdate::new(status, None),
                    &Cause::Poll(Provider::NovaSend),
                )
                .await
            })
        });
        for t in futures_util::future::join_all(tasks).await {
            t.unwrap().unwrap();
        }
        let history = stores[1].history(&id).await.unwrap();
        // Each recorded move of the attempt starts where the previous one ended, and is a
        // move the state table allows: no update was decided from a state already gone.
        let moves: Vec<(AttemptStatus, AttemptStatus)> = history
            .iter()
            .filter(|h| h.attempt_id.is_some() && h.from.is_some())
            .map(|h| {
                (
                    AttemptStatus::parse(h.from.as_deref().unwrap()).unwrap(),
                    AttemptStatus::parse(&h.to).unwrap(),
                )
            })
            .collect();
        let mut at = AttemptStatus::Created;
        for (from, to) in &moves {
            assert_eq!(*from, at, "round {round}: {moves:?}");
            assert!(from.can_become(*to), "round {round}: {moves:?}");
            at = *to;
        }
        // A success arrived, and a success is final: whatever came before or after it.
        let (checkout, attempts) = stores[2].checkout_with_attempts(&id).await.unwrap().unwrap();
        assert_eq!(attempts[0].status, at);
        assert_eq!(at, AttemptStatus::Succeeded, "round {round}: {moves:?}");
        assert_eq!(checkout.status, CheckoutStatus::Succeeded);
        // The merchant heard of each recorded move once: one success, one failure event per
        // recorded failure or expiry (a failure recorded before the success), nothing else.
        let events = stores[3].checkout_events(&id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let failures = moves
            .iter()
            .filter(|(_, to)| matches!(to, AttemptStatus::Failed | AttemptStatus::Expired))
            .count();
        assert_eq!(
            kinds.iter().filter(|k| **k == "checkout.succeeded").count(),
            1,
            "round {round}: {kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "attempt.failed").count(),
            failures,
            "round {round}: {kinds:?}"
        );
        assert_eq!(kinds.len(), 1 + failures, "round {round}: {kinds:?}");
    }
}

#[tokio::test]
async fn concurrent_refunds_from_separate_connections_never_exceed_what_was_paid() {
    let Some(db) =
        TestDb::create("concurrent_refunds_from_separate_connections_never_exceed_what_was_paid").await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    let a = paid(&stores[0], "co_refund").await;
    // 5000 paid; twelve refunds of 2000 at once: two fit, whoever they are.
    let tasks = (0..12).map(|i| {
        let s = stores[i % stores.len()].clone();
        let r = refund(&format!("rf_{i}"), "co_refund", &a.id, 2000);
        tokio::spawn(async move { s.start_refund(&r, &Cause::Api("refund")).await })
    });
    let results: Vec<Result<(), StoreError>> =
        futures_util::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 2, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(StoreError::Rule(_)))), "{results:?}");
    let refunds = stores[1].refunds("co_refund").await.unwrap();
    assert_eq!(refunds.iter().map(|r| r.amount.minor()).sum::<u64>(), 4000);

    // Both end at once, each from its own connection: the checkout ends partially refunded.
    let tasks = refunds.iter().enumerate().map(|(i, r)| {
        let s = stores[i % stores.len()].clone();
        let id = r.id.clone();
        tokio::spawn(async move {
            s.finish_refund(&id, RefundStatus::Succeeded, None, Some("ref"), &Cause::Api("refund")).await
        })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap().unwrap();
    }
    assert_eq!(
        stores[2].checkout("co_refund").await.unwrap().unwrap().status,
        CheckoutStatus::PartiallyRefunded
    );
    // The rest of the payment still fits, and then nothing more.
    stores[3]
        .start_refund(&refund("rf_last", "co_refund", &a.id, 1000), &Cause::Api("refund"))
        .await
        .unwrap();
    let over = stores[0].start_refund(&refund("rf_over", "co_refund", &a.id, 1), &Cause::Api("refund")).await;
    assert!(matches!(over, Err(StoreError::Rule(_))), "{over:?}");
    stores[0]
        .finish_refund("rf_last", RefundStatus::Succeeded, None, None, &Cause::Api("refund"))
        .await
        .unwrap();
    assert_eq!(stores[1].checkout("co_refund").await.unwrap().unwrap().status, CheckoutStatus::Refunded);
    let kinds: Vec<String> = stores[1]
        .checkout_events("co_refund")
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "refund.succeeded").count(), 3, "{kinds:?}");
}

fn notification(id: &str, key: &str) -> NotificationRecord {
    NotificationRecord {
        id: id.into(),
        provider: Provider::NovaSend,
        dedup_key: Some(key.into()),
        verified: true,
        state: NotificationState::Received,
        duplicate_of: None,
        reference: Some("key-at_1".into()),
        update: Some(AttemptUpdate::new(AttemptStatus::Succeeded, None)),
        body: "{}".into(),
        attempts: 0,
        last_error: None,
        outcome: None,
        received_at_ms: 1_000,
        processed_at_ms: None,
    }
}

#[tokio::test]
async fn one_notification_delivered_many_times_at_once_is_stored_once() {
    let Some(db) = TestDb::create("one_notification_delivered_many_times_at_once_is_stored_once").await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    let tasks = (0..16).map(|i| {
        let s = stores[i % stores.len()].clone();
        tokio::spawn(async move { s.inbox_insert(&notification(&format!("wh_{i}"), "evt-1")).await })
    });
    let results: Vec<Inserted> =
        futures_util::future::join_all(tasks).await.into_iter().map(|t| t.unwrap().unwrap()).collect();
    let new: Vec<usize> = (0..16).filter(|i| results[*i] == Inserted::New).collect();
    assert_eq!(new.len(), 1, "{results:?}");
    let first = format!("wh_{}", new[0]);
    assert!(results.iter().all(|r| *r == Inserted::New || *r == Inserted::Duplicate { of: first.clone() }));
    let stored = stores[0].notifications(Some(Provider::NovaSend)).await.unwrap();
    assert_eq!(stored.len(), 16);
    assert_eq!(stored.iter().filter(|n| n.state == NotificationState::Received).count(), 1);
    assert_eq!(stores[1].inbox_due(100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn each_due_delivery_is_claimed_by_exactly_one_of_many_dispatchers() {
    let Some(db) = TestDb::create("each_due_delivery_is_claimed_by_exactly_one_of_many_dispatchers").await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    // Twenty paid checkouts: twenty events to send.
    for i in 0..20 {
        paid(&stores[0], &format!("co_d{i}")).await;
    }
    let now_ms = 1_000 * now() + 60_000;
    let tasks = (0..8).map(|i| {
        let s = stores[i % stores.len()].clone();
        tokio::spawn(async move { s.claim_deliveries(now_ms, 30_000, 5).await })
    });
    let mut claimed: Vec<String> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.unwrap().unwrap())
        .map(|d| d.event_id)
        .collect();
    assert_eq!(claimed.len(), 20, "every event claimed");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 20, "none claimed twice");
    assert!(stores[0].claim_deliveries(now_ms, 30_000, 100).await.unwrap().is_empty(), "all leased");
}

#[tokio::test]
async fn the_phone_limit_holds_for_attempts_on_several_checkouts_at_once() {
    let Some(db) = TestDb::create("the_phone_limit_holds_for_attempts_on_several_checkouts_at_once").await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    for i in 0..8 {
        stores[0].insert_checkout(&checkout(&format!("co_p{i}")), &Cause::Api("create")).await.unwrap();
    }
    let limits =
        AttemptLimits { per_checkout: 5, otp_failures_per_checkout: 3, per_phone: 3, phone_window_secs: 600 };
    let tasks = (0..8).map(|i| {
        let s = stores[i % stores.len()].clone();
        let a = attempt(&format!("at_p{i}"), &format!("co_p{i}"), "+2250700000009");
        tokio::spawn(async move { s.start_attempt_limited(&a, 0, &Cause::Api("pay"), &limits).await })
    });
    let results: Vec<Result<(), LimitReached>> =
        futures_util::future::join_all(tasks).await.into_iter().map(|t| t.unwrap().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(LimitReached::PhoneRequests { .. }))));
}

#[tokio::test]
async fn each_notification_is_claimed_by_exactly_one_of_many_inbox_workers() {
    let Some(db) = TestDb::create("each_notification_is_claimed_by_exactly_one_of_many_inbox_workers").await
    else {
        return;
    };
    let stores = stores(&db, 4).await;
    for i in 0..20 {
        stores[0].inbox_insert(&notification(&format!("wh_c{i}"), &format!("evt-c{i}"))).await.unwrap();
    }
    let tasks = (0..8).map(|i| {
        let s = stores[i % stores.len()].clone();
        tokio::spawn(async move { s.inbox_claim(10_000, 30_000, 5).await })
    });
    let mut claimed: Vec<String> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.unwrap().unwrap())
        .map(|n| n.id)
        .collect();
    assert_eq!(claimed.len(), 20, "every notification claimed");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 20, "none claimed twice");
    assert!(stores[1].inbox_claim(39_999, 30_000, 100).await.unwrap().is_empty(), "all leased");
    // A failed try ends the lease: claimable again at once, by one worker.
    stores[2].inbox_retry("wh_c3", "provider down", 5).await.unwrap();
    let again = stores[3].inbox_claim(10_001, 30_000, 100).await.unwrap();
    assert_eq!(again.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), vec!["wh_c3"]);
    assert_eq!(again[0].attempts, 1);
    // After its lease, a notification left unprocessed (its worker died) is claimed again.
    let after = stores[0].inbox_claim(40_000, 30_000, 100).await.unwrap();
    assert_eq!(after.len(), 19);
}

#[tokio::test]
async fn the_stores_debug_output_never_shows_the_databases_password() {
    let Some(db) = TestDb::create("the_stores_debug_output_never_shows_the_databases_password").await else {
        return;
    };
    // The test cluster may not ask for the password; the store must hold it all the same.
    let options = db.options().password("pw-never-shown");
    let store = PgStore::connect_with(options, crate::store::SystemClock::shared(), 2).await.unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("PgStore"), "{shown}");
    assert!(!shown.contains("pw-never-shown"), "{shown}");
}

//! PostgreSQL-specific tests of [`PgStore`]: they run when `TEST_DATABASE_URL` names a
//! PostgreSQL server (the test command always sets it), each in a database of its own that it
//! creates and drops, and print why they are skipped otherwise. The behaviour every store shares
//! is tested by the store contract suite; these test what PostgreSQL adds: migrations, and the
//! races that its READ COMMITTED transactions would let through without the locks and
//! conditional writes of this store, run from separate connections at once.

use std::{str::FromStr, sync::Arc};

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

use super::PgStore;
use crate::store::{RefusedCount, Store};
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

// ---- Payments (the races are in `store::contract`, on both backends).

use shared::{
    method::PaymentMethod,
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, CheckoutStatus},
};

use crate::store::{AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, StoreError};

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
        updated_at: now(),
    }
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

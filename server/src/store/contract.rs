//! The store contract suite: every behaviour a [`Store`] promises, as tests that take any store
//! and run on every backend available.
//!
//! - **SQLite**, always: a database file in a temporary directory of its own (never
//!   `:memory:`, so that reads go through the reading pool and writes through the writer, on
//!   separate connections, as in production).
//! - **PostgreSQL**, when `TEST_DATABASE_URL` names a database of a cluster the tests may use:
//!   each test gets a fresh database `contract_<random>` made through that URL (dropped when the
//!   test passes, left for inspection when it fails), opened through [`postgres`].
//!
//! Each test is a function over a [`Db`] (one fresh database, and a way to open more stores on
//! it, as more verifier instances would): [`behaviours`] for what one caller sees,
//! [`concurrency`] for what many callers at once, on real parallel connections, never break.
//! [`contract!`] turns each into one `#[tokio::test]` that runs it on every backend in turn;
//! a failure's output names the backend (`contract <test> on <backend>`).
//!
//! The record builders and the clock the tests use are here, in one place ([`build`],
//! [`now_ms`]), so that a change of the records or of the trait is adapted once.

use std::{future::Future, sync::Arc};

use sqlx::Connection;

use super::{Store, sqlite::SqliteStore};

mod behaviours;
mod cancel;
mod concurrency;
mod inbox_claim;
mod list;
mod overview;

/// Which backend a [`Db`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    /// [`SqliteStore`] on a file.
    Sqlite,
    /// The PostgreSQL store.
    Postgres,
}

/// One fresh database for one test, with its first store open.
#[derive(Debug)]
pub(super) struct Db {
    backend: Backend,
    url: String,
    /// SQLite's directory, removed when the `Db` is dropped.
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the URL the database was made through (and is dropped through).
    maintenance: Option<String>,
    first: Arc<dyn Store>,
}

impl Db {
    /// The store every sequential test uses.
    pub(super) fn store(&self) -> Arc<dyn Store> {
        self.first.clone()
    }

    /// `n` stores on this database: the first, and `n - 1` opened anew, each with its own
    /// connections (and, on SQLite, its own writer), as `n` verifier instances would have.
    pub(super) async fn instances(&self, n: usize) -> Vec<Arc<dyn Store>> {
        let mut all = vec![self.first.clone()];
        for _ in 1..n {
            all.push(open(self.backend, &self.url).await);
        }
        all
    }

    /// Ends a test that passed: drops a PostgreSQL database (its connections with it).
    async fn finish(self) {
        let Db { maintenance, url, first, .. } = self;
        drop(first);
        if let Some(maintenance) = maintenance {
            drop_postgres_database(&maintenance, &url).await.expect("dropping the test's database");
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Opens a store of `backend` on `url`.
async fn open(backend: Backend, url: &str) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await.expect("opening the SQLite store")),
        Backend::Postgres => postgres(url).await.expect("the PostgreSQL store was opened once on this URL"),
    }
}

/// **The PostgreSQL hook.** Opens the PostgreSQL store on `url` (a fresh database made by
/// [`fresh_postgres_database`], migrations not yet applied), or `None` while no PostgreSQL store
/// is wired in. The lead wires `PgStore` here (written on another branch; it applies the
/// migrations itself): `Some(Arc::new(PgStore::connect(url, SystemClock::shared()).await
/// .expect("opening the PostgreSQL store")))`.
async fn postgres(url: &str) -> Option<Arc<dyn Store>> {
    Some(Arc::new(
        super::postgres::PgStore::connect(url, super::SystemClock::shared())
            .await
            .expect("opening the PostgreSQL store"),
    ))
}

/// Makes a fresh database `contract_<random>` in the cluster of `maintenance_url` (a
/// PostgreSQL URL naming any database the user may connect to) and returns its URL.
pub(super) async fn fresh_postgres_database(maintenance_url: &str) -> anyhow::Result<String> {
    let name = format!("contract_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(maintenance_url).await?;
    // A name of our own making (letters, digits, `_`): quoted, never user input.
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
    conn.close().await?;
    let mut url = url::Url::parse(maintenance_url)?;
    url.set_path(&name);
    Ok(url.into())
}

/// Drops the database of `url` (made by [`fresh_postgres_database`]), closing whatever
/// connections are still open on it (`WITH (FORCE)`, PostgreSQL 13 and later:
/// <https://www.postgresql.org/docs/current/sql-dropdatabase.html>).
async fn drop_postgres_database(maintenance_url: &str, url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(url)?;
    let name = url.path().trim_start_matches('/');
    anyhow::ensure!(name.starts_with("contract_"), "not a contract database: {name:?}");
    let mut conn = sqlx::PgConnection::connect(maintenance_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// A fresh database on every backend available: SQLite, then PostgreSQL when
/// `TEST_DATABASE_URL` is set and [`postgres`] is wired.
async fn databases() -> Vec<Db> {
    let dir = tempfile::Builder::new().prefix("verifier-contract-").tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let first = open(Backend::Sqlite, &url).await;
    let mut all = vec![Db { backend: Backend::Sqlite, url, _dir: Some(dir), maintenance: None, first }];
    if let Ok(maintenance) = std::env::var("TEST_DATABASE_URL")
        && !maintenance.is_empty()
    {
        let url = fresh_postgres_database(&maintenance).await.expect("making a fresh PostgreSQL database");
        match postgres(&url).await {
            Some(first) => all.push(Db {
                backend: Backend::Postgres,
                url,
                _dir: None,
                maintenance: Some(maintenance),
                first,
            }),
            None => {
                drop_postgres_database(&maintenance, &url).await.expect("dropping an unused database");
                eprintln!(
                    "TEST_DATABASE_URL is set, but no PostgreSQL store is wired into contract::postgres"
                );
            }
        }
    }
    all
}

/// Runs `test` on a fresh database of every backend available, one after the other.
async fn on_every_backend<F, Fut>(name: &str, test: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = Db>,
{
    for db in databases().await {
        eprintln!("contract {name} on {}", db.backend);
        let db = test(db).await;
        db.finish().await;
    }
}

/// One `#[tokio::test]` per contract test (`module::name`), on a multi-thread runtime so that
/// concurrent callers really run in parallel. Each test function takes the [`Db`] and gives it
/// back, so that its database is dropped only once the test passed.
macro_rules! contract {
    ($($module:ident :: $name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            on_every_backend(stringify!($name), |db| async move {
                $module::$name(&db).await;
                db
            })
            .await;
        }
    )*};
}

contract!(
    behaviours::a_fresh_store_lacks_no_migration_and_counts_pending_deliveries,
    behaviours::a_checkout_keeps_its_mode,
    behaviours::duplicate_reference_is_a_conflict,
    behaviours::one_live_attempt_per_checkout,
    behaviours::checkout_attempts_and_refused_codes_are_capped,
    behaviours::late_updates_never_undo_success,
    behaviours::a_failed_attempt_reopens_the_checkout,
    behaviours::a_second_paid_attempt_is_recorded_and_reported_as_overpaid,
    behaviours::an_attempt_not_paid_cannot_be_refunded,
    behaviours::a_review_keeps_what_was_reported_and_tells_the_merchant,
    behaviours::reads_show_a_checkout_with_its_attempts,
    behaviours::references_and_links_keep_the_first_given,
    behaviours::history_lists_every_change_oldest_first_with_its_cause,
    behaviours::only_open_checkouts_past_their_deadline_expire,
    behaviours::due_attempts_are_listed_soonest_first_and_each_fetch_counted_once,
    behaviours::a_cancelled_attempt_is_fetched_within_its_window_and_not_after,
    behaviours::an_unverifiable_notification_only_brings_a_fetch_forward,
    behaviours::each_state_change_writes_one_event_in_its_transaction,
    behaviours::a_failed_refund_frees_its_amount_and_a_discarded_one_leaves_no_trace,
    behaviours::pending_refunds_are_followed_up_once_per_count,
    behaviours::a_delivery_is_claimed_by_one_sender_at_a_time,
    behaviours::an_idempotency_key_runs_once,
    behaviours::a_notifications_update_marks_it_processed_in_the_same_transaction,
    behaviours::the_inbox_keeps_one_notification_per_key_and_a_forgery_shadows_nothing,
    behaviours::a_notification_that_keeps_failing_is_given_up,
    behaviours::retention_purges_exactly_the_rows_older_than_each_setting,
    behaviours::refused_counts_add_up_and_samples_keep_only_the_latest_per_provider,
    behaviours::merchant_keys_are_found_by_hash_and_mode_and_revoked_once,
    concurrency::the_phone_limit_holds_for_two_instances_on_one_database,
    concurrency::concurrent_payments_of_one_checkout_start_one_attempt,
    concurrency::concurrent_updates_of_one_attempt_never_move_it_backwards,
    concurrency::concurrent_refunds_never_exceed_what_was_paid,
    concurrency::concurrent_inserts_of_one_notification_store_one,
    concurrency::each_delivery_is_claimed_by_exactly_one_worker,
    concurrency::each_poll_is_claimed_by_exactly_one_worker,
    concurrency::a_refund_check_is_claimed_by_exactly_one_worker,
    concurrency::one_idempotency_key_is_started_by_exactly_one_request,
    concurrency::each_checkout_expires_once_and_never_while_paid,
    concurrency::concurrent_notifications_of_one_payment_apply_it_once,
    concurrency::a_reader_never_pairs_a_checkout_with_another_moment_of_its_attempts,
    inbox_claim::each_notification_is_claimed_by_exactly_one_worker,
    list::each_list_filter_selects_exactly_its_checkouts,
    list::the_list_cursor_walks_every_checkout_once_across_equal_times,
    list::the_list_limit_is_kept_within_one_and_a_hundred_and_one,
    overview::the_overview_counts_the_window_by_day_provider_method_and_failure,
    cancel::an_open_checkout_is_cancelled_once_with_its_event,
    cancel::only_an_open_checkout_is_cancelled,
    cancel::a_cancellation_and_a_payment_at_once_never_both_happen,
);

/// The time the tests give the store, unix milliseconds: the system's, which the store reads
/// too today. Once the store takes an injected clock (`store::Clock`), this reads that clock.
pub(super) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// [`now_ms`] in unix seconds.
pub(super) fn now_secs() -> i64 {
    now_ms() / 1000
}

/// Runs `f(i, store)` for `i` in `0..n` in `n` tasks of the multi-thread runtime, the stores
/// taken in turn from `instances`; every task waits at one barrier first, so that all of them
/// reach the store at the same time. Returns the results by `i`.
pub(super) async fn together<T, F, Fut>(instances: &[Arc<dyn Store>], n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, Arc<dyn Store>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let f = Arc::new(f);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, f) = (barrier.clone(), f.clone());
            let store = instances[i % instances.len()].clone();
            tokio::spawn(async move {
                barrier.wait().await;
                f(i, store).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.expect("a concurrent caller panicked"));
    }
    out
}

/// The records the tests store, built in one place.
pub(super) mod build {
    use shared::{
        method::{PaymentMethod, Provider},
        money::{Currency, Money},
        phone::Country,
        status::{AttemptStatus, CheckoutStatus, RefundStatus},
    };

    use super::{now_ms, now_secs};
    use crate::store::{
        AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, MerchantKeyRecord, NotificationRecord,
        NotificationState, RefundRecord, RefusedSample, Store,
    };

    /// What every test checkout costs: 5000 XOF.
    pub(crate) const PRICE: u64 = 5000;

    /// An open test-mode checkout of [`PRICE`] XOF, expiring in ten minutes.
    pub(crate) fn checkout(id: &str, reference: &str) -> CheckoutRecord {
        let now = now_secs();
        CheckoutRecord {
            id: id.into(),
            reference: reference.into(),
            money: Money::new(PRICE, Currency::Xof).unwrap(),
            country: Country::Ci,
            description: None,
            return_url: None,
            customer: None,
            status: CheckoutStatus::Open,
            livemode: false,
            client_secret_hash: "h".into(),
            created_at: now,
            expires_at: now + 600,
        }
    }

    /// A new mobile-money attempt with NovaSend, our reference `key-<id>`.
    pub(crate) fn attempt(id: &str, checkout_id: &str) -> AttemptRecord {
        AttemptRecord {
            id: id.into(),
            checkout_id: checkout_id.into(),
            provider: Provider::NovaSend,
            method: PaymentMethod::MobileMoney,
            phone: Some("+2250700000001".into()),
            status: AttemptStatus::Created,
            failure: None,
            idempotency_key: format!("key-{id}"),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: now_secs(),
            updated_at: now_secs(),
        }
    }

    /// A provider's update saying `status`, nothing else.
    pub(crate) fn update(status: AttemptStatus) -> AttemptUpdate {
        AttemptUpdate::new(status, None)
    }

    /// A pending refund of `amount` XOF of the paid attempt `attempt_id` of `checkout_id`.
    pub(crate) fn refund(id: &str, checkout_id: &str, attempt_id: &str, amount: u64) -> RefundRecord {
        RefundRecord {
            id: id.into(),
            checkout_id: checkout_id.into(),
            attempt_id: attempt_id.into(),
            amount: Money::new(amount, Currency::Xof).unwrap(),
            status: RefundStatus::Pending,
            reason: None,
            failure: None,
            provider_reference: None,
            created_at: now_secs(),
        }
    }

    /// A NovaSend notification with deduplication key `key`, saying the attempt `at_1`
    /// succeeded; refused (and unverified) unless `verified`.
    pub(crate) fn notification(id: &str, key: &str, verified: bool) -> NotificationRecord {
        NotificationRecord {
            id: id.into(),
            provider: Provider::NovaSend,
            dedup_key: Some(key.into()),
            verified,
            state: if verified { NotificationState::Received } else { NotificationState::Refused },
            duplicate_of: None,
            reference: Some("key-at_1".into()),
            update: Some(update(AttemptStatus::Succeeded)),
            body: "{}".into(),
            attempts: 0,
            last_error: None,
            outcome: None,
            received_at_ms: now_ms(),
            processed_at_ms: None,
        }
    }

    /// A refused notification's sample from `provider`, received at `at` (unix ms).
    pub(crate) fn refused_sample(provider: Provider, at: i64) -> RefusedSample {
        RefusedSample {
            provider,
            reference: Some(format!("ref-{at}")),
            reason: "bad signature".into(),
            body: "{}".into(),
            received_at_ms: at,
        }
    }

    /// An active merchant key of `mode` whose hash is `hash`.
    pub(crate) fn merchant_key(
        id: &str,
        mode: crate::config::Mode,
        hash: &str,
        at: i64,
    ) -> MerchantKeyRecord {
        MerchantKeyRecord {
            id: id.into(),
            mode,
            hint: hash.chars().rev().take(4).collect(),
            hash: hash.into(),
            created_at: at,
            revoked_at: None,
        }
    }

    /// Stores checkout `id` (reference `order-<id>`) paid by its attempt `at_<id>`; returns
    /// the attempt's id.
    pub(crate) async fn paid_checkout(s: &dyn Store, id: &str) -> String {
        s.insert_checkout(&checkout(id, &format!("order-{id}")), &Cause::Api("create")).await.unwrap();
        let attempt_id = format!("at_{id}");
        s.start_attempt(&attempt(&attempt_id, id), 0, &Cause::Api("pay")).await.unwrap();
        let paid = s
            .update_attempt(&attempt_id, &update(AttemptStatus::Succeeded), &Cause::Poll(Provider::NovaSend))
            .await
            .unwrap();
        assert_eq!(paid.checkout, Some((CheckoutStatus::Processing, CheckoutStatus::Succeeded)));
        attempt_id
    }
}

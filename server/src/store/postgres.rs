//! The PostgreSQL store: the same [`super::Store`] contract as the SQLite one, on a [`PgPool`], for a
//! merchant who runs several verifier instances on one database.
//!
//! Transactions run at PostgreSQL's default READ COMMITTED
//! (<https://www.postgresql.org/docs/15/transaction-iso.html#XACT-READ-COMMITTED>), where a
//! read-then-write sequence is a race unless the row that decides is locked or the write
//! re-checks what the decision was made from. So every method here is one of:
//! - a single statement (reads; conditional updates `… WHERE state = $seen` whose rows affected
//!   say whether the state held; `INSERT … ON CONFLICT` for keys, counts and deduplication);
//! - a transaction that first locks the row that decides (`SELECT … FOR UPDATE`: the checkout,
//!   for every change of it, its attempts or its refunds; then the attempt, for an update),
//!   asks [`super::plan`] what to write from what it read, then writes that, each move
//!   conditioned on the state decided from (`postgres/decide.rs`): a second writer of the same checkout
//!   waits for the first to commit and then decides from the committed state;
//! - a claim of work with `FOR UPDATE SKIP LOCKED` (deliveries, inbox notifications) or a
//!   compare-and-set on a count (polls, refund follow-ups), so that workers on several
//!   instances never take one item at once.
//!
//! Rows are ordered by explicit sequence columns (`seq`, identities), never by insertion order.
//! Migrations (`server/migrations/postgres`) are applied at start, under sqlx's advisory lock,
//! so two instances starting together do not both apply them.

use std::str::FromStr;

use anyhow::Context;
use shared::method::Provider;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use super::{
    AttemptRecord, CheckoutRecord, ClaimedDelivery, DeliveryOutcome, EventRecord, IdempotencyBegin,
    MerchantKeyRecord, NotificationRecord, RefundRecord, RefusedCount, RefusedSample, SharedClock,
    StatusChange, StoreError, SystemClock,
};

mod decide;
mod idempotency;
mod keys;
mod outbox;
mod overview;
mod reads;
mod refused;
mod rows;

use rows::other;

/// Connections per instance: enough for the request handlers, the reconciler, the inbox worker
/// and the dispatcher at once, well under PostgreSQL's default `max_connections` (100) for a
/// few instances.
const POOL_SIZE: u32 = 16;

/// The oldest server this store runs on (`server_version_num` of PostgreSQL 13).
const MIN_SERVER_VERSION: u32 = 130_000;

/// The PostgreSQL implementation of [`super::Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Where the store reads the time (the system's, or a test's).
    clock: SharedClock,
}

/// Where a URL points, without its password (what a log or an error may show).
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// Reads a `postgres://` URL.
fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    // The URL may hold a password: never repeated in the error.
    PgConnectOptions::from_str(url).map_err(|_| anyhow::anyhow!("invalid PostgreSQL database URL"))
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`) and applies
    /// the migrations; the store reads the time from `clock`.
    pub async fn connect(url: &str, clock: SharedClock) -> anyhow::Result<PgStore> {
        PgStore::connect_with(options(url)?, clock, POOL_SIZE).await
    }

    /// [`PgStore::connect`] with options already read and at most `max_connections` at once.
    pub async fn connect_with(
        options: PgConnectOptions,
        clock: SharedClock,
        max_connections: u32,
    ) -> anyhow::Result<PgStore> {
        let store = PgStore::open(options, clock, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations to the database at `url` and returns (`verifier migrate`).
    pub async fn migrate_only(url: &str) -> anyhow::Result<()> {
        let store = PgStore::open(options(url)?, SystemClock::shared(), 1).await?;
        store.migrate().await?;
        store.pool.close().await;
        Ok(())
    }

    async fn open(
        options: PgConnectOptions,
        clock: SharedClock,
        max_connections: u32,
    ) -> anyhow::Result<PgStore> {
        let target = describe(&options);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("failed to connect to the database {target}"))?;
        // `gen_random_uuid()` (claims) is built in from PostgreSQL 13
        // (https://www.postgresql.org/docs/13/functions-uuid.html).
        let version: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&pool)
            .await
            .context("failed to read the PostgreSQL server's version")?;
        anyhow::ensure!(
            version.parse::<u32>().is_ok_and(|v| v >= MIN_SERVER_VERSION),
            "PostgreSQL 13 or later is needed ({target} runs version number {version})"
        );
        Ok(PgStore { pool, clock })
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .context("failed to apply the database migrations")
    }

    /// The connection pool, for what shares the database beside the store (`LISTEN/NOTIFY`,
    /// leases of several instances).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait::async_trait]
impl super::Store for PgStore {
    async fn insert_checkout(&self, c: &CheckoutRecord, cause: &super::Cause) -> Result<(), StoreError> {
        self.decide_insert_checkout(c, cause).await
    }

    async fn checkout(&self, id: &str) -> Result<Option<CheckoutRecord>, StoreError> {
        self.read_checkout(id).await
    }

    async fn checkout_with_attempts(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Vec<AttemptRecord>)>, StoreError> {
        self.read_checkout_with_attempts(id).await
    }

    async fn checkout_with_latest_attempt(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        self.read_checkout_with_latest_attempt(id).await
    }

    async fn list_checkouts(
        &self,
        q: &super::CheckoutQuery,
    ) -> Result<Vec<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        self.read_list_checkouts(q).await
    }

    async fn attempts(&self, checkout_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        self.read_attempts(checkout_id).await
    }

    async fn attempt(&self, id: &str) -> Result<Option<AttemptRecord>, StoreError> {
        self.read_attempt(id).await
    }

    async fn attempt_by_reference(
        &self,
        provider: Provider,
        reference: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        self.read_attempt_by_reference(provider, reference).await
    }

    async fn start_attempt(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &super::Cause,
    ) -> Result<(), StoreError> {
        self.decide_start_attempt(a, first_poll_at_ms, cause, None).await?.map_err(|reached| {
            StoreError::Other(anyhow::anyhow!("a limit was applied where none was asked: {reached:?}"))
        })
    }

    async fn start_attempt_limited(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &super::Cause,
        limits: &super::AttemptLimits,
    ) -> Result<Result<(), super::LimitReached>, StoreError> {
        self.decide_start_attempt(a, first_poll_at_ms, cause, Some(limits)).await
    }

    async fn update_attempt(
        &self,
        attempt_id: &str,
        update: &super::AttemptUpdate,
        cause: &super::Cause,
    ) -> Result<super::Applied, StoreError> {
        self.decide_update_attempt(attempt_id, update, cause).await
    }

    async fn due_attempts(&self, now_ms: i64, limit: u32) -> Result<Vec<(AttemptRecord, u32)>, StoreError> {
        self.read_due_attempts(now_ms, limit).await
    }

    async fn claim_poll(
        &self,
        attempt_id: &str,
        polls_seen: u32,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write_claim_poll(attempt_id, polls_seen, next_at_ms).await
    }

    async fn expire_checkouts(&self, now: i64) -> Result<Vec<String>, StoreError> {
        self.decide_expire_checkouts(now).await
    }

    async fn cancel_checkout(
        &self,
        id: &str,
        cause: &super::Cause,
    ) -> Result<Option<(CheckoutRecord, bool)>, StoreError> {
        self.decide_cancel_checkout(id, cause).await
    }

    async fn history(&self, checkout_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        self.read_history(checkout_id).await
    }

    async fn start_refund(&self, r: &RefundRecord, cause: &super::Cause) -> Result<(), StoreError> {
        self.decide_start_refund(r, cause).await
    }

    async fn finish_refund(
        &self,
        refund_id: &str,
        status: shared::status::RefundStatus,
        failure: Option<shared::catalogue::ErrorCode>,
        provider_reference: Option<&str>,
        cause: &super::Cause,
    ) -> Result<super::Applied, StoreError> {
        self.decide_finish_refund(refund_id, status, failure, provider_reference, cause).await
    }

    async fn discard_refund(&self, refund_id: &str) -> Result<(), StoreError> {
        self.decide_discard_refund(refund_id).await
    }

    async fn refunds(&self, checkout_id: &str) -> Result<Vec<RefundRecord>, StoreError> {
        self.read_refunds(checkout_id).await
    }

    async fn overview(
        &self,
        window: super::overview::Window,
    ) -> Result<super::overview::Overview, StoreError> {
        self.read_overview(window).await
    }

    async fn checkout_events(&self, checkout_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        outbox::checkout_events(&self.pool, checkout_id).await
    }

    async fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StoreError> {
        outbox::event(&self.pool, event_id).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        outbox::claim_deliveries(&self.pool, now_ms, lease_ms, limit).await
    }

    async fn finish_delivery(
        &self,
        event_id: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        outbox::finish_delivery(&self.pool, event_id, claim, outcome, now_ms).await
    }

    async fn redeliver(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        outbox::redeliver(&self.pool, event_id, now_ms).await
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        method_path: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
        take_over_stale: bool,
    ) -> Result<IdempotencyBegin, StoreError> {
        idempotency::begin(
            &self.pool,
            key,
            method_path,
            request_hash,
            now_ms,
            stale_before_ms,
            take_over_stale,
        )
        .await
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        status: u16,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        idempotency::finish(&self.pool, key, status, body, now_ms).await
    }

    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError> {
        idempotency::release(&self.pool, key).await
    }

    async fn idempotency_purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        idempotency::purge(&self.pool, before_ms).await
    }

    async fn inbox_insert(&self, n: &NotificationRecord) -> Result<super::Inserted, StoreError> {
        self.decide_inbox_insert(n).await
    }

    async fn inbox_due(&self, limit: u32) -> Result<Vec<NotificationRecord>, StoreError> {
        let found = sqlx::query(
            "SELECT * FROM provider_notifications WHERE state = 'received' ORDER BY received_at_ms, seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(rows::notification).collect()
    }

    async fn inbox_claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.write_inbox_claim(now_ms, lease_ms, limit).await
    }

    async fn inbox_processed(&self, id: &str, outcome: &str) -> Result<(), StoreError> {
        self.write_inbox_processed(id, outcome).await
    }

    async fn inbox_retry(&self, id: &str, error: &str, give_up: u32) -> Result<(), StoreError> {
        self.write_inbox_retry(id, error, give_up).await
    }

    async fn notifications(&self, provider: Option<Provider>) -> Result<Vec<NotificationRecord>, StoreError> {
        self.read_notifications(provider).await
    }

    async fn poll_no_later_than(&self, attempt_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.write_poll_no_later_than(attempt_id, at_ms).await
    }

    async fn merchant_key_insert(&self, k: &MerchantKeyRecord) -> Result<(), StoreError> {
        keys::insert(&self.pool, k).await
    }

    async fn merchant_key_revoke(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        keys::revoke(&self.pool, id, now).await
    }

    async fn merchant_keys(&self) -> Result<Vec<MerchantKeyRecord>, StoreError> {
        keys::all(&self.pool).await
    }

    async fn merchant_key_active(
        &self,
        hash: &str,
        mode: crate::config::Mode,
    ) -> Result<Option<MerchantKeyRecord>, StoreError> {
        keys::active(&self.pool, hash, mode).await
    }

    async fn refund(&self, refund_id: &str) -> Result<Option<RefundRecord>, StoreError> {
        self.read_refund(refund_id).await
    }

    async fn due_refunds(&self, now_ms: i64, limit: u32) -> Result<Vec<(RefundRecord, u32)>, StoreError> {
        keys::due_refunds(&self.pool, now_ms, limit).await
    }

    async fn schedule_refund_check(
        &self,
        refund_id: &str,
        seen_checks: Option<u32>,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        keys::schedule_refund_check(&self.pool, refund_id, seen_checks, next_at_ms).await
    }

    async fn refused_record(
        &self,
        counts: Vec<RefusedCount>,
        samples: Vec<RefusedSample>,
        keep: u32,
    ) -> Result<(), StoreError> {
        refused::record(&self.pool, &counts, &samples, keep).await
    }

    async fn refused_counts(&self) -> Result<Vec<RefusedCount>, StoreError> {
        refused::counts(&self.pool).await
    }

    async fn refused_samples(&self, provider: Provider) -> Result<Vec<RefusedSample>, StoreError> {
        refused::samples(&self.pool, provider).await
    }

    async fn purge_refused_samples(&self, before_ms: i64) -> Result<u64, StoreError> {
        refused::purge_samples(&self.pool, before_ms).await
    }

    async fn purge_notification_bodies(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        refused::purge_bodies(&self.pool, before_ms, limit).await
    }

    async fn migrations_pending(&self) -> Result<usize, StoreError> {
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| StoreError::Other(anyhow::Error::new(e)))?;
        let known = sqlx::migrate!("./migrations/postgres").iter().map(|m| m.version).collect::<Vec<_>>();
        Ok(super::pending_migrations(known, &applied))
    }

    async fn deliveries_pending(&self) -> Result<u64, StoreError> {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::Other(anyhow::Error::new(e)))?;
        Ok(u64::try_from(pending).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;

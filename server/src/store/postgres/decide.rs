//! The PostgreSQL store's deciding methods: "read the deciding rows, plan, persist".
//!
//! Every change to a checkout, its attempts or its refunds first locks the checkout's row
//! (`SELECT … FOR UPDATE`, <https://www.postgresql.org/docs/15/explicit-locking.html#LOCKING-ROWS>):
//! the checkout row is the lock of everything decided about it, always taken first (then the
//! attempt or refund), so two changes of one checkout, from one instance or several, run one
//! after the other, and the second reads what the first committed. Under that lock the store
//! reads what [`plan`] needs, asks it what to write, and writes that with each move
//! conditioned on the state it was decided from (`… WHERE status = $from`); a write that finds
//! the state gone (it cannot under the lock, but the condition costs nothing) never overwrites
//! it: the transaction is undone and run again, as after a deadlock or
//! serialisation failure reported by PostgreSQL ([`plan::REPLANS`] times at most, then
//! [`StoreError::stale`]).

use sqlx::{PgConnection, Postgres, Transaction};

use super::{PgStore, rows};
use crate::store::{
    Applied, AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, Inserted, LimitReached,
    NotificationRecord, RefundRecord, StoreError,
    plan::{self, CheckoutMove, NewEvent, NewStatusChange},
};
use shared::{catalogue::ErrorCode, status::RefundStatus};

/// How many times a transaction is run again after PostgreSQL aborted it (deadlock,
/// serialisation) or its plan went stale.
const RETRIES: u32 = plan::REPLANS;

/// Why a transaction did not finish.
enum Abort {
    /// PostgreSQL aborted it (deadlock or serialisation failure), or a conditional write found
    /// the state decided from gone: run it again (read, plan, persist).
    Retry,
    /// Anything else: the method's answer.
    Fail(StoreError),
}

impl From<sqlx::Error> for Abort {
    fn from(e: sqlx::Error) -> Abort {
        // 40001 serialization_failure, 40P01 deadlock_detected
        // (https://www.postgresql.org/docs/15/errcodes-appendix.html).
        let code = match &e {
            sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        };
        match code.as_deref() {
            Some("40001" | "40P01") => Abort::Retry,
            _ => Abort::Fail(rows::other(e)),
        }
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Abort {
        if e.is_stale() { Abort::Retry } else { Abort::Fail(e) }
    }
}

type Step<T> = Result<T, Abort>;

/// Runs `attempt` until it finishes or fails with something else than [`Abort::Retry`].
macro_rules! retrying {
    ($attempt:expr) => {{
        let mut tries = 0;
        loop {
            match $attempt.await {
                Ok(done) => break Ok(done),
                Err(Abort::Fail(e)) => break Err(e),
                Err(Abort::Retry) if tries + 1 < RETRIES => tries += 1,
                Err(Abort::Retry) => break Err(StoreError::stale()),
            }
        }
    }};
}

/// A write that must change exactly one row: none means the state it was decided from is gone
/// (it cannot be under the checkout's lock; if it ever were, the transaction is undone and the
/// change planned again).
fn one_row(done: sqlx::postgres::PgQueryResult) -> Step<()> {
    if done.rows_affected() == 1 { Ok(()) } else { Err(Abort::Retry) }
}

/// The checkout `id`, locked for the rest of the transaction.
async fn lock_checkout(db: &mut PgConnection, id: &str) -> Step<Option<CheckoutRecord>> {
    let row = sqlx::query("SELECT * FROM checkouts WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *db)
        .await?;
    Ok(row.as_ref().map(rows::checkout).transpose()?)
}

/// A checkout's attempts, in the order stored.
async fn attempts_of(db: &mut PgConnection, checkout_id: &str) -> Step<Vec<AttemptRecord>> {
    let found = sqlx::query("SELECT * FROM attempts WHERE checkout_id = $1 ORDER BY created_at, seq")
        .bind(checkout_id)
        .fetch_all(&mut *db)
        .await?;
    Ok(found.iter().map(rows::attempt).collect::<Result<Vec<_>, _>>()?)
}

/// A checkout's refunds, in the order stored.
async fn refunds_of(db: &mut PgConnection, checkout_id: &str) -> Step<Vec<RefundRecord>> {
    let found = sqlx::query(
        "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
         WHERE r.checkout_id = $1 ORDER BY r.created_at, r.seq",
    )
    .bind(checkout_id)
    .fetch_all(&mut *db)
    .await?;
    Ok(found.iter().map(rows::refund).collect::<Result<Vec<_>, _>>()?)
}

async fn insert_history(db: &mut PgConnection, history: &[NewStatusChange]) -> Step<()> {
    for h in history {
        sqlx::query(
            "INSERT INTO status_changes (checkout_id, attempt_id, from_status, to_status, cause, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&h.checkout_id)
        .bind(&h.attempt_id)
        .bind(&h.from)
        .bind(&h.to)
        .bind(&h.cause)
        .bind(h.at)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Events and their pending deliveries, in the transaction of the change they report.
async fn insert_events(db: &mut PgConnection, events: &[NewEvent]) -> Step<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO events (id, type, checkout_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&e.id)
        .bind(e.kind.as_str())
        .bind(&e.checkout_id)
        .bind(&e.payload)
        .bind(e.created_at)
        .execute(&mut *db)
        .await?;
        sqlx::query(
            "INSERT INTO deliveries (event_id, state, attempts, next_attempt_at_ms, updated_at_ms)
             VALUES ($1, 'pending', 0, $2, $2)",
        )
        .bind(&e.id)
        .bind(e.due_at_ms)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Moves the checkout, only from the state decided from.
async fn move_checkout(db: &mut PgConnection, checkout_id: &str, m: CheckoutMove, at: i64) -> Step<()> {
    let done = sqlx::query("UPDATE checkouts SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
        .bind(m.to.as_str())
        .bind(at)
        .bind(checkout_id)
        .bind(m.from.as_str())
        .execute(&mut *db)
        .await?;
    one_row(done)
}

fn money_i64(minor: u64) -> Result<i64, StoreError> {
    i64::try_from(minor).map_err(|e| StoreError::Other(e.into()))
}

impl PgStore {
    async fn begin(&self) -> Step<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    pub(super) async fn decide_insert_checkout(
        &self,
        c: &CheckoutRecord,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        retrying!(self.try_insert_checkout(c, cause))
    }

    async fn try_insert_checkout(&self, c: &CheckoutRecord, cause: &Cause) -> Step<()> {
        let customer_json = c
            .customer
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Other(e.into()))?;
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO checkouts (id, reference, amount, currency, country, description, return_url, customer_json,
                                    status, client_secret_hash, created_at, expires_at, updated_at, livemode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13)",
        )
        .bind(&c.id)
        .bind(&c.reference)
        .bind(money_i64(c.money.minor())?)
        .bind(c.money.currency().code())
        .bind(c.country.code())
        .bind(&c.description)
        .bind(&c.return_url)
        .bind(customer_json)
        .bind(c.status.as_str())
        .bind(&c.client_secret_hash)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.livemode)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if rows::is_unique_violation(&e) => {
                return Err(Abort::Fail(StoreError::Conflict(format!(
                    "a checkout with reference {:?} already exists",
                    c.reference
                ))));
            }
            other => {
                other?;
            }
        }
        insert_history(&mut tx, &[plan::checkout_created(c, cause)]).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn decide_start_attempt(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
        limits: Option<&AttemptLimits>,
    ) -> Result<Result<(), LimitReached>, StoreError> {
        retrying!(self.try_start_attempt(a, first_poll_at_ms, cause, limits))
    }

    async fn try_start_attempt(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
        limits: Option<&AttemptLimits>,
    ) -> Step<Result<(), LimitReached>> {
        let now_ms = self.clock.now_ms();
        let mut tx = self.begin().await?;
        let Some(checkout) = lock_checkout(&mut tx, &a.checkout_id).await? else {
            return Err(Abort::Fail(StoreError::Conflict("no such checkout".into())));
        };
        if let Some(limits) = limits {
            let counts = self.count_for_limits(&mut tx, a, limits, plan::secs(now_ms)).await?;
            if let Err(reached) = plan::check_limits(limits, a, &counts, plan::secs(now_ms)) {
                return Ok(Err(reached));
            }
        }
        let start = plan::attempt_start(&checkout, a, first_poll_at_ms, cause, now_ms)?;
        let new = &start.attempt;
        let inserted = sqlx::query(
            "INSERT INTO attempts (id, checkout_id, provider, method, phone, status, failure, idempotency_key,
                                   provider_reference, payment_url, next_poll_at_ms, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL, NULL, $8, $9, $10)",
        )
        .bind(&new.id)
        .bind(&new.checkout_id)
        .bind(new.provider.as_str())
        .bind(new.method.as_str())
        .bind(&new.phone)
        .bind(new.status.as_str())
        .bind(&new.idempotency_key)
        .bind(start.first_poll_at_ms)
        .bind(new.created_at)
        .bind(start.at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if rows::is_unique_violation(&e) => {
                return Err(Abort::Fail(StoreError::Conflict("a payment is already in progress".into())));
            }
            other => {
                other?;
            }
        }
        insert_history(&mut tx, &start.history).await?;
        move_checkout(&mut tx, &checkout.id, start.checkout_move, start.at).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Counts what [`AttemptLimits`] limit, in the transaction that inserts the attempt. The
    /// checkout's counts hold under its lock; the phone number's span checkouts, so the number
    /// gets a lock of its own for the transaction (an advisory lock on its hash,
    /// <https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS>): two
    /// attempts to one number, on two checkouts or two instances, are counted one after the
    /// other.
    async fn count_for_limits(
        &self,
        db: &mut PgConnection,
        a: &AttemptRecord,
        limits: &AttemptLimits,
        now_secs: i64,
    ) -> Step<plan::AttemptCounts> {
        let mut counts = plan::AttemptCounts::default();
        let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE checkout_id = $1")
            .bind(&a.checkout_id)
            .fetch_one(&mut *db)
            .await?;
        counts.checkout_attempts = unsigned(n);
        if plan::counts_otp(a) {
            let failures: Vec<&str> = plan::refused_code_failures().iter().map(|f| f.as_str()).collect();
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM attempts WHERE checkout_id = $1 AND provider = $2 AND method = $3
                   AND status = 'failed' AND failure = ANY($4)",
            )
            .bind(&a.checkout_id)
            .bind(a.provider.as_str())
            .bind(a.method.as_str())
            .bind(&failures)
            .fetch_one(&mut *db)
            .await?;
            counts.otp_failures = unsigned(n);
        }
        if let Some(phone) = &a.phone {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("attempts.phone:{phone}"))
                .execute(&mut *db)
                .await?;
            let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(created_at) FROM attempts WHERE phone = $1 AND created_at > $2",
            )
            .bind(phone)
            .bind(plan::phone_window_start(limits, now_secs))
            .fetch_one(&mut *db)
            .await?;
            counts.phone_attempts = unsigned(n);
            counts.phone_oldest = oldest;
        }
        Ok(counts)
    }

    pub(super) async fn decide_update_attempt(
        &self,
        attempt_id: &str,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Result<Applied, StoreError> {
        retrying!(self.try_update_attempt(attempt_id, update, cause))
    }

    async fn try_update_attempt(
        &self,
        attempt_id: &str,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Step<Applied> {
        let mut tx = self.begin().await?;
        let checkout_id: Option<String> =
            sqlx::query_scalar("SELECT checkout_id FROM attempts WHERE id = $1")
                .bind(attempt_id)
                .fetch_optional(&mut *tx)
                .await?;
        let no_attempt = || Abort::Fail(StoreError::Conflict(format!("no attempt {attempt_id}")));
        let checkout_id = checkout_id.ok_or_else(no_attempt)?;
        // The checkout first (the order every change takes), then the attempt.
        let checkout = lock_checkout(&mut tx, &checkout_id).await?.ok_or_else(no_attempt)?;
        sqlx::query("SELECT 1 FROM attempts WHERE id = $1 FOR UPDATE")
            .bind(attempt_id)
            .execute(&mut *tx)
            .await?;
        let attempts = attempts_of(&mut tx, &checkout_id).await?;
        let now_ms = self.clock.now_ms();
        let p = plan::attempt_update(&checkout, &attempts, attempt_id, update, cause, now_ms)?;
        if p.provider_reference.is_some() || p.payment_url.is_some() {
            sqlx::query(
                "UPDATE attempts SET provider_reference = COALESCE(provider_reference, $1),
                                     payment_url = COALESCE(payment_url, $2) WHERE id = $3",
            )
            .bind(&p.provider_reference)
            .bind(&p.payment_url)
            .bind(attempt_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(m) = &p.attempt_move {
            let r = m.reported.clone().unwrap_or_default();
            let amount = r.amount.map(money_i64).transpose()?;
            let charged = r.charged.map(money_i64).transpose()?;
            let done = sqlx::query(
                "UPDATE attempts SET status = $1, failure = $2, updated_at = $3, reported_amount = $4,
                                     reported_amount_text = $5, reported_currency = $6, reported_reference = $7,
                                     reported_charged = $8, poll_until_ms = $9
                 WHERE id = $10 AND status = $11",
            )
            .bind(m.to.as_str())
            .bind(m.failure.map(ErrorCode::as_str))
            .bind(p.at)
            .bind(amount)
            .bind(&r.unreadable_amount)
            .bind(&r.currency)
            .bind(&r.reference)
            .bind(charged)
            .bind(m.poll_until_ms)
            .bind(attempt_id)
            .bind(m.from.as_str())
            .execute(&mut *tx)
            .await?;
            one_row(done)?;
        }
        if let Some(m) = p.checkout_move {
            move_checkout(&mut tx, &checkout_id, m, p.at).await?;
        }
        insert_history(&mut tx, &p.history).await?;
        insert_events(&mut tx, &p.events).await?;
        // A notification's update marks it processed in the same transaction.
        if let Some(n) = &p.notification {
            sqlx::query(
                "UPDATE provider_notifications SET state = 'processed', outcome = $1, attempts = attempts + 1,
                                                   processed_at_ms = $2
                 WHERE id = $3 AND state = 'received'",
            )
            .bind(n.outcome)
            .bind(n.at_ms)
            .bind(&n.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(p.applied())
    }

    pub(super) async fn decide_expire_checkouts(&self, now: i64) -> Result<Vec<String>, StoreError> {
        retrying!(self.try_expire_checkouts(now))
    }

    /// Expires, in one transaction, the open checkouts past their deadline that no other
    /// transaction holds (`SKIP LOCKED`: one being paid at this moment, or expired by another
    /// instance, is left to it and looked at again next time).
    async fn try_expire_checkouts(&self, now: i64) -> Step<Vec<String>> {
        // A plain read first: most seconds nothing expires, and then nothing is locked.
        let any: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM checkouts WHERE status = 'open' AND expires_at <= $1 LIMIT 1")
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let found = sqlx::query(
            "SELECT * FROM checkouts WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at, id
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let now_ms = self.clock.now_ms();
        let mut expired = Vec::new();
        for row in &found {
            let checkout = rows::checkout(row)?;
            let attempts = attempts_of(&mut tx, &checkout.id).await?;
            let Some(p) = plan::expiry(&checkout, &attempts, now, now_ms)? else { continue };
            move_checkout(&mut tx, &p.checkout_id, p.checkout_move, p.at).await?;
            insert_history(&mut tx, &p.history).await?;
            insert_events(&mut tx, &p.events).await?;
            expired.push(p.checkout_id);
        }
        tx.commit().await?;
        Ok(expired)
    }

    pub(super) async fn decide_cancel_checkout(
        &self,
        id: &str,
        cause: &Cause,
    ) -> Result<Option<(CheckoutRecord, bool)>, StoreError> {
        retrying!(self.try_cancel_checkout(id, cause))
    }

    /// Under the checkout's lock, so a cancellation and the start of an attempt (which takes
    /// the same lock) are decided one after the other.
    async fn try_cancel_checkout(&self, id: &str, cause: &Cause) -> Step<Option<(CheckoutRecord, bool)>> {
        let mut tx = self.begin().await?;
        let Some(checkout) = lock_checkout(&mut tx, id).await? else { return Ok(None) };
        let attempts = attempts_of(&mut tx, id).await?;
        let Some(p) = plan::merchant_cancel(&checkout, &attempts, cause, self.clock.now_ms())? else {
            return Ok(Some((checkout, false)));
        };
        move_checkout(&mut tx, &p.checkout_id, p.checkout_move, p.at).await?;
        insert_history(&mut tx, &p.history).await?;
        insert_events(&mut tx, &p.events).await?;
        tx.commit().await?;
        Ok(Some((CheckoutRecord { status: p.checkout_move.to, ..checkout }, true)))
    }

    pub(super) async fn decide_start_refund(
        &self,
        r: &RefundRecord,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        retrying!(self.try_start_refund(r, cause))
    }

    /// Under the checkout's lock, so two refunds of one payment (from two instances too) are
    /// decided one after the other, the second counting the first as pending.
    async fn try_start_refund(&self, r: &RefundRecord, cause: &Cause) -> Step<()> {
        let mut tx = self.begin().await?;
        let Some(checkout) = lock_checkout(&mut tx, &r.checkout_id).await? else {
            return Err(Abort::Fail(StoreError::Conflict("no such checkout".into())));
        };
        let attempts = attempts_of(&mut tx, &checkout.id).await?;
        let refunds = refunds_of(&mut tx, &checkout.id).await?;
        let p = plan::refund_start(&checkout, &attempts, &refunds, r, cause, self.clock.now_ms())?;
        let new = &p.refund;
        sqlx::query(
            "INSERT INTO refunds (id, checkout_id, attempt_id, amount, status, reason, failure, provider_reference,
                                  created_at, updated_at, next_check_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $7, $8)",
        )
        .bind(&new.id)
        .bind(&new.checkout_id)
        .bind(&new.attempt_id)
        .bind(money_i64(new.amount.minor())?)
        .bind(new.status.as_str())
        .bind(&new.reason)
        .bind(new.created_at)
        .bind(p.next_check_at_ms)
        .execute(&mut *tx)
        .await?;
        insert_history(&mut tx, &p.history).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn decide_finish_refund(
        &self,
        refund_id: &str,
        status: RefundStatus,
        failure: Option<ErrorCode>,
        provider_reference: Option<&str>,
        cause: &Cause,
    ) -> Result<Applied, StoreError> {
        retrying!(self.try_finish_refund(refund_id, status, failure, provider_reference, cause))
    }

    async fn try_finish_refund(
        &self,
        refund_id: &str,
        status: RefundStatus,
        failure: Option<ErrorCode>,
        provider_reference: Option<&str>,
        cause: &Cause,
    ) -> Step<Applied> {
        let mut tx = self.begin().await?;
        let no_refund = || Abort::Fail(StoreError::Conflict(format!("no refund {refund_id}")));
        let checkout_id: String = sqlx::query_scalar("SELECT checkout_id FROM refunds WHERE id = $1")
            .bind(refund_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(no_refund)?;
        let checkout = lock_checkout(&mut tx, &checkout_id).await?.ok_or_else(no_refund)?;
        let attempts = attempts_of(&mut tx, &checkout_id).await?;
        let refunds = refunds_of(&mut tx, &checkout_id).await?;
        let now_ms = self.clock.now_ms();
        let Some(p) = plan::refund_finish(
            &checkout,
            &attempts,
            &refunds,
            refund_id,
            status,
            failure,
            provider_reference,
            cause,
            now_ms,
        )?
        else {
            return Ok(Applied::default());
        };
        let m = &p.refund_move;
        let done = sqlx::query(
            "UPDATE refunds SET status = $1, failure = $2, provider_reference = COALESCE(provider_reference, $3),
                                updated_at = $4
             WHERE id = $5 AND status = $6",
        )
        .bind(m.to.as_str())
        .bind(m.failure.map(ErrorCode::as_str))
        .bind(&m.provider_reference)
        .bind(p.at)
        .bind(refund_id)
        .bind(m.from.as_str())
        .execute(&mut *tx)
        .await?;
        one_row(done)?;
        if let Some(c) = p.checkout_move {
            move_checkout(&mut tx, &checkout_id, c, p.at).await?;
        }
        insert_history(&mut tx, &p.history).await?;
        insert_events(&mut tx, &p.events).await?;
        tx.commit().await?;
        Ok(p.applied())
    }

    pub(super) async fn decide_discard_refund(&self, refund_id: &str) -> Result<(), StoreError> {
        retrying!(self.try_discard_refund(refund_id))
    }

    async fn try_discard_refund(&self, refund_id: &str) -> Step<()> {
        let mut tx = self.begin().await?;
        let checkout_id: Option<String> = sqlx::query_scalar("SELECT checkout_id FROM refunds WHERE id = $1")
            .bind(refund_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(checkout_id) = checkout_id else { return Ok(()) };
        lock_checkout(&mut tx, &checkout_id).await?;
        let deleted = sqlx::query("DELETE FROM refunds WHERE id = $1 AND status = 'pending'")
            .bind(refund_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 1 {
            sqlx::query("DELETE FROM status_changes WHERE checkout_id = $1 AND to_status = $2")
                .bind(&checkout_id)
                .bind(plan::refund_history_text(refund_id, RefundStatus::Pending))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a notification; the deduplication key's uniqueness is the database's (a partial
    /// unique index with `ON CONFLICT DO NOTHING`): of two deliveries stored at once, one is new
    /// and the other, finding the first, is stored as its duplicate.
    pub(super) async fn decide_inbox_insert(&self, n: &NotificationRecord) -> Result<Inserted, StoreError> {
        for _ in 0..RETRIES {
            let first: Option<String> = match plan::inbox_dedup_key(n) {
                Some(key) => sqlx::query_scalar(
                    "SELECT id FROM provider_notifications WHERE provider = $1 AND dedup_key = $2",
                )
                .bind(n.provider.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(rows::other)?,
                None => None,
            };
            let p = plan::inbox_insert(n, first.as_deref());
            let row = &p.row;
            let update = row.update.as_ref();
            let reported = update
                .filter(|u| !u.reported.is_empty())
                .map(|u| serde_json::to_string(&u.reported))
                .transpose()
                .map_err(|e| StoreError::Other(e.into()))?;
            let done = sqlx::query(
                "INSERT INTO provider_notifications (id, provider, dedup_key, verified, state, duplicate_of, reference,
                     update_status, update_failure, update_provider_reference, update_payment_url, update_reported,
                     body, attempts, last_error, outcome, received_at_ms, processed_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, NULL, NULL, $14, NULL)
                 ON CONFLICT (provider, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING",
            )
            .bind(&row.id)
            .bind(row.provider.as_str())
            .bind(&row.dedup_key)
            .bind(row.verified)
            .bind(row.state.as_str())
            .bind(&row.duplicate_of)
            .bind(&row.reference)
            .bind(update.map(|u| u.status.as_str()))
            .bind(update.and_then(|u| u.failure).map(ErrorCode::as_str))
            .bind(update.and_then(|u| u.provider_reference.as_deref()))
            .bind(update.and_then(|u| u.payment_url.as_deref()))
            .bind(reported)
            .bind(&row.body)
            .bind(row.received_at_ms)
            .execute(&self.pool)
            .await
            .map_err(rows::other)?;
            if done.rows_affected() == 1 {
                return Ok(p.inserted);
            }
            // Another delivery stored the key first: found by the next look-up.
        }
        Err(StoreError::stale())
    }
}

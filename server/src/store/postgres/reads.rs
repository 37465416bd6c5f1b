//! The PostgreSQL store's reads and its writes that decide nothing: one statement each (a
//! snapshot of one transaction where two statements must agree), conditional where a count or
//! a state is compared.

use shared::method::Provider;

use super::{
    PgStore,
    rows::{self, other},
};
use crate::store::{
    AttemptRecord, CheckoutQuery, CheckoutRecord, NotificationRecord, RefundRecord, StatusChange, StoreError,
};

/// The columns of an attempt prefixed `a_`, beside a checkout's in one row.
const ATTEMPT_AS_A: &str = "a.id AS a_id, a.checkout_id AS a_checkout_id, a.provider AS a_provider,
    a.method AS a_method, a.phone AS a_phone, a.status AS a_status, a.failure AS a_failure,
    a.idempotency_key AS a_idempotency_key, a.provider_reference AS a_provider_reference,
    a.payment_url AS a_payment_url, a.created_at AS a_created_at, a.updated_at AS a_updated_at,
    a.reported_amount AS a_reported_amount,
    a.reported_amount_text AS a_reported_amount_text, a.reported_currency AS a_reported_currency,
    a.reported_reference AS a_reported_reference, a.reported_charged AS a_reported_charged";

/// The statement of [`crate::store::Store::list_checkouts`] for `q`: each checkout with its
/// latest attempt, as [`PgStore::read_checkout_with_latest_attempt`] pairs them.
fn list_query(q: &CheckoutQuery) -> sqlx::QueryBuilder<'static, sqlx::Postgres> {
    q.statement(format!(
        "SELECT c.*, {ATTEMPT_AS_A} FROM checkouts c LEFT JOIN LATERAL (
             SELECT * FROM attempts WHERE checkout_id = c.id ORDER BY created_at DESC, seq DESC LIMIT 1
         ) a ON TRUE"
    ))
}

impl PgStore {
    pub(super) async fn read_checkout(&self, id: &str) -> Result<Option<CheckoutRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM checkouts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(rows::checkout).transpose()
    }

    pub(super) async fn read_checkout_with_attempts(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Vec<AttemptRecord>)>, StoreError> {
        // Two statements of one REPEATABLE READ transaction see one snapshot
        // (https://www.postgresql.org/docs/15/transaction-iso.html#XACT-REPEATABLE-READ).
        let mut tx = self.pool.begin().await.map_err(other)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let row = sqlx::query("SELECT * FROM checkouts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
        let Some(row) = row else { return Ok(None) };
        let checkout = rows::checkout(&row)?;
        let found = sqlx::query("SELECT * FROM attempts WHERE checkout_id = $1 ORDER BY created_at, seq")
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?;
        tx.commit().await.map_err(other)?;
        let attempts = found.iter().map(rows::attempt).collect::<Result<Vec<_>, _>>()?;
        Ok(Some((checkout, attempts)))
    }

    pub(super) async fn read_checkout_with_latest_attempt(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        // One statement: one snapshot.
        let row = sqlx::query(&format!(
            "SELECT c.*, {ATTEMPT_AS_A} FROM checkouts c LEFT JOIN LATERAL (
                 SELECT * FROM attempts WHERE checkout_id = c.id ORDER BY created_at DESC, seq DESC LIMIT 1
             ) a ON TRUE
             WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        let Some(row) = row else { return Ok(None) };
        let attempt = match rows::get::<Option<String>>(&row, "a_id")? {
            Some(_) => Some(rows::attempt_as(&row, "a_")?),
            None => None,
        };
        Ok(Some((rows::checkout(&row)?, attempt)))
    }

    pub(super) async fn read_list_checkouts(
        &self,
        q: &CheckoutQuery,
    ) -> Result<Vec<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        // One statement: one snapshot.
        let found = list_query(q).build().fetch_all(&self.pool).await.map_err(other)?;
        found
            .iter()
            .map(|row| -> Result<_, StoreError> {
                let attempt = match rows::get::<Option<String>>(row, "a_id")? {
                    Some(_) => Some(rows::attempt_as(row, "a_")?),
                    None => None,
                };
                Ok((rows::checkout(row)?, attempt))
            })
            .collect()
    }

    pub(super) async fn read_attempts(&self, checkout_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let found = sqlx::query("SELECT * FROM attempts WHERE checkout_id = $1 ORDER BY created_at, seq")
            .bind(checkout_id)
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        found.iter().map(rows::attempt).collect()
    }

    pub(super) async fn read_attempt(&self, id: &str) -> Result<Option<AttemptRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM attempts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(rows::attempt).transpose()
    }

    pub(super) async fn read_attempt_by_reference(
        &self,
        provider: Provider,
        reference: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        // Our reference first (unique), then the provider's.
        let row = sqlx::query(
            "(SELECT *, 0 AS rank FROM attempts WHERE idempotency_key = $1 AND provider = $2)
             UNION ALL
             (SELECT *, 1 AS rank FROM attempts WHERE provider = $2 AND provider_reference = $1)
             ORDER BY rank, seq LIMIT 1",
        )
        .bind(reference)
        .bind(provider.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(rows::attempt).transpose()
    }

    pub(super) async fn read_due_attempts(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<(AttemptRecord, u32)>, StoreError> {
        // The pending attempts, and the failed ones still fetched (a customer's cancellation,
        // within its window), each through its partial index.
        let found = sqlx::query(
            "(SELECT * FROM attempts WHERE status IN ('created', 'awaiting_customer', 'authorized')
               AND next_poll_at_ms <= $1)
             UNION ALL
             (SELECT * FROM attempts WHERE status = 'failed' AND poll_until_ms IS NOT NULL
               AND poll_until_ms > $1 AND next_poll_at_ms <= $1)
             ORDER BY next_poll_at_ms, seq LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(|r| Ok((rows::attempt(r)?, rows::count(rows::get(r, "polls")?)))).collect()
    }

    pub(super) async fn write_claim_poll(
        &self,
        attempt_id: &str,
        polls_seen: u32,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        // Compare-and-set on the count: of two reconcilers (or instances) that saw the same
        // count, one updates a row and the other none.
        let done = sqlx::query(
            "UPDATE attempts SET polls = polls + 1, next_poll_at_ms = $1 WHERE id = $2 AND polls = $3",
        )
        .bind(next_at_ms)
        .bind(attempt_id)
        .bind(i64::from(polls_seen))
        .execute(&self.pool)
        .await
        .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn read_history(&self, checkout_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        let found = sqlx::query(
            "SELECT created_at, attempt_id, from_status, to_status, cause FROM status_changes
             WHERE checkout_id = $1 ORDER BY id",
        )
        .bind(checkout_id)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(rows::status_change).collect()
    }

    pub(super) async fn read_refunds(&self, checkout_id: &str) -> Result<Vec<RefundRecord>, StoreError> {
        // The amounts are in the checkout's currency: read with it.
        let found = sqlx::query(
            "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
             WHERE r.checkout_id = $1 ORDER BY r.created_at, r.seq",
        )
        .bind(checkout_id)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(rows::refund).collect()
    }

    pub(super) async fn read_refund(&self, refund_id: &str) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
             WHERE r.id = $1",
        )
        .bind(refund_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(rows::refund).transpose()
    }

    pub(super) async fn read_notifications(
        &self,
        provider: Option<Provider>,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let found = sqlx::query(
            "SELECT * FROM provider_notifications WHERE $1::text IS NULL OR provider = $1
             ORDER BY received_at_ms, seq",
        )
        .bind(provider.map(Provider::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(rows::notification).collect()
    }

    pub(super) async fn write_inbox_processed(&self, id: &str, outcome: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE provider_notifications SET state = 'processed', outcome = $1, attempts = attempts + 1,
                 processed_at_ms = $2 WHERE id = $3 AND state = 'received'",
        )
        .bind(outcome)
        .bind(self.clock.now_ms())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(other)?;
        Ok(())
    }

    pub(super) async fn write_inbox_retry(
        &self,
        id: &str,
        error: &str,
        give_up: u32,
    ) -> Result<(), StoreError> {
        // A compare-and-set on the count of tries, so two workers' failures both count; the
        // claim's lease ends, so the next pass tries it again.
        for _ in 0..crate::store::plan::REPLANS {
            let seen: Option<i64> = sqlx::query_scalar(
                "SELECT attempts FROM provider_notifications WHERE id = $1 AND state = 'received'",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
            let Some(seen) = seen else { return Ok(()) };
            let tries = rows::count(seen).saturating_add(1);
            let done = sqlx::query(
                "UPDATE provider_notifications SET attempts = $1, last_error = $2, state = $3, lease_until_ms = 0
                 WHERE id = $4 AND state = 'received' AND attempts = $5",
            )
            .bind(i64::from(tries))
            .bind(error)
            .bind(crate::store::plan::inbox_retry_state(tries, give_up).as_str())
            .bind(id)
            .bind(seen)
            .execute(&self.pool)
            .await
            .map_err(other)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
        }
        Err(StoreError::stale())
    }

    pub(super) async fn write_poll_no_later_than(
        &self,
        attempt_id: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE attempts SET next_poll_at_ms = LEAST(next_poll_at_ms, $1) WHERE id = $2")
            .bind(at_ms)
            .bind(attempt_id)
            .execute(&self.pool)
            .await
            .map_err(other)?;
        Ok(())
    }
}

impl PgStore {
    /// Claims received notifications whose lease ran out: one statement, rows another worker
    /// is claiming at this moment skipped (`FOR UPDATE SKIP LOCKED`), each claimed row's lease
    /// moved on, so that a row is returned by exactly one of concurrent claims.
    pub(super) async fn write_inbox_claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let found = sqlx::query(
            "WITH due AS (
                 SELECT seq FROM provider_notifications
                 WHERE state = 'received' AND lease_until_ms <= $1
                 ORDER BY received_at_ms, seq LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             UPDATE provider_notifications n SET lease_until_ms = $1 + $3
             FROM due WHERE n.seq = due.seq
             RETURNING n.*",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(lease_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let mut claimed = found
            .iter()
            .map(|row| {
                Ok((
                    (rows::get::<i64>(row, "received_at_ms")?, rows::get::<i64>(row, "seq")?),
                    rows::notification(row)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING keeps no order: oldest first, as the worker processes them.
        claimed.sort_by_key(|(order, _)| *order);
        Ok(claimed.into_iter().map(|(_, n)| n).collect())
    }
}

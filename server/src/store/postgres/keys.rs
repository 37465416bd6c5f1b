//! Merchant API keys (their hashes) and the follow-up schedule of pending refunds, in
//! PostgreSQL (migrations `0005_merchant_keys.sql`, `0001_checkouts.sql`).

use sqlx::PgPool;

use super::rows::{self, count, get, other};
use crate::{
    config::Mode,
    store::{MerchantKeyRecord, RefundRecord, StoreError},
};

pub(super) async fn insert(db: &PgPool, k: &MerchantKeyRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO merchant_keys (id, mode, hint, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.id)
    .bind(k.mode.as_str())
    .bind(&k.hint)
    .bind(&k.hash)
    .bind(k.created_at)
    .bind(k.revoked_at)
    .execute(db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn revoke(db: &PgPool, id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE merchant_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn all(db: &PgPool) -> Result<Vec<MerchantKeyRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM merchant_keys ORDER BY created_at, seq")
        .fetch_all(db)
        .await
        .map_err(other)?;
    rows.iter().map(rows::merchant_key).collect()
}

pub(super) async fn active(
    db: &PgPool,
    hash: &str,
    mode: Mode,
) -> Result<Option<MerchantKeyRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM merchant_keys WHERE hash = $1 AND mode = $2 AND revoked_at IS NULL")
        .bind(hash)
        .bind(mode.as_str())
        .fetch_optional(db)
        .await
        .map_err(other)?;
    row.as_ref().map(rows::merchant_key).transpose()
}

/// The pending refunds due at `now_ms`, with their follow-up counts, soonest first.
pub(super) async fn due_refunds(
    db: &PgPool,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<(RefundRecord, u32)>, StoreError> {
    let found = sqlx::query(
        "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
         WHERE r.status = 'pending' AND r.next_check_at_ms <= $1
         ORDER BY r.next_check_at_ms, r.seq LIMIT $2",
    )
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await
    .map_err(other)?;
    found.iter().map(|r| Ok((rows::refund(r)?, count(get(r, "checks")?)))).collect()
}

/// Sets a pending refund's next follow-up; with `seen_checks`, a compare-and-set on the count
/// (one follow-up per count, whoever runs it).
pub(super) async fn schedule_refund_check(
    db: &PgPool,
    refund_id: &str,
    seen_checks: Option<u32>,
    next_at_ms: i64,
) -> Result<bool, StoreError> {
    let done = match seen_checks {
        Some(seen) => sqlx::query(
            "UPDATE refunds SET next_check_at_ms = $1, checks = checks + 1
             WHERE id = $2 AND status = 'pending' AND checks = $3",
        )
        .bind(next_at_ms)
        .bind(refund_id)
        .bind(i64::from(seen))
        .execute(db)
        .await
        .map_err(other)?,
        None => sqlx::query("UPDATE refunds SET next_check_at_ms = $1 WHERE id = $2 AND status = 'pending'")
            .bind(next_at_ms)
            .bind(refund_id)
            .execute(db)
            .await
            .map_err(other)?,
    };
    Ok(done.rows_affected() == 1)
}

//! Idempotency keys of the merchant API in PostgreSQL: the key's row is read, [`plan`] decides,
//! and the write is conditional: a reservation is an `INSERT … ON CONFLICT DO NOTHING`
//! (<https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT>), so of two requests
//! with one key, on one instance or two, exactly one inserts; a takeover of a stale
//! reservation is an update only while the reservation is the one seen. Whoever's write
//! changes nothing reads again and decides again.

use sqlx::PgPool;

use super::rows::{corrupt, get, other};
use crate::store::{
    IdempotencyBegin, StoreError,
    plan::{self, IdempotencyDecision, IdempotencyRow},
};

pub(super) async fn begin(
    db: &PgPool,
    key: &str,
    method_path: &str,
    request_hash: &str,
    now_ms: i64,
    stale_before_ms: i64,
    take_over_stale: bool,
) -> Result<IdempotencyBegin, StoreError> {
    for _ in 0..plan::REPLANS {
        let row = sqlx::query(
            "SELECT method_path, request_hash, state, status, body, created_at_ms FROM idempotency_keys
             WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(db)
        .await
        .map_err(other)?;
        let found = match &row {
            Some(row) => {
                let state: String = get(row, "state")?;
                let done = if state == "done" {
                    let status: Option<i64> = get(row, "status")?;
                    let status = status
                        .and_then(|s| u16::try_from(s).ok())
                        .ok_or_else(|| corrupt("stored status", &format!("{status:?}")))?;
                    Some((status, get::<Option<Vec<u8>>>(row, "body")?.unwrap_or_default()))
                } else {
                    None
                };
                Some(IdempotencyRow {
                    method_path: get(row, "method_path")?,
                    request_hash: get(row, "request_hash")?,
                    done,
                    created_at_ms: get(row, "created_at_ms")?,
                })
            }
            None => None,
        };
        let decision = plan::idempotency_begin(
            found.as_ref(),
            method_path,
            request_hash,
            stale_before_ms,
            take_over_stale,
        );
        let won = match decision {
            IdempotencyDecision::Answer(answer) => return Ok(answer),
            IdempotencyDecision::Reserve => sqlx::query(
                "INSERT INTO idempotency_keys (key, method_path, request_hash, state, created_at_ms)
                 VALUES ($1, $2, $3, 'in_progress', $4) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(method_path)
            .bind(request_hash)
            .bind(now_ms)
            .execute(db)
            .await
            .map_err(other)?,
            IdempotencyDecision::TakeOver { seen_created_at_ms } => sqlx::query(
                "UPDATE idempotency_keys SET created_at_ms = $1
                 WHERE key = $2 AND state = 'in_progress' AND created_at_ms = $3",
            )
            .bind(now_ms)
            .bind(key)
            .bind(seen_created_at_ms)
            .execute(db)
            .await
            .map_err(other)?,
        };
        if won.rows_affected() == 1 {
            return Ok(IdempotencyBegin::Started);
        }
    }
    Err(StoreError::stale())
}

pub(super) async fn finish(
    db: &PgPool,
    key: &str,
    status: u16,
    body: &[u8],
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status = $1, body = $2, finished_at_ms = $3
         WHERE key = $4 AND state = 'in_progress'",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(now_ms)
    .bind(key)
    .execute(db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn release(db: &PgPool, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_progress'")
        .bind(key)
        .execute(db)
        .await
        .map_err(other)?;
    Ok(())
}

pub(super) async fn purge(db: &PgPool, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < $1")
        .bind(before_ms)
        .execute(db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected())
}

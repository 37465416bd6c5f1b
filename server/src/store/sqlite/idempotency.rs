//! Idempotency keys of the merchant API in SQLite: one write job of the store's writer (so one
//! `BEGIN IMMEDIATE` transaction) reserves a key or reads what it holds, so two concurrent
//! requests with one key never both run.

use sqlx::{Row, SqliteConnection};

use super::other;
use crate::store::{
    IdempotencyBegin, StoreError,
    plan::{self, IdempotencyDecision, IdempotencyRow},
};

pub(super) async fn begin(
    db: &mut SqliteConnection,
    key: &str,
    method_path: &str,
    request_hash: &str,
    now_ms: i64,
    stale_before_ms: i64,
    take_over_stale: bool,
) -> Result<IdempotencyBegin, StoreError> {
    let row = sqlx::query(
        "SELECT method_path, request_hash, state, status, body, created_at_ms FROM idempotency_keys
         WHERE key = ?",
    )
    .bind(key)
    .fetch_optional(&mut *db)
    .await
    .map_err(other)?;
    let found = match row {
        None => None,
        Some(row) => {
            let state: String = row.get("state");
            let done = if state == "done" {
                let status: i64 = row.get("status");
                Some((
                    u16::try_from(status).map_err(|e| StoreError::Other(e.into()))?,
                    row.get::<Option<Vec<u8>>, _>("body").unwrap_or_default(),
                ))
            } else {
                None
            };
            Some(IdempotencyRow {
                method_path: row.get("method_path"),
                request_hash: row.get("request_hash"),
                done,
                created_at_ms: row.get("created_at_ms"),
            })
        }
    };
    match plan::idempotency_begin(found.as_ref(), method_path, request_hash, stale_before_ms, take_over_stale)
    {
        IdempotencyDecision::Answer(answer) => Ok(answer),
        IdempotencyDecision::Reserve => {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, method_path, request_hash, state, created_at_ms)
                 VALUES (?, ?, ?, 'in_progress', ?)",
            )
            .bind(key)
            .bind(method_path)
            .bind(request_hash)
            .bind(now_ms)
            .execute(&mut *db)
            .await
            .map_err(other)?;
            Ok(IdempotencyBegin::Started)
        }
        IdempotencyDecision::TakeOver { seen_created_at_ms } => {
            let done = sqlx::query(
                "UPDATE idempotency_keys SET created_at_ms = ?
                 WHERE key = ? AND state = 'in_progress' AND created_at_ms = ?",
            )
            .bind(now_ms)
            .bind(key)
            .bind(seen_created_at_ms)
            .execute(&mut *db)
            .await
            .map_err(other)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::stale());
            }
            Ok(IdempotencyBegin::Started)
        }
    }
}

pub(super) async fn finish(
    db: &mut SqliteConnection,
    key: &str,
    status: u16,
    body: &[u8],
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status = ?, body = ?, finished_at_ms = ?
         WHERE key = ? AND state = 'in_progress'",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(now_ms)
    .bind(key)
    .execute(&mut *db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn release(db: &mut SqliteConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE key = ? AND state = 'in_progress'")
        .bind(key)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    Ok(())
}

pub(super) async fn purge(db: &mut SqliteConnection, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < ?")
        .bind(before_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected())
}

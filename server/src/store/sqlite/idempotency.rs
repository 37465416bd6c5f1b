//! Idempotency keys of the merchant API in SQLite: one write job of the store's writer (so one
//! `BEGIN IMMEDIATE` transaction) reserves a key or reads what it holds, so two concurrent
//! requests with one key never both run.

use sqlx::{Row, SqliteConnection};

use super::other;
use crate::store::{IdempotencyBegin, StoreError};

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
        None => {
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
            IdempotencyBegin::Started
        }
        Some(row) => {
            let same = row.get::<String, _>("method_path") == method_path
                && row.get::<String, _>("request_hash") == request_hash;
            let state: String = row.get("state");
            let created: i64 = row.get("created_at_ms");
            if !same {
                IdempotencyBegin::Mismatch
            } else if state == "done" {
                let status: i64 = row.get("status");
                IdempotencyBegin::Done {
                    status: u16::try_from(status).map_err(|e| StoreError::Other(e.into()))?,
                    body: row.get::<Option<Vec<u8>>, _>("body").unwrap_or_default(),
                }
            } else if created >= stale_before_ms {
                IdempotencyBegin::InProgress
            } else if take_over_stale {
                sqlx::query("UPDATE idempotency_keys SET created_at_ms = ? WHERE key = ?")
                    .bind(now_ms)
                    .bind(key)
                    .execute(&mut *db)
                    .await
                    .map_err(other)?;
                IdempotencyBegin::Started
            } else {
                IdempotencyBegin::Interrupted
            }
        }
    };
    Ok(found)
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

//! Merchant API keys (their hashes) and the follow-up schedule of pending refunds, in SQLite
//! (migration `0012_keys_and_refund_checks.sql`).

use sqlx::{Row, SqliteConnection, sqlite::SqliteRow};

use super::{corrupt, other};
use crate::{
    config::Mode,
    store::{MerchantKeyRecord, StoreError},
};

fn mode_text(mode: Mode) -> &'static str {
    mode.as_str()
}

fn key_from_row(row: &SqliteRow) -> Result<MerchantKeyRecord, StoreError> {
    let mode: String = row.get("mode");
    Ok(MerchantKeyRecord {
        id: row.get("id"),
        mode: match mode.as_str() {
            "test" => Mode::Test,
            "live" => Mode::Live,
            _ => return Err(corrupt("key mode", &mode)),
        },
        hint: row.get("hint"),
        hash: row.get("hash"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    })
}

pub(super) async fn insert(db: &mut SqliteConnection, k: &MerchantKeyRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO merchant_keys (id, mode, hint, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&k.id)
    .bind(mode_text(k.mode))
    .bind(&k.hint)
    .bind(&k.hash)
    .bind(k.created_at)
    .bind(k.revoked_at)
    .execute(&mut *db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn revoke(db: &mut SqliteConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE merchant_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn all(db: &mut SqliteConnection) -> Result<Vec<MerchantKeyRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM merchant_keys ORDER BY created_at, rowid")
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    rows.iter().map(key_from_row).collect()
}

pub(super) async fn active(
    db: &mut SqliteConnection,
    hash: &str,
    mode: Mode,
) -> Result<Option<MerchantKeyRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM merchant_keys WHERE hash = ? AND mode = ? AND revoked_at IS NULL")
        .bind(hash)
        .bind(mode_text(mode))
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?;
    row.as_ref().map(key_from_row).transpose()
}

/// Ids and follow-up counts of the pending refunds due at `now_ms`.
pub(super) async fn due_refunds(
    db: &mut SqliteConnection,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<(String, u32)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, checks FROM refunds WHERE status = 'pending' AND next_check_at_ms <= ?
         ORDER BY next_check_at_ms LIMIT ?",
    )
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(&mut *db)
    .await
    .map_err(other)?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>("id"), u32::try_from(r.get::<i64, _>("checks")).unwrap_or(u32::MAX)))
        .collect())
}

pub(super) async fn schedule_refund_check(
    db: &mut SqliteConnection,
    refund_id: &str,
    seen_checks: Option<u32>,
    next_at_ms: i64,
) -> Result<bool, StoreError> {
    let done = match seen_checks {
        // A claim by the reconciler: counted once, by whoever saw this count.
        Some(seen) => sqlx::query(
            "UPDATE refunds SET next_check_at_ms = ?, checks = checks + 1
             WHERE id = ? AND status = 'pending' AND checks = ?",
        )
        .bind(next_at_ms)
        .bind(refund_id)
        .bind(i64::from(seen))
        .execute(&mut *db)
        .await
        .map_err(other)?,
        None => sqlx::query("UPDATE refunds SET next_check_at_ms = ? WHERE id = ? AND status = 'pending'")
            .bind(next_at_ms)
            .bind(refund_id)
            .execute(&mut *db)
            .await
            .map_err(other)?,
    };
    Ok(done.rows_affected() == 1)
}

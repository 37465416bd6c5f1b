//! Refused provider notifications (counts and a bounded sample, migration
//! `0011_refused_notices.sql`) and the retention purges of what the inbox keeps.
//!
//! Nothing here runs per refused request: the verifier tallies them in memory
//! (`crate::refused`) and writes one flush every few seconds at most.

use shared::method::Provider;
use sqlx::{Row, SqliteConnection};

use super::{corrupt, other};
use crate::store::{RefusedCount, RefusedSample, StoreError};

pub(super) async fn record(
    db: &mut SqliteConnection,
    counts: &[RefusedCount],
    samples: &[RefusedSample],
    keep: u32,
) -> Result<(), StoreError> {
    for c in counts {
        sqlx::query(
            "INSERT INTO refused_notice_counts (provider, refused, first_at_ms, last_at_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (provider) DO UPDATE SET refused = refused + excluded.refused,
                 first_at_ms = MIN(first_at_ms, excluded.first_at_ms),
                 last_at_ms = MAX(last_at_ms, excluded.last_at_ms)",
        )
        .bind(c.provider.as_str())
        .bind(i64::try_from(c.refused).unwrap_or(i64::MAX))
        .bind(c.first_at_ms)
        .bind(c.last_at_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    for s in samples {
        sqlx::query(
            "INSERT INTO refused_notice_samples (provider, reference, reason, body, masked, received_at_ms)
             VALUES (?, ?, ?, ?, 1, ?)",
        )
        .bind(s.provider.as_str())
        .bind(&s.reference)
        .bind(&s.reason)
        .bind(&s.body)
        .bind(s.received_at_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    let mut trimmed: Vec<Provider> = samples.iter().map(|s| s.provider).collect();
    trimmed.sort_by_key(|p| p.as_str());
    trimmed.dedup();
    for provider in trimmed {
        // The id of the oldest sample to keep; everything of this provider before it goes.
        let oldest_kept: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM refused_notice_samples WHERE provider = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
        )
        .bind(provider.as_str())
        .bind(keep.saturating_sub(1))
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?;
        if let Some(id) = oldest_kept {
            sqlx::query("DELETE FROM refused_notice_samples WHERE provider = ? AND id < ?")
                .bind(provider.as_str())
                .bind(id)
                .execute(&mut *db)
                .await
                .map_err(other)?;
        }
    }
    Ok(())
}

pub(super) async fn counts(db: &mut SqliteConnection) -> Result<Vec<RefusedCount>, StoreError> {
    let rows = sqlx::query("SELECT provider, refused, first_at_ms, last_at_ms FROM refused_notice_counts")
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    rows.iter()
        .map(|row| {
            let provider: String = row.get("provider");
            let refused: i64 = row.get("refused");
            Ok(RefusedCount {
                provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
                refused: u64::try_from(refused).unwrap_or(0),
                first_at_ms: row.get("first_at_ms"),
                last_at_ms: row.get("last_at_ms"),
            })
        })
        .collect()
}

pub(super) async fn samples(
    db: &mut SqliteConnection,
    provider: Provider,
) -> Result<Vec<RefusedSample>, StoreError> {
    let rows = sqlx::query(
        "SELECT reference, reason, body, received_at_ms FROM refused_notice_samples WHERE provider = ?
         ORDER BY id",
    )
    .bind(provider.as_str())
    .fetch_all(&mut *db)
    .await
    .map_err(other)?;
    Ok(rows
        .iter()
        .map(|row| RefusedSample {
            provider,
            reference: row.get("reference"),
            reason: row.get("reason"),
            body: row.get("body"),
            received_at_ms: row.get("received_at_ms"),
        })
        .collect())
}

/// Masks the phone numbers of the samples migration 0011 moved from the old inbox rows (at
/// most 100 per provider; SQL has no phone parser); returns how many it rewrote.
pub(super) async fn mask_moved_samples(db: &mut SqliteConnection) -> Result<u64, StoreError> {
    let rows = sqlx::query("SELECT id, body FROM refused_notice_samples WHERE masked = 0")
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    for row in &rows {
        let id: i64 = row.get("id");
        let body: String = row.get("body");
        let mut masked = shared::phone::mask_phone_numbers(&body).into_owned();
        crate::redact::cut(&mut masked, crate::refused::SAMPLE_BODY_MAX);
        sqlx::query("UPDATE refused_notice_samples SET body = ?, masked = 1 WHERE id = ?")
            .bind(&masked)
            .bind(id)
            .execute(&mut *db)
            .await
            .map_err(other)?;
    }
    Ok(rows.len() as u64)
}

pub(super) async fn purge_samples(db: &mut SqliteConnection, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM refused_notice_samples WHERE received_at_ms < ?")
        .bind(before_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected())
}

pub(super) async fn purge_bodies(
    db: &mut SqliteConnection,
    before_ms: i64,
    limit: u32,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE provider_notifications SET body = '' WHERE rowid IN (
             SELECT rowid FROM provider_notifications
             WHERE state IN ('processed', 'duplicate') AND body != '' AND received_at_ms < ? LIMIT ?)",
    )
    .bind(before_ms)
    .bind(limit)
    .execute(&mut *db)
    .await
    .map_err(other)?;
    Ok(done.rows_affected())
}

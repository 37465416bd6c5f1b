//! Refused provider notifications (counts and a bounded sample) and the retention purges of
//! what the inbox keeps, in PostgreSQL. Counts are added with `INSERT … ON CONFLICT DO UPDATE`,
//! so two instances flushing at once both count.

use shared::method::Provider;
use sqlx::PgPool;

use super::rows::{corrupt, get, other};
use crate::store::{RefusedCount, RefusedSample, StoreError};

pub(super) async fn record(
    db: &PgPool,
    counts: &[RefusedCount],
    samples: &[RefusedSample],
    keep: u32,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await.map_err(other)?;
    for c in counts {
        sqlx::query(
            "INSERT INTO refused_notice_counts (provider, refused, first_at_ms, last_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (provider) DO UPDATE SET
                 refused = refused_notice_counts.refused + excluded.refused,
                 first_at_ms = LEAST(refused_notice_counts.first_at_ms, excluded.first_at_ms),
                 last_at_ms = GREATEST(refused_notice_counts.last_at_ms, excluded.last_at_ms)",
        )
        .bind(c.provider.as_str())
        .bind(i64::try_from(c.refused).unwrap_or(i64::MAX))
        .bind(c.first_at_ms)
        .bind(c.last_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    }
    for s in samples {
        sqlx::query(
            "INSERT INTO refused_notice_samples (provider, reference, reason, body, received_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.provider.as_str())
        .bind(&s.reference)
        .bind(&s.reason)
        .bind(&s.body)
        .bind(s.received_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    }
    let mut trimmed: Vec<Provider> = samples.iter().map(|s| s.provider).collect();
    trimmed.sort_by_key(|p| p.as_str());
    trimmed.dedup();
    for provider in trimmed {
        // Everything of this provider older than its latest `keep` goes.
        sqlx::query(
            "DELETE FROM refused_notice_samples WHERE provider = $1 AND id < (
                 SELECT id FROM refused_notice_samples WHERE provider = $1
                 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(provider.as_str())
        .bind(i64::from(keep.saturating_sub(1)))
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    }
    tx.commit().await.map_err(other)?;
    Ok(())
}

pub(super) async fn counts(db: &PgPool) -> Result<Vec<RefusedCount>, StoreError> {
    let rows = sqlx::query(
        "SELECT provider, refused, first_at_ms, last_at_ms FROM refused_notice_counts ORDER BY provider",
    )
    .fetch_all(db)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|row| {
            let provider: String = get(row, "provider")?;
            let refused: i64 = get(row, "refused")?;
            Ok(RefusedCount {
                provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
                refused: u64::try_from(refused).unwrap_or(0),
                first_at_ms: get(row, "first_at_ms")?,
                last_at_ms: get(row, "last_at_ms")?,
            })
        })
        .collect()
}

pub(super) async fn samples(db: &PgPool, provider: Provider) -> Result<Vec<RefusedSample>, StoreError> {
    let rows = sqlx::query(
        "SELECT reference, reason, body, received_at_ms FROM refused_notice_samples WHERE provider = $1 ORDER BY id",
    )
    .bind(provider.as_str())
    .fetch_all(db)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|row| {
            Ok(RefusedSample {
                provider,
                reference: get(row, "reference")?,
                reason: get(row, "reason")?,
                body: get(row, "body")?,
                received_at_ms: get(row, "received_at_ms")?,
            })
        })
        .collect()
}

pub(super) async fn purge_samples(db: &PgPool, before_ms: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM refused_notice_samples WHERE received_at_ms < $1")
        .bind(before_ms)
        .execute(db)
        .await
        .map_err(other)?;
    Ok(done.rows_affected())
}

pub(super) async fn purge_bodies(db: &PgPool, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE provider_notifications SET body = '' WHERE seq IN (
             SELECT seq FROM provider_notifications
             WHERE state IN ('processed', 'duplicate') AND body <> '' AND received_at_ms < $1
             ORDER BY received_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before_ms)
    .bind(i64::from(limit))
    .execute(db)
    .await
    .map_err(other)?;
    Ok(done.rows_affected())
}

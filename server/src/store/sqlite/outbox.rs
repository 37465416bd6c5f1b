//! The merchant webhook outbox in SQLite: events (planned by [`crate::store::plan`], written by
//! `persist` inside the state change's transaction) read back, deliveries claimed with a lease
//! before each send, and their outcomes.

use shared::api::{DeliveryState, EventType};
use sqlx::{Row, SqliteConnection, sqlite::SqliteRow};

use super::{corrupt, other};
use crate::store::{ClaimedDelivery, DeliveryOutcome, EventRecord, StoreError, plan};

pub(super) const EVENT_SELECT: &str =
    "SELECT e.id, e.type, e.checkout_id, e.payload, e.created_at, d.state, d.attempts,
        d.next_attempt_at_ms, d.last_status, d.last_error
     FROM events e JOIN deliveries d ON d.event_id = e.id";

fn event_from_row(row: &SqliteRow) -> Result<EventRecord, StoreError> {
    let kind: String = row.get("type");
    let state: String = row.get("state");
    let attempts: i64 = row.get("attempts");
    let last_status: Option<i64> = row.get("last_status");
    Ok(EventRecord {
        id: row.get("id"),
        kind: EventType::parse(&kind).ok_or_else(|| corrupt("event type", &kind))?,
        checkout_id: row.get("checkout_id"),
        payload: row.get("payload"),
        created_at: row.get("created_at"),
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state", &state))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at_ms: row.get("next_attempt_at_ms"),
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.get("last_error"),
    })
}

pub(super) async fn checkout_events(
    db: &mut SqliteConnection,
    checkout_id: &str,
) -> Result<Vec<EventRecord>, StoreError> {
    let rows = sqlx::query(&format!("{EVENT_SELECT} WHERE e.checkout_id = ? ORDER BY e.created_at, e.rowid"))
        .bind(checkout_id)
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    rows.iter().map(event_from_row).collect()
}

pub(super) async fn event(
    db: &mut SqliteConnection,
    event_id: &str,
) -> Result<Option<EventRecord>, StoreError> {
    let row = sqlx::query(&format!("{EVENT_SELECT} WHERE e.id = ?"))
        .bind(event_id)
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?;
    row.as_ref().map(event_from_row).transpose()
}

/// Whether any delivery is due at `now_ms`.
pub(super) async fn any_delivery_due(db: &mut SqliteConnection, now_ms: i64) -> Result<bool, StoreError> {
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM deliveries WHERE state = 'pending' AND next_attempt_at_ms <= ? LIMIT 1",
    )
    .bind(now_ms)
    .fetch_optional(&mut *db)
    .await
    .map_err(other)?;
    Ok(any.is_some())
}

pub(super) async fn claim_deliveries(
    db: &mut SqliteConnection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.event_id, d.attempts, e.payload FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.state = 'pending' AND d.next_attempt_at_ms <= ?
         ORDER BY d.next_attempt_at_ms, e.rowid LIMIT ?",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let event_id: String = row.get("event_id");
        let claim = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "UPDATE deliveries SET next_attempt_at_ms = ?, claim = ?, updated_at_ms = ? WHERE event_id = ?",
        )
        .bind(now_ms + lease_ms)
        .bind(&claim)
        .bind(now_ms)
        .bind(&event_id)
        .execute(&mut *db)
        .await
        .map_err(other)?;
        let attempts: i64 = row.get("attempts");
        claimed.push(ClaimedDelivery {
            event_id,
            payload: row.get("payload"),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            claim,
        });
    }
    Ok(claimed)
}

pub(super) async fn finish_delivery(
    db: &mut SqliteConnection,
    event_id: &str,
    claim: &str,
    outcome: &DeliveryOutcome,
    now_ms: i64,
) -> Result<(), StoreError> {
    let write = plan::delivery_finish(outcome, now_ms);
    sqlx::query(
        "UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at_ms = ?, claim = NULL,
                               last_status = ?, last_error = ?, updated_at_ms = ?
         WHERE event_id = ? AND claim = ?",
    )
    .bind(write.state.as_str())
    .bind(write.next_attempt_at_ms)
    .bind(write.last_status.map(i64::from))
    .bind(write.last_error)
    .bind(now_ms)
    .bind(event_id)
    .bind(claim)
    .execute(&mut *db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn redeliver(
    db: &mut SqliteConnection,
    event_id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    // A send in flight keeps its claim (and lease): the redelivery follows it rather than
    // racing it. Otherwise the delivery is due now, with a fresh retry schedule.
    let done = sqlx::query(
        "UPDATE deliveries SET state = 'pending', attempts = 0,
                next_attempt_at_ms = CASE WHEN claim IS NULL THEN ? ELSE next_attempt_at_ms END,
                updated_at_ms = ?
         WHERE event_id = ?",
    )
    .bind(now_ms)
    .bind(now_ms)
    .bind(event_id)
    .execute(&mut *db)
    .await
    .map_err(other)?;
    Ok(done.rows_affected() == 1)
}

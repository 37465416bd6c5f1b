//! The merchant webhook outbox in PostgreSQL: event reads, deliveries claimed by any number of
//! dispatchers (on any number of instances) with `FOR UPDATE SKIP LOCKED` and a lease, and
//! their outcomes recorded only under the claim that sent them.

use shared::api::{DeliveryState, EventType};
use sqlx::{PgPool, postgres::PgRow};

use super::rows::{corrupt, count, get, other};
use crate::store::{ClaimedDelivery, DeliveryOutcome, EventRecord, StoreError};

const EVENT_SELECT: &str = "SELECT e.id, e.type, e.checkout_id, e.payload, e.created_at, d.state, d.attempts,
        d.next_attempt_at_ms, d.last_status, d.last_error
     FROM events e JOIN deliveries d ON d.event_id = e.id";

fn event_from_row(row: &PgRow) -> Result<EventRecord, StoreError> {
    let kind: String = get(row, "type")?;
    let state: String = get(row, "state")?;
    let last_status: Option<i64> = get(row, "last_status")?;
    Ok(EventRecord {
        id: get(row, "id")?,
        kind: EventType::parse(&kind).ok_or_else(|| corrupt("event type", &kind))?,
        checkout_id: get(row, "checkout_id")?,
        payload: get(row, "payload")?,
        created_at: get(row, "created_at")?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("delivery state", &state))?,
        attempts: count(get(row, "attempts")?),
        next_attempt_at_ms: get(row, "next_attempt_at_ms")?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: get(row, "last_error")?,
    })
}

pub(super) async fn checkout_events(db: &PgPool, checkout_id: &str) -> Result<Vec<EventRecord>, StoreError> {
    let rows = sqlx::query(&format!("{EVENT_SELECT} WHERE e.checkout_id = $1 ORDER BY e.created_at, e.seq"))
        .bind(checkout_id)
        .fetch_all(db)
        .await
        .map_err(other)?;
    rows.iter().map(event_from_row).collect()
}

pub(super) async fn event(db: &PgPool, event_id: &str) -> Result<Option<EventRecord>, StoreError> {
    let row = sqlx::query(&format!("{EVENT_SELECT} WHERE e.id = $1"))
        .bind(event_id)
        .fetch_optional(db)
        .await
        .map_err(other)?;
    row.as_ref().map(event_from_row).transpose()
}

/// Claims due deliveries in one statement: the rows another dispatcher is claiming at this
/// moment are skipped, not waited for (`SKIP LOCKED`,
/// <https://www.postgresql.org/docs/15/sql-select.html#SQL-FOR-UPDATE-SHARE>), and a claimed row's
/// due time moves to the lease's end, so no later claim takes it before the send is recorded.
pub(super) async fn claim_deliveries(
    db: &PgPool,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let rows = sqlx::query(
        "WITH due AS (
             SELECT d.event_id, e.seq FROM deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.state = 'pending' AND d.next_attempt_at_ms <= $1
             ORDER BY d.next_attempt_at_ms, e.seq LIMIT $2
             FOR UPDATE OF d SKIP LOCKED),
         claimed AS (
             UPDATE deliveries d SET next_attempt_at_ms = $1 + $3, claim = gen_random_uuid()::text,
                                     updated_at_ms = $1
             FROM due WHERE d.event_id = due.event_id
             RETURNING d.event_id, d.attempts, d.claim, due.seq)
         SELECT c.event_id, c.attempts, c.claim, e.payload
         FROM claimed c JOIN events e ON e.id = c.event_id ORDER BY c.seq",
    )
    .bind(now_ms)
    .bind(i64::from(limit))
    .bind(lease_ms)
    .fetch_all(db)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|row| {
            Ok(ClaimedDelivery {
                event_id: get(row, "event_id")?,
                payload: get(row, "payload")?,
                attempts: count(get(row, "attempts")?),
                claim: get(row, "claim")?,
            })
        })
        .collect()
}

pub(super) async fn finish_delivery(
    db: &PgPool,
    event_id: &str,
    claim: &str,
    outcome: &DeliveryOutcome,
    now_ms: i64,
) -> Result<(), StoreError> {
    let w = crate::store::plan::delivery_finish(outcome, now_ms);
    // Only under the claim that sent it: a late result of an expired claim changes nothing.
    sqlx::query(
        "UPDATE deliveries SET state = $1, attempts = attempts + 1, next_attempt_at_ms = $2, claim = NULL,
                               last_status = $3, last_error = $4, updated_at_ms = $5
         WHERE event_id = $6 AND claim = $7",
    )
    .bind(w.state.as_str())
    .bind(w.next_attempt_at_ms)
    .bind(w.last_status.map(i64::from))
    .bind(w.last_error)
    .bind(now_ms)
    .bind(event_id)
    .bind(claim)
    .execute(db)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn redeliver(db: &PgPool, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
    // A send in flight keeps its claim (and lease): the redelivery follows it rather than
    // racing it. Otherwise the delivery is due now, with a fresh retry schedule.
    let done = sqlx::query(
        "UPDATE deliveries SET state = 'pending', attempts = 0,
                next_attempt_at_ms = CASE WHEN claim IS NULL THEN $1 ELSE next_attempt_at_ms END,
                updated_at_ms = $1
         WHERE event_id = $2",
    )
    .bind(now_ms)
    .bind(event_id)
    .execute(db)
    .await
    .map_err(other)?;
    Ok(done.rows_affected() == 1)
}

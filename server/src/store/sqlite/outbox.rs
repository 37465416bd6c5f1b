//! The merchant webhook outbox in SQLite: events written inside the state change's
//! transaction, deliveries claimed with a lease before each send, and their outcomes.

use shared::{
    api::{
        DeliveryState, EventAttempt, EventCheckout, EventRefund, EventType, WebhookEvent, WebhookEventData,
    },
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Currency,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};
use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};

use super::{corrupt, other};
use crate::store::{ClaimedDelivery, DeliveryOutcome, EventRecord, StoreError};

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub(super) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn parse_failure(f: Option<String>) -> Result<Option<ErrorCode>, StoreError> {
    f.map(|f| ErrorCode::parse(&f).ok_or_else(|| corrupt("failure", &f))).transpose()
}

async fn event_checkout(tx: &mut SqliteConnection, checkout_id: &str) -> Result<EventCheckout, StoreError> {
    let row = sqlx::query("SELECT reference, amount, currency, status FROM checkouts WHERE id = ?")
        .bind(checkout_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
    let currency: String = row.get("currency");
    let status: String = row.get("status");
    let amount: i64 = row.get("amount");
    Ok(EventCheckout {
        id: checkout_id.to_owned(),
        reference: row.get("reference"),
        amount: u64::try_from(amount).map_err(|_| corrupt("amount", &amount.to_string()))?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency", &currency))?,
        status: CheckoutStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
    })
}

fn event_attempt(row: &SqliteRow) -> Result<EventAttempt, StoreError> {
    let provider: String = row.get("provider");
    let method: String = row.get("method");
    let status: String = row.get("status");
    Ok(EventAttempt {
        id: row.get("id"),
        provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
        method: PaymentMethod::parse(&method).ok_or_else(|| corrupt("method", &method))?,
        status: AttemptStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        failure: parse_failure(row.get("failure"))?,
    })
}

/// What an event is about besides its checkout.
#[derive(Debug, Clone, Copy)]
pub(super) enum Subject<'a> {
    /// The checkout alone (its paid attempt is added when there is one).
    Checkout,
    /// One attempt.
    Attempt(&'a str),
    /// One refund.
    Refund(&'a str),
}

/// Writes an event and its pending delivery inside the caller's transaction: the event
/// exists if and only if the state change it reports was committed.
pub(super) async fn record_event(
    tx: &mut SqliteConnection,
    kind: EventType,
    checkout_id: &str,
    subject: Subject<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let checkout = event_checkout(tx, checkout_id).await?;
    let attempt_row = match subject {
        Subject::Attempt(id) => sqlx::query("SELECT * FROM attempts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?,
        Subject::Checkout => sqlx::query(
            "SELECT * FROM attempts WHERE checkout_id = ? AND status = 'succeeded' ORDER BY rowid LIMIT 1",
        )
        .bind(checkout_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?,
        Subject::Refund(_) => None,
    };
    let attempt = attempt_row.as_ref().map(event_attempt).transpose()?;
    let refund = match subject {
        Subject::Refund(id) => {
            let row = sqlx::query("SELECT amount, status, failure FROM refunds WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
            let amount: i64 = row.get("amount");
            let status: String = row.get("status");
            Some(EventRefund {
                id: id.to_owned(),
                amount: u64::try_from(amount).map_err(|_| corrupt("refund amount", &amount.to_string()))?,
                status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
                failure: parse_failure(row.get("failure"))?,
            })
        }
        _ => None,
    };
    let event =
        WebhookEvent { kind, timestamp: rfc3339(now), data: WebhookEventData { checkout, attempt, refund } };
    let payload = serde_json::to_string(&event).map_err(|e| StoreError::Other(e.into()))?;
    let id = crate::ids::event_id();
    sqlx::query("INSERT INTO events (id, type, checkout_id, payload, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(kind.as_str())
        .bind(checkout_id)
        .bind(&payload)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    let ms = now_ms();
    sqlx::query(
        "INSERT INTO deliveries (event_id, state, attempts, next_attempt_at_ms, updated_at_ms)
         VALUES (?, 'pending', 0, ?, ?)",
    )
    .bind(&id)
    .bind(ms)
    .bind(ms)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    Ok(())
}

const EVENT_SELECT: &str = "SELECT e.id, e.type, e.checkout_id, e.payload, e.created_at, d.state, d.attempts,
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
    pool: &SqlitePool,
    checkout_id: &str,
) -> Result<Vec<EventRecord>, StoreError> {
    let rows = sqlx::query(&format!("{EVENT_SELECT} WHERE e.checkout_id = ? ORDER BY e.created_at, e.rowid"))
        .bind(checkout_id)
        .fetch_all(pool)
        .await
        .map_err(other)?;
    rows.iter().map(event_from_row).collect()
}

pub(super) async fn event(pool: &SqlitePool, event_id: &str) -> Result<Option<EventRecord>, StoreError> {
    let row = sqlx::query(&format!("{EVENT_SELECT} WHERE e.id = ?"))
        .bind(event_id)
        .fetch_optional(pool)
        .await
        .map_err(other)?;
    row.as_ref().map(event_from_row).transpose()
}

pub(super) async fn claim_deliveries(
    pool: &SqlitePool,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(other)?;
    let rows = sqlx::query(
        "SELECT d.event_id, d.attempts, e.payload FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.state = 'pending' AND d.next_attempt_at_ms <= ?
         ORDER BY d.next_attempt_at_ms, e.rowid LIMIT ?",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&mut *tx)
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
        .execute(&mut *tx)
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
    tx.commit().await.map_err(other)?;
    Ok(claimed)
}

pub(super) async fn finish_delivery(
    pool: &SqlitePool,
    event_id: &str,
    claim: &str,
    outcome: &DeliveryOutcome,
    now_ms: i64,
) -> Result<(), StoreError> {
    let (state, next, status, error) = match outcome {
        DeliveryOutcome::Delivered { status } => (DeliveryState::Delivered, now_ms, Some(*status), None),
        DeliveryOutcome::Retry { at_ms, status, error } => {
            (DeliveryState::Pending, *at_ms, *status, error.clone())
        }
        DeliveryOutcome::Failed { status, error } => (DeliveryState::Failed, now_ms, *status, error.clone()),
    };
    sqlx::query(
        "UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at_ms = ?, claim = NULL,
                               last_status = ?, last_error = ?, updated_at_ms = ?
         WHERE event_id = ? AND claim = ?",
    )
    .bind(state.as_str())
    .bind(next)
    .bind(status.map(i64::from))
    .bind(error)
    .bind(now_ms)
    .bind(event_id)
    .bind(claim)
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(())
}

pub(super) async fn redeliver(pool: &SqlitePool, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
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
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(done.rows_affected() == 1)
}

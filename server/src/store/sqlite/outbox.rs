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

#[cfg(test)]
mod tests {
    use shared::{
        api::{DeliveryState, EventType, WebhookEvent},
        method::{PaymentMethod, Provider},
        money::{Currency, Money},
        phone::Country,
        status::{AttemptStatus, CheckoutStatus, RefundStatus},
    };

    use crate::store::{
        AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, DeliveryOutcome, IdempotencyBegin, RefundRecord,
        Store, sqlite::SqliteStore,
    };

    async fn paid_checkout() -> SqliteStore {
        let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let c = CheckoutRecord {
            id: "co_1".into(),
            reference: "order-1".into(),
            money: Money::new(5000, Currency::Xof).unwrap(),
            country: Country::Ci,
            description: None,
            return_url: None,
            customer: None,
            status: CheckoutStatus::Open,
            // A live checkout: its events say so.
            livemode: true,
            client_secret_hash: "h".into(),
            created_at: now,
            expires_at: now + 600,
        };
        s.insert_checkout(&c, &Cause::Api("create")).await.unwrap();
        let attempt = |id: &str| AttemptRecord {
            id: id.into(),
            checkout_id: "co_1".into(),
            provider: Provider::NovaSend,
            method: PaymentMethod::MobileMoney,
            phone: None,
            status: AttemptStatus::Created,
            failure: None,
            idempotency_key: format!("k-{id}"),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: now,
        };
        let update = |status| AttemptUpdate::new(status, None);
        let cause = Cause::Webhook(Provider::NovaSend, "wh_test".into());
        s.start_attempt(&attempt("at_1"), 0, &Cause::Api("pay")).await.unwrap();
        s.update_attempt("at_1", &update(AttemptStatus::Failed), &cause).await.unwrap();
        s.start_attempt(&attempt("at_2"), 0, &Cause::Api("pay")).await.unwrap();
        s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &cause).await.unwrap();
        // Repeated news changes nothing, so it reports nothing.
        s.update_attempt("at_2", &update(AttemptStatus::Succeeded), &cause).await.unwrap();
        s
    }

    #[tokio::test]
    async fn each_state_change_writes_one_event_in_its_transaction() {
        let s = paid_checkout().await;
        let refund = RefundRecord {
            id: "rf_1".into(),
            checkout_id: "co_1".into(),
            attempt_id: "at_2".into(),
            amount: Money::new(5000, Currency::Xof).unwrap(),
            status: RefundStatus::Pending,
            reason: None,
            failure: None,
            provider_reference: None,
            created_at: 0,
        };
        s.start_refund(&refund, &Cause::Api("refund")).await.unwrap();
        let cause = Cause::ProviderResponse(Provider::NovaSend);
        s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &cause).await.unwrap();
        s.finish_refund("rf_1", RefundStatus::Succeeded, None, None, &cause).await.unwrap();

        let events = s.checkout_events("co_1").await.unwrap();
        let kinds: Vec<EventType> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventType::AttemptFailed,
                EventType::CheckoutSucceeded,
                EventType::RefundSucceeded,
                EventType::CheckoutRefunded
            ]
        );
        let paid: WebhookEvent = serde_json::from_str(&events[1].payload).unwrap();
        assert_eq!(paid.kind, EventType::CheckoutSucceeded);
        assert_eq!(paid.data.checkout.reference, "order-1");
        assert_eq!(paid.data.checkout.amount, 5000);
        assert_eq!(paid.data.checkout.status, CheckoutStatus::Succeeded);
        assert_eq!(paid.data.attempt.unwrap().id, "at_2");
        let failed: WebhookEvent = serde_json::from_str(&events[0].payload).unwrap();
        assert_eq!(failed.data.attempt.unwrap().status, AttemptStatus::Failed);
        assert_eq!(failed.data.checkout.status, CheckoutStatus::Open);
        let refunded: WebhookEvent = serde_json::from_str(&events[2].payload).unwrap();
        assert_eq!(refunded.data.refund.unwrap().amount, 5000);
        assert!(events.iter().all(|e| e.id.starts_with("evt_") && e.state == DeliveryState::Pending));
        // Every payload says the checkout is live, as stored.
        for e in &events {
            let json: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            assert_eq!(json["livemode"], serde_json::Value::Bool(true), "{}", e.payload);
        }
    }

    #[tokio::test]
    async fn a_delivery_is_claimed_by_one_sender_at_a_time() {
        let s = paid_checkout().await;
        let now = crate::store::Clock::now_ms(&crate::store::SystemClock) + 1;
        let first = s.claim_deliveries(now, 10_000, 10).await.unwrap();
        assert_eq!(first.len(), 2);
        assert!(s.claim_deliveries(now, 10_000, 10).await.unwrap().is_empty(), "leased");
        let d = &first[1];
        // A late result of a lost claim changes nothing.
        s.finish_delivery(&d.event_id, "not-the-claim", &DeliveryOutcome::Delivered { status: 200 }, now)
            .await
            .unwrap();
        assert_eq!(s.event(&d.event_id).await.unwrap().unwrap().state, DeliveryState::Pending);
        let retry = DeliveryOutcome::Retry { at_ms: now + 50, status: Some(500), error: None };
        s.finish_delivery(&d.event_id, &d.claim, &retry, now).await.unwrap();
        let again = s.claim_deliveries(now + 50, 10_000, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].event_id.as_str(), again[0].attempts), (d.event_id.as_str(), 1));
        s.finish_delivery(&d.event_id, &again[0].claim, &DeliveryOutcome::Delivered { status: 204 }, now)
            .await
            .unwrap();
        let e = s.event(&d.event_id).await.unwrap().unwrap();
        assert_eq!((e.state, e.attempts, e.last_status), (DeliveryState::Delivered, 2, Some(204)));

        // After the lease, an unfinished claim (a process that died mid-send) is claimed again.
        assert_eq!(s.claim_deliveries(now + 10_001, 10_000, 10).await.unwrap().len(), 1);

        assert!(s.redeliver(&d.event_id, now).await.unwrap());
        assert!(!s.redeliver("evt_nope", now).await.unwrap());
        let e = s.event(&d.event_id).await.unwrap().unwrap();
        assert_eq!((e.state, e.attempts), (DeliveryState::Pending, 0));
    }

    #[tokio::test]
    async fn an_idempotency_key_runs_once() {
        let s = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let begin = |path: &'static str, hash: &'static str, now: i64, take_over: bool| {
            let s = s.clone();
            async move { s.idempotency_begin("k1", path, hash, now, now - 1000, take_over).await.unwrap() }
        };
        assert_eq!(begin("POST /a", "h", 0, true).await, IdempotencyBegin::Started);
        assert_eq!(begin("POST /a", "h", 10, true).await, IdempotencyBegin::InProgress);
        assert_eq!(begin("POST /a", "other", 10, true).await, IdempotencyBegin::Mismatch);
        assert_eq!(begin("POST /b", "h", 10, true).await, IdempotencyBegin::Mismatch);
        // Stale: refused where running twice is unsafe, taken over where it is safe.
        assert_eq!(begin("POST /a", "h", 5000, false).await, IdempotencyBegin::Interrupted);
        assert_eq!(begin("POST /a", "h", 5000, true).await, IdempotencyBegin::Started);
        assert_eq!(begin("POST /a", "h", 5001, true).await, IdempotencyBegin::InProgress);
        s.idempotency_finish("k1", 201, b"{\"id\":1}", 5002).await.unwrap();
        assert_eq!(
            begin("POST /a", "h", 99_999, false).await,
            IdempotencyBegin::Done { status: 201, body: b"{\"id\":1}".to_vec() }
        );
        // Released keys run again; purged keys are forgotten.
        s.idempotency_begin("k2", "POST /a", "h", 0, -1000, false).await.unwrap();
        s.idempotency_release("k2").await.unwrap();
        assert_eq!(
            s.idempotency_begin("k2", "POST /a", "h", 1, -999, false).await.unwrap(),
            IdempotencyBegin::Started
        );
        assert_eq!(s.idempotency_purge(2).await.unwrap(), 1);
        assert_eq!(s.idempotency_purge(10_000).await.unwrap(), 1);
    }
}

//! Reading the rows a plan decides from, and writing a plan ([`crate::store::plan`]) in SQLite.
//!
//! Every move is a conditional write (`UPDATE … WHERE id = ? AND status = <from>`) whose rows
//! affected are checked: one that touches nothing returns [`StoreError::stale`], which undoes
//! the job's savepoint; the caller plans again. Under the single writer the state read in a
//! job cannot change before its writes, so this only guards against a bug; it is the same
//! contract the PostgreSQL store keeps under concurrent transactions.

use shared::{catalogue::ErrorCode, money::Currency};
use sqlx::SqliteConnection;

use super::{SqliteStore, other};
use crate::store::{
    AttemptRecord, CheckoutRecord, RefundRecord, StoreError,
    plan::{AttemptMove, AttemptPlan, CheckoutMove, NewEvent, NewStatusChange, RefundFinishPlan, RefundMove},
};

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|e| StoreError::Other(e.into()))
}

/// A checkout and its attempts in the order they were stored, in the writer's transaction.
pub(super) async fn payment(
    db: &mut SqliteConnection,
    checkout_id: &str,
) -> Result<Option<(CheckoutRecord, Vec<AttemptRecord>)>, StoreError> {
    let row = sqlx::query("SELECT * FROM checkouts WHERE id = ?")
        .bind(checkout_id)
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?;
    let Some(row) = row else { return Ok(None) };
    let checkout = SqliteStore::checkout_from_row(&row)?;
    let rows = sqlx::query("SELECT * FROM attempts WHERE checkout_id = ? ORDER BY rowid")
        .bind(checkout_id)
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    let attempts = rows.iter().map(SqliteStore::attempt_from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Some((checkout, attempts)))
}

/// A checkout's refunds in the order they were stored.
pub(super) async fn refunds(
    db: &mut SqliteConnection,
    checkout_id: &str,
    currency: Currency,
) -> Result<Vec<RefundRecord>, StoreError> {
    let rows = sqlx::query("SELECT * FROM refunds WHERE checkout_id = ? ORDER BY rowid")
        .bind(checkout_id)
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
    rows.iter().map(|r| SqliteStore::refund_from_row(r, currency)).collect()
}

/// Inserts history rows, in order.
pub(super) async fn history(db: &mut SqliteConnection, rows: &[NewStatusChange]) -> Result<(), StoreError> {
    for h in rows {
        sqlx::query(
            "INSERT INTO status_changes (checkout_id, attempt_id, from_status, to_status, cause, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&h.checkout_id)
        .bind(&h.attempt_id)
        .bind(&h.from)
        .bind(&h.to)
        .bind(&h.cause)
        .bind(h.at)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Inserts events with their pending deliveries, in order: an event exists if and only if
/// the change it reports was committed.
pub(super) async fn events(db: &mut SqliteConnection, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        sqlx::query("INSERT INTO events (id, type, checkout_id, payload, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&e.id)
            .bind(e.kind.as_str())
            .bind(&e.checkout_id)
            .bind(&e.payload)
            .bind(e.created_at)
            .execute(&mut *db)
            .await
            .map_err(other)?;
        sqlx::query(
            "INSERT INTO deliveries (event_id, state, attempts, next_attempt_at_ms, updated_at_ms)
             VALUES (?, 'pending', 0, ?, ?)",
        )
        .bind(&e.id)
        .bind(e.due_at_ms)
        .bind(e.due_at_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Moves a checkout if it is still `m.from`; [`StoreError::stale`] otherwise.
pub(super) async fn checkout_move(
    db: &mut SqliteConnection,
    checkout_id: &str,
    m: CheckoutMove,
    at: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE checkouts SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
        .bind(m.to.as_str())
        .bind(at)
        .bind(checkout_id)
        .bind(m.from.as_str())
        .execute(&mut *db)
        .await
        .map_err(other)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::stale());
    }
    Ok(())
}

/// Moves an attempt if it is still `m.from`; [`StoreError::stale`] otherwise.
async fn attempt_move(
    db: &mut SqliteConnection,
    attempt_id: &str,
    m: &AttemptMove,
    at: i64,
) -> Result<(), StoreError> {
    let r = m.reported.clone().unwrap_or_default();
    let done = sqlx::query(
        "UPDATE attempts SET status = ?, failure = ?, updated_at = ?, reported_amount = ?,
                             reported_amount_text = ?, reported_currency = ?, reported_reference = ?,
                             reported_charged = ?, poll_until_ms = ?
         WHERE id = ? AND status = ?",
    )
    .bind(m.to.as_str())
    .bind(m.failure.map(ErrorCode::as_str))
    .bind(at)
    .bind(r.amount.map(to_i64).transpose()?)
    .bind(&r.unreadable_amount)
    .bind(&r.currency)
    .bind(&r.reference)
    .bind(r.charged.map(to_i64).transpose()?)
    .bind(m.poll_until_ms)
    .bind(attempt_id)
    .bind(m.from.as_str())
    .execute(&mut *db)
    .await
    .map_err(other)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::stale());
    }
    Ok(())
}

/// Writes a provider's update of an attempt.
pub(super) async fn attempt_plan(db: &mut SqliteConnection, plan: &AttemptPlan) -> Result<(), StoreError> {
    if plan.provider_reference.is_some() || plan.payment_url.is_some() {
        sqlx::query(
            "UPDATE attempts SET provider_reference = COALESCE(provider_reference, ?),
                     payment_url = COALESCE(payment_url, ?) WHERE id = ?",
        )
        .bind(&plan.provider_reference)
        .bind(&plan.payment_url)
        .bind(&plan.attempt_id)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    if let Some(m) = &plan.attempt_move {
        attempt_move(db, &plan.attempt_id, m, plan.at).await?;
    }
    if let Some(m) = plan.checkout_move {
        checkout_move(db, &plan.checkout_id, m, plan.at).await?;
    }
    history(db, &plan.history).await?;
    events(db, &plan.events).await?;
    // A notification's update marks it processed in the same transaction: one write instead
    // of two, and no window where it is applied but unmarked.
    if let Some(n) = &plan.notification {
        sqlx::query(
            "UPDATE provider_notifications SET state = 'processed', outcome = ?,
                 attempts = attempts + 1, processed_at_ms = ?
             WHERE id = ? AND state = 'received'",
        )
        .bind(n.outcome)
        .bind(n.at_ms)
        .bind(&n.id)
        .execute(&mut *db)
        .await
        .map_err(other)?;
    }
    Ok(())
}

/// Moves a refund if it is still `m.from`; [`StoreError::stale`] otherwise.
async fn refund_move(
    db: &mut SqliteConnection,
    refund_id: &str,
    m: &RefundMove,
    at: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE refunds SET status = ?, failure = ?, provider_reference = COALESCE(provider_reference, ?),
                            updated_at = ? WHERE id = ? AND status = ?",
    )
    .bind(m.to.as_str())
    .bind(m.failure.map(ErrorCode::as_str))
    .bind(&m.provider_reference)
    .bind(at)
    .bind(refund_id)
    .bind(m.from.as_str())
    .execute(&mut *db)
    .await
    .map_err(other)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::stale());
    }
    Ok(())
}

/// Writes the end of a refund.
pub(super) async fn refund_finish(
    db: &mut SqliteConnection,
    plan: &RefundFinishPlan,
) -> Result<(), StoreError> {
    refund_move(db, &plan.refund_id, &plan.refund_move, plan.at).await?;
    if let Some(m) = plan.checkout_move {
        checkout_move(db, &plan.checkout_id, m, plan.at).await?;
    }
    history(db, &plan.history).await?;
    events(db, &plan.events).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shared::{
        method::{PaymentMethod, Provider},
        money::Money,
        phone::Country,
        status::{AttemptStatus, CheckoutStatus},
    };

    use super::*;
    use crate::store::{
        AttemptUpdate, Cause, Clock, ManualClock, NotificationRecord, NotificationState, Store,
        sqlite::writer::Lane,
    };

    /// 2023-11-14T22:13:20.250Z.
    const T0: i64 = 1_700_000_000_250;

    async fn store_at(clock: &std::sync::Arc<ManualClock>) -> SqliteStore {
        SqliteStore::connect_with_clock("sqlite::memory:", clock.clone()).await.unwrap()
    }

    fn checkout(id: &str, expires_at: i64) -> CheckoutRecord {
        CheckoutRecord {
            id: id.into(),
            reference: format!("order-{id}"),
            money: Money::new(5000, Currency::Xof).unwrap(),
            country: Country::Ci,
            description: None,
            return_url: None,
            customer: None,
            status: CheckoutStatus::Open,
            livemode: false,
            client_secret_hash: "h".into(),
            created_at: T0 / 1000 - 60,
            expires_at,
        }
    }

    fn attempt(id: &str, checkout_id: &str) -> AttemptRecord {
        AttemptRecord {
            id: id.into(),
            checkout_id: checkout_id.into(),
            provider: Provider::NovaSend,
            method: PaymentMethod::MobileMoney,
            phone: None,
            status: AttemptStatus::Created,
            failure: None,
            idempotency_key: format!("key-{id}"),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: T0 / 1000,
            updated_at: T0 / 1000,
        }
    }

    #[tokio::test]
    async fn the_store_stamps_what_its_clock_says() {
        let clock = ManualClock::at_ms(T0);
        let s = store_at(&clock).await;
        s.insert_checkout(&checkout("co_1", T0 / 1000 + 600), &Cause::Api("create")).await.unwrap();
        s.start_attempt(&attempt("at_1", "co_1"), 0, &Cause::Api("pay")).await.unwrap();
        clock.advance(Duration::from_secs(90));
        let applied = s
            .update_attempt(
                "at_1",
                &AttemptUpdate::new(AttemptStatus::Succeeded, None),
                &Cause::Poll(Provider::NovaSend),
            )
            .await
            .unwrap();
        assert_eq!(applied.checkout, Some((CheckoutStatus::Processing, CheckoutStatus::Succeeded)));
        let at: Vec<i64> = s.history("co_1").await.unwrap().iter().map(|h| h.at).collect();
        // Creation (the checkout's own time), the start at T0, the success 90 s later.
        assert_eq!(at, [T0 / 1000 - 60, 1_700_000_000, 1_700_000_000, 1_700_000_090, 1_700_000_090]);
        let events = s.checkout_events("co_1").await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].created_at, 1_700_000_090);
        assert_eq!(events[0].next_attempt_at_ms, T0 + 90_000, "due at once, by the store's clock");
        assert!(
            events[0].payload.contains("\"timestamp\":\"2023-11-14T22:14:50Z\""),
            "{}",
            events[0].payload
        );
    }

    #[tokio::test]
    async fn expiry_follows_the_deadline_given_and_stamps_the_clock() {
        let clock = ManualClock::at_ms(T0);
        let s = store_at(&clock).await;
        s.insert_checkout(&checkout("co_1", T0 / 1000 + 10), &Cause::Api("create")).await.unwrap();
        assert!(s.expire_checkouts(clock.now_secs()).await.unwrap().is_empty());
        clock.advance(Duration::from_secs(10));
        assert_eq!(s.expire_checkouts(clock.now_secs()).await.unwrap(), ["co_1"]);
        assert!(s.expire_checkouts(clock.now_secs()).await.unwrap().is_empty(), "once");
        let last = s.history("co_1").await.unwrap().pop().unwrap();
        assert_eq!((last.to.as_str(), last.cause.as_str(), last.at), ("expired", "expiry", T0 / 1000 + 10));
    }

    fn notification(id: &str, key: &str) -> NotificationRecord {
        NotificationRecord {
            id: id.into(),
            provider: Provider::NovaSend,
            dedup_key: Some(key.into()),
            verified: true,
            state: NotificationState::Received,
            duplicate_of: None,
            reference: Some("key-at_1".into()),
            update: None,
            body: "{}".into(),
            attempts: 0,
            last_error: None,
            outcome: None,
            received_at_ms: T0,
            processed_at_ms: None,
        }
    }

    #[tokio::test]
    async fn a_claimed_notification_is_claimed_again_only_once_its_lease_ends() {
        let clock = ManualClock::at_ms(T0);
        let s = store_at(&clock).await;
        s.inbox_insert(&notification("wh_1", "e1")).await.unwrap();
        s.inbox_insert(&notification("wh_2", "e2")).await.unwrap();
        let ids = |n: Vec<NotificationRecord>| n.into_iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(ids(s.inbox_claim(T0, 1000, 10).await.unwrap()), ["wh_1", "wh_2"]);
        assert!(s.inbox_claim(T0 + 999, 1000, 10).await.unwrap().is_empty(), "leased");
        // The worker processed one and died holding the other.
        s.inbox_processed("wh_1", "fetched").await.unwrap();
        assert_eq!(ids(s.inbox_claim(T0 + 1000, 1000, 10).await.unwrap()), ["wh_2"]);
        // A failed try ends the lease: the next pass tries again at once.
        s.inbox_retry("wh_2", "provider down", 10).await.unwrap();
        assert_eq!(ids(s.inbox_claim(T0 + 1001, 1000, 1).await.unwrap()), ["wh_2"]);
        // Still listed as waiting (claimed or not) for an operator.
        assert_eq!(ids(s.inbox_due(10).await.unwrap()), ["wh_2"]);
    }

    #[tokio::test]
    async fn a_move_from_a_state_that_no_longer_holds_is_stale_and_undone() {
        let clock = ManualClock::at_ms(T0);
        let s = store_at(&clock).await;
        s.insert_checkout(&checkout("co_1", T0 / 1000 + 600), &Cause::Api("create")).await.unwrap();
        let wrong = CheckoutMove { from: CheckoutStatus::Processing, to: CheckoutStatus::Succeeded };
        let err = s
            .writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    history(
                        db,
                        &[NewStatusChange {
                            checkout_id: "co_1".into(),
                            attempt_id: None,
                            from: Some("processing".into()),
                            to: "succeeded".into(),
                            cause: "test".into(),
                            at: 0,
                        }],
                    )
                    .await?;
                    checkout_move(db, "co_1", wrong, 0).await
                })
            })
            .await
            .unwrap_err();
        assert!(err.is_stale(), "{err}");
        assert_eq!(s.checkout("co_1").await.unwrap().unwrap().status, CheckoutStatus::Open);
        assert_eq!(s.history("co_1").await.unwrap().len(), 1, "the job's other writes were undone");
    }
}

//! The dashboard's overview in SQLite ([`crate::store::Store::overview`]): four aggregates
//! and the median's rank, in one read transaction (one WAL snapshot), each on a creation-time
//! index (migration `0018_overview_indices.sql`).

use sqlx::{Row, SqliteConnection};

use super::other;
use crate::store::{
    StoreError,
    overview::{self, CheckoutDayRow, Overview, RateRow, RefundDayRow, Window},
};

/// Reads the overview of `window` on `db` (inside a snapshot).
pub(super) async fn overview(db: &mut SqliteConnection, window: Window) -> Result<Overview, StoreError> {
    let (since, until) = (window.since, window.until);
    let checkouts = sqlx::query(
        "SELECT created_at / 86400 AS day, currency, COUNT(*) AS checkouts,
                SUM(CASE WHEN status IN ('succeeded', 'partially_refunded', 'refunded') THEN 1 ELSE 0 END) AS paid,
                SUM(CASE WHEN status IN ('succeeded', 'partially_refunded', 'refunded') THEN amount ELSE 0 END) AS paid_minor
         FROM checkouts WHERE created_at >= ? AND created_at < ? GROUP BY day, currency",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?
    .iter()
    .map(|r| CheckoutDayRow {
        day: r.get("day"),
        currency: r.get("currency"),
        checkouts: r.get("checkouts"),
        paid: r.get("paid"),
        paid_minor: r.get("paid_minor"),
    })
    .collect();
    let refunds = sqlx::query(
        "SELECT r.created_at / 86400 AS day, c.currency AS currency, SUM(r.amount) AS refunded
         FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
         WHERE r.created_at >= ? AND r.created_at < ? AND r.status = 'succeeded' GROUP BY day, c.currency",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?
    .iter()
    .map(|r| RefundDayRow {
        day: r.get("day"),
        currency: r.get("currency"),
        refunded_minor: r.get("refunded"),
    })
    .collect();
    let providers = sqlx::query(
        "SELECT provider AS key, COUNT(*) AS attempts,
                SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded
         FROM attempts WHERE created_at >= ? AND created_at < ? GROUP BY provider ORDER BY provider",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?
    .iter()
    .map(|r| RateRow { key: r.get("key"), attempts: r.get("attempts"), succeeded: r.get("succeeded") })
    .collect::<Vec<_>>();
    let methods = sqlx::query(
        "SELECT method AS key, COUNT(*) AS attempts,
                SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded
         FROM attempts WHERE created_at >= ? AND created_at < ? GROUP BY method ORDER BY method",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?
    .iter()
    .map(|r| RateRow { key: r.get("key"), attempts: r.get("attempts"), succeeded: r.get("succeeded") })
    .collect();
    let failures = sqlx::query(
        "SELECT failure, COUNT(*) AS n FROM attempts
         WHERE created_at >= ? AND created_at < ? AND status = 'failed' GROUP BY failure",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&mut *db)
    .await
    .map_err(other)?
    .iter()
    .map(|r| (r.get::<Option<String>, _>("failure"), r.get::<i64, _>("n")))
    .collect();
    // SQLite has no median aggregate: the lower median is the success of rank (n - 1) / 2.
    let successes: i64 = providers.iter().map(|r| r.succeeded).sum();
    let median_seconds_to_pay = if successes == 0 {
        None
    } else {
        sqlx::query_scalar(
            "SELECT updated_at - created_at AS seconds FROM attempts
             WHERE created_at >= ? AND created_at < ? AND status = 'succeeded'
             ORDER BY seconds LIMIT 1 OFFSET ?",
        )
        .bind(since)
        .bind(until)
        .bind((successes - 1) / 2)
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?
    };
    Ok(Overview {
        window,
        days: overview::join_days(checkouts, refunds)?,
        providers: overview::provider_rates(providers)?,
        methods: overview::method_rates(methods)?,
        failures: overview::failure_counts(failures)?,
        median_seconds_to_pay,
    })
}

//! The dashboard's overview in PostgreSQL ([`crate::store::Store::overview`]): four aggregates
//! and the median (`percentile_disc`, the lower median as SQLite's rank gives it:
//! <https://www.postgresql.org/docs/15/functions-aggregate.html#FUNCTIONS-ORDEREDSET-TABLE>) in
//! one REPEATABLE READ, READ ONLY transaction (one snapshot), each on a creation-time index
//! (migration `0009_overview_indices.sql`). `SUM` of a `BIGINT` is a `NUMERIC`: cast back.

use sqlx::Row;

use super::{PgStore, rows::other};
use crate::store::{
    StoreError,
    overview::{self, CheckoutDayRow, Overview, RateRow, RefundDayRow, Window},
};

impl PgStore {
    pub(super) async fn read_overview(&self, window: Window) -> Result<Overview, StoreError> {
        let (since, until) = (window.since, window.until);
        let mut tx = self.pool.begin().await.map_err(other)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let checkouts = sqlx::query(
            "SELECT created_at / 86400 AS day, currency, COUNT(*) AS checkouts,
                    COUNT(*) FILTER (WHERE status IN ('succeeded', 'partially_refunded', 'refunded')) AS paid,
                    COALESCE(SUM(amount) FILTER (WHERE status IN ('succeeded', 'partially_refunded', 'refunded')), 0)::BIGINT AS paid_minor
             FROM checkouts WHERE created_at >= $1 AND created_at < $2 GROUP BY day, currency",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
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
            "SELECT r.created_at / 86400 AS day, c.currency AS currency, SUM(r.amount)::BIGINT AS refunded
             FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
             WHERE r.created_at >= $1 AND r.created_at < $2 AND r.status = 'succeeded'
             GROUP BY day, c.currency",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?
        .iter()
        .map(|r| RefundDayRow {
            day: r.get("day"),
            currency: r.get("currency"),
            refunded_minor: r.get("refunded"),
        })
        .collect();
        let rates = |column: &'static str| {
            format!(
                "SELECT {column} AS key, COUNT(*) AS attempts,
                        COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded
                 FROM attempts WHERE created_at >= $1 AND created_at < $2 GROUP BY {column} ORDER BY {column}"
            )
        };
        let mut read_rates = Vec::with_capacity(2);
        for column in ["provider", "method"] {
            let rows: Vec<RateRow> = sqlx::query(&rates(column))
                .bind(since)
                .bind(until)
                .fetch_all(&mut *tx)
                .await
                .map_err(other)?
                .iter()
                .map(|r| RateRow {
                    key: r.get("key"),
                    attempts: r.get("attempts"),
                    succeeded: r.get("succeeded"),
                })
                .collect();
            read_rates.push(rows);
        }
        let methods = read_rates.pop().unwrap_or_default();
        let providers = read_rates.pop().unwrap_or_default();
        let failures = sqlx::query(
            "SELECT failure, COUNT(*) AS n FROM attempts
             WHERE created_at >= $1 AND created_at < $2 AND status = 'failed' GROUP BY failure",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?
        .iter()
        .map(|r| (r.get::<Option<String>, _>("failure"), r.get::<i64, _>("n")))
        .collect();
        let median_seconds_to_pay: Option<i64> = sqlx::query_scalar(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY updated_at - created_at) FROM attempts
             WHERE created_at >= $1 AND created_at < $2 AND status = 'succeeded'",
        )
        .bind(since)
        .bind(until)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        tx.commit().await.map_err(other)?;
        Ok(Overview {
            window,
            days: overview::join_days(checkouts, refunds)?,
            providers: overview::provider_rates(providers)?,
            methods: overview::method_rates(methods)?,
            failures: overview::failure_counts(failures)?,
            median_seconds_to_pay,
        })
    }
}

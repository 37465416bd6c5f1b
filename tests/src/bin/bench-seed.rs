//! `bench-seed`: fills a verifier database with the history of a shop that has been selling for
//! months, for `cargo xtask bench`'s "with 100k / 1M checkouts stored" figures.
//!
//! Usage: `bench-seed <database file> <checkouts>`. The file is opened with
//! `server::store::sqlite::SqliteStore::connect` (which creates it and applies the migrations),
//! then filled with raw SQL, `INSERT … SELECT` over a recursive counter, 50,000 checkouts per
//! transaction. Over 120 days: 66 % of the checkouts succeeded (one in five after a declined
//! attempt), 29 % expired (half of them with an attempt that expired), 4 % were cancelled, and
//! the newest 0.5 % are still open (expiring tomorrow, so the verifier's expiry has nothing to
//! do during a run). Each has its status changes; each payment its provider notification
//! (processed), its merchant event and the event's delivery (delivered). No attempt is live, so
//! the reconciler never calls a provider for them.
//!
//! The seed is written once per size into a template file, which the bench copies per run.

use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{
    Connection, Executor, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

/// Checkouts per transaction.
const CHUNK: i64 = 50_000;
/// The history spans this many seconds (120 days).
const SPAN_S: i64 = 120 * 86_400;

/// Every statement of one chunk; `?1..?2` is the range of checkout numbers, `?3` the start of
/// the history (unix seconds), `?4` the total number of checkouts, `?5` now.
const CHUNK_SQL: &[&str] = &[
    // Checkouts. Status by `n % 100`: < 66 succeeded, < 95 expired, else cancelled; the newest
    // 0.5 % open.
    "WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2),
          c(n, at, status) AS (
            SELECT n, ?3 + (n * ?6) / ?4,
                   CASE WHEN n > ?4 - ?4 / 200 THEN 'open'
                        WHEN n % 100 < 66 THEN 'succeeded'
                        WHEN n % 100 < 95 THEN 'expired'
                        ELSE 'cancelled' END
            FROM seq)
     INSERT INTO checkouts (id, reference, amount, currency, country, description, status,
                            client_secret_hash, created_at, expires_at, updated_at, livemode)
     SELECT printf('co_seed%017d', n), printf('seed-order-%d', n), 500 + (n * 7919) % 99500, 'XOF', 'CI',
            'Commande ' || n, status, lower(hex(randomblob(32))), at,
            CASE WHEN status = 'open' THEN ?5 + 86400 ELSE at + 1800 END, at + 120, 0
     FROM c",
    // A declined attempt before one in five payments.
    "INSERT INTO attempts (id, checkout_id, provider, method, phone, status, failure, idempotency_key,
                           provider_reference, payment_url, next_poll_at_ms, created_at, updated_at, polls)
     SELECT 'at_seed' || substr(id, 8) || 'a', id, 'nova_send', 'mobile_money',
            '+22507' || substr(id, -8), 'failed', 'CUSTOMER_DECLINED', 'at_seed' || substr(id, 8) || 'a',
            'ns_seed_' || substr(id, 8) || 'a', NULL, 0, created_at + 20, created_at + 50, 1
     FROM checkouts
     WHERE id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
       AND status = 'succeeded' AND CAST(substr(id, 8) AS INTEGER) % 5 = 0",
    // The attempt that paid (methods in turn), and the one that expired for half the expired.
    "INSERT INTO attempts (id, checkout_id, provider, method, phone, status, failure, idempotency_key,
                           provider_reference, payment_url, next_poll_at_ms, created_at, updated_at, polls,
                           reported_amount, reported_currency, reported_reference)
     SELECT 'at_seed' || substr(id, 8) || 'b', id, 'nova_send',
            CASE CAST(substr(id, 8) AS INTEGER) % 3 WHEN 0 THEN 'mobile_money' WHEN 1 THEN 'orange_money'
                 ELSE 'wave' END,
            '+22507' || substr(id, -8), CASE status WHEN 'succeeded' THEN 'succeeded' ELSE 'expired' END,
            CASE status WHEN 'succeeded' THEN NULL ELSE 'SESSION_EXPIRED' END,
            'at_seed' || substr(id, 8) || 'b', 'ns_seed_' || substr(id, 8) || 'b', NULL, 0,
            created_at + 60, created_at + 90, 2,
            CASE status WHEN 'succeeded' THEN amount END, CASE status WHEN 'succeeded' THEN 'XOF' END,
            CASE status WHEN 'succeeded' THEN 'at_seed' || substr(id, 8) || 'b' END
     FROM checkouts
     WHERE id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
       AND (status = 'succeeded' OR (status = 'expired' AND CAST(substr(id, 8) AS INTEGER) % 2 = 0))",
    // Every checkout's history: created, then what happened to it and to its attempts.
    "INSERT INTO status_changes (checkout_id, attempt_id, from_status, to_status, cause, created_at)
     SELECT id, NULL, NULL, 'open', 'api:create', created_at FROM checkouts
     WHERE id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
     UNION ALL
     SELECT checkout_id, id, 'open', 'processing', 'api:pay', created_at FROM attempts
     WHERE checkout_id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
     UNION ALL
     SELECT checkout_id, id, 'processing', CASE status WHEN 'succeeded' THEN 'succeeded' ELSE 'open' END,
            'webhook:nova_send:wh_seed' || substr(id, 8), updated_at FROM attempts
     WHERE checkout_id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
     UNION ALL
     SELECT id, NULL, 'open', status, CASE status WHEN 'expired' THEN 'expiry' ELSE 'api:cancel' END, expires_at
     FROM checkouts
     WHERE id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)
       AND status IN ('expired', 'cancelled')",
    // The provider's notification of each attempt's end, processed.
    "INSERT INTO provider_notifications (id, provider, dedup_key, verified, state, reference, update_status,
                                         body, attempts, outcome, received_at_ms, processed_at_ms)
     SELECT 'wh_seed' || substr(id, 8), 'nova_send', 'sha256:' || lower(hex(randomblob(32))), 1, 'processed',
            id, status, '{}', 1, 'applied', updated_at * 1000, updated_at * 1000 + 15
     FROM attempts
     WHERE checkout_id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)",
    // The merchant's event of each payment, delivered.
    "INSERT INTO events (id, type, checkout_id, payload, created_at)
     SELECT 'evt_seed' || substr(id, 8), 'checkout.succeeded', id,
            json_object('type', 'checkout.succeeded', 'data', json_object('id', id, 'amount', amount,
                        'currency', currency, 'status', status, 'livemode', json('false'))),
            updated_at
     FROM checkouts
     WHERE id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2) AND status = 'succeeded'",
    "INSERT INTO deliveries (event_id, state, attempts, next_attempt_at_ms, last_status, updated_at_ms)
     SELECT id, 'delivered', 1, created_at * 1000, 200, created_at * 1000 + 80 FROM events
     WHERE checkout_id BETWEEN printf('co_seed%017d', ?1) AND printf('co_seed%017d', ?2)",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(count)) = (args.next(), args.next()) else {
        bail!("usage: bench-seed <database file> <checkouts>");
    };
    let total: i64 = count.parse().context("the number of checkouts")?;
    if !(1..=100_000_000).contains(&total) {
        bail!("the number of checkouts must be between 1 and 100,000,000");
    }
    let started = Instant::now();
    let url = format!("sqlite://{file}");
    // The verifier's own opening: creates the file and applies every migration.
    drop(server::store::sqlite::SqliteStore::connect(&url).await?);

    // A template, filled once: no fsync per transaction (the file is copied, never served).
    let options = url
        .parse::<SqliteConnectOptions>()?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = now - SPAN_S;
    let mut lo = 1;
    while lo <= total {
        let hi = (lo + CHUNK - 1).min(total);
        let mut tx = conn.begin().await?;
        for sql in CHUNK_SQL {
            let q = sqlx::query(sql).bind(lo).bind(hi).bind(start).bind(total).bind(now).bind(SPAN_S);
            tx.execute(q).await.with_context(|| format!("seeding checkouts {lo}..={hi}"))?;
        }
        tx.commit().await?;
        lo = hi + 1;
    }
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    conn.execute("ANALYZE").await?;
    conn.close().await?;
    println!("bench-seed: {total} checkouts into {file} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

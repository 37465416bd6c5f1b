//! The embedded SQLite store: one file, WAL mode, `synchronous = FULL`, migrations applied at
//! start.
//!
//! Every write goes to one writer task ([`writer`]) that owns the only write connection and
//! commits the writes waiting together in one `BEGIN IMMEDIATE` transaction (group commit):
//! two updates of one payment are serialised, never raced, and a caller that goes away never
//! leaves a transaction open. Reads run on a small pool of read-only connections, each in a
//! task of its own, one statement where one suffices. Every statement here uses an index
//! (`every_hot_query_uses_an_index`).

use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};
use sqlx::{
    Connection, Row, SqliteConnection, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
};

use super::{
    Applied, AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutQuery, CheckoutRecord, Inserted,
    LimitReached, MerchantKeyRecord, NotificationRecord, NotificationState, RefundRecord, RefusedCount,
    RefusedSample, Reported, StatusChange, Store, StoreError,
};
use super::{
    SharedClock, SystemClock,
    plan::{self, AttemptCounts},
};

mod idempotency;
mod keys;
mod outbox;
mod overview;
mod persist;
mod provider_keys;
mod refused;
mod writer;

use writer::{Lane, Writer};

/// Reading connections: SQLite in WAL mode lets readers run beside the writer.
const READERS: u32 = 4;

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Connections for reads; `None` for an in-memory database, whose one connection is the
    /// writer's (another connection would open another, empty, database).
    reads: Option<SqlitePool>,
    /// The one connection that writes, behind its group-commit task.
    writer: Writer,
    /// The only source of the time the store writes.
    clock: SharedClock,
    /// How the file was opened (`None` in memory), to open it again when asked whether it is
    /// still there ([`Store::migrations_pending`]).
    file: Option<SqliteConnectOptions>,
}

fn other(e: sqlx::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(e))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unreadable {what} in the database: {value:?}"))
}

/// The checkouts of the merchant's list, each with its latest attempt (columns `a_…`), as
/// [`Store::checkout_with_latest_attempt`] reads one.
const LIST_SELECT: &str = "SELECT c.*, a.id AS a_id, a.checkout_id AS a_checkout_id, a.provider AS a_provider, a.method AS a_method, a.phone AS a_phone, a.status AS a_status, a.failure AS a_failure, a.idempotency_key AS a_idempotency_key, a.provider_reference AS a_provider_reference, a.payment_url AS a_payment_url, a.created_at AS a_created_at, a.updated_at AS a_updated_at, a.reported_amount AS a_reported_amount, a.reported_amount_text AS a_reported_amount_text, a.reported_currency AS a_reported_currency, a.reported_reference AS a_reported_reference, a.reported_charged AS a_reported_charged
     FROM checkouts c LEFT JOIN attempts a ON a.rowid = (
         SELECT rowid FROM attempts WHERE checkout_id = c.id
         ORDER BY created_at DESC, rowid DESC LIMIT 1)";

/// The statement of [`Store::list_checkouts`] for `q`.
fn list_query(q: &CheckoutQuery) -> sqlx::QueryBuilder<'static, sqlx::Sqlite> {
    q.statement(LIST_SELECT)
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url` and applies the migrations; the
    /// store reads the time from the system clock.
    pub async fn connect(url: &str) -> anyhow::Result<SqliteStore> {
        SqliteStore::connect_with_clock(url, SystemClock::shared()).await
    }

    /// [`SqliteStore::connect`] with the time read from `clock` (tests set and advance one).
    pub async fn connect_with_clock(url: &str, clock: SharedClock) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid database URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed state change survives a power cut, not only a process kill.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        // The writer's connection: migrations first, on it alone.
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("failed to open the database {url:?}"))?;
        // Migrations that rebuild a table (0008) need foreign keys off, as SQLite's procedure
        // says (https://www.sqlite.org/lang_altertable.html#otheralter): on one connection,
        // switched off outside any transaction, then on again and checked.
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut conn).await?;
        let migrated = sqlx::migrate!("./migrations/sqlite").run(&mut conn).await;
        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut conn).await?;
        migrated.context("failed to apply the database migrations")?;
        let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut conn).await?;
        anyhow::ensure!(broken.is_empty(), "the migrated database has {} broken references", broken.len());
        // SQLite as bundled here is built with STAT4: once an `ANALYZE` has filled
        // `sqlite_stat4`, every statement whose plan a bound value might change is prepared
        // again at each new value (https://www.sqlite.org/c3ref/prepare.html, "the statement
        // will be automatically recompiled"): every read of a checkout by id parses its SQL
        // anew (measured at 100,000 checkouts: 10.9k status reads/s with it, 43.6k without).
        // Every query here is an equality on an index, which those samples cannot improve.
        let stat4: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat4'")
                .fetch_optional(&mut conn)
                .await?;
        if stat4.is_some() {
            tracing::info!("dropping sqlite_stat4: its samples make SQLite re-prepare every hot query");
            sqlx::query("DROP TABLE sqlite_stat4").execute(&mut conn).await?;
        }
        // Samples moved by migration 0011 from the old refused rows: phone numbers masked once.
        let masked = refused::mask_moved_samples(&mut conn).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if masked > 0 {
            tracing::info!(samples = masked, "phone numbers masked in the refused-notification samples");
        }
        // An in-memory database lives as long as its one connection: the writer's.
        let reads = if url.contains(":memory:") {
            None
        } else {
            Some(
                SqlitePoolOptions::new()
                    .max_connections(READERS)
                    // A local file does not drop connections: no ping before every read.
                    .test_before_acquire(false)
                    .connect_with(options.clone().read_only(true))
                    .await
                    .with_context(|| format!("failed to open the database {url:?} for reading"))?,
            )
        };
        let file = reads.is_some().then_some(options);
        Ok(SqliteStore { reads, writer: Writer::spawn(conn), clock, file })
    }

    /// Runs a read on a reading connection, in a task of its own (a caller that goes away never
    /// leaves a connection mid-statement); on the writer for an in-memory database.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        self.read_with(false, f).await
    }

    /// [`Self::read`] for several statements that must see one state of the database: one
    /// read transaction (in WAL mode, one snapshot).
    async fn snapshot<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        self.read_with(true, f).await
    }

    async fn read_with<T, F>(&self, snapshot: bool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        // The writer runs every job inside its transaction: a snapshot already.
        let Some(pool) = self.reads.clone() else { return self.writer.run(Lane::Normal, f).await };
        let task = tokio::spawn(async move {
            let mut conn = pool.acquire().await.map_err(other)?;
            if !snapshot {
                return f(&mut conn).await;
            }
            let mut tx = conn.begin().await.map_err(other)?;
            let out = f(&mut tx).await;
            tx.commit().await.map_err(other)?;
            out
        });
        task.await.map_err(|e| StoreError::Other(anyhow::anyhow!("a database read failed: {e}")))?
    }

    fn checkout_from_row(row: &SqliteRow) -> Result<CheckoutRecord, StoreError> {
        let currency: String = row.get("currency");
        let currency = Currency::parse(&currency).map_err(|_| corrupt("currency", &currency))?;
        let amount: i64 = row.get("amount");
        let money = u64::try_from(amount)
            .ok()
            .and_then(|a| Money::new(a, currency).ok())
            .ok_or_else(|| corrupt("amount", &amount.to_string()))?;
        let country: String = row.get("country");
        let status: String = row.get("status");
        Ok(CheckoutRecord {
            id: row.get("id"),
            reference: row.get("reference"),
            money,
            country: Country::parse(&country).ok_or_else(|| corrupt("country", &country))?,
            description: row.get("description"),
            return_url: row.get("return_url"),
            customer: match row.get::<Option<String>, _>("customer_json") {
                Some(json) => Some(serde_json::from_str(&json).map_err(|_| corrupt("customer", &json))?),
                None => None,
            },
            status: CheckoutStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            livemode: row.get("livemode"),
            client_secret_hash: row.get("client_secret_hash"),
            created_at: row.get("created_at"),
            expires_at: row.get("expires_at"),
        })
    }

    fn refund_from_row(row: &SqliteRow, currency: Currency) -> Result<RefundRecord, StoreError> {
        let amount: i64 = row.get("amount");
        let status: String = row.get("status");
        let failure: Option<String> = row.get("failure");
        Ok(RefundRecord {
            id: row.get("id"),
            checkout_id: row.get("checkout_id"),
            attempt_id: row.get("attempt_id"),
            amount: u64::try_from(amount)
                .ok()
                .and_then(|a| Money::new(a, currency).ok())
                .ok_or_else(|| corrupt("refund amount", &amount.to_string()))?,
            status: RefundStatus::parse(&status).ok_or_else(|| corrupt("refund status", &status))?,
            reason: row.get("reason"),
            failure: match failure {
                Some(f) => Some(ErrorCode::parse(&f).ok_or_else(|| corrupt("failure", &f))?),
                None => None,
            },
            provider_reference: row.get("provider_reference"),
            created_at: row.get("created_at"),
        })
    }

    fn notification_from_row(row: &SqliteRow) -> Result<NotificationRecord, StoreError> {
        let provider: String = row.get("provider");
        let state: String = row.get("state");
        let status: Option<String> = row.get("update_status");
        let failure: Option<String> = row.get("update_failure");
        let update = match status {
            Some(s) => Some(AttemptUpdate {
                status: AttemptStatus::parse(&s).ok_or_else(|| corrupt("notification status", &s))?,
                failure: match failure {
                    Some(f) => Some(ErrorCode::parse(&f).ok_or_else(|| corrupt("failure", &f))?),
                    None => None,
                },
                provider_reference: row.get("update_provider_reference"),
                payment_url: row.get("update_payment_url"),
                reported: match row.get::<Option<String>, _>("update_reported") {
                    Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("reported", &json))?,
                    None => Reported::default(),
                },
            }),
            None => None,
        };
        let attempts: i64 = row.get("attempts");
        Ok(NotificationRecord {
            id: row.get("id"),
            provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
            dedup_key: row.get("dedup_key"),
            verified: row.get("verified"),
            state: NotificationState::parse(&state).ok_or_else(|| corrupt("notification state", &state))?,
            duplicate_of: row.get("duplicate_of"),
            reference: row.get("reference"),
            update,
            body: row.get("body"),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error: row.get("last_error"),
            outcome: row.get("outcome"),
            received_at_ms: row.get("received_at_ms"),
            processed_at_ms: row.get("processed_at_ms"),
        })
    }

    fn attempt_from_row(row: &SqliteRow) -> Result<AttemptRecord, StoreError> {
        Self::attempt_from_row_as(row, "")
    }

    /// An attempt from columns named with a prefix (`a_id`, `a_status`, …) beside others.
    fn attempt_from_row_as(row: &SqliteRow, p: &str) -> Result<AttemptRecord, StoreError> {
        let provider: String = row.get(&*col(p, "provider"));
        let method: String = row.get(&*col(p, "method"));
        let status: String = row.get(&*col(p, "status"));
        let failure: Option<String> = row.get(&*col(p, "failure"));
        Ok(AttemptRecord {
            id: row.get(&*col(p, "id")),
            checkout_id: row.get(&*col(p, "checkout_id")),
            provider: Provider::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
            method: PaymentMethod::parse(&method).ok_or_else(|| corrupt("method", &method))?,
            phone: row.get(&*col(p, "phone")),
            status: AttemptStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            failure: match failure {
                Some(f) => Some(ErrorCode::parse(&f).ok_or_else(|| corrupt("failure", &f))?),
                None => None,
            },
            idempotency_key: row.get(&*col(p, "idempotency_key")),
            provider_reference: row.get(&*col(p, "provider_reference")),
            payment_url: row.get(&*col(p, "payment_url")),
            reported: reported_from_row_as(row, p)?,
            created_at: row.get(&*col(p, "created_at")),
            updated_at: row.get(&*col(p, "updated_at")),
        })
    }
}

/// The column `name` under the prefix `p`; no allocation for the unprefixed reads.
fn col<'a>(p: &str, name: &'a str) -> std::borrow::Cow<'a, str> {
    if p.is_empty() {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(format!("{p}{name}"))
    }
}

/// The `reported_*` columns of an attempt row (named with a prefix), if any is set.
fn reported_from_row_as(row: &SqliteRow, p: &str) -> Result<Option<Reported>, StoreError> {
    let amount: Option<i64> = row.get(&*col(p, "reported_amount"));
    let reported = Reported {
        amount: amount
            .map(|a| u64::try_from(a).map_err(|_| corrupt("reported amount", &a.to_string())))
            .transpose()?,
        unreadable_amount: row.get(&*col(p, "reported_amount_text")),
        currency: row.get(&*col(p, "reported_currency")),
        reference: row.get(&*col(p, "reported_reference")),
        charged: row
            .get::<Option<i64>, _>(&*col(p, "reported_charged"))
            .map(|a| u64::try_from(a).map_err(|_| corrupt("charged amount", &a.to_string())))
            .transpose()?,
    };
    Ok((!reported.is_empty()).then_some(reported))
}

/// Records a new attempt and moves its checkout to processing, within `limits` when given:
/// counted here, in the writer's `BEGIN IMMEDIATE` transaction, so that two requests (or two
/// instances on one database) cannot both pass the last free place.
async fn insert_attempt(
    db: &mut SqliteConnection,
    a: &AttemptRecord,
    first_poll_at_ms: i64,
    cause: &Cause,
    limits: Option<&AttemptLimits>,
    now_ms: i64,
) -> Result<Result<(), LimitReached>, StoreError> {
    let row = sqlx::query("SELECT * FROM checkouts WHERE id = ?")
        .bind(&a.checkout_id)
        .fetch_optional(&mut *db)
        .await
        .map_err(other)?
        .ok_or_else(|| StoreError::Conflict("no such checkout".into()))?;
    let checkout = SqliteStore::checkout_from_row(&row)?;
    let plan = plan::attempt_start(&checkout, a, first_poll_at_ms, cause, now_ms)?;
    if let Some(limits) = limits {
        let counts = count_for_limits(db, a, limits, plan.at).await?;
        if let Err(reached) = plan::check_limits(limits, a, &counts, plan.at) {
            return Ok(Err(reached));
        }
    }
    let a = &plan.attempt;
    let inserted = sqlx::query(
        "INSERT INTO attempts (id, checkout_id, provider, method, phone, status, failure,
                   idempotency_key, provider_reference, payment_url, next_poll_at_ms,
                   created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.checkout_id)
    .bind(a.provider.as_str())
    .bind(a.method.as_str())
    .bind(&a.phone)
    .bind(a.status.as_str())
    .bind(&a.idempotency_key)
    .bind(plan.first_poll_at_ms)
    .bind(a.created_at)
    .bind(plan.at)
    .execute(&mut *db)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict("a payment is already in progress".into()));
        }
        r => {
            r.map_err(other)?;
        }
    }
    persist::checkout_move(db, &a.checkout_id, plan.checkout_move, plan.at).await?;
    persist::history(db, &plan.history).await?;
    Ok(Ok(()))
}

/// Counts what [`AttemptLimits`] limit for a new attempt `a` at `now` (unix seconds).
async fn count_for_limits(
    db: &mut SqliteConnection,
    a: &AttemptRecord,
    limits: &AttemptLimits,
    now: i64,
) -> Result<AttemptCounts, StoreError> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE checkout_id = ?")
        .bind(&a.checkout_id)
        .fetch_one(&mut *db)
        .await
        .map_err(other)?;
    let mut counts = AttemptCounts { checkout_attempts: count(attempts), ..AttemptCounts::default() };
    if plan::counts_otp(a) {
        let [first, second, third] = plan::refused_code_failures();
        let refused: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM attempts WHERE checkout_id = ? AND provider = ? AND method = ?
               AND status = 'failed' AND failure IN (?, ?, ?)",
        )
        .bind(&a.checkout_id)
        .bind(a.provider.as_str())
        .bind(a.method.as_str())
        .bind(first.as_str())
        .bind(second.as_str())
        .bind(third.as_str())
        .fetch_one(&mut *db)
        .await
        .map_err(other)?;
        counts.otp_failures = count(refused);
    }
    if let Some(phone) = &a.phone {
        let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM attempts WHERE phone = ? AND created_at > ?",
        )
        .bind(phone)
        .bind(plan::phone_window_start(limits, now))
        .fetch_one(&mut *db)
        .await
        .map_err(other)?;
        counts.phone_attempts = count(n);
        counts.phone_oldest = oldest;
    }
    Ok(counts)
}

/// Runs a planned write job again while it finds the state it planned from changed
/// ([`StoreError::is_stale`]), at most [`plan::REPLANS`] times.
async fn replanned<T, F, Fut>(mut job: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        match job().await {
            Err(e) if e.is_stale() && tries < plan::REPLANS => tries += 1,
            done => return done,
        }
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_checkout(&self, c: &CheckoutRecord, cause: &Cause) -> Result<(), StoreError> {
        let c = c.clone();
        let cause = cause.clone();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let c = &c;
                    let cause = &cause;
                    let amount = i64::try_from(c.money.minor()).map_err(|e| StoreError::Other(e.into()))?;
                    let customer_json = c
                        .customer
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(|e| StoreError::Other(e.into()))?;
                    let inserted = sqlx::query(
            "INSERT INTO checkouts (id, reference, amount, currency, country, description, return_url,
                                    customer_json, status, client_secret_hash, created_at, expires_at,
                                    updated_at, livemode)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.reference)
        .bind(amount)
        .bind(c.money.currency().code())
        .bind(c.country.code())
        .bind(&c.description)
        .bind(&c.return_url)
        .bind(customer_json)
        .bind(c.status.as_str())
        .bind(&c.client_secret_hash)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.created_at)
        .bind(c.livemode)
        .execute(&mut *db)
        .await;
                    match inserted {
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(format!(
                                "a checkout with reference {:?} already exists",
                                c.reference
                            )));
                        }
                        other_result => {
                            other_result.map_err(other)?;
                        }
                    }
                    persist::history(db, &[plan::checkout_created(c, cause)]).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn checkout(&self, id: &str) -> Result<Option<CheckoutRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let id = id.as_str();
                let row = sqlx::query("SELECT * FROM checkouts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)?;
                row.as_ref().map(Self::checkout_from_row).transpose()
            })
        })
        .await
    }

    async fn checkout_with_attempts(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Vec<AttemptRecord>)>, StoreError> {
        let id = id.to_owned();
        // One read transaction: in WAL mode both reads see the same snapshot.
        self.snapshot(move |db| {
            Box::pin(async move {
                let id = id.as_str();
                let row = sqlx::query("SELECT * FROM checkouts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)?;
                let Some(row) = row else { return Ok(None) };
                let checkout = Self::checkout_from_row(&row)?;
                let rows =
                    sqlx::query("SELECT * FROM attempts WHERE checkout_id = ? ORDER BY created_at, rowid")
                        .bind(id)
                        .fetch_all(&mut *db)
                        .await
                        .map_err(other)?;
                let attempts = rows.iter().map(Self::attempt_from_row).collect::<Result<Vec<_>, _>>()?;
                Ok(Some((checkout, attempts)))
            })
        })
        .await
    }

    async fn checkout_with_latest_attempt(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        let id = id.to_owned();
        // One statement: one snapshot, one round trip to the connection's thread.
        self.read(move |db| {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT c.*, a.id AS a_id, a.checkout_id AS a_checkout_id, a.provider AS a_provider, a.method AS a_method, a.phone AS a_phone, a.status AS a_status, a.failure AS a_failure, a.idempotency_key AS a_idempotency_key, a.provider_reference AS a_provider_reference, a.payment_url AS a_payment_url, a.created_at AS a_created_at, a.updated_at AS a_updated_at, a.reported_amount AS a_reported_amount, a.reported_amount_text AS a_reported_amount_text, a.reported_currency AS a_reported_currency, a.reported_reference AS a_reported_reference, a.reported_charged AS a_reported_charged
                     FROM checkouts c LEFT JOIN attempts a ON a.rowid = (
                         SELECT rowid FROM attempts WHERE checkout_id = c.id
                         ORDER BY created_at DESC, rowid DESC LIMIT 1)
                     WHERE c.id = ?",
                )
                .bind(&id)
                .fetch_optional(&mut *db)
                .await
                .map_err(other)?;
                let Some(row) = row else { return Ok(None) };
                let attempt = match row.get::<Option<String>, _>("a_id") {
                    Some(_) => Some(Self::attempt_from_row_as(&row, "a_")?),
                    None => None,
                };
                Ok(Some((Self::checkout_from_row(&row)?, attempt)))
            })
        })
        .await
    }

    async fn list_checkouts(
        &self,
        q: &CheckoutQuery,
    ) -> Result<Vec<(CheckoutRecord, Option<AttemptRecord>)>, StoreError> {
        let q = q.clone();
        // One statement: one snapshot.
        self.read(move |db| {
            Box::pin(async move {
                let mut query = list_query(&q);
                let rows = query.build().fetch_all(&mut *db).await.map_err(other)?;
                rows.iter()
                    .map(|row| -> Result<_, StoreError> {
                        let attempt = match row.get::<Option<String>, _>("a_id") {
                            Some(_) => Some(Self::attempt_from_row_as(row, "a_")?),
                            None => None,
                        };
                        Ok((Self::checkout_from_row(row)?, attempt))
                    })
                    .collect()
            })
        })
        .await
    }

    async fn attempts(&self, checkout_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let checkout_id = checkout_id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let checkout_id = checkout_id.as_str();
                let rows =
                    sqlx::query("SELECT * FROM attempts WHERE checkout_id = ? ORDER BY created_at, rowid")
                        .bind(checkout_id)
                        .fetch_all(&mut *db)
                        .await
                        .map_err(other)?;
                rows.iter().map(Self::attempt_from_row).collect()
            })
        })
        .await
    }

    async fn attempt(&self, id: &str) -> Result<Option<AttemptRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let id = id.as_str();
                let row = sqlx::query("SELECT * FROM attempts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)?;
                row.as_ref().map(Self::attempt_from_row).transpose()
            })
        })
        .await
    }

    async fn attempt_by_reference(
        &self,
        provider: Provider,
        reference: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let reference = reference.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let reference = reference.as_str();
                // Two lookups, each on its own index: with an `OR`, SQLite searched the
                // provider's index by provider alone, i.e. read every attempt of the provider.
                let row = sqlx::query(
                    "SELECT * FROM attempts WHERE idempotency_key = ?1 AND provider = ?2
                     UNION ALL
                     SELECT * FROM attempts WHERE provider = ?2 AND provider_reference = ?1
                     LIMIT 1",
                )
                .bind(reference)
                .bind(provider.as_str())
                .fetch_optional(&mut *db)
                .await
                .map_err(other)?;
                row.as_ref().map(Self::attempt_from_row).transpose()
            })
        })
        .await
    }

    async fn start_attempt(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let a = a.clone();
        let cause = cause.clone();
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let within = insert_attempt(db, &a, first_poll_at_ms, &cause, None, now_ms).await?;
                    debug_assert!(within.is_ok(), "no limit was asked");
                    Ok(())
                })
            })
            .await
    }

    async fn start_attempt_limited(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
        limits: &AttemptLimits,
    ) -> Result<Result<(), LimitReached>, StoreError> {
        let a = a.clone();
        let cause = cause.clone();
        let limits = *limits;
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    insert_attempt(db, &a, first_poll_at_ms, &cause, Some(&limits), now_ms).await
                })
            })
            .await
    }

    async fn update_attempt(
        &self,
        attempt_id: &str,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Result<Applied, StoreError> {
        replanned(|| {
            let attempt_id = attempt_id.to_owned();
            let update = update.clone();
            let cause = cause.clone();
            let now_ms = self.clock.now_ms();
            self.writer.run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let checkout_id: String =
                        sqlx::query_scalar("SELECT checkout_id FROM attempts WHERE id = ?")
                            .bind(&attempt_id)
                            .fetch_optional(&mut *db)
                            .await
                            .map_err(other)?
                            .ok_or_else(|| StoreError::Conflict(format!("no attempt {attempt_id}")))?;
                    let (checkout, attempts) = persist::payment(db, &checkout_id)
                        .await?
                        .ok_or_else(|| StoreError::Conflict(format!("no attempt {attempt_id}")))?;
                    let plan =
                        plan::attempt_update(&checkout, &attempts, &attempt_id, &update, &cause, now_ms)?;
                    persist::attempt_plan(db, &plan).await?;
                    Ok(plan.applied())
                })
            })
        })
        .await
    }

    async fn due_attempts(&self, now_ms: i64, limit: u32) -> Result<Vec<(AttemptRecord, u32)>, StoreError> {
        self.read(move |db| {
            Box::pin(async move {
                // Two selects, each read through its partial index: the pending attempts, and
                // the failed ones still fetched (a customer's cancellation, within its window).
                let rows = sqlx::query(
                    "SELECT * FROM attempts WHERE status IN ('created', 'awaiting_customer', 'authorized')
             AND next_poll_at_ms <= ?1
             UNION ALL
             SELECT * FROM attempts WHERE status = 'failed' AND poll_until_ms IS NOT NULL
             AND poll_until_ms > ?1 AND next_poll_at_ms <= ?1
             ORDER BY next_poll_at_ms LIMIT ?2",
                )
                .bind(now_ms)
                .bind(limit)
                .fetch_all(&mut *db)
                .await
                .map_err(other)?;
                rows.iter()
                    .map(|row| {
                        let polls: i64 = row.try_get("polls").map_err(other)?;
                        Ok((Self::attempt_from_row(row)?, u32::try_from(polls).unwrap_or(u32::MAX)))
                    })
                    .collect()
            })
        })
        .await
    }

    async fn claim_poll(
        &self,
        attempt_id: &str,
        polls_seen: u32,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let attempt_id = attempt_id.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let attempt_id = attempt_id.as_str();
                    let done = sqlx::query(
            "UPDATE attempts SET polls = polls + 1, next_poll_at_ms = ? WHERE id = ? AND polls = ?",
        )
        .bind(next_at_ms)
        .bind(attempt_id)
        .bind(i64::from(polls_seen))
        .execute(&mut *db)
        .await
        .map_err(other)?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    async fn expire_checkouts(&self, now: i64) -> Result<Vec<String>, StoreError> {
        // A plain read first: most seconds nothing expires, and then no write is queued.
        let any: Option<i64> = self
            .read(move |db| {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "SELECT 1 FROM checkouts WHERE status = 'open' AND expires_at <= ? LIMIT 1",
                    )
                    .bind(now)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)
                })
            })
            .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let ids: Vec<String> = sqlx::query_scalar(
                        "SELECT id FROM checkouts WHERE status = 'open' AND expires_at <= ?",
                    )
                    .bind(now)
                    .fetch_all(&mut *db)
                    .await
                    .map_err(other)?;
                    let mut expired = Vec::with_capacity(ids.len());
                    for id in ids {
                        let Some((checkout, attempts)) = persist::payment(db, &id).await? else { continue };
                        if let Some(plan) = plan::expiry(&checkout, &attempts, now, now_ms)? {
                            persist::checkout_move(db, &id, plan.checkout_move, plan.at).await?;
                            persist::history(db, &plan.history).await?;
                            persist::events(db, &plan.events).await?;
                            expired.push(id);
                        }
                    }
                    Ok(expired)
                })
            })
            .await
    }

    async fn cancel_checkout(
        &self,
        id: &str,
        cause: &Cause,
    ) -> Result<Option<(CheckoutRecord, bool)>, StoreError> {
        let (id, cause) = (id.to_owned(), cause.clone());
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let Some((checkout, attempts)) = persist::payment(db, &id).await? else {
                        return Ok(None);
                    };
                    let Some(plan) = plan::merchant_cancel(&checkout, &attempts, &cause, now_ms)? else {
                        return Ok(Some((checkout, false)));
                    };
                    persist::checkout_move(db, &id, plan.checkout_move, plan.at).await?;
                    persist::history(db, &plan.history).await?;
                    persist::events(db, &plan.events).await?;
                    Ok(Some((CheckoutRecord { status: plan.checkout_move.to, ..checkout }, true)))
                })
            })
            .await
    }

    async fn history(&self, checkout_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        let checkout_id = checkout_id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let checkout_id = checkout_id.as_str();
                let rows = sqlx::query(
                    "SELECT created_at, attempt_id, from_status, to_status, cause FROM status_changes
             WHERE checkout_id = ? ORDER BY id",
                )
                .bind(checkout_id)
                .fetch_all(&mut *db)
                .await
                .map_err(other)?;
                Ok(rows
                    .iter()
                    .map(|r| StatusChange {
                        at: r.get("created_at"),
                        attempt_id: r.get("attempt_id"),
                        from: r.get("from_status"),
                        to: r.get("to_status"),
                        cause: r.get("cause"),
                    })
                    .collect())
            })
        })
        .await
    }

    async fn start_refund(&self, r: &RefundRecord, cause: &Cause) -> Result<(), StoreError> {
        let r = r.clone();
        let cause = cause.clone();
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let (checkout, attempts) = persist::payment(db, &r.checkout_id)
                        .await?
                        .ok_or_else(|| StoreError::Conflict("no such checkout".into()))?;
                    let refunds = persist::refunds(db, &checkout.id, checkout.money.currency()).await?;
                    let plan = plan::refund_start(&checkout, &attempts, &refunds, &r, &cause, now_ms)?;
                    let r = &plan.refund;
                    sqlx::query(
                        "INSERT INTO refunds (id, checkout_id, attempt_id, amount, status, reason, failure,
                                  provider_reference, created_at, updated_at, next_check_at_ms)
             VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
                    )
                    .bind(&r.id)
                    .bind(&r.checkout_id)
                    .bind(&r.attempt_id)
                    .bind(i64::try_from(r.amount.minor()).map_err(|e| StoreError::Other(e.into()))?)
                    .bind(r.status.as_str())
                    .bind(&r.reason)
                    .bind(r.created_at)
                    .bind(plan.at)
                    // Followed up by the reconciler if the request that made it never ends it
                    // (the process died during the provider call).
                    .bind(plan.next_check_at_ms)
                    .execute(&mut *db)
                    .await
                    .map_err(other)?;
                    persist::history(db, &plan.history).await
                })
            })
            .await
    }

    async fn finish_refund(
        &self,
        refund_id: &str,
        status: RefundStatus,
        failure: Option<ErrorCode>,
        provider_reference: Option<&str>,
        cause: &Cause,
    ) -> Result<Applied, StoreError> {
        replanned(|| {
            let refund_id = refund_id.to_owned();
            let provider_reference = provider_reference.map(str::to_owned);
            let cause = cause.clone();
            let now_ms = self.clock.now_ms();
            self.writer.run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let checkout_id: String =
                        sqlx::query_scalar("SELECT checkout_id FROM refunds WHERE id = ?")
                            .bind(&refund_id)
                            .fetch_optional(&mut *db)
                            .await
                            .map_err(other)?
                            .ok_or_else(|| StoreError::Conflict(format!("no refund {refund_id}")))?;
                    let (checkout, attempts) = persist::payment(db, &checkout_id)
                        .await?
                        .ok_or_else(|| StoreError::Conflict(format!("no refund {refund_id}")))?;
                    let refunds = persist::refunds(db, &checkout_id, checkout.money.currency()).await?;
                    let plan = plan::refund_finish(
                        &checkout,
                        &attempts,
                        &refunds,
                        &refund_id,
                        status,
                        failure,
                        provider_reference.as_deref(),
                        &cause,
                        now_ms,
                    )?;
                    let Some(plan) = plan else { return Ok(Applied::default()) };
                    persist::refund_finish(db, &plan).await?;
                    Ok(plan.applied())
                })
            })
        })
        .await
    }

    async fn discard_refund(&self, refund_id: &str) -> Result<(), StoreError> {
        let refund_id = refund_id.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let refund_id = refund_id.as_str();
                    let checkout_id: Option<String> = sqlx::query_scalar(
                        "SELECT checkout_id FROM refunds WHERE id = ? AND status = 'pending'",
                    )
                    .bind(refund_id)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)?;
                    if let Some(checkout_id) = checkout_id {
                        sqlx::query("DELETE FROM refunds WHERE id = ?")
                            .bind(refund_id)
                            .execute(&mut *db)
                            .await
                            .map_err(other)?;
                        let pending = plan::refund_history_text(refund_id, RefundStatus::Pending);
                        sqlx::query("DELETE FROM status_changes WHERE checkout_id = ? AND to_status = ?")
                            .bind(&checkout_id)
                            .bind(&pending)
                            .execute(&mut *db)
                            .await
                            .map_err(other)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn overview(
        &self,
        window: super::overview::Window,
    ) -> Result<super::overview::Overview, StoreError> {
        self.snapshot(move |db| Box::pin(overview::overview(db, window))).await
    }

    async fn refunds(&self, checkout_id: &str) -> Result<Vec<RefundRecord>, StoreError> {
        let checkout_id = checkout_id.to_owned();
        self.read(move |db| Box::pin(async move {
            let checkout_id = checkout_id.as_str();
        // The amounts are in the checkout's currency: read with it.
        let rows = sqlx::query(
            "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
             WHERE r.checkout_id = ? ORDER BY r.created_at, r.rowid",
        )
        .bind(checkout_id)
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                let code: String = r.get("checkout_currency");
                let currency = Currency::parse(&code).map_err(|_| corrupt("currency", &code))?;
                Self::refund_from_row(r, currency)
            })
            .collect()
        })).await
    }

    async fn checkout_events(&self, checkout_id: &str) -> Result<Vec<super::EventRecord>, StoreError> {
        let checkout_id = checkout_id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let checkout_id = checkout_id.as_str();
                outbox::checkout_events(&mut *db, checkout_id).await
            })
        })
        .await
    }

    async fn event(&self, event_id: &str) -> Result<Option<super::EventRecord>, StoreError> {
        let event_id = event_id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let event_id = event_id.as_str();
                outbox::event(&mut *db, event_id).await
            })
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<super::ClaimedDelivery>, StoreError> {
        // A plain read first: an idle dispatcher never queues a write.
        if !self.read(move |db| Box::pin(outbox::any_delivery_due(db, now_ms))).await? {
            return Ok(Vec::new());
        }
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move { outbox::claim_deliveries(&mut *db, now_ms, lease_ms, limit).await })
            })
            .await
    }

    async fn finish_delivery(
        &self,
        event_id: &str,
        claim: &str,
        outcome: &super::DeliveryOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let event_id = event_id.to_owned();
        let claim = claim.to_owned();
        let outcome = outcome.clone();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let event_id = event_id.as_str();
                    let claim = claim.as_str();
                    let outcome = &outcome;
                    outbox::finish_delivery(&mut *db, event_id, claim, outcome, now_ms).await
                })
            })
            .await
    }

    async fn redeliver(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let event_id = event_id.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let event_id = event_id.as_str();
                    outbox::redeliver(&mut *db, event_id, now_ms).await
                })
            })
            .await
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        method_path: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
        take_over_stale: bool,
    ) -> Result<super::IdempotencyBegin, StoreError> {
        let key = key.to_owned();
        let method_path = method_path.to_owned();
        let request_hash = request_hash.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let key = key.as_str();
                    let method_path = method_path.as_str();
                    let request_hash = request_hash.as_str();
                    idempotency::begin(
                        &mut *db,
                        key,
                        method_path,
                        request_hash,
                        now_ms,
                        stale_before_ms,
                        take_over_stale,
                    )
                    .await
                })
            })
            .await
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        status: u16,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        let body = body.to_vec();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let key = key.as_str();
                    let body = body.as_slice();
                    idempotency::finish(&mut *db, key, status, body, now_ms).await
                })
            })
            .await
    }

    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let key = key.as_str();
                    idempotency::release(&mut *db, key).await
                })
            })
            .await
    }

    async fn idempotency_purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move { idempotency::purge(&mut *db, before_ms).await })
            })
            .await
    }

    async fn inbox_insert(&self, n: &NotificationRecord) -> Result<Inserted, StoreError> {
        let n = n.clone();
        self.writer
            .run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let first: Option<String> = match plan::inbox_dedup_key(&n) {
                        Some(key) => sqlx::query_scalar(
                            "SELECT id FROM provider_notifications WHERE provider = ? AND dedup_key = ?",
                        )
                        .bind(n.provider.as_str())
                        .bind(key)
                        .fetch_optional(&mut *db)
                        .await
                        .map_err(other)?,
                        None => None,
                    };
                    let plan = plan::inbox_insert(&n, first.as_deref());
                    let n = &plan.row;
                    let update = n.update.as_ref();
                    sqlx::query(
            "INSERT INTO provider_notifications (id, provider, dedup_key, verified, state, duplicate_of,
                 reference, update_status, update_failure, update_provider_reference, update_payment_url,
                 update_reported, body, attempts, last_error, outcome, received_at_ms, processed_at_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, NULL)",
        )
        .bind(&n.id)
        .bind(n.provider.as_str())
        .bind(&n.dedup_key)
        .bind(n.verified)
        .bind(n.state.as_str())
        .bind(&n.duplicate_of)
        .bind(&n.reference)
        .bind(update.map(|u| u.status.as_str()))
        .bind(update.and_then(|u| u.failure).map(ErrorCode::as_str))
        .bind(update.and_then(|u| u.provider_reference.as_deref()))
        .bind(update.and_then(|u| u.payment_url.as_deref()))
        .bind(
            update
                .filter(|u| !u.reported.is_empty())
                .map(|u| serde_json::to_string(&u.reported))
                .transpose()
                .map_err(|e| StoreError::Other(e.into()))?,
        )
        .bind(&n.body)
        .bind(n.received_at_ms)
        .execute(&mut *db)
        .await
        .map_err(other)?;
                    Ok(plan.inserted)
                })
            })
            .await
    }

    async fn inbox_due(&self, limit: u32) -> Result<Vec<NotificationRecord>, StoreError> {
        self.read(move |db| {
            Box::pin(async move {
                let rows = sqlx::query(
            "SELECT * FROM provider_notifications WHERE state = 'received' ORDER BY received_at_ms, rowid
             LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&mut *db)
        .await
        .map_err(other)?;
                rows.iter().map(Self::notification_from_row).collect()
            })
        })
        .await
    }

    async fn inbox_claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        // A plain read first: an idle worker never queues a write.
        let any: Option<i64> = self
            .read(move |db| {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "SELECT 1 FROM provider_notifications WHERE state = 'received' AND lease_until_ms <= ?
                         LIMIT 1",
                    )
                    .bind(now_ms)
                    .fetch_optional(&mut *db)
                    .await
                    .map_err(other)
                })
            })
            .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        self.writer
            .run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT * FROM provider_notifications WHERE state = 'received' AND lease_until_ms <= ?
                         ORDER BY received_at_ms, rowid LIMIT ?",
                    )
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(&mut *db)
                    .await
                    .map_err(other)?;
                    let claimed =
                        rows.iter().map(Self::notification_from_row).collect::<Result<Vec<_>, _>>()?;
                    for n in &claimed {
                        let done = sqlx::query(
                            "UPDATE provider_notifications SET lease_until_ms = ?
                             WHERE id = ? AND state = 'received' AND lease_until_ms <= ?",
                        )
                        .bind(now_ms.saturating_add(lease_ms))
                        .bind(&n.id)
                        .bind(now_ms)
                        .execute(&mut *db)
                        .await
                        .map_err(other)?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::stale());
                        }
                    }
                    Ok(claimed)
                })
            })
            .await
    }

    async fn inbox_processed(&self, id: &str, outcome: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        let outcome = outcome.to_owned();
        let now_ms = self.clock.now_ms();
        self.writer
            .run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let id = id.as_str();
                    let outcome = outcome.as_str();
                    sqlx::query(
            "UPDATE provider_notifications SET state = 'processed', outcome = ?, attempts = attempts + 1,
                 processed_at_ms = ? WHERE id = ? AND state = 'received'",
        )
        .bind(outcome)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *db)
        .await
        .map_err(other)?;
                    Ok(())
                })
            })
            .await
    }

    async fn inbox_retry(&self, id: &str, error: &str, give_up: u32) -> Result<(), StoreError> {
        let id = id.to_owned();
        let error = error.to_owned();
        self.writer
            .run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let id = id.as_str();
                    let error = error.as_str();
                    sqlx::query(
                        "UPDATE provider_notifications SET attempts = attempts + 1, last_error = ?,
                 state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE state END, lease_until_ms = 0
             WHERE id = ? AND state = 'received'",
                    )
                    .bind(error)
                    .bind(give_up)
                    .bind(id)
                    .execute(&mut *db)
                    .await
                    .map_err(other)?;
                    Ok(())
                })
            })
            .await
    }

    async fn notifications(&self, provider: Option<Provider>) -> Result<Vec<NotificationRecord>, StoreError> {
        self.read(move |db| {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT * FROM provider_notifications WHERE ? IS NULL OR provider = ?
             ORDER BY received_at_ms, rowid",
                )
                .bind(provider.map(Provider::as_str))
                .bind(provider.map(Provider::as_str))
                .fetch_all(&mut *db)
                .await
                .map_err(other)?;
                rows.iter().map(Self::notification_from_row).collect()
            })
        })
        .await
    }

    async fn refused_record(
        &self,
        counts: Vec<RefusedCount>,
        samples: Vec<RefusedSample>,
        keep: u32,
    ) -> Result<(), StoreError> {
        // The normal lane: a forger's tally never goes before a payment's update.
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move { refused::record(&mut *db, &counts, &samples, keep).await })
            })
            .await
    }

    async fn refused_counts(&self) -> Result<Vec<RefusedCount>, StoreError> {
        self.read(|db| Box::pin(async move { refused::counts(&mut *db).await })).await
    }

    async fn refused_samples(&self, provider: Provider) -> Result<Vec<RefusedSample>, StoreError> {
        self.read(move |db| Box::pin(async move { refused::samples(&mut *db, provider).await })).await
    }

    async fn purge_refused_samples(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move { refused::purge_samples(&mut *db, before_ms).await })
            })
            .await
    }

    async fn purge_notification_bodies(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move { refused::purge_bodies(&mut *db, before_ms, limit).await })
            })
            .await
    }

    async fn migrations_pending(&self) -> Result<usize, StoreError> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success = 1";
        let applied: Vec<i64> = match &self.file {
            Some(options) => {
                // Read-only, never created: a missing file is an error, not a new database.
                let options = options.clone().read_only(true).create_if_missing(false);
                let mut conn = SqliteConnection::connect_with(&options).await.map_err(other)?;
                let applied = sqlx::query_scalar::<_, i64>(APPLIED).fetch_all(&mut conn).await.map_err(other);
                let _ = conn.close().await;
                applied?
            }
            None => {
                self.read(|db| {
                    Box::pin(
                        async move { sqlx::query_scalar(APPLIED).fetch_all(&mut *db).await.map_err(other) },
                    )
                })
                .await?
            }
        };
        let known = sqlx::migrate!("./migrations/sqlite").iter().map(|m| m.version).collect::<Vec<_>>();
        Ok(super::pending_migrations(known, &applied))
    }

    async fn deliveries_pending(&self) -> Result<u64, StoreError> {
        let pending: i64 = self
            .read(|db| {
                Box::pin(async move {
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
                        .fetch_one(&mut *db)
                        .await
                        .map_err(other)
                })
            })
            .await?;
        Ok(u64::try_from(pending).unwrap_or(0))
    }

    async fn poll_no_later_than(&self, attempt_id: &str, at_ms: i64) -> Result<(), StoreError> {
        let attempt_id = attempt_id.to_owned();
        self.writer
            .run(Lane::Urgent, move |db| {
                Box::pin(async move {
                    let attempt_id = attempt_id.as_str();
                    sqlx::query("UPDATE attempts SET next_poll_at_ms = MIN(next_poll_at_ms, ?) WHERE id = ?")
                        .bind(at_ms)
                        .bind(attempt_id)
                        .execute(&mut *db)
                        .await
                        .map_err(other)?;
                    Ok(())
                })
            })
            .await
    }

    async fn merchant_key_insert(&self, k: &MerchantKeyRecord) -> Result<(), StoreError> {
        let k = k.clone();
        self.writer
            .run(Lane::Normal, move |db| Box::pin(async move { keys::insert(&mut *db, &k).await }))
            .await
    }

    async fn merchant_key_revoke(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.writer
            .run(Lane::Normal, move |db| Box::pin(async move { keys::revoke(&mut *db, &id, now).await }))
            .await
    }

    async fn merchant_keys(&self) -> Result<Vec<MerchantKeyRecord>, StoreError> {
        self.read(move |db| Box::pin(async move { keys::all(&mut *db).await })).await
    }

    async fn merchant_key_active(
        &self,
        hash: &str,
        mode: crate::config::Mode,
    ) -> Result<Option<MerchantKeyRecord>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |db| Box::pin(async move { keys::active(&mut *db, &hash, mode).await })).await
    }

    async fn refund(&self, refund_id: &str) -> Result<Option<RefundRecord>, StoreError> {
        let refund_id = refund_id.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT r.*, c.currency AS checkout_currency FROM refunds r JOIN checkouts c ON c.id = r.checkout_id
                     WHERE r.id = ?",
                )
                .bind(&refund_id)
                .fetch_optional(&mut *db)
                .await
                .map_err(other)?;
                row.map(|r| {
                    let code: String = r.get("checkout_currency");
                    let currency = Currency::parse(&code).map_err(|_| corrupt("currency", &code))?;
                    Self::refund_from_row(&r, currency)
                })
                .transpose()
            })
        })
        .await
    }

    async fn due_refunds(&self, now_ms: i64, limit: u32) -> Result<Vec<(RefundRecord, u32)>, StoreError> {
        let due = self
            .read(move |db| Box::pin(async move { keys::due_refunds(&mut *db, now_ms, limit).await }))
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for (id, checks) in due {
            if let Some(r) = self.refund(&id).await? {
                out.push((r, checks));
            }
        }
        Ok(out)
    }

    async fn schedule_refund_check(
        &self,
        refund_id: &str,
        seen_checks: Option<u32>,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let refund_id = refund_id.to_owned();
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    keys::schedule_refund_check(&mut *db, &refund_id, seen_checks, next_at_ms).await
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    //! What is SQLite's own: migrations of old files, `ANALYZE` samples, query plans. The
    //! store's behaviours are tested on every backend by `store::contract`.

    use super::*;
    use crate::store::{Clock, ListCursor};

    fn now_secs() -> i64 {
        SystemClock.now_secs()
    }

    async fn store() -> SqliteStore {
        SqliteStore::connect("sqlite::memory:").await.unwrap()
    }

    fn checkout(id: &str, reference: &str) -> CheckoutRecord {
        CheckoutRecord {
            id: id.into(),
            reference: reference.into(),
            money: Money::new(5000, Currency::Xof).unwrap(),
            country: Country::Ci,
            description: None,
            return_url: None,
            customer: None,
            status: CheckoutStatus::Open,
            livemode: false,
            client_secret_hash: "h".into(),
            created_at: now_secs(),
            expires_at: now_secs() + 600,
        }
    }

    #[tokio::test]
    async fn the_rebuilt_attempts_table_keeps_its_rows_and_references() {
        // A database made before migration 0008, with an attempt referenced by a refund and a
        // history line, is migrated with its rows and references intact.
        let dir = std::env::temp_dir().join(format!("verifier-0008-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        {
            let opts =
                SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
            let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
            let mut before = sqlx::migrate!("./migrations/sqlite");
            before.migrations = before.migrations.iter().filter(|m| m.version < 8).cloned().collect();
            before.run(&pool).await.unwrap();
            sqlx::raw_sql(
                "INSERT INTO checkouts (id, reference, amount, currency, country, status, client_secret_hash,
                     created_at, expires_at, updated_at) VALUES ('co_1','o',5000,'XOF','CI','succeeded','h',0,600,0);
                 INSERT INTO attempts (id, checkout_id, provider, method, phone, status, failure, idempotency_key,
                     provider_reference, payment_url, next_poll_at_ms, created_at, updated_at)
                     VALUES ('at_1','co_1','nova_send','mobile_money',NULL,'succeeded',NULL,'k1',NULL,NULL,0,0,0);
                 INSERT INTO refunds (id, checkout_id, attempt_id, amount, status, created_at, updated_at)
                     VALUES ('rf_1','co_1','at_1',100,'pending',0,0);
                 INSERT INTO status_changes (checkout_id, attempt_id, from_status, to_status, cause, created_at)
                     VALUES ('co_1','at_1',NULL,'succeeded','poll:nova_send',0);",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let s = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(s.attempt("at_1").await.unwrap().unwrap().status, AttemptStatus::Succeeded);
        assert_eq!(s.refunds("co_1").await.unwrap()[0].attempt_id, "at_1");
        assert_eq!(s.history("co_1").await.unwrap()[0].attempt_id.as_deref(), Some("at_1"));
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database file of its own under the system's temporary directory, removed on drop.
    struct TempDb(std::path::PathBuf);

    impl TempDb {
        fn new(name: &str) -> TempDb {
            let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
            TempDb(std::env::temp_dir().join(format!("verifier-{name}-{}-{nanos}.db", std::process::id())))
        }

        fn url(&self) -> String {
            format!("sqlite://{}", self.0.display())
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    #[tokio::test]
    async fn migration_0011_counts_the_old_refused_rows_keeps_a_masked_sample_and_deletes_the_rest() {
        let db = TempDb::new("migration-0011");
        // The database as a verifier before 0011 left it: 150 refused rows, one processed.
        {
            let options = SqliteConnectOptions::from_str(&db.url()).unwrap().create_if_missing(true);
            let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
            let mut before = sqlx::migrate!("./migrations/sqlite");
            before.migrations = std::borrow::Cow::Owned(
                before.migrations.iter().filter(|m| m.version <= 10).cloned().collect(),
            );
            before.run(&mut conn).await.unwrap();
            for i in 0..150i64 {
                sqlx::query(
                    "INSERT INTO provider_notifications (id, provider, verified, state, reference, body,
                         received_at_ms) VALUES (?, 'nova_send', 0, 'refused', ?, ?, ?)",
                )
                .bind(format!("wh_r{i}"))
                .bind(format!("ref-{i}"))
                .bind(format!(r#"{{"msisdn":"2250707123456","pad":"{}"}}"#, "x".repeat(5_000)))
                .bind(1_000 + i)
                .execute(&mut conn)
                .await
                .unwrap();
            }
            sqlx::query(
                "INSERT INTO provider_notifications (id, provider, dedup_key, verified, state, body,
                     received_at_ms) VALUES ('wh_ok', 'nova_send', 'k', 1, 'processed', '{}', 5)",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
        }
        let s = SqliteStore::connect(&db.url()).await.unwrap();
        let counts = s.refused_counts().await.unwrap();
        assert_eq!(
            counts,
            vec![RefusedCount {
                provider: Provider::NovaSend,
                refused: 150,
                first_at_ms: 1_000,
                last_at_ms: 1_149
            }]
        );
        let samples = s.refused_samples(Provider::NovaSend).await.unwrap();
        assert_eq!(samples.len(), 100);
        assert_eq!(samples[0].reference.as_deref(), Some("ref-50"));
        for sample in &samples {
            assert!(sample.body.len() <= 4_096, "{}", sample.body.len());
            assert!(sample.body.contains("+225 07 •• •• •• 56"), "{}", &sample.body[..40]);
            assert!(!sample.body.contains("2250707123456"));
        }
        let left: Vec<String> = s.notifications(None).await.unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(left, vec!["wh_ok".to_owned()]);
    }

    #[tokio::test]
    async fn analyze_samples_that_would_re_prepare_every_read_are_dropped_at_start() {
        let dir = std::env::temp_dir().join(format!("verifier-stat4-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let s = SqliteStore::connect(&url).await.unwrap();
        s.insert_checkout(&checkout("co_1", "o-1"), &Cause::Api("create")).await.unwrap();
        // An operator's ANALYZE (SQLite's STAT4 build writes sqlite_stat4 too).
        let tables = |s: SqliteStore| async move {
            s.read(|db| {
                Box::pin(async move {
                    sqlx::query_scalar::<_, String>(
                        "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%' ORDER BY name",
                    )
                    .fetch_all(&mut *db)
                    .await
                    .map_err(other)
                })
            })
            .await
            .unwrap()
        };
        s.writer
            .run(Lane::Normal, |db| {
                Box::pin(
                    async move { sqlx::query("ANALYZE").execute(&mut *db).await.map(|_| ()).map_err(other) },
                )
            })
            .await
            .unwrap();
        assert_eq!(tables(s.clone()).await, ["sqlite_stat1", "sqlite_stat4"]);
        drop(s);
        let s = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(tables(s.clone()).await, ["sqlite_stat1"]);
        assert_eq!(s.checkout("co_1").await.unwrap().unwrap().reference, "o-1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every SQL statement the store's code holds, read from its own source files: a new query
    /// is checked without anyone listing it.
    fn store_queries() -> Vec<String> {
        let sources = [
            include_str!("sqlite.rs"),
            include_str!("sqlite/outbox.rs"),
            include_str!("sqlite/overview.rs"),
            include_str!("sqlite/idempotency.rs"),
            include_str!("sqlite/keys.rs"),
            include_str!("sqlite/refused.rs"),
            include_str!("sqlite/persist.rs"),
            include_str!("provider_keys.rs"),
        ];
        let mut queries = Vec::new();
        for source in sources {
            // Up to this test module: the statements the tests write are not the store's.
            let code = source.split("#[cfg(test)]").next().unwrap_or(source);
            for literal in code.split('"').skip(1).step_by(2) {
                // The events' common head is run only with a `WHERE`, which is checked.
                if literal == outbox::EVENT_SELECT {
                    continue;
                }
                // The list's head is run only with its filters and order, checked by
                // `every_checkout_list_filter_reads_through_an_index`.
                if literal == LIST_SELECT {
                    continue;
                }
                let sql = literal.replace("{EVENT_SELECT}", outbox::EVENT_SELECT);
                let head = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                if ["SELECT", "UPDATE", "DELETE", "INSERT"].contains(&head.as_str()) {
                    queries.push(sql);
                }
            }
        }
        queries
    }

    /// Whether a `SEARCH … USING … INDEX i (a=? AND …)` constrains only columns of a few
    /// distinct values (a provider, a state): a search that still reads a large share of the
    /// table as it grows.
    fn searches_few_values(detail: &str) -> bool {
        const FEW: [&str; 7] = ["provider", "status", "state", "method", "livemode", "verified", "type"];
        let Some(constraints) = detail
            .strip_prefix("SEARCH ")
            .and_then(|d| d.split_once(" ("))
            .map(|(_, c)| c.trim_end_matches(')'))
        else {
            return false;
        };
        constraints
            .split(" AND ")
            .all(|c| FEW.contains(&c.split(['=', '<', '>']).next().unwrap_or("").trim()))
    }

    #[test]
    fn a_search_by_provider_alone_counts_as_a_scan() {
        assert!(searches_few_values("SEARCH attempts USING INDEX attempts_provider_reference (provider=?)"));
        assert!(!searches_few_values(
            "SEARCH attempts USING INDEX attempts_provider_reference (provider=? AND provider_reference=?)"
        ));
        assert!(!searches_few_values("SEARCH c USING INDEX sqlite_autoindex_checkouts_1 (id=?)"));
        assert!(!searches_few_values("SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"));
        assert!(searches_few_values("SEARCH checkouts USING INDEX checkouts_open_expiry (status=?)"));
    }

    /// The list's statement is built per filter ([`list_query`]), so `every_hot_query_uses_an_index`
    /// does not see it: each filter's plan is checked here. None reads the checkouts other
    /// than through an index, and the ones without a selective equality (a reference, a phone)
    /// read them in the list's order, so that a page stops after its rows instead of sorting
    /// every checkout; the attempts are always searched by index.
    #[tokio::test]
    async fn every_checkout_list_filter_reads_through_an_index() {
        let cursor = || Some(ListCursor { created_at: 1, id: "co_1".into() });
        let q = CheckoutQuery::default;
        let queries = [
            (q(), true),
            (CheckoutQuery { after: cursor(), ..q() }, true),
            (CheckoutQuery { status: Some(CheckoutStatus::Succeeded), ..q() }, true),
            (CheckoutQuery { status: Some(CheckoutStatus::Open), after: cursor(), ..q() }, true),
            (CheckoutQuery { created_from: Some(1), created_before: Some(2), ..q() }, true),
            (CheckoutQuery { provider: Some(Provider::NovaSend), ..q() }, true),
            (CheckoutQuery { method: Some(PaymentMethod::Card), after: cursor(), ..q() }, true),
            (CheckoutQuery { livemode: Some(true), ..q() }, true),
            (CheckoutQuery { reference: Some("r".into()), ..q() }, false),
            (CheckoutQuery { phone: Some("+2250700000001".into()), ..q() }, false),
            (
                CheckoutQuery {
                    status: Some(CheckoutStatus::Succeeded),
                    provider: Some(Provider::NovaSend),
                    method: Some(PaymentMethod::MobileMoney),
                    phone: Some("+2250700000001".into()),
                    created_from: Some(1),
                    after: cursor(),
                    ..q()
                },
                false,
            ),
        ];
        let s = store().await;
        let plans = s
            .read(move |db| {
                Box::pin(async move {
                    let mut plans = Vec::new();
                    for (query, in_order) in queries {
                        let sql = list_query(&query).sql().to_owned();
                        let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                            .fetch_all(&mut *db)
                            .await
                            .map_err(|e| StoreError::Other(anyhow::anyhow!("{sql}: {e}")))?
                            .iter()
                            .map(|row| row.get::<String, _>("detail"))
                            .collect();
                        plans.push((query, in_order, plan));
                    }
                    Ok(plans)
                })
            })
            .await
            .unwrap();
        for (query, in_order, plan) in plans {
            let text = plan.join("\n");
            for line in &plan {
                // `SCAN c USING INDEX checkouts_created` walks the list's order and stops at
                // the limit; a bare `SCAN` reads a whole table.
                let scan = line.starts_with("SCAN ") && !line.contains(" INDEX checkouts_");
                assert!(!scan, "{query:?} reads a whole table:\n{text}");
            }
            if in_order {
                assert!(!text.contains("TEMP B-TREE FOR ORDER BY"), "{query:?} sorts every row:\n{text}");
            }
        }
    }

    #[tokio::test]
    async fn every_hot_query_uses_an_index() {
        // Reading a whole table is allowed only here, each with its reason.
        let cold = [
            // The list of every stored notification: an operator's or a test's, never a request's.
            "SELECT * FROM provider_notifications WHERE ? IS NULL OR provider = ? ORDER BY received_at_ms, rowid",
            // Every merchant key: `verifier keys list`, an operator's command (a few rows).
            "SELECT * FROM merchant_keys ORDER BY created_at, rowid",
            // Refused-notice samples of one provider: trimmed to `[retention]
            // refused_samples_per_provider` at each write, so a provider's rows are that many.
            "SELECT id FROM refused_notice_samples WHERE provider = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            "SELECT reference, reason, body, received_at_ms FROM refused_notice_samples WHERE provider = ? ORDER BY id",
            // Every provider's refused count: one row per provider (a handful), an operator's read.
            "SELECT provider, refused, first_at_ms, last_at_ms FROM refused_notice_counts",
            // The schema (a few dozen rows), read once at start.
            "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat4'",
            // The applied migrations (a few dozen rows), read by `/readyz`.
            "SELECT version FROM _sqlx_migrations WHERE success = 1",
        ];
        let s = store().await;
        let found = s
            .read(move |db| {
                Box::pin(async move {
                    let partial: Vec<String> = sqlx::query_scalar(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'",
                    )
                    .fetch_all(&mut *db)
                    .await
                    .map_err(other)?;
                    let mut scans = Vec::new();
                    let queries = store_queries();
                    assert!(queries.len() > 40, "only {} queries found in the store's source", queries.len());
                    for sql in queries {
                        let plan = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                            .fetch_all(&mut *db)
                            .await
                            .map_err(|e| StoreError::Other(anyhow::anyhow!("{sql}: {e}")))?;
                        for row in plan {
                            let detail: String = row.get("detail");
                            // `SCAN t` reads every row; `SCAN t USING INDEX i` too, unless `i` is
                            // partial (it holds only the rows the query wants).
                            let partial_index = partial.iter().any(|i| {
                                detail.ends_with(&format!("INDEX {i}"))
                                    || detail.contains(&format!("INDEX {i} ("))
                            });
                            let full = !partial_index
                                && (detail.starts_with("SCAN ") || searches_few_values(&detail));
                            if full && !cold.iter().any(|c| sql.split_whitespace().eq(c.split_whitespace())) {
                                scans.push(format!(
                                    "{detail}\n    in: {}",
                                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                                ));
                            }
                        }
                    }
                    Ok(scans)
                })
            })
            .await
            .unwrap();
        assert!(found.is_empty(), "queries that read a whole table:\n{}", found.join("\n"));
    }
}

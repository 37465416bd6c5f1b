//! Persistence behind one interface ([`Store`]), so that a PostgreSQL backend can join the
//! SQLite one.
//!
//! The rules live in [`plan`], apart from any database: which moves a change makes (through
//! [`shared::status`]), the history rows, the merchant events and their exact payloads, the
//! refund allowance, the inbox's deduplication, idempotency take-over and the attempt limits.
//! A backend reads the rows a change depends on, plans, and writes the plan in one
//! transaction, conditionally on the state it planned from (see [`Store`]'s contract): a stale
//! or repeated update changes nothing. Time comes from an injected [`Clock`].

use async_trait::async_trait;
pub use shared::api::Reported;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Money,
    phone::Country,
    status::{AttemptStatus, CheckoutStatus, RefundStatus},
};

pub mod clock;
pub mod overview;
pub mod plan;
pub mod postgres;
pub mod provider_keys;
pub mod query;
pub mod sqlite;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use query::{CheckoutQuery, ListCursor};

/// Which backend a `database_url` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path/to/file.db` or `sqlite::memory:` (the default): [`sqlite::SqliteStore`].
    Sqlite,
    /// `postgres://…` or `postgresql://…`: [`postgres::PgStore`].
    Postgres,
}

impl Backend {
    /// The backend of `url` by its scheme; another scheme is a configuration error.
    pub fn of(url: &str) -> anyhow::Result<Backend> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme).to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => anyhow::bail!(
                "database_url must start with sqlite:// (the default) or postgres:// (a URL of scheme {scheme:?} was given)"
            ),
        }
    }
}

/// Opens the store `url` names (see [`Backend::of`]), applying its migrations; the store reads
/// the time from `clock`.
pub async fn open(url: &str, clock: SharedClock) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    Ok(open_with_provider_keys(url, clock).await?.0)
}

/// [`open`], with the same database's [`provider_keys::ProviderKeys`] (the keys providers hand
/// out at run time, shared by every instance on that database).
pub async fn open_with_provider_keys(
    url: &str,
    clock: SharedClock,
) -> anyhow::Result<(std::sync::Arc<dyn Store>, std::sync::Arc<dyn provider_keys::ProviderKeys>)> {
    use std::sync::Arc;
    Ok(match Backend::of(url)? {
        Backend::Sqlite => {
            let s = sqlite::SqliteStore::connect_with_clock(url, clock).await?;
            (Arc::new(s.clone()), Arc::new(s))
        }
        Backend::Postgres => {
            let s = postgres::PgStore::connect(url, clock).await?;
            let keys = provider_keys::postgres::PgProviderKeys::new(s.pool().clone());
            (Arc::new(s), Arc::new(keys))
        }
    })
}

/// Applies the migrations of the database `url` names, and nothing else (`verifier migrate`).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    match Backend::of(url)? {
        // Opening the SQLite store applies them; the store is closed at once.
        Backend::Sqlite => drop(sqlite::SqliteStore::connect(url).await?),
        Backend::Postgres => postgres::PgStore::migrate_only(url).await?,
    }
    Ok(())
}

#[cfg(test)]
mod contract;

/// When the reconciler first follows up a refund left pending by a request that did not end
/// it: far longer than any provider call (30 s at most).
pub const REFUND_FIRST_CHECK_MS: i64 = 60_000;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state rule refused the write; the text says which.
    #[error("{0}")]
    Conflict(String),
    /// A payment rule refused the write (refund not allowed, amount too large).
    #[error("refused: {0:?}")]
    Rule(ErrorCode),
    /// Anything else (I/O, corruption): a server fault.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StoreError {
    /// The state a planned change was decided from no longer holds ([`plan::Stale`]): a
    /// conditional write touched no row. A store returns it from inside its transaction (so
    /// that the transaction's writes are undone), then reads and plans again.
    pub fn stale() -> StoreError {
        StoreError::Other(anyhow::Error::new(plan::Stale))
    }

    /// Whether this is [`StoreError::stale`].
    pub fn is_stale(&self) -> bool {
        matches!(self, StoreError::Other(e) if e.is::<plan::Stale>())
    }
}

/// Limits on new payment attempts (`[limits]`, [`crate::config::LimitSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Attempts one checkout may have, whatever their outcome.
    pub per_checkout: u32,
    /// Attempts of a method that needs a one-time code, failed on a refused code, after which
    /// that method is refused for the checkout.
    pub otp_failures_per_checkout: u32,
    /// Attempts to one phone number, across checkouts, within `phone_window_secs`.
    pub per_phone: u32,
    /// The window of `per_phone`, in seconds.
    pub phone_window_secs: i64,
}

impl From<&crate::config::LimitSettings> for AttemptLimits {
    fn from(s: &crate::config::LimitSettings) -> Self {
        AttemptLimits {
            per_checkout: s.attempts_per_checkout,
            otp_failures_per_checkout: s.otp_failures_per_checkout,
            per_phone: s.requests_per_phone,
            phone_window_secs: i64::try_from(s.phone_window_seconds).unwrap_or(i64::MAX),
        }
    }
}

/// Which [`AttemptLimits`] refused a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    /// The checkout had `per_checkout` attempts.
    CheckoutAttempts,
    /// The checkout had `otp_failures_per_checkout` refused one-time codes with this method.
    OtpFailures,
    /// The phone number had `per_phone` attempts within the window; the oldest leaves it in
    /// `retry_after_secs` (at least 1).
    PhoneRequests {
        /// Seconds until a new attempt to this number is accepted.
        retry_after_secs: i64,
    },
}

/// A checkout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRecord {
    /// `co_…`.
    pub id: String,
    /// The merchant's order reference, unique.
    pub reference: String,
    /// What is charged; set by the merchant's backend, never by the browser.
    pub money: Money,
    /// Country of nationally typed numbers.
    pub country: Country,
    /// What is being paid.
    pub description: Option<String>,
    /// The merchant's page customers come back to from a provider's page.
    pub return_url: Option<String>,
    /// The paying customer's details, when the merchant gave them.
    pub customer: Option<shared::api::Customer>,
    /// Current state.
    pub status: CheckoutStatus,
    /// Whether a live-mode verifier created it (real money); only a verifier of the same
    /// mode may pay or refund it.
    pub livemode: bool,
    /// SHA-256 of the client secret.
    pub client_secret_hash: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; no attempt starts after this.
    pub expires_at: i64,
}

/// A payment attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// `at_…`.
    pub id: String,
    /// Its checkout.
    pub checkout_id: String,
    /// The provider carrying it.
    pub provider: Provider,
    /// The method chosen.
    pub method: PaymentMethod,
    /// E.164.
    pub phone: Option<String>,
    /// Current state.
    pub status: AttemptStatus,
    /// Why it failed.
    pub failure: Option<ErrorCode>,
    /// Our reference and idempotency key with the provider (a UUID), fixed at creation so
    /// that every retry of the provider call carries the same one.
    pub idempotency_key: String,
    /// The provider's own reference, once known.
    pub provider_reference: Option<String>,
    /// Where the customer confirms, when the provider gives a page.
    pub payment_url: Option<String>,
    /// What the provider reported about the money with the update that set the current state,
    /// if it reported anything (for an attempt in review: what did not match).
    pub reported: Option<Reported>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: when it entered its current state (for a final state, when it ended).
    pub updated_at: i64,
}

/// What a provider said about an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptUpdate {
    /// The state it reports.
    pub status: AttemptStatus,
    /// The failure, when it reports one.
    pub failure: Option<ErrorCode>,
    /// Its reference, if it gave one.
    pub provider_reference: Option<String>,
    /// Its confirmation page, if it gave one.
    pub payment_url: Option<String>,
    /// The amount, currency and our reference as the provider's message gave them (empty when
    /// it gave none): a success counts only when they are the attempt's
    /// ([`crate::checkouts::check_reported`]).
    pub reported: Reported,
}

impl AttemptUpdate {
    /// An update with nothing reported about the money (failures, pending states).
    pub fn new(status: AttemptStatus, failure: Option<ErrorCode>) -> AttemptUpdate {
        AttemptUpdate {
            status,
            failure,
            provider_reference: None,
            payment_url: None,
            reported: Reported::default(),
        }
    }
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// `rf_…`, also the provider idempotency key.
    pub id: String,
    /// The refunded checkout.
    pub checkout_id: String,
    /// The paid attempt it refunds.
    pub attempt_id: String,
    /// How much goes back (the checkout's currency).
    pub amount: Money,
    /// Current state.
    pub status: RefundStatus,
    /// The merchant's reason.
    pub reason: Option<String>,
    /// Why it failed.
    pub failure: Option<ErrorCode>,
    /// The provider's reference.
    pub provider_reference: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A merchant API key as stored: never the key, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantKeyRecord {
    /// `mkey_…`, what `verifier keys revoke` takes.
    pub id: String,
    /// The mode whose prefix the key carries.
    pub mode: crate::config::Mode,
    /// The key's last four characters.
    pub hint: String,
    /// Hex SHA-256 of the key.
    pub hash: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
}

/// Why a state changed: stored next to every change, readable as the checkout's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A merchant or public API call (`create`, `pay`, …).
    Api(&'static str),
    /// A verified provider notification, by its inbox id (`wh_…`).
    Webhook(Provider, String),
    /// A status fetched from the provider.
    Poll(Provider),
    /// The provider's answer to the call that started the attempt.
    ProviderResponse(Provider),
    /// The checkout's deadline passed.
    Expiry,
    /// A payment started on the provider the router chose ([`crate::routing`]), and why.
    Routed(Provider, String),
}

impl Cause {
    /// The stored form, e.g. `webhook:nova_send:wh_…` or `poll:nova_send`.
    pub fn to_text(&self) -> String {
        match self {
            Cause::Api(what) => format!("api:{what}"),
            Cause::Webhook(p, id) => format!("webhook:{}:{id}", p.as_str()),
            Cause::Poll(p) => format!("poll:{}", p.as_str()),
            Cause::ProviderResponse(p) => format!("provider_response:{}", p.as_str()),
            Cause::Expiry => "expiry".to_owned(),
            Cause::Routed(p, why) => format!("api:pay:route:{}:{why}", p.as_str()),
        }
    }
}

/// What an update changed (nothing, when it was stale or repeated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The attempt's move, if it moved.
    pub attempt: Option<(AttemptStatus, AttemptStatus)>,
    /// The checkout's move, if it moved.
    pub checkout: Option<(CheckoutStatus, CheckoutStatus)>,
}

impl Applied {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.attempt.is_some() || self.checkout.is_some()
    }
}

/// One line of a checkout's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// Unix seconds.
    pub at: i64,
    /// The attempt, for attempt changes.
    pub attempt_id: Option<String>,
    /// Previous state (none at creation).
    pub from: Option<String>,
    /// New state.
    pub to: String,
    /// [`Cause::to_text`].
    pub cause: String,
}

/// An event for the merchant's webhook endpoint, with its delivery, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// `evt_…`, stable: the `webhook-id` of every delivery.
    pub id: String,
    /// What happened.
    pub kind: shared::api::EventType,
    /// The checkout it is about.
    pub checkout_id: String,
    /// The exact JSON body sent (a [`shared::api::WebhookEvent`]).
    pub payload: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Where its delivery stands.
    pub state: shared::api::DeliveryState,
    /// Sends tried.
    pub attempts: u32,
    /// When the next send is due (unix ms).
    pub next_attempt_at_ms: i64,
    /// The endpoint's last HTTP status.
    pub last_status: Option<u16>,
    /// The last transport error.
    pub last_error: Option<String>,
}

/// A delivery claimed by one dispatcher for one send: no other claim is given until
/// the lease ends or the send is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The event, whose id is the `webhook-id`.
    pub event_id: String,
    /// The body to send.
    pub payload: String,
    /// Sends tried before this one.
    pub attempts: u32,
    /// The claim's token; recording the result needs it.
    pub claim: String,
}

/// What one send of a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The endpoint answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// Not accepted; send again at `at_ms`.
    Retry {
        /// When (unix ms).
        at_ms: i64,
        /// The endpoint's status, if it answered.
        status: Option<u16>,
        /// The transport error, if it did not.
        error: Option<String>,
    },
    /// Not accepted, and the retries are exhausted.
    Failed {
        /// The endpoint's status, if it answered.
        status: Option<u16>,
        /// The transport error, if it did not.
        error: Option<String>,
    },
}

/// What reserving an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is ours: run the request, then store or release its response.
    Started,
    /// Another request with this key is running.
    InProgress,
    /// A request with this key started long ago and never answered (the process died):
    /// returned only when the caller did not allow taking it over.
    Interrupted,
    /// The request already ran: its stored response.
    Done {
        /// HTTP status.
        status: u16,
        /// The response body.
        body: Vec<u8>,
    },
    /// The key was used for another method, path or body.
    Mismatch,
}

/// The verifier's persistence, and what each method guarantees to concurrent callers (other
/// tasks, other instances on one database).
///
/// **The common contract.** Every method that writes is one transaction: a caller, or a
/// concurrent reader, sees all of its writes or none (a state change, its history rows, its
/// merchant events and their deliveries, the notification it marks processed). The decisions
/// (which moves, events, payloads, history, refund allowance, deduplication, idempotency
/// take-over, limits) are made by [`plan`] from the rows the method read in that transaction,
/// and written only while those rows still hold: a move is `UPDATE … WHERE id = ? AND status
/// = <the state decided from>` with its rows affected checked; when it fails the transaction
/// is undone and the method reads and plans again (at most [`plan::REPLANS`] times, then
/// [`StoreError::stale`]). Hence, whatever the interleaving: a state never moves backwards
/// nor against [`shared::status`]; a change is recorded (history, event) exactly once, by the
/// caller whose write moved it; a repeated or stale update reports [`Applied::default`]
/// ("unchanged") and writes no state. Reads are one statement or one snapshot as stated.
/// Times written come from the store's [`Clock`] unless a method takes them.
///
/// Sections: checkouts and attempts; polling; refunds; outbox; idempotency; inbox; keys;
/// refused notifications.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ---- Checkouts and attempts ----

    /// Stores a new checkout with its first history row, atomically; a duplicate merchant
    /// reference (or id) is [`StoreError::Conflict`] and writes nothing (of two concurrent
    /// inserts with one reference, exactly one succeeds).
    async fn insert_checkout(&self, c: &CheckoutRecord, cause: &Cause) -> Result<(), StoreError>;
    /// Reads a checkout.
    async fn checkout(&self, id: &str) -> Result<Option<CheckoutRecord>, StoreError>;
    /// A checkout and its attempts (oldest first) as of one instant: what a reader shows can
    /// never pair a checkout's old state with an attempt's new one.
    async fn checkout_with_attempts(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Vec<AttemptRecord>)>, StoreError>;
    /// A checkout and its latest attempt, in one read (what the widget polls).
    async fn checkout_with_latest_attempt(
        &self,
        id: &str,
    ) -> Result<Option<(CheckoutRecord, Option<AttemptRecord>)>, StoreError>;
    /// A page of checkouts for the merchant's list (`GET /v1/checkouts`, the dashboard), newest first.
    ///
    /// Every filter of `q` holds for each row ([`CheckoutQuery`]); ordered `created_at DESC,
    /// id DESC`, after `q.after` when given, at most [`CheckoutQuery::clamped_limit`] rows; each
    /// with the checkout's latest attempt, as [`Store::checkout_with_latest_attempt`] pairs
    /// them. One statement: one snapshot.
    async fn list_checkouts(
        &self,
        q: &CheckoutQuery,
    ) -> Result<Vec<(CheckoutRecord, Option<AttemptRecord>)>, StoreError>;
    /// A checkout's attempts, oldest first.
    async fn attempts(&self, checkout_id: &str) -> Result<Vec<AttemptRecord>, StoreError>;
    /// Reads an attempt.
    async fn attempt(&self, id: &str) -> Result<Option<AttemptRecord>, StoreError>;
    /// Finds an attempt by our reference (idempotency key) or the provider's.
    async fn attempt_by_reference(
        &self,
        provider: Provider,
        reference: &str,
    ) -> Result<Option<AttemptRecord>, StoreError>;
    /// Records a new attempt and moves its checkout to processing, with their history rows,
    /// atomically ([`plan::attempt_start`]). Refused as [`StoreError::Conflict`] (nothing
    /// written) when the checkout does not exist, cannot become processing, or already has a
    /// live attempt: of concurrent starts on one open checkout exactly one succeeds.
    /// `first_poll_at_ms` is when the reconciler first asks the provider about it.
    async fn start_attempt(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
    ) -> Result<(), StoreError>;
    /// [`Store::start_attempt`] within `limits`, counted in the same transaction as the insert
    /// ([`plan::check_limits`] on what it counted; serialised with other starts, so they hold
    /// with several instances on one database): `Ok(Err(_))` says which limit refused, and
    /// nothing was written.
    async fn start_attempt_limited(
        &self,
        a: &AttemptRecord,
        first_poll_at_ms: i64,
        cause: &Cause,
        limits: &AttemptLimits,
    ) -> Result<Result<(), LimitReached>, StoreError>;
    /// Applies what a provider said ([`plan::attempt_update`]): in one transaction, the
    /// attempt's move, its checkout's, their history rows and merchant events, the first
    /// reference and payment link given (never overwritten), and, when the cause is a stored
    /// notification ([`Cause::Webhook`]), that notification marked processed (`applied` or
    /// `unchanged`; only if still `received`). Planned from the attempt's and the checkout's
    /// states read in the transaction and written only while both still hold, else planned
    /// again: N concurrent updates of one attempt never move it backwards (a late `failed`
    /// never undoes `succeeded`), each change is recorded once, and the returned [`Applied`]
    /// is what this call changed (empty: unchanged). [`StoreError::Conflict`] for an unknown
    /// attempt.
    async fn update_attempt(
        &self,
        attempt_id: &str,
        update: &AttemptUpdate,
        cause: &Cause,
    ) -> Result<Applied, StoreError>;
    // ---- Polling ----

    /// Pending attempts whose next status fetch is due at `now_ms` (unix ms), soonest first,
    /// each with how many fetches it has had; with them, the attempts the customer cancelled
    /// (`failed`, `CUSTOMER_CANCELLED`) less than [`plan::CANCELLED_POLL_WINDOW_S`] before
    /// `now_ms`, whose provider may still confirm them. A read: to fetch one, a poller must win
    /// [`Store::claim_poll`].
    async fn due_attempts(&self, now_ms: i64, limit: u32) -> Result<Vec<(AttemptRecord, u32)>, StoreError>;
    /// Counts one more fetch of an attempt and sets when the next is due, if it has had exactly
    /// `polls_seen` (compare-and-set: `false` when someone else counted it first, and the fetch
    /// is theirs).
    async fn claim_poll(
        &self,
        attempt_id: &str,
        polls_seen: u32,
        next_at_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Expires open checkouts whose deadline is at or before `now` (unix seconds), each with
    /// its history row and `checkout.expired` event ([`plan::expiry`]), in one transaction;
    /// returns the ids this call expired. Each move is conditional on the checkout still being
    /// open: a checkout a payment started on meanwhile is skipped, and of concurrent callers
    /// exactly one expires (and reports) a given checkout.
    async fn expire_checkouts(&self, now: i64) -> Result<Vec<String>, StoreError>;
    /// The merchant's cancellation of checkout `id` ([`plan::merchant_cancel`]: only an open
    /// checkout): its move to cancelled, history row and `checkout.cancelled` event, in one
    /// transaction, conditional on the checkout still open (serialised with the start of an
    /// attempt: of a cancellation and a payment at once, exactly one happens). Returns the
    /// checkout as it is after the call and whether this call cancelled it (`false`: it was
    /// not open, e.g. cancelled before); `None` when there is no such checkout.
    async fn cancel_checkout(
        &self,
        id: &str,
        cause: &Cause,
    ) -> Result<Option<(CheckoutRecord, bool)>, StoreError>;
    /// A checkout's history, in the order written.
    async fn history(&self, checkout_id: &str) -> Result<Vec<StatusChange>, StoreError>;
    // ---- Refunds ----

    /// Records a pending refund with its history row if the checkout's state and what was
    /// already refunded (or is pending) allow it ([`plan::refund_start`],
    /// [`shared::status::refund_outcome`]); [`StoreError::Rule`] otherwise, writing nothing.
    /// Decided and inserted while the checkout and the attempt's refunds are as read
    /// (serialised per checkout): N concurrent refunds never exceed what the attempt paid.
    async fn start_refund(&self, r: &RefundRecord, cause: &Cause) -> Result<(), StoreError>;
    /// Ends a pending refund ([`plan::refund_finish`]): its move, history row and
    /// `refund.*` event, and after a success the checkout's move to partially refunded or
    /// refunded with its own, in one transaction, conditional on the refund still pending
    /// and the checkout still as read. A refund already ended is unchanged
    /// ([`Applied::default`]); of concurrent ends exactly one is recorded.
    async fn finish_refund(
        &self,
        refund_id: &str,
        status: RefundStatus,
        failure: Option<ErrorCode>,
        provider_reference: Option<&str>,
        cause: &Cause,
    ) -> Result<Applied, StoreError>;
    /// Removes a pending refund the provider could not even consider (no refund API) and its
    /// history row, atomically; nothing when it is no longer pending.
    async fn discard_refund(&self, refund_id: &str) -> Result<(), StoreError>;
    /// A checkout's refunds, oldest first.
    async fn refunds(&self, checkout_id: &str) -> Result<Vec<RefundRecord>, StoreError>;
    /// The merchant dashboard's totals of `window` ([`overview`]): checkouts and paid amounts
    /// per UTC day and currency, succeeded refunds per day, attempts and successes per provider
    /// and per method, failures per code, the median time to pay. Aggregated by the database,
    /// in one snapshot; rows are counted by their creation time.
    async fn overview(&self, window: overview::Window) -> Result<overview::Overview, StoreError>;
    // ---- Outbox ----

    /// A checkout's events for its merchant, in the order written.
    async fn checkout_events(&self, checkout_id: &str) -> Result<Vec<EventRecord>, StoreError>;
    /// One event.
    async fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StoreError>;
    /// Claims up to `limit` pending deliveries due at `now_ms` for one send each: their due time
    /// becomes `now_ms + lease_ms` and each gets a new claim token, so nobody else sends them
    /// meanwhile. Atomic: a delivery is returned by exactly one of concurrent claims.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records a send's outcome ([`plan::delivery_finish`]), if the claim is still the
    /// delivery's (one conditional write: a late result of an expired claim changes nothing).
    async fn finish_delivery(
        &self,
        event_id: &str,
        claim: &str,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Queues an event's delivery again, due now, with the same event id; false when there is
    /// no such event.
    async fn redeliver(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError>;
    // ---- Idempotency ----

    /// Reserves an idempotency key for a request, or says what the key already holds
    /// ([`plan::idempotency_begin`]). An in-progress reservation older than `stale_before_ms`
    /// is taken over when `take_over_stale` (conditional on its reservation time, so of
    /// concurrent take-overs one wins), else reported as [`IdempotencyBegin::Interrupted`].
    /// Of concurrent calls with one new key (on any instance) exactly one gets
    /// [`IdempotencyBegin::Started`].
    async fn idempotency_begin(
        &self,
        key: &str,
        method_path: &str,
        request_hash: &str,
        now_ms: i64,
        stale_before_ms: i64,
        take_over_stale: bool,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Stores the response of a reserved key (only while it is in progress).
    async fn idempotency_finish(
        &self,
        key: &str,
        status: u16,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Drops a reservation whose request may be run again (it answered 5xx).
    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError>;
    /// Forgets keys reserved before `before_ms`; returns how many.
    async fn idempotency_purge(&self, before_ms: i64) -> Result<u64, StoreError>;
    // ---- Inbox ----

    /// Stores a notification in the inbox ([`plan::inbox_insert`]). A verified one whose
    /// deduplication key was already stored is kept as a `duplicate` row pointing at the
    /// first and is not to be processed: of N concurrent inserts of one notification exactly
    /// one is stored as [`Inserted::New`].
    async fn inbox_insert(&self, n: &NotificationRecord) -> Result<Inserted, StoreError>;
    /// Notifications waiting for processing (state `received`), oldest first, claimed or not
    /// (a read: an operator's view; workers use [`Store::inbox_claim`]).
    async fn inbox_due(&self, limit: u32) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Claims up to `limit` notifications waiting for processing (state `received`) whose
    /// lease has run out at `now_ms`, oldest first: each one's lease then runs to
    /// `now_ms + lease_ms`, and no other claim returns it meanwhile (two workers, on one
    /// instance or several, never process one notification at once). The claim is not a lock
    /// on the outcome: [`Store::inbox_processed`] and [`Store::update_attempt`] mark it
    /// processed whoever holds it, and a worker that dies leaves it to be claimed again once
    /// its lease ends. Atomic: a row is returned by exactly one of concurrent claims.
    async fn inbox_claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Marks a notification processed, with what processing did (only while `received`:
    /// a second mark changes nothing).
    async fn inbox_processed(&self, id: &str, outcome: &str) -> Result<(), StoreError>;
    /// Counts a failed processing try and ends its claim's lease (the next pass tries it
    /// again); after `give_up` tries the notification is `failed`.
    async fn inbox_retry(&self, id: &str, error: &str, give_up: u32) -> Result<(), StoreError>;
    /// Every stored notification of `provider` (all providers when `None`), oldest first.
    async fn notifications(&self, provider: Option<Provider>) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Moves an attempt's next status fetch to `at_ms` unless it is already due sooner (a
    /// notification that could not be verified asks for a fetch, never delays one). One
    /// conditional write (`MIN`): never a lost earlier time.
    async fn poll_no_later_than(&self, attempt_id: &str, at_ms: i64) -> Result<(), StoreError>;
    // ---- Merchant keys ----

    /// Stores a new merchant key (its hash).
    async fn merchant_key_insert(&self, k: &MerchantKeyRecord) -> Result<(), StoreError>;
    /// Revokes a merchant key at `now` (unix seconds); false when no active key has this id.
    async fn merchant_key_revoke(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Every merchant key, revoked ones included, oldest first.
    async fn merchant_keys(&self) -> Result<Vec<MerchantKeyRecord>, StoreError>;
    /// The active key of `mode` with this hash, if any.
    async fn merchant_key_active(
        &self,
        hash: &str,
        mode: crate::config::Mode,
    ) -> Result<Option<MerchantKeyRecord>, StoreError>;
    /// One refund.
    async fn refund(&self, refund_id: &str) -> Result<Option<RefundRecord>, StoreError>;
    /// Up to `limit` pending refunds whose follow-up is due at `now_ms`, with how many times
    /// they were followed up, soonest first.
    async fn due_refunds(&self, now_ms: i64, limit: u32) -> Result<Vec<(RefundRecord, u32)>, StoreError>;
    /// Sets a pending refund's next follow-up and its count; false when it is no longer
    /// pending or another follow-up counted it first (`checks` is not `seen_checks`).
    async fn schedule_refund_check(
        &self,
        refund_id: &str,
        seen_checks: Option<u32>,
        next_at_ms: i64,
    ) -> Result<bool, StoreError>;
    // ---- Refused notifications ----

    /// Adds refused-notification tallies to the stored counts and keeps `samples`, then trims
    /// each provider's samples to the latest `keep`: one write for a whole flush.
    async fn refused_record(
        &self,
        counts: Vec<RefusedCount>,
        samples: Vec<RefusedSample>,
        keep: u32,
    ) -> Result<(), StoreError>;
    /// The refused-notification counts, per provider.
    async fn refused_counts(&self) -> Result<Vec<RefusedCount>, StoreError>;
    /// The kept samples of refused notifications from `provider`, oldest first.
    async fn refused_samples(&self, provider: Provider) -> Result<Vec<RefusedSample>, StoreError>;
    /// Deletes refused-notification samples received before `before_ms`; returns how many.
    async fn purge_refused_samples(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Clears the raw body (keeping every other fact) of up to `limit` processed or duplicate
    /// notifications received before `before_ms`; returns how many.
    async fn purge_notification_bodies(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError>;
    // ---- Service ----

    /// How many of this build's migrations the database has not applied (0: all of them), read
    /// from the database now: an error when it does not answer. On a SQLite file, through a
    /// connection opened for the question, so a file removed or replaced under a running
    /// verifier is seen (the connections already open would still read the removed one).
    async fn migrations_pending(&self) -> Result<usize, StoreError>;
    /// The merchant deliveries pending (to send, or to retry), from the partial index of due
    /// deliveries.
    async fn deliveries_pending(&self) -> Result<u64, StoreError>;
}

/// How many of `known` (a build's migration versions) `applied` lacks.
pub(crate) fn pending_migrations(known: impl IntoIterator<Item = i64>, applied: &[i64]) -> usize {
    known.into_iter().filter(|v| !applied.contains(v)).count()
}

/// Refused notifications of one provider, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedCount {
    /// Whose name they were sent in.
    pub provider: Provider,
    /// How many.
    pub refused: u64,
    /// The first one's time, unix milliseconds.
    pub first_at_ms: i64,
    /// The last one's time, unix milliseconds.
    pub last_at_ms: i64,
}

/// One refused notification kept as a sample for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedSample {
    /// Whose name it was sent in.
    pub provider: Provider,
    /// The attempt reference it claimed (nothing in it is trusted).
    pub reference: Option<String>,
    /// Why it was refused.
    pub reason: String,
    /// The body: cut to a few KiB, secrets redacted, phone numbers masked.
    pub body: String,
    /// Unix milliseconds.
    pub received_at_ms: i64,
}

/// Where a provider notification stands in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    /// Verified and stored; not processed yet.
    Received,
    /// Processed (applied, or found to be about no payment of ours).
    Processed,
    /// Failed verification: changed nothing.
    Refused,
    /// A repeated delivery of a stored notification: not processed again.
    Duplicate,
    /// Processing kept failing; an operator looks at it (the reconciler still polls).
    Failed,
}

impl NotificationState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Received => "received",
            NotificationState::Processed => "processed",
            NotificationState::Refused => "refused",
            NotificationState::Duplicate => "duplicate",
            NotificationState::Failed => "failed",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<NotificationState> {
        [
            NotificationState::Received,
            NotificationState::Processed,
            NotificationState::Refused,
            NotificationState::Duplicate,
            NotificationState::Failed,
        ]
        .into_iter()
        .find(|n| n.as_str() == s)
    }
}

/// A provider notification as the inbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// `wh_…`, named by the cause of the state change it made.
    pub id: String,
    /// Who sent it.
    pub provider: Provider,
    /// The provider's event id, else `sha256:<hex of the raw body>`; `None` for refused and
    /// duplicate rows.
    pub dedup_key: Option<String>,
    /// Whether it passed verification.
    pub verified: bool,
    /// Where it stands.
    pub state: NotificationState,
    /// For a duplicate: the first notification's id.
    pub duplicate_of: Option<String>,
    /// The attempt reference it names (verified, or claimed by a refused one).
    pub reference: Option<String>,
    /// The state it reports, when verified and explicit; `None` makes processing fetch the
    /// status from the provider.
    pub update: Option<AttemptUpdate>,
    /// The body, redacted of anything named like a secret.
    pub body: String,
    /// Processing tries so far.
    pub attempts: u32,
    /// The last processing error.
    pub last_error: Option<String>,
    /// What processing did (`applied`, `unchanged`, `fetched`, `unknown payment`, …).
    pub outcome: Option<String>,
    /// Unix milliseconds.
    pub received_at_ms: i64,
    /// Unix milliseconds.
    pub processed_at_ms: Option<i64>,
}

/// What storing a notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored as new (to be processed when `received`).
    New,
    /// Its deduplication key was stored already by the notification `of`.
    Duplicate {
        /// The first notification's id.
        of: String,
    },
}

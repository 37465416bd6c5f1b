//! The store's decisions, apart from any database: "plan, then persist".
//!
//! A store method reads the rows a change depends on, asks a function here what to write, and
//! writes exactly that, atomically, **only if the state it decided from still holds** (every
//! move carries its `from`: `UPDATE … WHERE id = ? AND status = <from>`, checking the rows
//! affected). When it no longer holds, the store reads again and plans again (or answers
//! "unchanged", as the method's contract on [`super::Store`] says). Nothing here does I/O: the
//! state transitions come from [`shared::status`], the merchant events and their exact JSON
//! body ([`shared::api::WebhookEvent`]) from the records given, and the history rows'
//! text from [`Cause::to_text`]. Every backend (SQLite, PostgreSQL) therefore emits the same
//! events, payloads and history for the same change.
//!
//! Times: every plan takes `now_ms` (unix milliseconds, from the store's
//! [`super::Clock`]); rows stamped in seconds get `now_ms` rounded down.

use shared::{
    api::{
        AmountMismatch, DeliveryState, EventAttempt, EventCheckout, EventRefund, EventType, Expected,
        WebhookEvent, WebhookEventData,
    },
    catalogue::ErrorCode,
    status::{AttemptStatus, CheckoutStatus, RefundStatus, refund_outcome},
};

use super::{
    Applied, AttemptLimits, AttemptRecord, AttemptUpdate, Cause, CheckoutRecord, DeliveryOutcome,
    IdempotencyBegin, Inserted, LimitReached, NotificationRecord, NotificationState, REFUND_FIRST_CHECK_MS,
    RefundRecord, Reported, StoreError,
};

/// The state a plan was decided from no longer holds: a conditional write touched no row
/// ([`StoreError::stale`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the state a change was decided from changed meanwhile")]
pub struct Stale;

/// How many times a store plans a change again after [`Stale`] before giving up with it.
pub const REPLANS: u32 = 8;

/// Unix seconds of a unix-milliseconds time (rounded down).
pub fn secs(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000)
}

/// RFC 3339 text of unix seconds (empty when out of range), as events carry it.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A checkout's move, to write only while the checkout is still `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutMove {
    /// The state decided from (the write's condition).
    pub from: CheckoutStatus,
    /// The new state.
    pub to: CheckoutStatus,
}

/// An attempt's move, to write only while the attempt is still `from`. The columns written
/// with it: `status = to`, `failure`, and the `reported_*` columns (all cleared when
/// `reported` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptMove {
    /// The state decided from (the write's condition).
    pub from: AttemptStatus,
    /// The new state.
    pub to: AttemptStatus,
    /// The failure stored with it.
    pub failure: Option<ErrorCode>,
    /// What the provider reported about the money with this update.
    pub reported: Option<Reported>,
    /// Until when (unix ms) the reconciler still fetches the attempt's status after this move:
    /// set for a customer's cancellation ([`CANCELLED_POLL_WINDOW_S`]), `None` (cleared)
    /// otherwise. Pending attempts are fetched while pending, whatever it says.
    pub poll_until_ms: Option<i64>,
}

/// A refund's move, to write only while the refund is still `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundMove {
    /// The state decided from (the write's condition).
    pub from: RefundStatus,
    /// The new state.
    pub to: RefundStatus,
    /// The failure stored with it.
    pub failure: Option<ErrorCode>,
    /// The provider's reference, kept only if none is stored (`COALESCE(provider_reference, ?)`).
    pub provider_reference: Option<String>,
}

/// One history row to insert (`status_changes`), in the plan's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatusChange {
    /// The checkout whose history it is.
    pub checkout_id: String,
    /// The attempt, for attempt changes.
    pub attempt_id: Option<String>,
    /// Previous state (none at creation).
    pub from: Option<String>,
    /// New state.
    pub to: String,
    /// [`Cause::to_text`].
    pub cause: String,
    /// Unix seconds.
    pub at: i64,
}

/// One merchant event to insert with its pending delivery, in the plan's order (which is the
/// order a reader lists them in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `evt_…`, the `webhook-id` of every delivery.
    pub id: String,
    /// What happened.
    pub kind: EventType,
    /// The checkout it is about.
    pub checkout_id: String,
    /// The exact JSON body to send (a [`WebhookEvent`]).
    pub payload: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When the first send is due (unix ms): at once.
    pub due_at_ms: i64,
}

/// What an event is about besides its checkout.
#[derive(Debug, Clone, Copy)]
pub enum EventSubject<'a> {
    /// The checkout alone; its first paid attempt (in the order stored) is added when there
    /// is one.
    Checkout,
    /// One attempt, as it is after the change.
    Attempt(&'a AttemptRecord),
    /// One refund, as it is after the change.
    Refund(&'a RefundRecord),
}

/// The merchant event `kind` about `checkout` (as it is after the change), with `attempts`
/// (every attempt of the checkout after the change, in the order they were stored; the
/// succeeded ones are its paid attempts).
pub fn event(
    kind: EventType,
    checkout: &CheckoutRecord,
    subject: EventSubject<'_>,
    attempts: &[AttemptRecord],
    now_ms: i64,
) -> Result<NewEvent, StoreError> {
    let event_attempt = |a: &AttemptRecord| EventAttempt {
        id: a.id.clone(),
        provider: a.provider,
        method: a.method,
        status: a.status,
        failure: a.failure,
    };
    let attempt = match subject {
        EventSubject::Checkout => attempts.iter().find(|a| a.status == AttemptStatus::Succeeded),
        EventSubject::Attempt(a) => Some(a),
        EventSubject::Refund(_) => None,
    };
    let refund = match subject {
        EventSubject::Refund(r) => Some(EventRefund {
            id: r.id.clone(),
            amount: r.amount.minor(),
            status: r.status,
            failure: r.failure,
        }),
        _ => None,
    };
    // `attempt.amount_mismatch` says what was expected and what the provider reported.
    let mismatch = match (kind, attempt) {
        (EventType::AttemptAmountMismatch, Some(a)) => Some(AmountMismatch {
            expected: Expected {
                amount: checkout.money.minor(),
                currency: checkout.money.currency(),
                reference: a.idempotency_key.clone(),
            },
            reported: a.reported.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    // `checkout.overpaid` names every paid attempt.
    let paid_attempts = if kind == EventType::CheckoutOverpaid {
        attempts.iter().filter(|a| a.status == AttemptStatus::Succeeded).map(event_attempt).collect()
    } else {
        Vec::new()
    };
    let created_at = secs(now_ms);
    let body = WebhookEvent {
        kind,
        timestamp: rfc3339(created_at),
        livemode: checkout.livemode,
        data: WebhookEventData {
            checkout: EventCheckout {
                id: checkout.id.clone(),
                short_reference: Some(crate::ids::short_reference(&checkout.id)),
                reference: checkout.reference.clone(),
                amount: checkout.money.minor(),
                currency: checkout.money.currency(),
                status: checkout.status,
            },
            attempt: attempt.map(event_attempt),
            refund,
            mismatch,
            paid_attempts,
        },
    };
    Ok(NewEvent {
        id: crate::ids::event_id(),
        kind,
        checkout_id: checkout.id.clone(),
        payload: serde_json::to_string(&body).map_err(|e| StoreError::Other(e.into()))?,
        created_at,
        due_at_ms: now_ms,
    })
}

/// A checkout's move with its history row and its event, if the state table allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPlan {
    /// The checkout.
    pub checkout_id: String,
    /// Its move.
    pub checkout_move: CheckoutMove,
    /// The history row.
    pub history: Vec<NewStatusChange>,
    /// The merchant event of the new state, if it has one.
    pub events: Vec<NewEvent>,
    /// Unix seconds: the checkout's `updated_at`.
    pub at: i64,
}

/// Moves `checkout` to `to` when [`CheckoutStatus::can_become`] allows it (`None` otherwise):
/// the history row, and the new state's event ([`EventType::of_checkout_status`]) with
/// `attempts` as they are after the change.
pub fn checkout_move(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    to: CheckoutStatus,
    cause: &Cause,
    now_ms: i64,
) -> Result<Option<CheckoutPlan>, StoreError> {
    let from = checkout.status;
    if !from.can_become(to) {
        return Ok(None);
    }
    let at = secs(now_ms);
    let history = vec![NewStatusChange {
        checkout_id: checkout.id.clone(),
        attempt_id: None,
        from: Some(from.as_str().to_owned()),
        to: to.as_str().to_owned(),
        cause: cause.to_text(),
        at,
    }];
    let after = CheckoutRecord { status: to, ..checkout.clone() };
    let events = match EventType::of_checkout_status(to) {
        Some(kind) => vec![event(kind, &after, EventSubject::Checkout, attempts, now_ms)?],
        None => Vec::new(),
    };
    Ok(Some(CheckoutPlan {
        checkout_id: checkout.id.clone(),
        checkout_move: CheckoutMove { from, to },
        history,
        events,
        at,
    }))
}

/// Expires `checkout` if it is open and its deadline is at or before `deadline_now` (unix
/// seconds): `None` otherwise.
pub fn expiry(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    deadline_now: i64,
    now_ms: i64,
) -> Result<Option<CheckoutPlan>, StoreError> {
    if checkout.status != CheckoutStatus::Open || checkout.expires_at > deadline_now {
        return Ok(None);
    }
    checkout_move(checkout, attempts, CheckoutStatus::Expired, &Cause::Expiry, now_ms)
}

/// The merchant's cancellation of `checkout` (`POST /v1/checkouts/{id}/cancel`): only an
/// `open` checkout is cancelled, with its history row and `checkout.cancelled` event; `None`
/// for any other state.
///
/// Why only `open`, when the state table ([`CheckoutStatus::can_become`]) would not stop a
/// cancellation of more: `open` is the one state with no attempt at a provider (starting one
/// moves the checkout to `processing` in the same transaction, [`attempt_start`]) and nothing
/// paid. A `processing` checkout has a customer confirming at this moment; cancelling it would
/// tell the shop "no sale" while the provider may still take the money. The state table
/// keeps such a late payment (`cancelled → succeeded`), so nothing would be lost, but the
/// merchant would have to refund a payment the customer just made: the merchant waits for
/// the attempt to end (the customer's cancel, a failure or its expiry reopen the checkout)
/// and cancels then. A paid, refunded or expired checkout has nothing left to cancel.
pub fn merchant_cancel(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    cause: &Cause,
    now_ms: i64,
) -> Result<Option<CheckoutPlan>, StoreError> {
    if checkout.status != CheckoutStatus::Open || attempts.iter().any(|a| a.status.is_pending()) {
        return Ok(None);
    }
    checkout_move(checkout, attempts, CheckoutStatus::Cancelled, cause, now_ms)
}

/// What a new checkout writes besides its row: its first history row.
pub fn checkout_created(c: &CheckoutRecord, cause: &Cause) -> NewStatusChange {
    NewStatusChange {
        checkout_id: c.id.clone(),
        attempt_id: None,
        from: None,
        to: c.status.as_str().to_owned(),
        cause: cause.to_text(),
        at: c.created_at,
    }
}

/// What the store counted for [`AttemptLimits`], in the transaction that inserts the attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptCounts {
    /// Attempts of the checkout.
    pub checkout_attempts: u64,
    /// Attempts of the checkout with the new attempt's provider and method failed on a refused
    /// one-time code ([`refused_code_failures`]); only counted when [`counts_otp`] says so.
    pub otp_failures: u64,
    /// Attempts to the new attempt's phone number created after [`phone_window_start`].
    pub phone_attempts: u64,
    /// The oldest of those (unix seconds).
    pub phone_oldest: Option<i64>,
}

/// Whether the new attempt `a` is subject to the one-time-code limit (whether
/// [`AttemptCounts::otp_failures`] must be counted).
pub fn counts_otp(a: &AttemptRecord) -> bool {
    a.provider.needs_otp(a.method)
}

/// The failures that mean a refused one-time code: `OTP_REQUIRED` (refused at the start,
/// NovaSend's `transaction_otp_required`), `OTP_REFUSED` (the payin declined at once,
/// `transaction_error`, read as the code refused by the adapter) or `PAYMENT_REFUSED` (a
/// declined payin the adapter could not tell apart): <https://docs.novasend.app/api-direct/payment>.
pub fn refused_code_failures() -> [ErrorCode; 3] {
    [ErrorCode::OtpRequired, ErrorCode::OtpRefused, ErrorCode::PaymentRefused]
}

/// Attempts to a phone number count when created strictly after this (unix seconds).
pub fn phone_window_start(limits: &AttemptLimits, now_secs: i64) -> i64 {
    now_secs.saturating_sub(limits.phone_window_secs)
}

/// Whether a new attempt fits in `limits`, given what the store counted at `now_secs`.
pub fn check_limits(
    limits: &AttemptLimits,
    a: &AttemptRecord,
    counts: &AttemptCounts,
    now_secs: i64,
) -> Result<(), LimitReached> {
    if counts.checkout_attempts >= u64::from(limits.per_checkout) {
        return Err(LimitReached::CheckoutAttempts);
    }
    if counts_otp(a) && counts.otp_failures >= u64::from(limits.otp_failures_per_checkout) {
        return Err(LimitReached::OtpFailures);
    }
    if a.phone.is_some() && counts.phone_attempts >= u64::from(limits.per_phone) {
        let frees_at = counts.phone_oldest.unwrap_or(now_secs).saturating_add(limits.phone_window_secs);
        return Err(LimitReached::PhoneRequests { retry_after_secs: (frees_at - now_secs).max(1) });
    }
    Ok(())
}

/// A new attempt: its row, its checkout's move to processing, their history rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPlan {
    /// The row to insert (its `updated_at` is `at`). A unique-index refusal of the insert (a
    /// live attempt exists) is [`StoreError::Conflict`] "a payment is already in progress".
    pub attempt: AttemptRecord,
    /// When the reconciler first asks the provider (unix ms).
    pub first_poll_at_ms: i64,
    /// The checkout's move (to processing).
    pub checkout_move: CheckoutMove,
    /// The attempt's creation row, then the checkout's move.
    pub history: Vec<NewStatusChange>,
    /// Unix seconds.
    pub at: i64,
}

/// Starts attempt `a` on `checkout`: refused as a conflict when the checkout cannot become
/// processing. Limits are checked apart ([`check_limits`]), before.
pub fn attempt_start(
    checkout: &CheckoutRecord,
    a: &AttemptRecord,
    first_poll_at_ms: i64,
    cause: &Cause,
    now_ms: i64,
) -> Result<StartPlan, StoreError> {
    let from = checkout.status;
    if !from.can_become(CheckoutStatus::Processing) {
        return Err(StoreError::Conflict(format!("the checkout is {}; no payment can start", from.as_str())));
    }
    let at = secs(now_ms);
    let text = cause.to_text();
    let history = vec![
        NewStatusChange {
            checkout_id: checkout.id.clone(),
            attempt_id: Some(a.id.clone()),
            from: None,
            to: a.status.as_str().to_owned(),
            cause: text.clone(),
            at,
        },
        NewStatusChange {
            checkout_id: checkout.id.clone(),
            attempt_id: None,
            from: Some(from.as_str().to_owned()),
            to: CheckoutStatus::Processing.as_str().to_owned(),
            cause: text,
            at,
        },
    ];
    Ok(StartPlan {
        attempt: a.clone(),
        first_poll_at_ms,
        checkout_move: CheckoutMove { from, to: CheckoutStatus::Processing },
        history,
        at,
    })
}

/// A notification marked processed in the same transaction as the change it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationDone {
    /// `wh_…`.
    pub id: String,
    /// `applied` or `unchanged` ([`notification_outcome`]).
    pub outcome: &'static str,
    /// Unix ms.
    pub at_ms: i64,
}

/// What processing a notification did, as stored, from what its update changed.
pub fn notification_outcome(applied: &Applied) -> &'static str {
    if applied.changed() { "applied" } else { "unchanged" }
}

/// What a provider's update of an attempt writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptPlan {
    /// The attempt.
    pub attempt_id: String,
    /// Its checkout.
    pub checkout_id: String,
    /// The states decided from: a store writes the plan only while the attempt and the
    /// checkout are still in them (also when only one of them moves).
    pub seen: (AttemptStatus, CheckoutStatus),
    /// The provider's reference to keep, when none was stored (write with
    /// `COALESCE(provider_reference, ?)`).
    pub provider_reference: Option<String>,
    /// The confirmation page to keep, when none was stored (`COALESCE` likewise).
    pub payment_url: Option<String>,
    /// The attempt's move, if the state table allows it.
    pub attempt_move: Option<AttemptMove>,
    /// The checkout's move that follows, if any.
    pub checkout_move: Option<CheckoutMove>,
    /// The attempt's row, then the checkout's.
    pub history: Vec<NewStatusChange>,
    /// The checkout's event, then the attempt's (`attempt.failed`,
    /// `attempt.amount_mismatch`, `checkout.overpaid`).
    pub events: Vec<NewEvent>,
    /// For a [`Cause::Webhook`]: its notification, marked processed (only while `received`).
    pub notification: Option<NotificationDone>,
    /// Unix seconds: `updated_at` of what moves.
    pub at: i64,
}

impl AttemptPlan {
    /// What the update changes.
    pub fn applied(&self) -> Applied {
        Applied {
            attempt: self.attempt_move.as_ref().map(|m| (m.from, m.to)),
            checkout: self.checkout_move.map(|m| (m.from, m.to)),
        }
    }

    /// Whether the plan writes nothing but facts (references, links) and the notification.
    pub fn is_unchanged(&self) -> bool {
        !self.applied().changed()
    }
}

/// Applies what a provider said about attempt `attempt_id` of `checkout`, whose attempts
/// (in the order stored) are `attempts`: through the state table; a stale or repeated update
/// moves nothing. [`StoreError::Conflict`] when the attempt is not among `attempts`.
pub fn attempt_update(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    attempt_id: &str,
    update: &AttemptUpdate,
    cause: &Cause,
    now_ms: i64,
) -> Result<AttemptPlan, StoreError> {
    let Some(index) = attempts.iter().position(|a| a.id == attempt_id) else {
        return Err(StoreError::Conflict(format!("no attempt {attempt_id}")));
    };
    let attempt = &attempts[index];
    let at = secs(now_ms);
    let mut plan = AttemptPlan {
        attempt_id: attempt.id.clone(),
        checkout_id: checkout.id.clone(),
        seen: (attempt.status, checkout.status),
        // References and links are facts, not states: keep the first ones given.
        provider_reference: update
            .provider_reference
            .clone()
            .filter(|_| attempt.provider_reference.is_none()),
        payment_url: update.payment_url.clone().filter(|_| attempt.payment_url.is_none()),
        attempt_move: None,
        checkout_move: None,
        history: Vec::new(),
        events: Vec::new(),
        notification: None,
        at,
    };
    if attempt.status.can_become(update.status) {
        let reported = (!update.reported.is_empty()).then(|| update.reported.clone());
        // The customer's own cancellation (an API cause; a provider's "cancelled" is final
        // at the provider) is still fetched for a while; any other move ends that.
        let cancelled_by_customer = update.status == AttemptStatus::Failed
            && update.failure == Some(ErrorCode::CustomerCancelled)
            && matches!(cause, Cause::Api(_));
        plan.attempt_move = Some(AttemptMove {
            from: attempt.status,
            to: update.status,
            failure: update.failure,
            reported: reported.clone(),
            poll_until_ms: cancelled_by_customer
                .then_some(now_ms.saturating_add(CANCELLED_POLL_WINDOW_S.saturating_mul(1000))),
        });
        plan.history.push(NewStatusChange {
            checkout_id: checkout.id.clone(),
            attempt_id: Some(attempt.id.clone()),
            from: Some(attempt.status.as_str().to_owned()),
            to: update.status.as_str().to_owned(),
            cause: cause.to_text(),
            at,
        });
        let mut after = attempts.to_vec();
        after[index] = AttemptRecord {
            status: update.status,
            failure: update.failure,
            provider_reference: attempt
                .provider_reference
                .clone()
                .or_else(|| update.provider_reference.clone()),
            payment_url: attempt.payment_url.clone().or_else(|| update.payment_url.clone()),
            reported,
            updated_at: at,
            ..attempt.clone()
        };
        let mut checkout_after = checkout.clone();
        if let Some(moved) = checkout_move(checkout, &after, update.status.checkout_status(), cause, now_ms)?
        {
            plan.checkout_move = Some(moved.checkout_move);
            plan.history.extend(moved.history);
            plan.events.extend(moved.events);
            checkout_after.status = moved.checkout_move.to;
        }
        // After the checkout's move: the event shows the checkout open again.
        let kind = match update.status {
            AttemptStatus::Failed | AttemptStatus::Expired => Some(EventType::AttemptFailed),
            AttemptStatus::Review => Some(EventType::AttemptAmountMismatch),
            // The checkout was paid already by another attempt: the customer paid twice.
            AttemptStatus::Succeeded if checkout.status.is_paid() => Some(EventType::CheckoutOverpaid),
            _ => None,
        };
        if let Some(kind) = kind {
            let subject = EventSubject::Attempt(&after[index]);
            plan.events.push(event(kind, &checkout_after, subject, &after, now_ms)?);
        }
    }
    if let Cause::Webhook(_, notification) = cause {
        plan.notification = Some(NotificationDone {
            id: notification.clone(),
            outcome: notification_outcome(&plan.applied()),
            at_ms: now_ms,
        });
    }
    Ok(plan)
}

/// **How long after a customer's cancellation ([`customer_cancel`]) the reconciler still asks
/// the provider about the attempt** (the attempt's `poll_until_ms`, set with the cancel's
/// move): the prompt or page may still be confirmed, and when the provider's webhook is lost a
/// status fetch is the only way to see it. A fixed bound, because the providers' own windows
/// are mostly unknown (NovaSend and CaurisFlux publish none; their `confirmation_window_s` is
/// the merchant's guess) and an attempt's window runs from its start, before the cancel:
/// 40 minutes is the longest a provider documents for an unconfirmed payment, Scalapay's
/// default order expiry (`orderExpiryMilliseconds`,
/// <https://developers.scalapay.com/reference/post_v2-orders>), and more than a USSD push
/// prompt stays open on a phone. After it nothing more is fetched (a provider's later
/// correction can still come by webhook).
pub const CANCELLED_POLL_WINDOW_S: i64 = 40 * 60;

/// Why a customer's cancellation of an attempt is refused ([`customer_cancel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRefused {
    /// The attempt already ended (paid, failed, expired, in review): nothing to cancel.
    Ended(AttemptStatus),
    /// The customer already authorised the payment on the provider's page (card, pay-later):
    /// the verifier captures it; it is no longer the customer's to cancel.
    Authorized,
}

/// **A customer's cancellation** ("Cancel" or "Change number" on the waiting screen) as the
/// update it applies to the attempt: failed with `CUSTOMER_CANCELLED`, through the same state
/// table as a provider's word, so the attempt only moves forward and its checkout reopens for
/// another try (`attempt.failed` tells the merchant).
///
/// Only an attempt still waiting for the customer (`created`, `awaiting_customer`) can be
/// cancelled; an ended or authorised one is refused and nothing changes.
///
/// No provider here documents cancelling a pending payment: NovaSend's payin API has sessions,
/// direct payins, status and refunds only (<https://docs.novasend.app/api-direct/payment>);
/// CaurisFlux's has initiate and status, its `cancelUrl` being only where the customer is sent
/// back (<https://docs.caurisflux.com/api-reference/payments/initiate>); MyPVit's REST API has
/// payment, status and key renewal (<https://docs.mypvit.pro/en/intro/integration-guide>);
/// Scalapay's `void` applies to an authorised order, and an order never authorised lapses at
/// its `orderExpiryMilliseconds`
/// (<https://developers.scalapay.com/reference/post_v2-payments-token-void>). The cancellation
/// is therefore local: the prompt may still reach the customer's phone. **A provider's
/// confirmation that comes after it is still applied** (`failed → succeeded` is a legal move
/// in [`shared::status`]): money the provider took is recorded as paid, never lost, and the
/// merchant can refund it. The reconciler keeps fetching the attempt's status for
/// [`CANCELLED_POLL_WINDOW_S`] after the cancel, at its backoff, so that a lost webhook does
/// not lose that confirmation.
pub fn customer_cancel(attempt: &AttemptRecord) -> Result<AttemptUpdate, CancelRefused> {
    match attempt.status {
        AttemptStatus::Created | AttemptStatus::AwaitingCustomer => {
            Ok(AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)))
        }
        AttemptStatus::Authorized => Err(CancelRefused::Authorized),
        ended => Err(CancelRefused::Ended(ended)),
    }
}

/// The history text of a refund in `status` (`refund rf_… pending`).
pub fn refund_history_text(refund_id: &str, status: RefundStatus) -> String {
    format!("refund {refund_id} {}", status.as_str())
}

/// What counts against a paid attempt's refundable amount: its refunds not failed (pending
/// ones too, so two concurrent refunds can never give back more than was paid).
pub fn refunded_against(refunds: &[RefundRecord], attempt_id: &str) -> u64 {
    refunds
        .iter()
        .filter(|r| r.attempt_id == attempt_id && r.status != RefundStatus::Failed)
        .map(|r| r.amount.minor())
        .sum()
}

/// A new pending refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStartPlan {
    /// The row to insert (pending, `created_at` now).
    pub refund: RefundRecord,
    /// When the reconciler follows it up if the request that made it never ends it (unix ms).
    pub next_check_at_ms: i64,
    /// [`refunded_against`] the attempt as decided from: a store inserts only while it still
    /// holds (no other refund of the attempt started or ended in between).
    pub refunded_before: u64,
    /// The checkout's state decided from.
    pub seen_checkout: CheckoutStatus,
    /// `refund rf_… pending`.
    pub history: Vec<NewStatusChange>,
    /// Unix seconds.
    pub at: i64,
}

/// Starts refund `r` of `checkout` (with its `attempts` and `refunds`) if the checkout's state
/// and what was refunded (or is pending) allow it ([`refund_outcome`]); [`StoreError::Rule`]
/// otherwise. The refunded attempt must be one of the checkout's paid attempts; each paid the
/// checkout's amount, and the cap is per attempt (a checkout paid twice refunds both).
pub fn refund_start(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    refunds: &[RefundRecord],
    r: &RefundRecord,
    cause: &Cause,
    now_ms: i64,
) -> Result<RefundStartPlan, StoreError> {
    let paid = attempts.iter().any(|a| {
        a.id == r.attempt_id && a.checkout_id == checkout.id && a.status == AttemptStatus::Succeeded
    });
    if r.checkout_id != checkout.id || !paid {
        return Err(StoreError::Rule(ErrorCode::RefundNotAllowed));
    }
    let before = refunded_against(refunds, &r.attempt_id);
    refund_outcome(checkout.status, checkout.money, before, r.amount).map_err(StoreError::Rule)?;
    let at = secs(now_ms);
    Ok(RefundStartPlan {
        refund: RefundRecord {
            status: RefundStatus::Pending,
            failure: None,
            provider_reference: None,
            created_at: at,
            ..r.clone()
        },
        next_check_at_ms: now_ms.saturating_add(REFUND_FIRST_CHECK_MS),
        refunded_before: before,
        seen_checkout: checkout.status,
        history: vec![NewStatusChange {
            checkout_id: checkout.id.clone(),
            attempt_id: None,
            from: None,
            to: refund_history_text(&r.id, RefundStatus::Pending),
            cause: cause.to_text(),
            at,
        }],
        at,
    })
}

/// The end of a pending refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFinishPlan {
    /// The refund.
    pub refund_id: String,
    /// Its checkout.
    pub checkout_id: String,
    /// The refund's move.
    pub refund_move: RefundMove,
    /// The checkout's move (partially refunded or refunded), after a success.
    pub checkout_move: Option<CheckoutMove>,
    /// The checkout's state decided from.
    pub seen_checkout: CheckoutStatus,
    /// The refund's row, then the checkout's.
    pub history: Vec<NewStatusChange>,
    /// `refund.succeeded`/`refund.failed` (showing the checkout before its move), then the
    /// checkout's event.
    pub events: Vec<NewEvent>,
    /// Unix seconds.
    pub at: i64,
}

impl RefundFinishPlan {
    /// What the end changes (the checkout's move; refunds are not in [`Applied`]).
    pub fn applied(&self) -> Applied {
        Applied { attempt: None, checkout: self.checkout_move.map(|m| (m.from, m.to)) }
    }
}

/// The checkout's state after its refunds: refunded once every paid attempt's amount went back
/// (`succeeded_refunds` is the sum of its succeeded refunds), partially refunded before.
pub fn refunded_state(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    succeeded_refunds: u64,
) -> CheckoutStatus {
    let paid_attempts = attempts.iter().filter(|a| a.status == AttemptStatus::Succeeded).count().max(1);
    let paid = checkout.money.minor().saturating_mul(u64::try_from(paid_attempts).unwrap_or(u64::MAX));
    if succeeded_refunds >= paid { CheckoutStatus::Refunded } else { CheckoutStatus::PartiallyRefunded }
}

/// Ends refund `refund_id` (one of `refunds`, the checkout's) in `status`; `Ok(None)` when the
/// refund cannot become it (already ended: unchanged); [`StoreError::Conflict`] when it is not
/// among `refunds`.
#[allow(clippy::too_many_arguments)]
pub fn refund_finish(
    checkout: &CheckoutRecord,
    attempts: &[AttemptRecord],
    refunds: &[RefundRecord],
    refund_id: &str,
    status: RefundStatus,
    failure: Option<ErrorCode>,
    provider_reference: Option<&str>,
    cause: &Cause,
    now_ms: i64,
) -> Result<Option<RefundFinishPlan>, StoreError> {
    let Some(refund) = refunds.iter().find(|r| r.id == refund_id) else {
        return Err(StoreError::Conflict(format!("no refund {refund_id}")));
    };
    if !refund.status.can_become(status) {
        return Ok(None);
    }
    let at = secs(now_ms);
    let after = RefundRecord {
        status,
        failure,
        provider_reference: refund
            .provider_reference
            .clone()
            .or_else(|| provider_reference.map(str::to_owned)),
        ..refund.clone()
    };
    let mut plan = RefundFinishPlan {
        refund_id: refund.id.clone(),
        checkout_id: checkout.id.clone(),
        refund_move: RefundMove {
            from: refund.status,
            to: status,
            failure,
            provider_reference: provider_reference.map(str::to_owned),
        },
        checkout_move: None,
        seen_checkout: checkout.status,
        history: vec![NewStatusChange {
            checkout_id: checkout.id.clone(),
            attempt_id: None,
            from: Some(refund_history_text(refund_id, refund.status)),
            to: refund_history_text(refund_id, status),
            cause: cause.to_text(),
            at,
        }],
        events: Vec::new(),
        at,
    };
    let kind = match status {
        RefundStatus::Succeeded => Some(EventType::RefundSucceeded),
        RefundStatus::Failed => Some(EventType::RefundFailed),
        RefundStatus::Pending => None,
    };
    if let Some(kind) = kind {
        plan.events.push(event(kind, checkout, EventSubject::Refund(&after), attempts, now_ms)?);
    }
    if status == RefundStatus::Succeeded {
        let refunded: u64 = refunds
            .iter()
            .map(|r| if r.id == refund_id { &after } else { r })
            .filter(|r| r.status == RefundStatus::Succeeded)
            .map(|r| r.amount.minor())
            .sum();
        let next = refunded_state(checkout, attempts, refunded);
        if let Some(moved) = checkout_move(checkout, attempts, next, cause, now_ms)? {
            plan.checkout_move = Some(moved.checkout_move);
            plan.history.extend(moved.history);
            plan.events.extend(moved.events);
        }
    }
    Ok(Some(plan))
}

/// The inbox's deduplication key to look up before storing `n`: a verified notification's.
pub fn inbox_dedup_key(n: &NotificationRecord) -> Option<&str> {
    if n.verified { n.dedup_key.as_deref() } else { None }
}

/// A notification to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxInsertPlan {
    /// The row (state, `dedup_key` and `duplicate_of` decided; `attempts` 0, no outcome).
    pub row: NotificationRecord,
    /// What to answer.
    pub inserted: Inserted,
}

/// Stores `n`, given the notification already stored with its deduplication key (`first`, if
/// any, looked up by [`inbox_dedup_key`]): a verified repeat is a `duplicate` pointing at the
/// first (never processed), an unverified one is `refused`; both keep no key. A store whose
/// insert of a new row loses a race on the key (unique on provider and key) looks the first
/// up again and plans again.
pub fn inbox_insert(n: &NotificationRecord, first: Option<&str>) -> InboxInsertPlan {
    let (state, dedup_key, duplicate_of, inserted) = match (first, n.verified) {
        (Some(of), true) => (
            NotificationState::Duplicate,
            None,
            Some(of.to_owned()),
            Inserted::Duplicate { of: of.to_owned() },
        ),
        (_, true) => (n.state, n.dedup_key.clone(), None, Inserted::New),
        (_, false) => (NotificationState::Refused, None, None, Inserted::New),
    };
    InboxInsertPlan {
        row: NotificationRecord {
            state,
            dedup_key,
            duplicate_of,
            attempts: 0,
            last_error: None,
            outcome: None,
            processed_at_ms: None,
            ..n.clone()
        },
        inserted,
    }
}

/// The state of a notification whose processing failed for the `tries`-th time (counting this
/// one): `failed` from `give_up` tries on, else still `received`.
pub fn inbox_retry_state(tries: u32, give_up: u32) -> NotificationState {
    if tries >= give_up { NotificationState::Failed } else { NotificationState::Received }
}

/// An idempotency key's row, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRow {
    /// The method and path it was used for.
    pub method_path: String,
    /// The hash of the request body it was used for.
    pub request_hash: String,
    /// The stored response, once done: HTTP status and body.
    pub done: Option<(u16, Vec<u8>)>,
    /// When it was reserved (or last taken over), unix ms.
    pub created_at_ms: i64,
}

/// What to do with an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyDecision {
    /// No row: insert the reservation (`in_progress`, `created_at_ms` now), then answer
    /// [`IdempotencyBegin::Started`]; a lost race on the insert (the key exists) reads and
    /// plans again.
    Reserve,
    /// Take over a stale reservation: set `created_at_ms` to now only while it is still
    /// in progress with `seen_created_at_ms` (else read and plan again), then answer
    /// [`IdempotencyBegin::Started`].
    TakeOver {
        /// The reservation time decided from.
        seen_created_at_ms: i64,
    },
    /// Write nothing; answer this.
    Answer(IdempotencyBegin),
}

/// Decides what reserving a key means given its row: a done key answers its response, a
/// reservation younger than `stale_before_ms` is in progress, an older one is taken over
/// when `take_over_stale`, else interrupted; another method, path or body is a mismatch.
pub fn idempotency_begin(
    found: Option<&IdempotencyRow>,
    method_path: &str,
    request_hash: &str,
    stale_before_ms: i64,
    take_over_stale: bool,
) -> IdempotencyDecision {
    let Some(row) = found else { return IdempotencyDecision::Reserve };
    if row.method_path != method_path || row.request_hash != request_hash {
        return IdempotencyDecision::Answer(IdempotencyBegin::Mismatch);
    }
    if let Some((status, body)) = &row.done {
        return IdempotencyDecision::Answer(IdempotencyBegin::Done { status: *status, body: body.clone() });
    }
    if row.created_at_ms >= stale_before_ms {
        IdempotencyDecision::Answer(IdempotencyBegin::InProgress)
    } else if take_over_stale {
        IdempotencyDecision::TakeOver { seen_created_at_ms: row.created_at_ms }
    } else {
        IdempotencyDecision::Answer(IdempotencyBegin::Interrupted)
    }
}

/// What recording a send's outcome writes to its delivery (only while the claim is still
/// the delivery's; `attempts` grows by one and the claim is cleared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryWrite {
    /// The new state.
    pub state: DeliveryState,
    /// When the next send is due (unix ms; `now_ms` when none follows).
    pub next_attempt_at_ms: i64,
    /// The endpoint's status, if it answered.
    pub last_status: Option<u16>,
    /// The transport error, if it did not.
    pub last_error: Option<String>,
}

/// The delivery's row after a send that came to `outcome` at `now_ms`.
pub fn delivery_finish(outcome: &DeliveryOutcome, now_ms: i64) -> DeliveryWrite {
    let (state, next_attempt_at_ms, last_status, last_error) = match outcome {
        DeliveryOutcome::Delivered { status } => (DeliveryState::Delivered, now_ms, Some(*status), None),
        DeliveryOutcome::Retry { at_ms, status, error } => {
            (DeliveryState::Pending, *at_ms, *status, error.clone())
        }
        DeliveryOutcome::Failed { status, error } => (DeliveryState::Failed, now_ms, *status, error.clone()),
    };
    DeliveryWrite { state, next_attempt_at_ms, last_status, last_error }
}

#[cfg(test)]
mod tests {
    //! Expected values are written by hand from the state table in `shared::status` and the
    //! event list in README's "Webhooks to your backend" (which event each change emits, and what
    //! its body carries).

    use serde_json::{Value, json};
    use shared::{
        method::{PaymentMethod, Provider},
        money::{Currency, Money},
        phone::Country,
    };

    use super::*;

    const NOW_MS: i64 = 1_700_000_000_250;
    const NOW: i64 = 1_700_000_000;

    fn checkout(status: CheckoutStatus) -> CheckoutRecord {
        CheckoutRecord {
            id: "co_1".into(),
            reference: "order-1".into(),
            money: Money::new(5000, Currency::Xof).unwrap(),
            country: Country::Ci,
            description: None,
            return_url: None,
            customer: None,
            status,
            livemode: true,
            client_secret_hash: "h".into(),
            created_at: NOW - 60,
            expires_at: NOW + 600,
        }
    }

    fn attempt(id: &str, status: AttemptStatus) -> AttemptRecord {
        AttemptRecord {
            id: id.into(),
            checkout_id: "co_1".into(),
            provider: Provider::NovaSend,
            method: PaymentMethod::MobileMoney,
            phone: Some("+2250700000001".into()),
            status,
            failure: None,
            idempotency_key: format!("key-{id}"),
            provider_reference: None,
            payment_url: None,
            reported: None,
            created_at: NOW - 30,
            updated_at: NOW - 30,
        }
    }

    fn refund(id: &str, amount: u64, status: RefundStatus) -> RefundRecord {
        RefundRecord {
            id: id.into(),
            checkout_id: "co_1".into(),
            attempt_id: "at_1".into(),
            amount: Money::new(amount, Currency::Xof).unwrap(),
            status,
            reason: None,
            failure: None,
            provider_reference: None,
            created_at: NOW - 10,
        }
    }

    fn webhook() -> Cause {
        Cause::Webhook(Provider::NovaSend, "wh_1".into())
    }

    fn body(e: &NewEvent) -> Value {
        serde_json::from_str(&e.payload).unwrap()
    }

    fn kinds(events: &[NewEvent]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    fn history(rows: &[NewStatusChange]) -> Vec<(Option<&str>, Option<&str>, &str, &str)> {
        rows.iter()
            .map(|r| (r.attempt_id.as_deref(), r.from.as_deref(), r.to.as_str(), r.cause.as_str()))
            .collect()
    }

    #[test]
    fn a_success_pays_the_checkout_and_emits_checkout_succeeded_with_the_attempt() {
        let mut update = AttemptUpdate::new(AttemptStatus::Succeeded, None);
        update.provider_reference = Some("ns-9".into());
        let plan = attempt_update(
            &checkout(CheckoutStatus::Processing),
            &[attempt("at_1", AttemptStatus::AwaitingCustomer)],
            "at_1",
            &update,
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(plan.seen, (AttemptStatus::AwaitingCustomer, CheckoutStatus::Processing));
        assert_eq!(plan.provider_reference.as_deref(), Some("ns-9"));
        assert_eq!(
            plan.applied(),
            Applied {
                attempt: Some((AttemptStatus::AwaitingCustomer, AttemptStatus::Succeeded)),
                checkout: Some((CheckoutStatus::Processing, CheckoutStatus::Succeeded)),
            }
        );
        assert_eq!(
            history(&plan.history),
            vec![
                (Some("at_1"), Some("awaiting_customer"), "succeeded", "webhook:nova_send:wh_1"),
                (None, Some("processing"), "succeeded", "webhook:nova_send:wh_1"),
            ]
        );
        assert!(plan.history.iter().all(|h| h.at == NOW && h.checkout_id == "co_1"));
        assert_eq!(kinds(&plan.events), vec!["checkout.succeeded"]);
        let e = &plan.events[0];
        assert!(e.id.starts_with("evt_"));
        assert_eq!((e.created_at, e.due_at_ms), (NOW, NOW_MS));
        assert_eq!(
            body(e),
            json!({
                "type": "checkout.succeeded",
                "timestamp": "2023-11-14T22:13:20Z",
                "livemode": true,
                "data": {
                    // The short reference of "co_1" (computed apart from SHA-256("co_1")).
                    "checkout": {"id": "co_1", "short_reference": "9BRM-FT40", "reference": "order-1", "amount": 5000, "currency": "XOF", "status": "succeeded"},
                    "attempt": {"id": "at_1", "provider": "nova_send", "method": "mobile_money", "status": "succeeded"}
                }
            })
        );
        assert_eq!(
            plan.notification,
            Some(NotificationDone { id: "wh_1".into(), outcome: "applied", at_ms: NOW_MS })
        );
    }

    #[test]
    fn a_late_failure_after_a_success_changes_nothing_but_keeps_a_first_reference() {
        let plan = attempt_update(
            &checkout(CheckoutStatus::Succeeded),
            &[attempt("at_1", AttemptStatus::Succeeded)],
            "at_1",
            &AttemptUpdate {
                provider_reference: Some("ns-9".into()),
                ..AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::PaymentRefused))
            },
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert!(plan.is_unchanged());
        assert!(plan.history.is_empty() && plan.events.is_empty());
        assert_eq!(plan.provider_reference.as_deref(), Some("ns-9"));
        assert_eq!(plan.notification.unwrap().outcome, "unchanged");

        // A reference already stored is kept: the plan writes none.
        let mut known = attempt("at_1", AttemptStatus::Succeeded);
        known.provider_reference = Some("ns-1".into());
        let plan = attempt_update(
            &checkout(CheckoutStatus::Succeeded),
            &[known],
            "at_1",
            &AttemptUpdate {
                provider_reference: Some("ns-9".into()),
                ..AttemptUpdate::new(AttemptStatus::Succeeded, None)
            },
            &Cause::Poll(Provider::NovaSend),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(plan.provider_reference, None);
        assert!(plan.is_unchanged());
        assert_eq!(plan.notification, None, "only a webhook marks a notification");
    }

    #[test]
    fn a_cancelled_attempt_fails_and_a_late_confirmation_still_pays() {
        for ended in
            [AttemptStatus::Succeeded, AttemptStatus::Failed, AttemptStatus::Expired, AttemptStatus::Review]
        {
            assert_eq!(customer_cancel(&attempt("at_1", ended)), Err(CancelRefused::Ended(ended)));
        }
        assert_eq!(
            customer_cancel(&attempt("at_1", AttemptStatus::Authorized)),
            Err(CancelRefused::Authorized)
        );
        let waiting = attempt("at_1", AttemptStatus::AwaitingCustomer);
        let cancel = customer_cancel(&waiting).unwrap();
        let cause = Cause::Api("cancel");
        let plan = attempt_update(
            &checkout(CheckoutStatus::Processing),
            std::slice::from_ref(&waiting),
            "at_1",
            &cancel,
            &cause,
            NOW_MS,
        )
        .unwrap();
        assert_eq!(
            plan.applied(),
            Applied {
                attempt: Some((AttemptStatus::AwaitingCustomer, AttemptStatus::Failed)),
                checkout: Some((CheckoutStatus::Processing, CheckoutStatus::Open)),
            }
        );
        assert_eq!(kinds(&plan.events), vec!["attempt.failed"]);
        assert_eq!(body(&plan.events[0])["data"]["attempt"]["failure"], "CUSTOMER_CANCELLED");
        assert_eq!(
            history(&plan.history)[0],
            (Some("at_1"), Some("awaiting_customer"), "failed", "api:cancel")
        );
        // Still fetched for the window after the cancel; a provider's own "cancelled" is final.
        let until = plan.attempt_move.as_ref().and_then(|m| m.poll_until_ms);
        assert_eq!(until, Some(NOW_MS + 40 * 60 * 1000));
        let by_provider = attempt_update(
            &checkout(CheckoutStatus::Processing),
            std::slice::from_ref(&waiting),
            "at_1",
            &cancel,
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(by_provider.attempt_move.and_then(|m| m.poll_until_ms), None);
        // Cancelled, then the customer approved the prompt anyway: the provider's success pays.
        let cancelled = AttemptRecord {
            status: AttemptStatus::Failed,
            failure: Some(ErrorCode::CustomerCancelled),
            ..waiting
        };
        let mut success = AttemptUpdate::new(AttemptStatus::Succeeded, None);
        success.reported = Reported::read(Some("5000"), Some("XOF"), Currency::Xof, Some("key-at_1"));
        let late = attempt_update(
            &checkout(CheckoutStatus::Open),
            std::slice::from_ref(&cancelled),
            "at_1",
            &success,
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(
            late.applied(),
            Applied {
                attempt: Some((AttemptStatus::Failed, AttemptStatus::Succeeded)),
                checkout: Some((CheckoutStatus::Open, CheckoutStatus::Succeeded)),
            }
        );
        assert_eq!(kinds(&late.events), vec!["checkout.succeeded"]);
        assert_eq!(late.attempt_move.and_then(|m| m.poll_until_ms), None, "no more fetches once paid");
        // A second cancellation (a retry) changes nothing.
        assert_eq!(customer_cancel(&cancelled), Err(CancelRefused::Ended(AttemptStatus::Failed)));
    }

    #[test]
    fn a_failure_reopens_the_checkout_and_its_event_shows_it_open() {
        let plan = attempt_update(
            &checkout(CheckoutStatus::Processing),
            &[attempt("at_1", AttemptStatus::Created)],
            "at_1",
            &AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)),
            &Cause::Poll(Provider::NovaSend),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(
            plan.attempt_move,
            Some(AttemptMove {
                from: AttemptStatus::Created,
                to: AttemptStatus::Failed,
                failure: Some(ErrorCode::PaymentRefused),
                reported: None,
                poll_until_ms: None,
            })
        );
        assert_eq!(
            plan.checkout_move,
            Some(CheckoutMove { from: CheckoutStatus::Processing, to: CheckoutStatus::Open })
        );
        assert_eq!(
            history(&plan.history),
            vec![
                (Some("at_1"), Some("created"), "failed", "poll:nova_send"),
                (None, Some("processing"), "open", "poll:nova_send"),
            ]
        );
        assert_eq!(kinds(&plan.events), vec!["attempt.failed"]);
        let data = &body(&plan.events[0])["data"];
        assert_eq!(data["checkout"]["status"], "open");
        assert_eq!(
            data["attempt"],
            json!({"id": "at_1", "provider": "nova_send", "method": "mobile_money", "status": "failed", "failure": "PAYMENT_REFUSED"})
        );
    }

    #[test]
    fn a_second_success_on_a_paid_checkout_is_an_overpayment_naming_both_attempts() {
        let plan = attempt_update(
            &checkout(CheckoutStatus::Succeeded),
            &[attempt("at_1", AttemptStatus::Succeeded), attempt("at_2", AttemptStatus::Failed)],
            "at_2",
            &AttemptUpdate::new(AttemptStatus::Succeeded, None),
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(plan.checkout_move, None, "succeeded cannot become succeeded");
        assert_eq!(
            history(&plan.history),
            vec![(Some("at_2"), Some("failed"), "succeeded", "webhook:nova_send:wh_1")]
        );
        assert_eq!(kinds(&plan.events), vec!["checkout.overpaid"]);
        let data = &body(&plan.events[0])["data"];
        assert_eq!(data["attempt"]["id"], "at_2");
        let named: Vec<&str> =
            data["paid_attempts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(named, vec!["at_1", "at_2"]);
    }

    #[test]
    fn a_mismatched_amount_puts_the_attempt_in_review_and_says_what_was_expected() {
        let reported = Reported { amount: Some(4000), currency: Some("XOF".into()), ..Reported::default() };
        let plan = attempt_update(
            &checkout(CheckoutStatus::Processing),
            &[attempt("at_1", AttemptStatus::AwaitingCustomer)],
            "at_1",
            &AttemptUpdate { reported: reported.clone(), ..AttemptUpdate::new(AttemptStatus::Review, None) },
            &webhook(),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(plan.attempt_move.as_ref().unwrap().reported, Some(reported));
        // Review keeps the checkout processing: no checkout move, no checkout event.
        assert_eq!(plan.checkout_move, None);
        assert_eq!(kinds(&plan.events), vec!["attempt.amount_mismatch"]);
        assert_eq!(
            body(&plan.events[0])["data"]["mismatch"],
            json!({
                "expected": {"amount": 5000, "currency": "XOF", "reference": "key-at_1"},
                "reported": {"amount": 4000, "currency": "XOF"}
            })
        );
    }

    #[test]
    fn an_unknown_attempt_is_a_conflict() {
        let err = attempt_update(
            &checkout(CheckoutStatus::Processing),
            &[attempt("at_1", AttemptStatus::Created)],
            "at_9",
            &AttemptUpdate::new(AttemptStatus::Succeeded, None),
            &webhook(),
            NOW_MS,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(m) if m == "no attempt at_9"));
    }

    #[test]
    fn an_attempt_starts_only_on_an_open_checkout() {
        let a = attempt("at_1", AttemptStatus::Created);
        let plan =
            attempt_start(&checkout(CheckoutStatus::Open), &a, NOW_MS + 5000, &Cause::Api("pay"), NOW_MS)
                .unwrap();
        assert_eq!(
            plan.checkout_move,
            CheckoutMove { from: CheckoutStatus::Open, to: CheckoutStatus::Processing }
        );
        assert_eq!(
            history(&plan.history),
            vec![(Some("at_1"), None, "created", "api:pay"), (None, Some("open"), "processing", "api:pay")]
        );
        for status in [CheckoutStatus::Processing, CheckoutStatus::Succeeded, CheckoutStatus::Expired] {
            let err = attempt_start(&checkout(status), &a, 0, &Cause::Api("pay"), NOW_MS).unwrap_err();
            assert!(matches!(err, StoreError::Conflict(_)), "{status:?}");
        }
    }

    #[test]
    fn limits_refuse_from_the_counts_given() {
        let limits = AttemptLimits {
            per_checkout: 3,
            otp_failures_per_checkout: 2,
            per_phone: 5,
            phone_window_secs: 3600,
        };
        let a = attempt("at_9", AttemptStatus::Created);
        let fine = AttemptCounts {
            checkout_attempts: 2,
            otp_failures: 9,
            phone_attempts: 4,
            phone_oldest: Some(NOW - 100),
        };
        // Mobile money through NovaSend needs no code: the code failures do not count.
        assert_eq!(check_limits(&limits, &a, &fine, NOW), Ok(()));
        assert_eq!(
            check_limits(&limits, &a, &AttemptCounts { checkout_attempts: 3, ..fine }, NOW),
            Err(LimitReached::CheckoutAttempts)
        );
        let orange = AttemptRecord { method: PaymentMethod::OrangeMoney, ..a.clone() };
        assert!(counts_otp(&orange));
        assert_eq!(check_limits(&limits, &orange, &fine, NOW), Err(LimitReached::OtpFailures));
        assert_eq!(check_limits(&limits, &orange, &AttemptCounts { otp_failures: 1, ..fine }, NOW), Ok(()));
        // The oldest of 5 attempts was 100 s ago: it leaves the hour's window in 3500 s.
        assert_eq!(
            check_limits(&limits, &a, &AttemptCounts { phone_attempts: 5, ..fine }, NOW),
            Err(LimitReached::PhoneRequests { retry_after_secs: 3500 })
        );
        assert_eq!(phone_window_start(&limits, NOW), NOW - 3600);
        let no_phone = AttemptRecord { phone: None, ..a };
        assert_eq!(
            check_limits(&limits, &no_phone, &AttemptCounts { phone_attempts: 50, ..fine }, NOW),
            Ok(())
        );
    }

    #[test]
    fn refunds_never_exceed_what_an_attempt_paid_pending_ones_included() {
        let paid = checkout(CheckoutStatus::Succeeded);
        let attempts = [attempt("at_1", AttemptStatus::Succeeded), attempt("at_2", AttemptStatus::Failed)];
        let before =
            [refund("rf_1", 3000, RefundStatus::Pending), refund("rf_0", 4000, RefundStatus::Failed)];
        let plan = refund_start(
            &paid,
            &attempts,
            &before,
            &refund("rf_2", 2000, RefundStatus::Pending),
            &Cause::Api("refund"),
            NOW_MS,
        )
        .unwrap();
        assert_eq!(plan.refunded_before, 3000, "the failed refund does not count, the pending one does");
        assert_eq!(plan.refund.created_at, NOW);
        assert_eq!(plan.next_check_at_ms, NOW_MS + 60_000);
        assert_eq!(history(&plan.history), vec![(None, None, "refund rf_2 pending", "api:refund")]);
        let over = refund_start(
            &paid,
            &attempts,
            &before,
            &refund("rf_2", 2001, RefundStatus::Pending),
            &Cause::Api("refund"),
            NOW_MS,
        );
        assert!(matches!(over, Err(StoreError::Rule(ErrorCode::InvalidRefundAmount))));
        // The failed attempt paid nothing.
        let of_failed =
            RefundRecord { attempt_id: "at_2".into(), ..refund("rf_3", 100, RefundStatus::Pending) };
        let err = refund_start(&paid, &attempts, &[], &of_failed, &Cause::Api("refund"), NOW_MS);
        assert!(matches!(err, Err(StoreError::Rule(ErrorCode::RefundNotAllowed))));
        // An unpaid checkout refunds nothing.
        let err = refund_start(
            &checkout(CheckoutStatus::Processing),
            &attempts,
            &[],
            &refund("rf_4", 100, RefundStatus::Pending),
            &Cause::Api("refund"),
            NOW_MS,
        );
        assert!(matches!(err, Err(StoreError::Rule(ErrorCode::RefundNotAllowed))));
    }

    #[test]
    fn a_refund_that_succeeds_moves_the_checkout_and_emits_both_events() {
        let paid = checkout(CheckoutStatus::Succeeded);
        let attempts = [attempt("at_1", AttemptStatus::Succeeded)];
        let partial = [refund("rf_1", 2000, RefundStatus::Pending)];
        let plan = refund_finish(
            &paid,
            &attempts,
            &partial,
            "rf_1",
            RefundStatus::Succeeded,
            None,
            Some("ns-r1"),
            &Cause::Api("refund"),
            NOW_MS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(plan.refund_move.provider_reference.as_deref(), Some("ns-r1"));
        assert_eq!(
            plan.applied().checkout,
            Some((CheckoutStatus::Succeeded, CheckoutStatus::PartiallyRefunded))
        );
        assert_eq!(
            history(&plan.history),
            vec![
                (None, Some("refund rf_1 pending"), "refund rf_1 succeeded", "api:refund"),
                (None, Some("succeeded"), "partially_refunded", "api:refund"),
            ]
        );
        assert_eq!(kinds(&plan.events), vec!["refund.succeeded", "checkout.partially_refunded"]);
        let refund_event = body(&plan.events[0]);
        assert_eq!(
            refund_event["data"]["checkout"]["status"], "succeeded",
            "written before the checkout's move"
        );
        assert_eq!(
            refund_event["data"]["refund"],
            json!({"id": "rf_1", "amount": 2000, "status": "succeeded"})
        );
        assert!(refund_event["data"].get("attempt").is_none());
        let checkout_event = body(&plan.events[1]);
        assert_eq!(checkout_event["data"]["checkout"]["status"], "partially_refunded");
        assert_eq!(checkout_event["data"]["attempt"]["id"], "at_1");

        // The rest: refunded.
        let rest =
            [refund("rf_1", 2000, RefundStatus::Succeeded), refund("rf_2", 3000, RefundStatus::Pending)];
        let plan = refund_finish(
            &checkout(CheckoutStatus::PartiallyRefunded),
            &attempts,
            &rest,
            "rf_2",
            RefundStatus::Succeeded,
            None,
            None,
            &Cause::Api("refund"),
            NOW_MS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            plan.applied().checkout,
            Some((CheckoutStatus::PartiallyRefunded, CheckoutStatus::Refunded))
        );
        assert_eq!(kinds(&plan.events), vec!["refund.succeeded", "checkout.refunded"]);

        // Already ended: unchanged.
        let again = refund_finish(
            &paid,
            &attempts,
            &rest,
            "rf_1",
            RefundStatus::Succeeded,
            None,
            None,
            &Cause::Api("refund"),
            NOW_MS,
        );
        assert_eq!(again.unwrap(), None);
    }

    #[test]
    fn a_checkout_paid_twice_is_refunded_once_both_payments_went_back() {
        let attempts = [attempt("at_1", AttemptStatus::Succeeded), attempt("at_2", AttemptStatus::Succeeded)];
        let refunds =
            [RefundRecord { attempt_id: "at_1".into(), ..refund("rf_1", 5000, RefundStatus::Pending) }];
        let plan = refund_finish(
            &checkout(CheckoutStatus::Succeeded),
            &attempts,
            &refunds,
            "rf_1",
            RefundStatus::Succeeded,
            None,
            None,
            &Cause::Api("refund"),
            NOW_MS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(plan.checkout_move.unwrap().to, CheckoutStatus::PartiallyRefunded);
        assert_eq!(
            refunded_state(&checkout(CheckoutStatus::Succeeded), &attempts, 10_000),
            CheckoutStatus::Refunded
        );
    }

    #[test]
    fn a_failed_refund_moves_no_checkout() {
        let plan = refund_finish(
            &checkout(CheckoutStatus::Succeeded),
            &[attempt("at_1", AttemptStatus::Succeeded)],
            &[refund("rf_1", 2000, RefundStatus::Pending)],
            "rf_1",
            RefundStatus::Failed,
            Some(ErrorCode::ProviderUnavailable),
            None,
            &Cause::Api("refund"),
            NOW_MS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(plan.checkout_move, None);
        assert_eq!(kinds(&plan.events), vec!["refund.failed"]);
        assert_eq!(body(&plan.events[0])["data"]["refund"]["failure"], "PROVIDER_UNAVAILABLE");
    }

    #[test]
    fn only_an_open_checkout_past_its_deadline_expires() {
        let due = CheckoutRecord { expires_at: NOW, ..checkout(CheckoutStatus::Open) };
        let plan = expiry(&due, &[], NOW, NOW_MS).unwrap().unwrap();
        assert_eq!(
            plan.checkout_move,
            CheckoutMove { from: CheckoutStatus::Open, to: CheckoutStatus::Expired }
        );
        assert_eq!(history(&plan.history), vec![(None, Some("open"), "expired", "expiry")]);
        assert_eq!(kinds(&plan.events), vec!["checkout.expired"]);
        assert!(body(&plan.events[0])["data"].get("attempt").is_none());
        assert_eq!(expiry(&due, &[], NOW - 1, NOW_MS).unwrap(), None, "not yet");
        let processing = CheckoutRecord { expires_at: NOW - 100, ..checkout(CheckoutStatus::Processing) };
        assert_eq!(expiry(&processing, &[], NOW, NOW_MS).unwrap(), None, "a payment in progress keeps it");
    }

    fn notification(verified: bool) -> NotificationRecord {
        NotificationRecord {
            id: "wh_2".into(),
            provider: Provider::NovaSend,
            dedup_key: Some("evt-1".into()),
            verified,
            state: NotificationState::Received,
            duplicate_of: None,
            reference: Some("key-at_1".into()),
            update: None,
            body: "{}".into(),
            attempts: 0,
            last_error: None,
            outcome: None,
            received_at_ms: NOW_MS,
            processed_at_ms: None,
        }
    }

    #[test]
    fn the_inbox_keeps_one_notification_per_key() {
        let new = inbox_insert(&notification(true), None);
        assert_eq!(new.inserted, Inserted::New);
        assert_eq!(
            (new.row.state, new.row.dedup_key.as_deref()),
            (NotificationState::Received, Some("evt-1"))
        );
        let repeat = inbox_insert(&notification(true), Some("wh_1"));
        assert_eq!(repeat.inserted, Inserted::Duplicate { of: "wh_1".into() });
        assert_eq!(
            (repeat.row.state, repeat.row.dedup_key, repeat.row.duplicate_of.as_deref()),
            (NotificationState::Duplicate, None, Some("wh_1"))
        );
        let forged = notification(false);
        assert_eq!(inbox_dedup_key(&forged), None, "an unverified key is not looked up");
        let refused = inbox_insert(&forged, None);
        assert_eq!(
            (refused.row.state, refused.row.dedup_key, refused.inserted),
            (NotificationState::Refused, None, Inserted::New)
        );
        assert_eq!(inbox_retry_state(9, 10), NotificationState::Received);
        assert_eq!(inbox_retry_state(10, 10), NotificationState::Failed);
    }

    #[test]
    fn idempotency_takes_over_only_a_stale_reservation_when_allowed() {
        let row = IdempotencyRow {
            method_path: "POST /v1/checkouts".into(),
            request_hash: "h1".into(),
            done: None,
            created_at_ms: 1000,
        };
        let begin = |found, hash, stale_before, take| {
            idempotency_begin(found, "POST /v1/checkouts", hash, stale_before, take)
        };
        assert_eq!(begin(None, "h1", 0, false), IdempotencyDecision::Reserve);
        assert_eq!(begin(Some(&row), "h2", 0, true), IdempotencyDecision::Answer(IdempotencyBegin::Mismatch));
        assert_eq!(
            begin(Some(&row), "h1", 1000, true),
            IdempotencyDecision::Answer(IdempotencyBegin::InProgress)
        );
        assert_eq!(
            begin(Some(&row), "h1", 1001, true),
            IdempotencyDecision::TakeOver { seen_created_at_ms: 1000 }
        );
        assert_eq!(
            begin(Some(&row), "h1", 1001, false),
            IdempotencyDecision::Answer(IdempotencyBegin::Interrupted)
        );
        let done = IdempotencyRow { done: Some((201, b"{}".to_vec())), ..row.clone() };
        assert_eq!(
            begin(Some(&done), "h1", 5000, true),
            IdempotencyDecision::Answer(IdempotencyBegin::Done { status: 201, body: b"{}".to_vec() })
        );
    }

    #[test]
    fn a_send_outcome_sets_the_delivery_state() {
        assert_eq!(
            delivery_finish(&DeliveryOutcome::Delivered { status: 204 }, NOW_MS),
            DeliveryWrite {
                state: DeliveryState::Delivered,
                next_attempt_at_ms: NOW_MS,
                last_status: Some(204),
                last_error: None
            }
        );
        assert_eq!(
            delivery_finish(
                &DeliveryOutcome::Retry { at_ms: NOW_MS + 30_000, status: Some(500), error: None },
                NOW_MS
            ),
            DeliveryWrite {
                state: DeliveryState::Pending,
                next_attempt_at_ms: NOW_MS + 30_000,
                last_status: Some(500),
                last_error: None
            }
        );
        assert_eq!(
            delivery_finish(&DeliveryOutcome::Failed { status: None, error: Some("timeout".into()) }, NOW_MS)
                .state,
            DeliveryState::Failed
        );
    }
}

//! MyPVit (Gabon: Airtel Money and Moov Money): payments pushed to the customer's phone
//! (`POST /{code}/rest`, PAYMENT, final status by callback), status (`GET /{code}/status`), and
//! the temporary `X-Secret` key (`/renew-secret`). MyPVit's other APIs (payouts, payment links,
//! balance, KYC) are not used; why is said at the end.
//!
//! Sources: MyPVit's integration document v5.5 of 01/11/2024 ("the document", primary; its
//! examples and error table are in `server/tests/fixtures/mypvit/`) and the v2 web docs
//! (<https://docs.mypvit.pro/en/intro/integration-guide>,
//! <https://docs.mypvit.pro/en/v2/api/renew-secret>) and integrators' clients (secondary).
//! Where they disagree
//! or are silent, these are the choices made:
//!
//! - **URL codes.** Every API has its own URL code (`{base_url}/{code}/rest`, …), configured in
//!   [`UrlCodes`]. The document's paths have no `/v2`; the v2 web docs put one before the code: a
//!   merchant on v2 sets `base_url = "https://api.mypvit.pro/v2"`.
//! - **The secret key.** The document's `renew-secret` answers a message and POSTs the key
//!   (`{operation_account_code, secret_key, expires_in}`) to the merchant's registered
//!   secret-reception URL; the v2 docs answer the key (`secret`) in the body. Both are taken.
//!   The reception URL is this verifier's `/webhooks/my_pvit/{webhook_token}`, the same secret
//!   path and address allowlist as callbacks, so a delivered key reaches
//!   [`PaymentProvider::verify_notice`], which installs it and answers with a reference that
//!   matches no payment. It is renewed
//!   [`Settings::renew_before_s`] before it expires (integrators renew 5 minutes ahead), and
//!   on an authentication refusal (HTTP 401, or the document's `AUTHENTICATION_FAILED` which its
//!   table gives as 403) the key is renewed once and the call repeated once. Renewals are
//!   single-flight: callers that were refused with the same key wait for one renewal instead of
//!   each starting their own (every renewal makes the previous key obsolete, so racing renewals
//!   would refuse each other). The last key received is the one used, as the v2 docs say.
//! - **Several instances** ([`MyPvit::with_shared_keys`], as the verifier runs it): the key
//!   is kept in the database ([`crate::store::provider_keys`]), sealed with ChaCha20-Poly1305
//!   under a key derived from the configured `password` (HKDF-SHA256; the same
//!   [`crate::idempotency`] sealing), and read by every instance (cached [`SHARED_CACHE`]).
//!   One instance at a time renews it: it takes the renewal lease (a conditional write); the
//!   others wait for the key it gets, and an instance whose key was refused first looks for a
//!   newer one there (another instance renewed, revoking ours) before renewing. A delivery
//!   reaching any instance is stored there while a renewal's lease is live, so the renewer
//!   finds it whichever instance the load balancer sent it to. The store decides after the
//!   answer (`verify_notice` cannot wait for it): a delivery nobody awaits is acknowledged like
//!   any verified notice and changes no key. Every instance must be configured with the same
//!   `password`. Without the shared keys (adapter tests), the key lives in this process only,
//!   and a delivery no renewal awaits is refused.
//! - **Our reference.** MyPVit takes at most 15 characters; the attempt's reference (a UUID)
//!   is longer, so [`merchant_reference`] derives `VF` and 13 hex digits of its SHA-256: the
//!   same on every retry, so the idempotency of a repeated start holds (a repeated reference
//!   is answered `TRANSACTION_REFERENCE_ALREADY_EXISTS`, and the adapter then reads the
//!   existing payment's status).
//! - **Status.** Fetched by our reference, as the document's example does (`transactionId=REF…`;
//!   an integrator notes the `PAY…` id is not always accepted). `AMBIGUOUS` and unlisted values
//!   are not final: the attempt stays pending and is fetched again.
//! - **Callbacks** carry no signature: one is accepted only from [`Settings::allowed_ips`] on
//!   the secret path (compared in constant time), only triggers a status fetch
//!   (`update: None`), and is answered `{"transactionId", "responseCode"}` with the callback's
//!   own id and code, as the document requires. A callback names the payment by MyPVit's id, which
//!   the attempt holds once the start was answered; if that answer was lost, the callback is
//!   ignored and the reconciler finds the outcome by our reference.
//! - **Operator** from the number (Airtel 074/076/077, Moov 062/065/066); a number of the other
//!   network than the method chosen is refused before any call. It is not sent: the
//!   document's parameter table has no operator field, and MyPVit "automatiquement
//!   détermin\[e\]" it from the number (integrators' `operator_code` is not sent).
//! - **Numbers** are sent in the document's national form, `0` and the 8 digits (`066820866`).
//! - Who pays the operator's fees is sent as `operator_owner_charge`, the parameter table's
//!   name (the document's examples write `owner_charge_operator`; both are read).
//! - **Errors** are classified by their `error` type and HTTP status, never by the numeric
//!   code (the document's table and its own example disagree on it), into [`ErrorClass`]: the
//!   customer's or the merchant account's refusals are final (catalogue code through
//!   [`ErrorCode::from_provider_code`]); malformed requests, bad keys and bad URL codes are
//!   integration errors; maintenance is a final "provider unavailable" (nothing was taken);
//!   `SOMETHING_WENT_WRONG` and `AMBIGUOUS_TRANSACTION` leave the outcome unknown.
//! - **Refunds:** MyPVit has no refund API. GIVE_CHANGE (`/rest` with
//!   `transaction_type = GIVE_CHANGE`) is a payout from the operation account to any number, not
//!   tied to a payment, so it is not used as a refund: [`PaymentProvider::refund`] keeps its
//!   `Unsupported` default.
//! - **Links** (`/link`) do not back a checkout method: the redirection URLs are codes
//!   registered in MyPVit's dashboard, so a link cannot bring each customer back to their own
//!   checkout, and for mobile money the widget already has the number for a direct push.
//! - **Balance and KYC** (`/balance`, `/kyc`) serve no step of a checkout: a payment's outcome
//!   is read from its status, and the customer confirms with their PIN on their own phone, so
//!   the account holder's name is not needed.
//!
//! None of these four is called, so their URL codes (`link`, `balance`, `kyc`) and the links'
//! redirection URL codes are not settings: a configuration that still names one is refused with
//! the setting's name, like any unknown setting.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use axum::http::{HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::{
    catalogue::ErrorCode,
    limits,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::{Country, Network, PhoneNumber},
    status::AttemptStatus,
};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use super::{
    IncomingNotice, PaymentProvider, ProviderError, StartPayment, VerifiedNotice, WebhookError,
    budget::Budget,
    http::{self, Budgeted},
};
use crate::{
    checkouts::now_ms,
    config::{Deployment, Mode},
    idempotency::Sealing,
    store::{AttemptUpdate, Reported, provider_keys::ProviderKeys},
};

pub mod wire;

#[cfg(test)]
mod tests;

use wire::{
    Amount, Callback, CallbackAck, ChargeOwner, ErrorBody, Operator, RenewSecretForm, RenewSecretResponse,
    RestRequest, RestResponse, SecretDelivery, StatusQuery, StatusReport, TransactionStatus, TransactionType,
};
// The complete status answer, which the adapter's tests read (the adapter reads `StatusReport`).
#[cfg(test)]
use wire::StatusResponse;

/// The authentication header.
pub const SECRET_HEADER: &str = "x-secret";
/// The header choosing the callback's format. The adapter always sends `application/json`
/// (the document's default; its v5.5 also offers `application/xml`), so a callback in XML is
/// not one it asked for: it cannot be read and is refused (`WebhookError::Malformed`), never
/// taken for a payment (tested in `tests/adapters/mypvit_xml.rs`).
pub const CALLBACK_MEDIA_TYPE_HEADER: &str = "x-callback-mediatype";
/// The longest reference MyPVit accepts.
pub const MAX_REFERENCE_LEN: usize = 15;

/// The URL code of each API the adapter calls, from the merchant's space (APIs page).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlCodes {
    /// `renew-secret`.
    pub renew_secret: String,
    /// `rest` (PAYMENT).
    pub rest: String,
    /// `status`.
    pub status: String,
}

/// MyPVit's endpoint, account and keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `test` (the account's test operation account, or a sandbox) or `live`; checked by
    /// [`crate::config::Settings::validate`].
    pub mode: Mode,
    /// Live mode only: accept a `base_url` other than [`LIVE_URL`] (an egress proxy).
    #[serde(default)]
    pub allow_custom_host: bool,
    /// `https://api.mypvit.pro` (or `…/v2`).
    pub base_url: String,
    /// Each API's URL code.
    pub url_codes: UrlCodes,
    /// The operation account, `ACC_…`.
    pub operation_account_code: String,
    /// The password of `renew-secret`.
    pub password: SecretString,
    /// The code of the registered secret-reception URL (this verifier's
    /// `/webhooks/my_pvit/{webhook_token}`).
    pub reception_url_code: String,
    /// The code of the registered callback URL (the same address).
    pub callback_url_code: String,
    /// The secret last path segment of the callback and reception URL.
    pub webhook_token: SecretString,
    /// The addresses callbacks and keys may come from (MyPVit mails its public address when the
    /// account goes live).
    pub allowed_ips: Vec<IpAddr>,
    /// Who pays PVit's fees.
    pub owner_charge: ChargeOwner,
    /// Who pays the operator's fees (MyPVit's default: the customer).
    #[serde(default)]
    pub operator_owner_charge: Option<ChargeOwner>,
    /// Request timeout.
    pub timeout_ms: u64,
    /// How long before its expiry the key is renewed (integrators: 300).
    pub renew_before_s: u64,
    /// How long to wait for a renewed key to arrive at the reception URL.
    pub secret_wait_ms: u64,
}

/// MyPVit's API (<https://docs.mypvit.pro/en/intro/integration-guide>): one host for the test
/// operation account and the production ones.
pub const LIVE_URL: &str = "https://api.mypvit.pro";

impl Settings {
    /// What the configuration's validation checks. MyPVit has no separate test host (an
    /// account's test operation account runs on [`LIVE_URL`] too), and nothing configured here
    /// says test or live: its only documented key form is the `X-Secret` (`sk_live_…` in the
    /// integration guide's examples), delivered at run time, not configured.
    pub fn deployment(&self) -> Deployment<'_> {
        Deployment {
            section: "mypvit",
            name: "MyPVit",
            mode: self.mode,
            allow_custom_host: self.allow_custom_host,
            base_url: &self.base_url,
            live_url: LIVE_URL,
            test_host: None,
            keys: vec![],
        }
    }
}

/// How a MyPVit error type is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The customer's wallet, number or amount: refused, final.
    Customer,
    /// The merchant's account at MyPVit (inactive, not allowed, balance, fees schedule):
    /// refused, final; this way to pay cannot be used now.
    Business,
    /// Our request, key or configured codes are wrong: an operator must act.
    Integration,
    /// Maintenance: nothing was processed; the customer may retry later.
    Down,
    /// The outcome is not known: ask for the status later.
    Unknown,
    /// "Not found" or "already exists": answered by the caller with a status lookup.
    Lookup,
}

/// The class of each error type of the document's table (`server/tests/fixtures/mypvit/error_codes.tsv`).
pub fn error_class(error: &str) -> Option<ErrorClass> {
    use ErrorClass::*;
    Some(match error.trim().to_ascii_uppercase().as_str() {
        "INVALID_PHONE_NUMBER"
        | "CUSTOMER_PIN_NOT_SET"
        | "CUSTOMER_BLOCKED"
        | "CUSTOMER_UNKNOWN"
        | "UNKNOWN_CUSTOMER"
        | "TRANSACTION_AMOUNT_TOO_LOW"
        | "TRANSACTION_MAX_AMOUNT_EXCEDED"
        | "TRANSACTION_LINK_USED"
        | "TRANSACTION_EXPIRED" => Customer,
        "OPERATION_ACCOUNT_INSUFFICIENT_BALANCE"
        | "OPERATION_ACCOUNT_BALANCE_REACHED"
        | "MERCHANT_NOT_ACTIVE"
        | "OPERATION_ACCOUNT_NOT_ACTIVE"
        | "NOT_ALLOWED_OPERATION_ACCOUNT_TRANSACTION_TYPE"
        | "OPERATION_ACCOUNT_TRANSACTION_TYPE_NOT_ACTIVE"
        | "SERVICE_NOT_ACTIVE"
        | "TRANSACTION_TYPE_NOT_ACTIVE"
        | "OPERATOR_NOT_ACTIVE"
        | "OPERATOR_SERVICE_NOT_ALLOWED"
        | "OPERATOR_SERVICE_NOT_ACTIVE"
        | "OPERATOR_TYPE_TRANSACTION_NOT_ACTIVE"
        | "OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED"
        | "OPERATOR_AND_OPERATION_ACCOUNT_MISMATCH"
        | "SERVICE_NOT_SUPPORTED"
        | "CALLBACK_URL_NOT_ACTIVE"
        | "REDIRECTION_URL_NOT_ACTIVE"
        | "FAILED_REDIRECTION_URL_NOT_ACTIVE"
        | "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"
        | "REPATRIATION_ACCOUNT_NOT_FOUND"
        | "REPATRIATION_ACCOUNT_NOT_ACTIVE"
        | "FEES_SCHEDULE_NOT_IMPLEMENTED"
        | "OPERATOR_FEATURE_NOT_IMPLEMENTED"
        | "FEES_SCHEDULE_NOT_ACTIVE" => Business,
        "INVALID_MERCHANT_IP_ADDRESS"
        | "INVALID_ENVIRONMENT"
        | "INVALID_CALLBACK_URL_CODE"
        | "INVALID_REDIRECTION_URL_CODE"
        | "INVALID_FAILED_REDIRECTION_URL_CODE"
        | "NULL_TRANSACTION_TYPE_IDENTIFIER"
        | "NULL_OPERATOR_IDENTIFIER"
        | "MISSING_REQUEST_HEADER"
        | "UNREADABLE_REQUEST_BODY"
        | "INVALID_SECRET_KEY_RECEPTION_URL_CODE"
        | "MISSING_REQUEST_PARAM"
        | "FORBIDDEN"
        | "AUTHENTICATION_FAILED"
        | "API_NOT_FOUND"
        | "MERCHANT_NOT_FOUND"
        | "OPERATION_ACCOUNT_NOT_FOUND"
        | "SERVICE_NOT_FOUND"
        | "TRANSACTION_TYPE_NOT_FOUND"
        | "OPERATOR_NOT_FOUND"
        | "HTTP_MEDIA_TYPE_NOT_SUPPORTED"
        | "CONSTRAINT_VIOLATION" => Integration,
        "API_MAINTENANCE_MODE" | "UNAVAILABLE_SERVICE" | "SENDING_SECRET_ERROR" => Down,
        "SOMETHING_WENT_WRONG" | "AMBIGUOUS_TRANSACTION" => Unknown,
        "TRANSACTION_NOT_FOUND" | "TRANSACTION_REFERENCE_ALREADY_EXISTS" => Lookup,
        _ => return None,
    })
}

/// Turns a refused call (HTTP `status`, raw `body`) into the adapter's error.
pub fn classify_error(status: u16, body: &[u8]) -> ProviderError {
    let Ok(e) = serde_json::from_slice::<ErrorBody>(body) else {
        return match status {
            429 | 500..=599 => ProviderError::Unavailable(format!("MyPVit answered {status}")),
            _ => ProviderError::Integration(format!("MyPVit answered {status} with an unknown body")),
        };
    };
    let refused = |fallback| ProviderError::Refused {
        code: ErrorCode::from_provider_code(Provider::MyPvit, &e.error).unwrap_or(fallback),
        provider_code: e.error.clone(),
    };
    match error_class(&e.error) {
        Some(ErrorClass::Customer | ErrorClass::Business) => refused(ErrorCode::PaymentRefused),
        Some(ErrorClass::Integration) => {
            ProviderError::Integration(format!("MyPVit answered {status} {}: {}", e.error, e.message))
        }
        Some(ErrorClass::Down) => refused(ErrorCode::ProviderUnavailable),
        Some(ErrorClass::Unknown | ErrorClass::Lookup) => {
            ProviderError::Unavailable(format!("MyPVit answered {status} {}", e.error))
        }
        None if status == 401 => ProviderError::Integration(format!("MyPVit refused our key ({})", e.error)),
        // Too many requests (RFC 6585) or a failure of MyPVit's: retry later, never a refusal.
        None if status == 429 || status >= 500 => {
            ProviderError::Unavailable(format!("MyPVit answered {status} {}", e.error))
        }
        None => refused(ErrorCode::PaymentRefused),
    }
}

/// Our ≤ 15-character reference for an attempt reference (idempotency key): `VF` and 13
/// uppercase hex digits of its SHA-256, the same on every call.
pub fn merchant_reference(reference: &str) -> String {
    let digest = hex::encode_upper(Sha256::digest(reference.as_bytes()));
    format!("VF{}", &digest[..MAX_REFERENCE_LEN - 2])
}

/// The number as MyPVit's examples write it: `0` and the 8 national digits.
pub fn account_number(phone: &PhoneNumber) -> String {
    format!("0{}", phone.nsn())
}

/// MyPVit's operator for a Gabonese number, if it is a mobile-money network's.
pub fn operator_of(phone: &PhoneNumber) -> Option<Operator> {
    match (phone.country(), phone.network()) {
        (Country::Ga, Network::Airtel) => Some(Operator::AirtelMoney),
        (Country::Ga, Network::Moov) => Some(Operator::MoovMoney),
        _ => None,
    }
}

/// The catalogue's code for a FAILED transaction (MyPVit gives no reason).
fn failed_code() -> ErrorCode {
    ErrorCode::from_provider_code(Provider::MyPvit, "FAILED").unwrap_or(ErrorCode::PaymentRefused)
}

/// What a transaction status says about an attempt.
pub fn attempt_status(status: TransactionStatus) -> (AttemptStatus, Option<ErrorCode>) {
    match status {
        TransactionStatus::Success => (AttemptStatus::Succeeded, None),
        TransactionStatus::Failed => (AttemptStatus::Failed, Some(failed_code())),
        // Not final: wait for the callback or the next fetch.
        TransactionStatus::Pending | TransactionStatus::Ambiguous | TransactionStatus::Unknown => {
            (AttemptStatus::AwaitingCustomer, None)
        }
    }
}

fn update(status: TransactionStatus, provider_reference: Option<String>) -> AttemptUpdate {
    let (status, failure) = attempt_status(status);
    AttemptUpdate { status, failure, provider_reference, payment_url: None, reported: Reported::default() }
}

/// What a status answer (`GET /v2/{codeUrl}/status`) says about the attempt whose reference is
/// `reference`. MyPVit's integration document v5.5 (<https://docs.mypvit.pro/en/intro/integration-guide>;
/// its example is `server/tests/fixtures/mypvit/status_response.json`) gives `amount`, the
/// transaction's amount as asked in the payment request, and `fees` apart (the callback adds
/// `totalAmount` = amount + fees and `chargeOwner`, who bears the fees): `amount` is compared,
/// never `fees` nor `totalAmount`. The status names no currency: MyPVit works in XAF only. Our
/// reference is echoed as `merchant_reference_id`, in the form we send it
/// ([`merchant_reference`]); it is reported as ours when it is that form of it.
pub fn status_update(status: &StatusReport, reference: &str) -> AttemptUpdate {
    let echoed = status.merchant_reference_id.trim();
    let ours = if echoed == merchant_reference(reference) { reference } else { echoed };
    AttemptUpdate {
        reported: Reported::read(status.amount_text().as_deref(), None, Currency::Xaf, Some(ours)),
        ..update(status.status, None)
    }
}

fn refused(code: ErrorCode, provider_code: &str) -> ProviderError {
    ProviderError::Refused { code, provider_code: provider_code.into() }
}

/// The current key, its schedule, and who is renewing it.
#[derive(Debug)]
struct Keys {
    state: Mutex<KeyState>,
    /// Bumped at every key installed; renewals wait on it for a delivered key.
    generation: watch::Sender<u64>,
    /// Held by the one renewal in flight.
    renewing: tokio::sync::Mutex<()>,
}

/// The longest a received key is used before it is renewed, in seconds.
const MAX_KEY_LIFE_S: u64 = 24 * 3600;

/// How long an instance uses the shared key it read before reading it again (another
/// instance may have renewed it).
pub const SHARED_CACHE: Duration = Duration::from_secs(5);
/// How often a renewal waiting for a key looks for it in the database.
const SHARED_POLL: Duration = Duration::from_millis(100);
/// HKDF's `info` for the key sealing the shared key (RFC 5869, section 3.2).
const SHARED_KEY_INFO: &[u8] = b"verifier mypvit secret key v1";

/// How long a received key is used before it is renewed.
fn key_life(expires_in: u64, renew_before: u64) -> Duration {
    // A key is trusted for a day at most, whatever its delivery says: a huge `expires_in`
    // (it arrives in a request body) once overflowed the clock and panicked the handler.
    let expires_in = expires_in.min(MAX_KEY_LIFE_S);
    // Never renew sooner than half-way through a key's life, so that a short-lived key
    // cannot make every call renew.
    let ahead = renew_before.min(expires_in / 2);
    Duration::from_secs(expires_in - ahead)
}

/// The key shared through the database by every instance serving one operation account.
struct Shared {
    keys: Arc<dyn ProviderKeys>,
    /// Its row: `mypvit:{operation account}`.
    name: String,
    sealing: Sealing,
    /// This instance, as a renewal lease's holder.
    holder: String,
    /// Woken when this instance stored a delivered key.
    stored: tokio::sync::Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.name)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Stores a delivered key, if a renewal (of any instance) awaits one.
    async fn store_delivered(&self, key: &str, expires_in: u64, renew_before: u64) -> Option<i64> {
        let now = now_ms();
        let life = i64::try_from(key_life(expires_in, renew_before).as_millis()).unwrap_or(i64::MAX);
        let sealed = self.sealing.seal(key.as_bytes());
        match self.keys.store_delivered(&self.name, &sealed, now.saturating_add(life), now).await {
            Ok(Some(generation)) => {
                self.stored.notify_waiters();
                Some(generation)
            }
            Ok(None) => {
                tracing::warn!("a MyPVit key delivery no renewal asked for was ignored");
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "storing a delivered MyPVit key failed");
                None
            }
        }
    }
}

#[derive(Debug, Default)]
struct KeyState {
    key: Option<SecretString>,
    renew_at: Option<Instant>,
    /// When the key was read from the shared store (shared keys only).
    read_at: Option<Instant>,
    generation: u64,
    /// Until when a key delivery is awaited: set while a renewal we asked for is in flight.
    /// A delivery at any other time is ignored (anyone who learnt the callback path and sends
    /// from an allowed address could otherwise install a key of their choosing).
    awaiting_until: Option<Instant>,
}

/// Clears the awaited delivery when the renewal that set it ends, however it ends.
struct Awaiting<'a>(&'a Keys);

impl Drop for Awaiting<'_> {
    fn drop(&mut self) {
        self.0.lock().awaiting_until = None;
    }
}

impl Keys {
    fn new() -> Keys {
        Keys {
            state: Mutex::new(KeyState::default()),
            generation: watch::Sender::new(0),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyState> {
        // Every write replaces whole fields, so a poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key, if there is one that is not due for renewal.
    fn fresh(&self) -> Option<(SecretString, u64)> {
        let s = self.lock();
        match (&s.key, s.renew_at) {
            (Some(k), Some(at)) if Instant::now() < at => Some((k.clone(), s.generation)),
            _ => None,
        }
    }

    /// [`Keys::fresh`], if read from the shared store less than `max_age` ago (any age when
    /// `None`: the key is this process's own).
    fn fresh_within(&self, max_age: Option<Duration>) -> Option<(SecretString, u64)> {
        let recent = max_age.is_none_or(|age| self.lock().read_at.is_some_and(|at| at.elapsed() < age));
        recent.then(|| self.fresh()).flatten()
    }

    /// Installs the key read from the shared store: its generation there, due at `renew_at`.
    fn install_shared(&self, key: SecretString, generation: u64, renew_at: Instant) {
        {
            let mut s = self.lock();
            s.key = Some(key);
            s.renew_at = Some(renew_at);
            s.read_at = Some(Instant::now());
            s.generation = generation;
        }
        self.generation.send_replace(generation);
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Installs a key received now, valid `expires_in` seconds; the last one received wins.
    fn install(&self, key: SecretString, expires_in: u64, renew_before: u64) -> u64 {
        let generation = {
            let mut s = self.lock();
            s.key = Some(key);
            s.renew_at = Some(Instant::now() + key_life(expires_in, renew_before));
            s.generation += 1;
            s.generation
        };
        self.generation.send_replace(generation);
        generation
    }

    /// Awaits a key delivery until `until` or until the returned guard is dropped.
    fn await_delivery(&self, until: Instant) -> Awaiting<'_> {
        self.lock().awaiting_until = Some(until);
        Awaiting(self)
    }

    /// Installs a delivered key if a renewal of ours is in flight (several may arrive when
    /// renewals race at MyPVit: the last one received wins, as MyPVit keeps the last one);
    /// `None` when no renewal asked for it: the key is ignored.
    fn install_delivered(&self, key: SecretString, expires_in: u64, renew_before: u64) -> Option<u64> {
        let awaited = self.lock().awaiting_until.is_some_and(|until| Instant::now() < until);
        awaited.then(|| self.install(key, expires_in, renew_before))
    }

    fn current(&self) -> Option<(SecretString, u64)> {
        let s = self.lock();
        s.key.clone().map(|k| (k, s.generation))
    }
}

/// Why an authenticated call gave no usable answer.
#[derive(Debug)]
enum CallError {
    /// No request reached MyPVit's processing: no key could be had, or a fresh key was refused.
    NotSent(ProviderError),
    /// The request was sent; this is what became of it.
    Sent(ProviderError),
}

impl From<CallError> for ProviderError {
    fn from(e: CallError) -> ProviderError {
        match e {
            CallError::NotSent(e) | CallError::Sent(e) => e,
        }
    }
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: bytes::Bytes,
}

impl Reply {
    fn auth_refused(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            || serde_json::from_slice::<ErrorBody>(&self.body)
                .is_ok_and(|e| e.error.eq_ignore_ascii_case("AUTHENTICATION_FAILED"))
    }

    fn error(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    fn is_error(&self, error: &str) -> bool {
        self.error().is_some_and(|e| e.error.eq_ignore_ascii_case(error))
    }

    /// The success body, or the classified error. A success that cannot be read may still
    /// have moved money: outcome unknown.
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ProviderError> {
        if !self.status.is_success() {
            return Err(classify_error(self.status.as_u16(), &self.body));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable MyPVit answer: {e}")))
    }
}

/// The MyPVit adapter.
#[derive(Debug)]
pub struct MyPvit {
    base_url: String,
    codes: UrlCodes,
    account: String,
    password: SecretString,
    reception_url_code: String,
    callback_url_code: String,
    webhook_token: SecretString,
    allowed_ips: Vec<IpAddr>,
    owner_charge: ChargeOwner,
    operator_owner_charge: Option<ChargeOwner>,
    renew_before_s: u64,
    secret_wait: Duration,
    /// How long a renewal may take: its lease in the shared store lasts that long.
    renewal_lease: Duration,
    keys: Keys,
    /// The key shared with the other instances, when the verifier gives a store for it.
    shared: Option<Arc<Shared>>,
    http: http::Client,
}

impl MyPvit {
    /// An adapter for the endpoint, account and keys of `settings`.
    pub fn new(settings: &Settings) -> anyhow::Result<MyPvit> {
        Ok(MyPvit {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            codes: settings.url_codes.clone(),
            account: settings.operation_account_code.clone(),
            password: settings.password.clone(),
            reception_url_code: settings.reception_url_code.clone(),
            callback_url_code: settings.callback_url_code.clone(),
            webhook_token: settings.webhook_token.clone(),
            allowed_ips: settings.allowed_ips.clone(),
            owner_charge: settings.owner_charge,
            operator_owner_charge: settings.operator_owner_charge,
            renew_before_s: settings.renew_before_s,
            secret_wait: Duration::from_millis(settings.secret_wait_ms),
            renewal_lease: Duration::from_millis(settings.timeout_ms.saturating_add(settings.secret_wait_ms))
                + Duration::from_secs(30),
            keys: Keys::new(),
            shared: None,
            // MyPVit states no request limit: no budget beyond its `Retry-After`s (see
            // [`super::budget`]).
            http: http::Client::new(
                Provider::MyPvit,
                Duration::from_millis(settings.timeout_ms),
                Budget::unlimited(),
            )?,
        })
    }

    /// The same adapter keeping its key in `keys`, shared with every instance on that
    /// database: one renews at a time, all read it, a delivery is taken by whichever receives
    /// it. The key is sealed under a key derived from the configured `password`.
    pub fn with_shared_keys(mut self, keys: Arc<dyn ProviderKeys>) -> MyPvit {
        let name = format!("mypvit:{}", self.account);
        let sealing =
            Sealing::derived(self.password.expose_secret().as_bytes(), SHARED_KEY_INFO, name.clone());
        let holder = hex::encode(rand::random::<[u8; 8]>());
        self.shared =
            Some(Arc::new(Shared { keys, name, sealing, holder, stored: tokio::sync::Notify::new() }));
        self
    }

    /// The shared key, installed here, if one is stored, not due for renewal, newer than
    /// generation `newer_than` (when given), and opens under our sealing key.
    async fn read_shared(
        &self,
        shared: &Shared,
        newer_than: Option<u64>,
    ) -> Result<Option<(SecretString, u64)>, ProviderError> {
        let stored = shared.keys.read(&shared.name).await.map_err(|e| {
            ProviderError::Unavailable(format!("the shared MyPVit key could not be read: {e}"))
        })?;
        let Some(stored) = stored else { return Ok(None) };
        let generation = u64::try_from(stored.generation).unwrap_or(0);
        let left_ms = stored.renew_at_ms.saturating_sub(now_ms());
        if left_ms <= 0 || newer_than.is_some_and(|seen| generation <= seen) {
            return Ok(None);
        }
        let Some(key) = shared.sealing.open(&stored.sealed).and_then(|k| String::from_utf8(k).ok()) else {
            // Sealed under another password: renewed as if there were none.
            tracing::warn!("the shared MyPVit key does not open with this password's key; renewing it");
            return Ok(None);
        };
        let key = SecretString::from(key);
        let renew_at = Instant::now() + Duration::from_millis(left_ms.unsigned_abs());
        self.keys.install_shared(key.clone(), generation, renew_at);
        Ok(Some((key, generation)))
    }

    /// Waits until a key newer than generation `seen` is in the shared store, until `deadline`.
    async fn await_shared(
        &self,
        shared: &Shared,
        seen: u64,
        deadline: Instant,
    ) -> Result<(SecretString, u64), ProviderError> {
        loop {
            let woken = shared.stored.notified();
            if let Some(key) = self.read_shared(shared, Some(seen)).await? {
                return Ok(key);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ProviderError::Unavailable(
                    "the renewed MyPVit key did not arrive at the reception URL in time".into(),
                ));
            }
            let _ = tokio::time::timeout(SHARED_POLL.min(deadline - now), woken).await;
        }
    }

    /// Renews the shared key, holding the lock of this process's renewals: takes a newer key
    /// another instance stored, or the renewal lease and renews, or waits for the key of the
    /// instance that holds the lease.
    async fn renew_shared(&self, shared: &Shared, seen: u64) -> Result<(SecretString, u64), ProviderError> {
        if let Some(key) = self.read_shared(shared, Some(seen)).await? {
            return Ok(key);
        }
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(self.renewal_lease.as_millis()).unwrap_or(i64::MAX));
        let unavailable = |e: crate::store::StoreError| {
            ProviderError::Unavailable(format!("the MyPVit key's renewal lease could not be taken: {e}"))
        };
        let leased = shared.keys.try_lease_renewal(&shared.name, &shared.holder, now, until).await;
        if !leased.map_err(unavailable)? {
            tracing::info!("another instance is renewing the MyPVit key; waiting for it");
            return self.await_shared(shared, seen, Instant::now() + self.renewal_lease).await;
        }
        let renewed = self.renew_with_provider(Some(shared), seen).await;
        if let Err(e) = shared.keys.release_lease(&shared.name, &shared.holder).await {
            tracing::warn!(error = %e, "the MyPVit key's renewal lease could not be released; it ends by itself");
        }
        renewed
    }

    fn url(&self, code: &str, api: &str) -> String {
        format!("{}/{code}/{api}", self.base_url)
    }

    /// The key to use now, renewed first when missing or due.
    async fn secret(&self) -> Result<(SecretString, u64), ProviderError> {
        if let Some(key) = self.keys.fresh_within(self.shared.as_ref().map(|_| SHARED_CACHE)) {
            return Ok(key);
        }
        if let Some(shared) = &self.shared
            && let Some(key) = self.read_shared(shared, None).await?
        {
            return Ok(key);
        }
        let seen = self.keys.generation();
        self.renew(seen).await
    }

    /// Renews the key, unless another caller installed a newer one than generation `seen`
    /// meanwhile. One renewal at a time.
    async fn renew(&self, seen: u64) -> Result<(SecretString, u64), ProviderError> {
        let _only_one = self.keys.renewing.lock().await;
        if self.keys.generation() != seen
            && let Some(key) = self.keys.fresh()
        {
            return Ok(key);
        }
        match &self.shared {
            Some(shared) => self.renew_shared(shared, seen).await,
            None => self.renew_with_provider(None, seen).await,
        }
    }

    /// Asks MyPVit for a new key and waits for it: installed here, or stored in the shared
    /// store (whose lease the caller holds).
    async fn renew_with_provider(
        &self,
        shared: Option<&Shared>,
        seen: u64,
    ) -> Result<(SecretString, u64), ProviderError> {
        let mut delivered = self.keys.generation.subscribe();
        let before = *delivered.borrow_and_update();
        let form = RenewSecretForm {
            operation_account_code: Some(self.account.clone()),
            reception_url_code: Some(self.reception_url_code.clone()),
            password: Some(self.password.expose_secret().to_owned()),
        };
        // MyPVit delivers the key to the reception URL during this call or shortly after
        // (document "Intégration API MyPVit" v5.5, renew-secret): only then is one taken.
        let _awaiting = self.keys.await_delivery(Instant::now() + self.secret_wait + Duration::from_secs(30));
        tracing::info!("renewing the MyPVit secret key");
        let resp = self
            .http
            .post(self.url(&self.codes.renew_secret, "renew-secret"))
            .form(&form)
            .send_via(&self.http)
            .await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(http::transport)?;
        if !status.is_success() {
            return Err(match classify_error(status.as_u16(), &body) {
                // Maintenance or SENDING_SECRET_ERROR: try again later.
                ProviderError::Refused { code: ErrorCode::ProviderUnavailable, provider_code } => {
                    ProviderError::Unavailable(format!("MyPVit could not renew the key ({provider_code})"))
                }
                // The account, password or codes are wrong: no retry will help.
                ProviderError::Refused { provider_code, .. } => {
                    ProviderError::Integration(format!("MyPVit refused to renew the key ({provider_code})"))
                }
                other => other,
            });
        }
        // The v2 docs answer the key itself; the document sends it to the reception URL.
        if let Ok(RenewSecretResponse { secret: Some(key), expires_in, .. }) = serde_json::from_slice(&body) {
            if let Some(shared) = shared {
                let expires_in = expires_in.unwrap_or(3600);
                let Some(generation) = shared.store_delivered(&key, expires_in, self.renew_before_s).await
                else {
                    return Err(ProviderError::Unavailable(
                        "the renewed MyPVit key could not be stored".into(),
                    ));
                };
                let (key, generation) = (SecretString::from(key), u64::try_from(generation).unwrap_or(0));
                let renew_at = Instant::now() + key_life(expires_in, self.renew_before_s);
                self.keys.install_shared(key.clone(), generation, renew_at);
                return Ok((key, generation));
            }
            let generation = self.keys.install(
                SecretString::from(key.clone()),
                expires_in.unwrap_or(3600),
                self.renew_before_s,
            );
            return Ok((SecretString::from(key), generation));
        }
        if let Some(shared) = shared {
            return self.await_shared(shared, seen, Instant::now() + self.secret_wait).await;
        }
        let arrived = tokio::time::timeout(self.secret_wait, delivered.wait_for(|g| *g > before)).await;
        match arrived {
            Ok(Ok(_)) => self
                .keys
                .current()
                .ok_or_else(|| ProviderError::Unavailable("the renewed MyPVit key vanished".into())),
            _ => Err(ProviderError::Unavailable(
                "the renewed MyPVit key did not arrive at the reception URL in time".into(),
            )),
        }
    }

    /// Renews the key now (tests and operators), unless a renewal finished while this one
    /// waited its turn; the last key received is the one used.
    pub async fn renew_now(&self) -> Result<(), ProviderError> {
        let seen = self.keys.generation();
        self.renew(seen).await.map(|_| ())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, ProviderError> {
        let resp = req.send_via(&self.http).await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(http::transport)?;
        Ok(Reply { status, body })
    }

    /// Sends an authenticated request; on an authentication refusal, renews the key once and
    /// sends it once more.
    async fn call(&self, build: impl Fn(HeaderValue) -> reqwest::RequestBuilder) -> Result<Reply, CallError> {
        let header = |key: &SecretString| {
            let mut value = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                CallError::NotSent(ProviderError::Integration("the MyPVit key is not a header value".into()))
            })?;
            value.set_sensitive(true);
            Ok::<_, CallError>(value)
        };
        let (key, generation) = self.secret().await.map_err(CallError::NotSent)?;
        let reply = self.send(build(header(&key)?)).await.map_err(CallError::Sent)?;
        if !reply.auth_refused() {
            return Ok(reply);
        }
        tracing::info!("MyPVit refused the key; renewing it once");
        let (key, _) = self.renew(generation).await.map_err(CallError::NotSent)?;
        let reply = self.send(build(header(&key)?)).await.map_err(CallError::Sent)?;
        if reply.auth_refused() {
            return Err(CallError::NotSent(ProviderError::Integration(
                "MyPVit refused a freshly renewed key".into(),
            )));
        }
        Ok(reply)
    }

    fn xaf(money: Money) -> Result<Amount, ProviderError> {
        match money.currency() {
            // XAF has no minor unit: the count of minor units is the amount in francs.
            Currency::Xaf => Ok(Amount(money.minor())),
            other => Err(refused(ErrorCode::MethodUnavailable, &format!("CURRENCY_{other}"))),
        }
    }

    fn check_phone(phone: &PhoneNumber) -> Result<Operator, ProviderError> {
        operator_of(phone).ok_or_else(|| refused(ErrorCode::InvalidPhoneNumber, "INVALID_PHONE_NUMBER"))
    }

    fn rest_request(&self, reference: &str, amount: Amount, phone: &PhoneNumber) -> RestRequest {
        RestRequest {
            agent: None,
            amount,
            product: None,
            reference: merchant_reference(reference),
            service: wire::SERVICE_RESTFUL.into(),
            callback_url_code: Some(self.callback_url_code.clone()),
            customer_account_number: account_number(phone),
            merchant_operation_account_code: self.account.clone(),
            transaction_type: TransactionType::Payment,
            owner_charge: self.owner_charge,
            owner_charge_operator: self.operator_owner_charge,
            // MyPVit derives the operator from the number (the document's parameter table has
            // no operator field); the caller checked the number's network before.
            operator_code: None,
            free_info: None,
        }
    }

    async fn post_rest(&self, body: &RestRequest) -> Result<Reply, CallError> {
        let url = self.url(&self.codes.rest, "rest");
        self.call(|key| {
            self.http
                .post(&url)
                .header(SECRET_HEADER, key)
                .header(CALLBACK_MEDIA_TYPE_HEADER, "application/json")
                .json(body)
        })
        .await
    }

    /// The status MyPVit answers for our payment `reference`, whatever reference and amount it
    /// reports.
    async fn status_of(&self, reference: &str) -> Result<Option<StatusReport>, ProviderError> {
        let ours = merchant_reference(reference);
        let query = StatusQuery {
            transaction_id: Some(ours.clone()),
            account_operation_code: Some(self.account.clone()),
            transaction_operation: Some(TransactionType::Payment.as_str().into()),
        };
        let url = self.url(&self.codes.status, "status");
        let reply = self.call(|key| self.http.get(&url).header(SECRET_HEADER, key).query(&query)).await?;
        if reply.status == StatusCode::NOT_FOUND || reply.is_error("TRANSACTION_NOT_FOUND") {
            return Ok(None);
        }
        Ok(Some(reply.parse()?))
    }

    fn sender_allowed(&self, notice: &IncomingNotice<'_>) -> bool {
        let token_ok = notice
            .path_token
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(self.webhook_token.expose_secret().as_bytes())));
        let peer = match notice.peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(notice.peer, IpAddr::V4),
            v4 => v4,
        };
        token_ok && self.allowed_ips.contains(&peer)
    }
}

/// What may arrive on the callback path.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Notice {
    Callback(Callback),
    Secret(SecretDelivery),
}

#[async_trait]
impl PaymentProvider for MyPvit {
    fn id(&self) -> Provider {
        Provider::MyPvit
    }

    fn budget(&self) -> &Budget {
        self.http.budget()
    }

    fn calls(&self) -> &http::CallLog {
        self.http.calls()
    }

    /// MyPVit documents no pace; its push payments finish within minutes: 10 s, backing off to
    /// 2 min.
    fn poll_policy(&self) -> super::PollPolicy {
        super::PollPolicy { floor_ms: 10_000, max_ms: 120_000 }
    }

    fn methods(&self, country: Country, money: Money) -> Vec<PaymentMethod> {
        if country == Country::Ga && limits::check(Provider::MyPvit, money).is_ok() {
            vec![PaymentMethod::AirtelMoney, PaymentMethod::MoovMoney]
        } else {
            Vec::new()
        }
    }

    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError> {
        let phone = req.phone.as_ref().ok_or_else(|| refused(ErrorCode::InvalidPhoneNumber, "NO_NUMBER"))?;
        let operator = Self::check_phone(phone)?;
        let expected = match req.method {
            PaymentMethod::AirtelMoney => Operator::AirtelMoney,
            PaymentMethod::MoovMoney => Operator::MoovMoney,
            other => {
                return Err(ProviderError::Unsupported(format!("MyPVit does not carry {}", other.as_str())));
            }
        };
        if operator != expected {
            return Err(refused(ErrorCode::InvalidPhoneNumber, "OPERATOR_MISMATCH"));
        }
        let amount = Self::xaf(req.money)?;
        limits::check(Provider::MyPvit, req.money).map_err(|e| refused(e.code(), "LIMITS"))?;
        let body = self.rest_request(&req.reference, amount, phone);
        let reply = match self.post_rest(&body).await {
            Ok(reply) => reply,
            // Nothing was sent: the payment certainly did not start.
            Err(CallError::NotSent(ProviderError::Unavailable(why))) => {
                tracing::warn!(%why, "no MyPVit key; the payment was not sent");
                return Err(refused(ErrorCode::ProviderUnavailable, "SECRET_UNAVAILABLE"));
            }
            Err(e) => return Err(e.into()),
        };
        if reply.is_error("TRANSACTION_REFERENCE_ALREADY_EXISTS") {
            // A repeated start: MyPVit has the payment already; read what became of it.
            return match self.fetch(&req.reference, None).await? {
                Some(update) => Ok(update),
                None => Err(ProviderError::Unavailable("MyPVit has the reference but no payment".into())),
            };
        }
        if !reply.status.is_success()
            && let Ok(r) = serde_json::from_slice::<RestResponse>(&reply.body)
            && r.status == TransactionStatus::Failed
        {
            return Err(refused(failed_code(), "FAILED"));
        }
        let r: RestResponse = reply.parse()?;
        Ok(update(r.status, r.reference_id))
    }

    async fn fetch(
        &self,
        reference: &str,
        _provider_reference: Option<&str>,
    ) -> Result<Option<AttemptUpdate>, ProviderError> {
        Ok(self.status_of(reference).await?.map(|s| status_update(&s, reference)))
    }

    fn claimed_references(&self, body: &[u8]) -> Vec<String> {
        super::strings_at(body, &["/merchantReferenceId", "/transactionId"])
    }

    fn verify_notice(&self, notice: &IncomingNotice<'_>) -> Result<VerifiedNotice, WebhookError> {
        if !self.sender_allowed(notice) {
            return Err(WebhookError::BadSignature);
        }
        match serde_json::from_slice::<Notice>(notice.body) {
            Ok(Notice::Callback(c)) => Ok(VerifiedNotice {
                ack: serde_json::to_value(CallbackAck {
                    response_code: c.code,
                    transaction_id: c.transaction_id.clone(),
                })
                .ok(),
                reference: c.transaction_id,
                // Unsigned: the status is fetched from MyPVit instead of trusted.
                update: None,
            }),
            Ok(Notice::Secret(d)) if d.operation_account_code == self.account && self.shared.is_some() => {
                // Stored while some instance's renewal awaits a key (the store decides; the
                // answer cannot wait for it): whichever instance received it.
                let reference = d.operation_account_code.clone();
                if let Some(shared) = self.shared.clone() {
                    let renew_before = self.renew_before_s;
                    tokio::spawn(async move {
                        if shared.store_delivered(&d.secret_key, d.expires_in, renew_before).await.is_some() {
                            tracing::info!("a new MyPVit key arrived and was stored for every instance");
                        }
                    });
                }
                Ok(VerifiedNotice { reference, update: None, ack: None })
            }
            Ok(Notice::Secret(d)) if d.operation_account_code == self.account => {
                if self
                    .keys
                    .install_delivered(SecretString::from(d.secret_key), d.expires_in, self.renew_before_s)
                    .is_none()
                {
                    tracing::warn!("a MyPVit key delivery no renewal asked for was ignored");
                    return Err(WebhookError::Malformed(
                        "a key delivery while no renewal is in flight".into(),
                    ));
                }
                tracing::info!("a new MyPVit key arrived");
                // The operation account's code matches no payment: nothing else happens.
                Ok(VerifiedNotice { reference: d.operation_account_code, update: None, ack: None })
            }
            Ok(Notice::Secret(_)) => {
                Err(WebhookError::Malformed("a key for another operation account".into()))
            }
            Err(e) => Err(WebhookError::Malformed(e.to_string())),
        }
    }
}

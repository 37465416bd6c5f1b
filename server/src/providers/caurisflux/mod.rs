//! CaurisFlux: mobile money across UEMOA and CEMAC (`POST /payments/initiate`, `direct` to one
//! operator or `checkout` on CaurisFlux's hosted page), status (`GET /payments/status/{id}`)
//! and webhooks signed with `X-Webhook-Signature` (lowercase hex HMAC-SHA256 over
//! `"<X-Webhook-Timestamp>.<raw body>"`, keyed with the dashboard's webhook secret, optionally
//! prefixed `sha256=`). Authentication is `X-API-Key: <public key>:<secret key>`.
//!
//! Sources: the errors guide <https://docs.caurisflux.com/guides/errors> (French), the API pages
//! <https://docs.caurisflux.com/api-reference/introduction.html> and `payments/initiate`, and the
//! provider's WooCommerce plugin (github.com/caurisflux/caurisflux-wp,
//! `includes/class-caurisflux-webhook.php`, `includes/class-caurisflux-client.php`), which holds
//! the webhook rules. The examples the adapter is tested against are in
//! `server/tests/fixtures/caurisflux/` (its `README.md` says where each comes from).
//!
//! How our methods are carried:
//! - Orange Money, MTN MoMo, Moov Money and Airtel Money: `type: "direct"` with `provider`,
//!   `country` and `customerPhone`; the customer confirms a push prompt on the phone.
//! - Wave: `type: "direct"` with `provider: "wave"`; CaurisFlux answers a `redirectUrl`
//!   (`https://pay.wave.com/…` in the docs' own example) that becomes the attempt's
//!   `payment_url`: Wave is paid in its app, not on a prompt. Direct payments may also carry
//!   `deepLinks` (an object, listed on `payments/initiate` without its members): the adapter
//!   ignores them. `redirectUrl` is an https link that opens the app on a phone and shows a page
//!   (or our QR code) on a computer, which is what a customer needs; an app link opens only on a
//!   phone with the app, and its unpublished shape could not be read with certainty.
//! - Card: `type: "checkout"`, CaurisFlux's hosted page (Visa/Mastercard with 3-D Secure, per the
//!   plugin), whose `redirectUrl` becomes the `payment_url`.
//!
//! Choices where CaurisFlux's public material is silent or contradictory:
//! - **Coverage** ([`listing`]): which operators CaurisFlux serves in which country, and each
//!   country's currency, are read from its public `GET /payments/providers` and
//!   `GET /countries/active` when the verifier starts, and again every few hours
//!   ([`listing::REFRESH_EVERY`]); nothing is offered for CaurisFlux until they were read once
//!   (a failure is logged and asked again shortly). Cards are offered in every active country,
//!   on the hosted checkout page.
//! - **Provider codes**: only `wave` and `orange_money` are documented (`payments/initiate`);
//!   the others are taken only as `GET /payments/providers` lists them, and a listed code is
//!   one of our methods when it is `mtn_momo`, `moov_money` or `airtel_money` (the pattern of
//!   the documented two). Codes we do not know are not offered.
//! - **Request field names**: the errors guide's validation table names `customer.phone` and
//!   `payment_method`, the `payments/initiate` reference names the request's own fields
//!   `customerPhone` and `provider`, and the official plugin sends those camelCase fields. The
//!   request is built as the reference page and the plugin name it; the guide's names are the
//!   labels of its validation messages.
//! - **`X-API-Version`**: not on the public pages; sent as the official plugin sends it
//!   ([`API_VERSION`], `includes/class-caurisflux-client.php`).
//! - **Status by our reference**: when the start call's answer was lost we have no
//!   `transactionId`, so the status is asked by our `externalReference`. If CaurisFlux does
//!   not resolve it (404), the verifier repeats the start with the same `X-Idempotency-Key`,
//!   which CaurisFlux documents for exactly this (`payments/initiate`), so nothing is charged
//!   twice.
//! - **Envelopes**: success bodies are read wrapped in `{success, data}` or flat (the docs show
//!   both: `payments/initiate` wraps, `payouts/get-status` does not).
//! - **Errors** are read in the three shapes seen: `{error: "CODE"}` (the plugin reads a string
//!   `error`), `{statusCode, message}` (NestJS, the docs' example) and
//!   `{success: false, error: {code, message}}`; a named code decides before the status. NestJS
//!   reason phrases (`Bad Request`) are not codes. `400`/`VALIDATION_ERROR` is told apart by the
//!   guide's documented messages (amount, currency, number, method). A `429` is "retry later"
//!   unless it carries `DAILY_LIMIT_EXCEEDED`, a refusal for the day. Payment error names are
//!   not published (the guide lists them by their action only); ours are in [`PAYMENT_ERRORS`].
//! - **Rate limits**: every call draws from one budget per account, `rate_per_minute` and
//!   `rate_per_hour` (the guide's defaults, 100 and 1 000), so the adapter never earns a `429`
//!   of its own; a `Retry-After` closes the budget until then ([`super::budget`]).
//! - **Webhooks**: signed over `"<timestamp>.<body>"` (the plugin's current form) or over the
//!   body alone (the form the plugin still accepts and its README documents), with or without
//!   the `sha256=` prefix, under the current (`X-Webhook-*`) or legacy (`X-Cauris-*`) header
//!   names. A timestamp, when sent, must be within 300 s of our clock (the plugin's window);
//!   a body-only signature without a timestamp is accepted and its replays are deduplicated by
//!   the inbox.
//! - **Environments**: `mode = "test"` takes `pk_test_`/`sk_test_` keys on any URL but the
//!   production API; `mode = "live"` takes `pk_live_`/`sk_live_` keys on the production API over
//!   HTTPS (another host only with `allow_custom_host`, never the sandbox host). Anything else
//!   refuses to start (docs `guides/errors`, "Mélanger les environnements"): see
//!   [`crate::config::Settings::validate`].
//!
//! Refunds: CaurisFlux has no refund API ("Fonctionnalité à venir", docs `guides/refunds`:
//! refunds are asked of support@cauris-pay.com by e-mail and handled in 24–48 working hours), so
//! [`PaymentProvider::refund`] keeps its default answer, `Unsupported`.

use std::{num::NonZeroU32, time::Duration};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use shared::{
    catalogue::ErrorCode,
    limits,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::Country,
    status::AttemptStatus,
};

use super::{
    IncomingNotice, PaymentProvider, ProviderError, StartPayment, VerifiedNotice, WebhookError,
    budget::{Budget, Limit},
    http::{self, Budgeted},
};
use crate::{
    config::{Deployment, KeyForm, Mode},
    store::{AttemptUpdate, Reported},
};

pub mod listing;
pub mod wire;

use wire::{ErrorBody, InitiateRequest, MobileProvider, Payment, PaymentStatus, PaymentType, WebhookBody};

/// The API key header: `<public key>:<secret key>`.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The idempotency header of `POST /payments/initiate`.
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";
/// The webhook signature header (the plugin also accepts [`LEGACY_SIGNATURE_HEADER`]).
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The webhook timestamp header, unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
/// The webhook event header.
pub const EVENT_HEADER: &str = "x-webhook-event";
/// The webhook delivery id header.
pub const DELIVERY_HEADER: &str = "x-webhook-delivery-id";
/// The older name of the signature header.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-cauris-signature";
/// The older name of the timestamp header.
pub const LEGACY_TIMESTAMP_HEADER: &str = "x-cauris-timestamp";
/// How far a webhook's timestamp may be from our clock, in seconds (the plugin's ±300 s).
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;
/// The production API's base URL.
pub const PRODUCTION_URL: &str = "https://prod-api.caurisflux.com/api/v1";
/// CaurisFlux's hosted sandbox's base URL.
pub const SANDBOX_URL: &str = "https://sandbox-api.caurisflux.com/api/v1";
/// The `X-API-Version` header the official plugin sends.
pub const API_VERSION_HEADER: &str = "x-api-version";
/// Its value in the official plugin (`includes/class-caurisflux-client.php`).
pub const API_VERSION: &str = "2026-01-01";
/// CaurisFlux's hosted sandbox's host.
pub const SANDBOX_HOST: &str = "sandbox-api.caurisflux.com";

/// Our methods in the order they are offered, each with its CaurisFlux code.
const METHOD_ORDER: [PaymentMethod; 5] = [
    PaymentMethod::OrangeMoney,
    PaymentMethod::MtnMomo,
    PaymentMethod::MoovMoney,
    PaymentMethod::AirtelMoney,
    PaymentMethod::Wave,
];

/// The payment errors of the errors guide's "Erreurs de paiement", which it lists by their
/// action only, with the code names we chose for them (`PROVIDER_ERROR` is the guide's own,
/// from its monitoring advice; `INSUFFICIENT_FUNDS` is unconfirmed).
pub const PAYMENT_ERRORS: &[(&str, &str)] = &[
    ("INSUFFICIENT_FUNDS", "Informer le client de recharger son compte."),
    ("INVALID_PHONE_NUMBER", "Vérifier le numéro de téléphone."),
    ("PAYMENT_DECLINED", "Proposer au client de réessayer."),
    ("PAYMENT_EXPIRED", "Initier une nouvelle session de paiement."),
    ("PROVIDER_ERROR", "Réessayer plus tard ou choisir une autre méthode."),
    ("PAYMENT_METHOD_NOT_SUPPORTED", "Utiliser une autre méthode de paiement."),
];

/// CaurisFlux's endpoint and keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `test` (keys `pk_test_`/`sk_test_`) or `live` (keys `pk_live_`/`sk_live_`, on
    /// [`PRODUCTION_URL`]); checked by [`crate::config::Settings::validate`].
    pub mode: Mode,
    /// Live mode only: accept a `base_url` other than [`PRODUCTION_URL`] (an egress proxy).
    #[serde(default)]
    pub allow_custom_host: bool,
    /// The API's base URL as the docs write it, with `/api/v1`: [`PRODUCTION_URL`] or
    /// [`SANDBOX_URL`] (a test verifier may use any URL, e.g. a simulator's).
    pub base_url: String,
    /// `pk_test_…` or `pk_live_…`.
    pub public_key: String,
    /// `sk_test_…` or `sk_live_…`.
    pub secret_key: SecretString,
    /// The secret set in CaurisFlux's dashboard (Réglages → Webhooks) for signatures.
    pub webhook_secret: SecretString,
    /// During a rotation: the secret used before `webhook_secret`, still accepted until
    /// `webhook_secret_previous_until` ([`crate::providers::rotation`]).
    #[serde(default)]
    pub webhook_secret_previous: Option<SecretString>,
    /// When the previous secret stops being accepted (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub webhook_secret_previous_until: Option<time::OffsetDateTime>,
    /// Request timeout (the plugin uses 30 s).
    pub timeout_ms: u64,
    /// Requests a minute this account may send: CaurisFlux's default is 100, and an account's
    /// limits can be raised (<https://docs.caurisflux.com/guides/errors>, "Erreurs de limite").
    #[serde(default = "default_rate_per_minute")]
    pub rate_per_minute: NonZeroU32,
    /// Requests an hour this account may send: CaurisFlux's default is 1 000 (same page).
    #[serde(default = "default_rate_per_hour")]
    pub rate_per_hour: NonZeroU32,
    /// How long CaurisFlux waits for the customer to confirm a payment, in seconds, if you know
    /// it for your account: the widget counts down to it while waiting. CaurisFlux gives each
    /// payment an `expiresAt` (<https://docs.caurisflux.com/api-reference/payments/initiate>)
    /// but documents no fixed length, so it is unset by default and the widget counts down to
    /// the checkout's deadline.
    #[serde(default)]
    pub confirmation_window_s: Option<u64>,
}

/// CaurisFlux's documented default: 100 requests a minute (<https://docs.caurisflux.com/guides/errors>).
pub const DEFAULT_RATE_PER_MINUTE: NonZeroU32 = NonZeroU32::new(100).expect("not zero");
/// CaurisFlux's documented default: 1 000 requests an hour (same page).
pub const DEFAULT_RATE_PER_HOUR: NonZeroU32 = NonZeroU32::new(1000).expect("not zero");

fn default_rate_per_minute() -> NonZeroU32 {
    DEFAULT_RATE_PER_MINUTE
}

fn default_rate_per_hour() -> NonZeroU32 {
    DEFAULT_RATE_PER_HOUR
}

impl Settings {
    /// What the configuration's validation checks: both keys' environment by their prefix, and
    /// the hosts of <https://docs.caurisflux.com/guides/errors> ("Mélanger les environnements":
    /// `pk_test_*:sk_test_*` with `sandbox-api.caurisflux.com`, `pk_live_*:sk_live_*` with
    /// `prod-api.caurisflux.com`).
    pub fn deployment(&self) -> Deployment<'_> {
        Deployment {
            section: "caurisflux",
            name: "CaurisFlux",
            mode: self.mode,
            allow_custom_host: self.allow_custom_host,
            base_url: &self.base_url,
            live_url: PRODUCTION_URL,
            test_host: Some(SANDBOX_HOST),
            keys: vec![
                ("public_key", key_form(&self.public_key, "pk", "pk_test_… or pk_live_…")),
                ("secret_key", key_form(self.secret_key.expose_secret(), "sk", "sk_test_… or sk_live_…")),
            ],
        }
    }
}

/// What a key's prefix says: `{kind}_test_…` or `{kind}_live_…` with something after it.
fn key_form(key: &str, kind: &str, expected: &'static str) -> KeyForm {
    let rest = key.trim().strip_prefix(kind).and_then(|k| k.strip_prefix('_'));
    let marked = |mark: &str| rest.and_then(|k| k.strip_prefix(mark)).is_some_and(|k| !k.is_empty());
    if marked("test_") {
        KeyForm::Test
    } else if marked("live_") {
        KeyForm::Live
    } else {
        KeyForm::Malformed { expected }
    }
}

/// Why CaurisFlux's adapter cannot be built; the verifier refuses to start. (Keys and URL are
/// checked against the mode by [`crate::config::Settings::validate`].)
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No webhook secret: no notification could be verified.
    #[error(
        "the CaurisFlux webhook_secret is empty: set the secret of CaurisFlux's dashboard (Réglages → Webhooks)"
    )]
    NoWebhookSecret,
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    /// A previous webhook secret without its deadline, or the reverse.
    #[error(transparent)]
    Rotation(#[from] super::rotation::RotationError),
}

/// The CaurisFlux adapter.
#[derive(Debug)]
pub struct CaurisFlux {
    base_url: String,
    api_key: SecretString,
    webhook_secrets: super::rotation::WebhookSecrets,
    http: http::Client,
    catalogue: std::sync::Arc<listing::Catalogue>,
    confirmation_window: Option<Duration>,
}

impl CaurisFlux {
    /// An adapter for `settings`, refused when the webhook secret is missing.
    pub fn new(settings: &Settings) -> Result<CaurisFlux, ConfigError> {
        if settings.webhook_secret.expose_secret().trim().is_empty() {
            return Err(ConfigError::NoWebhookSecret);
        }
        let base_url = settings.base_url.trim().trim_end_matches('/').to_owned();
        let http = http::Client::new(
            Provider::CaurisFlux,
            Duration::from_millis(settings.timeout_ms),
            Budget::new(&[
                Limit::per_minute(settings.rate_per_minute),
                Limit::per_hour(settings.rate_per_hour),
            ]),
        )
        .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(CaurisFlux {
            catalogue: std::sync::Arc::new(listing::Catalogue::new(http.clone(), base_url.clone())),
            base_url,
            api_key: format!("{}:{}", settings.public_key.trim(), settings.secret_key.expose_secret().trim())
                .into(),
            webhook_secrets: super::rotation::WebhookSecrets::new(
                "caurisflux",
                &settings.webhook_secret,
                settings.webhook_secret_previous.as_ref(),
                settings.webhook_secret_previous_until,
            )?,
            http,
            confirmation_window: settings.confirmation_window_s.map(Duration::from_secs),
        })
    }

    /// Reads CaurisFlux's lists of providers and countries now (the verifier does at start;
    /// [`PaymentProvider::methods`] reads them again in the background when due). A failure
    /// keeps the last lists and is logged; the verifier runs on.
    /// Sets the lists as if just read from CaurisFlux (tests elsewhere in the crate, with no
    /// network).
    #[cfg(test)]
    pub(crate) fn set_listing(&self, listing: listing::Listing) {
        self.catalogue.set(listing);
    }

    pub async fn refresh_providers(&self) -> Result<(), ProviderError> {
        self.catalogue.refresh().await.map(drop)
    }

    /// Whether CaurisFlux, as last listed, serves `operator` in `country`.
    fn listed(&self, country: Country, operator: MobileProvider) -> bool {
        self.catalogue
            .current()
            .is_some_and(|l| l.country(country).is_some_and(|(_, ops)| ops.contains(&operator)))
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut key = HeaderValue::from_str(self.api_key.expose_secret())
            .map_err(|_| ProviderError::Integration("the CaurisFlux API key is not a valid header".into()))?;
        key.set_sensitive(true);
        Ok(req
            .header(API_KEY_HEADER, key)
            .header(ACCEPT, "application/json")
            .header(API_VERSION_HEADER, API_VERSION))
    }

    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ProviderError> {
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| ProviderError::Integration(format!("bad CaurisFlux base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| ProviderError::Integration("CaurisFlux base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Verifies a notification against `now` (unix seconds).
    pub fn verify_at(&self, notice: &IncomingNotice<'_>, now: i64) -> Result<VerifiedNotice, WebhookError> {
        let header = |names: [&str; 2]| {
            names.into_iter().find_map(|n| notice.headers.get(n)?.to_str().ok().filter(|v| !v.is_empty()))
        };
        let signature =
            header([SIGNATURE_HEADER, LEGACY_SIGNATURE_HEADER]).ok_or(WebhookError::BadSignature)?;
        let timestamp = header([TIMESTAMP_HEADER, LEGACY_TIMESTAMP_HEADER]).map(str::trim);
        if let Some(timestamp) = timestamp {
            let sent: i64 = timestamp.parse().map_err(|_| WebhookError::BadSignature)?;
            if sent <= 0 || (now - sent).abs() > TIMESTAMP_TOLERANCE_SECONDS {
                return Err(WebhookError::BadSignature);
            }
        }
        let signature = signature.trim();
        let presented = hex::decode(signature.strip_prefix("sha256=").unwrap_or(signature))
            .map_err(|_| WebhookError::BadSignature)?;
        let matches = |secret: &str, prefix: Option<&str>| {
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
                if let Some(ts) = prefix {
                    mac.update(ts.as_bytes());
                    mac.update(b".");
                }
                mac.update(notice.body);
                mac.verify_slice(&presented).is_ok()
            })
        };
        // The current form over "<timestamp>.<body>", or the legacy one over the body alone;
        // during a rotation, under the previous secret too until its deadline.
        let at = time::OffsetDateTime::from_unix_timestamp(now)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let signed = self.webhook_secrets.any_at(at, |secret| {
            timestamp.is_some_and(|ts| matches(secret, Some(ts))) || matches(secret, None)
        });
        if !signed {
            return Err(WebhookError::BadSignature);
        }

        let body: WebhookBody =
            serde_json::from_slice(notice.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let reference = body
            .data
            .external_reference
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| body.data.id().map(str::to_owned))
            .ok_or_else(|| WebhookError::Malformed("no externalReference nor transactionId".into()))?;
        Ok(VerifiedNotice { reference, update: event_update(&body), ack: None })
    }
}

/// Signs a webhook as CaurisFlux does: lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length: this arm cannot run.
        Err(_) => String::new(),
    }
}

/// The catalogue's code for a CaurisFlux error code: the documented ones through
/// [`ErrorCode::from_provider_code`], then our names of the payment errors ([`PAYMENT_ERRORS`]);
/// anything else is a refusal without a reason.
pub fn catalogue_code(code: &str) -> ErrorCode {
    let own = |c: &str| match c.trim().to_ascii_uppercase().as_str() {
        "INVALID_PHONE_NUMBER" => Some(ErrorCode::InvalidPhoneNumber),
        "PAYMENT_DECLINED" => Some(ErrorCode::CustomerDeclined),
        "PAYMENT_EXPIRED" => Some(ErrorCode::SessionExpired),
        "PAYMENT_METHOD_NOT_SUPPORTED" => Some(ErrorCode::MethodUnavailable),
        _ => None,
    };
    ErrorCode::from_provider_code(Provider::CaurisFlux, code)
        .or_else(|| own(code))
        .unwrap_or(ErrorCode::PaymentRefused)
}

/// A `VALIDATION_ERROR` (or a 400 without a code), told apart by the errors guide's documented
/// messages.
fn validation_code(text: &str, amount: Option<Money>) -> ErrorCode {
    let text = text.to_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if mentions(&["montant", "amount"]) {
        match amount {
            Some(a)
                if a.minor()
                    < limits::limits(Provider::CaurisFlux, a.currency()).map_or(1, |l| l.min_minor) =>
            {
                ErrorCode::AmountTooLow
            }
            _ => ErrorCode::LimitExceeded,
        }
    } else if mentions(&["numéro", "numero", "téléphone", "phone"]) {
        ErrorCode::InvalidPhoneNumber
    } else {
        // Currency, method or provider: this way to pay cannot be used as asked.
        ErrorCode::MethodUnavailable
    }
}

/// An error body in any of the three shapes (see the module doc): its named code, if any, and
/// its text.
fn read_error(body: &[u8]) -> Option<(Option<String>, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(inner) = value.get("error").filter(|e| e.is_object()) {
        // `{success: false, error: {code, message}}`.
        let inner: ErrorBody = serde_json::from_value(inner.clone()).ok()?;
        return Some((inner.named_code().map(str::to_owned), inner.text()));
    }
    let flat: ErrorBody = serde_json::from_value(value).ok()?;
    Some((flat.named_code().map(str::to_owned), flat.text()))
}

/// Classifies an error answer. `amount` is what was asked to be charged, when a payment was.
pub fn classify_error(status: u16, body: &[u8], amount: Option<Money>) -> ProviderError {
    let parsed = read_error(body);
    let code = parsed.as_ref().and_then(|(c, _)| c.clone());
    let text = parsed.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
    let label = code.as_deref().unwrap_or("no code");
    match (status, code.as_deref()) {
        // The day's limit is reached: a refusal, whatever the status (a 429 included).
        (_, Some("DAILY_LIMIT_EXCEEDED")) => ProviderError::Refused {
            code: catalogue_code("DAILY_LIMIT_EXCEEDED"),
            provider_code: label.into(),
        },
        // Rate limits: nothing was done; retry later.
        (429, _) | (_, Some("RATE_LIMIT_EXCEEDED")) => {
            ProviderError::Unavailable(format!("CaurisFlux rate limit reached ({label}): {text}"))
        }
        (_, Some("UNAUTHORIZED" | "FORBIDDEN")) | (401 | 403, _) => {
            ProviderError::Integration(format!("CaurisFlux refused our API key ({label}): {text}"))
        }
        (500..=599, _) => ProviderError::Unavailable(format!("CaurisFlux answered {status} ({label})")),
        (400 | 422, None | Some("VALIDATION_ERROR")) if parsed.is_some() => ProviderError::Refused {
            code: validation_code(&text, amount),
            provider_code: format!("{}: {text}", code.as_deref().unwrap_or("VALIDATION_ERROR")),
        },
        (400 | 422, Some(c)) => {
            ProviderError::Refused { code: catalogue_code(c), provider_code: c.to_owned() }
        }
        _ => ProviderError::Integration(format!("CaurisFlux answered {status} ({label}): {text}")),
    }
}

/// What a payment record says about our attempt.
pub fn to_update(p: &Payment) -> AttemptUpdate {
    let (status, failure) = match p.status.unwrap_or(PaymentStatus::Unknown) {
        PaymentStatus::Success => (AttemptStatus::Succeeded, None),
        PaymentStatus::Failed => {
            (AttemptStatus::Failed, Some(p.failure_code().map_or(ErrorCode::PaymentRefused, catalogue_code)))
        }
        PaymentStatus::Cancelled => (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)),
        PaymentStatus::Expired => (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
        PaymentStatus::Pending | PaymentStatus::Processing | PaymentStatus::Unknown => {
            (AttemptStatus::AwaitingCustomer, None)
        }
    };
    AttemptUpdate {
        status,
        failure,
        provider_reference: p.id().map(str::to_owned),
        payment_url: p.page().map(str::to_owned),
        reported: reported(p),
    }
}

/// The money a payment record (status, initiate answer, webhook `data`) reports. CaurisFlux's
/// payments carry one `amount`, the amount asked in `POST /payments/initiate` (whole units;
/// https://docs.caurisflux.com/api-reference/payments/initiate), with its `currency` (XOF when
/// absent, as that page says) and our `externalReference`: that `amount` is compared. Fees
/// (`fees`, `netAmount`) exist only on payouts (`/api-reference/payouts/initiate`). The
/// official WooCommerce plugin reads the same `amount`/`currency` from webhooks
/// (`includes/class-caurisflux-webhook.php` in github.com/caurisflux/caurisflux-wp).
pub fn reported(p: &Payment) -> Reported {
    let amount = p.amount.as_ref().map(ToString::to_string);
    Reported::read(amount.as_deref(), p.currency.as_deref(), Currency::Xof, p.external_reference.as_deref())
}

/// What a verified webhook says, when its event is explicit; `None` makes the verifier fetch
/// the status instead (refund and unknown events).
pub fn event_update(w: &WebhookBody) -> Option<AttemptUpdate> {
    use wire::WebhookEvent::*;
    let (status, failure) = match w.event {
        PaymentSuccess | PaymentCompleted => (AttemptStatus::Succeeded, None),
        PaymentFailed => (
            AttemptStatus::Failed,
            Some(w.data.failure_code().map_or_else(|| catalogue_code("payment.failed"), catalogue_code)),
        ),
        PaymentCancelled => (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)),
        PaymentExpired => (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
        RefundCompleted | Unknown => return None,
    };
    Some(AttemptUpdate {
        status,
        failure,
        provider_reference: w.data.id().map(str::to_owned),
        payment_url: None,
        reported: reported(&w.data),
    })
}

/// CaurisFlux's operator code for one of our methods (cards go through the hosted page).
pub fn operator_of(method: PaymentMethod) -> Option<MobileProvider> {
    match method {
        PaymentMethod::OrangeMoney => Some(MobileProvider::OrangeMoney),
        PaymentMethod::MtnMomo => Some(MobileProvider::MtnMomo),
        PaymentMethod::MoovMoney => Some(MobileProvider::MoovMoney),
        PaymentMethod::Wave => Some(MobileProvider::Wave),
        PaymentMethod::AirtelMoney => Some(MobileProvider::AirtelMoney),
        PaymentMethod::MobileMoney | PaymentMethod::Card => None,
    }
}

fn refused(code: ErrorCode, provider_code: &str) -> ProviderError {
    ProviderError::Refused { code, provider_code: provider_code.to_owned() }
}

#[async_trait]
impl PaymentProvider for CaurisFlux {
    fn id(&self) -> Provider {
        Provider::CaurisFlux
    }

    /// `rate_per_minute` and `rate_per_hour` (100 and 1 000 by default, errors guide).
    fn budget(&self) -> &Budget {
        self.http.budget()
    }

    fn calls(&self) -> &http::CallLog {
        self.http.calls()
    }

    /// CaurisFlux allows 100 requests a minute and 1 000 an hour per key (errors guide): fetches of
    /// one attempt start at 10 s and back off to 2 min so that many pending payments fit.
    fn poll_policy(&self) -> super::PollPolicy {
        super::PollPolicy { floor_ms: 10_000, max_ms: 120_000 }
    }

    /// `[caurisflux] confirmation_window_s`: CaurisFlux does not publish the length.
    fn confirmation_window(&self, _method: PaymentMethod) -> Option<Duration> {
        self.confirmation_window
    }

    fn methods(&self, country: Country, money: Money) -> Vec<PaymentMethod> {
        self.catalogue.refresh_if_due();
        let Some(listing) = self.catalogue.current() else { return Vec::new() };
        let Some((currency, operators)) = listing.country(country) else { return Vec::new() };
        if money.currency() != currency || limits::check(Provider::CaurisFlux, money).is_err() {
            return Vec::new();
        }
        METHOD_ORDER
            .into_iter()
            .filter(|&m| operator_of(m).is_some_and(|o| operators.contains(&o)))
            .chain([PaymentMethod::Card])
            .collect()
    }

    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError> {
        let currency = req.money.currency();
        if currency.exponent() != 0 {
            // CaurisFlux takes whole units of XOF and XAF only.
            return Err(refused(ErrorCode::MethodUnavailable, "currency_not_supported"));
        }
        let (kind, provider, phone) = match req.method {
            PaymentMethod::Card => (PaymentType::Checkout, None, req.phone.as_ref()),
            method => {
                let operator = operator_of(method)
                    .filter(|&o| self.listed(req.country, o))
                    .ok_or_else(|| refused(ErrorCode::MethodUnavailable, "method_not_offered"))?;
                let phone = req
                    .phone
                    .as_ref()
                    .ok_or_else(|| refused(ErrorCode::InvalidPhoneNumber, "phone_missing"))?;
                (PaymentType::Direct, Some(operator), Some(phone))
            }
        };
        let body = InitiateRequest {
            kind,
            // XOF and XAF have no minor unit: the count of minor units is the whole amount.
            amount: req.money.minor(),
            currency,
            external_reference: req.reference.clone(),
            provider,
            country: Some(req.country.code().to_owned()),
            customer_phone: phone.map(|p| p.as_e164().to_owned()),
            customer_name: Some(req.customer_name.clone()).filter(|n| !n.is_empty()),
            customer_email: req.customer.as_ref().and_then(|c| c.email.clone()),
            description: req.description.clone(),
            callback_url: Some(format!("{}/webhooks/{}", req.callback_base, Provider::CaurisFlux.as_str())),
            return_url: Some(req.return_url.clone()),
            cancel_url: Some(req.return_url.clone()),
            metadata: None,
        };
        let resp = self
            .authed(self.http.post(self.url(&["payments", "initiate"])?))?
            .header(IDEMPOTENCY_HEADER, &req.reference)
            .json(&body)
            .send_via(&self.http)
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(http::transport)?;
        if !status.is_success() {
            return Err(classify_error(status.as_u16(), &bytes, Some(req.money)));
        }
        // A success we cannot read may still have started a charge: outcome unknown.
        let payment = wire::parse_payment(&bytes)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable CaurisFlux payment: {e}")))?;
        if payment.id().is_none() {
            return Err(ProviderError::Unavailable("CaurisFlux answered without a transactionId".into()));
        }
        Ok(to_update(&payment))
    }

    async fn fetch(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
    ) -> Result<Option<AttemptUpdate>, ProviderError> {
        let key = provider_reference.unwrap_or(reference);
        let resp =
            self.authed(self.http.get(self.url(&["payments", "status", key])?))?.send_via(&self.http).await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(http::transport)?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(classify_error(status.as_u16(), &bytes, None));
        }
        let payment = wire::parse_payment(&bytes)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable CaurisFlux status: {e}")))?;
        // Another `externalReference` in the answer is reported as such: a success with it is
        // a mismatch (review), never our payment.
        Ok(Some(to_update(&payment)))
    }

    fn event_id(&self, notice: &IncomingNotice<'_>) -> Option<String> {
        let id = notice.headers.get(DELIVERY_HEADER)?.to_str().ok()?.trim();
        (!id.is_empty() && id.len() <= 200).then(|| format!("delivery:{id}"))
    }

    fn claimed_references(&self, body: &[u8]) -> Vec<String> {
        super::strings_at(body, &["/data/externalReference", "/data/transactionId", "/data/id"])
    }

    fn verify_notice(&self, notice: &IncomingNotice<'_>) -> Result<VerifiedNotice, WebhookError> {
        self.verify_at(notice, time::OffsetDateTime::now_utc().unix_timestamp())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod money_tests {
    use shared::money::{Currency, Money};

    use super::{event_update, to_update, wire};
    use crate::checkouts::{Verdict, check_reported};

    const SIMULATION: &str = include_str!("../../../tests/fixtures/caurisflux/webhook_admin_simulation.json");
    const INITIATE: &str = include_str!("../../../tests/fixtures/caurisflux/initiate_response.json");

    fn xof(n: u64) -> Money {
        Money::new(n, Currency::Xof).unwrap()
    }

    #[test]
    fn a_payment_reports_its_amount_currency_and_our_reference() {
        // The admin's simulated webhook: `"amount":5000.0,"currency":"XOF","externalReference":"1234"`.
        let success = SIMULATION.replace("payment.failed", "payment.success");
        let hook: wire::WebhookBody = serde_json::from_str(&success).unwrap();
        let update = event_update(&hook).expect("payment events are explicit");
        assert_eq!(update.reported.amount, Some(5000));
        assert_eq!(check_reported(&update.reported, xof(5000), "1234"), Verdict::Matches);
        assert_eq!(check_reported(&update.reported, xof(5000), "1235"), Verdict::Mismatch);
        assert_eq!(check_reported(&update.reported, xof(4999), "1234"), Verdict::Mismatch);
        let xaf: wire::WebhookBody = serde_json::from_str(&success.replace("\"XOF\"", "\"XAF\"")).unwrap();
        let reported = event_update(&xaf).unwrap().reported;
        assert_eq!(check_reported(&reported, xof(5000), "1234"), Verdict::Mismatch);
        // The initiate answer's `data`: 5000 XOF, no reference echoed.
        let payment = wire::parse_payment(INITIATE.as_bytes()).unwrap();
        let reported = to_update(&payment).reported;
        assert_eq!((reported.amount, reported.reference), (Some(5000), None));
    }
}

//! Sandboxes that misbehave on demand, as real providers sometimes do: one mechanism shared by
//! the four sandboxes, driven by data.
//!
//! `POST /_sandbox/misbehave` with `{"scope": "global" | {"reference": "…"} | {"phone": "…"},
//! "modes": [...]}` sets the modes of that scope (replacing the scope's previous ones);
//! `DELETE /_sandbox/misbehave` resets every scope; `GET` shows them. A `reference` scope
//! applies to the payments whose request, path or webhook contains that text (our reference,
//! the provider's, or the merchant's); a `phone` scope to those whose request or webhook
//! carries that number as the provider writes it (digits only, with or without leading zeros). The modes (`ms` at most [`MAX_DELAY_MS`]):
//!
//! | mode | what the sandbox does |
//! |------|-----------------------|
//! | `"duplicate_webhook"` | delivers each webhook twice (the same event) |
//! | `{"late_webhook": ms}` | delivers webhooks `ms` late |
//! | `"no_webhook"` | never delivers webhooks (the status API still tells) |
//! | `"out_of_order"` | after the final webhook, delivers a stale earlier-state one (refused by CaurisFlux's sandbox: CaurisFlux documents no event before the final one) |
//! | `"bad_signature"` | signs webhooks with a wrong secret (MyPVit, which signs nothing: calls back on a wrong secret path) |
//! | `"error_500"` | API calls answer 500 and do nothing |
//! | `{"hang": ms}` | API calls wait `ms`, then answer 500 having done nothing |
//! | `{"timeout_after_taking": ms}` | payment calls (POST) are carried out, then the answer waits `ms` |
//! | `{"refuse": "CODE"}` | API calls answer the provider's error `CODE`, with the status and in the shape its error table gives, and do nothing (each provider module lists its codes; an unknown one is refused when set) |
//! | `{"variant": "NAME"}` | the sandbox speaks a documented variant of its provider's format (each provider module lists its names; several may be set, an unknown one is refused when set) |
//! | `"report_other_amount"`, `"report_other_currency"`, `"report_other_reference"` | the status answer (and Scalapay's capture answer) reports the payment with one unit less, in another currency, or under another merchant reference: a provider misreporting what it took (MyPVit's status, Scalapay's payment details and capture) |
//! | `"no_lookup_by_reference"` | a status lookup by the merchant's reference answers 404 (in the provider's shape) while the payment is still held: lookups by the provider's own id still work (NovaSend, CaurisFlux, MyPVit; Scalapay finds orders by its own token) |
//! | `{"rate_limited": s}` | API calls answer `429 Too Many Requests` with `Retry-After: s` and do nothing |
//!
//! API faults apply to the provider's API routes only, never to payment pages or `/_sandbox`.
//! `GET /_sandbox/requests` counts the API requests received and those answered `429` (by a
//! mode or by the sandbox's own rate limits): `{"api_requests": n, "too_many_requests": n}`.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};

/// The longest delay or hang a mode may ask for: past any client timeout worth having.
pub const MAX_DELAY_MS: u64 = 30_000;

/// One way to misbehave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Misbehaviour {
    /// Each webhook is delivered twice.
    DuplicateWebhook,
    /// Webhooks are delivered this many ms late.
    LateWebhook(u64),
    /// No webhook is delivered.
    NoWebhook,
    /// A stale earlier-state webhook follows the final one.
    OutOfOrder,
    /// Webhooks are signed with a wrong secret.
    BadSignature,
    /// API calls answer 500 and do nothing.
    #[serde(rename = "error_500")]
    Error500,
    /// API calls hang this many ms, then answer 500 having done nothing.
    Hang(u64),
    /// Payment calls are carried out, then their answer waits this many ms.
    TimeoutAfterTaking(u64),
    /// API calls answer this error code of the provider's table and do nothing.
    Refuse(String),
    /// A status lookup by the merchant's reference answers 404 while the payment is held.
    NoLookupByReference,
    /// Statuses report one unit less than the payment's amount.
    ReportOtherAmount,
    /// Statuses report another currency than the payment's.
    ReportOtherCurrency,
    /// Statuses report another merchant reference than the payment's.
    ReportOtherReference,
    /// API calls answer 429 with `Retry-After` this many seconds, having done nothing.
    RateLimited(u64),
    /// A documented variant of the provider's format, by the name its module gives it.
    Variant(String),
}

impl Misbehaviour {
    fn capped(self) -> Misbehaviour {
        match self {
            Misbehaviour::LateWebhook(ms) => Misbehaviour::LateWebhook(ms.min(MAX_DELAY_MS)),
            Misbehaviour::Hang(ms) => Misbehaviour::Hang(ms.min(MAX_DELAY_MS)),
            Misbehaviour::TimeoutAfterTaking(ms) => Misbehaviour::TimeoutAfterTaking(ms.min(MAX_DELAY_MS)),
            Misbehaviour::RateLimited(s) => Misbehaviour::RateLimited(s.min(MAX_DELAY_MS / 1000)),
            other => other,
        }
    }
}

/// Which payments a set of modes applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    /// `"global"`: every payment.
    Named(String),
    /// Payments whose request, path or webhook contains this reference.
    Reference {
        /// The text to find.
        reference: String,
    },
    /// Payments to or from this number (its last eight digits).
    Phone {
        /// The number, in any form.
        phone: String,
    },
}

impl Scope {
    fn matches(&self, haystack: &str) -> bool {
        match self {
            Scope::Named(_) => true,
            Scope::Reference { reference } => !reference.is_empty() && haystack.contains(reference.as_str()),
            Scope::Phone { phone } => {
                // As the provider writes it: in full (E.164 without `+`) or without its
                // leading zeros (a national form).
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                let significant = digits.trim_start_matches('0');
                significant.len() >= 8 && (haystack.contains(&digits) || haystack.contains(significant))
            }
        }
    }
}

/// `POST /_sandbox/misbehave`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// Where the modes apply.
    pub scope: Scope,
    /// What happens there (empty: behave).
    pub modes: Vec<Misbehaviour>,
}

/// How a sandbox answers one of its provider's error codes (the `refuse` mode): the code and
/// the request's path in, the provider's error response out; `None` for a code the provider's
/// table does not have.
pub type Refusals = fn(code: &str, path: &str) -> Option<Response>;

/// The modes set on one sandbox.
#[derive(Debug, Default)]
pub struct Misbehaviours {
    table: Mutex<HashMap<Scope, Vec<Misbehaviour>>>,
    refusals: Option<Refusals>,
    variants: &'static [&'static str],
    /// Why `out_of_order` cannot apply, for a provider that documents no event before the final
    /// one (so there is no real earlier event to deliver late).
    no_earlier_event: Option<&'static str>,
    counts: Counts,
}

/// `GET /_sandbox/requests`: the API requests received, and those answered 429.
#[derive(Debug, Default)]
struct Counts {
    /// Every request to an API route.
    api_requests: AtomicU64,
    /// Those answered `429 Too Many Requests`.
    too_many_requests: AtomicU64,
}

/// What to do with the webhooks of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPlan {
    /// Whether to deliver at all.
    pub send: bool,
    /// How long to wait first.
    pub delay: Duration,
    /// How many copies of the webhook.
    pub copies: u32,
    /// Whether to sign with a wrong secret.
    pub bad_signature: bool,
    /// Whether a stale earlier-state webhook follows.
    pub stale_after: bool,
}

impl WebhookPlan {
    /// Waits as long as the plan says, then tells whether to deliver.
    pub async fn wait(&self) -> bool {
        if self.send && !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.send
    }
}

impl Misbehaviours {
    /// No mode set, and the `refuse` mode answering through `refusals`.
    pub fn refusing_with(refusals: Refusals) -> Misbehaviours {
        Misbehaviours { refusals: Some(refusals), ..Misbehaviours::default() }
    }

    /// The same, with the names of the provider's documented variants (the `variant` mode).
    pub fn with_variants(self, variants: &'static [&'static str]) -> Misbehaviours {
        Misbehaviours { variants, ..self }
    }

    /// The same, for a provider that documents no event before the final one: `out_of_order`
    /// is refused when set, with `why`, rather than an invented event sent.
    pub fn without_earlier_events(self, why: &'static str) -> Misbehaviours {
        Misbehaviours { no_earlier_event: Some(why), ..self }
    }

    /// Whether the variant `name` is set for a payment described by `haystack`.
    pub fn variant(&self, haystack: &str, name: &str) -> bool {
        self.matching(haystack).iter().any(|m| matches!(m, Misbehaviour::Variant(v) if v == name))
    }

    /// Whether the modes of a payment described by `haystack` include `mode`.
    pub fn has(&self, haystack: &str, mode: &Misbehaviour) -> bool {
        self.matching(haystack).contains(mode)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, Vec<Misbehaviour>>> {
        // Each write is one insert or a clear: a poisoned lock is still consistent.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every mode that applies to a payment described by `haystack` (its request or webhook
    /// body, its path), global ones included.
    pub fn matching(&self, haystack: &str) -> Vec<Misbehaviour> {
        self.lock()
            .iter()
            .filter(|(scope, _)| scope.matches(haystack))
            .flat_map(|(_, modes)| modes.iter().cloned())
            .collect()
    }

    /// The webhook plan for a payment described by `haystack`.
    pub fn webhook_plan(&self, haystack: &str) -> WebhookPlan {
        let modes = self.matching(haystack);
        WebhookPlan {
            send: !modes.contains(&Misbehaviour::NoWebhook),
            delay: Duration::from_millis(
                modes
                    .iter()
                    .filter_map(|m| match m {
                        Misbehaviour::LateWebhook(ms) => Some(*ms),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0),
            ),
            copies: if modes.contains(&Misbehaviour::DuplicateWebhook) { 2 } else { 1 },
            bad_signature: modes.contains(&Misbehaviour::BadSignature),
            stale_after: modes.contains(&Misbehaviour::OutOfOrder),
        }
    }

    fn set(&self, setting: Setting) {
        let mut table = self.lock();
        if setting.modes.is_empty() {
            table.remove(&setting.scope);
        } else {
            table.insert(setting.scope, setting.modes.into_iter().map(Misbehaviour::capped).collect());
        }
    }

    /// Sets modes from a `POST /_sandbox/misbehave` body (tests in this crate).
    #[cfg(test)]
    pub(crate) fn set_modes_for_tests(&self, setting: &str) {
        self.set(serde_json::from_str(setting).expect("a valid setting"));
    }

    /// The requests counted so far.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "api_requests": self.counts.api_requests.load(Ordering::SeqCst),
            "too_many_requests": self.counts.too_many_requests.load(Ordering::SeqCst),
        })
    }

    fn settings(&self) -> Vec<Setting> {
        self.lock()
            .iter()
            .map(|(scope, modes)| Setting { scope: scope.clone(), modes: modes.clone() })
            .collect()
    }
}

/// `/_sandbox/misbehave` (GET, POST, DELETE) and `GET /_sandbox/requests` for a sandbox whose
/// modes are `table`.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(table: Arc<Misbehaviours>) -> Router<S> {
    Router::new()
        .route(
            "/_sandbox/requests",
            get(|State(t): State<Arc<Misbehaviours>>| async move { Json(t.counts()) }),
        )
        .route(
            "/_sandbox/misbehave",
            get(|State(t): State<Arc<Misbehaviours>>| async move { Json(t.settings()) }).post(set).delete(
                |State(t): State<Arc<Misbehaviours>>| async move {
                    t.lock().clear();
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(table)
}

async fn set(State(table): State<Arc<Misbehaviours>>, body: axum::body::Bytes) -> Response {
    let setting: Setting = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": e.to_string()})))
                .into_response();
        }
    };
    if let Some(code) = setting.modes.iter().find_map(|m| match m {
        Misbehaviour::Refuse(code) => Some(code),
        _ => None,
    }) && table.refusals.is_none_or(|answer| answer(code, "/").is_none())
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": format!("refuse: {code:?} is not in this provider's error table")})),
        )
            .into_response();
    }
    if let Some(name) = setting.modes.iter().find_map(|m| match m {
        Misbehaviour::Variant(name) if !table.variants.contains(&name.as_str()) => Some(name),
        _ => None,
    }) {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": format!("variant: {name:?} is not one of this sandbox's: {:?}", table.variants)
            })),
        )
            .into_response();
    }
    if let (Some(why), true) = (table.no_earlier_event, setting.modes.contains(&Misbehaviour::OutOfOrder)) {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": format!("out_of_order: {why}")})))
            .into_response();
    }
    if matches!(&setting.scope, Scope::Named(n) if n != "global") {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "scope: \"global\", {\"reference\"} or {\"phone\"}"})),
        )
            .into_response();
    }
    table.set(setting);
    Json(table.settings()).into_response()
}

/// The API-fault middleware (`axum::middleware::from_fn_with_state(table, api_faults)` as a
/// route layer over a sandbox's API routes): reads the request (path and body) to find which
/// modes apply, then fails, hangs, or carries the call out and holds the answer.
pub async fn api_faults(State(table): State<Arc<Misbehaviours>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let haystack = format!("{} {}", parts.uri, String::from_utf8_lossy(&bytes));
    let modes = table.matching(&haystack);
    table.counts.api_requests.fetch_add(1, Ordering::SeqCst);
    let response = faulty(&modes, table.refusals, parts, bytes, next).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        table.counts.too_many_requests.fetch_add(1, Ordering::SeqCst);
    }
    response
}

async fn faulty(
    modes: &[Misbehaviour],
    refusals: Option<Refusals>,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    next: Next,
) -> Response {
    if let Some(seconds) = modes.iter().find_map(|m| match m {
        Misbehaviour::RateLimited(s) => Some(*s),
        _ => None,
    }) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, seconds.to_string())],
            Json(serde_json::json!({"error": "sandbox misbehaving: too many requests"})),
        )
            .into_response();
    }
    let failing = || {
        (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"error": "sandbox misbehaving"})))
            .into_response()
    };
    if modes.contains(&Misbehaviour::Error500) {
        return failing();
    }
    if let (Some(answer), Some(code)) = (
        refusals,
        modes.iter().find_map(|m| match m {
            Misbehaviour::Refuse(code) => Some(code),
            _ => None,
        }),
    ) && let Some(response) = answer(code, parts.uri.path())
    {
        return response;
    }
    if let Some(ms) = modes.iter().find_map(|m| match m {
        Misbehaviour::Hang(ms) => Some(*ms),
        _ => None,
    }) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return failing();
    }
    let hold = (parts.method == Method::POST)
        .then(|| {
            modes.iter().find_map(|m| match m {
                Misbehaviour::TimeoutAfterTaking(ms) => Some(*ms),
                _ => None,
            })
        })
        .flatten();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if let Some(ms) = hold {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_documented_and_scopes_match() {
        let s: Setting = serde_json::from_str(
            r#"{"scope": {"phone": "+225 07 00 00 00 01"}, "modes": ["duplicate_webhook", {"late_webhook": 50000}, "out_of_order"]}"#,
        )
        .unwrap();
        let t = Misbehaviours::default();
        t.set(s);
        t.set(serde_json::from_str(r#"{"scope": "global", "modes": ["bad_signature"]}"#).unwrap());
        t.set(
            serde_json::from_str(r#"{"scope": {"reference": "abc-123"}, "modes": ["no_webhook"]}"#).unwrap(),
        );
        assert!(!t.webhook_plan(r#"{"msisdn": "+2250500000001"}"#).stale_after);
        let plan = t.webhook_plan(r#"{"msisdn": "+2250700000001"}"#);
        assert_eq!(
            plan,
            WebhookPlan {
                send: true,
                delay: Duration::from_millis(MAX_DELAY_MS),
                copies: 2,
                bad_signature: true,
                stale_after: true
            }
        );
        assert!(!t.webhook_plan("ref abc-123").send);
        assert_eq!(t.webhook_plan("other").copies, 1);
        assert!(serde_json::from_str::<Setting>(r#"{"scope": "global", "modes": ["explode"]}"#).is_err());
        let faults: Setting = serde_json::from_str(
            r#"{"scope": "global", "modes": ["error_500", {"hang": 1}, {"timeout_after_taking": 99999}]}"#,
        )
        .unwrap();
        t.set(faults);
        assert!(t.matching("x").contains(&Misbehaviour::TimeoutAfterTaking(MAX_DELAY_MS)));
        let limited: Setting =
            serde_json::from_str(r#"{"scope": "global", "modes": [{"rate_limited": 3}]}"#).unwrap();
        assert_eq!(limited.modes, [Misbehaviour::RateLimited(3)]);
    }
}

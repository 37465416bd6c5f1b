//! Webhooks to the merchant, following the Standard Webhooks specification, through a durable
//! outbox.
//!
//! The store writes every event (`evt_…`, stable) in the transaction of the state change it
//! reports, with a pending delivery. The [`Dispatcher`] claims due deliveries (a lease in the
//! database, so two dispatchers or a restart never send one event at the same time), POSTs the
//! stored body with the three headers `webhook-id` (the event id, the same on every retry and
//! redelivery), `webhook-timestamp` (unix seconds of the send) and `webhook-signature`
//! (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the `whsec_` secret), and
//! records the outcome: delivered on 2xx, else retried on a schedule of about a day, then
//! failed. Delivery is at least once; merchants deduplicate on `webhook-id`.
//!
//! [`Outbox`] serves the merchant API's listing and redelivery of events.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use shared::api::{EventDelivery, WebhookEvent};

use crate::{
    checkouts::{now, now_ms, rfc3339},
    error::AppError,
    store::{ClaimedDelivery, DeliveryOutcome, EventRecord, Store},
};

/// The header carrying the event id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the send time, unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signature(s).
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The delays before each retry after the first send (Svix's schedule: 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h; about 28 hours in all), in milliseconds.
pub const DEFAULT_RETRY_DELAYS_MS: [u64; 7] =
    [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/// How many deliveries one tick claims at most.
const BATCH: u32 = 20;
/// How often the dispatcher looks for due deliveries.
const TICK: Duration = Duration::from_millis(200);

/// Why a webhook secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("the merchant webhook secret must start with `whsec_` (Standard Webhooks)")]
    MissingPrefix,
    /// What follows the prefix is not base64.
    #[error("the merchant webhook secret is not base64 after `whsec_`")]
    NotBase64,
    /// It is too short to be a secret.
    #[error("the merchant webhook secret must hold 24 to 64 bytes (base64 after `whsec_`)")]
    BadLength,
}

/// A Standard Webhooks signing secret: the bytes after `whsec_`, never printed.
#[derive(Clone)]
pub struct WebhookSecret(Arc<SecretSlice<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

impl WebhookSecret {
    /// Parses `whsec_` and base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, SecretError> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretError::BadLength);
        }
        Ok(WebhookSecret(Arc::new(SecretSlice::from(bytes))))
    }

    /// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Where and how the dispatcher sends.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The merchant's webhook URL.
    pub url: reqwest::Url,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// One send's timeout.
    pub timeout: Duration,
    /// Delays before each retry; when spent, the delivery fails.
    pub retry_delays: Vec<Duration>,
}

/// The background task sending pending deliveries to the merchant's endpoint.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Arc<dyn Store>,
    endpoint: Endpoint,
    client: reqwest::Client,
    metrics: crate::metrics::Metrics,
}

impl Dispatcher {
    /// A dispatcher over the store's outbox.
    pub fn new(store: Arc<dyn Store>, endpoint: Endpoint) -> anyhow::Result<Dispatcher> {
        let client = reqwest::Client::builder()
            .timeout(endpoint.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("verifier-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Dispatcher { store, endpoint, client, metrics: crate::metrics::Metrics::default() })
    }

    /// The same dispatcher counting the deliveries that fail in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Dispatcher {
        self.metrics = metrics;
        self
    }

    /// Runs until `stop` is asked, between two ticks (the sends of a tick are recorded first);
    /// spawn it. It resumes from the database after a restart.
    pub async fn run(self, mut stop: crate::shutdown::Stop) {
        loop {
            self.tick().await;
            if stop.sleep(TICK).await {
                return;
            }
        }
    }

    /// Sends what is due now, once each; returns how many were sent.
    pub async fn tick(&self) -> usize {
        // The lease outlasts the send's timeout: no second claim while a send may still run.
        let lease_ms = i64::try_from(self.endpoint.timeout.as_millis()).unwrap_or(i64::MAX / 4) + 5_000;
        let due = match self.store.claim_deliveries(now_ms(), lease_ms, BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "claiming webhook deliveries failed");
                return 0;
            }
        };
        let count = due.len();
        futures_util::future::join_all(due.into_iter().map(|d| self.deliver(d))).await;
        count
    }

    async fn deliver(&self, d: ClaimedDelivery) {
        let timestamp = now();
        let signature = self.endpoint.secret.sign(&d.event_id, timestamp, &d.payload);
        let sent = self
            .client
            .post(self.endpoint.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, &d.event_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(d.payload.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(transport_error(e))),
        };
        let tried = d.attempts.saturating_add(1);
        let outcome = match status {
            Some(s) if (200..300).contains(&s) => {
                fail::fail_point!("outbox.sent_unrecorded");
                DeliveryOutcome::Delivered { status: s }
            }
            _ => match self.endpoint.retry_delays.get(d.attempts as usize) {
                Some(delay) => DeliveryOutcome::Retry {
                    at_ms: now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4),
                    status,
                    error,
                },
                None => DeliveryOutcome::Failed { status, error },
            },
        };
        match &outcome {
            DeliveryOutcome::Delivered { status } => {
                tracing::info!(event = %d.event_id, status, tried, "webhook delivered");
            }
            DeliveryOutcome::Retry { status, error, .. } => {
                tracing::warn!(event = %d.event_id, ?status, ?error, tried, "webhook not accepted; will retry");
            }
            DeliveryOutcome::Failed { status, error } => {
                tracing::error!(event = %d.event_id, ?status, ?error, tried, "webhook not accepted; retries exhausted");
                self.metrics.delivery_failed();
            }
        }
        if let Err(e) = self.store.finish_delivery(&d.event_id, &d.claim, &outcome, now_ms()).await {
            tracing::error!(event = %d.event_id, error = %e, "recording a webhook delivery failed");
        }
    }
}

/// The `type` of the event `verifier webhooks test` sends: no event the verifier records has it,
/// so an endpoint can tell it from a payment's.
pub const TEST_EVENT_TYPE: &str = "verifier.test";

/// What the merchant's endpoint answered to a test event ([`send_test_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAnswer {
    /// The event id sent (`evt_test_…`).
    pub event_id: String,
    /// The HTTP status, or what went wrong before one came.
    pub status: Result<u16, String>,
    /// The answer's body, cut to 2 KiB.
    pub body: String,
}

impl TestAnswer {
    /// Whether the endpoint answered 2xx, as a delivery counts it.
    pub fn accepted(&self) -> bool {
        self.status.as_ref().is_ok_and(|s| (200..300).contains(s))
    }
}

impl std::fmt::Display for TestAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "webhook-id: {}", self.event_id)?;
        match &self.status {
            Ok(status) => writeln!(f, "answer: HTTP {status}")?,
            Err(error) => writeln!(f, "answer: none ({error})")?,
        }
        if !self.body.is_empty() {
            writeln!(f, "{}", self.body)?;
        }
        Ok(())
    }
}

/// Sends one signed test event (type [`TEST_EVENT_TYPE`], the dispatcher's headers and
/// signature) to `endpoint` and returns its answer; nothing is stored. A transport failure is
/// an answer too (`status: Err`); only a client that cannot be built is an error.
pub async fn send_test_event(endpoint: &Endpoint, livemode: bool) -> anyhow::Result<TestAnswer> {
    let client = reqwest::Client::builder()
        .timeout(endpoint.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("verifier-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let event_id = format!("evt_test_{}", uuid::Uuid::new_v4().simple());
    let timestamp = now();
    let body = serde_json::json!({
        "type": TEST_EVENT_TYPE,
        "timestamp": rfc3339(timestamp),
        "livemode": livemode,
        "data": {},
    })
    .to_string();
    let sent = client
        .post(endpoint.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(ID_HEADER, &event_id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, endpoint.secret.sign(&event_id, timestamp, &body))
        .body(body)
        .send()
        .await;
    Ok(match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let body = text.char_indices().nth(2048).map_or(text.as_str(), |(i, _)| &text[..i]).to_owned();
            TestAnswer { event_id, status: Ok(status), body }
        }
        Err(e) => TestAnswer { event_id, status: Err(transport_error(e)), body: String::new() },
    })
}

/// A transport error in words, without the URL (it may carry a token).
fn transport_error(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string()
    }
}

/// The merchant API's view of the outbox: listing and redelivery.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
}

impl Outbox {
    /// Over the store.
    pub fn new(store: Arc<dyn Store>) -> Outbox {
        Outbox { store }
    }

    /// A checkout's events with their deliveries, oldest first; 404 for an unknown checkout.
    pub async fn events_of(&self, checkout_id: &str) -> Result<Vec<EventDelivery>, AppError> {
        self.store.checkout(checkout_id).await?.ok_or(AppError::NotFound)?;
        self.store.checkout_events(checkout_id).await?.iter().map(view).collect()
    }

    /// Queues an event again (same id); 404 for an unknown event.
    pub async fn redeliver(&self, event_id: &str) -> Result<EventDelivery, AppError> {
        if !self.store.redeliver(event_id, now_ms()).await? {
            return Err(AppError::NotFound);
        }
        let event = self.store.event(event_id).await?.ok_or(AppError::NotFound)?;
        tracing::info!(event = %event_id, "webhook redelivery queued");
        view(&event)
    }
}

fn view(e: &EventRecord) -> Result<EventDelivery, AppError> {
    let payload: WebhookEvent = serde_json::from_str(&e.payload)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("unreadable event {}: {err}", e.id)))?;
    let pending = e.state == shared::api::DeliveryState::Pending;
    Ok(EventDelivery {
        id: e.id.clone(),
        kind: e.kind,
        created_at: rfc3339(e.created_at),
        payload,
        delivery: e.state,
        attempts: e.attempts,
        last_status: e.last_status,
        last_error: e.last_error.clone(),
        next_attempt_at: pending.then(|| rfc3339(e.next_attempt_at_ms / 1000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn signs_like_the_reference_implementations() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, r#"{"test": 2432232314}"#),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Any change of id, time or body changes the signature.
        let good = secret.sign("msg_1", 1, "{}");
        assert_ne!(good, secret.sign("msg_2", 1, "{}"));
        assert_ne!(good, secret.sign("msg_1", 2, "{}"));
        assert_ne!(good, secret.sign("msg_1", 1, "{ }"));
    }

    #[test]
    fn malformed_secrets_are_refused_and_none_is_printed() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::MissingPrefix
        );
        assert_eq!(WebhookSecret::parse("whsec_not base64!").unwrap_err(), SecretError::NotBase64);
        assert_eq!(WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err(), SecretError::BadLength);
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}

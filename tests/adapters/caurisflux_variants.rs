//! The CaurisFlux adapter against each documented variant the CaurisFlux sandbox can be
//! switched to (`{"variant": NAME}` misbehaviour modes, `sandboxes::caurisflux::VARIANTS`), end
//! to end: the sandbox sends the variant, the adapter reads it. Webhooks signed over
//! `"<timestamp>.<body>"` or over the body alone, with or without `sha256=`, under the current
//! or the legacy `X-Cauris-*` headers (github.com/caurisflux/caurisflux-wp,
//! `includes/class-caurisflux-webhook.php`, still accepts all of them); error bodies as
//! `{error}`, NestJS's `{statusCode, message}` and `{success: false, error: {code, message}}`
//! (<https://docs.caurisflux.com/guides/errors>).

use std::time::Duration;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use serde_json::{Value, json};
use server::providers::{
    IncomingNotice, PaymentProvider, ProviderError, StartPayment,
    caurisflux::{CaurisFlux, Settings},
};
use shared::{
    catalogue::ErrorCode,
    method::PaymentMethod,
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
    status::AttemptStatus,
};
use tokio::{net::TcpListener, sync::mpsc};

const PK: &str = "pk_test_variants";
const SK: &str = "sk_test_variants";
const WEBHOOK_SECRET: &str = "whsec_variants";
const WAIT: Duration = Duration::from_secs(10);

struct Harness {
    sandbox: sandboxes::Running,
    adapter: CaurisFlux,
    hooks: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
}

/// A sandbox switched to `variants` (global scope), its adapter, and a receiver for its
/// webhooks.
async fn harness(variants: &[&str]) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = listener.local_addr().unwrap();
    let (tx, hooks) = mpsc::unbounded_channel();
    let receiver = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let sandbox = sandboxes::caurisflux::start(
        sandboxes::caurisflux::SandboxConfig { confirm_delay_ms: 50, ..Default::default() },
        sandboxes::caurisflux::Merchant {
            public_key: PK.into(),
            secret_key: SK.into(),
            webhook_url: format!("http://{hook_addr}/hook"),
            webhook_secret: WEBHOOK_SECRET.into(),
        },
    )
    .await
    .unwrap();
    let modes: Vec<Value> = variants.iter().map(|v| json!({"variant": v})).collect();
    let set = reqwest::Client::new()
        .post(format!("{}/_sandbox/misbehave", sandbox.base_url()))
        .json(&json!({"scope": "global", "modes": modes}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "{variants:?}");
    let adapter = CaurisFlux::new(&Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: sandbox.api_url(),
        public_key: PK.into(),
        secret_key: SK.to_owned().into(),
        webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        rate_per_minute: server::providers::caurisflux::DEFAULT_RATE_PER_MINUTE,
        rate_per_hour: server::providers::caurisflux::DEFAULT_RATE_PER_HOUR,
        timeout_ms: 5_000,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
    })
    .unwrap();
    // The operators it offers are those CaurisFlux lists (`GET /payments/providers`).
    adapter.refresh_providers().await.expect("the sandbox lists its operators");
    Harness { sandbox, adapter, hooks }
}

fn orange(phone: &str) -> StartPayment {
    StartPayment {
        reference: uuid::Uuid::new_v4().to_string(),
        money: Money::new(5000, Currency::Xof).unwrap(),
        phone: Some(PhoneNumber::parse_e164(phone).unwrap()),
        method: PaymentMethod::OrangeMoney,
        country: Country::Ci,
        customer_name: "Awa Diop".into(),
        customer: None,
        description: Some("Pagne wax".into()),
        return_url: "http://shop.example/back".into(),
        otp: None,
        callback_base: "http://verifier.example".into(),
    }
}

impl Harness {
    /// The first webhook, as sent, and the adapter's reading of it.
    async fn first_webhook(&mut self) -> (HeaderMap, Result<AttemptStatus, String>) {
        let (headers, body) =
            tokio::time::timeout(WAIT, self.hooks.recv()).await.expect("a webhook within the wait").unwrap();
        let notice =
            IncomingNotice { headers: &headers, body: &body, peer: [127, 0, 0, 1].into(), path_token: None };
        let read = self
            .adapter
            .verify_notice(&notice)
            .map_err(|e| format!("{e:?}"))
            .and_then(|v| v.update.map(|u| u.status).ok_or_else(|| "no update".to_owned()));
        (headers, read)
    }
}

#[tokio::test]
async fn every_documented_webhook_signature_variant_is_read() {
    for variants in [
        &[][..],
        &["sign_body_only"],
        &["no_sha256_prefix"],
        &["sign_body_only", "no_sha256_prefix"],
        &["legacy_headers"],
        &["legacy_headers", "sign_body_only", "no_sha256_prefix"],
    ] {
        let mut h = harness(variants).await;
        h.adapter.start(&orange("+2250700000001")).await.unwrap();
        let (headers, read) = h.first_webhook().await;
        // The sandbox did send the variant …
        let legacy = variants.contains(&"legacy_headers");
        let (signature, timestamp) = if legacy {
            ("x-cauris-signature", "x-cauris-timestamp")
        } else {
            ("x-webhook-signature", "x-webhook-timestamp")
        };
        assert!(headers.contains_key(timestamp), "{variants:?}");
        assert_eq!(headers.contains_key("x-webhook-signature"), !legacy, "{variants:?}");
        let sent = headers[signature].to_str().unwrap();
        assert_eq!(
            sent.starts_with("sha256="),
            !variants.contains(&"no_sha256_prefix"),
            "{variants:?}: {sent}"
        );
        // … and the adapter reads it.
        assert_eq!(read, Ok(AttemptStatus::Succeeded), "{variants:?}");
        drop(h.sandbox);
    }
}

#[tokio::test]
async fn every_documented_error_shape_is_read_by_its_code() {
    for variant in ["error_code_only", "error_nest", "error_envelope"] {
        let h = harness(&[variant]).await;
        // The body as sent: the `08` trigger's DAILY_LIMIT_EXCEEDED, in the variant's shape.
        let raw: Value = reqwest::Client::new()
            .post(format!("{}/payments/initiate", h.sandbox.api_url()))
            .header("X-API-Key", format!("{PK}:{SK}"))
            .json(&json!({"type": "direct", "amount": 5000, "currency": "XOF", "provider": "orange_money", "country": "CI",
                          "customerPhone": "+2250700000008", "externalReference": "raw-1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match variant {
            "error_code_only" => assert_eq!(raw, json!({"error": "DAILY_LIMIT_EXCEEDED"})),
            "error_nest" => {
                assert_eq!(raw["statusCode"], 422, "{raw}");
                assert!(raw.get("error").is_none(), "{raw}");
            }
            _ => {
                assert_eq!(raw["success"], false, "{raw}");
                assert_eq!(raw["error"]["code"], "DAILY_LIMIT_EXCEEDED", "{raw}");
            }
        }
        // The adapter: a named code decides; without one (NestJS), the status and message do,
        // and a business refusal is never a success.
        match (variant, h.adapter.start(&orange("+2250700000008")).await) {
            ("error_nest", Err(ProviderError::Refused { .. } | ProviderError::Unavailable(_))) => {}
            (_, Err(ProviderError::Refused { code, provider_code })) => {
                assert_eq!(
                    (code, provider_code.as_str()),
                    (ErrorCode::LimitExceeded, "DAILY_LIMIT_EXCEEDED"),
                    "{variant}"
                );
            }
            (_, other) => panic!("{variant}: {other:?}"),
        }
    }
}

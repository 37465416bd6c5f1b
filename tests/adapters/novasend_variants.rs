//! The NovaSend adapter against each documented webhook variant the NovaSend sandbox can be
//! switched to (`{"variant": NAME}` misbehaviour modes, `sandboxes::novasend::VARIANTS`), end to
//! end: the bare payin record (the webhook page's sample) or `{event, data}` with
//! `payin.confirmed` / `payin.declined` (<https://docs.novasend.app/payin.en>), signed over the
//! raw bytes or over the re-serialised JSON, with or without an `eventId` (the webhook page:
//! optional, for idempotence). The sandbox sends the variant; the adapter reads it.

use std::time::Duration;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use serde_json::{Value, json};
use server::{
    config::NovaSendSettings,
    providers::{IncomingNotice, PaymentProvider, StartPayment, novasend::NovaSend},
};
use shared::{
    method::PaymentMethod,
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
    status::AttemptStatus,
};
use tokio::{net::TcpListener, sync::mpsc};

const WAIT: Duration = Duration::from_secs(10);

struct Harness {
    _sandbox: sandboxes::Running,
    adapter: NovaSend,
    hooks: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
}

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
    let sandbox = sandboxes::novasend::start(
        sandboxes::novasend::SandboxConfig { confirm_delay_ms: 50, ..Default::default() },
        sandboxes::novasend::Merchant {
            api_key: "ns_key".into(),
            api_client: "ns_client".into(),
            webhook_url: format!("http://{hook_addr}/hook"),
            webhook_secret: "whsec_variants".into(),
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
    // Built from its serialised form, as the verifier's configuration file gives it.
    let settings: NovaSendSettings = serde_json::from_value(json!({
        "mode": "test", "base_url": sandbox.api_url(), "api_key": "ns_key", "api_client": "ns_client",
        "webhook_secret": "whsec_variants", "timeout_ms": 5000
    }))
    .unwrap();
    Harness { _sandbox: sandbox, adapter: NovaSend::new(&settings).unwrap(), hooks }
}

fn payin(phone: &str) -> StartPayment {
    StartPayment {
        reference: uuid::Uuid::new_v4().to_string(),
        money: Money::new(300, Currency::Xof).unwrap(),
        phone: Some(PhoneNumber::parse_e164(phone).unwrap()),
        method: PaymentMethod::MobileMoney,
        country: Country::Ci,
        customer_name: "Awa Diop".into(),
        customer: None,
        description: Some("Pagne wax".into()),
        return_url: "http://shop.example/back".into(),
        otp: None,
        callback_base: "http://verifier.example".into(),
    }
}

#[tokio::test]
async fn every_documented_webhook_variant_is_read() {
    for variants in [
        &[][..],
        &["wrapped_webhook"],
        &["sign_reserialised"],
        &["event_id"],
        &["wrapped_webhook", "sign_reserialised", "event_id"],
    ] {
        for (phone, expected, event) in [
            ("+2250700000001", AttemptStatus::Succeeded, "payin.confirmed"),
            ("+2250700000002", AttemptStatus::Failed, "payin.declined"),
        ] {
            let mut h = harness(variants).await;
            let req = payin(phone);
            h.adapter.start(&req).await.unwrap();
            // The final webhook (a payin may tell an intermediate state first).
            let (headers, body, update) = tokio::time::timeout(WAIT, async {
                loop {
                    let (headers, body) = h.hooks.recv().await.unwrap();
                    let notice = IncomingNotice {
                        headers: &headers,
                        body: &body,
                        peer: [127, 0, 0, 1].into(),
                        path_token: None,
                    };
                    let verified = h
                        .adapter
                        .verify_notice(&notice)
                        .unwrap_or_else(|e| panic!("{variants:?}: the adapter refused {e:?}"));
                    if let Some(update) = verified.update.filter(|u| u.status == expected) {
                        return (headers, body, update);
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{variants:?} {phone}: no final webhook read"));
            assert_eq!(update.status, expected, "{variants:?}");
            let sent: Value = serde_json::from_slice(&body).unwrap();
            // The sandbox did send the variant …
            assert_eq!(sent["event"] == event, variants.contains(&"wrapped_webhook"), "{variants:?}: {sent}");
            assert_eq!(body.contains(&b'\n'), variants.contains(&"sign_reserialised"), "{variants:?}");
            let notice = IncomingNotice {
                headers: &headers,
                body: &body,
                peer: [127, 0, 0, 1].into(),
                path_token: None,
            };
            // … and the adapter deduplicates by its `eventId` when there is one.
            match sent["eventId"].as_str() {
                Some(id) => {
                    assert!(variants.contains(&"event_id"));
                    assert!(h.adapter.event_id(&notice).is_some_and(|e| e.contains(id)), "{variants:?}");
                }
                None => assert!(!variants.contains(&"event_id"), "{variants:?}"),
            }
        }
    }
}

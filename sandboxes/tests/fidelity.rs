//! The sandboxes seen from outside, over raw HTTP and JSON as any client would: each answers an
//! unknown route in its provider's error shape, NovaSend charges the fee its payin page shows,
//! Scalapay's "Update order" exists and a partial refund's webhook carries a documented status,
//! and CaurisFlux's hosted checkout takes numbers of any country.

use std::{collections::BTreeSet, time::Duration};

use axum::{Router, body::Bytes, routing::post};
use sandboxes::{Running, caurisflux, mypvit, novasend, scalapay};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// A listener that hands every POSTed body to the test; returns its URL.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_slice(&body).unwrap_or_default());
                // What MyPVit's callbacks expect does not matter here; a 200 ends the retries.
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().expect("a JSON object").keys().map(String::as_str).collect()
}

async fn novasend(hook: &str) -> Running {
    novasend::start(
        novasend::SandboxConfig { confirm_delay_ms: 50, ..Default::default() },
        novasend::Merchant {
            api_key: "ns_key".into(),
            api_client: "ns_client".into(),
            webhook_url: hook.into(),
            webhook_secret: "ns_secret".into(),
        },
    )
    .await
    .unwrap()
}

async fn caurisflux(hook: &str) -> Running {
    caurisflux::start(
        caurisflux::SandboxConfig::default(),
        caurisflux::Merchant {
            public_key: "pk_test_x".into(),
            secret_key: "sk_test_x".into(),
            webhook_url: hook.into(),
            webhook_secret: "cf_secret".into(),
        },
    )
    .await
    .unwrap()
}

async fn scalapay(hook: &str) -> Running {
    scalapay::start(
        scalapay::SandboxConfig::default(),
        scalapay::Merchant { api_key: "qhtfs87hjnc12kkos".into(), webhook_url: hook.into() },
    )
    .await
    .unwrap()
}

async fn mypvit(hook: &str) -> Running {
    mypvit::start(
        mypvit::SandboxConfig::default(),
        mypvit::Merchant::with_default_codes(
            "ACC_TEST0001".into(),
            "pw".into(),
            hook.into(),
            "http://127.0.0.1:9/back".into(),
        ),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn every_sandbox_answers_an_unknown_route_in_its_providers_error_shape() {
    let (hook, _rx) = receiver().await;
    let http = reqwest::Client::new();
    let (ns, cf, sp, mp) =
        (novasend(&hook).await, caurisflux(&hook).await, scalapay(&hook).await, mypvit(&hook).await);
    // NovaSend's errors page: `{"code", "message", "statusCode"}`; its payout routes included.
    for path in ["/v1/nowhere", "/v1/direct/payout", "/v1/direct/payout/tr_123"] {
        let r = http.post(format!("{}{path}", ns.base_url())).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(keys(&body), BTreeSet::from(["code", "message", "statusCode"]), "{path}: {body}");
        assert_eq!(body["statusCode"], 404);
    }
    // CaurisFlux (NestJS): `{"statusCode", "message", "error"}`.
    let r = http.post(format!("{}/refunds", cf.api_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(keys(&body), BTreeSet::from(["error", "message", "statusCode"]), "{body}");
    // Scalapay: `{"errorCode", "errorId", "message", "httpStatusCode"}`.
    let r = http.get(format!("{}/v2/nowhere", sp.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(keys(&body), BTreeSet::from(["errorCode", "errorId", "httpStatusCode", "message"]), "{body}");
    assert_eq!(body["httpStatusCode"], 404);
    // MyPVit's integration document: `{"date", "status_code", "error", "message", "path"}`.
    let r = http.get(format!("{}/nowhere/at/all", mp.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(keys(&body), BTreeSet::from(["date", "error", "message", "path", "status_code"]), "{body}");
    assert_eq!(body["error"], "API_NOT_FOUND");
}

#[tokio::test]
async fn novasend_charges_the_fee_its_payin_page_shows() {
    let (hook, mut rx) = receiver().await;
    let ns = novasend(&hook).await;
    // The request of the payin page's example (https://docs.novasend.app/, `payin`), with a
    // UUID for `{{$randomUUID}}` and a test number that confirms.
    let request = json!({
      "reference": "7a1d2c3b-0c4e-4f5a-9b8c-1d2e3f4a5b6c",
      "accountId": "merchant_9923lkdz",
      "amount": 300,
      "msisdn": "+2250700000001",
      "customerName": "John Doe",
      "country": "CI"
    });
    let r = reqwest::Client::new()
        .post(format!("{}/v1/payin/sessions", ns.base_url()))
        .basic_auth("ns_key", Some("ns_client"))
        .header("X-Idempotency-Key", "0b9d6f0e-3c1a-4d2b-8e5f-6a7b8c9d0e1f")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let payin: Value = r.json().await.unwrap();
    // The example's answer: `"amount": 300, "fee": 6, "chargedAmount": 306`.
    assert_eq!(
        (payin["amount"].clone(), payin["fee"].clone(), payin["chargedAmount"].clone()),
        (json!(300), json!(6), json!(306))
    );
    let hook = tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!(hook["fee"], 6);
    assert_eq!(hook["chargedAmount"], 306);
    assert_eq!(hook["transaction"]["status"], "completed");
}

#[tokio::test]
async fn scalapay_updates_an_orders_references() {
    let (hook, _rx) = receiver().await;
    let sp = scalapay(&hook).await;
    let http = reqwest::Client::new();
    let order: Value =
        serde_json::from_str(include_str!("../../server/tests/fixtures/scalapay/order_request.json"))
            .unwrap();
    let created: Value = http
        .post(format!("{}/v2/orders", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&order)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    // The collection's example body and answer ("POST v2/orders/{token}").
    let r = http
        .post(format!("{}/v2/orders/{token}", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&json!({"merchantReference": "merchantOrder-1234-updated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"token": token, "merchantReference": "merchantOrder-1234-updated"}));
    let found: Value = http
        .get(format!(
            "{}/v2/payments/references?merchantOrderReference=merchantOrder-1234-updated",
            sp.base_url()
        ))
        .bearer_auth("qhtfs87hjnc12kkos")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["orderToken"], token);
    // `merchantReference` is mandatory; an unknown token is Scalapay's `invalid_token`.
    let r = http
        .post(format!("{}/v2/orders/{token}", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{}/v2/orders/NOSUCHTOKEN", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&json!({"merchantReference": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = http
        .post(format!("{}/v2/orders/{token}", sp.base_url()))
        .json(&json!({"merchantReference": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_partial_refund_webhook_says_refunded_while_the_order_reads_partially_refunded() {
    let (hook, mut rx) = receiver().await;
    let sp = scalapay(&hook).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let order: Value =
        serde_json::from_str(include_str!("../../server/tests/fixtures/scalapay/order_request.json"))
            .unwrap();
    let created: Value = http
        .post(format!("{}/v2/orders", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&order)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let paid = http
        .post(created["checkoutUrl"].as_str().unwrap())
        .form(&[("card_number", "5200 8282 8282 8210"), ("expiry", "12/39"), ("cvv", "123")])
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_redirection(), "{}", paid.status());
    let capture = http
        .post(format!("{}/v2/payments/capture", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(capture.status(), 200);
    let refund = http
        .post(format!("{}/v2/payments/{token}/refund", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .json(&json!({"refundAmount": {"amount": "40.00", "currency": "EUR"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status(), 200);
    // The webhooks, in whatever order they come: the refund's says `refunded`, one of the
    // documented webhook statuses (https://developers.scalapay.com/reference/webhooks).
    let documented = ["created", "authorized", "charged", "refunded", "expired"];
    let mut statuses = Vec::new();
    while !statuses.contains(&"refunded".to_owned()) {
        let h = tokio::time::timeout(WAIT, rx.recv()).await.expect("the refund's webhook").unwrap();
        let status = h["status"].as_str().unwrap().to_owned();
        assert!(documented.contains(&status.as_str()), "{h}");
        statuses.push(status);
    }
    let order: Value = http
        .get(format!("{}/v2/payments/{token}", sp.base_url()))
        .bearer_auth("qhtfs87hjnc12kkos")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "partially_refunded");
}

#[tokio::test]
async fn caurisflux_checkout_takes_numbers_of_any_country() {
    let (hook, _rx) = receiver().await;
    let cf = caurisflux(&hook).await;
    let http = reqwest::Client::new();
    for (phone, status) in [("+33612345678", 200), ("+447700900123", 200), ("+33 6 12", 400)] {
        let r = http
            .post(format!("{}/payments/initiate", cf.api_url()))
            .header("X-API-Key", "pk_test_x:sk_test_x")
            .json(&json!({"type": "checkout", "amount": 5000, "currency": "XOF",
                "externalReference": format!("ord-{phone}"), "customerPhone": phone}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{phone}");
    }
}

#[test]
fn merchants_debug_without_their_secrets() {
    let ns = novasend::Merchant {
        api_key: "k-secret-1".into(),
        api_client: "c-secret-2".into(),
        webhook_url: "http://x/hook".into(),
        webhook_secret: "w-secret-3".into(),
    };
    let cf = caurisflux::Merchant {
        public_key: "pk_test_x".into(),
        secret_key: "sk-secret-4".into(),
        webhook_url: "http://x/hook".into(),
        webhook_secret: "w-secret-5".into(),
    };
    let sp = scalapay::Merchant { api_key: "k-secret-6".into(), webhook_url: "http://x/hook".into() };
    let text = format!("{ns:?} {cf:?} {sp:?}");
    assert!(!text.contains("secret-"), "{text}");
    assert!(text.contains("http://x/hook"));
}

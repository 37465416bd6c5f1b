//! The Scalapay adapter against the Scalapay sandbox over real HTTP: each test starts the
//! sandbox on port 0 and a small listener that collects the webhooks it sends.

use std::time::Duration;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use sandboxes::scalapay::{Merchant, SandboxConfig};
use server::providers::{
    IncomingNotice, PaymentProvider, ProviderError, RefundRequest, StartPayment,
    scalapay::{
        Scalapay, Settings, ShippingAddress,
        wire::{self, OrderStatus, Webhook},
    },
};
use shared::{
    api::Customer,
    catalogue::ErrorCode,
    method::PaymentMethod,
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, RefundStatus},
};
use tokio::sync::mpsc;

const KEY: &str = "qhtfs87hjnc12kkos";
const RETURN_URL: &str = "https://shop.example.com/pay/return";
const WAIT: Duration = Duration::from_secs(10);

struct Rig {
    sandbox_url: String,
    _sandbox: sandboxes::Running,
    adapter: Scalapay,
    hooks: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
    http: reqwest::Client,
}

#[derive(Clone, Copy)]
struct Knobs {
    delay_capture: bool,
    authorization_expiry_ms: u64,
    order_expiry_ms: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { delay_capture: false, authorization_expiry_ms: 432_000_000, order_expiry_ms: 60_000 }
    }
}

async fn rig(knobs: Knobs) -> Rig {
    let (tx, hooks) = mpsc::unbounded_channel();
    let receiver = Router::new().route(
        "/webhooks/scalapay",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/webhooks/scalapay", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let sandbox = sandboxes::scalapay::start(
        SandboxConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            order_expiry_ms: knobs.order_expiry_ms,
            max_order_amount_minor: 200_000,
        },
        Merchant { api_key: KEY.into(), webhook_url: hook_url },
    )
    .await
    .unwrap();
    let adapter = Scalapay::new(&settings(&sandbox.base_url(), KEY, knobs)).unwrap();
    Rig {
        sandbox_url: sandbox.base_url(),
        _sandbox: sandbox,
        adapter,
        hooks,
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
    }
}

fn settings(base_url: &str, key: &str, knobs: Knobs) -> Settings {
    Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: base_url.into(),
        api_key: key.to_owned().into(),
        delay_capture: knobs.delay_capture,
        authorization_expiry_ms: knobs.authorization_expiry_ms,
        order_expiry_ms: None,
        item_category: "clothes".into(),
        shipping: ShippingAddress {
            line1: "12 rue des Tisserands".into(),
            suburb: "Lyon".into(),
            postcode: "69003".into(),
            country_code: "FR".into(),
        },
        timeout_ms: 5_000,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
    }
}

fn eur(minor: u64) -> Money {
    Money::new(minor, Currency::Eur).unwrap()
}

fn customer() -> Customer {
    Customer {
        given_names: Some("Awa".into()),
        surname: Some("Koné".into()),
        email: Some("awa.kone@example.com".into()),
        phone: Some("+33612345678".into()),
    }
}

fn start_request(minor: u64) -> StartPayment {
    StartPayment {
        reference: uuid::Uuid::new_v4().to_string(),
        money: eur(minor),
        phone: None,
        method: PaymentMethod::Card,
        country: Country::Ci,
        customer_name: "Awa Koné".into(),
        customer: Some(customer()),
        description: Some("Pagne wax".into()),
        return_url: RETURN_URL.into(),
        otp: None,
        callback_base: "http://127.0.0.1:9".into(),
    }
}

impl Rig {
    /// The next webhook of `status`, verified by the adapter as the verifier would.
    async fn hook(&mut self, status: OrderStatus) -> (Webhook, server::providers::VerifiedNotice) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (headers, body) = tokio::time::timeout_at(deadline, self.hooks.recv())
                .await
                .unwrap_or_else(|_| panic!("no {status:?} webhook"))
                .unwrap();
            // Sent as compact JSON: what JSON.stringify gives.
            assert_eq!(wire::minify(&body), body.to_vec());
            let verified = self
                .adapter
                .verify_notice(&IncomingNotice {
                    headers: &headers,
                    body: &body,
                    peer: [127, 0, 0, 1].into(),
                    path_token: None,
                })
                .expect("the sandbox's webhooks verify");
            let hook: Webhook = serde_json::from_slice(&body).unwrap();
            if hook.status == status {
                return (hook, verified);
            }
        }
    }

    async fn pay(&self, checkout_url: &str, card: &str) -> reqwest::Response {
        self.http
            .post(checkout_url)
            .form(&[("card_number", card), ("expiry", "12/39"), ("cvv", "123")])
            .send()
            .await
            .unwrap()
    }

    async fn orders(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!("{}/_sandbox/orders", self.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn started(&mut self, minor: u64) -> (StartPayment, String, String) {
        let req = start_request(minor);
        let u = self.adapter.start(&req).await.unwrap();
        assert_eq!(u.status, AttemptStatus::AwaitingCustomer);
        let token = u.provider_reference.unwrap();
        let url = u.payment_url.unwrap();
        assert_eq!(url, format!("{}/checkout/{token}", self.sandbox_url));
        let (_, created) = self.hook(OrderStatus::Created).await;
        assert_eq!(created.reference, req.reference);
        (req, token, url)
    }
}

#[tokio::test]
async fn an_order_is_authorised_on_the_card_page_captured_and_refunded() {
    let mut rig = rig(Knobs::default()).await;
    let (req, token, url) = rig.started(19_000).await;

    // The same start again (a retry): the idempotency key gives back the same order.
    let again = rig.adapter.start(&req).await.unwrap();
    assert_eq!(again.provider_reference.as_deref(), Some(token.as_str()));
    assert_eq!(rig.orders().await.len(), 1);

    // Status by token, and by our reference alone (a start whose answer was lost).
    let by_token = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
    assert_eq!(by_token.status, AttemptStatus::AwaitingCustomer);
    let by_reference = rig.adapter.fetch(&req.reference, None).await.unwrap().unwrap();
    assert_eq!(by_reference.provider_reference.as_deref(), Some(token.as_str()));
    assert_eq!(rig.adapter.fetch("never-sent", None).await.unwrap(), None);
    assert_eq!(rig.adapter.fetch(&req.reference, Some("NOSUCHTOKEN")).await.unwrap(), None);

    // The customer's page shows the amount; a positive test card authorises.
    let page = rig.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("190,00"), "{page}");
    let paid = rig.pay(&url, "5200 8282 8282 8210").await;
    assert_eq!(paid.status(), 303);
    assert_eq!(paid.headers()["location"], RETURN_URL);
    let (hook, verified) = rig.hook(OrderStatus::Authorized).await;
    assert_eq!(hook.merchant_reference.as_deref(), Some(req.reference.as_str()));
    let update = verified.update.expect("explicit");
    assert_eq!(update.status, AttemptStatus::Authorized);
    assert_eq!(
        rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap().status,
        AttemptStatus::Authorized
    );
    // The page cannot be paid twice.
    assert_eq!(rig.pay(&url, "4242424242424242").await.status(), 200);

    // Capture (twice: the second is a replay of the first).
    for _ in 0..2 {
        let captured = rig.adapter.capture(&req.reference, Some(&token), eur(19_000)).await.unwrap();
        assert_eq!(captured.status, AttemptStatus::Succeeded);
    }
    let (_, charged) = rig.hook(OrderStatus::Charged).await;
    assert_eq!(charged.update.unwrap().status, AttemptStatus::Succeeded);
    let orders = rig.orders().await;
    assert_eq!(
        (orders[0]["status"].as_str(), orders[0]["captureStatus"].as_str()),
        (Some("charged"), Some("captured"))
    );
    assert_eq!(orders[0]["totalAmount"]["amount"], "190.00");

    // Refunds: part, a replay, too much, the rest, then nothing left.
    let refund = |id: &str, minor: u64| RefundRequest {
        refund_id: id.into(),
        payment_reference: req.reference.clone(),
        provider_reference: Some(token.clone()),
        amount: eur(minor),
        paid: eur(19_000),
        reason: None,
    };
    let first = rig.adapter.refund(&refund("rf_1", 4_000)).await.unwrap();
    assert_eq!(first.status, RefundStatus::Succeeded);
    let replay = rig.adapter.refund(&refund("rf_1", 4_000)).await.unwrap();
    assert_eq!(replay.provider_reference, first.provider_reference);
    // The webhook of a partial refund says `refunded`, the one refund status Scalapay's webhook
    // list documents (https://developers.scalapay.com/reference/webhooks); the order itself
    // reads `partially_refunded`.
    let (_, partial) = rig.hook(OrderStatus::Refunded).await;
    assert_eq!(partial.update.unwrap().status, AttemptStatus::Succeeded);
    assert_eq!(rig.orders().await[0]["status"], "partially_refunded");
    assert!(matches!(
        rig.adapter.refund(&refund("rf_2", 15_001)).await,
        Err(ProviderError::Refused { code: ErrorCode::InvalidRefundAmount, .. })
    ));
    assert!(matches!(
        rig.adapter.refund(&refund("rf_3", 20_000)).await,
        Err(ProviderError::Refused { code: ErrorCode::InvalidRefundAmount, .. })
    ));
    rig.adapter.refund(&refund("rf_4", 15_000)).await.unwrap();
    rig.hook(OrderStatus::Refunded).await;
    assert_eq!(rig.orders().await[0]["status"], "refunded");
    assert!(matches!(
        rig.adapter.refund(&refund("rf_5", 100)).await,
        Err(ProviderError::Refused { code: ErrorCode::RefundNotAllowed, .. })
    ));
    // A refunded order is still a paid attempt.
    assert_eq!(
        rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap().status,
        AttemptStatus::Succeeded
    );
}

#[tokio::test]
async fn negative_cards_fail_and_bad_forms_change_nothing() {
    let mut rig = rig(Knobs::default()).await;
    let (req, token, url) = rig.started(5_000).await;
    for (card, expiry, cvv) in [
        ("4242 4242 4242 4241", "12/39", "123"),
        ("4242424242424242", "01/20", "123"),
        ("4242424242424242", "12/39", "1"),
    ] {
        let r = rig
            .http
            .post(&url)
            .form(&[("card_number", card), ("expiry", expiry), ("cvv", cvv)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{card} {expiry} {cvv}");
        assert!(r.text().await.unwrap().contains("id=error"));
    }
    assert_eq!(rig.orders().await[0]["status"], "created");

    let refused = rig.pay(&url, "4000 0000 0000 0341").await;
    assert_eq!(refused.status(), 303);
    let (_, expired) = rig.hook(OrderStatus::Expired).await;
    assert!(expired.update.is_none(), "an expiry is read from the order, not the webhook");
    let u = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    assert_eq!(rig.orders().await[0]["lastEligibilityFeedback"], "DECLINED_FRAUD");
    // Nothing to capture.
    assert!(rig.adapter.capture(&req.reference, Some(&token), eur(5_000)).await.is_err());

    for card in ["4000000000000002", "4000000000009995", "4111111111111111"] {
        let (_, _, url) = rig.started(5_000).await;
        rig.pay(&url, card).await;
        rig.hook(OrderStatus::Expired).await;
    }
    let orders = rig.orders().await;
    assert!(orders[1..].iter().all(|o| o["status"] == "expired"), "{orders:?}");
}

#[tokio::test]
async fn delayed_captures_hold_the_authorisation_then_capture_or_void() {
    let mut rig = rig(Knobs { delay_capture: true, ..Knobs::default() }).await;
    assert!(rig.adapter.delays_capture());
    let (req, token, url) = rig.started(12_345).await;
    rig.pay(&url, "5555 5555 5555 4444").await;
    let (_, verified) = rig.hook(OrderStatus::Authorized).await;
    assert!(verified.update.is_none(), "with delayed captures the verifier fetches");
    // The fetch makes the delay call; the attempt stays authorised.
    for _ in 0..2 {
        let u = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
        assert_eq!(u.status, AttemptStatus::Authorized);
    }
    let order = &rig.orders().await[0];
    assert_eq!(
        (order["status"].as_str(), order["captureStatus"].as_str()),
        (Some("authorized"), Some("delayed"))
    );
    let captured = rig.adapter.capture(&req.reference, None, eur(12_345)).await.unwrap();
    assert_eq!(captured.status, AttemptStatus::Succeeded);
    assert_eq!(rig.orders().await[0]["captureStatus"], "captured");

    // Another one, voided by the merchant on Scalapay's side (`POST /v2/payments/{token}/void`,
    // https://developers.scalapay.com/reference/post_v2-payments-token-delay-void-1): the
    // adapter reads the voided order as refused.
    let (req, token, url) = rig.started(2_000).await;
    rig.pay(&url, "4242 4242 4242 4242").await;
    rig.hook(OrderStatus::Authorized).await;
    rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap();
    let voided = rig
        .http
        .post(format!("{}/v2/payments/{token}/void", rig.sandbox_url))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"merchantReference": req.reference}))
        .send()
        .await
        .unwrap();
    assert_eq!(voided.status(), 200, "{}", voided.text().await.unwrap_or_default());
    let u = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    assert!(matches!(
        rig.adapter.capture(&req.reference, Some(&token), eur(2_000)).await,
        Err(ProviderError::Integration(_))
    ));
}

#[tokio::test]
async fn orders_and_authorisations_lapse() {
    let mut rig = rig(Knobs { order_expiry_ms: 400, ..Knobs::default() }).await;
    // Never paid: expires.
    let (req, token, url) = rig.started(1_000).await;
    rig.hook(OrderStatus::Expired).await;
    let u = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)));
    assert_eq!(rig.pay(&url, "4242424242424242").await.status(), 409);

    // Authorised, never captured: refunded_not_charged, a technical failure (order-status page).
    let (req, token, url) = rig.started(1_000).await;
    rig.pay(&url, "4242424242424242").await;
    rig.hook(OrderStatus::Authorized).await;
    rig.hook(OrderStatus::Expired).await;
    assert_eq!(rig.orders().await[1]["status"], "refunded_not_charged");
    let u = rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::ProviderUnavailable)));

    // Delayed, past the authorisation's expiry: lapses too.
    let mut rig = rig_delayed_short().await;
    let (req, token, url) = rig.started(1_000).await;
    rig.pay(&url, "4242424242424242").await;
    rig.hook(OrderStatus::Authorized).await;
    assert_eq!(
        rig.adapter.fetch(&req.reference, Some(&token)).await.unwrap().unwrap().status,
        AttemptStatus::Authorized
    );
    rig.hook(OrderStatus::Expired).await;
    let order = &rig.orders().await[0];
    assert_eq!(
        (order["status"].as_str(), order["captureStatus"].as_str()),
        (Some("refunded_not_charged"), Some("voided"))
    );
}

async fn rig_delayed_short() -> Rig {
    rig(Knobs { delay_capture: true, authorization_expiry_ms: 300, order_expiry_ms: 60_000 }).await
}

#[tokio::test]
async fn refusals_are_answered_in_scalapays_shape() {
    let rig = rig(Knobs::default()).await;
    // The contract's maximum.
    assert!(matches!(
        rig.adapter.start(&start_request(200_001)).await,
        Err(ProviderError::Refused { code: ErrorCode::LimitExceeded, provider_code }) if provider_code == "order_amount_exceeds_maximum_limit"
    ));
    // Missing consumer details: refused before any call.
    let mut req = start_request(1_000);
    req.customer.as_mut().unwrap().email = None;
    assert!(matches!(
        rig.adapter.start(&req).await,
        Err(ProviderError::Refused { code: ErrorCode::MethodUnavailable, .. })
    ));
    assert!(rig.orders().await.is_empty());
    // A wrong key: an integration error; the 401's body is the bare string.
    let wrong = Scalapay::new(&settings(&rig.sandbox_url, "not-the-key", Knobs::default())).unwrap();
    assert!(matches!(wrong.start(&start_request(1_000)).await, Err(ProviderError::Integration(_))));
    let r = rig.http.get(format!("{}/v2/payments/X", rig.sandbox_url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), r#""Unauthorized""#);

    // Raw calls: the validation envelope, invalid tokens, a reused idempotency key.
    let post = |body: serde_json::Value, key: &str| {
        rig.http
            .post(format!("{}/v2/orders", rig.sandbox_url))
            .bearer_auth(KEY)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let r = post(serde_json::json!({"totalAmount": {"amount": "", "currency": "EUR"}}), "k1").await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errorCode"], "api_validationerror");
    assert_eq!(body["httpStatusCode"], 400);
    assert!(body["errorId"].as_str().unwrap().starts_with("error-"));
    let errors = body["message"]["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == serde_json::json!(["totalAmount", "amount"])
                && e["types"][0] == "any.empty")
    );
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == serde_json::json!(["consumer"]) && e["types"][0] == "any.required")
    );

    let order: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../server/tests/fixtures/scalapay/order_request.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    // 40 minutes is above this sandbox's contract (60 s).
    let long: serde_json::Value = post(order.clone(), "k0").await.unwrap().json().await.unwrap();
    assert_eq!(long["message"]["errors"][0]["types"][0], "number.max");
    let mut order = order;
    order["orderExpiryMilliseconds"] = 30_000.into();
    let first = post(order.clone(), "k2").await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("request-idempotency").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    let replay = post(order.clone(), "k2").await.unwrap();
    assert_eq!(replay.headers()["request-idempotency"], "true");
    assert_eq!(replay.json::<serde_json::Value>().await.unwrap(), first);
    let mut other = order.clone();
    other["totalAmount"]["amount"] = "10.00".into();
    let reused = post(other, "k2").await.unwrap();
    assert_eq!(reused.status(), 400);
    let reused: serde_json::Value = reused.json().await.unwrap();
    assert_eq!(reused["message"]["errors"][0]["location"], "header");

    let r =
        rig.http.get(format!("{}/v2/payments/NOPE", rig.sandbox_url)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body: wire::ErrorBody = r.json().await.unwrap();
    assert_eq!(body.error_code, "invalid_token");
    assert_eq!(body.message, Some(wire::ErrorMessage::Text("Order NOPE not found.".into())));
    let r = rig
        .http
        .get(format!("{}/v2/payments/references", rig.sandbox_url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

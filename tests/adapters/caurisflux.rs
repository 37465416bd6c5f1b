//! The CaurisFlux adapter against the CaurisFlux sandbox over real HTTP (both on port 0), with
//! a webhook receiver that checks every notification with the adapter, plus the sandbox's own
//! rules seen on the wire: validation messages, credentials, rate limits, idempotency, routes.

use std::time::Duration;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use serde_json::{Value, json};
use shared::{
    catalogue::ErrorCode,
    method::PaymentMethod,
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
    status::AttemptStatus,
};
use tokio::sync::mpsc;

use axum::http::{StatusCode, header};
use sandboxes::caurisflux::{
    DEFAULT_RATE_PER_HOUR, DEFAULT_RATE_PER_MINUTE, Merchant, SandboxConfig,
    wire::{
        API_KEY_HEADER, DELIVERY_HEADER, EVENT_HEADER, IDEMPOTENCY_HEADER, Payment, PaymentStatus,
        SIGNATURE_HEADER, TIMESTAMP_HEADER,
    },
};
use server::providers::{
    IncomingNotice, PaymentProvider, ProviderError, RefundRequest, StartPayment, VerifiedNotice,
    caurisflux::{CaurisFlux, Settings},
};
use server::store::AttemptUpdate;
use tokio::net::TcpListener;

const PK: &str = "pk_test_sandbox_tests";
const SK: &str = "sk_test_sandbox_tests";
const WEBHOOK_SECRET: &str = "whsec_sandbox_tests";
const WAIT: Duration = Duration::from_secs(10);

struct Harness {
    sandbox: sandboxes::Running,
    adapter: CaurisFlux,
    hooks: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
    http: reqwest::Client,
}

fn config() -> SandboxConfig {
    SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        confirm_delay_ms: 100,
        expire_after_ms: 600,
        rate_per_minute: DEFAULT_RATE_PER_MINUTE,
        rate_per_hour: DEFAULT_RATE_PER_HOUR,
        allowed_ips: Vec::new(),
    }
}

async fn harness_with(config: SandboxConfig) -> Harness {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = listener.local_addr().unwrap();
    let (tx, hooks) = mpsc::unbounded_channel();
    let receiver = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let sandbox = sandboxes::caurisflux::start(
        config,
        Merchant {
            public_key: PK.into(),
            secret_key: SK.into(),
            webhook_url: format!("http://{hook_addr}/hook"),
            webhook_secret: WEBHOOK_SECRET.into(),
        },
    )
    .await
    .unwrap();
    let adapter = CaurisFlux::new(&Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: sandbox.api_url(),
        public_key: PK.into(),
        secret_key: SK.to_owned().into(),
        webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        timeout_ms: 5_000,
        // The sandbox's own limits are under test here: the adapter's budget (tested in
        // `server::providers::budget` and `tests/e2e/rate_limits.rs`) is set out of their way.
        rate_per_minute: UNBOUNDED_BUDGET.0,
        rate_per_hour: UNBOUNDED_BUDGET.1,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
    })
    .unwrap();
    // As the verifier does at start: which operators are served where.
    adapter.refresh_providers().await.expect("the sandbox lists its providers");
    Harness { sandbox, adapter, hooks, http: reqwest::Client::new() }
}

/// An adapter budget far above any of the sandbox's limits.
const UNBOUNDED_BUDGET: (std::num::NonZeroU32, std::num::NonZeroU32) =
    (std::num::NonZeroU32::new(1_000_000).unwrap(), std::num::NonZeroU32::new(1_000_000).unwrap());

async fn harness() -> Harness {
    harness_with(config()).await
}

fn start_req(method: PaymentMethod, phone: Option<&str>, amount: u64, country: Country) -> StartPayment {
    let currency = if matches!(country, Country::Cm | Country::Ga | Country::Cg) {
        Currency::Xaf
    } else {
        Currency::Xof
    };
    StartPayment {
        reference: uuid::Uuid::new_v4().to_string(),
        money: Money::new(amount, currency).unwrap(),
        phone: phone.map(|p| PhoneNumber::parse_e164(p).unwrap()),
        method,
        country,
        customer_name: "Awa Diop".into(),
        customer: None,
        description: Some("Pagne wax".into()),
        return_url: "http://shop.example/back".into(),
        otp: None,
        callback_base: "http://verifier.example".into(),
    }
}

fn orange(phone: &str) -> StartPayment {
    start_req(PaymentMethod::OrangeMoney, Some(phone), 5000, Country::Ci)
}

impl Harness {
    /// The next webhook about `reference`, verified by the adapter.
    async fn notice_for(&mut self, reference: &str) -> (HeaderMap, VerifiedNotice) {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let (headers, body) = self.hooks.recv().await.expect("the receiver runs");
                let notice = IncomingNotice {
                    headers: &headers,
                    body: &body,
                    peer: [127, 0, 0, 1].into(),
                    path_token: None,
                };
                let verified =
                    self.adapter.verify_notice(&notice).expect("the sandbox signs as CaurisFlux does");
                if verified.reference == reference {
                    return (headers, verified);
                }
            }
        })
        .await;
        found.expect("a webhook within the wait")
    }

    async fn final_update(&mut self, reference: &str) -> AttemptUpdate {
        self.notice_for(reference).await.1.update.expect("payment events are explicit")
    }

    async fn payments(&self) -> Vec<Payment> {
        self.http
            .get(format!("{}/_sandbox/payments", self.sandbox.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn raw_initiate(&self, key: Option<&str>, body: &Value) -> (u16, HeaderMap, Value) {
        let mut req = self.http.post(format!("{}/payments/initiate", self.sandbox.api_url())).json(body);
        if let Some(key) = key {
            req = req.header(API_KEY_HEADER, key);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }
}

fn pair() -> String {
    format!("{PK}:{SK}")
}

fn body(amount: Value, phone: &str, provider: &str, country: &str) -> Value {
    json!({"type": "direct", "amount": amount, "currency": "XOF", "externalReference": uuid::Uuid::new_v4().to_string(),
           "provider": provider, "country": country, "customerPhone": phone})
}

#[tokio::test]
async fn a_push_payment_is_confirmed_signed_and_fetchable() {
    let mut h = harness().await;
    let req = orange("+2250700000001");
    let started = h.adapter.start(&req).await.unwrap();
    assert_eq!(started.status, AttemptStatus::AwaitingCustomer);
    assert_eq!(started.payment_url, None, "push payments have no page");
    let tx = started.provider_reference.clone().expect("a transactionId");
    assert!(tx.starts_with("TX") && tx.len() == 11, "{tx}");

    let (headers, notice) = h.notice_for(&req.reference).await;
    let signature = headers[SIGNATURE_HEADER].to_str().unwrap();
    assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64, "{signature}");
    let ts: i64 = headers[TIMESTAMP_HEADER].to_str().unwrap().parse().unwrap();
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - ts).abs() < 5);
    assert_eq!(headers[EVENT_HEADER], "payment.success");
    assert!(uuid::Uuid::parse_str(headers[DELIVERY_HEADER].to_str().unwrap()).is_ok());
    let update = notice.update.unwrap();
    assert_eq!(update.status, AttemptStatus::Succeeded);
    assert_eq!(update.provider_reference.as_deref(), Some(tx.as_str()));

    // The status answers by CaurisFlux's id and by our reference.
    for by in [Some(tx.as_str()), None] {
        let fetched = h.adapter.fetch(&req.reference, by).await.unwrap().unwrap();
        assert_eq!(fetched.status, AttemptStatus::Succeeded, "{by:?}");
    }
    let payments = h.payments().await;
    assert_eq!(payments.len(), 1);
    let p = &payments[0];
    assert_eq!(p.amount, Some(5000.into()));
    assert_eq!(p.currency.as_deref(), Some("XOF"));
    assert_eq!(p.provider.as_deref(), Some("orange_money"));
    assert_eq!(p.country.as_deref(), Some("CI"));
    assert_eq!(p.customer_phone.as_deref(), Some("+2250700000001"));
    assert_eq!(p.external_reference.as_deref(), Some(req.reference.as_str()));
    assert!(p.completed_at.is_some());
}

#[tokio::test]
async fn every_test_trigger_ends_as_documented() {
    let mut h = harness().await;
    // Asynchronous endings, told by a signed webhook.
    for (phone, status, failure) in [
        ("+2250700000002", AttemptStatus::Failed, Some(ErrorCode::CustomerDeclined)),
        ("+2250700000003", AttemptStatus::Failed, Some(ErrorCode::InsufficientFunds)),
        ("+2250700000004", AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
        ("+2250700000005", AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)),
        ("+2250700000067", AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
    ] {
        let req = orange(phone);
        let started = h.adapter.start(&req).await.unwrap();
        assert_eq!(started.status, AttemptStatus::AwaitingCustomer, "{phone}");
        let ended = h.final_update(&req.reference).await;
        assert_eq!((ended.status, ended.failure), (status, failure), "{phone}");
        let fetched =
            h.adapter.fetch(&req.reference, started.provider_reference.as_deref()).await.unwrap().unwrap();
        assert_eq!((fetched.status, fetched.failure), (status, failure), "{phone}: the status agrees");
    }
    // Refusals at once, recording nothing.
    let before = h.payments().await.len();
    for (phone, code, provider_code) in [
        ("+2250700000006", ErrorCode::InvalidPhoneNumber, "VALIDATION_ERROR: Format de numéro invalide"),
        ("+2250700000007", ErrorCode::ProviderUnavailable, "PROVIDER_ERROR"),
        ("+2250700000008", ErrorCode::LimitExceeded, "DAILY_LIMIT_EXCEEDED"),
        ("+2250700000009", ErrorCode::MethodUnavailable, "VALIDATION_ERROR: Méthode de paiement invalide"),
    ] {
        match h.adapter.start(&orange(phone)).await {
            Err(ProviderError::Refused { code: got, provider_code: p }) => {
                assert_eq!((got, p.as_str()), (code, provider_code), "{phone}");
            }
            other => panic!("{phone}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(h.payments().await.len(), before);
}

#[tokio::test]
async fn a_lost_answer_and_a_lost_first_call_are_recovered_with_the_same_reference() {
    let mut h = harness().await;
    // 10: recorded, answer lost. The outcome is unknown, never a refusal; the status by our
    // reference finds it.
    let req = orange("+2250700000010");
    assert!(matches!(h.adapter.start(&req).await, Err(ProviderError::Unavailable(_))));
    let found = h.adapter.fetch(&req.reference, None).await.unwrap().expect("it was recorded");
    assert!(found.provider_reference.is_some());
    assert_eq!(h.final_update(&req.reference).await.status, AttemptStatus::Succeeded);

    // 11: the first call never recorded. The status says so; the same start again is taken.
    let req = orange("+2250700000011");
    assert!(matches!(h.adapter.start(&req).await, Err(ProviderError::Unavailable(_))));
    assert_eq!(h.adapter.fetch(&req.reference, None).await.unwrap(), None);
    let again = h.adapter.start(&req).await.unwrap();
    assert_eq!(again.status, AttemptStatus::AwaitingCustomer);
    assert_eq!(h.final_update(&req.reference).await.status, AttemptStatus::Succeeded);
    let mine: Vec<_> = h
        .payments()
        .await
        .into_iter()
        .filter(|p| p.external_reference.as_deref() == Some(&req.reference))
        .collect();
    assert_eq!(mine.len(), 1, "one payment, never two");
}

#[tokio::test]
async fn wave_and_cards_are_paid_on_a_page() {
    let mut h = harness().await;
    // Wave in Sénégal, a number without a trigger: the customer acts on the page.
    let wave = start_req(PaymentMethod::Wave, Some("+221771234567"), 7500, Country::Sn);
    let started = h.adapter.start(&wave).await.unwrap();
    let url = started.payment_url.clone().expect("Wave pays from a link");
    assert!(url.starts_with(&format!("{}/pay/TX", h.sandbox.base_url())), "{url}");
    let page = h.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("7500 XOF") && page.contains("Wave"), "{page}");
    let opened =
        h.adapter.fetch(&wave.reference, started.provider_reference.as_deref()).await.unwrap().unwrap();
    assert_eq!(opened.status, AttemptStatus::AwaitingCustomer);
    let payments = h.payments().await;
    assert_eq!(payments[0].status, Some(PaymentStatus::Processing), "opening the page starts processing");
    let paid = h.http.post(format!("{url}/confirm")).send().await.unwrap();
    assert!(paid.status().is_success(), "{}", paid.status());
    assert_eq!(h.final_update(&wave.reference).await.status, AttemptStatus::Succeeded);
    let page = h.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Paiement effectué"), "{page}");

    // A card on the hosted checkout page (type checkout, no phone), cancelled.
    let card = start_req(PaymentMethod::Card, None, 12_000, Country::Ci);
    let started = h.adapter.start(&card).await.unwrap();
    let url = started.payment_url.expect("the hosted page");
    h.http.post(format!("{url}/cancel")).send().await.unwrap();
    let ended = h.final_update(&card.reference).await;
    assert_eq!((ended.status, ended.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)));
    let p = h
        .payments()
        .await
        .into_iter()
        .find(|p| p.external_reference.as_deref() == Some(&card.reference))
        .unwrap();
    // No operator in the request; the ended payment names the sandbox's test operator, as
    // the plugin's simulated event does.
    assert_eq!((p.provider.as_deref(), p.customer_phone), (Some("test_provider"), None));
    // A push payment has no page.
    let push = h.adapter.start(&orange("+2250700000067")).await.unwrap();
    let tx = push.provider_reference.unwrap();
    let r = h.http.get(format!("{}/pay/{tx}", h.sandbox.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn validation_rules_answer_the_documented_messages() {
    let h = harness().await;
    let key = pair();
    let ci = "+2250700000067";
    let cases = [
        (body(json!(99), ci, "orange_money", "CI"), "Le montant doit être entre 100 et 5 000 000"),
        (body(json!(5_000_001), ci, "orange_money", "CI"), "Le montant doit être entre 100 et 5 000 000"),
        (body(json!(150.5), ci, "orange_money", "CI"), "Montant invalide"),
        (body(json!("5000"), ci, "orange_money", "CI"), "Montant invalide"),
        (body(json!(-500), ci, "orange_money", "CI"), "Montant invalide"),
        (
            {
                let mut b = body(json!(5000), ci, "orange_money", "CI");
                b["currency"] = "EUR".into();
                b
            },
            "Devise non supportée",
        ),
        (
            {
                let mut b = body(json!(5000), ci, "orange_money", "CI");
                b["currency"] = "XAF".into();
                b
            },
            "Devise non supportée",
        ),
        (body(json!(5000), "0700000067", "orange_money", "CI"), "Format de numéro invalide"),
        (body(json!(5000), "+221771234567", "orange_money", "CI"), "Format de numéro invalide"),
        (body(json!(5000), ci, "bitcoin", "CI"), "Méthode de paiement invalide"),
        (body(json!(5000), "+2290197000067", "wave", "BJ"), "Provider non disponible"),
        (body(json!(5000), ci, "orange_money", "GN"), "Pays non supporté"),
        (
            {
                let mut b = body(json!(5000), ci, "orange_money", "CI");
                b["type"] = "push".into();
                b
            },
            "Type de paiement invalide (direct ou checkout)",
        ),
        (
            {
                let mut b = body(json!(5000), ci, "orange_money", "CI");
                b.as_object_mut().unwrap().remove("externalReference");
                b
            },
            "La référence externe (externalReference) est requise",
        ),
        (
            {
                let mut b = body(json!(5000), ci, "orange_money", "CI");
                b["returnUrl"] = "javascript:alert(1)".into();
                b
            },
            "URL invalide",
        ),
    ];
    for (b, message) in cases {
        let (status, _, answer) = h.raw_initiate(Some(&key), &b).await;
        assert_eq!(status, 400, "{b}: {answer}");
        assert_eq!(
            answer,
            json!({"statusCode": 400, "message": message, "error": "VALIDATION_ERROR"}),
            "{b}"
        );
    }
    assert!(h.payments().await.is_empty(), "nothing invalid was recorded");
    // The plugin's float amounts are whole amounts.
    let (status, _, answer) =
        h.raw_initiate(Some(&key), &body(json!(5000.0), ci, "orange_money", "CI")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true);
    assert_eq!(answer["data"]["status"], "pending");
    assert_eq!(answer["data"]["amount"], 5000);

    // Through the adapter, the amount rule becomes the catalogue's limits.
    for (amount, code) in [(50, ErrorCode::AmountTooLow), (6_000_000, ErrorCode::LimitExceeded)] {
        let req = start_req(PaymentMethod::OrangeMoney, Some(ci), amount, Country::Ci);
        match h.adapter.start(&req).await {
            Err(ProviderError::Refused { code: got, provider_code }) => {
                assert_eq!(got, code, "{amount}");
                assert!(provider_code.starts_with("VALIDATION_ERROR"), "{provider_code}");
            }
            other => panic!("{amount}: {other:?}"),
        }
    }
    let wrong_operator = start_req(PaymentMethod::Wave, Some("+2290197000067"), 5000, Country::Bj);
    assert!(matches!(
        h.adapter.start(&wrong_operator).await,
        Err(ProviderError::Refused { code: ErrorCode::MethodUnavailable, .. })
    ));
}

#[tokio::test]
async fn credentials_are_checked_and_refusals_are_integration_errors() {
    let h = harness().await;
    let b = body(json!(5000), "+2250700000067", "orange_money", "CI");
    for (key, fragment) in [
        (None, "manquante"),
        (Some(PK.to_owned()), "Format"),
        (Some(format!("{PK}:")), "Format"),
        (Some(format!("{PK}:sk_test_wrong")), "invalide"),
        (Some(format!("pk_live_x:{SK}")), "invalide"),
    ] {
        let (status, _, answer) = h.raw_initiate(key.as_deref(), &b).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(answer["statusCode"], 401);
        assert_eq!(answer["error"], "UNAUTHORIZED");
        assert!(answer["message"].as_str().unwrap().contains(fragment), "{key:?}: {answer}");
    }
    // Bearer is the documented alternative.
    let r = h
        .http
        .get(format!("{}/payments/status/TX000000000", h.sandbox.api_url()))
        .bearer_auth(pair())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "authenticated, and no such payment");

    let wrong = CaurisFlux::new(&Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: h.sandbox.api_url(),
        public_key: PK.into(),
        secret_key: "sk_test_not_mine".to_owned().into(),
        webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        timeout_ms: 5_000,
        rate_per_minute: UNBOUNDED_BUDGET.0,
        rate_per_hour: UNBOUNDED_BUDGET.1,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
    })
    .unwrap();
    // The lists are public: read without the key.
    wrong.refresh_providers().await.unwrap();
    assert!(matches!(wrong.start(&orange("+2250700000001")).await, Err(ProviderError::Integration(_))));
    assert!(matches!(wrong.fetch("x", None).await, Err(ProviderError::Integration(_))));
    assert!(h.payments().await.is_empty());

    // The dashboard's IP whitelist.
    let fenced =
        harness_with(SandboxConfig { allowed_ips: vec!["10.9.8.7".parse().unwrap()], ..config() }).await;
    let (status, _, answer) = fenced.raw_initiate(Some(&pair()), &b).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("FORBIDDEN")), "{answer}");
    assert!(matches!(
        fenced.adapter.start(&orange("+2250700000001")).await,
        Err(ProviderError::Integration(_))
    ));
}

#[tokio::test]
async fn the_minute_limit_is_counted_per_key_and_429_means_retry_later() {
    let h = harness().await;
    // Refused requests do not use the quota.
    for _ in 0..5 {
        let (status, _, _) = h.raw_initiate(Some("pk_test_x:sk_test_y"), &json!({})).await;
        assert_eq!(status, 401);
    }
    for i in 0..DEFAULT_RATE_PER_MINUTE {
        assert_eq!(h.adapter.fetch(&format!("nope-{i}"), None).await.unwrap(), None, "request {i}");
    }
    // The 101st request of the minute: retry later, not a refusal; nothing was created.
    match h.adapter.start(&orange("+2250700000001")).await {
        Err(ProviderError::Unavailable(why)) => assert!(why.contains("rate limit"), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The answer's Retry-After closed the adapter's budget: the next call is not even sent.
    assert!(matches!(h.adapter.fetch("nope", None).await, Err(ProviderError::BudgetSpent { .. })));
    let (status, headers, answer) =
        h.raw_initiate(Some(&pair()), &body(json!(5000), "+2250700000001", "orange_money", "CI")).await;
    assert_eq!(status, 429);
    assert_eq!(answer["statusCode"], 429);
    assert_eq!(answer["error"], "RATE_LIMIT_EXCEEDED");
    let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(h.payments().await.is_empty());
    // Public endpoints are not limited.
    let r = h.http.get(format!("{}/health", h.sandbox.api_url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_hour_limit_is_counted_too() {
    let h = harness_with(SandboxConfig { rate_per_minute: 1000, rate_per_hour: 30, ..config() }).await;
    for i in 0..30 {
        assert_eq!(h.adapter.fetch(&format!("nope-{i}"), None).await.unwrap(), None, "request {i}");
    }
    let r = h
        .http
        .get(format!("{}/payments/status/nope", h.sandbox.api_url()))
        .header(API_KEY_HEADER, pair())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry > 60 && retry <= 3600, "{retry}");
}

#[tokio::test]
async fn a_retried_start_is_one_payment_and_a_new_attempt_is_another() {
    let h = harness().await;
    // One attempt started twice (a lost answer): the same key and body replay its payment.
    let req = orange("+2250700000002");
    let first = h.adapter.start(&req).await.unwrap();
    let again = h.adapter.start(&req).await.unwrap();
    assert_eq!(first.provider_reference, again.provider_reference, "the same key replays");
    assert_eq!(h.payments().await.len(), 1);

    // The customer declines (trigger `02`); the next attempt on the same checkout has its own
    // key and `externalReference`, and is a new payment that succeeds.
    let declined = first.provider_reference.clone().unwrap();
    wait_until_status(&h, &declined, PaymentStatus::Failed).await;
    let retry = orange("+2250700000001");
    assert_ne!(retry.reference, req.reference);
    let second = h.adapter.start(&retry).await.unwrap();
    assert_ne!(second.provider_reference, first.provider_reference);
    let paid = second.provider_reference.clone().unwrap();
    wait_until_status(&h, &paid, PaymentStatus::Success).await;
    let payments = h.payments().await;
    assert_eq!(payments.len(), 2);
    assert_eq!(payments.iter().filter(|p| p.status == Some(PaymentStatus::Success)).count(), 1);

    // Nothing documented refuses another body under a used key, or a used reference under
    // another key: both are new payments, and the status by reference answers the newest.
    let mut other = body(json!(6000), "+2250700000067", "orange_money", "CI");
    other["externalReference"] = req.reference.clone().into();
    let r = h
        .http
        .post(format!("{}/payments/initiate", h.sandbox.api_url()))
        .header(API_KEY_HEADER, pair())
        .header(IDEMPOTENCY_HEADER, &req.reference)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let under_used_key: Value = r.json().await.unwrap();
    let (status, _, under_new_key) = h.raw_initiate(Some(&pair()), &other).await;
    assert_eq!(status, 200);
    let ids =
        [&under_used_key, &under_new_key].map(|a| a["data"]["transactionId"].as_str().unwrap().to_owned());
    assert_ne!(ids[0], ids[1]);
    assert!(!ids.contains(&declined) && !ids.contains(&paid));
    assert_eq!(h.payments().await.len(), 4);
    let newest = h.adapter.fetch(&req.reference, None).await.unwrap().unwrap();
    assert_eq!(newest.provider_reference.as_deref(), Some(ids[1].as_str()));
}

/// Waits until the sandbox's payment `id` has `status` (a deadline, not a sleep).
async fn wait_until_status(h: &Harness, id: &str, status: PaymentStatus) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let payments = h.payments().await;
        if payments.iter().any(|p| p.transaction_id.as_deref() == Some(id) && p.status == Some(status)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} never became {status:?}: {payments:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_refund_api_and_nestjs_404s() {
    let h = harness().await;
    let started = h.adapter.start(&orange("+2250700000067")).await.unwrap();
    let tx = started.provider_reference.unwrap();
    let r = h
        .http
        .post(format!("{}/payments/{tx}/refund", h.sandbox.api_url()))
        .header(API_KEY_HEADER, pair())
        .json(&json!({"amount": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"statusCode": 404, "message": format!("Cannot POST /api/v1/payments/{tx}/refund"), "error": "Not Found"})
    );
    let refund = RefundRequest {
        refund_id: "rf_1".into(),
        payment_reference: "x".into(),
        provider_reference: Some(tx),
        amount: Money::new(1000, Currency::Xof).unwrap(),
        paid: Money::new(5000, Currency::Xof).unwrap(),
        reason: None,
    };
    assert!(matches!(h.adapter.refund(&refund).await, Err(ProviderError::Unsupported(_))));
}

#[tokio::test]
async fn public_endpoints_list_providers_and_countries() {
    let h = harness().await;
    let providers: Value = h
        .http
        .get(format!("{}/payments/providers", h.sandbox.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wave = providers["data"].as_array().unwrap().iter().find(|p| p["code"] == "wave").unwrap();
    assert_eq!(wave["countries"], json!(["CI", "SN", "ML", "BF"]));
    let countries: Value = h
        .http
        .get(format!("{}/countries/active", h.sandbox.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = countries["data"].as_array().unwrap();
    assert!(list.contains(&json!({"code": "CM", "currency": "XAF"})));
    assert!(list.contains(&json!({"code": "SN", "currency": "XOF"})));
    assert!(!list.iter().any(|c| c["code"] == "GN"));
}

#[tokio::test]
async fn payments_carry_their_provider_and_direct_ones_their_deep_links() {
    let mut h = harness().await;
    // Wave (direct): `deepLinks` names Wave's link; the adapter keeps `redirectUrl`, the same
    // https link, which opens on any device (and as a QR code on a computer).
    let wave = start_req(PaymentMethod::Wave, Some("+221771234567"), 7500, Country::Sn);
    let started = h.adapter.start(&wave).await.unwrap();
    let url = started.payment_url.clone().expect("Wave pays from a link");
    let status = |id: String| {
        let (http, api) = (h.http.clone(), h.sandbox.api_url());
        async move {
            let r = http.get(format!("{api}/payments/status/{id}")).header(API_KEY_HEADER, pair()).send();
            r.await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let answer = status(wave.reference.clone()).await;
    assert_eq!(answer["data"]["deepLinks"], json!({"wave": url}));
    assert_eq!(answer["data"]["redirectUrl"], url);
    assert_eq!(answer["data"]["provider"], "wave");

    // A push operator: nothing to open.
    let push = orange("+2250700000001");
    h.adapter.start(&push).await.unwrap();
    assert_eq!(status(push.reference.clone()).await["data"]["deepLinks"], json!({}));

    // Its webhook and its status carry the operator and the operator's id, as the plugin reads
    // them (`data.provider`, `data.providerTransactionId`).
    let body: Value = tokio::time::timeout(WAIT, async {
        loop {
            let (_, body) = h.hooks.recv().await.expect("the receiver runs");
            let body: Value = serde_json::from_slice(&body).unwrap();
            if body["data"]["externalReference"] == push.reference.as_str() {
                return body;
            }
        }
    })
    .await
    .expect("a webhook within the wait");
    assert_eq!(body["event"], "payment.success");
    assert_eq!(body["data"]["provider"], "orange_money");
    let operator_id = body["data"]["providerTransactionId"].as_str().expect("the operator's id");
    assert!(operator_id.starts_with("TEST_"), "{operator_id}");
    let answer = status(push.reference.clone()).await;
    assert_eq!(
        (answer["data"]["provider"].as_str(), answer["data"]["providerTransactionId"].as_str()),
        (Some("orange_money"), Some(operator_id))
    );
    // The adapter's reference is still CaurisFlux's `transactionId`, not the operator's id.
    let fetched = h.adapter.fetch(&push.reference, None).await.unwrap().unwrap();
    assert_eq!(fetched.provider_reference.as_deref(), answer["data"]["transactionId"].as_str());
}

#[tokio::test]
async fn the_adapter_offers_what_caurisflux_lists_and_follows_a_change() {
    let h = harness().await;
    let xof = |n| Money::new(n, Currency::Xof).unwrap();
    use PaymentMethod::*;
    // The sandbox's own list, read over HTTP: every method offered is listed for the country,
    // and every listed operator of ours is offered.
    let listed: Value = h
        .http
        .get(format!("{}/payments/providers", h.sandbox.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes_in = |country: &str| -> Vec<String> {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["countries"].as_array().unwrap().iter().any(|c| c == country))
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let ours = [
        (OrangeMoney, "orange_money"),
        (MtnMomo, "mtn_momo"),
        (MoovMoney, "moov_money"),
        (AirtelMoney, "airtel_money"),
        (Wave, "wave"),
    ];
    for (country, code) in
        [(Country::Ci, "CI"), (Country::Sn, "SN"), (Country::Ne, "NE"), (Country::Bj, "BJ")]
    {
        let codes = codes_in(code);
        let expected: Vec<_> = ours
            .iter()
            .filter(|(_, c)| codes.iter().any(|l| l == c))
            .map(|(m, _)| *m)
            .chain([Card])
            .collect();
        assert_eq!(h.adapter.methods(country, xof(5000)), expected, "{code}: {codes:?}");
    }
    assert_eq!(h.adapter.methods(Country::Ci, xof(5000)), vec![OrangeMoney, MtnMomo, MoovMoney, Wave, Card]);

    // CaurisFlux withdraws MTN in Côte d'Ivoire: after a refresh it is no longer offered, and a
    // start for it is refused without a call.
    let mut changed = listed["data"].clone();
    for p in changed.as_array_mut().unwrap() {
        if p["code"] == "mtn_momo" {
            p["countries"].as_array_mut().unwrap().retain(|c| c != "CI");
        }
    }
    let r = h
        .http
        .put(format!("{}/_sandbox/providers", h.sandbox.base_url()))
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(h.adapter.methods(Country::Ci, xof(5000)).contains(&MtnMomo), "until the next refresh");
    h.adapter.refresh_providers().await.unwrap();
    assert_eq!(h.adapter.methods(Country::Ci, xof(5000)), vec![OrangeMoney, MoovMoney, Wave, Card]);
    assert!(h.adapter.methods(Country::Cm, Money::new(5000, Currency::Xaf).unwrap()).contains(&MtnMomo));
    let mtn = start_req(MtnMomo, Some("+2250500000001"), 5000, Country::Ci);
    match h.adapter.start(&mtn).await {
        Err(ProviderError::Refused { code, .. }) => assert_eq!(code, ErrorCode::MethodUnavailable),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(h.payments().await.is_empty());
    // The sandbox refuses it too, as the initiate page words it.
    let (status, _, answer) =
        h.raw_initiate(Some(&pair()), &body(json!(5000), "+2250500000001", "mtn_momo", "CI")).await;
    assert_eq!((status, answer["message"].as_str()), (400, Some("Provider non disponible")));
}

#[tokio::test]
async fn a_caurisflux_that_cannot_be_reached_at_start_offers_nothing() {
    // Nothing listens on port 9: the lists cannot be read, the adapter is built all the same.
    let adapter = CaurisFlux::new(&Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: "http://127.0.0.1:9/api/v1".into(),
        public_key: PK.into(),
        secret_key: SK.to_owned().into(),
        webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        rate_per_minute: server::providers::caurisflux::DEFAULT_RATE_PER_MINUTE,
        rate_per_hour: server::providers::caurisflux::DEFAULT_RATE_PER_HOUR,
        timeout_ms: 2_000,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
    })
    .unwrap();
    assert!(matches!(adapter.refresh_providers().await, Err(ProviderError::Unavailable(_))));
    assert!(adapter.methods(Country::Ci, Money::new(5000, Currency::Xof).unwrap()).is_empty());
}

//! CaurisFlux end to end over real HTTP: the merchant creates a checkout, the widget's public
//! API pays it with a CaurisFlux method, the CaurisFlux sandbox decides the outcome (its test
//! triggers) and notifies the verifier with a signed webhook, and the merchant reads the result
//! back. Also: payment pages (Wave, cards), lost answers reconciled, polling without webhooks,
//! forged webhooks, limits and rate limits.

use std::time::Duration;

use e2e::{
    CAURISFLUX_PUBLIC_KEY, CAURISFLUX_SECRET_KEY, CAURISFLUX_WEBHOOK_SECRET, Options, TestApp,
    caurisflux_signature,
};
use serde_json::json;
use shared::{
    api::{Checkout, PublicCheckout},
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    phone::Country,
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

fn offered(public: &PublicCheckout, provider: Provider) -> Vec<PaymentMethod> {
    public.methods.iter().filter(|o| o.provider == provider).map(|o| o.method).collect()
}

async fn pay(app: &TestApp, c: &Checkout, method: &str, phone: &str) -> PublicCheckout {
    let (status, body) = app
        .pay_raw(&c.id, &secret(c), json!({"provider": "cauris_flux", "method": method, "phone": phone}))
        .await;
    assert_eq!(status, 200, "{method} {phone}: {body}");
    serde_json::from_value(body).expect("a public checkout")
}

async fn settled(app: &TestApp, id: &str) -> Checkout {
    app.wait_for(id, WAIT, |c| c.attempts.last().is_some_and(|a| !a.status.is_pending())).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orange_money_payment_goes_from_checkout_to_verified_success() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    use PaymentMethod::*;
    assert_eq!(offered(&public, Provider::CaurisFlux), vec![OrangeMoney, MtnMomo, MoovMoney, Wave, Card]);

    // The customer types the test number the way people say it.
    let paying = pay(&app, &checkout, "orange_money", "07 00 00 00 01").await;
    let attempt = paying.attempt.expect("an attempt");
    assert_eq!(attempt.method, OrangeMoney);
    assert_eq!(attempt.status, AttemptStatus::AwaitingCustomer, "the push prompt is on the phone");
    assert_eq!(attempt.payment_url, None);

    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.amount, 5000);
    let a = &c.attempts[0];
    assert_eq!(
        (a.provider, a.method, a.status),
        (Provider::CaurisFlux, OrangeMoney, AttemptStatus::Succeeded)
    );
    assert_eq!(a.phone.as_deref(), Some("+2250700000001"));
    let tx = a.provider_reference.clone().expect("CaurisFlux's transactionId");
    assert!(tx.starts_with("TX"), "{tx}");
    assert!(
        app.history(&checkout.id).await.last().unwrap()["cause"]
            .as_str()
            .unwrap()
            .starts_with("webhook:cauris_flux:wh_")
    );

    // CaurisFlux charged exactly the checkout's amount, once, with our reference.
    let payments = app.caurisflux_payments().await.unwrap();
    assert_eq!(payments.len(), 1);
    let p = &payments[0];
    assert_eq!((p["transactionId"].as_str(), p["amount"].as_u64()), (Some(tx.as_str()), Some(5000)));
    assert_eq!((p["provider"].as_str(), p["country"].as_str()), (Some("orange_money"), Some("CI")));
    assert!(uuid::Uuid::parse_str(p["externalReference"].as_str().unwrap()).is_ok());
    assert!(app.sandbox_payins().await.unwrap().is_empty(), "NovaSend was not involved");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_carry_the_catalogue_code_and_the_customer_can_retry() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(2500).await;
    let failures = [
        ("0700000002", ErrorCode::CustomerDeclined),
        ("0700000003", ErrorCode::InsufficientFunds),
        ("0700000005", ErrorCode::CustomerCancelled),
        ("0700000006", ErrorCode::InvalidPhoneNumber),
        ("0700000007", ErrorCode::ProviderUnavailable),
        ("0700000008", ErrorCode::LimitExceeded),
        ("0700000009", ErrorCode::MethodUnavailable),
    ];
    for (number, code) in failures {
        pay(&app, &checkout, "orange_money", number).await;
        let c = settled(&app, &checkout.id).await;
        let last = c.attempts.last().unwrap();
        assert_eq!((last.status, last.failure), (AttemptStatus::Failed, Some(code)), "{number}");
        assert_eq!(c.status, CheckoutStatus::Open, "{number}: a failure reopens the checkout");
        let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
        assert_eq!(public.attempt.unwrap().action, Some(code.action()), "{number}");
    }
    // Refusals at once (06–09) never reached CaurisFlux's books; the others did.
    assert_eq!(app.caurisflux_payments().await.unwrap().len(), 3);

    pay(&app, &checkout, "mtn_momo", "05 00 00 00 01").await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts.len(), failures.len() + 1);
    assert_eq!(c.attempts.last().unwrap().method, PaymentMethod::MtnMomo);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_prompt_expires() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 500, ..Options::default() }).await;
    let checkout = app.create_checkout(1500).await;
    pay(&app, &checkout, "moov_money", "01 00 00 00 04").await;
    let c = settled(&app, &checkout.id).await;
    assert_eq!(
        (c.attempts[0].status, c.attempts[0].failure),
        (AttemptStatus::Expired, Some(ErrorCode::SessionExpired))
    );
    assert_eq!(c.status, CheckoutStatus::Open);
}

#[tokio::test(flavor = "multi_thread")]
async fn wave_in_senegal_is_paid_on_the_page() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(7500, "XOF", Country::Sn).await;
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    use PaymentMethod::*;
    assert_eq!(offered(&public, Provider::CaurisFlux), vec![OrangeMoney, Wave, Card]);
    assert!(offered(&public, Provider::NovaSend).is_empty(), "NovaSend does not serve Sénégal");

    let paying = pay(&app, &checkout, "wave", "77 123 45 67").await;
    let url = paying.attempt.unwrap().payment_url.expect("Wave pays from a link");
    assert!(url.starts_with(&format!("{}/pay/", app.caurisflux_url)), "{url}");
    let page = app.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("7500 XOF") && page.contains("Wave"), "{page}");
    let paid = app.http.post(format!("{url}/confirm")).send().await.unwrap();
    assert!(paid.status().is_success(), "{}", paid.status());
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts[0].phone.as_deref(), Some("+221771234567"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_on_the_hosted_checkout_page_in_cameroon() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(10_000, "XAF", Country::Cm).await;
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    use PaymentMethod::*;
    assert_eq!(offered(&public, Provider::CaurisFlux), vec![OrangeMoney, MtnMomo, Card]);

    // Cancelled on the page first, then paid.
    for (action, expected) in [("cancel", CheckoutStatus::Open), ("confirm", CheckoutStatus::Succeeded)] {
        let (status, body) = app
            .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "card", "provider": "cauris_flux"}))
            .await;
        assert_eq!(status, 200, "{body}");
        let url = body["attempt"]["payment_url"].as_str().expect("the hosted page").to_owned();
        app.http.post(format!("{url}/{action}")).send().await.unwrap();
        let c = settled(&app, &checkout.id).await;
        assert_eq!(c.status, expected, "{action}");
    }
    let c = app.merchant_checkout(&checkout.id).await;
    assert_eq!(c.attempts[0].failure, Some(ErrorCode::CustomerCancelled));
    assert_eq!(c.attempts[1].status, AttemptStatus::Succeeded);
    assert_eq!(c.attempts[1].phone, None, "cards need no number");
    let payments = app.caurisflux_payments().await.unwrap();
    assert!(payments.iter().all(|p| p["currency"] == "XAF" && p["amount"] == 10_000));
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_and_lost_calls_are_reconciled_without_charging_twice() {
    let app = TestApp::spawn_with(Options { poll_interval_ms: 300, ..Options::default() }).await;
    // 10: CaurisFlux took the payment but its answer was lost. 11: our first call never
    // reached its books; the reconciler finds nothing and sends the same start again.
    for number in ["0700000010", "0700000011"] {
        let checkout = app.create_checkout(3000).await;
        let paying = pay(&app, &checkout, "orange_money", number).await;
        let attempt = paying.attempt.unwrap();
        assert_eq!(attempt.status, AttemptStatus::Created, "{number}: outcome unknown, kept pending");
        assert_eq!(attempt.failure, None, "{number}");
        let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
        assert_eq!(c.status, CheckoutStatus::Succeeded, "{number}");
        assert_eq!(c.attempts.len(), 1, "{number}");
    }
    let payments = app.caurisflux_payments().await.unwrap();
    assert_eq!(payments.len(), 2, "one payment each, never two");
    assert_ne!(payments[0]["externalReference"], payments[1]["externalReference"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_webhooks_never_arrive_the_verifier_polls_caurisflux() {
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 300,
        webhook_url_override: Some("http://127.0.0.1:9/nowhere".into()),
        ..Options::default()
    })
    .await;
    let checkout = app.create_checkout(5000).await;
    pay(&app, &checkout, "orange_money", "0700000001").await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(app.history(&checkout.id).await.last().unwrap()["cause"], "poll:cauris_flux");
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_or_stale_caurisflux_webhooks_are_refused_and_change_nothing() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 60_000, ..Options::default() }).await;
    let checkout = app.create_checkout(5000).await;
    // A number without a trigger: the payment waits for the customer.
    pay(&app, &checkout, "orange_money", "07 07 12 34 56").await;
    let payments = app.caurisflux_payments().await.unwrap();
    let reference = payments[0]["externalReference"].as_str().unwrap().to_owned();
    let tx = payments[0]["transactionId"].as_str().unwrap().to_owned();
    let body = serde_json::to_vec(&json!({"event": "payment.success",
        "data": {"transactionId": tx, "externalReference": reference, "status": "success", "amount": 5000, "currency": "XOF"}}))
    .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let fresh = now.to_string();
    let stale = (now - 301).to_string();
    let send = |headers: Headers, body: Vec<u8>| {
        let mut req = app.http.post(format!("{}/webhooks/cauris_flux", app.url)).body(body);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        async move { req.send().await.unwrap() }
    };
    let sig =
        |secret: &str, ts: &str, body: &[u8]| format!("sha256={}", caurisflux_signature(secret, ts, body));
    let mut legacy = hmac_hex(CAURISFLUX_WEBHOOK_SECRET, &body);
    legacy.insert_str(0, "sha256=");
    let forgeries: Vec<(&str, Headers, Vec<u8>)> = vec![
        ("unsigned", vec![], body.clone()),
        // The body-only form is accepted (the plugin still does), but not with a stale timestamp.
        (
            "stale timestamp, legacy body-only signature",
            vec![("x-webhook-signature", legacy), ("x-webhook-timestamp", stale.clone())],
            body.clone(),
        ),
        (
            "wrong secret",
            vec![
                ("x-webhook-signature", sig("guessed", &fresh, &body)),
                ("x-webhook-timestamp", fresh.clone()),
            ],
            body.clone(),
        ),
        (
            "stale timestamp",
            vec![
                ("x-webhook-signature", sig(CAURISFLUX_WEBHOOK_SECRET, &stale, &body)),
                ("x-webhook-timestamp", stale.clone()),
            ],
            body.clone(),
        ),
        (
            "signature of another body",
            vec![
                ("x-webhook-signature", sig(CAURISFLUX_WEBHOOK_SECRET, &fresh, b"{}")),
                ("x-webhook-timestamp", fresh.clone()),
            ],
            body.clone(),
        ),
    ];
    for (why, headers, b) in forgeries {
        let r = send(headers, b).await;
        assert_eq!(r.status(), 401, "{why}");
        let c = app.merchant_checkout(&checkout.id).await;
        assert_eq!(c.status, CheckoutStatus::Processing, "{why}");
        assert_eq!(c.attempts[0].status, AttemptStatus::AwaitingCustomer, "{why}");
    }
    // The same notification, signed as CaurisFlux signs it, is applied.
    let r = send(
        vec![
            ("x-webhook-signature", sig(CAURISFLUX_WEBHOOK_SECRET, &fresh, &body)),
            ("x-webhook-timestamp", fresh.clone()),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert!(
        app.history(&checkout.id).await.last().unwrap()["cause"]
            .as_str()
            .unwrap()
            .starts_with("webhook:cauris_flux:wh_")
    );
}

/// Request headers to send, by name.
type Headers = Vec<(&'static str, String)>;

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn amounts_outside_caurisflux_limits_are_not_offered() {
    let app = TestApp::spawn().await;
    for amount in [50, 6_000_000] {
        let checkout = app.create_checkout(amount).await;
        let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
        assert!(offered(&public, Provider::CaurisFlux).is_empty(), "{amount}");
        let (status, body) = app
            .pay_raw(
                &checkout.id,
                &secret(&checkout),
                json!({"provider": "cauris_flux", "method": "orange_money", "phone": "0700000001"}),
            )
            .await;
        assert_eq!(status, 422, "{amount}: {body}");
        assert_eq!(body["error"]["code"], "method_unavailable", "{amount}");
    }
    assert!(app.caurisflux_payments().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_start_stays_pending_instead_of_failing() {
    let app = TestApp::spawn().await;
    // Someone else using the same key spends the minute's 100 requests.
    let key = format!("{CAURISFLUX_PUBLIC_KEY}:{CAURISFLUX_SECRET_KEY}");
    for _ in 0..100 {
        let r = app
            .http
            .get(format!("{}/api/v1/payments/status/nothing", app.caurisflux_url))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let checkout = app.create_checkout(5000).await;
    let paying = pay(&app, &checkout, "orange_money", "0700000001").await;
    let attempt = paying.attempt.unwrap();
    // 429 means "retry later": the attempt is kept for the reconciler, not failed.
    assert_eq!((attempt.status, attempt.failure), (AttemptStatus::Created, None));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let c = app.merchant_checkout(&checkout.id).await;
    assert_eq!((c.status, c.attempts[0].status), (CheckoutStatus::Processing, AttemptStatus::Created));
    assert!(app.caurisflux_payments().await.unwrap().is_empty(), "nothing was charged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_order_is_paid_on_its_next_attempt() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(3000).await;
    pay(&app, &checkout, "orange_money", "0700000002").await;
    let c = settled(&app, &checkout.id).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Failed);

    pay(&app, &checkout, "orange_money", "0700000001").await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts.len(), 2);

    // CaurisFlux holds two payments of this order, each under its attempt's own reference,
    // and only the second one moved money.
    let payments = app.caurisflux_payments().await.unwrap();
    assert_eq!(payments.len(), 2);
    let statuses: Vec<_> = payments.iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "success"]);
    assert_ne!(payments[0]["externalReference"], payments[1]["externalReference"]);
    assert_eq!(payments[1]["transactionId"].as_str(), c.attempts[1].provider_reference.as_deref());
}

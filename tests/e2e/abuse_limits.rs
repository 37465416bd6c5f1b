//! The verifier's own limits against abuse (`[limits]`), end to end: request rates per client
//! secret and per client address answer `429` with `Retry-After` and the API's JSON error;
//! `X-Forwarded-For` counts only from a trusted proxy; the payment limits (attempts per
//! checkout, refused one-time codes, requests per phone number) refuse with the catalogue's
//! codes and send nothing to the provider: the NovaSend sandbox's payins are counted before and
//! after (`GET /_sandbox/payins`).

use std::time::Duration;

use e2e::{Options, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::{LimitSettings, Rate};
use shared::api::Checkout;

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

/// Options with `limits`, the rest as every test has them.
fn with(limits: LimitSettings) -> Options {
    Options { limits: Some(limits), ..Options::default() }
}

/// Whether `body` is the API's 429: `rate_limited` with the catalogue's `TOO_MANY_REQUESTS`.
fn is_rate_limited(body: &Value) -> bool {
    body["error"]["code"] == "rate_limited" && body["error"]["payment_error"] == "TOO_MANY_REQUESTS"
}

/// `Retry-After` in seconds.
fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

async fn payins(app: &TestApp) -> usize {
    app.sandbox_payins().await.expect("the NovaSend sandbox lists its payins").len()
}

/// A payment request of the public API, with its response.
async fn pay(app: &TestApp, c: &Checkout, body: Value) -> (StatusCode, Option<u64>, Value) {
    let response = app
        .http
        .post(format!("{}/v1/public/checkouts/{}/pay", app.url, c.id))
        .bearer_auth(secret(c))
        .json(&body)
        .send()
        .await
        .expect("the verifier answers");
    let status = response.status();
    let wait = retry_after(&response);
    (status, wait, response.json().await.expect("a JSON body"))
}

/// MTN Mobile Money through NovaSend; `05 00 00 00 01` is the sandbox's customer who confirms.
fn momo(phone: &str) -> Value {
    json!({"provider": "nova_send", "method": "mtn_momo", "phone": phone})
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_in_a_loop_on_one_checkout_gets_429_after_the_burst_with_the_production_defaults() {
    // The production defaults: 5 payment requests at once per client secret, then 6 a minute.
    let app = TestApp::spawn_with(with(LimitSettings::default())).await;
    let c = app.create_checkout(2000).await;
    // A customer's widget first reads the checkout and opens its stream: not refused.
    assert_eq!(app.public_checkout(&c.id, &secret(&c)).await.id, c.id);
    let mut answers = Vec::new();
    for _ in 0..8 {
        answers.push(pay(&app, &c, momo("05 00 00 00 01")).await);
    }
    // The first five are answered: the live attempt, or 409 once the customer confirmed it.
    for (i, (status, _, body)) in answers.iter().take(5).enumerate() {
        assert!(matches!(*status, StatusCode::OK | StatusCode::CONFLICT), "request {i}: {status} {body}");
    }
    for (status, wait, body) in &answers[5..] {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(is_rate_limited(body), "{body}");
        // One request back every 10 s.
        assert!(wait.is_some_and(|s| (1..=11).contains(&s)), "Retry-After {wait:?}");
    }
    // The repeats returned the live attempt: one payin at the provider.
    assert_eq!(payins(&app).await, 1);
    // Another checkout's customer (same address) is not held back by this one.
    let other = app.create_checkout(2000).await;
    let (status, _, body) = pay(&app, &other, momo("05 00 00 00 01")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_phone_number_is_refused_after_n_requests_per_window_across_checkouts() {
    let limits =
        LimitSettings { requests_per_phone: 3, phone_window_seconds: 900, ..LimitSettings::generous() };
    let app = TestApp::spawn_with(with(limits)).await;
    for _ in 0..3 {
        let c = app.create_checkout(1500).await;
        let (status, _, body) = pay(&app, &c, momo("05 00 00 00 01")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let sent = payins(&app).await;
    assert_eq!(sent, 3);

    // The fourth checkout paying with that number, written another way: refused, nothing
    // stored, nothing sent.
    let c = app.create_checkout(1500).await;
    let (status, wait, body) = pay(&app, &c, momo("+225 0500000001")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(is_rate_limited(&body), "{body}");
    assert!(wait.is_some_and(|s| (890..=900).contains(&s)), "Retry-After {wait:?}");
    assert!(app.merchant_checkout(&c.id).await.attempts.is_empty());
    assert_eq!(payins(&app).await, sent, "a refused request reached the provider");

    // Another number on the same checkout is accepted.
    let (status, _, body) = pay(&app, &c, momo("05 00 00 00 02")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(payins(&app).await, sent + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_one_time_codes_close_the_method_for_the_checkout_and_attempts_are_capped() {
    let app = TestApp::spawn_with(with(LimitSettings {
        otp_failures_per_checkout: 2,
        attempts_per_checkout: 4,
        ..LimitSettings::generous()
    }))
    .await;
    let c = app.create_checkout(2500).await;
    // The sandbox refuses the code 000000 at once.
    let wrong =
        json!({"provider": "nova_send", "method": "orange_money", "phone": "0707123456", "otp": "000000"});
    for _ in 0..2 {
        let (status, _, body) = pay(&app, &c, wrong.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["attempt"]["status"], "failed", "{body}");
    }
    let sent = payins(&app).await;
    // A third code, even a good one, is refused before the provider.
    let good =
        json!({"provider": "nova_send", "method": "orange_money", "phone": "0707123456", "otp": "4821"});
    let (status, _, body) = pay(&app, &c, good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    assert_eq!(body["error"]["payment_error"], "OTP_ATTEMPTS_EXHAUSTED", "{body}");
    assert_eq!(payins(&app).await, sent);
    assert_eq!(app.merchant_checkout(&c.id).await.attempts.len(), 2);

    // Another method still pays; moov's 01 00 00 00 02 declines, leaving the checkout open.
    let declines = json!({"provider": "nova_send", "method": "moov_money", "phone": "01 00 00 00 02"});
    let (status, _, body) = pay(&app, &c, declines.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let open = app
        .wait_for(&c.id, Duration::from_secs(15), |c| c.attempts.iter().all(|a| !a.status.is_pending()))
        .await;
    assert_eq!(open.attempts.len(), 3);
    let (status, _, body) = pay(&app, &c, declines.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for(&c.id, Duration::from_secs(15), |c| c.attempts.iter().all(|a| !a.status.is_pending())).await;

    // Four attempts: the checkout takes no fifth, whatever the method.
    let sent = payins(&app).await;
    let (status, _, body) = pay(&app, &c, declines).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    assert_eq!(body["error"]["payment_error"], "TOO_MANY_ATTEMPTS", "{body}");
    assert_eq!(payins(&app).await, sent);
    assert_eq!(app.merchant_checkout(&c.id).await.attempts.len(), 4);
}

/// Posts a forged NovaSend notification, as client `forwarded_for` when given.
async fn forged_webhook(app: &TestApp, forwarded_for: Option<&str>) -> (StatusCode, Option<u64>, Value) {
    let mut request = app
        .http
        .post(format!("{}/webhooks/nova_send", app.url))
        .header("content-type", "application/json")
        .body(r#"{"event":"payin.succeeded","data":{"reference":"forged"}}"#);
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.expect("the verifier answers");
    let status = response.status();
    let wait = retry_after(&response);
    (status, wait, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_limited_per_client_address() {
    let app = TestApp::spawn_with(with(LimitSettings {
        webhooks_per_ip: Rate::new(1, 3),
        ..LimitSettings::generous()
    }))
    .await;
    for _ in 0..3 {
        let (status, _, body) = forged_webhook(&app, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, wait, body) = forged_webhook(&app, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(is_rate_limited(&body), "{body}");
    assert!(wait.is_some_and(|s| (1..=61).contains(&s)), "Retry-After {wait:?}");
    // The public API has its own quota.
    let c = app.create_checkout(1000).await;
    assert_eq!(app.public_checkout(&c.id, &secret(&c)).await.id, c.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn x_forwarded_for_counts_from_a_trusted_proxy_only() {
    let limits = LimitSettings { webhooks_per_ip: Rate::new(1, 2), ..LimitSettings::generous() };

    // Behind a trusted proxy (the tests' 127.0.0.1), each forwarded client has its quota.
    let trusted = LimitSettings { trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()], ..limits.clone() };
    let app = TestApp::spawn_with(with(trusted)).await;
    for _ in 0..2 {
        assert_eq!(forged_webhook(&app, Some("203.0.113.7")).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(forged_webhook(&app, Some("203.0.113.7")).await.0, StatusCode::TOO_MANY_REQUESTS);
    // The proxy appends the client to what the client wrote: the rightmost entry counts.
    assert_eq!(forged_webhook(&app, Some("203.0.113.7, 198.51.100.9")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(forged_webhook(&app, Some("203.0.113.8")).await.0, StatusCode::UNAUTHORIZED);

    // From a peer that is no trusted proxy, the header is the client's own word: ignored, so
    // changing it at each request escapes nothing.
    let app = TestApp::spawn_with(with(limits)).await;
    let answers = [
        forged_webhook(&app, Some("203.0.113.1")).await.0,
        forged_webhook(&app, Some("203.0.113.2")).await.0,
        forged_webhook(&app, Some("203.0.113.3")).await.0,
    ];
    assert_eq!(answers, [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS]);
}

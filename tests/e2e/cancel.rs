//! The customer's cancellation of an attempt waiting for them
//! (`POST /v1/public/checkouts/{id}/attempts/{attempt_id}/cancel`), over HTTP against the
//! NovaSend sandbox: it ends the attempt and reopens the checkout, a provider's confirmation
//! that comes afterwards still pays (by webhook, or, when the webhook is lost, by the
//! reconciler's status fetch), and every refusal is the API's JSON error and changes
//! nothing. Also the attempt's own deadline in the public view.

use std::time::Duration;

use e2e::{Options, TestApp};
use serde_json::{Value, json};
use shared::status::{AttemptStatus, CheckoutStatus};

const WAIT: Duration = Duration::from_secs(15);
/// A number that waits for Accept or Decline on the sandbox's payment page.
const WAITS: &str = "07 07 12 34 56";

fn secret(c: &shared::api::Checkout) -> String {
    c.client_secret.clone().unwrap()
}

async fn cancel_raw(app: &TestApp, id: &str, attempt: &str, secret: &str) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/v1/public/checkouts/{id}/attempts/{attempt}/cancel", app.url))
        .bearer_auth(secret)
        .send()
        .await
        .expect("verifier reachable");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A checkout with an attempt waiting on the sandbox's payment page: (checkout, attempt id,
/// payment page).
async fn waiting_attempt(app: &TestApp) -> (shared::api::Checkout, String, String) {
    let checkout = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "mobile_money", "phone": WAITS}))
        .await;
    assert_eq!(status, 200, "{body}");
    let attempt = body["attempt"]["id"].as_str().expect("an attempt").to_owned();
    let url = body["attempt"]["payment_url"].as_str().expect("a payment page").to_owned();
    (checkout, attempt, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_attempt_ends_and_a_late_confirmation_still_pays() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 120_000, ..Options::default() }).await;
    let (checkout, attempt, page) = waiting_attempt(&app).await;
    let (status, body) = cancel_raw(&app, &checkout.id, &attempt, &secret(&checkout)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "open", "{body}");
    assert_eq!(body["attempt"]["id"], attempt.as_str());
    assert_eq!(body["attempt"]["status"], "failed");
    assert_eq!(body["attempt"]["failure"], "CUSTOMER_CANCELLED");
    // The widget's view says so too, and the merchant hears of it.
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    assert_eq!(public.status, CheckoutStatus::Open);
    assert_eq!(public.attempt.as_ref().map(|a| a.status), Some(AttemptStatus::Failed));
    let history = app.history(&checkout.id).await;
    assert!(history.iter().any(|h| h["cause"] == "api:cancel" && h["to"] == "failed"), "{history:?}");
    let events = app.merchant_events(&checkout.id).await;
    assert!(events.iter().any(|e| e["type"] == "attempt.failed"), "{events:?}");
    // Cancelling again is refused and changes nothing.
    let (status, body) = cancel_raw(&app, &checkout.id, &attempt, &secret(&checkout)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(app.merchant_checkout(&checkout.id).await.attempts.len(), 1);
    // The customer approved the prompt anyway: the provider took the money, so it is paid.
    let accepted = app.http.post(format!("{page}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts[0].status, AttemptStatus::Succeeded);
    let history = app.history(&checkout.id).await;
    assert!(
        history.iter().any(|h| h["from"] == "failed" && h["to"] == "succeeded"),
        "the late success is recorded after the cancellation: {history:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_after_a_cancellation_whose_webhook_is_lost_is_found_by_the_reconciler() {
    // NovaSend's sandbox sends no webhook: only the reconciler's status fetches of the cancelled
    // attempt can see that the customer approved the prompt after all.
    let app = TestApp::spawn_with(Options {
        expire_after_ms: 120_000,
        poll_interval_ms: 300,
        max_poll_interval_ms: Some(1_000),
        ..Options::default()
    })
    .await;
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": ["no_webhook"]})).await;
    let (checkout, attempt, page) = waiting_attempt(&app).await;
    let (status, body) = cancel_raw(&app, &checkout.id, &attempt, &secret(&checkout)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempt"]["failure"], "CUSTOMER_CANCELLED");
    let accepted = app.http.post(format!("{page}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded, "the reconciler found the confirmation");
    assert_eq!(c.attempts[0].status, AttemptStatus::Succeeded);
    let history = app.history(&checkout.id).await;
    assert!(
        history
            .iter()
            .any(|h| h["from"] == "failed" && h["to"] == "succeeded" && h["cause"] == "poll:nova_send"),
        "the status fetch recorded it: {history:?}"
    );
    // Paid, it is fetched no more.
    let store = app.store().await;
    let due = store.due_attempts(i64::MAX, 10).await.expect("due attempts");
    assert!(due.iter().all(|(a, _)| a.id != attempt), "{due:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_cancellation_a_new_number_starts_one_new_attempt() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 120_000, ..Options::default() }).await;
    let (checkout, attempt, _) = waiting_attempt(&app).await;
    // A second number while the first prompt is live is refused: one live prompt at a time.
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            json!({"method": "mobile_money", "phone": "05 05 12 34 56"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = cancel_raw(&app, &checkout.id, &attempt, &secret(&checkout)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            json!({"method": "mobile_money", "phone": "05 05 12 34 56"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let c = app.merchant_checkout(&checkout.id).await;
    let live: Vec<_> = c.attempts.iter().filter(|a| a.status.is_pending()).collect();
    assert_eq!(live.len(), 1, "{:?}", c.attempts);
    assert_eq!(live[0].phone.as_deref(), Some("+2250505123456"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_cancellations_are_json_errors_and_change_nothing() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 120_000, ..Options::default() }).await;
    let (checkout, attempt, _) = waiting_attempt(&app).await;
    let other = app.create_checkout(5000).await;
    let (other_attempt_checkout, other_attempt, _) = waiting_attempt(&app).await;
    let forged = format!("{}_secret_{}", checkout.id, "x".repeat(32));
    let unknown = format!("at_{}", "a".repeat(24));
    let cases = [
        // (attempt, secret, status, code)
        ("nonsense", secret(&checkout), 400, "invalid_request"),
        ("at_%27%3B--", secret(&checkout), 400, "invalid_request"),
        (unknown.as_str(), secret(&checkout), 404, "not_found"),
        (other_attempt.as_str(), secret(&checkout), 404, "not_found"),
        (attempt.as_str(), forged, 401, "unauthorized"),
        (attempt.as_str(), secret(&other), 401, "unauthorized"),
        (attempt.as_str(), String::new(), 401, "unauthorized"),
    ];
    for (at, key, status, code) in cases {
        let (got, body) = cancel_raw(&app, &checkout.id, at, &key).await;
        assert_eq!(got, status, "{at} {key}: {body}");
        assert_eq!(body["error"]["code"], code, "{at}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{body}");
    }
    let (_, body) = cancel_raw(&app, &checkout.id, "nonsense", &secret(&checkout)).await;
    assert_eq!(body["error"]["field"], "attempt_id");
    for (c, a) in [(&checkout, &attempt), (&other_attempt_checkout, &other_attempt)] {
        let now = app.merchant_checkout(&c.id).await;
        assert_eq!(now.status, CheckoutStatus::Processing, "nothing changed");
        assert_eq!(
            now.attempts.iter().find(|x| &x.id == a).map(|x| x.status),
            Some(AttemptStatus::AwaitingCustomer)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_attempt_cannot_be_cancelled() {
    let app = TestApp::spawn().await;
    let paid = app.paid_checkout(5000).await;
    let attempt = app.merchant_checkout(&paid.id).await.attempts[0].id.clone();
    let (status, body) = cancel_raw(&app, &paid.id, &attempt, &secret(&paid)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains("already ended"), "{body}");
    let after = app.merchant_checkout(&paid.id).await;
    assert_eq!(
        (after.status, after.attempts[0].status),
        (CheckoutStatus::Succeeded, AttemptStatus::Succeeded)
    );
    assert_eq!(
        app.merchant_events(&paid.id).await.iter().filter(|e| e["type"] == "attempt.failed").count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_view_gives_the_attempts_own_deadline() {
    // The sandbox expires an unconfirmed payment after 2 minutes; the harness tells the
    // verifier so (`confirmation_window_s`).
    let app = TestApp::spawn_with(Options { expire_after_ms: 120_000, ..Options::default() }).await;
    let (checkout, _, _) = waiting_attempt(&app).await;
    let view = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    let parse =
        |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    let attempt_deadline =
        parse(view.attempt.as_ref().unwrap().expires_at.as_deref().expect("the attempt's deadline"));
    let left = attempt_deadline - time::OffsetDateTime::now_utc();
    assert!(left <= time::Duration::seconds(120) && left > time::Duration::seconds(100), "{left}");
    assert!(
        parse(&view.expires_at) - attempt_deadline > time::Duration::minutes(20),
        "the checkout's is later"
    );
}

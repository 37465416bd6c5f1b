//! Rate limits as the provider states them, end to end against the CaurisFlux sandbox, which
//! enforces its documented limits per API key over sliding windows and answers
//! `429 RATE_LIMIT_EXCEEDED` (<https://docs.caurisflux.com/guides/errors>, "Erreurs de limite"):
//! the verifier's request budget, set to the same limits, keeps a burst of customers from ever
//! earning a 429, tells the customers beyond it that nothing was charged and to try again, and
//! lets payments through again once the window moves; a `Retry-After` keeps the verifier away
//! from the provider until it has passed, and the payment caught by the 429 is retried, not
//! refused. The sandbox counts the API requests it received and those it answered 429
//! (`GET /_sandbox/requests`).

use std::time::Duration;

use e2e::{Options, TestApp};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::{
    api::Checkout,
    status::{AttemptStatus, CheckoutStatus},
};
use tokio::time::Instant;

/// A CaurisFlux test number whose customer confirms at once (the sandbox's `01` trigger).
const CONFIRMS: &str = "0700000001";

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

async fn pay(app: &TestApp, c: &Checkout) -> (u16, Value) {
    app.pay_raw(
        &c.id,
        &secret(c),
        json!({"provider": "cauris_flux", "method": "orange_money", "phone": CONFIRMS}),
    )
    .await
}

/// The answer a customer gets when the budget is spent: the catalogue's PROVIDER_UNAVAILABLE
/// (its action: try again later), saying that nothing was charged.
fn told_to_retry(status: u16, body: &Value) -> bool {
    status == 422
        && body["error"]["code"] == "payment_failed"
        && body["error"]["payment_error"] == "PROVIDER_UNAVAILABLE"
        && body["error"]["message"].as_str().is_some_and(|m| m.contains("nothing was charged"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_beyond_the_budget_never_earns_a_429_and_the_customers_beyond_it_retry_later() {
    // 12 requests a minute for the sandbox and the verifier alike: 15 customers at once are
    // more than the sandbox would take.
    let app = TestApp::spawn_with(Options { caurisflux_rate_per_minute: 12, ..Options::default() }).await;
    let mut checkouts = Vec::new();
    for _ in 0..15 {
        checkouts.push(app.create_checkout(5000).await);
    }
    let answers = join_all(checkouts.iter().map(|c| pay(&app, c))).await;

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (c, (status, body)) in checkouts.iter().zip(&answers) {
        if status == &200 {
            accepted.push(c);
        } else {
            assert!(told_to_retry(*status, body), "{status}: {body}");
            refused.push(c);
        }
    }
    assert!(!accepted.is_empty(), "the budget admits a burst");
    assert!(refused.len() >= 15 - 12, "{} refused", refused.len());
    let (requests, too_many) = app.sandbox_requests(&app.caurisflux_url).await;
    assert_eq!(too_many, 0, "the sandbox never had to refuse");
    assert!(requests >= accepted.len() as u64 && requests <= 12, "{requests} requests");
    assert_eq!(
        app.caurisflux_payments().await.unwrap().len(),
        accepted.len(),
        "a refused payment was never sent"
    );
    for c in &refused {
        let seen = app.merchant_checkout(&c.id).await;
        assert_eq!(seen.status, CheckoutStatus::Open, "the customer can pay again");
        assert!(seen.attempts.iter().all(|a| a.status == AttemptStatus::Failed), "{:?}", seen.attempts);
    }
    for c in &accepted {
        let paid =
            app.wait_for(&c.id, Duration::from_secs(15), |c| c.status == CheckoutStatus::Succeeded).await;
        assert_eq!(paid.status, CheckoutStatus::Succeeded);
    }

    // Once the window has moved on (a request every 60 s / 9 after the burst of 3), a customer
    // who tries again is paid; until then each try is answered at once, without a call.
    let again = refused[0];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = pay(&app, again).await;
        if status == 200 {
            break;
        }
        assert!(told_to_retry(status, &body), "{status}: {body}");
        assert!(Instant::now() < deadline, "the budget never admitted the customer again");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let paid =
        app.wait_for(&again.id, Duration::from_secs(15), |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(paid.status, CheckoutStatus::Succeeded);
    assert_eq!(app.caurisflux_payments().await.unwrap().len(), accepted.len() + 1);
    assert_eq!(app.sandbox_requests(&app.caurisflux_url).await.1, 0, "never a 429");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_keeps_the_verifier_away_until_it_has_passed() {
    const RETRY_AFTER: Duration = Duration::from_secs(3);
    let app = TestApp::spawn().await;
    app.misbehave(&app.caurisflux_url, json!({"scope": "global", "modes": [{"rate_limited": 3}]})).await;
    let first = app.create_checkout(5000).await;
    let asked = Instant::now();
    let (status, body) = pay(&app, &first).await;
    // "Retry later", never a refusal: the attempt waits for the reconciler.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempt"]["status"], "created", "{body}");
    assert_eq!(app.sandbox_requests(&app.caurisflux_url).await, (1, 1));
    // The sandbox would answer again; the verifier must still wait for the Retry-After.
    app.behave(&app.caurisflux_url).await;

    let next = app.create_checkout(5000).await;
    let deadline = asked + Duration::from_secs(15);
    loop {
        let (status, body) = pay(&app, &next).await;
        let answered = Instant::now();
        let (requests, _) = app.sandbox_requests(&app.caurisflux_url).await;
        if requests > 1 {
            // Whatever reached the sandbox (this payment or the reconciler's fetch of the
            // first) was sent after the pause it asked for.
            assert!(answered - asked >= RETRY_AFTER, "a call {:?} after the 429", answered - asked);
        }
        if status == 200 {
            break;
        }
        assert!(told_to_retry(status, &body), "{status}: {body}");
        assert!(Instant::now() < deadline, "the verifier never called the sandbox again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.sandbox_requests(&app.caurisflux_url).await.1, 1, "one 429, the misbehaviour's");

    // The first payment was never refused: the reconciler finds the sandbox never took it and
    // sends it again with the same reference; both customers are paid.
    for c in [&first, &next] {
        let paid =
            app.wait_for(&c.id, Duration::from_secs(20), |c| c.status == CheckoutStatus::Succeeded).await;
        assert_eq!(paid.status, CheckoutStatus::Succeeded, "{:?}", paid.attempts);
        assert_eq!(paid.attempts.len(), 1);
    }
}

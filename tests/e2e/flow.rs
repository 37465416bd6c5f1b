//! The walking skeleton's happy and unhappy paths over real HTTP, from checkout creation to the
//! merchant's verification.

use std::time::Duration;

use e2e::{Options, TestApp};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use shared::{
    api::PublicCheckout,
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn secret(c: &shared::api::Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_goes_from_checkout_to_verified_success_with_live_events() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let secret = secret(&checkout);
    assert_eq!(checkout.status, CheckoutStatus::Open);

    // What the widget reads first.
    let public = app.public_checkout(&checkout.id, &secret).await;
    assert_eq!(public.amount, 5000);
    assert_eq!(public.merchant_name, "Boutique Test");
    assert!(
        public
            .methods
            .iter()
            .any(|m| m.method == PaymentMethod::MobileMoney && m.provider == Provider::NovaSend),
        "{:?}",
        public.methods
    );

    // Follow the SSE stream as the widget does.
    let stream = app
        .http
        .get(format!("{}/v1/public/checkouts/{}/events", app.url, checkout.id))
        .query(&[("client_secret", &secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut events = stream.bytes_stream().eventsource();

    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.event, "status");
    let first: PublicCheckout = serde_json::from_str(&first.data).unwrap();
    assert_eq!(first.status, CheckoutStatus::Open);

    // The customer types the test number the way people say it.
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"method": "mobile_money", "phone": "07 00 00 00 01"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let paying: PublicCheckout = serde_json::from_value(body).unwrap();
    let attempt = paying.attempt.expect("an attempt");
    assert_eq!(attempt.status, AttemptStatus::AwaitingCustomer);
    assert!(attempt.payment_url.unwrap().starts_with(&app.novasend_url));

    // Live: the stream reports processing, then succeeded.
    let mut seen = Vec::new();
    let succeeded = tokio::time::timeout(WAIT, async {
        while let Some(Ok(event)) = events.next().await {
            let view: PublicCheckout = serde_json::from_str(&event.data).unwrap();
            seen.push(view.status);
            if view.status == CheckoutStatus::Succeeded {
                return view;
            }
        }
        panic!("stream ended; saw {seen:?}");
    })
    .await
    .expect("succeeded within the wait");
    assert_eq!(succeeded.attempt.unwrap().status, AttemptStatus::Succeeded);

    // The merchant's backend verifies with its secret key.
    let verified = app.merchant_checkout(&checkout.id).await;
    assert_eq!(verified.status, CheckoutStatus::Succeeded);
    assert_eq!(verified.amount, 5000);
    let a = &verified.attempts[0];
    assert_eq!(a.phone.as_deref(), Some("+2250700000001"));
    assert!(a.provider_reference.as_deref().unwrap().starts_with("tr_"));

    // The sandbox charged exactly the checkout's amount, once.
    let payins = app.sandbox_payins().await.unwrap();
    assert_eq!(payins.len(), 1);
    assert_eq!(payins[0]["amount"], 5000);
    assert_eq!(payins[0]["phoneNumber"], "+2250700000001");

    // The history says the success came from NovaSend's verified webhook.
    let history: Vec<serde_json::Value> = app
        .http
        .get(format!("{}/v1/checkouts/{}/history", app.url, checkout.id))
        .bearer_auth(e2e::MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["to"], "succeeded");
    assert!(last["cause"].as_str().unwrap().starts_with("webhook:nova_send:wh_"), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_carry_the_catalogue_code_and_the_customer_can_retry() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(2500).await;
    let secret = secret(&checkout);

    for (number, code) in
        [("0700000002", ErrorCode::CustomerDeclined), ("0700000003", ErrorCode::InsufficientFunds)]
    {
        let (status, body) = app
            .pay_raw(&checkout.id, &secret, serde_json::json!({"method": "mobile_money", "phone": number}))
            .await;
        assert_eq!(status, 200, "{body}");
        let c = app
            .wait_for(&checkout.id, WAIT, |c| c.attempts.last().is_some_and(|a| !a.status.is_pending()))
            .await;
        let last = c.attempts.last().unwrap();
        assert_eq!(last.status, AttemptStatus::Failed, "{number}");
        assert_eq!(last.failure, Some(code), "{number}");
        assert_eq!(c.status, CheckoutStatus::Open, "a failure reopens the checkout");
        let public = app.public_checkout(&checkout.id, &secret).await;
        assert_eq!(public.attempt.unwrap().action, Some(code.action()));
    }

    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"method": "mobile_money", "phone": "+2250700000001"}),
        )
        .await;
    assert_eq!(status, 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts.len(), 3);

    // Paid is final: no further attempt can start.
    let (status, body) = app
        .pay_raw(&checkout.id, &secret, serde_json::json!({"method": "mobile_money", "phone": "0700000001"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_prompt_expires() {
    let app = TestApp::spawn_with(Options { expire_after_ms: 500, ..Options::default() }).await;
    let checkout = app.create_checkout(1500).await;
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            serde_json::json!({"method": "mobile_money", "phone": "0700000004"}),
        )
        .await;
    assert_eq!(status, 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.attempts[0].status == AttemptStatus::Expired).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Expired);
    assert_eq!(c.attempts[0].failure, Some(ErrorCode::SessionExpired));
    assert_eq!(c.status, CheckoutStatus::Open);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_confirms_on_the_providers_payment_page() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let (_, body) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            serde_json::json!({"method": "mobile_money", "phone": "07 07 12 34 56"}),
        )
        .await;
    let url = body["attempt"]["payment_url"].as_str().expect("a payment page").to_owned();
    let page = app.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("5000 XOF"), "{page}");
    let accepted = app.http.post(format!("{url}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_webhooks_never_arrive_the_verifier_polls_the_provider() {
    // Webhooks are sent to an address where nobody listens: only polling can tell.
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 300,
        webhook_url_override: Some("http://127.0.0.1:9/nowhere".into()),
        ..Options::default()
    })
    .await;
    let checkout = app.create_checkout(5000).await;
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            serde_json::json!({"method": "mobile_money", "phone": "0700000001"}),
        )
        .await;
    assert_eq!(status, 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    let history: Vec<serde_json::Value> = app
        .http
        .get(format!("{}/v1/checkouts/{}/history", app.url, checkout.id))
        .bearer_auth(e2e::MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history.last().unwrap()["cause"], "poll:nova_send");
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_without_a_merchant_return_page_land_on_a_page_that_says_what_to_do() {
    let app = TestApp::spawn().await;
    let page = app.http.get(format!("{}/returned", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("Vous pouvez fermer cette page") && text.contains("You can close this page"),
        "{text}"
    );
}

//! Scalapay end to end: a euro checkout created by the merchant's backend, paid with a card
//! through the widget's public API, authorised on the Scalapay sandbox's card page (as the
//! customer's browser posts it), captured by the verifier, and verified by the merchant.

use std::time::Duration;

use e2e::{MERCHANT_KEY, Options, SCALAPAY_KEY, TestApp, scalapay_signature};
use shared::{
    api::{Checkout, PublicCheckout},
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);
const RETURN_URL: &str = "https://shop.example.com/checkout/return";
const POSITIVE: &str = "5200 8282 8282 8210";
const NEGATIVE: &str = "4000 0000 0000 0341";

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

/// Pays `checkout` with a card through the public API; returns Scalapay's checkout page.
async fn pay_with_card(app: &TestApp, checkout: &Checkout) -> String {
    let (status, body) =
        app.pay_raw(&checkout.id, &secret(checkout), serde_json::json!({"method": "card"})).await;
    assert_eq!(status, 200, "{body}");
    let paying: PublicCheckout = serde_json::from_value(body).unwrap();
    assert_eq!(paying.status, CheckoutStatus::Processing);
    let attempt = paying.attempt.expect("an attempt");
    assert_eq!((attempt.method, attempt.status), (PaymentMethod::Card, AttemptStatus::AwaitingCustomer));
    let url = attempt.payment_url.expect("Scalapay's checkout page");
    assert!(url.starts_with(&format!("{}/checkout/", app.scalapay_url)), "{url}");
    url
}

async fn history(app: &TestApp, id: &str) -> Vec<serde_json::Value> {
    app.http
        .get(format!("{}/v1/checkouts/{id}/history", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_payment_is_authorised_captured_and_verified_by_the_merchant() {
    let app = TestApp::spawn().await;
    let checkout = app.create_eur_checkout(19_000, RETURN_URL).await;

    // The widget offers the card, carried by Scalapay, for a euro checkout.
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    assert_eq!(public.methods.len(), 1);
    assert_eq!(
        (public.methods[0].method, public.methods[0].provider),
        (PaymentMethod::Card, Provider::Scalapay)
    );

    let url = pay_with_card(&app, &checkout).await;
    let page = app.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("190,00"), "{page}");

    // The customer's browser posts the card form and is sent back to the merchant's page.
    let (status, location) = app.pay_on_scalapay_page(&url, POSITIVE).await;
    assert_eq!((status, location.as_deref()), (303, Some(RETURN_URL)));

    // Authorised (webhook), captured at once by the verifier: the merchant sees it paid.
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.amount, 19_000);
    let attempt = &c.attempts[0];
    assert_eq!((attempt.provider, attempt.status), (Provider::Scalapay, AttemptStatus::Succeeded));
    let token = attempt.provider_reference.clone().expect("the order's token");
    assert!(url.ends_with(&token));

    // Scalapay holds one order, for the checkout's amount, captured, with the customer.
    let orders = app.scalapay_orders().await.unwrap();
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(
        (order["status"].as_str(), order["captureStatus"].as_str()),
        (Some("charged"), Some("captured"))
    );
    assert_eq!(order["token"], token.as_str());
    assert_eq!(order["totalAmount"], serde_json::json!({"amount": "190.00", "currency": "EUR"}));
    assert_eq!(order["orderDetails"]["consumer"]["email"], "awa.kone@example.com");
    assert_eq!(order["orderDetails"]["merchant"]["redirectConfirmUrl"], RETURN_URL);

    // The history: authorised by Scalapay's verified webhook, then captured by the verifier.
    let history = history(&app, &checkout.id).await;
    let attempt_steps: Vec<(&str, &str)> = history
        .iter()
        .filter(|h| h["attempt_id"].is_string())
        // A webhook's cause names the notification (`webhook:scalapay:wh_…`); compared without it.
        .map(|h| (h["to"].as_str().unwrap(), h["cause"].as_str().unwrap().split(":wh_").next().unwrap()))
        .collect();
    assert!(attempt_steps.contains(&("authorized", "webhook:scalapay")), "{attempt_steps:?}");
    // The capture's answer and Scalapay's `charged` webhook race; either may record the success.
    let last = attempt_steps.last().copied();
    assert!(
        last == Some(("succeeded", "api:capture")) || last == Some(("succeeded", "webhook:scalapay")),
        "{attempt_steps:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_card_fails_and_the_customer_pays_with_another() {
    let app = TestApp::spawn().await;
    let checkout = app.create_eur_checkout(4_570, RETURN_URL).await;
    let url = pay_with_card(&app, &checkout).await;
    let (status, location) = app.pay_on_scalapay_page(&url, NEGATIVE).await;
    assert_eq!((status, location.as_deref()), (303, Some(RETURN_URL)));
    let c = app.wait_for(&checkout.id, WAIT, |c| c.attempts[0].status == AttemptStatus::Failed).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Failed);
    assert_eq!(c.attempts[0].failure, Some(ErrorCode::PaymentRefused));
    assert_eq!(c.status, CheckoutStatus::Open, "a failure reopens the checkout");
    let public = app.public_checkout(&checkout.id, &secret(&checkout)).await;
    assert_eq!(public.attempt.unwrap().action, Some(ErrorCode::PaymentRefused.action()));
    // The refusal was read from the order (the `expired` webhook does not say why).
    let steps = history(&app, &checkout.id).await;
    assert!(steps.iter().any(|h| h["to"] == "failed" && h["cause"] == "poll:scalapay"), "{steps:?}");

    let url = pay_with_card(&app, &checkout).await;
    let (status, _) = app.pay_on_scalapay_page(&url, "4242 4242 4242 4242").await;
    assert_eq!(status, 303);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts.len(), 2);
    let orders = app.scalapay_orders().await.unwrap();
    assert_eq!(orders[0]["lastEligibilityFeedback"], "DECLINED_FRAUD");
    assert_eq!(orders[1]["status"], "charged");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_delayed_captures_the_payment_stays_authorised() {
    let app = TestApp::spawn_with(Options {
        scalapay_delay_capture: true,
        poll_interval_ms: 300,
        ..Options::default()
    })
    .await;
    let checkout = app.create_eur_checkout(12_000, RETURN_URL).await;
    let url = pay_with_card(&app, &checkout).await;
    app.pay_on_scalapay_page(&url, "5555 5555 5555 4444").await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.attempts[0].status == AttemptStatus::Authorized).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Authorized);
    assert_eq!(c.status, CheckoutStatus::Processing);
    // The verifier extended the authorisation (delay) and does not capture it, poll after poll.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let c = app.merchant_checkout(&checkout.id).await;
    assert_eq!((c.status, c.attempts[0].status), (CheckoutStatus::Processing, AttemptStatus::Authorized));
    let order = &app.scalapay_orders().await.unwrap()[0];
    assert_eq!(
        (order["status"].as_str(), order["captureStatus"].as_str()),
        (Some("authorized"), Some("delayed"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_left_unpaid_expires() {
    let app = TestApp::spawn_with(Options { scalapay_order_expiry_ms: 500, ..Options::default() }).await;
    let checkout = app.create_eur_checkout(1_000, RETURN_URL).await;
    let url = pay_with_card(&app, &checkout).await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.attempts[0].status == AttemptStatus::Expired).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Expired);
    assert_eq!(c.attempts[0].failure, Some(ErrorCode::SessionExpired));
    assert_eq!(c.status, CheckoutStatus::Open);
    let (status, _) = app.pay_on_scalapay_page(&url, POSITIVE).await;
    assert_eq!(status, 409, "an expired order cannot be paid");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_webhooks_never_arrive_the_verifier_polls_scalapay() {
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 300,
        webhook_url_override: Some("http://127.0.0.1:9/nowhere".into()),
        ..Options::default()
    })
    .await;
    let checkout = app.create_eur_checkout(3_000, RETURN_URL).await;
    let url = pay_with_card(&app, &checkout).await;
    app.pay_on_scalapay_page(&url, POSITIVE).await;
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    let steps = history(&app, &checkout.id).await;
    assert!(steps.iter().any(|h| h["to"] == "authorized" && h["cause"] == "poll:scalapay"), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_without_the_consumers_details_cannot_use_scalapay() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .create_checkout_raw(
            serde_json::json!({
                "amount": 2_500, "currency": "EUR", "reference": "order-no-customer",
                "customer": {"given_names": "Awa", "surname": "Koné"}
            }),
            MERCHANT_KEY,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let checkout: Checkout = serde_json::from_value(body).unwrap();
    let (status, body) =
        app.pay_raw(&checkout.id, &secret(&checkout), serde_json::json!({"method": "card"})).await;
    assert_eq!(status, 200, "{body}");
    let c = app.merchant_checkout(&checkout.id).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Failed);
    assert_eq!(c.attempts[0].failure, Some(ErrorCode::MethodUnavailable));
    assert!(app.scalapay_orders().await.unwrap().is_empty(), "refused before any call");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_with_bad_signatures_change_nothing() {
    let app = TestApp::spawn().await;
    let checkout = app.create_eur_checkout(19_000, RETURN_URL).await;
    pay_with_card(&app, &checkout).await;
    let c = app.merchant_checkout(&checkout.id).await;
    let token = c.attempts[0].provider_reference.clone().unwrap();
    let orders = app.scalapay_orders().await.unwrap();
    let reference = orders[0]["orderDetails"]["merchantReference"].as_str().unwrap().to_owned();
    let body = format!(
        r#"{{"merchantReference":"{reference}","totalAmount":190,"status":"charged","orderToken":"{token}"}}"#
    );
    let now_ms = || {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis().to_string()
    };
    let send = |signature: Option<String>, timestamp: Option<String>, body: String| {
        let mut r = app
            .http
            .post(format!("{}/webhooks/scalapay", app.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = signature {
            r = r.header("x-scalapay-hmac-v1", s);
        }
        if let Some(t) = timestamp {
            r = r.header("x-scalapay-timestamp", t);
        }
        r.send()
    };
    let ts = now_ms();
    let stale = (ts.parse::<u64>().unwrap() - 600_000).to_string();
    let cases = [
        // Signed with another key.
        (Some(scalapay_signature("not-the-key", &ts, body.as_bytes())), Some(ts.clone()), body.clone()),
        // Signed over another body.
        (
            Some(scalapay_signature(SCALAPAY_KEY, &ts, body.replace("charged", "created").as_bytes())),
            Some(ts.clone()),
            body.clone(),
        ),
        // Signed with another timestamp than the one sent.
        (Some(scalapay_signature(SCALAPAY_KEY, &stale, body.as_bytes())), Some(ts.clone()), body.clone()),
        // No signature, no timestamp.
        (None, Some(ts.clone()), body.clone()),
        (Some(scalapay_signature(SCALAPAY_KEY, &ts, body.as_bytes())), None, body.clone()),
    ];
    for (i, (signature, timestamp, body)) in cases.into_iter().enumerate() {
        let r = send(signature, timestamp, body).await.unwrap();
        assert_eq!(r.status(), 401, "case {i}");
    }
    let c = app.merchant_checkout(&checkout.id).await;
    assert_eq!(
        (c.status, c.attempts[0].status),
        (CheckoutStatus::Processing, AttemptStatus::AwaitingCustomer)
    );

    // The same body signed as Scalapay signs it is taken: the signature check is what refused.
    let ts = now_ms();
    let r = send(Some(scalapay_signature(SCALAPAY_KEY, &ts, body.as_bytes())), Some(ts), body).await.unwrap();
    assert_eq!(r.status(), 200);
    // Stored and answered first, applied by the inbox worker just after.
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
}

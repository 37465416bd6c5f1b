//! NovaSend's direct payins through the public API: Wave by link, MTN and Moov by push, Orange
//! Money with the customer's one-time code; and what the sandbox refuses.

use std::time::Duration;

use e2e::TestApp;
use serde_json::json;
use shared::{
    catalogue::ErrorCode,
    method::PaymentMethod,
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn secret(c: &shared::api::Checkout) -> String {
    c.client_secret.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ivorian_checkout_offers_every_novasend_method() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let methods: Vec<PaymentMethod> =
        app.public_checkout(&c.id, &secret(&c)).await.methods.into_iter().map(|m| m.method).collect();
    for m in [
        PaymentMethod::MobileMoney,
        PaymentMethod::Wave,
        PaymentMethod::OrangeMoney,
        PaymentMethod::MtnMomo,
        PaymentMethod::MoovMoney,
    ] {
        assert!(methods.contains(&m), "{m:?} missing from {methods:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn push_methods_follow_the_test_numbers() {
    let app = TestApp::spawn().await;
    for (method, number, expected, failure) in [
        ("mtn_momo", "05 00 00 00 01", AttemptStatus::Succeeded, None),
        ("moov_money", "01 00 00 00 02", AttemptStatus::Failed, Some(ErrorCode::CustomerDeclined)),
    ] {
        let c = app.create_checkout(2000).await;
        let (status, body) =
            app.pay_raw(&c.id, &secret(&c), json!({"method": method, "phone": number})).await;
        assert_eq!(status, 200, "{method}: {body}");
        let done = app.wait_for(&c.id, WAIT, |c| !c.attempts[0].status.is_pending()).await;
        assert_eq!(done.attempts[0].status, expected, "{method}");
        assert_eq!(done.attempts[0].failure, failure, "{method}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wave_is_confirmed_on_its_payment_link() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(3000).await;
    let (status, body) =
        app.pay_raw(&c.id, &secret(&c), json!({"method": "wave", "phone": "07 07 12 34 56"})).await;
    assert_eq!(status, 200, "{body}");
    let url = body["attempt"]["payment_url"].as_str().expect("Wave gives a link").to_owned();
    let accepted = app.http.post(format!("{url}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    let done = app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(done.status, CheckoutStatus::Succeeded);
    assert_eq!(done.attempts[0].method, PaymentMethod::Wave);
}

#[tokio::test(flavor = "multi_thread")]
async fn orange_money_needs_the_customers_one_time_code() {
    let app = TestApp::spawn().await;

    // Without a code NovaSend refuses: the attempt fails with OTP_REQUIRED, nothing is charged.
    let c = app.create_checkout(2500).await;
    let (status, body) =
        app.pay_raw(&c.id, &secret(&c), json!({"method": "orange_money", "phone": "07 07 12 34 56"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempt"]["status"], "failed");
    assert_eq!(body["attempt"]["failure"], "OTP_REQUIRED");
    assert_eq!(body["status"], "open", "the customer can try again with a code");

    // A wrong code fails at once, as a refused code (the sandbox answers a payin `failed` with
    // `transaction_error`): the customer is asked for a new code, not for another method.
    let (_, body) = app
        .pay_raw(
            &c.id,
            &secret(&c),
            json!({"method": "orange_money", "phone": "0707123456", "otp": "000000"}),
        )
        .await;
    assert_eq!(body["attempt"]["status"], "failed", "{body}");
    assert_eq!(body["attempt"]["failure"], "OTP_REFUSED", "{body}");
    assert_eq!(body["attempt"]["action"], "retry", "{body}");
    let refused = app.sandbox_payins().await.unwrap();
    let refused = refused.iter().find(|p| p["status"] == "failed").expect("the refused payin");
    assert_eq!(refused["failure"]["code"], "transaction_error", "the sandbox's own answer: {refused}");
    // A good one pays.
    let (_, body) = app
        .pay_raw(&c.id, &secret(&c), json!({"method": "orange_money", "phone": "0707123456", "otp": "4821"}))
        .await;
    assert!(
        body["attempt"]["status"] == "awaiting_customer" || body["attempt"]["status"] == "succeeded",
        "{body}"
    );
    let done = app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(done.status, CheckoutStatus::Succeeded);
    assert_eq!(done.attempts.len(), 3);

    // A code that is not digits never reaches the provider.
    let c = app.create_checkout(2500).await;
    let (status, body) = app
        .pay_raw(&c.id, &secret(&c), json!({"method": "orange_money", "phone": "0707123456", "otp": "12ab"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "otp");
    assert!(app.merchant_checkout(&c.id).await.attempts.is_empty());
}

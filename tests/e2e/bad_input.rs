//! Bad input gets a clear JSON error and changes nothing: phone numbers, credentials, forged
//! webhooks, and amounts sent from the browser.

use std::time::Duration;

use e2e::{MERCHANT_KEY, TestApp, WEBHOOK_SECRET, novasend_signature};
use serde_json::json;
use shared::status::{AttemptStatus, CheckoutStatus};

fn secret(c: &shared::api::Checkout) -> String {
    c.client_secret.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_phone_number_is_refused_with_a_reason_and_nothing_is_sent() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    for (phone, why) in [
        ("07 07 12", "too short"),
        ("+221 77 123 45 67", "another country"),
        ("27 21 23 45 67", "fixed line"),
        ("abc", "letters"),
    ] {
        let (status, body) = app
            .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "mobile_money", "phone": phone}))
            .await;
        assert_eq!(status, 422, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid_phone_number", "{why}");
        assert_eq!(body["error"]["field"], "phone", "{why}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let c = app.merchant_checkout(&checkout.id).await;
    assert!(c.attempts.is_empty());
    assert_eq!(c.status, CheckoutStatus::Open);
    assert!(app.sandbox_payins().await.unwrap().is_empty(), "nothing reached the provider");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_request_of_kilobytes_is_refused_unread_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    // 8 KiB where a method and a phone number take a few dozen bytes.
    let padded = format!("07 00 00 00 01{}", " ".repeat(8 * 1024));
    let (status, body) = app
        .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "mobile_money", "phone": padded}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("length limit"), "{body}");
    let c = app.merchant_checkout(&checkout.id).await;
    assert!(c.attempts.is_empty());
    assert!(app.sandbox_payins().await.unwrap().is_empty(), "nothing reached the provider");
    // The same request at its real size pays.
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            json!({"method": "mobile_money", "phone": "07 00 00 00 01"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let other = app.create_checkout(5000).await;
    let forged = format!("{}_secret_{}", checkout.id, "x".repeat(32));
    let others = secret(&other);
    for bad in [forged.as_str(), others.as_str(), "", "nonsense"] {
        let (status, body) =
            app.pay_raw(&checkout.id, bad, json!({"method": "mobile_money", "phone": "0700000001"})).await;
        assert_eq!(status, 401, "{bad:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let read = app
            .http
            .get(format!("{}/v1/public/checkouts/{}", app.url, checkout.id))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 401);
        let events = app
            .http
            .get(format!("{}/v1/public/checkouts/{}/events", app.url, checkout.id))
            .query(&[("client_secret", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(events.status(), 401);
    }
    let no_auth =
        app.http.get(format!("{}/v1/public/checkouts/{}", app.url, checkout.id)).send().await.unwrap();
    assert_eq!(no_auth.status(), 401);
    let c = app.merchant_checkout(&checkout.id).await;
    assert!(c.attempts.is_empty());
    assert!(app.sandbox_payins().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_merchant_key_is_401_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let reference = "order-wrong-key";
    let (status, body) = app
        .create_checkout_raw(json!({"amount": 5000, "currency": "XOF", "reference": reference}), "mk_wrong")
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    // The same reference is still free: nothing was created.
    let (status, body) = app
        .create_checkout_raw(json!({"amount": 5000, "currency": "XOF", "reference": reference}), MERCHANT_KEY)
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let read =
        app.http.get(format!("{}/v1/checkouts/{id}", app.url)).bearer_auth("mk_wrong").send().await.unwrap();
    assert_eq!(read.status(), 401);
    // A client secret is not a merchant key.
    let read = app
        .http
        .get(format!("{}/v1/checkouts/{id}", app.url))
        .bearer_auth(body["client_secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_checkouts_are_400_with_a_json_error() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"amount": 0, "currency": "XOF", "reference": "a"}), "amount"),
        (json!({"amount": -5, "currency": "XOF", "reference": "a"}), "negative"),
        (json!({"amount": 10.5, "currency": "XOF", "reference": "a"}), "float"),
        (json!({"amount": 100, "currency": "USD", "reference": "a"}), "currency"),
        (json!({"amount": 100, "currency": "XOF"}), "no reference"),
        (json!({"amount": 100, "currency": "XOF", "reference": "  "}), "blank reference"),
        (json!({"amount": 100, "currency": "XOF", "reference": "a", "amout": 1}), "unknown field"),
        (
            json!({"amount": 100, "currency": "XOF", "reference": "a", "return_url": "javascript:alert(1)"}),
            "script URL",
        ),
        (json!({"amount": 100, "currency": "XOF", "reference": "a", "return_url": "/merci"}), "relative URL"),
        (
            json!({"amount": 100, "currency": "XOF", "reference": "a", "return_url": "data:text/html,x"}),
            "data URL",
        ),
        (
            json!({"amount": 100, "currency": "XOF", "reference": "a", "return_url": "https://u:p@shop.example/"}),
            "credentials",
        ),
        (
            json!({"amount": 100, "currency": "XOF", "reference": "a",
                   "return_url": format!("https://shop.example/{}", "a".repeat(2100))}),
            "long URL",
        ),
    ];
    for (body, why) in cases {
        let (status, answer) = app.create_checkout_raw(body, MERCHANT_KEY).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request", "{why}");
    }
    // None of those was created: the reference is still free, and a shop's page is a fine
    // return URL.
    let (status, answer) = app
        .create_checkout_raw(
            json!({"amount": 100, "currency": "XOF", "reference": "a",
                   "return_url": "https://shop.example/commande/42?merci=1"}),
            MERCHANT_KEY,
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let not_json = app
        .http
        .post(format!("{}/v1/checkouts", app.url))
        .bearer_auth(MERCHANT_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let body: serde_json::Value = not_json.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");

    let (status, _) = app
        .create_checkout_raw(json!({"amount": 100, "currency": "XOF", "reference": "dup"}), MERCHANT_KEY)
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .create_checkout_raw(json!({"amount": 100, "currency": "XOF", "reference": "dup"}), MERCHANT_KEY)
        .await;
    assert_eq!(status, 409, "{body}");

    let missing = app
        .http
        .get(format!("{}/v1/checkouts/co_nope", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_method_is_refused() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "bitcoin", "phone": "0700000001"}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        // No provider carries Airtel Money in Côte d'Ivoire.
        app.pay_raw(&checkout.id, &secret(&checkout), json!({"method": "airtel_money", "phone": "0700000001"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "method_unavailable");
    assert!(app.merchant_checkout(&checkout.id).await.attempts.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_with_a_bad_signature_is_rejected_and_changes_nothing() {
    // The customer never answers within the test, so only a forged webhook could say "paid".
    let app = TestApp::spawn_with(e2e::Options { expire_after_ms: 60_000, ..Default::default() }).await;
    let checkout = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(&checkout.id, &secret(&checkout), json!({"method": "mobile_money", "phone": "0700000005"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let c = app.merchant_checkout(&checkout.id).await;
    let attempt = &c.attempts[0];
    assert_eq!(attempt.status, AttemptStatus::AwaitingCustomer);

    let forged = json!({
        "type": "payin", "fee": 0, "reference": attempt.provider_reference, "phoneNumber": "+2250700000005",
        "amount": 5000, "chargedAmount": 5000, "status": "processed", "currency": "XOF",
        "customerReference": payin_reference(&app).await, "confirmationRequired": true,
        "confirmationStatus": "accepted", "createdAt": "2026-01-01T00:00:00Z",
        "transaction": {"status": "completed"}, "failure": null
    });
    let body = serde_json::to_vec(&forged).unwrap();
    let url = format!("{}/webhooks/nova_send", app.url);
    for signature in [Some(novasend_signature("not-the-secret", &body)), Some("zz-not-hex".to_owned()), None]
    {
        let mut req = app.http.post(&url).header("content-type", "application/json").body(body.clone());
        if let Some(s) = &signature {
            req = req.header("X-Signature-Value", s);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{signature:?}");
    }
    // A body altered after signing fails too.
    let good = novasend_signature(WEBHOOK_SECRET, &body);
    let mut altered = body.clone();
    let at = altered.len() - 3;
    altered[at] = b' ';
    let r = app.http.post(&url).header("X-Signature-Value", &good).body(altered).send().await.unwrap();
    assert_eq!(r.status(), 401);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = app.merchant_checkout(&checkout.id).await;
    assert_eq!(after.status, CheckoutStatus::Processing);
    assert_eq!(after.attempts[0].status, AttemptStatus::AwaitingCustomer);

    // The same body, correctly signed, is applied: the rejection was the signature's doing.
    let r = app.http.post(&url).header("X-Signature-Value", &good).body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Stored and answered first, applied by the inbox worker just after.
    let c =
        app.wait_for(&checkout.id, Duration::from_secs(10), |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
}

async fn payin_reference(app: &TestApp) -> String {
    let payins = app.sandbox_payins().await.unwrap();
    payins[0]["customerReference"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn amount_and_currency_from_the_browser_are_ignored() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            json!({"method": "mobile_money", "phone": "0700000001", "amount": 1, "currency": "EUR"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["amount"], 5000);
    assert_eq!(body["currency"], "XOF");
    let payins = app.sandbox_payins().await.unwrap();
    assert_eq!(payins.len(), 1);
    assert_eq!(payins[0]["amount"], 5000, "the provider was asked for the checkout's amount");
    assert_eq!(payins[0]["currency"], "XOF");
}

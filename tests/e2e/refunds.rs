//! Refunds through the merchant API: full and partial, routed to the provider; refused ones
//! answer the catalogue's code with the reason and change nothing.

use e2e::{MERCHANT_KEY, TestApp};
use serde_json::{Value, json};
use shared::status::CheckoutStatus;

async fn refund(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/v1/checkouts/{id}/refunds", app.url))
        .bearer_auth(MERCHANT_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_refund_goes_through_the_provider() {
    let app = TestApp::spawn().await;
    let id = app.paid_checkout(5000).await.id;
    let (status, body) = refund(&app, &id, json!({"reason": "out of stock"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["amount"], 5000);
    assert!(body["provider_reference"].as_str().unwrap().starts_with("rf_"));
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::Refunded);

    // Nothing is left: a second refund is refused and changes nothing.
    let (status, body) = refund(&app, &id, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "refund_not_allowed");
    assert_eq!(body["error"]["payment_error"], "REFUND_NOT_ALLOWED");
    let list: Vec<Value> = app
        .http
        .get(format!("{}/v1/checkouts/{id}/refunds", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_refund_leaves_the_rest_paid() {
    let app = TestApp::spawn().await;
    let id = app.paid_checkout(5000).await.id;
    let (status, body) = refund(&app, &id, json!({"amount": 6000})).await;
    assert_eq!(status, 400, "more than paid: {body}");
    assert_eq!(body["error"]["field"], "amount");
    let (status, body) = refund(&app, &id, json!({"amount": 0})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::Succeeded, "nothing changed");

    let (status, body) = refund(&app, &id, json!({"amount": 2000, "reason": "one item returned"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::PartiallyRefunded);

    // NovaSend refunds a payin once: the provider refuses the second, which is recorded as
    // failed with the catalogue's code, and the checkout stays partially refunded.
    let (status, body) = refund(&app, &id, json!({"amount": 1000})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "failed");
    assert_eq!(body["failure"], "REFUND_NOT_ALLOWED");
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::PartiallyRefunded);
}

#[tokio::test(flavor = "multi_thread")]
async fn unpaid_unknown_and_unauthorised_refunds_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let (status, body) = refund(&app, &c.id, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "refund_not_allowed");
    assert_eq!(app.merchant_checkout(&c.id).await.status, CheckoutStatus::Open);

    let (status, _) = refund(&app, "co_nope", json!({})).await;
    assert_eq!(status, 404);
    let r = app
        .http
        .post(format!("{}/v1/checkouts/{}/refunds", app.url, c.id))
        .bearer_auth("mk_wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, body) = refund(&app, &c.id, json!({"amount": 10, "currency": "EUR"})).await;
    assert_eq!(status, 400, "unknown field: {body}");
}

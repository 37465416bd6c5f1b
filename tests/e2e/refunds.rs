//! Refunds through the merchant API: full and partial, routed to the provider; refused ones
//! answer the catalogue's code with the reason and change nothing.

use std::time::Duration;

use e2e::{MERCHANT_KEY, Options, TestApp};
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

async fn refund_with_key(app: &TestApp, id: &str, key: &str, body: &Value) -> (u16, bool, Value) {
    let r = app
        .http
        .post(format!("{}/v1/checkouts/{id}/refunds", app.url))
        .bearer_auth(MERCHANT_KEY)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (r.status().as_u16(), replayed, r.json().await.unwrap_or(Value::Null))
}

async fn list_refunds(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app.http.get(format!("{}/v1/checkouts/{id}/refunds", app.url)).bearer_auth(MERCHANT_KEY).send();
    r.await.unwrap().json().await.unwrap()
}

/// The refunds the NovaSend sandbox made (its inspection endpoint).
async fn sandbox_refunds(app: &TestApp) -> Vec<Value> {
    let r = app.http.get(format!("{}/_sandbox/refunds", app.novasend_url)).send();
    r.await.unwrap().json().await.unwrap()
}

/// Reads the checkout's refunds until `done` holds, for `within` at most.
async fn wait_refunds(
    app: &TestApp,
    id: &str,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let list = list_refunds(app, id).await;
        if done(&list) || tokio::time::Instant::now() >= deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Drops the verifier's stored idempotent responses (what a 5xx does to its key, or the purge
/// after 48 h), through the store interface on its database.
async fn forget_idempotency_keys(app: &TestApp) {
    app.store().await.idempotency_purge(i64::MAX).await.expect("purged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_retried_after_a_provider_5xx_is_made_once_and_followed_up_until_final() {
    let app = TestApp::spawn_with(Options { poll_interval_ms: 200, ..Options::default() }).await;
    let id = app.paid_checkout(5000).await.id;
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": ["error_500"]})).await;
    let body = json!({"reason": "out of stock"});
    let (status, replayed, first) = refund_with_key(&app, &id, "refund-order-1", &body).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    assert_eq!(first["status"], "pending", "the outcome is unknown: {first}");

    // The merchant retries: the stored answer.
    let (status, replayed, again) = refund_with_key(&app, &id, "refund-order-1", &body).await;
    assert_eq!((status, replayed, &again["id"]), (201, true, &first["id"]), "{again}");
    // Its key forgotten (a verifier 5xx releases it), the retry runs again and finds the same
    // refund: still one, asked again with the same reference.
    forget_idempotency_keys(&app).await;
    let (status, replayed, rerun) = refund_with_key(&app, &id, "refund-order-1", &body).await;
    assert_eq!((status, replayed, &rerun["id"]), (201, false, &first["id"]), "{rerun}");
    assert_eq!(list_refunds(&app, &id).await.len(), 1);
    assert!(sandbox_refunds(&app).await.is_empty(), "the sandbox made nothing while failing");

    // The provider is back: the reconciler follows the pending refund up until final.
    app.behave(&app.novasend_url).await;
    let list =
        wait_refunds(&app, &id, Duration::from_secs(15), |l| l.iter().all(|r| r["status"] != "pending"))
            .await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["status"], "succeeded", "{list:?}");
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::Refunded);
    let at_provider = sandbox_refunds(&app).await;
    assert_eq!(at_provider.len(), 1, "one refund at the provider: {at_provider:?}");
    assert_eq!(at_provider[0]["externalReference"], first["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_whose_answer_was_lost_is_confirmed_with_the_same_reference() {
    // NovaSend takes the refund but its answer never arrives (the verifier's timeout is 1 s).
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 200,
        provider_timeout_ms: 1000,
        ..Options::default()
    })
    .await;
    let id = app.paid_checkout(5000).await.id;
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": [{"timeout_after_taking": 3000}]}))
        .await;
    let (status, _, first) = refund_with_key(&app, &id, "refund-order-2", &json!({})).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "pending", "{first}");
    assert_eq!(sandbox_refunds(&app).await.len(), 1, "the provider made it");
    app.behave(&app.novasend_url).await;
    // NovaSend refunds a payin once: a follow-up under another reference would be refused
    // ("Duplicate refund") and end the refund failed. The same reference gets the refund made.
    let list =
        wait_refunds(&app, &id, Duration::from_secs(15), |l| l.iter().all(|r| r["status"] != "pending"))
            .await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["status"], "succeeded", "{list:?}");
    assert_eq!(list[0]["provider_reference"], sandbox_refunds(&app).await[0]["refund"]["reference"]);
    assert_eq!(sandbox_refunds(&app).await.len(), 1);
}

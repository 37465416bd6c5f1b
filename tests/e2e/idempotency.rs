//! `Idempotency-Key` on the merchant API over real HTTP: a retry replays the first response,
//! the same key with other parameters runs nothing, concurrent requests with one key run
//! once, and a refund retried with its key is never doubled.

use e2e::{MERCHANT_KEY, TestApp};
use serde_json::{Value, json};
use sha2::Digest;
use shared::status::CheckoutStatus;

struct Answer {
    status: u16,
    replayed: bool,
    retry_after: Option<String>,
    body: Value,
}

async fn post(app: &TestApp, path: &str, key: Option<&str>, auth: &str, body: &Value) -> Answer {
    let mut req = app.http.post(format!("{}{path}", app.url)).bearer_auth(auth).json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let r = req.send().await.expect("verifier reachable");
    let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let retry_after = header("retry-after");
    let status = r.status().as_u16();
    Answer { status, replayed, retry_after, body: r.json().await.unwrap_or(Value::Null) }
}

fn order(reference: &str) -> Value {
    json!({"amount": 5000, "currency": "XOF", "reference": reference, "description": "Test"})
}

fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let key = fresh("key");
    let body = order(&fresh("order"));
    let first = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(!first.replayed);
    let again = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(again.replayed, "marked as a replay");
    // The holder of the key gets the first answer back, client secret included (as Stripe does).
    assert_eq!(again.body, first.body);
    assert!(again.body["client_secret"].as_str().is_some());

    // A refused first request is kept too: its retry answers the same.
    let bad = json!({"amount": 0, "currency": "XOF", "reference": fresh("order")});
    let key2 = fresh("key");
    let refused = post(&app, "/v1/checkouts", Some(&key2), MERCHANT_KEY, &bad).await;
    assert_eq!(refused.status, 400);
    let refused_again = post(&app, "/v1/checkouts", Some(&key2), MERCHANT_KEY, &bad).await;
    assert_eq!((refused_again.status, refused_again.replayed), (400, true));
    assert_eq!(refused_again.body, refused.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_key_with_other_parameters_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let key = fresh("key");
    let first = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &order(&fresh("order"))).await;
    assert_eq!(first.status, 201);

    let other_reference = fresh("order");
    let reused = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &order(&other_reference)).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(reused.body["error"]["code"], "idempotency_key_reused");
    // Nothing was created: the other reference is still free.
    let (status, body) = app.create_checkout_raw(order(&other_reference), MERCHANT_KEY).await;
    assert_eq!(status, 201, "{body}");

    // Another path with the same key is refused too.
    let id = first.body["id"].as_str().expect("an id");
    let other_path =
        post(&app, &format!("/v1/checkouts/{id}/refunds"), Some(&key), MERCHANT_KEY, &json!({})).await;
    assert_eq!(other_path.status, 422, "{}", other_path.body);
    assert_eq!(other_path.body["error"]["code"], "idempotency_key_reused");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_with_one_key_create_one_checkout() {
    let app = TestApp::spawn().await;
    let key = fresh("key");
    let body = order(&fresh("order"));
    let answers = futures_util::future::join_all(
        (0..8).map(|_| post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body)),
    )
    .await;
    let mut ids = Vec::new();
    let mut originals = 0;
    for a in &answers {
        match a.status {
            201 => {
                ids.push(a.body["id"].as_str().expect("an id").to_owned());
                originals += usize::from(!a.replayed);
            }
            409 => {
                assert_eq!(a.body["error"]["code"], "idempotency_key_in_use", "{}", a.body);
                assert_eq!(a.retry_after.as_deref(), Some("1"));
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert_eq!(originals, 1, "exactly one request ran");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every success names the same checkout: {ids:?}");

    // Retrying after the race gets the one checkout.
    let after = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((after.status, after.replayed), (201, true));
    assert_eq!(after.body["id"].as_str(), Some(ids[0].as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_retried_with_its_key_is_never_doubled() {
    let app = TestApp::spawn().await;
    let c = app.paid_checkout(5000).await;

    let key = fresh("refund");
    let path = format!("/v1/checkouts/{}/refunds", c.id);
    let body = json!({"amount": 2000, "reason": "one item returned"});
    let answers =
        futures_util::future::join_all((0..4).map(|_| post(&app, &path, Some(&key), MERCHANT_KEY, &body)))
            .await;
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!created.is_empty());
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 409), "only successes or in-use refusals");
    let again = post(&app, &path, Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((again.status, again.replayed), (201, true), "{}", again.body);
    assert_eq!(again.body["id"], created[0].body["id"]);

    let list: Vec<Value> = app
        .http
        .get(format!("{}{path}", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "one refund: {list:?}");
    assert_eq!(list[0]["amount"], 2000);
    assert_eq!(app.merchant_checkout(&c.id).await.status, CheckoutStatus::PartiallyRefunded);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_and_bad_credentials_are_refused_before_anything_runs() {
    let app = TestApp::spawn().await;
    let body = order(&fresh("order"));
    let long = "k".repeat(256);
    let refused = post(&app, "/v1/checkouts", Some(&long), MERCHANT_KEY, &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "invalid_request");
    assert_eq!(refused.body["error"]["field"], "Idempotency-Key");
    let tab = post(&app, "/v1/checkouts", Some("a\tb"), MERCHANT_KEY, &body).await;
    assert_eq!(tab.status, 400, "{}", tab.body);

    // A wrong merchant key reserves nothing: the real merchant's first request with that key runs.
    let key = fresh("key");
    assert_eq!(post(&app, "/v1/checkouts", Some(&key), "mk_wrong", &body).await.status, 401);
    let first = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((first.status, first.replayed), (201, false), "{}", first.body);
    // The longest key is accepted.
    let longest = "k".repeat(255);
    let ok = post(&app, "/v1/checkouts", Some(&longest), MERCHANT_KEY, &order(&fresh("order"))).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

/// A reservation left behind by a process that died mid-request, made through the store
/// interface on the verifier's database.
async fn leave_reservation(app: &TestApp, key: &str, method_path: &str, body: &Value, age_ms: i64) {
    let store = app.store().await;
    let hash = hex::encode(sha2::Sha256::digest(serde_json::to_vec(body).unwrap()));
    // The row is named by the key's SHA-256, not the key.
    let stored_key = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let then = server::checkouts::now_ms() - age_ms;
    let begun =
        store.idempotency_begin(&stored_key, method_path, &hash, then, then - 1, false).await.unwrap();
    assert_eq!(begun, server::store::IdempotencyBegin::Started);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_request_is_run_again_only_where_that_is_safe() {
    let app = TestApp::spawn().await;
    let stale = server::idempotency::STALE_AFTER_MS + 1_000;

    // Creating a checkout is safe to run again (its reference is unique): the retry runs.
    let key = fresh("key");
    let body = order(&fresh("order"));
    leave_reservation(&app, &key, "POST /v1/checkouts", &body, stale).await;
    let retried = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((retried.status, retried.replayed), (201, false), "{}", retried.body);

    // A recent reservation is a request still running.
    let key = fresh("key");
    let body = order(&fresh("order"));
    leave_reservation(&app, &key, "POST /v1/checkouts", &body, 0).await;
    let busy = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!(busy.status, 409, "{}", busy.body);
    assert_eq!(busy.body["error"]["code"], "idempotency_key_in_use");

    // A refund is safe too: its id is derived from the key, so the retry finds the refund the
    // interrupted run made (here: made, sent and answered before the process died) and makes
    // no second one.
    let c = app.paid_checkout(5000).await;
    let key = fresh("refund");
    let path = format!("/v1/checkouts/{}/refunds", c.id);
    let body = json!({"amount": 1000});
    let first = post(&app, &path, Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    forget_keys(&app).await;
    leave_reservation(&app, &key, &format!("POST {path}"), &body, stale).await;
    let retried = post(&app, &path, Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((retried.status, retried.replayed), (201, false), "{}", retried.body);
    assert_eq!(retried.body["id"], first.body["id"], "the same refund");
    assert_eq!(retried.body["status"], "succeeded");
    let list = refunds(&app, &c.id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(app.merchant_checkout(&c.id).await.status, CheckoutStatus::PartiallyRefunded);
}

/// Drops every stored idempotency row (as the purge does after 48 h, or as a 5xx releases its
/// key), through the store interface on the verifier's database.
async fn forget_keys(app: &TestApp) {
    app.store().await.idempotency_purge(i64::MAX).await.expect("purged");
}

async fn refunds(app: &TestApp, checkout_id: &str) -> Vec<Value> {
    app.http
        .get(format!("{}/v1/checkouts/{checkout_id}/refunds", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stored_response_holds_no_client_secret_and_the_replay_returns_it() {
    let app = TestApp::spawn().await;
    let key = fresh("key");
    let body = order(&fresh("order"));
    let first = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let secret = first.body["client_secret"].as_str().expect("a client secret").to_owned();
    let random_part = secret.split("_secret_").nth(1).expect("the secret's random part").to_owned();

    // Read what is stored as anyone holding the database would, through the store interface.
    let store = app.store().await;
    let hash = hex::encode(sha2::Sha256::digest(serde_json::to_vec(&body).unwrap()));
    let now = server::checkouts::now_ms();
    let stale_before = now - server::idempotency::STALE_AFTER_MS;
    // The key itself is not stored: asking for it finds nothing and reserves it (released).
    let by_key = store.idempotency_begin(&key, "POST /v1/checkouts", &hash, now, stale_before, false).await;
    assert_eq!(by_key.unwrap(), server::store::IdempotencyBegin::Started);
    store.idempotency_release(&key).await.unwrap();
    // The row is named by the key's SHA-256 (printf %s "$KEY" | openssl dgst -sha256).
    let stored_key = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let stored =
        store.idempotency_begin(&stored_key, "POST /v1/checkouts", &hash, now, stale_before, false).await;
    let server::store::IdempotencyBegin::Done { status, body: stored_body } = stored.unwrap() else {
        panic!("no stored response under the key's SHA-256");
    };
    assert_eq!(status, 201);
    assert!(!stored_body.is_empty());
    for needle in [random_part.as_bytes(), secret.as_bytes(), b"client_secret".as_slice(), key.as_bytes()] {
        assert!(
            !stored_body.windows(needle.len()).any(|w| w == needle),
            "found {:?}",
            String::from_utf8_lossy(needle)
        );
    }

    let again = post(&app, "/v1/checkouts", Some(&key), MERCHANT_KEY, &body).await;
    assert_eq!((again.status, again.replayed), (201, true), "{}", again.body);
    assert_eq!(again.body, first.body, "the same response, client secret included");
}

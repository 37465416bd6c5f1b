//! Test and live modes over HTTP: under the test harness every checkout and every merchant
//! event says `"livemode": false`, and a checkout is never paid nor refunded by a verifier of
//! the other mode (the same database, restarted with live providers pointed at the sandboxes
//! through `allow_custom_host`), which refuses before any provider call, and whose reconciler
//! never sends a pending attempt of the other mode to its providers.

use std::time::{Duration, Instant};

use e2e::{MERCHANT_KEY, Options, TestApp};
use serde_json::{Value, json};
use shared::status::{AttemptStatus, CheckoutStatus};

fn secret(c: &shared::api::Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

async fn get(app: &TestApp, path: &str, key: &str) -> Value {
    let r =
        app.http.get(format!("{}{path}", app.url)).bearer_auth(key).send().await.expect("verifier reachable");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_checkout_and_its_events_say_livemode_false() {
    let app = TestApp::spawn().await;
    let (status, created) = app
        .create_checkout_raw(
            json!({"amount": 5000, "currency": "XOF", "reference": "order-livemode"}),
            MERCHANT_KEY,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["livemode"], json!(false), "{created}");

    let paid = app.paid_checkout(5000).await;
    let merchant = get(&app, &format!("/v1/checkouts/{}", paid.id), MERCHANT_KEY).await;
    assert_eq!(merchant["livemode"], json!(false), "{merchant}");
    let public = get(&app, &format!("/v1/public/checkouts/{}", paid.id), &secret(&paid)).await;
    assert_eq!(public["livemode"], json!(false), "{public}");

    let events = get(&app, &format!("/v1/checkouts/{}/events", paid.id), MERCHANT_KEY).await;
    let events = events.as_array().expect("a list");
    assert!(events.iter().any(|e| e["type"] == "checkout.succeeded"), "the payment is reported: {events:?}");
    for e in events {
        assert_eq!(e["payload"]["livemode"], json!(false), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_is_never_paid_nor_refunded_by_a_verifier_of_the_other_mode() {
    let test = TestApp::spawn().await;
    let open = test.create_checkout(5000).await;
    let paid = test.paid_checkout(3000).await;
    assert!(!open.livemode && !paid.livemode);

    // The same database, restarted with every provider live (CaurisFlux's test keys would be
    // refused in live mode, so it is left out).
    let live =
        test.restart_with(Options { live: true, without_caurisflux: true, ..Options::default() }).await;
    let history_before = live.history(&open.id).await;
    let (status, body) = live
        .pay_raw(&open.id, &secret(&open), json!({"method": "mobile_money", "phone": "0700000001"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "livemode_mismatch", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("test mode") && message.contains("live mode"), "{message}");
    // Nothing changed, and nothing reached the live verifier's provider.
    let after = live.merchant_checkout(&open.id).await;
    assert_eq!((after.status, after.attempts.len(), after.livemode), (CheckoutStatus::Open, 0, false));
    assert_eq!(live.history(&open.id).await, history_before);
    assert!(live.sandbox_payins().await.expect("sandbox listing").is_empty(), "no provider call");

    // A paid test checkout is not refunded through the live verifier either.
    let r = live
        .http
        .post(format!("{}/v1/checkouts/{}/refunds", live.url, paid.id))
        .bearer_auth(live.merchant_key)
        .json(&json!({}))
        .send()
        .await
        .expect("verifier reachable");
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "livemode_mismatch", "{body}");
    let refunds = get(&live, &format!("/v1/checkouts/{}/refunds", paid.id), live.merchant_key).await;
    assert_eq!(refunds, json!([]));
    assert_eq!(live.merchant_checkout(&paid.id).await.status, CheckoutStatus::Succeeded);

    // The reverse: a live checkout is not paid by the test verifier still running on the file.
    let live_checkout = live.create_checkout(5000).await;
    assert!(live_checkout.livemode);
    let payins_before = test.sandbox_payins().await.expect("sandbox listing").len();
    let (status, body) = test
        .pay_raw(
            &live_checkout.id,
            &secret(&live_checkout),
            json!({"method": "mobile_money", "phone": "0700000001"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "livemode_mismatch", "{body}");
    let after = test.merchant_checkout(&live_checkout.id).await;
    assert_eq!((after.status, after.attempts.len(), after.livemode), (CheckoutStatus::Open, 0, true));
    assert_eq!(test.sandbox_payins().await.expect("sandbox listing").len(), payins_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_test_attempt_is_never_started_again_by_a_live_verifier() {
    // The test provider fails the start (500): the attempt stays `created`, which the reconciler
    // would send again by its reference if the provider had never seen it.
    let test = TestApp::spawn_with(Options { poll_interval_ms: 300, ..Options::default() }).await;
    test.misbehave(&test.novasend_url, json!({"scope": "global", "modes": ["error_500"]})).await;
    let c = test.create_checkout(5000).await;
    let (status, body) =
        test.pay_raw(&c.id, &secret(&c), json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert_eq!(status, 200, "{body}");

    // Restarted live on the same file; the test verifier stops, so every fetch counted from
    // now on is the live verifier's.
    let live = test
        .restart_with(Options {
            live: true,
            without_caurisflux: true,
            poll_interval_ms: 300,
            ..Options::default()
        })
        .await;
    test.stop().await;
    let store = live.store().await;
    // How many fetches the attempt has had, while it is still pending.
    let polls = || async {
        let due = store.due_attempts(i64::MAX, 10).await.expect("pending attempts");
        due.iter().find(|(a, _)| a.checkout_id == c.id).map(|(_, polls)| *polls)
    };
    let from = polls().await.expect("the attempt is pending");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match polls().await {
            Some(n) if n >= from + 3 => break,
            Some(_) => {
                assert!(Instant::now() < deadline, "the live verifier's reconciler never took the attempt")
            }
            None => panic!("the attempt is no longer pending: the live verifier sent it to its provider"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It took its turns and sent nothing to its provider: no second start, nothing changed.
    assert!(live.sandbox_payins().await.expect("sandbox listing").is_empty(), "no provider call");
    let after = live.merchant_checkout(&c.id).await;
    assert_eq!(after.status, CheckoutStatus::Processing);
    assert_eq!(after.attempts.len(), 1);
    assert_eq!(after.attempts[0].status, AttemptStatus::Created);
}

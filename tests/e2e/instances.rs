//! Two verifier processes on one PostgreSQL database, as behind a load balancer: a change
//! made on one reaches the other's SSE streams (`LISTEN/NOTIFY`, `server::signals`), the
//! merchant gets one event per change from the two dispatchers together, and an instance
//! SIGKILLed mid-payment leaves the other to finish the payment.
//!
//! They run when `TEST_DATABASE_URL` names a PostgreSQL server (the test command always sets
//! it); otherwise each prints a skip line ([`e2e::instances`]).

use std::time::Duration;

use e2e::{
    crash::crashable_binary,
    instances::{Instances, WebhooksTo, test_database_url},
};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

const WAIT: Duration = Duration::from_secs(40);

/// Two instances prepared on a new database, A started (with `crash_at` armed) then B; `None`
/// after a printed skip line when there is no PostgreSQL to run on.
async fn two(webhooks_to: WebhooksTo, poll_interval_ms: u64, crash_at: Option<&str>) -> Option<Instances> {
    let admin_url = test_database_url()?;
    let binary = crashable_binary().expect("verifier-crashable builds");
    let mut i = Instances::prepare(&binary, &admin_url, webhooks_to, poll_interval_ms)
        .await
        .expect("database, sandbox and configurations");
    i.a.start(crash_at).await.expect("instance A starts");
    i.b.start(None).await.expect("instance B starts");
    Some(i)
}

/// The merchant got each recorded event of `id` (all delivered, of `kinds` in order, one per
/// change) and nothing else: a webhook id may arrive twice only when `redelivery_allowed` (a
/// send cut by a kill is sent again under the same id: at least once), never two ids for one
/// change.
async fn one_event_per_change(i: &Instances, id: &str, kinds: &[&str], redelivery_allowed: bool) {
    let path = format!("/v1/checkouts/{id}/events");
    let delivered = |v: &serde_json::Value| {
        v.as_array().is_some_and(|e| !e.is_empty() && e.iter().all(|e| e["delivery"] == "delivered"))
    };
    let events = i.b.wait_for(&i.http, &path, WAIT, delivered).await;
    let events = events.as_array().cloned().unwrap_or_default();
    let got: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(got, kinds, "{events:#?}");
    assert!(events.iter().all(|e| e["delivery"] == "delivered"), "{events:#?}");
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap_or_default()).collect();
    let seen = i.merchant.seen();
    let mut acted_on: Vec<&str> = seen.iter().map(|n| n.id.as_str()).collect();
    if redelivery_allowed {
        acted_on.dedup();
    }
    assert_eq!(acted_on, ids, "each event once (two dispatchers never send one event twice): {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sse_stream_on_one_instance_sees_a_payment_confirmed_by_a_webhook_to_the_other() {
    // NovaSend's webhooks reach B only; A's reconciler polls too rarely (a minute) to learn the
    // outcome itself in this test's time: A's stream can only hear it from B.
    let Some(i) = two(WebhooksTo::B, 60_000, None).await else { return };
    let (id, secret) = i.a.create_checkout(&i.http, 5000, "order-two-sse").await.expect("checkout created");
    let response = i
        .http
        .get(format!("{}/v1/public/checkouts/{id}/events", i.a.url))
        .query(&[("client_secret", &secret)])
        .send()
        .await
        .expect("stream opened");
    assert_eq!(response.status(), 200);
    let mut events = Box::pin(response.bytes_stream().eventsource().map(|e| {
        let e = e.expect("a well-formed SSE event");
        serde_json::from_str::<serde_json::Value>(&e.data).expect("JSON")
    }));
    let first = tokio::time::timeout(WAIT, events.next()).await.expect("a first event").expect("open");
    assert_eq!(first["status"], "open", "{first:#}");

    let paid = i
        .http
        .post(format!("{}/v1/public/checkouts/{id}/pay", i.a.url))
        .bearer_auth(&secret)
        .json(&serde_json::json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
        .send()
        .await
        .expect("pay answered");
    assert_eq!(paid.status(), 200);

    let mut statuses = Vec::new();
    tokio::time::timeout(WAIT, async {
        while statuses.last().map(String::as_str) != Some("succeeded") {
            let view = events.next().await.expect("the stream stays open until the final status");
            statuses.push(view["status"].as_str().unwrap_or_default().to_owned());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("A's stream never showed the payment B confirmed; saw {statuses:?}"));

    // B applied the webhook: its history names the notification as the cause.
    let history = i.b.merchant_get(&i.http, &format!("/v1/checkouts/{id}/history")).await.expect("history");
    let causes: Vec<&str> =
        history.as_array().into_iter().flatten().filter_map(|h| h["cause"].as_str()).collect();
    assert!(causes.iter().any(|c| c.starts_with("webhook:nova_send:")), "{history:#}");
    // No kill here: every event is sent exactly once by the two dispatchers together.
    one_event_per_change(&i, &id, &["checkout.succeeded"], false).await;
    i.finish().await.expect("stopped and dropped");
}

/// A is killed at `point` during the customer's payment; B, on the same database, finishes it:
/// one attempt, charged once, one merchant event per change.
async fn killed_on_a_finished_by_b(point: &str) {
    // NovaSend's webhooks go to A, dead after the kill: B learns the outcome by fetching it.
    let Some(mut i) = two(WebhooksTo::A, 300, Some(point)).await else { return };
    let (id, secret) =
        i.a.create_checkout(&i.http, 5000, &format!("order-two-{point}")).await.expect("checkout created");
    let pay = {
        let (http, url) = (i.http.clone(), format!("{}/v1/public/checkouts/{id}/pay", i.a.url));
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(secret)
                .json(&serde_json::json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
                .send()
                .await
        })
    };
    i.a.wait_for_crash_point(point).await.expect("the crash point is reached");
    i.a.kill().await.expect("SIGKILL");
    assert!(pay.await.expect("task").is_err(), "the request died with A");

    let path = format!("/v1/checkouts/{id}");
    let view = i.b.wait_for(&i.http, &path, WAIT, |v| v["status"] == "succeeded").await;
    assert_eq!(view["status"], "succeeded", "B finished the payment: {view:#}");
    let attempts = view["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 1, "one attempt: {view:#}");
    let payins = i.sandbox_payins().await.expect("sandbox listing");
    assert_eq!(payins.len(), 1, "charged once: {payins:#?}");
    // A's kill cut no merchant send here (it died before any event existed), so each event is
    // sent once; the at-least-once rule would allow a second send under the same id only.
    one_event_per_change(&i, &id, &["checkout.succeeded"], true).await;
    i.finish().await.expect("stopped and dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_after_storing_the_attempt_leaves_the_payment_to_the_other() {
    killed_on_a_finished_by_b("pay.attempt_stored").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_after_the_provider_took_the_payment_leaves_it_to_the_other() {
    killed_on_a_finished_by_b("pay.provider_answered").await;
}

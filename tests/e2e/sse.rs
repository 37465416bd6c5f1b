//! The public SSE stream (`GET /v1/public/checkouts/{id}/events`) with several subscribers:
//! a change reaches every subscriber of its checkout and nobody else, each stream starts on the
//! state read after it subscribed, a stream ends after a final status, and streams that hang up
//! leave the others working (and free their place under the per-checkout cap).
//! (That the database is read once per change, not once per subscriber, is shown by
//! `server::events`'s unit tests with a counting reader.)

use std::{pin::Pin, time::Duration};

use e2e::TestApp;
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::json;
use shared::{
    api::{Checkout, PublicCheckout},
    status::CheckoutStatus,
};

/// The longest wait for one event (the sandbox confirms after 300 ms, then its webhook).
const WAIT: Duration = Duration::from_secs(15);

type Events = Pin<Box<dyn Stream<Item = PublicCheckout> + Send>>;

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

/// Opens the checkout's stream as the widget does (`client_secret` in the query); every event
/// must be a `status` event carrying a `PublicCheckout`.
async fn subscribe(app: &TestApp, c: &Checkout) -> Events {
    let response = app
        .http
        .get(format!("{}/v1/public/checkouts/{}/events", app.url, c.id))
        .query(&[("client_secret", &secret(c))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Box::pin(response.bytes_stream().eventsource().map(|event| {
        let event = event.expect("a well-formed SSE event");
        assert_eq!(event.event, "status");
        serde_json::from_str::<PublicCheckout>(&event.data).expect("a PublicCheckout")
    }))
}

/// The next event, within [`WAIT`].
async fn next(events: &mut Events) -> PublicCheckout {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event within the wait")
        .expect("the stream is open")
}

/// Events until one whose status is `status`, within [`WAIT`] in all; the statuses seen on the
/// way.
async fn until(events: &mut Events, status: CheckoutStatus) -> Vec<CheckoutStatus> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while seen.last() != Some(&status) {
            seen.push(events.next().await.expect("the stream is open").status);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {status:?} within the wait; saw {seen:?}"));
    seen
}

/// Pays with NovaSend's test number that succeeds (the sandbox confirms by webhook).
async fn pay(app: &TestApp, c: &Checkout, phone: &str) {
    let (status, body) =
        app.pay_raw(&c.id, &secret(c), json!({"method": "mobile_money", "phone": phone})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_reaches_every_subscriber_of_its_checkout_and_nobody_else() {
    let app = TestApp::spawn().await;
    let paid = app.create_checkout(5000).await;
    let other = app.create_checkout(7000).await;
    let mut watchers = Vec::new();
    for _ in 0..8 {
        let mut events = subscribe(&app, &paid).await;
        let first = next(&mut events).await;
        assert_eq!((first.id.as_str(), first.status), (paid.id.as_str(), CheckoutStatus::Open));
        watchers.push(events);
    }
    let mut bystander = subscribe(&app, &other).await;
    let first = next(&mut bystander).await;
    assert_eq!(
        (first.id.as_str(), first.amount, first.status),
        (other.id.as_str(), 7000, CheckoutStatus::Open)
    );

    pay(&app, &paid, "07 00 00 00 01").await;
    for events in &mut watchers {
        let seen = until(events, CheckoutStatus::Succeeded).await;
        // The states only move forwards: nothing after the success, nothing open after paying.
        assert!(!seen.contains(&CheckoutStatus::Open), "{seen:?}");
    }
    // The success is final for the customer: each stream ends right after it.
    for events in &mut watchers {
        let end = tokio::time::timeout(WAIT, events.next()).await.expect("the stream ends after the success");
        assert!(end.is_none(), "nothing after the success: {end:?}");
    }

    // The bystander's next event is its own checkout's first change, not the other's: the
    // declined payment of a test number that fails.
    pay(&app, &other, "07 00 00 00 02").await;
    let change = next(&mut bystander).await;
    assert_eq!(change.id, other.id);
    assert!(change.attempt.is_some(), "{change:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_opened_after_a_change_starts_on_the_current_state() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(3000).await;
    let mut early = subscribe(&app, &c).await;
    assert_eq!(next(&mut early).await.status, CheckoutStatus::Open);
    pay(&app, &c, "07 00 00 00 01").await;
    until(&mut early, CheckoutStatus::Succeeded).await;

    let mut late = subscribe(&app, &c).await;
    let first = next(&mut late).await;
    assert_eq!(first.status, CheckoutStatus::Succeeded);
    assert!(first.attempt.is_some_and(|a| a.status == shared::status::AttemptStatus::Succeeded));
    // Already final when it opened: it ends after that one event.
    let end = tokio::time::timeout(WAIT, late.next()).await.expect("the stream ends");
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_that_hang_up_leave_the_others_working() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(2000).await;
    // Twenty streams open and hang up, some before reading their first event.
    for i in 0..20 {
        let mut events = subscribe(&app, &c).await;
        if i % 2 == 0 {
            next(&mut events).await;
        }
    }
    let mut kept = subscribe(&app, &c).await;
    assert_eq!(next(&mut kept).await.status, CheckoutStatus::Open);
    pay(&app, &c, "07 00 00 00 01").await;
    until(&mut kept, CheckoutStatus::Succeeded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_needs_the_checkouts_client_secret() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(2000).await;
    let url = format!("{}/v1/public/checkouts/{}/events", app.url, c.id);
    let wrong = app.http.get(&url).query(&[("client_secret", "cs_wrong")]).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let none = app.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let unknown = app
        .http
        .get(format!("{}/v1/public/checkouts/co_nope/events", app.url))
        .query(&[("client_secret", &secret(&c))])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401, "an unknown checkout is told apart from a wrong secret by nobody");
    // The header form works as well as the query.
    let mut events = {
        let response = app.http.get(&url).bearer_auth(secret(&c)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes_stream().eventsource()
    };
    let first = tokio::time::timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.event, "status");
}

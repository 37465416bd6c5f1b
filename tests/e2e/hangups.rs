//! Clients that hang up in the middle of a request never poison the verifier: a request dropped
//! at any point of its work (inside a database transaction included) leaves no connection of the
//! pool in a half-open transaction, and every later request succeeds.

use std::time::Duration;

use e2e::{MERCHANT_KEY, TestApp};
use futures_util::future::join_all;

/// One create sent by a client that gives up after `patience`: the server sees the connection
/// close somewhere inside its work.
async fn create_and_hang_up(app: &TestApp, client: &reqwest::Client, n: usize) {
    let _ = client
        .post(format!("{}/v1/checkouts", app.url))
        .bearer_auth(MERCHANT_KEY)
        .header("Idempotency-Key", format!("hangup-{n}"))
        .json(&serde_json::json!({
            "amount": 5000, "currency": "XOF", "reference": format!("hangup-{n}"), "description": "x"
        }))
        .send()
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_hang_up_mid_request_leave_every_later_request_working() {
    let app = TestApp::spawn().await;
    // Client timeouts from 1 to 15 ms land anywhere in the handler's work: before, inside and
    // after its transactions (a create with an Idempotency-Key takes several).
    for round in 0..15u64 {
        let client =
            reqwest::Client::builder().timeout(Duration::from_millis(1 + round)).build().expect("client");
        join_all((0..64).map(|i| create_and_hang_up(&app, &client, (round * 64 + i) as usize))).await;
    }
    // Then every request succeeds: 300 creates, each answered 201.
    let mut failures = Vec::new();
    for n in 0..300 {
        let (status, body) = app
            .create_checkout_raw(
                serde_json::json!({"amount": 5000, "currency": "XOF", "reference": format!("after-{n}")}),
                MERCHANT_KEY,
            )
            .await;
        if status != 201 {
            failures.push((status, body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 300 creates failed after the hang-ups: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}

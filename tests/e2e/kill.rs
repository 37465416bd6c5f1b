//! The verifier killed (SIGKILL) at each step of a payment and started again on the same
//! database file: the payment ends in the right state, the provider is charged once, no state
//! change is lost or doubled, and the merchant gets one event per change under one id.
//!
//! The verifier runs as a child process (`verifier-crashable`, crash points compiled in); the
//! NovaSend sandbox runs in the test process, so it keeps the payment while the verifier is dead.

use std::time::Duration;

use e2e::crash::{CrashableVerifier, crashable_binary};

const WAIT: Duration = Duration::from_secs(40);

/// Kills the verifier where `point` holds the payment, restarts it, and checks the outcome;
/// returns how many webhook deliveries the merchant's endpoint accepted.
async fn killed_at(point: &str) -> usize {
    let binary = crashable_binary().expect("verifier-crashable builds");
    let mut v = CrashableVerifier::prepare(&binary).await.expect("sandbox and configuration");
    v.start(Some(point)).await.expect("verifier starts");
    let reference = format!("order-kill-{point}");
    let (id, secret) = v.create_checkout(5000, &reference).await.expect("checkout created");

    // The customer pays; the verifier stops dead somewhere inside that request.
    let pay = {
        let http = v.http.clone();
        let url = format!("{}/v1/public/checkouts/{id}/pay", v.url);
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(secret)
                .json(&serde_json::json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
                .send()
                .await
        })
    };
    v.wait_for_crash_point(point).await.expect("the crash point is reached");
    v.kill().await.expect("SIGKILL");
    let answer = pay.await.expect("task");
    if point.starts_with("pay.") || point == "attempt.state_committed" {
        assert!(answer.is_err(), "the request died with the process");
    } else {
        assert_eq!(answer.expect("the pay request was answered before the kill").status(), 200);
    }

    // Same database, same port, nothing armed.
    v.start(None).await.expect("verifier restarts");
    let view = v.wait_for_status(&id, "succeeded", WAIT).await;
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(view["amount"], 5000);
    let attempts = view["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "one attempt, not a second one: {view:#}");
    assert_eq!(attempts[0]["status"], "succeeded");

    // Charged once: the sandbox holds exactly one payin for this attempt.
    let payins = v.sandbox_payins().await.expect("sandbox listing");
    assert_eq!(payins.len(), 1, "{payins:#?}");
    assert_eq!(payins[0]["amount"], 5000);

    // Every state was entered once, in order, each with its cause.
    let history = v.history(&id).await.expect("history");
    let checkout_states: Vec<&str> = history
        .iter()
        .filter(|h| h["attempt_id"].is_null())
        .map(|h| h["to"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(checkout_states, ["open", "processing", "succeeded"], "{history:#?}");
    let attempt_states: Vec<&str> = history
        .iter()
        .filter(|h| !h["attempt_id"].is_null())
        .map(|h| h["to"].as_str().unwrap_or_default())
        .collect();
    let mut unique = attempt_states.clone();
    unique.dedup();
    assert_eq!(unique, attempt_states, "no state entered twice: {history:#?}");
    assert_eq!(attempt_states.last(), Some(&"succeeded"), "{history:#?}");
    assert!(history.iter().all(|h| !h["cause"].as_str().unwrap_or_default().is_empty()), "{history:#?}");

    // The merchant: one event per change, each delivered under its own stable id. A send cut
    // by the kill is sent again with the same id (at least once), so a merchant who
    // deduplicates on `webhook-id` acts on each event exactly once.
    let events = v.wait_for_deliveries(&id, WAIT).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["checkout.succeeded"], "{events:#?}");
    assert!(events.iter().all(|e| e["delivery"] == "delivered"), "{events:#?}");
    let seen = v.merchant.seen();
    let mut acted_on: Vec<&str> = seen.iter().map(|n| n.id.as_str()).collect();
    acted_on.dedup();
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap_or_default()).collect();
    assert_eq!(acted_on, ids, "the endpoint got exactly the recorded events: {seen:?}");
    assert!(seen.iter().all(|n| n.kind == "checkout.succeeded"), "{seen:?}");

    // And a second restart changes nothing, and sends nothing again.
    let seen_before = seen.len();
    v.kill().await.expect("SIGKILL");
    v.start(None).await.expect("verifier restarts again");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(v.history(&id).await.expect("history"), history);
    assert_eq!(v.sandbox_payins().await.expect("sandbox listing").len(), 1);
    assert_eq!(v.merchant.seen().len(), seen_before);
    seen.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_the_attempt_is_stored_and_before_the_provider_is_called() {
    // The provider never heard of the payment: after the restart the reconciler asks it by our
    // reference, learns it is unknown, and starts it once with that same reference.
    assert_eq!(killed_at("pay.attempt_stored").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_the_provider_took_the_payment_and_before_its_answer_was_applied() {
    // The provider has the payment; the restarted verifier learns its state by webhook or by
    // fetching it by our reference, and never sends a second charge.
    assert_eq!(killed_at("pay.provider_answered").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_right_after_a_state_change_is_committed() {
    assert_eq!(killed_at("attempt.state_committed").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_a_provider_webhook_is_stored_and_acknowledged_but_not_applied() {
    // The inbox kept it: the restarted verifier applies it (or the reconciler gets there first).
    assert_eq!(killed_at("inbox.before_processing").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_right_after_a_provider_webhook_is_processed() {
    // Its update and its "processed" mark were one transaction: nothing to apply again after
    // the restart (and a notification that only asked for a fetch is fetched again, harmlessly).
    assert_eq!(killed_at("inbox.processed").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_the_merchant_accepted_a_webhook_and_before_it_was_recorded() {
    // The one case a second delivery cannot be avoided: it carries the same webhook-id.
    assert_eq!(killed_at("outbox.sent_unrecorded").await, 2);
}

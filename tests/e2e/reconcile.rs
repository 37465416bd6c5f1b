//! The reconciler's pace: an attempt the provider keeps pending is fetched less and less often,
//! and the count it paces itself by is stored (so a restart resumes the same pace).

use std::time::Duration;

use e2e::{Options, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn status_fetches_back_off_while_the_provider_keeps_a_payment_pending() {
    // In-process sandboxes: the configured 300 ms is the first gap (no provider floor), and
    // NovaSend's test number …0000004 never answers within the test.
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 300,
        expire_after_ms: 120_000,
        webhook_url_override: Some("http://127.0.0.1:9/nowhere".into()),
        ..Options::default()
    })
    .await;
    let checkout = app.create_checkout(5000).await;
    let secret = checkout.client_secret.clone().expect("client secret");
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"method": "mobile_money", "phone": "07 00 00 00 04"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    tokio::time::sleep(Duration::from_secs(4)).await;
    let store = app.store().await;
    let due = store.due_attempts(i64::MAX, 10).await.expect("pending attempts");
    assert_eq!(due.len(), 1, "{due:?}");
    let (attempt, polls) = &due[0];
    assert!(attempt.status.is_pending(), "{attempt:?}");
    // A fixed 300 ms gap would have fetched about 13 times in 4 s; gaps of 300, 450, 675,
    // 1012, 1518 ms fit 5 (fewer if the machine is slow), and at least 2 happened.
    assert!((2..=6).contains(polls), "{polls} fetches in 4 s");
}

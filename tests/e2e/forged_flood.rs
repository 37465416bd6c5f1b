//! Forged webhooks cost almost nothing (issue 13): a flood of large forged notifications over
//! real HTTP, from several clients at once, writes no row per request, keeps the database's
//! growth and the refused samples bounded, and does not hold back genuine payments running
//! meanwhile; a refused notice brings its attempt's status fetch forward at most once per the
//! provider's minimum gap (NovaSend: 5 s, `server/src/providers/novasend/mod.rs`).
//!
//! Run with this branch's defaults: no rate limit on `/webhooks/*` lets the flood through,
//! so what is shown is the storage and writer property on its own.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use e2e::{Options, TestApp};
use futures_util::future::join_all;
use serde_json::json;
use shared::{method::Provider, status::CheckoutStatus};

/// Forged notifications sent (at least; the flood lasts as long as the genuine payments).
const FLOOD: u64 = 3_000;
/// Clients sending them at once.
const CLIENTS: usize = 6;
/// Bytes of each forged body: just under the verifier's 64 KiB body limit.
const BODY_BYTES: usize = 64 * 1024 - 512;
/// Genuine payments per round, and how many run at once.
const PAYMENTS: usize = 12;
const AT_ONCE: usize = 4;
const WAIT: Duration = Duration::from_secs(30);

/// A NovaSend-shaped payin notification of about [`BODY_BYTES`] claiming `reference`, with a
/// customer's phone number in it (to see it masked in the sample).
fn forged_body(reference: &str) -> Vec<u8> {
    let head = json!({
        "customerReference": reference,
        "status": "SUCCEEDED",
        "amount": 5000,
        "customerPhoneNumber": "+2250700000001",
    })
    .to_string();
    let pad = "x".repeat(BODY_BYTES - head.len() - 12);
    let mut body = head[..head.len() - 1].to_owned();
    body.push_str(&format!(r#","pad":"{pad}"}}"#));
    body.into_bytes()
}

/// Sends forged notifications from [`CLIENTS`] clients until `stop` and at least `at_least`
/// were answered; returns how many were sent, each answered 401.
async fn flood(app: &TestApp, body: Vec<u8>, at_least: u64, stop: Arc<AtomicBool>) -> u64 {
    let sent = Arc::new(AtomicU64::new(0));
    let url = format!("{}/webhooks/nova_send", app.url);
    join_all((0..CLIENTS).map(|_| {
        let (sent, stop, url, body) = (sent.clone(), stop.clone(), url.clone(), body.clone());
        async move {
            let http = reqwest::Client::new();
            while !(stop.load(Ordering::SeqCst) && sent.load(Ordering::SeqCst) >= at_least) {
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(server::providers::novasend::SIGNATURE_HEADER, "forged")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("verifier reachable");
                assert_eq!(r.status(), 401);
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    }))
    .await;
    sent.load(Ordering::SeqCst)
}

/// Runs [`PAYMENTS`] NovaSend payments, [`AT_ONCE`] at a time, each from checkout to
/// succeeded (through the sandbox's signed webhook); returns the round's whole time.
async fn genuine_round(app: &TestApp) -> Duration {
    let start = Instant::now();
    for _ in 0..PAYMENTS / AT_ONCE {
        join_all((0..AT_ONCE).map(|_| async {
            let checkout = app.create_checkout(5000).await;
            let secret = checkout.client_secret.clone().expect("a client secret");
            let (status, body) = app
                .pay_raw(
                    &checkout.id,
                    &secret,
                    json!({"provider": "nova_send", "method": "mobile_money", "phone": "0700000001"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
            assert_eq!(c.status, CheckoutStatus::Succeeded);
        }))
        .await;
    }
    start.elapsed()
}

/// Waits until `done` holds, or fails after `within`.
async fn until<F, Fut>(within: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_forged_webhooks_stores_no_row_each_and_does_not_hold_back_genuine_payments() {
    let app = TestApp::spawn().await;
    let baseline = genuine_round(&app).await;
    // SQLite only: its file's size (`None` on PostgreSQL, whose storage this does not measure).
    let bytes_before = app.database_bytes().await;

    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood(&app, forged_body("at_claimed_by_nobody"), FLOOD, stop.clone());
    let genuine = async {
        let t = genuine_round(&app).await;
        stop.store(true, Ordering::SeqCst);
        t
    };
    let (sent, during) = tokio::join!(flooding, genuine);
    eprintln!("genuine round: {baseline:?} alone, {during:?} under a flood of {sent} forged notifications");

    // No row per refused request: the inbox holds only the genuine (verified) notifications.
    let stored = app.notifications().await;
    assert!(
        stored.iter().all(|n| n.verified),
        "{} refused rows stored",
        stored.iter().filter(|n| !n.verified).count()
    );
    // Every refusal counted (the tally is written every few seconds).
    until(Duration::from_secs(15), "every refusal counted", || async {
        app.refused_count(Provider::NovaSend).await == sent
    })
    .await;
    // A bounded sample, at most one a second: cut to 4 KiB, the phone number masked.
    let samples = app.refused_samples(Provider::NovaSend).await;
    assert!(!samples.is_empty() && samples.len() <= 100, "{} samples", samples.len());
    for s in &samples {
        assert!(s.body.len() <= 4_096, "a sample of {} bytes", s.body.len());
        assert!(
            s.body.contains("+225 07 •• •• •• 01") && !s.body.contains("0700000001"),
            "{}",
            &s.body[..120]
        );
        assert_eq!(s.reference.as_deref(), Some("at_claimed_by_nobody"));
    }
    // The database grew by what the genuine payments and the tally wrote, not by the flood
    // (stored, it would be `sent` × 64 KiB: hundreds of MB); its files on disk, write-ahead
    // log included (checkpointed every 1 000 pages, about 4 MB), stay small.
    if let (Some(before), Some(after), Some(on_disk)) =
        (bytes_before, app.database_bytes().await, app.database_file_bytes())
    {
        let growth = after.saturating_sub(before);
        assert!(
            growth < 2 * 1024 * 1024,
            "the database grew by {growth} bytes under {sent} forged notifications"
        );
        eprintln!("database: +{growth} bytes, {on_disk} bytes on disk");
        assert!(
            on_disk < 16 * 1024 * 1024,
            "the database's files take {on_disk} bytes after {sent} forged notifications"
        );
    }
    // Genuine payments kept going: a generous bound on the whole round against the same round
    // alone (a flood shares the machine's CPU; it must not queue payments behind its writes).
    assert!(
        during < baseline * 6 + Duration::from_secs(3),
        "genuine payments took {during:?} under the flood against {baseline:?} alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_notices_bring_a_status_fetch_forward_at_most_once_per_provider_gap() {
    // No fetch of its own accord within the test (first fetch after 10 min), a session that
    // waits for its customer the whole time: only refused notices can make the verifier ask.
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 600_000,
        expire_after_ms: 600_000,
        ..Options::default()
    })
    .await;
    let checkout = app.create_checkout(5000).await;
    let secret = checkout.client_secret.clone().expect("a client secret");
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            json!({"provider": "nova_send", "method": "mobile_money", "phone": "0700000004"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let attempt_id = app.merchant_checkout(&checkout.id).await.attempts[0].id.clone();
    let payins = app.sandbox_payins().await.unwrap();
    let reference = payins[0]["customerReference"].as_str().unwrap().to_owned();
    let (requests_before, _) = app.sandbox_requests(&app.novasend_url).await;

    // Forged notices naming the attempt for 6 s: the reconciler's tick is 1 s, so each one
    // that moved the fetch to "now" would make one fetch a second; NovaSend's gap is 5 s.
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood(&app, forged_body(&reference), 0, stop.clone());
    let timer = async {
        tokio::time::sleep(Duration::from_secs(6)).await;
        stop.store(true, Ordering::SeqCst);
    };
    let (sent, ()) = tokio::join!(flooding, timer);
    // The second gap's fetch is due at about 5 s: wait for it (or for the deadline).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while app.attempt_polls(&attempt_id).await < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let polls = app.attempt_polls(&attempt_id).await;
    let (requests_after, _) = app.sandbox_requests(&app.novasend_url).await;
    assert!(sent > 100, "only {sent} forged notices sent");
    assert!((1..=2).contains(&polls), "{polls} fetches for {sent} forged notices over 6 s");
    assert_eq!(requests_after - requests_before, u64::from(polls), "status fetches sent to NovaSend");
    assert_eq!(app.merchant_checkout(&checkout.id).await.status, CheckoutStatus::Processing);
}

//! Notifications that misbehave, for every provider (NovaSend, CaurisFlux, MyPVit, Scalapay):
//! each sandbox is told to send its webhooks twice, late, never, out of order or forged, or to
//! answer 500, hang, or take the payment and lose the answer; the payment must still end right,
//! once. Also: replayed CaurisFlux webhooks outside their window are refused, and the receiver stores a
//! notification and answers before processing it, so a restart in between loses nothing.

use std::time::Duration;

use e2e::{CAURISFLUX_WEBHOOK_SECRET, MYPVIT_ACCOUNT, Options, TestApp};
use futures_util::future::join_all;
use serde_json::{Value, json};
use server::store::{NotificationRecord, NotificationState};
use shared::{
    api::{Checkout, PublicCheckout},
    method::Provider,
    status::CheckoutStatus,
};

const WAIT: Duration = Duration::from_secs(20);
const RETURN_URL: &str = "https://shop.example.com/checkout/return";
const CARD: &str = "5200 8282 8282 8210";
const ALL: [Provider; 4] = [Provider::NovaSend, Provider::CaurisFlux, Provider::MyPvit, Provider::Scalapay];

fn sandbox(app: &TestApp, p: Provider) -> &str {
    match p {
        Provider::NovaSend => &app.novasend_url,
        Provider::CaurisFlux => &app.caurisflux_url,
        Provider::MyPvit => &app.mypvit_url,
        Provider::Scalapay => &app.scalapay_url,
    }
}

/// Creates a checkout this provider can carry and pays it with a number (or card) that
/// succeeds; returns the checkout and the pay call's answer.
async fn pay(app: &TestApp, p: Provider) -> (Checkout, PublicCheckout) {
    let (checkout, body) = match p {
        Provider::NovaSend => (
            app.create_checkout(5000).await,
            json!({"provider": "nova_send", "method": "mobile_money", "phone": "0700000001"}),
        ),
        Provider::CaurisFlux => (
            app.create_checkout(5000).await,
            json!({"provider": "cauris_flux", "method": "orange_money", "phone": "0700000001"}),
        ),
        Provider::MyPvit => (
            app.create_checkout_in(1000, "XAF", shared::phone::Country::Ga).await,
            json!({"provider": "my_pvit", "method": "airtel_money", "phone": "077416546"}),
        ),
        Provider::Scalapay => (app.create_eur_checkout(19_000, RETURN_URL).await, json!({"method": "card"})),
    };
    let secret = checkout.client_secret.clone().expect("a client secret");
    let (status, answer) = app.pay_raw(&checkout.id, &secret, body).await;
    assert_eq!(status, 200, "{p:?}: {answer}");
    (checkout, serde_json::from_value(answer).expect("a public checkout"))
}

/// What the customer does after paying: nothing for push payments; for Scalapay, the card form
/// on the page the attempt names, once it names one.
async fn customer_confirms(app: &TestApp, p: Provider, checkout: &Checkout) {
    if p != Provider::Scalapay {
        return;
    }
    let secret = checkout.client_secret.clone().expect("a client secret");
    let deadline = tokio::time::Instant::now() + WAIT;
    let url = loop {
        let public = app.public_checkout(&checkout.id, &secret).await;
        if let Some(url) = public.attempt.and_then(|a| a.payment_url) {
            break url;
        }
        assert!(tokio::time::Instant::now() < deadline, "Scalapay's page never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (status, _) = app.pay_on_scalapay_page(&url, CARD).await;
    assert_eq!(status, 303);
}

async fn paid(app: &TestApp, p: Provider, checkout: &Checkout) -> Checkout {
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded, "{p:?}: {c:?}");
    c
}

/// The attempt's moves as `(to, cause)`.
async fn attempt_moves(app: &TestApp, checkout: &Checkout) -> Vec<(String, String)> {
    app.history(&checkout.id)
        .await
        .iter()
        .filter(|h| h["attempt_id"].is_string())
        .map(|h| (h["to"].as_str().unwrap().to_owned(), h["cause"].as_str().unwrap().to_owned()))
        .collect()
}

/// Checks the history holds exactly one success of the attempt and one of the checkout.
async fn succeeded_once(app: &TestApp, p: Provider, checkout: &Checkout) -> Vec<(String, String)> {
    let history = app.history(&checkout.id).await;
    let successes = history.iter().filter(|h| h["to"] == "succeeded").count();
    assert_eq!(successes, 2, "{p:?}: one attempt and one checkout move to succeeded: {history:#?}");
    let moves = attempt_moves(app, checkout).await;
    assert_eq!(moves.last().map(|m| m.0.as_str()), Some("succeeded"), "{p:?}: {moves:?}");
    moves
}

/// The provider's payment notifications (MyPVit's key deliveries left out).
async fn notifications(app: &TestApp, p: Provider) -> Vec<NotificationRecord> {
    app.notifications()
        .await
        .into_iter()
        .filter(|n| n.provider == p && n.reference.as_deref() != Some(MYPVIT_ACCOUNT))
        .collect()
}

/// Waits until the provider's notifications satisfy `done`; returns them.
async fn notifications_until(
    app: &TestApp,
    p: Provider,
    done: impl Fn(&[NotificationRecord]) -> bool,
) -> Vec<NotificationRecord> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = notifications(app, p).await;
        if done(&all) || tokio::time::Instant::now() >= deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many payments the provider's sandbox holds.
async fn sandbox_payments(app: &TestApp, p: Provider) -> usize {
    match p {
        Provider::NovaSend => app.sandbox_payins().await.unwrap().len(),
        Provider::CaurisFlux => app.caurisflux_payments().await.unwrap().len(),
        Provider::MyPvit => app.mypvit_transactions().await.unwrap().len(),
        Provider::Scalapay => app.scalapay_orders().await.unwrap().len(),
    }
}

/// The stale earlier-state notification the sandbox sends after the final one, once stored.
fn stale(p: Provider, all: &[NotificationRecord]) -> Option<&NotificationRecord> {
    let earlier = |n: &NotificationRecord| match p {
        Provider::NovaSend | Provider::Scalapay => {
            n.update.as_ref().is_some_and(|u| u.status == shared::status::AttemptStatus::AwaitingCustomer)
        }
        Provider::CaurisFlux => false,
        Provider::MyPvit => n.body.contains("PENDING"),
    };
    // After the one that moved the payment on (Scalapay also says `created` at first).
    let moved =
        all.iter().position(|n| n.outcome.as_deref() == Some("applied") || n.body.contains("SUCCESS"))?;
    all[moved + 1..].iter().find(|n| earlier(n))
}

fn quiet() -> Options {
    // No status fetch of its own accord within a test: what happens comes from notifications.
    Options { poll_interval_ms: 600_000, ..Options::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_delivered_twice_is_acknowledged_twice_and_applied_once() {
    let app = TestApp::spawn_with(quiet()).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": ["duplicate_webhook"]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        let all = notifications_until(app, p, |n| {
            n.iter().any(|n| n.state == NotificationState::Duplicate)
                && n.iter().all(|n| n.state != NotificationState::Received)
        })
        .await;
        let duplicates: Vec<_> = all.iter().filter(|n| n.state == NotificationState::Duplicate).collect();
        assert!(!duplicates.is_empty(), "{p:?}: {all:#?}");
        for d in duplicates {
            let first = all.iter().find(|n| Some(&n.id) == d.duplicate_of.as_ref()).expect("the first one");
            assert_eq!(first.state, NotificationState::Processed, "{p:?}");
            assert!(d.verified && d.processed_at_ms.is_none() && d.dedup_key.is_none(), "{p:?}: {d:?}");
        }
        let moves = succeeded_once(app, p, &checkout).await;
        // The state change names the notification that made it (MyPVit's unsigned callbacks
        // only make the verifier fetch the status: their changes are polls).
        let (_, cause) =
            moves.iter().find(|m| m.0 == "succeeded" || m.0 == "authorized").expect("a provider move");
        match p {
            Provider::MyPvit => assert_eq!(cause, "poll:my_pvit"),
            _ => {
                let id = cause
                    .strip_prefix(&format!("webhook:{}:", p.as_str()))
                    .unwrap_or_else(|| panic!("{p:?}: {moves:?}"));
                assert!(all.iter().any(|n| n.id == id && n.state == NotificationState::Processed), "{p:?}");
            }
        }
        assert_eq!(sandbox_payments(app, p).await, 1, "{p:?}");
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_webhook_pays_when_it_arrives_and_after_a_poll_changes_nothing() {
    // Late, with no poll: the payment waits for it.
    let app = TestApp::spawn_with(quiet()).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": [{"late_webhook": 1500}]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        succeeded_once(app, p, &checkout).await;
    }))
    .await;

    // Later than the poll: the poll pays, the webhook then changes nothing.
    let app = TestApp::spawn_with(Options { poll_interval_ms: 300, ..Options::default() }).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": [{"late_webhook": 2500}]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        let moves = succeeded_once(app, p, &checkout).await;
        let success = moves.iter().find(|m| m.0 == "succeeded" || m.0 == "authorized").unwrap();
        assert_eq!(success.1, format!("poll:{}", p.as_str()), "{p:?}: {moves:?}");
        let all =
            notifications_until(app, p, |n| n.iter().any(|n| n.state == NotificationState::Processed)).await;
        assert!(
            all.iter().any(|n| n.state == NotificationState::Processed
                && matches!(n.outcome.as_deref(), Some("unchanged" | "fetched"))),
            "{p:?}: {all:#?}"
        );
        assert_eq!(succeeded_once(app, p, &checkout).await, moves, "{p:?}: the late webhook changed nothing");
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_any_webhook_the_payment_is_confirmed_by_the_status_fetch() {
    let app = TestApp::spawn_with(Options { poll_interval_ms: 300, ..Options::default() }).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": ["no_webhook"]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        let moves = succeeded_once(app, p, &checkout).await;
        assert!(moves.iter().all(|m| !m.1.starts_with("webhook:")), "{p:?}: {moves:?}");
        assert!(notifications(app, p).await.is_empty(), "{p:?}");
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_webhook_after_the_final_one_changes_nothing() {
    let app = TestApp::spawn_with(quiet()).await;
    let app = &app;
    // CaurisFlux documents no event before a payment's final one: its sandbox refuses the mode
    // rather than invent one.
    let refused = app
        .http
        .post(format!("{}/_sandbox/misbehave", app.caurisflux_url))
        .json(&json!({"scope": "global", "modes": ["out_of_order"]}))
        .send()
        .await
        .expect("sandbox reachable");
    assert_eq!(refused.status(), 400);
    let with_earlier_events = [Provider::NovaSend, Provider::MyPvit, Provider::Scalapay];
    join_all(with_earlier_events.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": ["out_of_order"]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        let moves = succeeded_once(app, p, &checkout).await;
        // The stale one arrives after the final one and is processed without effect.
        let all = notifications_until(app, p, |n| {
            stale(p, n).is_some_and(|s| s.state == NotificationState::Processed)
        })
        .await;
        let stale = stale(p, &all).unwrap_or_else(|| panic!("{p:?}: no stale notification: {all:#?}"));
        assert!(matches!(stale.outcome.as_deref(), Some("unchanged" | "fetched")), "{p:?}: {stale:?}");
        let c = app.merchant_checkout(&checkout.id).await;
        assert_eq!(c.status, CheckoutStatus::Succeeded, "{p:?}");
        assert_eq!(attempt_moves(app, &checkout).await, moves, "{p:?}");
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_webhook_is_refused_yet_makes_the_verifier_ask_the_provider() {
    // No poll of its own accord: only the refused notifications can make the verifier ask.
    let app = TestApp::spawn_with(quiet()).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        app.misbehave(sandbox(app, p), json!({"scope": "global", "modes": ["bad_signature"]})).await;
        let (checkout, _) = pay(app, p).await;
        customer_confirms(app, p, &checkout).await;
        paid(app, p, &checkout).await;
        let moves = succeeded_once(app, p, &checkout).await;
        assert!(moves.iter().all(|m| !m.1.starts_with("webhook:")), "{p:?}: {moves:?}");
        // Refused notices are not stored one row each: counted, and sampled (at most one a
        // second per provider, written within a second or so).
        let all = notifications(app, p).await;
        assert!(all.iter().all(|n| n.verified), "{p:?}: {all:#?}");
        let deadline = tokio::time::Instant::now() + WAIT;
        while app.refused_samples(p).await.is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "{p:?}: no refused sample kept");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_webhook_outside_its_window_is_refused_and_changes_nothing() {
    // CaurisFlux signs a timestamp and its plugin keeps a ±300 s window; Scalapay signs one but
    // documents no window (none is invented: its replays are duplicates, like NovaSend's, and
    // deduplicated); MyPVit's unsigned callbacks only make the verifier ask.
    let app = TestApp::spawn_with(quiet()).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;

    // CaurisFlux: a payment waiting for its customer (…04 never answers in time).
    let checkout = app.create_checkout(5000).await;
    let secret = checkout.client_secret.clone().unwrap();
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret,
            json!({"provider": "cauris_flux", "method": "orange_money", "phone": "0700000004"}),
        )
        .await;
    assert_eq!(status, 200);
    let payment = app.caurisflux_payments().await.unwrap().remove(0);
    let mut data = payment.clone();
    data["status"] = json!("success");
    let body = serde_json::to_vec(&json!({"event": "payment.success", "data": data})).unwrap();
    let stale = (now - 301).to_string();
    let signature = format!("sha256={}", e2e::caurisflux_signature(CAURISFLUX_WEBHOOK_SECRET, &stale, &body));
    let r = app
        .http
        .post(format!("{}/webhooks/cauris_flux", app.url))
        .header("x-webhook-signature", signature)
        .header("x-webhook-timestamp", stale)
        .header("x-webhook-event", "payment.success")
        .header("x-webhook-delivery-id", "replayed-delivery")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.merchant_checkout(&checkout.id).await.status, CheckoutStatus::Processing);

    for p in [Provider::CaurisFlux] {
        let all = notifications(&app, p).await;
        assert!(all.iter().all(|n| n.verified), "{p:?}: {all:#?}");
        // Counted in memory and sampled, not stored as a row.
        let deadline = tokio::time::Instant::now() + WAIT;
        while app.refused_samples(p).await.len() != 1 {
            assert!(tokio::time::Instant::now() < deadline, "{p:?}: {:?}", app.refused_samples(p).await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for c in [&checkout] {
        assert!(attempt_moves(&app, c).await.iter().all(|m| !m.1.starts_with("webhook:")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_failing_or_hanging_on_start_never_charges_twice() {
    // The client gives up after 1 s; the reconciler asks every 300 ms.
    let options = Options { provider_timeout_ms: 1000, poll_interval_ms: 300, ..Options::default() };
    let app = TestApp::spawn_with(options).await;
    let app = &app;
    join_all(ALL.map(|p| async move {
        let url = sandbox(app, p);

        // It takes the payment, then the answer is lost past the client's timeout.
        // (Its webhook may even come before the lost answer would have.)
        app.misbehave(url, json!({"scope": "global", "modes": [{"timeout_after_taking": 2000}]})).await;
        let (checkout, _) = pay(app, p).await;
        app.behave(url).await;
        if p == Provider::Scalapay {
            // The card page's address was in the lost answer: the order is found by our
            // reference, and no other is made while the customer has not paid.
            let c = app.wait_for(&checkout.id, WAIT, |c| c.attempts[0].provider_reference.is_some()).await;
            assert!(c.attempts[0].provider_reference.is_some(), "{p:?}: {c:?}");
            tokio::time::sleep(Duration::from_millis(1000)).await;
            assert_eq!(app.merchant_checkout(&checkout.id).await.attempts.len(), 1);
        } else {
            let c = paid(app, p, &checkout).await;
            assert_eq!(c.attempts.len(), 1, "{p:?}");
        }
        assert_eq!(sandbox_payments(app, p).await, 1, "{p:?}: one payment, never a second charge");

        // It answers 500 (then hangs) without taking it: the start is repeated, by the same
        // reference, once the provider answers again.
        for (n, mode) in [json!("error_500"), json!({"hang": 2000})].into_iter().enumerate() {
            app.misbehave(url, json!({"scope": "global", "modes": [mode]})).await;
            let (checkout, paying) = pay(app, p).await;
            assert!(paying.attempt.expect("an attempt").status.is_pending(), "{p:?}");
            assert_eq!(sandbox_payments(app, p).await, n + 1, "{p:?}: nothing taken yet");
            app.behave(url).await;
            customer_confirms(app, p, &checkout).await;
            let c = paid(app, p, &checkout).await;
            assert_eq!(c.attempts.len(), 1, "{p:?}");
            assert_eq!(sandbox_payments(app, p).await, n + 2, "{p:?}: one payment per checkout");
        }
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_is_stored_and_answered_before_it_is_processed_and_survives_a_restart() {
    // A verifier without its inbox worker: what it receives is stored and answered, only.
    let app = TestApp::spawn_with(Options { inbox_worker: false, ..quiet() }).await;
    let (checkout, _) = pay(&app, Provider::NovaSend).await;
    let all = notifications_until(&app, Provider::NovaSend, |n| !n.is_empty()).await;
    // Answered 2xx at the first try (the sandbox retries anything else), not processed.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let all_later = notifications(&app, Provider::NovaSend).await;
    assert_eq!(all_later.len(), 1, "{all_later:#?}");
    let stored = &all[0];
    assert_eq!((stored.state, stored.verified, stored.attempts), (NotificationState::Received, true, 0));
    assert!(stored.dedup_key.as_deref().is_some_and(|k| k.starts_with("sha256:")), "{stored:?}");
    assert_eq!(app.merchant_checkout(&checkout.id).await.status, CheckoutStatus::Processing);

    // "Restarted" with its worker on the same database: the stored notification is processed.
    let restarted = app.restart_with(quiet()).await;
    let c = paid(&restarted, Provider::NovaSend, &checkout).await;
    assert_eq!(c.id, checkout.id);
    let moves = succeeded_once(&restarted, Provider::NovaSend, &checkout).await;
    assert_eq!(moves.last().unwrap().1, format!("webhook:nova_send:{}", stored.id));
    let processed = notifications(&restarted, Provider::NovaSend).await.remove(0);
    assert_eq!((processed.id.as_str(), processed.state), (stored.id.as_str(), NotificationState::Processed));
    assert!(processed.processed_at_ms.is_some_and(|at| at >= processed.received_at_ms));
    assert_eq!(processed.outcome.as_deref(), Some("applied"));
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaviour_is_set_per_payment_and_reset() {
    let app = TestApp::spawn_with(Options { poll_interval_ms: 300, ..Options::default() }).await;
    let url = &app.novasend_url;
    app.misbehave(url, json!({"scope": {"phone": "+225 07 00 00 00 01"}, "modes": ["no_webhook"]})).await;
    let shown: Value =
        app.http.get(format!("{url}/_sandbox/misbehave")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown[0]["modes"], json!(["no_webhook"]), "{shown}");
    let r = app
        .http
        .post(format!("{url}/_sandbox/misbehave"))
        .json(&json!({"scope": "everywhere", "modes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The scoped number gets no webhook (paid by the status fetch); another number does.
    let (first, _) = pay(&app, Provider::NovaSend).await;
    paid(&app, Provider::NovaSend, &first).await;
    assert!(attempt_moves(&app, &first).await.iter().all(|m| !m.1.starts_with("webhook:")));
    let other = app.create_checkout(5000).await;
    let (status, _) = app
        .pay_raw(
            &other.id,
            other.client_secret.as_deref().unwrap(),
            json!({"provider": "nova_send", "method": "mobile_money", "phone": "0500000001"}),
        )
        .await;
    assert_eq!(status, 200);
    paid(&app, Provider::NovaSend, &other).await;
    let all = notifications_until(&app, Provider::NovaSend, |n| !n.is_empty()).await;
    // Stored with the phone number masked (`server/src/redact.rs`): its network and last digits.
    assert!(
        all.iter().all(|n| n.body.contains("+225 05 •• •• •• 01") && !n.body.contains("0500000001")),
        "{all:#?}"
    );
    assert!(!all.is_empty(), "the other number still gets its webhook");
    app.behave(url).await;
    let shown: Value =
        app.http.get(format!("{url}/_sandbox/misbehave")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_is_recovered_by_replaying_the_start_never_by_a_second_payment() {
    // The provider takes the payment and the answer is lost; it then knows no payment by our
    // reference (a status lookup by the merchant's reference answers 404) and sends no webhook.
    // NovaSend and CaurisFlux document `X-Idempotency-Key`: the start is replayed under the same
    // key, which gives back the payment it took. MyPVit refuses a reference it already holds
    // (TRANSACTION_REFERENCE_ALREADY_EXISTS). A 404 never starts a second payment.
    let options = Options { provider_timeout_ms: 1000, poll_interval_ms: 300, ..Options::default() };
    let app = TestApp::spawn_with(options).await;
    let app = &app;
    join_all([Provider::NovaSend, Provider::CaurisFlux, Provider::MyPvit].map(|p| async move {
        let url = sandbox(app, p);
        let blind = json!(["no_lookup_by_reference", "no_webhook"]);
        let mut lost = blind.clone();
        lost.as_array_mut().expect("modes").push(json!({"timeout_after_taking": 2000}));
        app.misbehave(url, json!({"scope": "global", "modes": lost})).await;
        let (checkout, paying) = pay(app, p).await;
        assert!(paying.attempt.expect("an attempt").status.is_pending(), "{p:?}");
        app.misbehave(url, json!({"scope": "global", "modes": blind})).await;
        if p == Provider::MyPvit {
            // Its reference is taken and it has no lookup by it: the attempt waits for the
            // payment's own outcome (its expiry at worst), and nothing is taken twice. Wait
            // until the reconciler has tried several times.
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let c = app.merchant_checkout(&checkout.id).await;
                let polls = app.attempt_polls(&c.attempts[0].id).await;
                if polls >= 3 || c.status == CheckoutStatus::Succeeded {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "{p:?}: the reconciler never asked: {c:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            let c = paid(app, p, &checkout).await;
            assert_eq!(c.attempts.len(), 1, "{p:?}");
        }
        assert_eq!(sandbox_payments(app, p).await, 1, "{p:?}: one payment, never a second charge");
    }))
    .await;
}

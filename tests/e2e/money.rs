//! What the provider reports is checked: a success whose amount, currency or reference is not
//! the attempt's never pays (the attempt goes to `review`, the merchant gets
//! `attempt.amount_mismatch`), and a checkout paid twice is never silent (`checkout.overpaid`,
//! a refund naming the attempt it gives back).
//!
//! Each provider's webhook is posted by the test itself, signed as the provider signs it with
//! the `hmac` crate (not with our adapters' code): NovaSend hex HMAC-SHA256 of the body in
//! `X-Signature-Value` (https://docs.novasend.app/, "Webhook"); CaurisFlux `sha256=` + hex
//! HMAC-SHA256 of `"<timestamp>.<body>"` (github.com/caurisflux/caurisflux-wp,
//! `includes/class-caurisflux-webhook.php`); Scalapay hex HMAC-SHA256 of
//! `"V1:<timestamp>:<body>"` keyed with the API key
//! (https://developers.scalapay.com/reference/messages-validation). MyPVit's callbacks only
//! trigger a status fetch, and a Scalapay capture's answer carries the currency: there the
//! sandbox misreports (its `report_other_*` modes).

use std::time::Duration;

use e2e::{CAURISFLUX_WEBHOOK_SECRET, MERCHANT_KEY, SCALAPAY_KEY, TestApp, WEBHOOK_SECRET};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use shared::{
    api::Checkout,
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

async fn events_of(app: &TestApp, checkout_id: &str, kind: &str) -> Vec<Value> {
    app.merchant_events(checkout_id).await.into_iter().filter(|e| e["type"] == kind).collect()
}

/// Waits until the checkout's only attempt is in review, then checks what the merchant sees:
/// the checkout not paid, the attempt with what was reported, one `attempt.amount_mismatch`
/// saying what was expected and what was reported. Returns that event's `mismatch`.
async fn assert_in_review(app: &TestApp, c: &Checkout, what: &str) -> Value {
    let seen = app
        .wait_for(&c.id, WAIT, |c| c.attempts.first().is_some_and(|a| a.status == AttemptStatus::Review))
        .await;
    let attempt = seen.attempts.first().expect("an attempt");
    assert_eq!(attempt.status, AttemptStatus::Review, "{what}: {seen:?}");
    assert_eq!(seen.status, CheckoutStatus::Processing, "{what}: the checkout is not paid");
    assert!(attempt.reported.is_some(), "{what}: the API shows what was reported");
    let mismatches = events_of(app, &c.id, "attempt.amount_mismatch").await;
    assert_eq!(mismatches.len(), 1, "{what}: {mismatches:?}");
    assert!(events_of(app, &c.id, "checkout.succeeded").await.is_empty(), "{what}");
    let data = &mismatches[0]["payload"]["data"];
    assert_eq!(data["attempt"]["id"], attempt.id.as_str());
    assert_eq!(data["attempt"]["status"], "review");
    assert_eq!(data["mismatch"]["expected"]["amount"], c.amount);
    assert_eq!(data["mismatch"]["expected"]["currency"], c.currency.code());
    data["mismatch"].clone()
}

// --- NovaSend -------------------------------------------------------------------------------

async fn post_novasend(app: &TestApp, record: &Value) {
    let body = serde_json::to_vec(record).unwrap();
    let r = app
        .http
        .post(format!("{}/webhooks/nova_send", app.url))
        .header("content-type", "application/json")
        .header("X-Signature-Value", hmac_hex(WEBHOOK_SECRET, &[&body]))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a correctly signed NovaSend webhook is taken");
}

/// A NovaSend session payin waiting for the customer (a number without a test ending), and
/// what the sandbox holds about it: (NovaSend's reference, ours).
async fn novasend_waiting(app: &TestApp, amount: u64, phone: &str) -> (Checkout, String, String) {
    let c = app.create_checkout(amount).await;
    let (status, body) =
        app.pay_raw(&c.id, &secret(&c), json!({"method": "mobile_money", "phone": phone})).await;
    assert_eq!(status, 200, "{body}");
    let seen = app
        .wait_for(&c.id, WAIT, |c| c.attempts.first().is_some_and(|a| a.provider_reference.is_some()))
        .await;
    let theirs = seen.attempts[0].provider_reference.clone().expect("NovaSend's reference");
    let payins = app.sandbox_payins().await.unwrap();
    let ours = payins
        .iter()
        .find(|p| p["reference"] == theirs.as_str())
        .and_then(|p| p["customerReference"].as_str())
        .expect("the sandbox holds the payin")
        .to_owned();
    (c, theirs, ours)
}

/// The status record of NovaSend's "Statut d'un paiement" example (https://docs.novasend.app/,
/// `GET /v1/payin/{reference}`), completed, with the references and amounts given.
fn novasend_completed(theirs: &str, ours: &str, amount: u64, processed: &str, currency: &str) -> Value {
    json!({
        "type": "payin", "fee": 6, "reference": theirs, "phoneNumber": "+2250749929598",
        "customerName": "Habib", "amount": amount, "chargedAmount": amount + 6, "status": "processed",
        "currency": "XOF", "customerReference": ours, "confirmationRequired": true,
        "confirmationStatus": "accepted", "createdAt": "2025-08-22T02:00:16.026Z",
        "transaction": {
            "reference": "tr_dkjd5ljficphlqmt", "status": "completed", "customerName": "dd soûl",
            "processedAt": "2025-11-05T16:12:42.096Z", "phoneNumber": "+2250153013761",
            "amount": processed, "fees": "0.00", "chargedAmount": processed, "currency": currency
        },
        "failure": null
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn novasend_success_with_another_amount_currency_or_reference_does_not_pay() {
    let app = TestApp::spawn().await;

    // NovaSend's own example: a 300 XOF payin whose transaction processed "153.00".
    let (c, theirs, ours) = novasend_waiting(&app, 300, "0707123456").await;
    post_novasend(&app, &novasend_completed(&theirs, &ours, 300, "153.00", "XOF")).await;
    let m = assert_in_review(&app, &c, "amount").await;
    assert_eq!(m["reported"]["amount"], 153);
    assert_eq!(m["expected"]["reference"], ours.as_str());

    let (c, theirs, ours) = novasend_waiting(&app, 5000, "0707123457").await;
    post_novasend(&app, &novasend_completed(&theirs, &ours, 5000, "5000.00", "XAF")).await;
    let m = assert_in_review(&app, &c, "currency").await;
    assert_eq!(m["reported"]["currency"], "XAF");

    // Our reference echoed wrong: the payin is found by NovaSend's reference and not paid.
    let (c, theirs, _) = novasend_waiting(&app, 5000, "0707123458").await;
    post_novasend(&app, &novasend_completed(&theirs, "someone-else", 5000, "5000.00", "XOF")).await;
    let m = assert_in_review(&app, &c, "reference").await;
    assert_eq!(m["reported"]["reference"], "someone-else");

    // An amount that is no number is a mismatch too, not a crash.
    let (c, theirs, ours) = novasend_waiting(&app, 5000, "0707123459").await;
    post_novasend(&app, &novasend_completed(&theirs, &ours, 5000, "5 000,00", "XOF")).await;
    let m = assert_in_review(&app, &c, "unreadable amount").await;
    assert_eq!(m["reported"]["unreadable_amount"], "5 000,00");
}

// --- CaurisFlux -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn caurisflux_success_with_another_amount_currency_or_reference_does_not_pay() {
    let app = TestApp::spawn().await;
    for (what, amount, currency, reference) in [
        ("amount", 4000, "XOF", None),
        ("currency", 5000, "XAF", None),
        ("reference", 5000, "XOF", Some("another-order")),
    ] {
        let c = app.create_checkout(5000).await;
        // A number without a trigger: the payment waits for the customer.
        let (status, body) = app
            .pay_raw(
                &c.id,
                &secret(&c),
                json!({"provider": "cauris_flux", "method": "orange_money", "phone": "07 07 12 34 56"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let payments = app.caurisflux_payments().await.unwrap();
        let payment = payments.last().expect("the sandbox holds the payment");
        let ours = payment["externalReference"].as_str().unwrap();
        let tx = payment["transactionId"].as_str().unwrap();
        let body = serde_json::to_vec(&json!({"event": "payment.success", "data": {
            "transactionId": tx, "externalReference": reference.unwrap_or(ours), "status": "success",
            "amount": amount, "currency": currency}}))
        .unwrap();
        let ts =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
        let signature =
            format!("sha256={}", hmac_hex(CAURISFLUX_WEBHOOK_SECRET, &[ts.as_bytes(), b".", &body]));
        let r = app
            .http
            .post(format!("{}/webhooks/cauris_flux", app.url))
            .header("content-type", "application/json")
            .header("x-webhook-signature", signature)
            .header("x-webhook-timestamp", ts)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let m = assert_in_review(&app, &c, what).await;
        match what {
            "amount" => assert_eq!(m["reported"]["amount"], 4000),
            "currency" => assert_eq!(m["reported"]["currency"], "XAF"),
            _ => assert_eq!(m["reported"]["reference"], "another-order"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caurisflux_success_without_an_amount_is_confirmed_by_the_status_first() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(
            &c.id,
            &secret(&c),
            json!({"provider": "cauris_flux", "method": "orange_money", "phone": "07 07 12 34 56"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let payments = app.caurisflux_payments().await.unwrap();
    let payment = payments.last().expect("the sandbox holds the payment");
    // Signed, explicit, but silent on the money: CaurisFlux's status is asked, and it says the
    // payment still waits for its customer.
    let body = serde_json::to_vec(&json!({"event": "payment.success", "data": {
        "transactionId": payment["transactionId"], "externalReference": payment["externalReference"],
        "status": "success"}}))
    .unwrap();
    let ts =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let signature = format!("sha256={}", hmac_hex(CAURISFLUX_WEBHOOK_SECRET, &[ts.as_bytes(), b".", &body]));
    let r = app
        .http
        .post(format!("{}/webhooks/cauris_flux", app.url))
        .header("content-type", "application/json")
        .header("x-webhook-signature", signature)
        .header("x-webhook-timestamp", ts)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    let processed = loop {
        let all = app.notifications().await;
        let mine = all.into_iter().find(|n| n.verified && n.body.contains("payment.success"));
        if let Some(n) = mine.filter(|n| n.outcome.is_some()) {
            break n;
        }
        assert!(tokio::time::Instant::now() < deadline, "the notification was never processed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(processed.outcome.as_deref(), Some("fetched"), "{processed:?}");
    let seen = app.merchant_checkout(&c.id).await;
    assert_eq!(seen.status, CheckoutStatus::Processing, "not paid on the webhook's word alone");
    assert_eq!(seen.attempts[0].status, AttemptStatus::AwaitingCustomer);
}

// --- Scalapay -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn scalapay_success_with_another_amount_or_reference_does_not_pay() {
    let app = TestApp::spawn().await;
    // Scalapay's webhook `totalAmount` is a bare number in the order's currency
    // (https://developers.scalapay.com/reference/wehook-data-model): a currency is checked on
    // the order's details instead (`totalAmount.currency`), which the sandbox answers right.
    for (what, total, reference) in [("amount", "189.99", None), ("reference", "190", Some("another-order"))]
    {
        let c = app.create_eur_checkout(19_000, "https://shop.example/back").await;
        let (status, body) = app.pay_raw(&c.id, &secret(&c), json!({"method": "card"})).await;
        assert_eq!(status, 200, "{body}");
        let seen = app.merchant_checkout(&c.id).await;
        let token = seen.attempts[0].provider_reference.clone().expect("the order's token");
        let orders = app.scalapay_orders().await.unwrap();
        let order =
            orders.iter().find(|o| o["token"] == token.as_str()).expect("the sandbox holds the order");
        let ours = order["orderDetails"]["merchantReference"].as_str().unwrap();
        let body = format!(
            r#"{{"merchantReference":"{}","totalAmount":{total},"status":"charged","orderToken":"{token}"}}"#,
            reference.unwrap_or(ours)
        );
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        let signature = hmac_hex(SCALAPAY_KEY, &[b"V1:", ts.as_bytes(), b":", body.as_bytes()]);
        let r = app
            .http
            .post(format!("{}/webhooks/scalapay", app.url))
            .header("content-type", "application/json")
            .header("x-scalapay-hmac-v1", signature)
            .header("x-scalapay-timestamp", ts)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let m = assert_in_review(&app, &c, what).await;
        match what {
            "amount" => assert_eq!(m["reported"]["amount"], 18_999),
            _ => assert_eq!(m["reported"]["reference"], "another-order"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scalapay_capture_reported_in_another_currency_does_not_pay() {
    // The customer pays on Scalapay's card page; the verifier captures, and the capture's answer
    // (and the payment details) report the total in another currency (the sandbox's
    // `report_other_currency` mode: a provider misreporting what it took).
    let app = TestApp::spawn().await;
    app.misbehave(&app.scalapay_url, json!({"scope": "global", "modes": ["report_other_currency"]})).await;
    let c = app.create_eur_checkout(19_000, "https://shop.example/back").await;
    let (status, body) = app.pay_raw(&c.id, &secret(&c), json!({"method": "card"})).await;
    assert_eq!(status, 200, "{body}");
    let url = body["attempt"]["payment_url"].as_str().expect("Scalapay's page").to_owned();
    let (status, _) = app.pay_on_scalapay_page(&url, "5200 8282 8282 8210").await;
    assert_eq!(status, 303);
    let m = assert_in_review(&app, &c, "currency").await;
    assert_eq!(m["reported"]["currency"], "USD");
    assert_eq!(m["reported"]["amount"], 19_000, "only the currency differs");
}

// --- MyPVit (its callbacks only trigger a status fetch: the status is what misreports) -------

#[tokio::test(flavor = "multi_thread")]
async fn mypvit_success_with_another_amount_or_reference_does_not_pay() {
    let app = TestApp::spawn_with(e2e::Options { poll_interval_ms: 300, ..e2e::Options::default() }).await;
    for (mode, what) in [("report_other_amount", "amount"), ("report_other_reference", "reference")] {
        app.misbehave(&app.mypvit_url, json!({"scope": "global", "modes": [mode]})).await;
        let c = app.create_checkout_in(1000, "XAF", shared::phone::Country::Ga).await;
        let (status, body) = app
            .pay_raw(
                &c.id,
                &secret(&c),
                json!({"provider": "my_pvit", "method": "airtel_money", "phone": "077416546"}),
            )
            .await;
        assert_eq!(status, 200, "{what}: {body}");
        let m = assert_in_review(&app, &c, what).await;
        match what {
            "amount" => assert_eq!(m["reported"]["amount"], 999),
            _ => assert_ne!(m["reported"]["reference"], m["expected"]["reference"]),
        }
        app.behave(&app.mypvit_url).await;
    }
}

// --- Paid twice -----------------------------------------------------------------------------

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
async fn a_checkout_paid_twice_tells_the_merchant_and_refunds_the_attempt_named() {
    let app = TestApp::spawn().await;
    // The first attempt waits for the customer, who then declines it (on NovaSend's page);
    // the second is paid.
    let (c, theirs, ours) = novasend_waiting(&app, 5000, "0707123460").await;
    let mut declined = novasend_completed(&theirs, &ours, 5000, "5000.00", "XOF");
    declined["confirmationStatus"] = json!("declined");
    declined["transaction"]["status"] = json!("failed");
    post_novasend(&app, &declined).await;
    let open = app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Open).await;
    assert_eq!(open.attempts[0].status, AttemptStatus::Failed);
    let first = open.attempts[0].id.clone();

    let (status, body) =
        app.pay_raw(&c.id, &secret(&c), json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert_eq!(status, 200, "{body}");
    let paid = app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(paid.status, CheckoutStatus::Succeeded);
    let second = paid.attempts[1].id.clone();

    // NovaSend then reverses the first attempt's failure (its refund rules document late
    // failed → success reversals): the customer has paid twice.
    post_novasend(&app, &novasend_completed(&theirs, &ours, 5000, "5000.00", "XOF")).await;
    let both =
        app.wait_for(&c.id, WAIT, |c| c.attempts.iter().all(|a| a.status == AttemptStatus::Succeeded)).await;
    assert!(both.attempts.iter().all(|a| a.status == AttemptStatus::Succeeded), "{both:?}");
    assert_eq!(both.status, CheckoutStatus::Succeeded, "the checkout stays paid");
    let overpaid = events_of(&app, &c.id, "checkout.overpaid").await;
    assert_eq!(overpaid.len(), 1, "{overpaid:?}");
    let data = &overpaid[0]["payload"]["data"];
    assert_eq!(data["attempt"]["id"], first.as_str(), "the late payment");
    let named: Vec<&str> =
        data["paid_attempts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(named, [first.as_str(), second.as_str()]);
    assert_eq!(
        events_of(&app, &c.id, "checkout.succeeded").await.len(),
        1,
        "paid once as far as the checkout goes"
    );

    // The merchant gives the second payment back by naming it; the cap is that attempt's.
    let (status, body) = refund(&app, &c.id, json!({"attempt_id": second, "amount": 5001})).await;
    assert_eq!(status, 400, "more than the attempt paid: {body}");
    let (status, body) = refund(&app, &c.id, json!({"attempt_id": "at_nobody"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = refund(&app, &c.id, json!({"attempt_id": second, "reason": "paid twice"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["amount"], 5000);
    assert_eq!(body["attempt_id"], second.as_str());
    let after = app.merchant_checkout(&c.id).await;
    assert_eq!(after.status, CheckoutStatus::PartiallyRefunded, "one of two payments went back");
    // Nothing is left of the second attempt.
    let (status, body) = refund(&app, &c.id, json!({"attempt_id": second})).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_paid_once_is_not_overpaid() {
    let app = TestApp::spawn().await;
    let c = app.paid_checkout(5000).await;
    assert!(events_of(&app, &c.id, "checkout.overpaid").await.is_empty());
    assert!(events_of(&app, &c.id, "attempt.amount_mismatch").await.is_empty());
    let seen = app.merchant_checkout(&c.id).await;
    let reported = seen.attempts[0].reported.clone().expect("NovaSend reports the amount");
    assert_eq!(reported.amount, Some(5000));
}

//! MyPVit end to end, over real HTTP: a Gabonese checkout paid with Airtel Money or Moov Money
//! through the widget's public API, the sandbox's asynchronous outcome (the document's rule: up to
//! 1000 XAF succeeds, above fails), the unsigned callback that only makes the verifier ask for
//! the status, and callbacks refused for their sender or path.

use std::time::Duration;

use e2e::{MYPVIT_TOKEN, Options, TestApp};
use shared::{
    api::{Checkout, PublicCheckout},
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

async fn settled(app: &TestApp, id: &str) -> Checkout {
    app.wait_for(id, WAIT, |c| c.attempts.last().is_some_and(|a| !a.status.is_pending())).await
}

fn callback_url(app: &TestApp, token: &str) -> String {
    format!("{}/webhooks/my_pvit/{token}", app.url)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_airtel_money_payment_goes_from_checkout_to_verified_success() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(1000, "XAF", shared::phone::Country::Ga).await;
    let secret = secret(&checkout);
    assert_eq!(checkout.country, shared::phone::Country::Ga);

    // The widget is offered MyPVit's two wallets for Gabon (beside CaurisFlux's).
    let public = app.public_checkout(&checkout.id, &secret).await;
    let offered: Vec<_> = public
        .methods
        .iter()
        .filter(|m| m.provider == Provider::MyPvit)
        .map(|m| (m.method, m.provider))
        .collect();
    assert_eq!(
        offered,
        vec![(PaymentMethod::AirtelMoney, Provider::MyPvit), (PaymentMethod::MoovMoney, Provider::MyPvit)]
    );

    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"provider": "my_pvit", "method": "airtel_money", "phone": "077 41 65 46"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let paying: PublicCheckout = serde_json::from_value(body).unwrap();
    assert_eq!(paying.attempt.expect("an attempt").status, AttemptStatus::AwaitingCustomer);

    // The sandbox settles after the customer's delay and calls back; the verifier fetches.
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    let a = &c.attempts[0];
    assert_eq!((a.provider, a.method), (Provider::MyPvit, PaymentMethod::AirtelMoney));
    assert_eq!(a.status, AttemptStatus::Succeeded);
    assert_eq!(a.phone.as_deref(), Some("+24177416546"));
    let id = a.provider_reference.clone().expect("MyPVit's id");
    assert!(id.starts_with("PAY"), "{id}");

    // MyPVit charged exactly the checkout's amount, once, and got its acknowledgement.
    let deadline = tokio::time::Instant::now() + WAIT;
    let t = loop {
        let all = app.mypvit_transactions().await.unwrap();
        assert_eq!(all.len(), 1);
        if all[0]["callback_acknowledged"] == true || tokio::time::Instant::now() > deadline {
            break all[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(t["reference_id"], id.as_str());
    assert_eq!(t["amount"], 1000);
    assert_eq!(t["customer_account_number"], "077416546");
    assert_eq!(t["operator"], "AIRTEL_MONEY");
    assert_eq!(t["callback_acknowledged"], true, "{t}");

    // The success is the status MyPVit gave when asked, not the callback's word.
    let history = app.history(&checkout.id).await;
    assert_eq!(history.last().unwrap()["to"], "succeeded");
    assert_eq!(history.last().unwrap()["cause"], "poll:my_pvit");
}

#[tokio::test(flavor = "multi_thread")]
async fn above_1000_xaf_the_payment_fails_and_the_checkout_reopens() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(1500, "XAF", shared::phone::Country::Ga).await;
    let secret = secret(&checkout);
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"provider": "my_pvit", "method": "moov_money", "phone": "066820866"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let c = settled(&app, &checkout.id).await;
    let a = c.attempts.last().unwrap();
    assert_eq!((a.status, a.failure), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    assert_eq!(c.status, CheckoutStatus::Open, "a failure reopens the checkout");
    let public = app.public_checkout(&checkout.id, &secret).await;
    assert_eq!(public.attempt.unwrap().action, Some(ErrorCode::PaymentRefused.action()));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_before_any_transaction_carry_their_catalogue_codes() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(800, "XAF", shared::phone::Country::Ga).await;
    let secret = secret(&checkout);
    for (method, number, code) in [
        // The sandbox's blocked customer.
        ("airtel_money", "077000090", ErrorCode::AccountUnavailable),
        // The sandbox's unknown customer.
        ("airtel_money", "074000092", ErrorCode::InvalidPhoneNumber),
        // A Moov number for Airtel Money.
        ("airtel_money", "066820866", ErrorCode::InvalidPhoneNumber),
    ] {
        let (status, body) = app
            .pay_raw(
                &checkout.id,
                &secret,
                serde_json::json!({"provider": "my_pvit", "method": method, "phone": number}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let c = settled(&app, &checkout.id).await;
        let a = c.attempts.last().unwrap();
        assert_eq!((a.status, a.failure), (AttemptStatus::Failed, Some(code)), "{number}");
    }
    assert!(app.mypvit_transactions().await.unwrap().is_empty(), "nothing reached a wallet");

    // And the customer can still pay.
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"provider": "my_pvit", "method": "moov_money", "phone": "+241 66 82 08 66"}),
        )
        .await;
    assert_eq!(status, 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    assert_eq!(c.attempts.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn mypvit_is_not_offered_at_150_xaf_or_outside_gabon() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout_in(150, "XAF", shared::phone::Country::Ga).await;
    let secret = secret(&checkout);
    let methods = app.public_checkout(&checkout.id, &secret).await.methods;
    assert!(methods.iter().all(|m| m.provider != Provider::MyPvit), "{methods:?}");
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret,
            serde_json::json!({"provider": "my_pvit", "method": "airtel_money", "phone": "077416546"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "method_unavailable");
    let cm = app.create_checkout_in(5000, "XAF", shared::phone::Country::Cm).await;
    let cm_secret = cm.client_secret.clone().expect("create returns the client secret");
    let methods = app.public_checkout(&cm.id, &cm_secret).await.methods;
    assert!(methods.iter().all(|m| m.provider != Provider::MyPvit), "{methods:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_callbacks_never_arrive_the_verifier_polls_mypvit() {
    let app = TestApp::spawn_with(Options {
        poll_interval_ms: 300,
        mypvit_callback_url_override: Some("http://127.0.0.1:9/nowhere".into()),
        ..Options::default()
    })
    .await;
    let checkout = app.create_checkout_in(500, "XAF", shared::phone::Country::Ga).await;
    let (status, _) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            serde_json::json!({"provider": "my_pvit", "method": "moov_money", "phone": "065123456"}),
        )
        .await;
    assert_eq!(status, 200);
    let c = app.wait_for(&checkout.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(c.status, CheckoutStatus::Succeeded);
    let t = &app.mypvit_transactions().await.unwrap()[0];
    assert_eq!(t["callback_acknowledged"], false, "the callback went nowhere");
    assert_eq!(app.history(&checkout.id).await.last().unwrap()["cause"], "poll:my_pvit");
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_off_the_secret_path_or_from_elsewhere_are_refused_and_forgeries_change_nothing() {
    let app = TestApp::spawn_with(Options { confirm_delay_ms: 1500, ..Options::default() }).await;
    let checkout = app.create_checkout_in(1500, "XAF", shared::phone::Country::Ga).await;
    let (status, body) = app
        .pay_raw(
            &checkout.id,
            &secret(&checkout),
            serde_json::json!({"provider": "my_pvit", "method": "airtel_money", "phone": "074416546"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = app.merchant_checkout(&checkout.id).await.attempts[0].provider_reference.clone().unwrap();
    let forged = serde_json::json!({
        "transactionId": id, "merchantReferenceId": "X", "status": "SUCCESS", "amount": 1500.0,
        "customerID": "074416546", "fees": 38.0, "totalAmount": 1538.0, "chargeOwner": "MERCHANT",
        "freeInfo": null, "transactionOperation": "PAYMENT", "code": 200,
        "callbackMediaType": "application/json", "operator": "AIRTEL_MONEY"
    });

    // No token, a wrong token, a token one character short.
    for url in [
        format!("{}/webhooks/my_pvit", app.url),
        callback_url(&app, "mp_token_e2e_WRONG"),
        callback_url(&app, &MYPVIT_TOKEN[..MYPVIT_TOKEN.len() - 1]),
    ] {
        let r = app.http.post(&url).json(&forged).send().await.unwrap();
        assert_eq!(r.status(), 401, "{url}");
    }
    // The right path, from an address that is not allowed (127.0.0.2 is loopback too).
    let stranger = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse::<std::net::IpAddr>().unwrap()))
        .build()
        .unwrap();
    let r = stranger.post(callback_url(&app, MYPVIT_TOKEN)).json(&forged).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(app.merchant_checkout(&checkout.id).await.attempts[0].status.is_pending());

    // From an allowed address on the secret path, a forged SUCCESS is acknowledged, but only
    // makes the verifier ask MyPVit, which says PENDING, then FAILED.
    let r = app.http.post(callback_url(&app, MYPVIT_TOKEN)).json(&forged).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ack: serde_json::Value = r.json().await.unwrap();
    assert_eq!(ack, serde_json::json!({"transactionId": id, "responseCode": 200}));
    assert_ne!(app.merchant_checkout(&checkout.id).await.status, CheckoutStatus::Succeeded);
    let c = settled(&app, &checkout.id).await;
    assert_eq!(c.attempts[0].status, AttemptStatus::Failed);
    assert_eq!(c.status, CheckoutStatus::Open);
    assert!(app.history(&checkout.id).await.iter().all(|h| h["to"] != "succeeded"));

    // An unreadable body on the secret path.
    let r = app.http.post(callback_url(&app, MYPVIT_TOKEN)).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
}

//! Each payment path in headless Chromium, on the verifier's hosted checkout page (the
//! payment link, served with its strict CSP): NovaSend push (declined, retried, paid once),
//! Wave by link, a card on Scalapay's page, CaurisFlux, MyPVit, Orange Money with its one-time
//! code, and the status arriving by polling when server-sent events are blocked. axe-core
//! audits every screen.

use std::time::Duration;

use e2e::{
    Options, TestApp,
    browser::{Browser, WAIT, assert_accessible, widget_find, widget_text, widget_wait},
};
use fantoccini::{Client, Locator};
use shared::{
    api::Checkout,
    phone::Country,
    status::{AttemptStatus, CheckoutStatus},
};

/// The element the hosted page mounts the widget in.
const HOST: &str = "#checkout";

fn hosted_url(c: &Checkout) -> &str {
    c.hosted_url.as_deref().expect("the create response carries the payment link")
}

async fn open(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    screen(c, "form").await;
}

async fn screen(c: &Client, name: &str) {
    widget_wait(c, HOST, &format!(".ckw[data-screen={name}]"), WAIT).await.unwrap();
}

async fn choose(c: &Client, method: &str) {
    let radio = widget_wait(c, HOST, &format!("input[name=method][value={method}]"), WAIT).await.unwrap();
    radio.click().await.unwrap();
}

async fn type_into(c: &Client, name: &str, text: &str) {
    let input = widget_wait(c, HOST, &format!("input[name={name}]"), WAIT).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn pay(c: &Client) {
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
}

/// Waits until the provider's page has answered the form whose button is `button` (the page
/// that comes back has no such button): closing the tab earlier could cancel the submission.
async fn answered(c: &Client, button: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.find(Locator::Css(button)).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the provider's page never answered {button}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Pays `checkout` by `method` with `phone` on its hosted page and waits for "paid".
async fn pay_by_push(c: &Client, checkout: &Checkout, method: &str, phone: &str) {
    open(c, hosted_url(checkout)).await;
    choose(c, method).await;
    type_into(c, "phone", phone).await;
    pay(c).await;
    screen(c, "paid").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_push_is_explained_retried_and_charged_once_on_the_hosted_page() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.clone().unwrap();
    assert_eq!(hosted_url(&checkout), format!("{}/pay/{}#{secret}", app.url, checkout.id));
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;

    // The page loads the widget under its own strict CSP (the proof that its lines suffice).
    open(c, hosted_url(&checkout)).await;
    let title = c.title().await.unwrap();
    assert!(title.contains("Boutique Test"), "{title}");
    assert!(widget_text(c, HOST).await.unwrap().contains("Boutique Test"));
    assert_accessible(c, "form").await;

    // A number too short: explained, nothing sent.
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 07 12").await;
    pay(c).await;
    widget_wait(c, HOST, ".ckw-error", WAIT).await.expect("the number is explained");
    assert_accessible(c, "form with an error").await;
    assert!(app.merchant_checkout(&checkout.id).await.attempts.is_empty());

    // The customer declines on the phone: a message and a way to try again.
    type_into(c, "phone", "07 00 00 00 02").await;
    pay(c).await;
    screen(c, "failed").await;
    let failed = widget_find(c, HOST, ".ckw").await.unwrap();
    assert_eq!(failed.attr("data-attempt-status").await.unwrap().as_deref(), Some("failed"));
    let status = widget_find(c, HOST, ".ckw-status[aria-live]").await.unwrap().text().await.unwrap();
    assert!(!status.trim().is_empty(), "the failure is said in words");
    assert_accessible(c, "failed").await;

    widget_find(c, HOST, ".ckw-retry").await.unwrap().click().await.unwrap();
    screen(c, "form").await;
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 00 00 00 01").await;
    pay(c).await;
    screen(c, "paid").await;
    assert_accessible(c, "paid").await;

    // One failed attempt, one paid, and only one payin completed at the provider.
    let seen = app.merchant_checkout(&checkout.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    let statuses: Vec<_> = seen.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [AttemptStatus::Failed, AttemptStatus::Succeeded]);
    let payins = app.sandbox_payins().await.unwrap();
    assert_eq!(payins.len(), 2, "one payin per attempt: {payins:#?}");

    // A reload shows the same outcome, from the server.
    c.refresh().await.unwrap();
    screen(c, "paid").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wave_by_link_and_caurisflux_each_pay_in_the_browser() {
    // The customer takes their time on the provider's page.
    let app = TestApp::spawn_with(Options { expire_after_ms: 60_000, ..Options::default() }).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;

    // Wave through NovaSend: the customer pays on the provider's page, opened from the link.
    let wave = app.create_checkout(2_500).await;
    open(c, hosted_url(&wave)).await;
    choose(c, "wave").await;
    type_into(c, "phone", "07 12 34 56 78").await;
    pay(c).await;
    screen(c, "waiting").await;
    // On this (non-touch) screen, the QR code the verifier draws fills its box as an image (a
    // `data:` URL, no markup put into the page), and stays there while the countdown re-renders
    // the screen.
    let qr = widget_wait(c, HOST, ".ckw-qr img", WAIT).await.unwrap();
    let src = qr.attr("src").await.unwrap().unwrap_or_default();
    assert!(src.starts_with("data:image/svg+xml,%3Csvg"), "{src}");
    assert!(src.contains("%3Cpath") && !src.contains('<'), "{src}");
    let alt = qr.attr("alt").await.unwrap().unwrap_or_default();
    assert!(
        ["Code QR de la page de paiement", "QR code of the payment page"].contains(&alt.as_str()),
        "{alt}"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    let drawn = || async {
        let width =
            c.execute("return arguments[0].naturalWidth;", vec![serde_json::to_value(&qr).unwrap()]).await;
        width.unwrap().as_u64().unwrap_or(0) > 0
    };
    while !drawn().await {
        assert!(tokio::time::Instant::now() < deadline, "the QR image was not drawn");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(widget_find(c, HOST, ".ckw-qr svg").await.is_err(), "no SVG markup in the page");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    widget_wait(c, HOST, ".ckw-qr img", WAIT).await.unwrap();
    assert_accessible(c, "waiting").await;
    let link = widget_wait(c, HOST, "a.ckw-link", WAIT).await.unwrap().attr("href").await.unwrap().unwrap();
    assert!(link.starts_with(&app.novasend_url), "{link}");
    let widget_window = c.window().await.unwrap();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(&link).await.unwrap();
    c.find(Locator::Css("#accept")).await.unwrap().click().await.unwrap();
    answered(c, "#accept").await;
    c.close_window().await.unwrap();
    c.switch_to_window(widget_window).await.unwrap();
    screen(c, "paid").await;
    assert_eq!(app.merchant_checkout(&wave.id).await.status, CheckoutStatus::Succeeded);

    // CaurisFlux: Senegal, where NovaSend does not go; a number ending in 01 confirms.
    let sn = app.create_checkout_in(3_000, "XOF", Country::Sn).await;
    pay_by_push(c, &sn, "orange_money", "77 000 00 01").await;
    let seen = app.merchant_checkout(&sn.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.attempts[0].provider, shared::method::Provider::CaurisFlux);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mypvit_pays_airtel_money_in_the_browser() {
    // Without CaurisFlux, Gabon's Airtel Money goes to MyPVit (the widget names no provider).
    let app = TestApp::spawn_with(Options { without_caurisflux: true, ..Options::default() }).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    let ga = app.create_checkout_in(500, "XAF", Country::Ga).await;
    pay_by_push(c, &ga, "airtel_money", "077 41 65 46").await;
    let seen = app.merchant_checkout(&ga.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.attempts[0].provider, shared::method::Provider::MyPvit);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gabon_airtel_reaches_mypvit_beside_caurisflux_with_the_demo_s_routing() {
    // Both CaurisFlux and MyPVit offer Gabon's Airtel Money; the widget names no provider and
    // the demo's `[routing]` prefers MyPVit (`cargo xtask demo`'s configuration).
    let rule = |method| server::routing::RoutingRule {
        method,
        country: Country::Ga,
        prefer: Some(shared::method::Provider::MyPvit),
        weights: Default::default(),
    };
    let routing = server::routing::RoutingSettings {
        rules: vec![
            rule(shared::method::PaymentMethod::AirtelMoney),
            rule(shared::method::PaymentMethod::MoovMoney),
        ],
        ..Default::default()
    };
    let app = TestApp::spawn_with(Options { routing, ..Options::default() }).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    // MyPVit's sandbox: up to 1 000 XAF succeeds (README, test numbers).
    let ga = app.create_checkout_in(1_000, "XAF", Country::Ga).await;
    pay_by_push(c, &ga, "airtel_money", "074 41 65 46").await;
    let seen = app.merchant_checkout(&ga.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.attempts.len(), 1);
    assert_eq!(seen.attempts[0].provider, shared::method::Provider::MyPvit);
    assert!(app.caurisflux_payments().await.unwrap().is_empty(), "CaurisFlux was not asked");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orange_money_asks_for_the_one_time_code_and_pays() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    let checkout = app.create_checkout(4_000).await;
    open(c, hosted_url(&checkout)).await;
    choose(c, "orange_money").await;
    type_into(c, "phone", "07 00 00 00 01").await;
    type_into(c, "otp", "123456").await;
    assert_accessible(c, "form with the one-time code").await;
    pay(c).await;
    screen(c, "paid").await;
    let seen = app.merchant_checkout(&checkout.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.attempts[0].method, shared::method::PaymentMethod::OrangeMoney);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_arrives_by_polling_when_server_sent_events_are_blocked() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    let checkout = app.create_checkout(5_000).await;
    open(c, hosted_url(&checkout)).await;
    // As a proxy that refuses event streams would: every EventSource gets a 404 instead.
    c.execute(
        "const Real = window.EventSource;
         window.__blockedStreams = 0;
         function Blocked(url, options) {
           window.__blockedStreams += 1;
           return new Real(String(url).replace('/events', '/events-blocked'), options);
         }
         Blocked.prototype = Real.prototype;
         window.EventSource = Blocked;",
        vec![],
    )
    .await
    .unwrap();
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 00 00 00 01").await;
    pay(c).await;
    screen(c, "paid").await;
    let blocked = c.execute("return window.__blockedStreams;", vec![]).await.unwrap();
    assert!(blocked.as_u64().unwrap_or(0) >= 1, "the widget tried the event stream first: {blocked}");
    assert_eq!(
        app.wait_for(&checkout.id, Duration::from_secs(5), |c| c.status == CheckoutStatus::Succeeded)
            .await
            .status,
        CheckoutStatus::Succeeded
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_pays_on_scalapay_s_page_and_the_widget_shows_paid() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    let checkout = app.create_eur_checkout(12_000, "https://shop.example/orders/1").await;
    open(c, hosted_url(&checkout)).await;
    choose(c, "card").await;
    pay(c).await;
    screen(c, "waiting").await;
    assert_accessible(c, "waiting for the card page").await;
    let link = widget_wait(c, HOST, "a.ckw-link", WAIT).await.unwrap().attr("href").await.unwrap().unwrap();
    assert!(link.starts_with(&app.scalapay_url), "{link}");

    // The customer fills Scalapay's card page in another tab with Scalapay's documented test card.
    let widget_window = c.window().await.unwrap();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(&link).await.unwrap();
    for (name, value) in [("card_number", "5200 8282 8282 8210"), ("expiry", "12/30"), ("cvv", "123")] {
        c.find(Locator::Css(&format!("input[name={name}]"))).await.unwrap().send_keys(value).await.unwrap();
    }
    c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
    answered(c, "#pay").await;
    c.close_window().await.unwrap();
    c.switch_to_window(widget_window).await.unwrap();

    // Back on the widget: the live status says paid (authorised, then captured).
    screen(c, "paid").await;
    let seen = app.merchant_checkout(&checkout.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.amount, 12_000);
    assert_eq!(seen.attempts.len(), 1);
    assert_eq!(seen.attempts[0].provider, shared::method::Provider::Scalapay);
    assert_eq!(app.scalapay_orders().await.unwrap().len(), 1);
    browser.close().await;
}

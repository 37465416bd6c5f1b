//! The waiting screen in headless Chromium, on the verifier's hosted page: what each kind of
//! payment asks of the customer (a link payment's page as the main button, a push payment's
//! own operator menu, none for a payment made with a one-time code), the attempt's own countdown, the way out ("Cancel", "Change number"),
//! the USSD code on one line at 320 px, and the Pay button above the fold at 1280×800. axe-core
//! audits every waiting screen.

use e2e::{
    Options, TestApp,
    browser::{
        Browser, WAIT, assert_accessible, viewport, widget_box, widget_find, widget_text, widget_wait,
    },
};
use fantoccini::Client;
use shared::{
    api::Checkout,
    catalogue::ErrorCode,
    status::{AttemptStatus, CheckoutStatus},
};

/// The element the hosted page mounts the widget in.
const HOST: &str = "#checkout";
/// A number that waits for the customer (Accept or Decline on the sandbox's page).
const WAITS: &str = "07 07 12 34 56";

/// A verifier whose sandboxes wait 2 minutes for the customer, as the demo's do.
async fn app() -> TestApp {
    TestApp::spawn_with(Options { expire_after_ms: 120_000, ..Options::default() }).await
}

async fn screen(c: &Client, name: &str) {
    widget_wait(c, HOST, &format!(".ckw[data-screen={name}]"), WAIT).await.unwrap();
}

async fn type_into(c: &Client, name: &str, text: &str) {
    let input = widget_wait(c, HOST, &format!("input[name={name}]"), WAIT).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// `checkout`'s hosted page in French (`?locale=fr`), whatever the browser's language.
fn french(checkout: &Checkout) -> String {
    let (page, secret) = checkout.hosted_url.as_deref().unwrap().split_once('#').unwrap();
    format!("{page}?locale=fr#{secret}")
}

/// Opens `checkout`'s hosted page (in French) and pays by `method` with `phone`, up to the
/// waiting screen.
async fn start(c: &Client, checkout: &Checkout, method: &str, phone: &str) {
    c.goto(&french(checkout)).await.unwrap();
    screen(c, "form").await;
    widget_wait(c, HOST, &format!("input[name=method][value={method}]"), WAIT)
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(c, "phone", phone).await;
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
    screen(c, "waiting").await;
}

/// The seconds the countdown shows (`m:ss`), once the clock ticked.
async fn countdown_secs(c: &Client) -> u64 {
    let text = widget_wait(c, HOST, ".ckw-countdown span", WAIT).await.unwrap().text().await.unwrap();
    let (m, s) = text.trim().split_once(':').unwrap_or_else(|| panic!("m:ss, not {text:?}"));
    m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_payment_is_one_main_button_and_no_operator_code() {
    let app = app().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    // Wave, and mobile money on NovaSend's page, with an Orange number: still no Orange menu.
    for method in ["wave", "mobile_money"] {
        let checkout = app.create_checkout(5_000).await;
        start(c, &checkout, method, WAITS).await;
        let button = widget_box(c, HOST, "a.ckw-open").await.unwrap().expect("the page as the main button");
        let screen_box = widget_box(c, HOST, ".ckw-waiting").await.unwrap().unwrap();
        assert!(button.height >= 44.0, "{method}: a button a thumb can hit: {button:?}");
        assert!((button.width - screen_box.width).abs() < 1.0, "{method}: full width: {button:?}");
        let href = widget_find(c, HOST, "a.ckw-open").await.unwrap().attr("href").await.unwrap().unwrap();
        assert!(href.starts_with(&app.novasend_url), "{href}");
        assert!(widget_find(c, HOST, ".ckw-ussd").await.is_err(), "{method}: no USSD code");
        let text = widget_text(c, HOST).await.unwrap();
        assert!(!text.contains("#144#") && !text.contains("*133#") && !text.contains("Composez"), "{text}");
        // On a computer, its QR code too.
        widget_wait(c, HOST, ".ckw-qr img", WAIT).await.unwrap();
        assert_accessible(c, &format!("waiting ({method}, a link)")).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_shows_its_own_operators_code_on_one_line_and_the_attempts_countdown() {
    let app = app().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    // Orange Money pushed by CaurisFlux (NovaSend's Orange Money takes a one-time code the
    // customer generated: no prompt to wait for), started by the API and resumed by the page;
    // then MTN MoMo through the form. Each shows its own operator's menu.
    for (method, phone, code) in [("orange_money", WAITS, "#144#"), ("mtn_momo", "05 05 12 34 56", "*133#")] {
        let checkout = app.create_checkout(5_000).await;
        viewport(c, 420, 900, false).await.unwrap();
        if method == "orange_money" {
            let secret = checkout.client_secret.clone().unwrap();
            let body = serde_json::json!({"method": method, "phone": phone, "provider": "cauris_flux"});
            let (status, answer) = app.pay_raw(&checkout.id, &secret, body).await;
            assert_eq!(status, 200, "{answer}");
            c.goto(&french(&checkout)).await.unwrap();
            screen(c, "waiting").await;
        } else {
            start(c, &checkout, method, phone).await;
        }
        let shown = widget_wait(c, HOST, ".ckw-ussd", WAIT).await.unwrap().text().await.unwrap();
        assert_eq!(shown, code, "{method}");
        assert!(widget_find(c, HOST, "a.ckw-open").await.is_err(), "{method}: the prompt comes first");
        // The attempt's own deadline (2 minutes at the sandbox), not the checkout's 30 minutes.
        let left = countdown_secs(c).await;
        assert!((90..=120).contains(&left), "{method}: {left} s left");
        assert_accessible(c, &format!("waiting ({method})")).await;
        // On a phone of 320 px (and a little narrower, so that the line ends at every place of
        // the sentence), in French, whose sentence is the longer, the code stays whole: one line
        // box, one line high, inside the screen.
        for width in (288..=320).rev().step_by(2) {
            viewport(c, width, 640, true).await.unwrap();
            let code_box = widget_box(c, HOST, ".ckw-ussd").await.unwrap().unwrap();
            assert_eq!(code_box.viewport_width, f64::from(width));
            assert_eq!(code_box.lines, 1, "{method} at {width} px: {code_box:?}");
            assert!(code_box.height <= code_box.line_height + 1.0, "{method} at {width} px: {code_box:?}");
            assert!(code_box.right <= code_box.viewport_width, "{method} at {width} px: {code_box:?}");
        }
        viewport(c, 320, 640, true).await.unwrap();
        assert_accessible(c, &format!("waiting ({method}) at 320 px")).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orange_money_payment_made_with_a_one_time_code_shows_no_operator_menu() {
    let app = app().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    // NovaSend's Orange Money takes the code the customer generated with `#144*82#`: there is
    // no prompt, and Orange's `#144#` menu holds no payment to approve. The sandbox's test
    // number …0004 never completes, so the attempt stays waiting.
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.clone().unwrap();
    let body = serde_json::json!({
        "method": "orange_money", "phone": "07 00 00 00 04", "provider": "nova_send", "otp": "4321"
    });
    let (status, answer) = app.pay_raw(&checkout.id, &secret, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["attempt"]["provider"], "nova_send", "{answer}");
    assert_eq!(answer["attempt"]["status"], "awaiting_customer", "{answer}");
    c.goto(&french(&checkout)).await.unwrap();
    screen(c, "waiting").await;
    let title = widget_wait(c, HOST, ".ckw-waiting .ckw-title", WAIT).await.unwrap().text().await.unwrap();
    assert_eq!(title, "Orange Money vérifie votre code de paiement");
    assert!(widget_find(c, HOST, ".ckw-ussd").await.is_err(), "no operator menu");
    let text = widget_text(c, HOST).await.unwrap();
    for wrong in ["#144#", "Composez", "code secret"] {
        assert!(!text.contains(wrong), "{wrong:?} in {text}");
    }
    // The way out stays.
    widget_find(c, HOST, "button[data-action=cancel]").await.unwrap();
    assert_accessible(c, "waiting (Orange Money with a one-time code)").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_change_number_end_the_attempt_before_the_form_comes_back() {
    let app = app().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.clone().unwrap();

    // "Cancel": the attempt ends at the verifier, the form comes back.
    start(c, &checkout, "mtn_momo", "05 05 12 34 56").await;
    widget_find(c, HOST, "button[data-action=cancel]").await.unwrap().click().await.unwrap();
    screen(c, "form").await;
    let view = app.public_checkout(&checkout.id, &secret).await;
    assert_eq!(view.status, CheckoutStatus::Open);
    let attempt = view.attempt.expect("the cancelled attempt");
    assert_eq!(
        (attempt.status, attempt.failure),
        (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled))
    );
    assert_accessible(c, "form after cancel").await;

    // "Change number": the same, and the form opens on the number, as typed, to edit it.
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
    screen(c, "waiting").await;
    widget_find(c, HOST, "button[data-action=change-number]").await.unwrap().click().await.unwrap();
    screen(c, "form").await;
    let phone = widget_find(c, HOST, "input[name=phone]").await.unwrap();
    assert_eq!(phone.prop("value").await.unwrap().as_deref(), Some("05 05 12 34 56"));
    let focused = c
        .execute(
            "const m = document.querySelector('#checkout .ckw-mount'); const a = m.shadowRoot.activeElement;
             return a && a.name;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "phone", "the focus is on the number");
    type_into(c, "phone", "05 05 12 34 57").await;
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
    screen(c, "waiting").await;

    // Three attempts, two cancelled: never two prompts live at once.
    let seen = app.merchant_checkout(&checkout.id).await;
    let statuses: Vec<_> = seen.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [AttemptStatus::Failed, AttemptStatus::Failed, AttemptStatus::AwaitingCustomer]);
    assert_eq!(seen.attempts[2].phone.as_deref(), Some("+2250505123457"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pay_button_is_above_the_fold_on_a_computer() {
    let app = app().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    viewport(c, 1280, 800, false).await.unwrap();
    let checkout = app.create_checkout(5_000).await;
    c.goto(checkout.hosted_url.as_deref().unwrap()).await.unwrap();
    screen(c, "form").await;
    let pay = widget_box(c, HOST, ".ckw-pay").await.unwrap().unwrap();
    assert_eq!((pay.viewport_width, pay.viewport_height), (1280.0, 800.0));
    // Within the 800 px, and with room for a maximised browser's own bars (tabs, address bar,
    // the system's task bar: about 120 px of a 1280×800 screen).
    assert!(pay.bottom <= pay.viewport_height - 120.0, "the Pay button is below the fold: {pay:?}");
    assert_accessible(c, "form at 1280×800").await;
    browser.close().await;
}

//! The outcome screens, trust cues and texts of issue 14 in headless Chromium, on the hosted
//! payment page (in English, `?locale=en`): the paid screen's short reference (the merchant
//! API's and the webhook's too), receipt and "return to the shop" link; a failed, an expired
//! and a closed checkout with the same; a wrong Orange Money code asking for a new one; the
//! method marks and Scalapay named as pay-later; the phone field's `+225`, example and long
//! error; the reference on one line at 320 px. axe-core audits every screen.

use e2e::{
    Options, TestApp,
    browser::{
        Browser, WAIT, assert_accessible, widget_choose, widget_find, widget_screen, widget_text,
        widget_type, widget_wait,
    },
};
use fantoccini::Client;
use serde_json::json;
use shared::{api::Checkout, catalogue::ErrorCode, locale::Locale, status::CheckoutStatus};

/// The element the hosted page mounts the widget in.
const HOST: &str = "#checkout";

/// Where the demo merchant sends its customers back.
const RETURN_URL: &str = "https://shop.example/orders/1042";

/// The payment link, in English.
fn hosted_en(c: &Checkout) -> String {
    c.hosted_url.as_deref().expect("the create response carries the payment link").replacen(
        '#',
        "?locale=en#",
        1,
    )
}

/// A checkout of `amount` XOF in Côte d'Ivoire coming back to [`RETURN_URL`].
async fn checkout_with_return(app: &TestApp, amount: u64) -> Checkout {
    let body = json!({"amount": amount, "currency": "XOF", "reference": format!("order-{}", uuid::Uuid::new_v4()),
                      "description": "Pagne wax", "return_url": RETURN_URL});
    let (status, body) = app.create_checkout_raw(body, app.merchant_key).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body).expect("a checkout")
}

async fn screen(c: &Client, name: &str) {
    widget_screen(c, HOST, name).await.unwrap();
}

async fn choose(c: &Client, method: &str) {
    widget_choose(c, HOST, method).await.unwrap();
}

async fn type_into(c: &Client, name: &str, text: &str) {
    widget_type(c, HOST, name, text).await.unwrap();
}

async fn pay(c: &Client) {
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
}

async fn text_of(c: &Client, css: &str) -> String {
    widget_find(c, HOST, css).await.unwrap().text().await.unwrap()
}

/// The short reference shown, checked for its form: two groups of four Crockford characters.
async fn shown_reference(c: &Client) -> String {
    let shown = text_of(c, ".ckw-ref").await;
    let crockford =
        |s: &str| s.len() == 4 && s.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b));
    let groups: Vec<&str> = shown.split('-').collect();
    assert!(groups.len() == 2 && groups.iter().all(|g| crockford(g)), "not a short reference: {shown:?}");
    shown
}

/// The end screens' way back: a link to the checkout's `return_url`.
async fn assert_returns_to_the_shop(c: &Client) {
    let back = widget_find(c, HOST, "a.ckw-return").await.expect("a return link");
    assert_eq!(back.attr("href").await.unwrap().as_deref(), Some(RETURN_URL));
    assert_eq!(back.text().await.unwrap(), "Return to the shop");
}

/// The number of lines `.ckw-ref` takes, and the widget's width in CSS pixels.
async fn reference_lines(c: &Client) -> (u64, u64) {
    let v = c
        .execute(
            "const m = document.querySelector(arguments[0] + ' .ckw-mount');
             const root = m.shadowRoot || m;
             const r = root.querySelector('.ckw-ref');
             const line = parseFloat(getComputedStyle(r).lineHeight);
             return [Math.round(r.getBoundingClientRect().height / line),
                     Math.round(root.querySelector('.ckw').getBoundingClientRect().width)];",
            vec![json!(HOST)],
        )
        .await
        .unwrap();
    (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_paid_screen_gives_the_short_reference_the_receipt_and_the_way_back() {
    let app = TestApp::spawn().await;
    let checkout = checkout_with_return(&app, 5_000).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&hosted_en(&checkout)).await.unwrap();
    screen(c, "form").await;

    // Trust cues: every method has its mark, named; a lock and who is paid.
    let radios = c
        .execute(
            "const m = document.querySelector(arguments[0] + ' .ckw-mount');
             return [...(m.shadowRoot || m).querySelectorAll('label.ckw-method')].map(l => [
               l.querySelector('input').value,
               (l.querySelector('svg.ckw-mark[role=img]') || {getAttribute: () => ''}).getAttribute('aria-label'),
               l.querySelector('span').textContent.trim()]);",
            vec![json!(HOST)],
        )
        .await
        .unwrap();
    let radios = radios.as_array().unwrap();
    assert!(radios.len() >= 5, "{radios:?}");
    for r in radios {
        let (name, visible) = (r[1].as_str().unwrap_or_default(), r[2].as_str().unwrap_or_default());
        assert!(!name.is_empty() && name == visible, "the mark is named as the method: {r:?}");
    }
    let trust = text_of(c, ".ckw-trust").await;
    assert_eq!(trust, "Secure payment · paid to Boutique Test");
    widget_find(c, HOST, ".ckw-trust svg.ckw-lock").await.expect("a lock");

    // The phone field: the country's dialling code, its example, and the long error.
    assert_eq!(text_of(c, ".ckw-prefix").await, "+225");
    let phone = widget_find(c, HOST, "input[name=phone]").await.unwrap();
    assert_eq!(phone.attr("placeholder").await.unwrap().as_deref(), Some("07 07 12 34 56"));
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 07 12").await;
    pay(c).await;
    let error = widget_wait(c, HOST, ".ckw-error", WAIT).await.unwrap().text().await.unwrap();
    assert_eq!(
        error,
        "This number is too short: a mobile number in Côte d'Ivoire has 10 digits, for example 07 07 12 34 56."
    );
    assert_accessible(c, "form with the long phone error").await;

    type_into(c, "phone", "07 00 00 00 01").await;
    pay(c).await;
    screen(c, "paid").await;
    let reference = shown_reference(c).await;
    let merchant = app.merchant_checkout(&checkout.id).await;
    assert_eq!(merchant.status, CheckoutStatus::Succeeded);
    assert_eq!(reference, merchant.short_reference, "the merchant API shows the same reference");
    let events = app.merchant_events(&checkout.id).await;
    let succeeded = events.iter().find(|e| e["type"] == "checkout.succeeded").expect("checkout.succeeded");
    assert_eq!(succeeded["payload"]["data"]["checkout"]["short_reference"], json!(reference));

    // The receipt: the amount as the widget writes it, the method and masked number, when, and
    // the provider's transaction id.
    let receipt = text_of(c, ".ckw-receipt").await;
    let amount = text_of(c, ".ckw-amount").await;
    assert!(receipt.contains(&amount), "{receipt:?} has {amount:?}");
    assert!(receipt.contains("Mobile money · +225 07 •• •• •• 01"), "{receipt}");
    assert!(receipt.contains("Date and time"), "{receipt}");
    let provider_reference = merchant.attempts[0].provider_reference.clone().expect("NovaSend's reference");
    assert!(receipt.contains(&provider_reference), "{receipt}");
    assert!(!widget_text(c, HOST).await.unwrap().contains("+225 07 00 00 00 01"), "never the whole number");
    assert_returns_to_the_shop(c).await;
    assert_accessible(c, "paid").await;

    // On the narrowest phones the reference stays whole, on one line. (The page is held to
    // 320 px too, in case the browser keeps a wider minimum window.)
    assert_eq!(reference_lines(c).await.0, 1);
    c.set_window_size(320, 700).await.unwrap();
    c.execute(
        "document.body.style.margin = '0'; document.querySelector(arguments[0]).style.maxWidth = '320px';",
        vec![json!(HOST)],
    )
    .await
    .unwrap();
    let (lines, width) = reference_lines(c).await;
    assert!(width <= 320, "the widget is {width} px wide");
    assert_eq!(lines, 1, "the reference is on one line at {width} px");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_expired_and_closed_checkouts_show_the_reference_and_the_way_back() {
    // A checkout that can be paid for 30 s: long enough for two attempts, then it expires.
    let app = TestApp::spawn_with(Options { checkout_ttl_s: 30, ..Options::default() }).await;
    let checkout = checkout_with_return(&app, 3_000).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.goto(&hosted_en(&checkout)).await.unwrap();
    screen(c, "form").await;

    // Declined on the phone: why, the reference, and the way back beside "try again".
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 00 00 00 02").await;
    pay(c).await;
    screen(c, "failed").await;
    assert_eq!(text_of(c, ".ckw-status").await, ErrorCode::CustomerDeclined.message(Locale::En));
    let reference = shown_reference(c).await;
    assert_eq!(reference, app.merchant_checkout(&checkout.id).await.short_reference);
    assert!(text_of(c, ".ckw-receipt").await.contains("Mobile money"));
    assert_returns_to_the_shop(c).await;
    widget_find(c, HOST, ".ckw-retry").await.expect("try again");
    assert_accessible(c, "failed").await;

    // Never answered: the attempt expires (the sandbox's 3 s), said as such, same reference.
    widget_find(c, HOST, ".ckw-retry").await.unwrap().click().await.unwrap();
    screen(c, "form").await;
    choose(c, "mobile_money").await;
    type_into(c, "phone", "07 00 00 00 04").await;
    pay(c).await;
    widget_wait(c, HOST, ".ckw[data-screen=failed][data-attempt-status=expired]", WAIT).await.unwrap();
    assert_eq!(text_of(c, ".ckw-status").await, ErrorCode::SessionExpired.message(Locale::En));
    assert_eq!(shown_reference(c).await, reference);
    assert_returns_to_the_shop(c).await;
    assert_accessible(c, "attempt expired").await;

    // The checkout itself expires: no more paying, the reference and the way back remain.
    let expired = app
        .wait_for(&checkout.id, std::time::Duration::from_secs(60), |c| c.status == CheckoutStatus::Expired)
        .await;
    assert_eq!(expired.status, CheckoutStatus::Expired);
    c.refresh().await.unwrap();
    screen(c, "closed").await;
    assert_eq!(text_of(c, ".ckw-status").await, "This payment has expired.");
    assert_eq!(shown_reference(c).await, reference);
    assert_returns_to_the_shop(c).await;
    assert_accessible(c, "checkout expired").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_orange_money_code_asks_for_a_new_one_then_pays() {
    let app = TestApp::spawn().await;
    let checkout = checkout_with_return(&app, 4_000).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.goto(&hosted_en(&checkout)).await.unwrap();
    screen(c, "form").await;
    choose(c, "orange_money").await;
    type_into(c, "phone", "07 00 00 00 01").await;
    type_into(c, "otp", "000000").await;
    pay(c).await;

    // The code was refused: said so, with how to get a new one, and the code field again.
    screen(c, "code_refused").await;
    let text = widget_text(c, HOST).await.unwrap();
    assert!(text.contains(ErrorCode::OtpRefused.message(Locale::En)), "{text}");
    assert!(text.contains("#144*82#"), "how to get a new code: {text}");
    assert!(!text.contains(ErrorCode::PaymentRefused.message(Locale::En)), "{text}");
    assert!(!text.contains("Choose another way to pay"), "{text}");
    let otp = widget_find(c, HOST, "input[name=otp]").await.expect("the code field");
    assert_eq!(otp.prop("value").await.unwrap().as_deref(), Some(""));
    assert_eq!(otp.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    let seen = app.merchant_checkout(&checkout.id).await;
    assert_eq!(seen.attempts[0].failure, Some(ErrorCode::OtpRefused));
    assert_accessible(c, "code refused").await;

    type_into(c, "otp", "482913").await;
    pay(c).await;
    screen(c, "paid").await;
    let seen = app.merchant_checkout(&checkout.id).await;
    assert_eq!(seen.status, CheckoutStatus::Succeeded);
    assert_eq!(seen.attempts.len(), 2);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scalapay_is_offered_as_pay_in_instalments() {
    let app = TestApp::spawn().await;
    let checkout = app.create_eur_checkout(12_000, RETURN_URL).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.goto(&hosted_en(&checkout)).await.unwrap();
    screen(c, "form").await;
    let label = text_of(c, "label.ckw-method span").await;
    assert_eq!(label, "Pay in instalments");
    assert!(!widget_text(c, HOST).await.unwrap().contains("Card"));
    let mark = widget_find(c, HOST, "label.ckw-method svg.ckw-mark").await.unwrap();
    assert_eq!(mark.attr("aria-label").await.unwrap().as_deref(), Some("Pay in instalments"));
    assert_accessible(c, "form with pay-later").await;
    browser.close().await;
}

//! The customer's path in a real headless Chromium: the demo shop's page embeds the widget with
//! one script tag; the customer types a test number, pays, and sees "Paid" appear live; on a
//! 1280×800 screen the Pay button shows without scrolling.

use std::time::Duration;

use e2e::{
    MERCHANT_KEY, Options, TestApp,
    browser::{Browser, WAIT, viewport, widget_box, widget_find, widget_text, widget_wait},
    widget_dir,
};
use fantoccini::{Client, Locator};
use shared::status::CheckoutStatus;
use www::{DemoShop, ShopConfig};

/// The shop's element the widget mounts in.
const HOST: &str = "#pay";

/// A verifier that lets the demo shop's pages call its public API (CORS), and that shop: the
/// shop's port is chosen first, since the verifier must know its origin.
async fn app_and_shop() -> (TestApp, DemoShop) {
    assert!(
        // The glue and the wasm have content-hashed names, written into the loader.
        widget_dir().join("checkout.js").exists(),
        "the widget is not built in {}: run `cargo xtask test` (it builds the widget first)",
        widget_dir().display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let origin = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(Options { allowed_origins: vec![origin], ..Options::default() }).await;
    let shop = DemoShop::start(ShopConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        verifier_url: app.url.clone(),
        merchant_key: MERCHANT_KEY.into(),
        public_url: None,
        webhook_secret: None,
    })
    .await
    .expect("shop starts");
    (app, shop)
}

async fn open_order(c: &Client, shop: &DemoShop) {
    c.goto(&format!("{}/?lang=en", shop.base_url())).await.unwrap();
    c.find(Locator::Css("#buy-pagne")).await.unwrap().click().await.unwrap();
    widget_wait(c, HOST, "input[name=phone]", WAIT).await.expect("the widget shows its form");
}

async fn checkout_id_on_page(c: &Client) -> String {
    let secret = c
        .find(Locator::Css("script[data-client-secret]"))
        .await
        .unwrap()
        .attr("data-client-secret")
        .await
        .unwrap()
        .unwrap();
    secret.split("_secret_").next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_pays_in_the_browser_and_sees_paid() {
    let (app, shop) = app_and_shop().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;

    open_order(c, &shop).await;
    // The widget shows the merchant and the amount set on the server.
    let text = widget_text(c, HOST).await.unwrap();
    assert!(text.contains("Boutique Test"), "{text}");
    assert!(text.contains("5,000"), "{text}");

    let id = checkout_id_on_page(c).await;
    widget_find(c, HOST, "input[name=method][value=mobile_money]").await.unwrap().click().await.unwrap();
    widget_find(c, HOST, "input[name=phone]").await.unwrap().send_keys("07 00 00 00 01").await.unwrap();
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();

    let paid = widget_wait(c, HOST, "[data-checkout-status=succeeded]", WAIT)
        .await
        .expect("the widget shows the payment as succeeded");
    let text = paid.text().await.unwrap();
    assert!(text.contains("Paid"), "{text}");

    // The merchant's backend confirms it independently.
    assert_eq!(app.merchant_checkout(&id).await.status, CheckoutStatus::Succeeded);
    c.find(Locator::Css("#check")).await.unwrap().click().await.unwrap();
    let status = c.wait().at_most(WAIT).for_element(Locator::Css("#order-status")).await.unwrap();
    assert_eq!(status.attr("data-status").await.unwrap().as_deref(), Some("succeeded"));
    assert!(status.text().await.unwrap().contains("Paid"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_number_is_explained_in_words_and_nothing_is_sent() {
    let (app, shop) = app_and_shop().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;

    open_order(c, &shop).await;
    let id = checkout_id_on_page(c).await;
    widget_find(c, HOST, "input[name=phone]").await.unwrap().send_keys("07 07 12").await.unwrap();
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
    let error = widget_wait(c, HOST, ".ckw-error", WAIT).await.expect("an error message");
    let text = error.text().await.unwrap();
    assert!(text.contains("too short"), "{text}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let checkout = app.merchant_checkout(&id).await;
    assert!(checkout.attempts.is_empty(), "nothing was sent to the verifier");
    assert!(app.sandbox_payins().await.unwrap().is_empty());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pay_button_is_above_the_fold_in_the_shops_page_on_a_computer() {
    let (_app, shop) = app_and_shop().await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    viewport(c, 1280, 800, false).await.unwrap();
    open_order(c, &shop).await;
    let pay = widget_box(c, HOST, ".ckw-pay").await.unwrap().expect("the Pay button");
    assert_eq!((pay.viewport_width, pay.viewport_height), (1280.0, 800.0));
    // Within the 800 px, and with room for a maximised browser's own bars (tabs, address bar,
    // the system's task bar: about 120 px of a 1280×800 screen).
    assert!(pay.bottom <= pay.viewport_height - 120.0, "the Pay button is below the fold: {pay:?}");
    browser.close().await;
}

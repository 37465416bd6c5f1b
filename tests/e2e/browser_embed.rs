//! The widget on a shop page whose Content-Security-Policy refuses WebAssembly: in an iframe of
//! the verifier's `/embed` page, created by the page itself or by the loader's
//! `data-mode="iframe"`; and the headers of the verifier's hosted pages.

use e2e::{
    Options, TestApp,
    browser::{Browser, PageServer, WAIT, assert_accessible, widget_find, widget_wait},
};
use fantoccini::{Client, Locator};
use serde_json::Value;
use server::routes::hosted::{EMBED_CSP, PAY_CSP};
use shared::status::CheckoutStatus;

/// Inside the iframe, the element the embed page mounts the widget in.
const HOST: &str = "#checkout";

/// The merchant's own script (allowed by its CSP as 'self'): records what reaches the page.
const RECORDER_JS: &str = r#"
window.__messages = [];
window.__events = [];
window.addEventListener("message", function (e) { window.__messages.push({origin: e.origin, data: e.data}); });
["ready", "submitted", "succeeded", "failed", "expired", "closed"].forEach(function (name) {
  document.addEventListener("checkout:" + name, function (e) {
    window.__events.push({type: e.type, detail: e.detail, host: e.target && e.target.id});
  });
});
"#;

/// A strict shop CSP: its own scripts, the verifier's loader and frames; no 'wasm-unsafe-eval'.
fn shop_csp(verifier: &str) -> String {
    format!("default-src 'none'; script-src 'self' {verifier}; frame-src {verifier}")
}

/// The shop's page server, then a verifier that lets it frame `/embed` (and call the public
/// API): its `[public_api] allowed_origins` is the shop's origin.
async fn shop_and_app() -> (PageServer, TestApp) {
    let shop = PageServer::start().await.unwrap();
    let app =
        TestApp::spawn_with(Options { allowed_origins: vec![shop.url.clone()], ..Options::default() }).await;
    (shop, app)
}

async fn pay_inside_the_frame(c: &Client) {
    widget_wait(c, HOST, ".ckw[data-screen=form]", WAIT).await.unwrap();
    widget_find(c, HOST, "input[name=method][value=mobile_money]").await.unwrap().click().await.unwrap();
    widget_find(c, HOST, "input[name=phone]").await.unwrap().send_keys("07 00 00 00 01").await.unwrap();
    widget_find(c, HOST, ".ckw-pay").await.unwrap().click().await.unwrap();
    widget_wait(c, HOST, ".ckw[data-screen=paid]", WAIT).await.unwrap();
}

async fn recorded(c: &Client, what: &str) -> Vec<Value> {
    let v = c.execute(&format!("return window.{what};"), vec![]).await.unwrap();
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_iframe_of_the_embed_page_pays_on_a_shop_that_refuses_wasm() {
    let (shop, app) = shop_and_app().await;
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.clone().unwrap();
    let csp = shop_csp(&app.url);
    shop.add("/recorder.js", RECORDER_JS.to_owned(), None);
    let page = shop.add(
        "/order",
        format!(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Order</title>\
             <script src=\"/recorder.js\"></script><main><h1>Order 1042</h1>\
             <iframe src=\"{}/embed?locale=en#{secret}\" title=\"Payment\" width=\"100%\" height=\"600\"></iframe>\
             </main>",
            app.url
        ),
        Some(&csp),
    );
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.goto(&page).await.unwrap();
    c.find(Locator::Css("iframe")).await.unwrap().enter_frame().await.unwrap();
    widget_wait(c, HOST, ".ckw[data-screen=form]", WAIT).await.unwrap();
    assert_accessible(c, "form in the iframe").await;
    pay_inside_the_frame(c).await;
    c.enter_parent_frame().await.unwrap();
    assert_eq!(app.merchant_checkout(&checkout.id).await.status, CheckoutStatus::Succeeded);

    // The embed page tells its parent its height, from the verifier's origin, never the secret.
    let messages = recorded(c, "__messages").await;
    let resizes: Vec<_> = messages
        .iter()
        .filter(|m| m["data"]["source"] == "checkout-widget" && m["data"]["type"] == "resize")
        .collect();
    assert!(!resizes.is_empty(), "no resize message: {messages:#?}");
    assert!(resizes.iter().all(|m| m["origin"] == app.url.as_str()), "{resizes:#?}");
    assert!(resizes.iter().any(|m| m["data"]["height"].as_f64().unwrap_or(0.0) > 100.0), "{resizes:#?}");
    assert!(!serde_json::to_string(&messages).unwrap().contains(&secret), "a message carried the secret");
    browser.close().await;
}

/// The loader's iframe mode (the widget engineers' contract): the loader creates the iframe with
/// the secret in the fragment, re-dispatches the embed page's events on the host element and
/// sizes the iframe.
#[tokio::test(flavor = "multi_thread")]
async fn the_loader_s_iframe_mode_pays_and_forwards_the_events_to_the_host_element() {
    let (shop, app) = shop_and_app().await;
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.clone().unwrap();
    let csp = shop_csp(&app.url);
    shop.add("/recorder.js", RECORDER_JS.to_owned(), None);
    let page = shop.add(
        "/order",
        format!(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Order</title>\
             <script src=\"/recorder.js\"></script><main><h1>Order 1042</h1><div id=\"pay\"></div></main>\
             <script src=\"{}/widget/checkout.js\" data-client-secret=\"{secret}\" data-target=\"#pay\" \
             data-mode=\"iframe\" data-locale=\"en\"></script>",
            app.url
        ),
        Some(&csp),
    );
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.goto(&page).await.unwrap();
    let frame = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#pay iframe"))
        .await
        .expect("the loader creates an iframe in the host element");
    let src = frame.attr("src").await.unwrap().unwrap_or_default();
    let (before_fragment, fragment) = src.split_once('#').unwrap_or((&src, ""));
    assert!(before_fragment.starts_with(&format!("{}/embed", app.url)), "{src}");
    assert!(!before_fragment.contains(&secret), "the secret goes in the fragment only: {src}");
    assert_eq!(fragment, secret);
    frame.enter_frame().await.unwrap();
    pay_inside_the_frame(c).await;
    c.enter_parent_frame().await.unwrap();

    let deadline = tokio::time::Instant::now() + WAIT;
    let events = loop {
        let events = recorded(c, "__events").await;
        if events.iter().any(|e| e["type"] == "checkout:succeeded") || tokio::time::Instant::now() > deadline
        {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let types: Vec<_> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for t in ["checkout:ready", "checkout:submitted", "checkout:succeeded"] {
        assert!(types.contains(&t), "no {t} on the host element: {events:#?}");
    }
    let done = events.iter().find(|e| e["type"] == "checkout:succeeded").unwrap();
    assert_eq!(done["host"], "pay");
    assert_eq!(done["detail"]["checkoutId"], checkout.id.as_str());
    assert_eq!(done["detail"]["status"], "succeeded");
    let height = c
        .execute("return document.querySelector('#pay iframe').getBoundingClientRect().height;", vec![])
        .await
        .unwrap();
    assert!(height.as_f64().unwrap_or(0.0) > 100.0, "the iframe is sized to the widget: {height}");
    browser.close().await;
}

#[tokio::test]
async fn the_hosted_pages_send_a_strict_csp_and_no_referrer() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(5_000).await;
    let link = checkout.hosted_url.clone().expect("hosted_url");
    let (page_url, fragment) = link.split_once('#').unwrap();
    assert_eq!(page_url, format!("{}/pay/{}", app.url, checkout.id));
    assert_eq!(Some(fragment), checkout.client_secret.as_deref());
    // The link is given once, like the secret.
    assert_eq!(app.merchant_checkout(&checkout.id).await.hosted_url, None);

    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let r = app.http.get(page_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-security-policy"), PAY_CSP);
    assert!(
        PAY_CSP.contains("script-src 'self' 'wasm-unsafe-eval'")
            && PAY_CSP.ends_with("frame-ancestors 'none'")
    );
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    assert!(header(&r, "content-type").starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("<title>Boutique Test · Paiement</title>"), "{html}");
    assert!(!html.contains("_secret_"));

    let r = app.http.get(format!("{}/embed?locale=en", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-security-policy"), EMBED_CSP);
    assert!(EMBED_CSP.ends_with("frame-ancestors *"));
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");

    let r = app.http.get(format!("{}/pay/co_doesnotexist", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Lien de paiement inconnu"));

    let r = app.http.get(format!("{}/hosted/page.js", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("text/javascript"));
}

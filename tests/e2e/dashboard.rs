//! The merchant dashboard in headless Chromium: a wrong key refused, the login, a paid
//! checkout found by its reference, half of it refunded through the confirmation page, the
//! timeline and the overview's chart data showing it, an event sent again, an open checkout
//! cancelled after its confirmation page (a paid one offers no cancel); a POST without the
//! CSRF token (or without a session) changing nothing; logout. axe-core audits every page.

use std::time::Duration;

use e2e::{
    Options, TestApp,
    browser::{Browser, WAIT, assert_accessible},
    crash::MerchantEndpoint,
};
use fantoccini::{Client, Locator};
use shared::status::CheckoutStatus;

async fn text(c: &Client, css: &str) -> String {
    c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

async fn click(c: &Client, css: &str) {
    c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn type_into(c: &Client, css: &str, value: &str) {
    let field = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Waits until the page's path is `path` (a navigation ended there).
async fn wait_path(c: &Client, path: &str) {
    wait_url(c, path, |url| url.path() == path).await;
}

/// Waits (bounded) until the page's address satisfies `ok`; `what` names it for the failure.
async fn wait_url(c: &Client, what: &str, ok: impl Fn(&url::Url) -> bool) -> url::Url {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let url = c.current_url().await.unwrap();
        if ok(&url) {
            return url;
        }
        assert!(tokio::time::Instant::now() < deadline, "still at {url}, waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `url` asks for the language `lang`.
fn in_lang(url: &url::Url, lang: &str) -> bool {
    url.query_pairs().any(|(k, v)| k == "lang" && v == lang)
}

/// The refunds the merchant API lists for `id`.
async fn refunds(app: &TestApp, id: &str) -> Vec<serde_json::Value> {
    app.http
        .get(format!("{}/v1/checkouts/{id}/refunds", app.url))
        .bearer_auth(app.merchant_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_finds_a_payment_refunds_half_and_sees_it_on_the_timeline_and_the_chart() {
    let (hooks, endpoint) = MerchantEndpoint::start().await.unwrap();
    let app = TestApp::spawn_with(Options { merchant_webhook_url: Some(hooks), ..Options::default() }).await;
    let paid = app.paid_checkout(5_000).await;
    let other = app.paid_checkout(7_000).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.set_window_size(1280, 900).await.unwrap();

    // Without a session, the dashboard sends to the login page (in English, as picked).
    c.goto(&format!("{}/dashboard?lang=en", app.url)).await.unwrap();
    wait_path(c, "/dashboard/login").await;
    assert_eq!(text(c, "h1").await, "Merchant login");
    assert_accessible(c, "login").await;

    // A wrong key is refused, and says so.
    type_into(c, "#key", "mk_test_wrongwrongwrongwrongwrongwrongwrong").await;
    click(c, "button[type=submit].primary").await;
    assert_eq!(text(c, "#login-error").await, "This key is not accepted.");
    assert_accessible(c, "refused login").await;

    type_into(c, "#key", app.merchant_key).await;
    click(c, "button[type=submit].primary").await;
    wait_path(c, "/dashboard").await;
    assert_eq!(text(c, "h1").await, "Overview");
    assert_accessible(c, "overview").await;
    let amounts = text(c, "#data-amount-xof tbody").await;
    assert!(amounts.contains("12,000"), "both payments of today: {amounts}");
    let before = c.find(Locator::Css("#chart-amount-xof svg")).await.unwrap().html(false).await.unwrap();

    // Find the paid checkout by its reference.
    click(c, "nav a[href='/dashboard/payments']").await;
    wait_path(c, "/dashboard/payments").await;
    assert_accessible(c, "payments").await;
    type_into(c, "#q", &paid.reference).await;
    click(c, "#filters button[type=submit]").await;
    // The same path: wait for the searched page, not the one the search was typed in.
    let searched = |u: &url::Url| u.query_pairs().any(|(k, v)| k == "q" && v == paid.reference.as_str());
    wait_url(c, "the search's answer", searched).await;
    let rows = text(c, "#payments tbody").await;
    assert!(rows.contains(&paid.reference), "{rows}");
    assert!(!rows.contains(&other.reference), "only the one searched: {rows}");
    assert!(rows.contains('•') && !rows.contains("0700000001"), "the number is masked: {rows}");
    click(c, &format!("#payments a[href='/dashboard/payments/{}']", paid.id)).await;
    wait_path(c, &format!("/dashboard/payments/{}", paid.id)).await;
    assert_eq!(text(c, "#reference").await, paid.reference);
    assert_accessible(c, "checkout").await;
    let timeline = text(c, "#timeline").await;
    assert!(timeline.contains("API call") && timeline.contains("succeeded"), "{timeline}");

    // Refund half, through the confirmation page.
    type_into(c, "#refund-amount", "2500").await;
    type_into(c, "#refund-reason", "one item returned").await;
    click(c, "#refund-form button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}/refund/confirm", paid.id)).await;
    assert!(text(c, "#refund-shown").await.contains("2,500"));
    assert!(refunds(&app, &paid.id).await.is_empty(), "the confirmation page changes nothing");
    assert_accessible(c, "refund confirmation").await;
    click(c, "#refund-confirm button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}", paid.id)).await;
    assert_eq!(text(c, "p.notice").await, "Refund recorded.");
    assert_eq!(text(c, "#status").await, "partially refunded");
    let listed = text(c, "#refunds").await;
    assert!(listed.contains("2,500") && listed.contains("one item returned"), "{listed}");
    let timeline = text(c, "#timeline").await;
    assert!(timeline.contains("succeeded → partially refunded"), "{timeline}");
    assert_eq!(app.merchant_checkout(&paid.id).await.status, CheckoutStatus::PartiallyRefunded);
    assert_eq!(refunds(&app, &paid.id).await.len(), 1);

    // The overview shows the refund: in the chart's table and its drawing.
    click(c, "nav a[href='/dashboard']").await;
    wait_path(c, "/dashboard").await;
    let amounts = text(c, "#data-amount-xof tbody").await;
    assert!(amounts.contains("2,500"), "the refund is in the chart's data: {amounts}");
    let after = c.find(Locator::Css("#chart-amount-xof svg")).await.unwrap().html(false).await.unwrap();
    assert_ne!(before, after, "the chart is drawn again with the refund");

    // An event sent again, through its confirmation page.
    c.goto(&format!("{}/dashboard/payments/{}", app.url, paid.id)).await.unwrap();
    let delivered = |endpoint: &MerchantEndpoint| endpoint.seen().len();
    let deadline = tokio::time::Instant::now() + WAIT;
    while delivered(&endpoint) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the merchant endpoint got the events");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    click(c, "#events form button[type=submit]").await;
    c.wait().at_most(WAIT).for_element(Locator::Css("#redeliver-confirm")).await.unwrap();
    assert_accessible(c, "redelivery confirmation").await;
    let seen = endpoint.seen().len();
    click(c, "#redeliver-confirm button[type=submit]").await;
    assert_eq!(text(c, "p.notice").await, "Redelivery queued.");
    let deadline = tokio::time::Instant::now() + WAIT;
    while endpoint.seen().len() <= seen {
        assert!(tokio::time::Instant::now() < deadline, "the event is delivered again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A POST without the CSRF token changes nothing: the confirmation form, its token removed.
    type_into(c, "#refund-amount", "100").await;
    click(c, "#refund-form button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}/refund/confirm", paid.id)).await;
    c.execute("document.querySelector('#refund-confirm input[name=csrf]').remove()", vec![]).await.unwrap();
    click(c, "#refund-confirm button[type=submit]").await;
    assert!(text(c, "p.error").await.contains("nothing was done"));
    assert_accessible(c, "refused form").await;
    assert_eq!(refunds(&app, &paid.id).await.len(), 1, "no second refund");
    // Nor does a POST without a session: it is sent to the login page.
    let outside = app
        .http
        .post(format!("{}/dashboard/payments/{}/refund", app.url, paid.id))
        .form(&[("amount_minor", "100"), ("token", "x"), ("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert!(outside.url().path() == "/dashboard/login" || outside.status().is_redirection(), "{outside:?}");
    assert_eq!(refunds(&app, &paid.id).await.len(), 1, "no second refund");

    // Logout ends the session.
    c.goto(&format!("{}/dashboard", app.url)).await.unwrap();
    click(c, "header form button[type=submit]").await;
    wait_path(c, "/dashboard/login").await;
    c.goto(&format!("{}/dashboard/payments/{}", app.url, paid.id)).await.unwrap();
    wait_path(c, "/dashboard/login").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_cancels_an_open_checkout_after_confirming_and_a_paid_one_offers_no_cancel() {
    let app = TestApp::spawn().await;
    let open = app.create_checkout(3_000).await;
    let paid = app.paid_checkout(4_000).await;
    let browser = Browser::start().await.expect("browser starts");
    let c = &browser.client;
    c.set_window_size(1280, 900).await.unwrap();
    c.goto(&format!("{}/dashboard/login?lang=fr", app.url)).await.unwrap();
    type_into(c, "#key", app.merchant_key).await;
    click(c, "button[type=submit].primary").await;
    wait_path(c, "/dashboard").await;

    // The switch keeps the payments' search.
    c.goto(&format!("{}/dashboard/payments?q={}", app.url, paid.reference)).await.unwrap();
    click(c, "p.lang a").await;
    let url =
        wait_url(c, "the payments in English", |u| u.path() == "/dashboard/payments" && in_lang(u, "en"))
            .await;
    assert!(url.query_pairs().any(|(k, v)| k == "q" && v == paid.reference.as_str()), "{url}");
    click(c, "p.lang a").await;
    wait_url(c, "the payments in French", |u| in_lang(u, "fr")).await;

    // A paid checkout is refunded, not cancelled: no cancel form.
    c.goto(&format!("{}/dashboard/payments/{}", app.url, paid.id)).await.unwrap();
    assert_eq!(text(c, "#reference").await, paid.reference);
    assert!(c.find(Locator::Css("#cancel-form")).await.is_err(), "no cancel for a paid checkout");

    // The open one: the form, then a confirmation page that changes nothing, then cancelled.
    c.goto(&format!("{}/dashboard/payments/{}", app.url, open.id)).await.unwrap();
    assert_eq!(text(c, "#reference").await, open.reference);
    click(c, "#cancel-form button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}/cancel/confirm", open.id)).await;
    assert_eq!(text(c, "h1").await, "Confirmer l'annulation");
    assert_accessible(c, "cancel confirmation").await;
    assert_eq!(app.merchant_checkout(&open.id).await.status, CheckoutStatus::Open, "not yet");
    // The language switch of a page a POST showed leads to the checkout's page, in English.
    let page = format!("/dashboard/payments/{}", open.id);
    click(c, "p.lang a").await;
    wait_url(c, "the checkout in English", |u| u.path() == page && in_lang(u, "en")).await;
    assert!(text(c, "h1").await.starts_with("Payment "), "in English");
    click(c, "p.lang a").await;
    wait_url(c, "the checkout in French", |u| u.path() == page && in_lang(u, "fr")).await;
    click(c, "#cancel-form button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}/cancel/confirm", open.id)).await;
    click(c, "#cancel-confirm button[type=submit]").await;
    wait_path(c, &format!("/dashboard/payments/{}", open.id)).await;
    assert_eq!(app.merchant_checkout(&open.id).await.status, CheckoutStatus::Cancelled);
    assert!(c.find(Locator::Css("#cancel-form")).await.is_err(), "nothing left to cancel");
    assert_accessible(c, "cancelled checkout").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_over_the_limit_get_a_page_saying_when_to_retry_not_json() {
    use server::config::{LimitSettings, Rate};
    let limits = LimitSettings { login_per_ip: Rate::new(1, 2), ..LimitSettings::generous() };
    let app = TestApp::spawn_with(Options { limits: Some(limits), ..Options::default() }).await;
    let login = || {
        app.http
            .post(format!("{}/dashboard/login?lang=en", app.url))
            .form(&[("key", "mk_test_wrongwrongwrongwrongwrongwrongwrong")])
            .send()
    };
    // The burst's two tries are answered as refused keys; the third is over the limit.
    for _ in 0..2 {
        assert_ne!(login().await.unwrap().status(), 429);
    }
    let limited = login().await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let kind = limited.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = limited.text().await.unwrap();
    assert!(
        page.contains("Too many login attempts from this address") && page.contains(&retry.to_string()),
        "{page}"
    );
}

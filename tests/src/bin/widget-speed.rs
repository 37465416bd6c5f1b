//! `widget-speed`: how long the widget takes from its script tag to an interactive form, in
//! headless Chromium on localhost (run by `cargo xtask bench`; not a test: it prints figures).
//!
//! It starts a verifier with its sandboxes (the e2e harness) and a shop page on another origin.
//! The page inserts the loader's `<script>` and records `performance.now()` just before, then
//! the moment the widget is ready: the `checkout:ready` event on the host element when the
//! widget sends it, else the first time its pay button exists and is enabled (a
//! MutationObserver on the host element and the widget's shadow root). Cold runs each use a
//! fresh browser profile (empty cache); warm runs reload in one browser after a first visit.
//!
//! Usage: `widget-speed [cold runs] [warm runs]` (default 5 and 10); the widget must be built
//! (`WIDGET_DIR`, default `target/widget`).

use std::time::Duration;

use anyhow::{Context, bail};
use e2e::{
    TestApp,
    browser::{Browser, PageServer},
};
use fantoccini::Client;

/// The budget from the script tag to an interactive form.
const BUDGET_MS: f64 = 150.0;

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Widget speed</title></head>
<body><main><div id="pay"></div></main>
<script>
(function () {
  var q = new URLSearchParams(location.search);
  var b = window.__bench = {start: null, dom: null, ready: null};
  var host = document.getElementById("pay");
  host.addEventListener("checkout:ready", function () { if (b.ready === null) b.ready = performance.now(); });
  function check() {
    if (b.dom !== null) return;
    var mount = host.querySelector(".ckw-mount");
    if (mount && mount.shadowRoot && !mount.__watched) { mount.__watched = true; watch(mount.shadowRoot); }
    var root = (mount && mount.shadowRoot) || host;
    if (root.querySelector(".ckw-pay:not([disabled])")) b.dom = performance.now();
  }
  function watch(root) {
    new MutationObserver(check).observe(root, {subtree: true, childList: true, attributes: true});
  }
  watch(host);
  var s = document.createElement("script");
  s.src = q.get("v") + "/widget/checkout.js";
  s.async = true;
  s.setAttribute("data-client-secret", q.get("s"));
  s.setAttribute("data-target", "#pay");
  s.setAttribute("data-locale", "en");
  b.start = performance.now();
  document.body.appendChild(s);
})();
</script></body></html>"##;

/// One measurement: milliseconds, and whether it ended on `checkout:ready`.
async fn measure(c: &Client, app: &TestApp, page: &str) -> anyhow::Result<(f64, bool)> {
    let checkout = app.create_checkout(5_000).await;
    let secret = checkout.client_secret.context("client secret")?;
    c.goto(&format!("{page}?v={}&s={secret}", app.url)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut dom_seen_at = None;
    loop {
        let b = c.execute("return window.__bench;", vec![]).await?;
        let start = b["start"].as_f64();
        if let (Some(start), Some(ready)) = (start, b["ready"].as_f64()) {
            return Ok((ready - start, true));
        }
        if let (Some(start), Some(dom)) = (start, b["dom"].as_f64()) {
            // Give a widget that sends `checkout:ready` the time to send it.
            let seen = *dom_seen_at.get_or_insert_with(tokio::time::Instant::now);
            if seen.elapsed() > Duration::from_millis(1000) {
                return Ok((dom - start, false));
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the widget did not become interactive within 20 s: {b}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summary(label: &str, runs: &mut [f64]) -> f64 {
    runs.sort_by(f64::total_cmp);
    let n = runs.len();
    let rank = |p: f64| runs[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    let median = if n % 2 == 1 { runs[n / 2] } else { (runs[n / 2 - 1] + runs[n / 2]) / 2.0 };
    println!(
        "bench: script tag → interactive form, {label}, {n} runs: min {:.0} ms, median {median:.0} ms, p95 {:.0} ms \
         (budget {BUDGET_MS:.0} ms: {})",
        runs[0],
        rank(0.95),
        if median <= BUDGET_MS { "within" } else { "OVER" }
    );
    median
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let cold = args.next().transpose()?.unwrap_or(5).max(1);
    let warm = args.next().transpose()?.unwrap_or(10).max(1);
    let app = TestApp::spawn().await;
    let shop = PageServer::start().await?;
    let page = shop.add("/speed", PAGE.to_owned(), None);

    let mut by_event = true;
    let mut cold_runs = Vec::new();
    for _ in 0..cold {
        let browser = Browser::start().await?;
        let (ms, event) = measure(&browser.client, &app, &page).await?;
        by_event &= event;
        cold_runs.push(ms);
        browser.close().await;
    }
    let browser = Browser::start().await?;
    measure(&browser.client, &app, &page).await?; // fills the cache
    let mut warm_runs = Vec::new();
    for _ in 0..warm {
        let (ms, event) = measure(&browser.client, &app, &page).await?;
        by_event &= event;
        warm_runs.push(ms);
    }
    browser.close().await;
    println!(
        "bench: measured to {} (headless Chromium, localhost, verifier in the debug build)",
        if by_event { "the checkout:ready event" } else { "the first enabled pay button" }
    );
    summary("cold (fresh profile)", &mut cold_runs);
    summary("warm (cached)", &mut warm_runs);
    Ok(())
}

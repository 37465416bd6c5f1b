//! `widget-speed`: how long the widget takes from its script tag to `checkout:ready`, and how
//! many bytes it costs, in headless Chromium, against a running verifier (run by
//! `cargo xtask bench`; not a test: it prints figures).
//!
//! **Time.** A shop page on another origin inserts the loader's `<script>` and records
//! `performance.now()` just before, then the moment the widget is ready: the `checkout:ready`
//! event on the host element, else the first time its pay button exists and is enabled (a
//! MutationObserver on the host element and the widget's shadow root). Cold runs (first visit)
//! each use a fresh browser profile (empty cache); warm runs (return visit) reload in one
//! browser after a first visit. With `--emulate-3g`, every run happens under Chromium's network
//! emulation (400 kbit/s both ways, 400 ms round trip) and a 4× CPU slowdown, set through
//! chromedriver's `POST /session/{id}/goog/cdp/execute` (Chrome DevTools Protocol
//! `Network.emulateNetworkConditions` and `Emulation.setCPUThrottlingRate`,
//! <https://chromedevtools.github.io/devtools-protocol/>).
//!
//! **Bytes** (`--bytes`). The verifier's own payment page (`GET /pay/{id}`, same origin as the
//! widget, so the Resource Timing API reports sizes) is opened twice in one browser, for two
//! checkouts: the `transferSize` of every widget resource (what came over the network, headers
//! included; 0 when the browser used its cache without asking) on the first and the return
//! visit. Each resource is also fetched once with `Accept-Encoding: br, gzip` to report the
//! encoding and `Cache-Control` the verifier sends.
//!
//! Usage: `widget-speed --verifier URL --key SECRET_KEY [--cold N] [--warm N] [--emulate-3g]
//! [--bytes]`; prints one JSON object on stdout, a summary on stderr.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use e2e::browser::{Browser, Cdp, PageServer};
use fantoccini::Client;
use serde_json::{Value, json};

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

#[derive(Parser, Debug)]
#[command(name = "widget-speed")]
struct Cli {
    /// The running verifier, e.g. `http://127.0.0.1:18080`.
    #[arg(long)]
    verifier: String,
    /// The merchant's secret key (to create the checkouts).
    #[arg(long, env = "BENCH_MERCHANT_KEY", hide_env_values = true)]
    key: String,
    /// First visits, each in a fresh profile.
    #[arg(long, default_value_t = 5)]
    cold: usize,
    /// Return visits, in one browser after a first visit.
    #[arg(long, default_value_t = 10)]
    warm: usize,
    /// 3G (400 kbit/s, 400 ms round trip) and a 4× slower CPU.
    #[arg(long)]
    emulate_3g: bool,
    /// Also measure the bytes of a first and a return visit.
    #[arg(long)]
    bytes: bool,
    /// The shop page's port on 127.0.0.1 (0: a free one): the verifier's `[public_api]
    /// allowed_origins` must name `http://127.0.0.1:<port>` for the widget's calls.
    #[arg(long, default_value_t = 0)]
    shop_port: u16,
}

/// Emulates 3G and a 4× slower CPU in this browser's page.
async fn emulate_3g(c: &Client) -> anyhow::Result<()> {
    // 400 kbit/s = 50,000 bytes/s each way.
    let commands = [
        Cdp { cmd: "Network.enable", params: json!({}) },
        Cdp {
            cmd: "Network.emulateNetworkConditions",
            params: json!({"offline": false, "latency": 400, "downloadThroughput": 50_000,
                           "uploadThroughput": 50_000}),
        },
        Cdp { cmd: "Emulation.setCPUThrottlingRate", params: json!({"rate": 4}) },
    ];
    for cmd in commands {
        let name = cmd.cmd;
        c.issue_cmd(cmd).await.with_context(|| format!("CDP {name}"))?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    /// A new checkout's id and client secret.
    async fn checkout(&self) -> anyhow::Result<(String, String)> {
        let reference = format!("speed-{}", uuid::Uuid::new_v4());
        let r = self
            .http
            .post(format!("{}/v1/checkouts", self.url))
            .bearer_auth(&self.key)
            .json(&json!({"amount": 5000, "currency": "XOF", "reference": reference, "description": "Bench"}))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("create answered {status}: {body}");
        }
        Ok((
            body["id"].as_str().context("an id")?.to_owned(),
            body["client_secret"].as_str().context("a client secret")?.to_owned(),
        ))
    }
}

/// One measurement: milliseconds, and whether it ended on `checkout:ready`.
async fn measure(c: &Client, api: &Api, page: &str, within: Duration) -> anyhow::Result<(f64, bool)> {
    let (_, secret) = api.checkout().await?;
    c.goto(&format!("{page}?v={}&s={secret}", api.url)).await?;
    let deadline = tokio::time::Instant::now() + within;
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
            bail!("the widget did not become interactive within {within:?}: {b}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summary(label: &str, mut runs: Vec<f64>) -> Value {
    runs.sort_by(f64::total_cmp);
    let n = runs.len();
    let rank = |p: f64| runs[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    let median = if n % 2 == 1 { runs[n / 2] } else { (runs[n / 2 - 1] + runs[n / 2]) / 2.0 };
    eprintln!(
        "widget-speed: script tag → ready, {label}, {n} runs: min {:.0} ms, median {median:.0} ms, p95 {:.0} ms",
        runs[0],
        rank(0.95)
    );
    json!({"runs": n, "min_ms": runs[0], "median_ms": median, "p95_ms": rank(0.95)})
}

/// The widget's resources on the current page: `[{name, transfer, encoded, decoded}]`.
async fn widget_resources(c: &Client) -> anyhow::Result<Vec<Value>> {
    let list = c
        .execute(
            "return performance.getEntriesByType('resource')
               .filter(e => { const p = new URL(e.name).pathname;
                              return p.startsWith('/widget/') || p.endsWith('.wasm'); })
               .map(e => ({name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize,
                           decoded: e.decodedBodySize, done: e.responseEnd > 0}));",
            vec![],
        )
        .await?;
    Ok(list.as_array().cloned().unwrap_or_default())
}

/// Opens the verifier's payment page of a new checkout and waits until the wasm arrived and
/// the widget rendered; returns its resources.
async fn visit(c: &Client, api: &Api) -> anyhow::Result<Vec<Value>> {
    let (id, secret) = api.checkout().await?;
    c.goto(&format!("{}/pay/{id}#{secret}", api.url)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = widget_resources(c).await?;
        let rendered = c
            .execute(
                "const m = document.querySelector('.ckw-mount'); const r = (m && m.shadowRoot) || document;
                 return !!r.querySelector('.ckw-pay');",
                vec![],
            )
            .await?;
        let wasm_done = list.iter().any(|e| {
            e["name"].as_str().is_some_and(|n| n.contains(".wasm")) && e["done"].as_bool() == Some(true)
        });
        if wasm_done && rendered.as_bool() == Some(true) {
            return Ok(list);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the payment page's widget did not load within 60 s: {list:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the verifier sends for `url` to a client that accepts brotli and gzip.
async fn as_served(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let r = http.get(url).header("accept-encoding", "br, gzip").send().await?;
    let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (encoding, cache) = (header("content-encoding"), header("cache-control"));
    let bytes = r.bytes().await?.len();
    Ok(json!({"url": url, "bytes": bytes, "content_encoding": encoding, "cache_control": cache}))
}

async fn bytes(api: &Api) -> anyhow::Result<Value> {
    let browser = Browser::start().await?;
    let first = visit(&browser.client, api).await;
    let back = match &first {
        Ok(_) => visit(&browser.client, api).await,
        Err(_) => Ok(Vec::new()),
    };
    browser.close().await;
    let (first, back) = (first?, back?);
    let total = |l: &[Value]| l.iter().map(|e| e["transfer"].as_u64().unwrap_or(0)).sum::<u64>();
    let mut served = Vec::new();
    for e in &first {
        if let Some(url) = e["name"].as_str() {
            served.push(as_served(&api.http, url).await?);
        }
    }
    let (first_total, back_total) = (total(&first), total(&back));
    eprintln!(
        "widget-speed: widget bytes over the network: first visit {first_total}, return visit {back_total}"
    );
    Ok(json!({"first_visit": first_total, "return_visit": back_total, "first": first, "return": back,
              "served": served}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // No automatic decompression (reqwest's features leave it out): sizes are as sent.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let api = Api { http, url: cli.verifier.trim_end_matches('/').to_owned(), key: cli.key };
    let within = if cli.emulate_3g { Duration::from_secs(60) } else { Duration::from_secs(20) };
    let shop = PageServer::start_on(cli.shop_port).await?;
    let page = shop.add("/speed", PAGE.to_owned(), None);

    let mut by_event = true;
    let mut cold_runs = Vec::new();
    for _ in 0..cli.cold.max(1) {
        let browser = Browser::start().await?;
        if cli.emulate_3g {
            emulate_3g(&browser.client).await?;
        }
        let (ms, event) = measure(&browser.client, &api, &page, within).await?;
        by_event &= event;
        cold_runs.push(ms);
        browser.close().await;
    }
    let browser = Browser::start().await?;
    if cli.emulate_3g {
        emulate_3g(&browser.client).await?;
    }
    measure(&browser.client, &api, &page, within).await?; // fills the cache
    let mut warm_runs = Vec::new();
    for _ in 0..cli.warm.max(1) {
        let (ms, event) = measure(&browser.client, &api, &page, within).await?;
        by_event &= event;
        warm_runs.push(ms);
    }
    browser.close().await;
    let conditions = if cli.emulate_3g { "3G (400 kbit/s, 400 ms RTT), CPU 4× slower" } else { "localhost" };
    let out = json!({
        "conditions": conditions,
        "measured_to": if by_event { "checkout:ready" } else { "the first enabled pay button" },
        "cold": summary(&format!("cold (first visit), {conditions}"), cold_runs),
        "warm": summary(&format!("warm (return visit), {conditions}"), warm_runs),
        "bytes": if cli.bytes { bytes(&api).await? } else { Value::Null },
    });
    println!("{out}");
    Ok(())
}

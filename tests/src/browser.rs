//! A headless Chromium driven through chromedriver (WebDriver), for browser tests.
//!
//! Uses Debian's `chromium` and `chromedriver` (`cargo xtask test` installs them when they are
//! missing). Each browser gets a fresh profile and a chromedriver of its own on a free port.
//!
//! Helpers reach the widget through its open shadow root (`.ckw-mount`'s), or the light DOM
//! when it has none; run axe-core's audit on a page (`AXE_CORE_JS`, installed from npm by
//! `cargo xtask test`); measure an element's layout ([`widget_box`]) in a viewport of a given
//! size ([`viewport`], Chrome DevTools' device emulation through chromedriver); and serve a
//! merchant's page from another origin with its own CSP.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element, error::CmdError};
use serde_json::json;
use tokio::process::{Child, Command};

/// A running headless browser.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn find(env: &str, candidates: &[&str]) -> Option<String> {
    std::env::var(env)
        .ok()
        .or_else(|| candidates.iter().find(|c| std::path::Path::new(c).exists()).map(|c| (*c).to_owned()))
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self._driver.id() {
            // The whole group: chromedriver and every Chromium process under it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> anyhow::Result<Browser> {
        let driver = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]).context(
            "chromedriver not found: run `cargo xtask test`, which installs Debian's chromium and chromium-driver",
        )?;
        let chromium = find("CHROMIUM", &["/usr/bin/chromium"]).context(
            "chromium not found: run `cargo xtask test`, which installs Debian's chromium and chromium-driver",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, so that dropping the browser also ends the Chromium
            // processes chromedriver started (a failing test never closes its session).
            .process_group(0)
            .spawn()
            .with_context(|| format!("failed to start {driver}"))?;
        let profile = tempfile::tempdir()?;
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=420,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => bail!("capabilities must be an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Ok(Browser { client, _driver: child, _profile: profile }),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("could not open a browser session through {driver}: {last:?}")
    }

    /// Ends the session (the driver and its Chromium are killed on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`
/// (`client.issue_cmd(Cdp { … })`).
#[derive(Debug)]
pub struct Cdp {
    /// The command, e.g. `Emulation.setDeviceMetricsOverride`.
    pub cmd: &'static str,
    /// Its parameters.
    pub params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.cmd, "params": self.params}).to_string()))
    }
}

/// Gives the page a viewport of `width` × `height` CSS pixels, as a phone (`mobile`: a touch
/// screen) or a computer shows it (Chrome DevTools' device emulation).
pub async fn viewport(c: &Client, width: u32, height: u32, mobile: bool) -> anyhow::Result<()> {
    let metrics = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
    c.issue_cmd(Cdp { cmd: "Emulation.setDeviceMetricsOverride", params: metrics }).await?;
    c.issue_cmd(Cdp { cmd: "Emulation.setTouchEmulationEnabled", params: json!({"enabled": mobile}) })
        .await?;
    Ok(())
}

/// The layout of the widget's element `css` (in the widget mounted in `host`): its bounding
/// box, how many line boxes it has, its line height, and the viewport's size; `None` when the
/// widget has no such element.
pub async fn widget_box(c: &Client, host: &str, css: &str) -> anyhow::Result<Option<ElementBox>> {
    let v = c
        .execute(
            "const h = document.querySelector(arguments[0]); if (!h) return null;
             const m = h.querySelector('.ckw-mount');
             const root = (m && m.shadowRoot) || h;
             const el = root.querySelector(arguments[1]); if (!el) return null;
             const r = el.getBoundingClientRect();
             return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width,
                     height: r.height, lines: el.getClientRects().length,
                     line_height: parseFloat(getComputedStyle(el).lineHeight),
                     viewport_width: innerWidth, viewport_height: innerHeight};",
            vec![json!(host), json!(css)],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// What [`widget_box`] measures, in CSS pixels.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct ElementBox {
    /// The bounding box's top, from the viewport's top.
    pub top: f64,
    /// Its bottom.
    pub bottom: f64,
    /// Its left side.
    pub left: f64,
    /// Its right side.
    pub right: f64,
    /// Its width.
    pub width: f64,
    /// Its height.
    pub height: f64,
    /// How many boxes it breaks into (an inline element: one per line it spans).
    pub lines: u32,
    /// Its computed `line-height`.
    pub line_height: f64,
    /// The viewport's width (`innerWidth`).
    pub viewport_width: f64,
    /// The viewport's height (`innerHeight`).
    pub viewport_height: f64,
}

/// How long the browser helpers wait for the widget by default.
pub const WAIT: Duration = Duration::from_secs(20);

/// Finds `css` in the widget mounted in the element `host` (a CSS selector): inside the open
/// shadow root of its `.ckw-mount` when there is one, else in the light DOM (the widget before
/// it rendered into a shadow root).
pub async fn widget_find(c: &Client, host: &str, css: &str) -> Result<Element, CmdError> {
    let host_el = c.find(Locator::Css(host)).await?;
    let mount = host_el.find(Locator::Css(".ckw-mount")).await?;
    match mount.shadow_root().await {
        Ok(root) => root.find(Locator::Css(css)).await,
        Err(_) => mount.find(Locator::Css(css)).await,
    }
}

/// Waits until [`widget_find`] finds `css`, for at most `within`.
pub async fn widget_wait(c: &Client, host: &str, css: &str, within: Duration) -> anyhow::Result<Element> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match widget_find(c, host, css).await {
            Ok(e) => return Ok(e),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                let text = widget_text(c, host).await.unwrap_or_default();
                bail!("no {css} in the widget of {host} after {within:?} ({e}); the widget shows: {text:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Waits until the widget of `host` shows the screen `name` (its `data-screen`).
pub async fn widget_screen(c: &Client, host: &str, name: &str) -> anyhow::Result<Element> {
    widget_wait(c, host, &format!(".ckw[data-screen={name}]"), WAIT).await
}

/// Picks the payment method `method` (its radio button's value) in the widget of `host`.
pub async fn widget_choose(c: &Client, host: &str, method: &str) -> anyhow::Result<()> {
    widget_wait(c, host, &format!("input[name=method][value={method}]"), WAIT).await?.click().await?;
    Ok(())
}

/// Replaces what the widget's field `name` holds with `text`, typed as a customer would.
pub async fn widget_type(c: &Client, host: &str, name: &str, text: &str) -> anyhow::Result<()> {
    let input = widget_wait(c, host, &format!("input[name={name}]"), WAIT).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

/// The widget's visible text (through its shadow root when it has one).
pub async fn widget_text(c: &Client, host: &str) -> anyhow::Result<String> {
    let text = c
        .execute(
            "const h = document.querySelector(arguments[0]); if (!h) return '';
             const m = h.querySelector('.ckw-mount');
             const root = (m && m.shadowRoot) || h;
             return root.textContent || '';",
            vec![json!(host)],
        )
        .await?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

/// One axe-core violation: rule id, impact, and the number of elements it names.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule checks.
    pub help: String,
    /// The offending elements' selectors.
    pub targets: Vec<serde_json::Value>,
}

/// Where axe-core's `axe.min.js` is: `AXE_CORE_JS`, else where `cargo xtask test` installs it
/// (`target/tools/node_modules/axe-core/axe.min.js`).
pub fn axe_core_js() -> std::path::PathBuf {
    std::env::var_os("AXE_CORE_JS").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tools/node_modules/axe-core/axe.min.js")
    })
}

/// Runs axe-core (WCAG 2 A/AA rules) on the current document, open shadow roots included, and
/// returns every violation.
pub async fn axe_audit(c: &Client) -> anyhow::Result<Vec<Violation>> {
    let path = axe_core_js();
    let source = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "axe-core not found at {}: run `cargo xtask test`, which installs it from npm",
            path.display()
        )
    })?;
    // WebDriver scripts run outside the page's CSP, so axe loads on strict pages too.
    c.execute(&format!("{source}\n;return typeof axe;"), vec![]).await.context("injecting axe-core")?;
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                      targets: v.nodes.map(n => n.target)}))))
               .catch(e => done({error: String(e)}));",
            vec![],
        )
        .await
        .context("running axe-core")?;
    if let Some(error) = result.get("error") {
        bail!("axe-core failed: {error}");
    }
    Ok(serde_json::from_value(result)?)
}

/// Fails when axe-core finds a serious or critical violation on the current screen.
pub async fn assert_accessible(c: &Client, screen: &str) {
    let violations = axe_audit(c).await.expect("axe-core runs");
    let bad: Vec<_> =
        violations.iter().filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical"))).collect();
    assert!(bad.is_empty(), "axe-core on the {screen} screen: serious or critical violations: {bad:#?}");
}

/// The pages a [`PageServer`] serves: path → (body, Content-Security-Policy).
type Pages = Arc<Mutex<HashMap<String, (String, Option<String>)>>>;

/// A tiny web server on another origin (127.0.0.1 port 0) serving the pages a test adds, each
/// with its own Content-Security-Policy: a merchant's page embedding the widget.
#[derive(Debug, Clone)]
pub struct PageServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pages: Pages,
}

impl PageServer {
    /// Starts the server on a free port (it stops with the test's runtime).
    pub async fn start() -> anyhow::Result<PageServer> {
        PageServer::start_on(0).await
    }

    /// Starts the server on 127.0.0.1:`port` (0: a free one), for a verifier configured with
    /// its origin beforehand (`[public_api] allowed_origins`).
    pub async fn start_on(port: u16) -> anyhow::Result<PageServer> {
        let pages: Pages = Arc::default();
        let shared = pages.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let pages = shared.clone();
            async move {
                use axum::response::IntoResponse;
                let page = pages.lock().expect("pages").get(uri.path()).cloned();
                match page {
                    Some((body, csp)) => {
                        let kind = if uri.path().ends_with(".js") {
                            "text/javascript; charset=utf-8"
                        } else {
                            "text/html; charset=utf-8"
                        };
                        let mut r = ([(axum::http::header::CONTENT_TYPE, kind)], body).into_response();
                        if let Some(csp) = csp.and_then(|c| c.parse().ok()) {
                            r.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
                        }
                        r
                    }
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(PageServer { url, pages })
    }

    /// Serves `body` at `path` (JavaScript if it ends in `.js`, else HTML) with the CSP `csp`
    /// (none if `None`); returns its URL.
    pub fn add(&self, path: &str, body: String, csp: Option<&str>) -> String {
        self.pages.lock().expect("pages").insert(path.to_owned(), (body, csp.map(str::to_owned)));
        format!("{}{path}", self.url)
    }
}

//! A headless Chromium driven through chromedriver (WebDriver), for browser tests.
//!
//! Uses Debian's `chromium` and `chromedriver` (`cargo xtask test` installs them when they are
//! missing). Each browser gets a fresh profile and a chromedriver of its own on a free port.

use std::{process::Stdio, time::Duration};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
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

    /// Ends the session (the driver is killed on drop).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

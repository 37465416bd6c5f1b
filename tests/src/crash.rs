//! A verifier run as a child process (`verifier-crashable`) that tests kill with SIGKILL at a
//! named crash point and start again on the same database (a SQLite file, or a PostgreSQL
//! database of its own with `E2E_DATABASE=postgres`: [`crate::database`]), with the NovaSend sandbox and
//! the merchant's webhook endpoint living in the test process so that they outlive the verifier.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use sandboxes::novasend::{Merchant, SandboxConfig};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

use crate::{MERCHANT_KEY, MERCHANT_WEBHOOK_SECRET, NOVASEND_CLIENT, NOVASEND_KEY, WEBHOOK_SECRET};

/// One webhook the merchant's endpoint accepted, its signature already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantNotice {
    /// `webhook-id`: the event's id.
    pub id: String,
    /// The event's `type`.
    pub kind: String,
}

/// The merchant's webhook endpoint: checks each signature (a bad one is answered 400 and not
/// recorded), records what it accepted, answers 204.
#[derive(Debug, Clone, Default)]
pub struct MerchantEndpoint {
    seen: std::sync::Arc<std::sync::Mutex<Vec<MerchantNotice>>>,
}

impl MerchantEndpoint {
    /// Starts the endpoint on a free port; its URL and the endpoint.
    pub async fn start() -> anyhow::Result<(String, MerchantEndpoint)> {
        let endpoint = MerchantEndpoint::default();
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(merchant_receive))
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((url, endpoint))
    }

    /// Everything accepted so far, in order (a redelivery appears again with the same id).
    pub fn seen(&self) -> Vec<MerchantNotice> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn merchant_receive(
    axum::extract::State(endpoint): axum::extract::State<MerchantEndpoint>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let Ok(secret) = server::outbox::WebhookSecret::parse(MERCHANT_WEBHOOK_SECRET) else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    };
    let expected = timestamp.parse().map(|t| secret.sign(&id, t, &body));
    if expected.ok().as_deref() != Some(header("webhook-signature").as_str()) {
        return axum::http::StatusCode::BAD_REQUEST;
    }
    let kind = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    endpoint.seen.lock().unwrap_or_else(|e| e.into_inner()).push(MerchantNotice { id, kind });
    axum::http::StatusCode::NO_CONTENT
}

/// A verifier process, its fixed port and database, and the sandbox it talks to.
#[derive(Debug)]
pub struct CrashableVerifier {
    /// `http://127.0.0.1:<port>`, the same across restarts.
    pub url: String,
    /// The NovaSend sandbox (in this process; it survives the kills).
    pub novasend_url: String,
    /// A client for both.
    pub http: reqwest::Client,
    /// The merchant's webhook endpoint (in this process; it survives the kills).
    pub merchant: MerchantEndpoint,
    binary: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    lines: Option<mpsc::UnboundedReceiver<String>>,
    _sandbox: sandboxes::Running,
    _dir: tempfile::TempDir,
    /// Last: dropped after the child process is killed.
    _database: crate::Database,
}

/// The `verifier-crashable` example, built (once per test process) with the cargo that runs the
/// tests, into the same target directory and profile: a filtered `cargo test` that did not build
/// examples still runs the current code, never a stale binary. `--workspace` resolves features
/// as `cargo test --workspace` does, so after that command this build has nothing to do.
pub fn crashable_binary() -> anyhow::Result<PathBuf> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = std::process::Command::new(cargo);
            cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
                "build",
                "--quiet",
                "--locked",
                "--workspace",
                "--example",
                "verifier-crashable",
            ]);
            if !cfg!(debug_assertions) {
                cmd.arg("--release");
            }
            let out = cmd.output().map_err(|e| format!("running cargo: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cargo build --example verifier-crashable failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            // The test binary is `<target>/<profile>/deps/<name>`; examples sit beside `deps`.
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).ok_or("no target directory")?;
            Ok(profile_dir.join("examples").join("verifier-crashable"))
        })
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

impl CrashableVerifier {
    /// Starts the sandbox and writes the verifier's configuration (nothing runs yet); `binary`
    /// is the `verifier-crashable` executable ([`crashable_binary`]).
    pub async fn prepare(binary: &std::path::Path) -> anyhow::Result<CrashableVerifier> {
        let dir = tempfile::tempdir()?;
        let database = crate::Database::fresh(Some(dir.path())).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}");
        let sandbox = sandboxes::novasend::start(
            SandboxConfig { listen: "127.0.0.1:0".parse()?, confirm_delay_ms: 300, expire_after_ms: 60_000 },
            Merchant {
                api_key: NOVASEND_KEY.into(),
                api_client: NOVASEND_CLIENT.into(),
                webhook_url: format!("{url}/webhooks/nova_send"),
                webhook_secret: WEBHOOK_SECRET.into(),
            },
        )
        .await?;
        let (hooks_url, merchant) = MerchantEndpoint::start().await?;
        let config = dir.path().join("verifier.toml");
        std::fs::write(
            &config,
            format!(
                r#"listen = "127.0.0.1:{port}"
database_url = "{db}"
widget_dir = "{widget}"
[merchant]
name = "Boutique Crash"
secret_key = "{MERCHANT_KEY}"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 300
[novasend]
mode = "test"
base_url = "{novasend}"
api_key = "{NOVASEND_KEY}"
api_client = "{NOVASEND_CLIENT}"
webhook_secret = "{WEBHOOK_SECRET}"
timeout_ms = 10000
[merchant_webhooks]
url = "{hooks_url}"
secret = "{MERCHANT_WEBHOOK_SECRET}"
# Short, so that a send cut by a kill is claimed again soon (its lease is this plus 5 s).
timeout_ms = 1000
retry_delays_ms = [200, 500, 1000, 2000]
"#,
                db = database.url(),
                widget = crate::widget_dir().display(),
                novasend = sandbox.base_url(),
            ),
        )?;
        Ok(CrashableVerifier {
            url,
            novasend_url: sandbox.base_url(),
            http: reqwest::Client::new(),
            merchant,
            binary: binary.into(),
            config,
            child: None,
            lines: None,
            _sandbox: sandbox,
            _dir: dir,
            _database: database,
        })
    }

    /// Starts the verifier, with `crash_at` armed if given, and waits until it serves.
    pub async fn start(&mut self, crash_at: Option<&str>) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("the verifier is already running");
        }
        let mut cmd = Command::new(&self.binary);
        cmd.arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match crash_at {
            Some(point) => cmd.env("VERIFIER_CRASH_AT", point),
            None => cmd.env_remove("VERIFIER_CRASH_AT"),
        };
        let mut child = cmd.spawn().context("starting verifier-crashable")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        self.lines = Some(rx);
        self.wait_for_line("verifier ready on", Duration::from_secs(20)).await?;
        Ok(())
    }

    /// Waits until the armed crash point is reached.
    pub async fn wait_for_crash_point(&mut self, point: &str) -> anyhow::Result<()> {
        let marker = format!("{}{point}", server::crashpoints::REACHED);
        self.wait_for_line(&marker, Duration::from_secs(30)).await
    }

    async fn wait_for_line(&mut self, starts: &str, within: Duration) -> anyhow::Result<()> {
        let lines = self.lines.as_mut().context("the verifier is not running")?;
        let found = tokio::time::timeout(within, async {
            while let Some(line) = lines.recv().await {
                if line.starts_with(starts) {
                    return true;
                }
            }
            false
        })
        .await;
        match found {
            Ok(true) => Ok(()),
            Ok(false) => bail!("the verifier exited before printing {starts:?}"),
            Err(_) => bail!("the verifier did not print {starts:?} within {within:?}"),
        }
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let mut child = self.child.take().context("the verifier is not running")?;
        child.start_kill()?;
        let status = child.wait().await?;
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            bail!("the verifier ended with {status} instead of being killed");
        }
        self.lines = None;
        Ok(())
    }

    /// `POST /v1/checkouts` for `amount` XOF; returns (id, client secret).
    pub async fn create_checkout(&self, amount: u64, reference: &str) -> anyhow::Result<(String, String)> {
        let body: serde_json::Value = self
            .http
            .post(format!("{}/v1/checkouts", self.url))
            .bearer_auth(MERCHANT_KEY)
            .json(&serde_json::json!({"amount": amount, "currency": "XOF", "reference": reference}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok((
            body["id"].as_str().context("id")?.to_owned(),
            body["client_secret"].as_str().context("client_secret")?.to_owned(),
        ))
    }

    /// `GET` of a merchant API path (`/v1/…`) with the merchant key, as JSON.
    async fn merchant_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.http.get(format!("{}{path}", self.url)).bearer_auth(MERCHANT_KEY).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// The merchant's view of a checkout.
    pub async fn checkout(&self, id: &str) -> anyhow::Result<serde_json::Value> {
        self.merchant_get(&format!("/v1/checkouts/{id}")).await
    }

    /// The checkout's history (state changes with their causes).
    pub async fn history(&self, id: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        self.merchant_get(&format!("/v1/checkouts/{id}/history")).await
    }

    /// Waits until the checkout has `status`, or returns the last view.
    pub async fn wait_for_status(&self, id: &str, status: &str, within: Duration) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let view = self.checkout(id).await.unwrap_or_default();
            if view["status"] == status || tokio::time::Instant::now() >= deadline {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /v1/checkouts/{id}/events`: the checkout's events and their delivery states.
    pub async fn events(&self, id: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        self.merchant_get(&format!("/v1/checkouts/{id}/events")).await
    }

    /// Waits until every event of the checkout is delivered (or `within` passes); returns them.
    pub async fn wait_for_deliveries(&self, id: &str, within: Duration) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let events = self.events(id).await.unwrap_or_default();
            let done = !events.is_empty() && events.iter().all(|e| e["delivery"] == "delivered");
            if done || tokio::time::Instant::now() >= deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The payins the sandbox holds.
    pub async fn sandbox_payins(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        Ok(self.http.get(format!("{}/_sandbox/payins", self.novasend_url)).send().await?.json().await?)
    }
}

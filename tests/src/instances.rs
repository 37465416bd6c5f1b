//! Two verifier processes (`verifier-crashable`, crash points compiled in) on one PostgreSQL
//! database, a fresh one made beside `TEST_DATABASE_URL`'s, with the NovaSend sandbox and the
//! merchant's webhook endpoint in the test process (they outlive a killed instance). The
//! sandbox sends its webhooks to one chosen instance, as a load balancer might.
//!
//! [`test_database_url`] answers `None`, after printing why, when `TEST_DATABASE_URL` names no
//! PostgreSQL server (the test command always sets it).

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use sandboxes::novasend::{Merchant, SandboxConfig};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

use crate::{
    MERCHANT_KEY, MERCHANT_WEBHOOK_SECRET, NOVASEND_CLIENT, NOVASEND_KEY, WEBHOOK_SECRET,
    crash::MerchantEndpoint, database::PgDatabase,
};

/// Which instance the provider's webhooks reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhooksTo {
    /// The first.
    A,
    /// The second.
    B,
}

/// Two instances on one database.
#[derive(Debug)]
pub struct Instances {
    /// The first instance (not started).
    pub a: Instance,
    /// The second instance (not started).
    pub b: Instance,
    /// The NovaSend sandbox.
    pub novasend_url: String,
    /// The merchant's webhook endpoint, shared by both.
    pub merchant: MerchantEndpoint,
    /// A client.
    pub http: reqwest::Client,
    _database: PgDatabase,
    _sandbox: sandboxes::Running,
    _dir: tempfile::TempDir,
}

/// One verifier process, its fixed port and configuration.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    binary: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    lines: Option<mpsc::UnboundedReceiver<String>>,
}

/// The PostgreSQL database the tests may use, or `None` after printing a skip line.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"));
    if url.is_none() {
        println!("skipped: TEST_DATABASE_URL names no PostgreSQL database (two-instance tests)");
    }
    url
}

impl Instances {
    /// Prepares two instances on a new database (neither runs yet): the sandbox sends its
    /// webhooks to `webhooks_to`; both fetch statuses every `poll_interval_ms`.
    pub async fn prepare(
        binary: &std::path::Path,
        admin_url: &str,
        webhooks_to: WebhooksTo,
        poll_interval_ms: u64,
    ) -> anyhow::Result<Instances> {
        let dir = tempfile::tempdir()?;
        let database = PgDatabase::create_on(admin_url).await?;
        let port = || -> anyhow::Result<u16> {
            Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
        };
        let (url_a, url_b) =
            (format!("http://127.0.0.1:{}", port()?), format!("http://127.0.0.1:{}", port()?));
        let hooked = if webhooks_to == WebhooksTo::A { &url_a } else { &url_b };
        let sandbox = sandboxes::novasend::start(
            SandboxConfig { listen: "127.0.0.1:0".parse()?, confirm_delay_ms: 300, expire_after_ms: 60_000 },
            Merchant {
                api_key: NOVASEND_KEY.into(),
                api_client: NOVASEND_CLIENT.into(),
                webhook_url: format!("{hooked}/webhooks/nova_send"),
                webhook_secret: WEBHOOK_SECRET.into(),
            },
        )
        .await?;
        let (hooks_url, merchant) = MerchantEndpoint::start().await?;
        let config = |name: &str, url: &str| -> anyhow::Result<PathBuf> {
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(
                &path,
                format!(
                    r#"listen = "{listen}"
database_url = "{database}"
widget_dir = "{widget}"
[merchant]
name = "Boutique Deux"
secret_key = "{MERCHANT_KEY}"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = {poll_interval_ms}
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
timeout_ms = 1000
retry_delays_ms = [200, 500, 1000, 2000]
"#,
                    listen = url.trim_start_matches("http://"),
                    database = database.url(),
                    widget = crate::widget_dir().display(),
                    novasend = sandbox.base_url(),
                ),
            )?;
            Ok(path)
        };
        let instance = |name: &str, url: String| -> anyhow::Result<Instance> {
            Ok(Instance { config: config(name, &url)?, url, binary: binary.into(), child: None, lines: None })
        };
        Ok(Instances {
            a: instance("a", url_a)?,
            b: instance("b", url_b)?,
            novasend_url: sandbox.base_url(),
            merchant,
            http: reqwest::Client::new(),
            _database: database,
            _sandbox: sandbox,
            _dir: dir,
        })
    }

    /// The payins the sandbox holds.
    pub async fn sandbox_payins(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        Ok(self.http.get(format!("{}/_sandbox/payins", self.novasend_url)).send().await?.json().await?)
    }

    /// Stops both instances; the database is dropped with `self`.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        for i in [&mut self.a, &mut self.b] {
            if let Some(mut child) = i.child.take() {
                child.start_kill()?;
                child.wait().await?;
            }
        }
        Ok(())
    }
}

impl Instance {
    /// Starts the process, with `crash_at` armed if given, and waits until it serves.
    pub async fn start(&mut self, crash_at: Option<&str>) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("the instance is already running");
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
        match self.wait_for_line("verifier ready on", Duration::from_secs(30)).await {
            Ok(()) => Ok(()),
            Err(Exited(said)) => bail!("the instance did not start: {}", said.join("\n")),
        }
    }

    /// Waits until the armed crash point is reached.
    pub async fn wait_for_crash_point(&mut self, point: &str) -> anyhow::Result<()> {
        let marker = format!("{}{point}", server::crashpoints::REACHED);
        self.wait_for_line(&marker, Duration::from_secs(30))
            .await
            .map_err(|Exited(said)| anyhow::anyhow!("{point} was not reached: {}", said.join("\n")))
    }

    /// Waits for a line starting with `starts`; what the process said otherwise.
    async fn wait_for_line(&mut self, starts: &str, within: Duration) -> Result<(), Exited> {
        let Some(lines) = self.lines.as_mut() else { return Err(Exited(vec!["not running".into()])) };
        let mut said = Vec::new();
        let found = tokio::time::timeout(within, async {
            while let Some(line) = lines.recv().await {
                if line.starts_with(starts) {
                    return true;
                }
                said.push(line);
            }
            false
        })
        .await;
        match found {
            Ok(true) => Ok(()),
            Ok(false) => Err(Exited(said)),
            Err(_) => {
                said.push(format!("(nothing starting with {starts:?} within {within:?})"));
                Err(Exited(said))
            }
        }
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let mut child = self.child.take().context("the instance is not running")?;
        child.start_kill()?;
        let status = child.wait().await?;
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            bail!("the instance ended with {status} instead of being killed");
        }
        self.lines = None;
        Ok(())
    }

    /// `POST /v1/checkouts` for `amount` XOF; returns (id, client secret).
    pub async fn create_checkout(
        &self,
        http: &reqwest::Client,
        amount: u64,
        reference: &str,
    ) -> anyhow::Result<(String, String)> {
        let body: serde_json::Value = http
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
    pub async fn merchant_get(
        &self,
        http: &reqwest::Client,
        path: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let response = http.get(format!("{}{path}", self.url)).bearer_auth(MERCHANT_KEY).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// Polls the merchant API path until `done` holds or `within` passes; the last answer.
    pub async fn wait_for(
        &self,
        http: &reqwest::Client,
        path: &str,
        within: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let view = self.merchant_get(http, path).await.unwrap_or_default();
            if done(&view) || tokio::time::Instant::now() >= deadline {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The instance ended (or timed out) before the awaited line; what it printed.
#[derive(Debug)]
struct Exited(Vec<String>);

//! The merchant's webhook receivers of `docs/examples/webhooks/` (Python, Node, PHP), each run
//! as its own process with its language's Standard Webhooks library, behind a real verifier:
//! a payment through the NovaSend sandbox reaches the receiver, which verifies it, reads the
//! checkout back and records it; the same delivery sent again is acknowledged and not handled
//! twice; a tampered body or a forged id is refused with a 4xx.
//!
//! Between the verifier and the receiver sits a tap (an axum route of the test) that forwards
//! each delivery unchanged and returns the receiver's answer to the verifier, so the test holds
//! real deliveries to send again or tamper with. Python comes from the `standardwebhooks` venv
//! (`STANDARDWEBHOOKS_PYTHON`, as in [`crate::merchant_webhooks`]); Node's library from
//! `STANDARDWEBHOOKS_NODE_MODULES` (`cargo xtask test` installs npm `standardwebhooks` into
//! `target/tools/standardwebhooks`), installed there when missing. The PHP receiver is not run
//! here: its library comes from Packagist, which these machines cannot reach, and a test that
//! passes without running it would check nothing (its README says how to run it by hand).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use e2e::{MERCHANT_KEY, MERCHANT_WEBHOOK_SECRET, Options, TestApp};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const WAIT: Duration = Duration::from_secs(20);

/// The npm library the Node receiver uses, as its `package.json` pins it.
const NODE_LIBRARY: &str = "standardwebhooks@1.3.0";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/webhooks")
}

/// One delivery the tap forwarded.
#[derive(Debug, Clone)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: Bytes,
    answered: u16,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// Forwards the verifier's deliveries to the receiver (once it is up) and records them.
#[derive(Debug, Clone, Default)]
struct Tap {
    target: Arc<Mutex<Option<String>>>,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

impl Tap {
    async fn start() -> (String, Tap) {
        let tap = Tap::default();
        let app = Router::new().route("/hooks", post(forward)).with_state(tap.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("tap serves") });
        (url, tap)
    }

    fn seen(&self) -> Vec<Delivery> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn forward(State(tap): State<Tap>, headers: HeaderMap, body: Bytes) -> axum::http::StatusCode {
    let Some(target) = tap.target.lock().expect("lock").clone() else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("webhook-") || k.as_str() == "content-type")
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let answered = send(&target, &headers, body.clone()).await;
    tap.seen.lock().expect("lock").push(Delivery { headers, body, answered });
    axum::http::StatusCode::from_u16(answered).expect("a status")
}

/// POSTs `body` with `headers` to `url`; the answer's status.
async fn send(url: &str, headers: &[(String, String)], body: Bytes) -> u16 {
    let mut request = reqwest::Client::new().post(url).body(body).timeout(Duration::from_secs(15));
    for (k, v) in headers {
        request = request.header(k, v);
    }
    request.send().await.expect("the receiver answers").status().as_u16()
}

/// A receiver process, stopped when dropped.
struct Receiver {
    url: String,
    record: PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Receiver {
    /// Starts `program args` in `cwd` with the receiver's environment and waits (bounded) until
    /// it listens. `port`: `None` lets it pick one and print it (`listening on <url>`);
    /// `Some(p)` for a server that cannot print its port, then reached by connecting.
    async fn start(
        mut cmd: tokio::process::Command,
        verifier: &str,
        port: Option<u16>,
        dir: tempfile::TempDir,
    ) -> Receiver {
        let record = dir.path().join("record.jsonl");
        cmd.env("WEBHOOK_SECRET", MERCHANT_WEBHOOK_SECRET)
            .env("PORT", port.unwrap_or(0).to_string())
            .env("RECORD_FILE", &record)
            .env("STATE_DIR", dir.path())
            .env("VERIFIER_URL", verifier)
            .env("MERCHANT_SECRET_KEY", MERCHANT_KEY)
            .stdout(if port.is_none() { Stdio::piped() } else { Stdio::inherit() })
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("the receiver starts");
        let url = match port {
            None => {
                let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
                let first = tokio::time::timeout(WAIT, lines.next_line())
                    .await
                    .expect("the receiver says where it listens within the deadline")
                    .expect("its output")
                    .expect("a first line (did it exit?)");
                let url = first.strip_prefix("listening on ").expect("`listening on <url>`").to_owned();
                // Keep echoing what it prints: the test's output shows what it received.
                tokio::spawn(async move {
                    while let Ok(Some(line)) = lines.next_line().await {
                        println!("receiver: {line}");
                    }
                });
                url
            }
            Some(p) => {
                let deadline = tokio::time::Instant::now() + WAIT;
                while tokio::net::TcpStream::connect(("127.0.0.1", p)).await.is_err() {
                    assert!(child.try_wait().expect("status").is_none(), "the receiver exited at start");
                    assert!(tokio::time::Instant::now() < deadline, "the receiver does not listen on {p}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                format!("http://127.0.0.1:{p}/")
            }
        };
        Receiver { url, record, _child: child, _dir: dir }
    }

    /// What the receiver recorded: one JSON object per event handled.
    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits until a record satisfies `found`; returns the records then.
    async fn wait_record(&self, found: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let records = self.records();
            if records.iter().any(&found) || tokio::time::Instant::now() >= deadline {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The whole exchange for one receiver, started by `start` once the verifier is up.
async fn a_payment_reaches_the_receiver(start: impl AsyncFnOnce(&str) -> Receiver) {
    let (tap_url, tap) = Tap::start().await;
    let app =
        TestApp::spawn_with(Options { merchant_webhook_url: Some(tap_url), ..Options::default() }).await;
    let receiver = start(app.url.as_str()).await;
    *tap.target.lock().expect("lock") = Some(receiver.url.clone());

    let id = app.paid_checkout(5000).await.id;
    let records =
        receiver.wait_record(|r| r["type"] == "checkout.succeeded" && r["checkout"] == id.as_str()).await;
    let paid: Vec<&Value> = records.iter().filter(|r| r["type"] == "checkout.succeeded").collect();
    assert_eq!(paid.len(), 1, "one checkout.succeeded recorded: {records:?}");
    assert_eq!(paid[0]["status"], "succeeded");
    // The receiver read the checkout back with the merchant key before acting on it.
    assert_eq!(paid[0]["verified_status"], "succeeded", "{records:?}");
    let event_id = paid[0]["id"].as_str().expect("the event id").to_owned();
    assert!(event_id.starts_with("evt_"), "{event_id}");

    // The verifier got the receiver's 2xx and marks the event delivered.
    let deadline = tokio::time::Instant::now() + WAIT;
    let listed = loop {
        let listed = app.merchant_events(&id).await;
        let delivered = listed.iter().any(|e| e["id"] == event_id.as_str() && e["delivery"] == "delivered");
        if delivered || tokio::time::Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let event = listed.iter().find(|e| e["id"] == event_id.as_str()).expect("the event is listed");
    assert_eq!(event["delivery"], "delivered", "{listed:?}");
    assert_eq!(event["last_status"], 200, "{listed:?}");

    let delivery = tap
        .seen()
        .into_iter()
        .find(|d| d.header("webhook-id") == event_id)
        .expect("the tap saw the delivery");
    assert_eq!(delivery.answered, 200, "{delivery:?}");

    // The same delivery again (a retry): acknowledged, not handled a second time.
    assert_eq!(send(&receiver.url, &delivery.headers, delivery.body.clone()).await, 200);
    let again: Vec<Value> = receiver.records().into_iter().filter(|r| r["id"] == event_id.as_str()).collect();
    assert_eq!(again.len(), 1, "handled once: {again:?}");

    // A tampered body (the amount changed) and a forged id are refused.
    let body = String::from_utf8(delivery.body.to_vec()).expect("UTF-8");
    let tampered = body.replace("5000", "50");
    assert_ne!(tampered, body);
    let refused = send(&receiver.url, &delivery.headers, Bytes::from(tampered)).await;
    assert!((400..500).contains(&refused), "a tampered body must get a 4xx, got {refused}");
    let forged: Vec<(String, String)> =
        delivery
            .headers
            .iter()
            .map(|(k, v)| {
                if k == "webhook-id" { (k.clone(), "evt_forged".to_owned()) } else { (k.clone(), v.clone()) }
            })
            .collect();
    let refused = send(&receiver.url, &forged, delivery.body.clone()).await;
    assert!((400..500).contains(&refused), "another webhook-id must get a 4xx, got {refused}");
    assert!(
        receiver.records().iter().all(|r| r["id"] != "evt_forged"),
        "a refused delivery is not recorded: {:?}",
        receiver.records()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_receiver_verifies_records_and_refuses_tampering() {
    let python =
        tokio::task::spawn_blocking(crate::merchant_webhooks::reference_python).await.expect("python");
    a_payment_reaches_the_receiver(async move |verifier: &str| {
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(examples().join("python/receiver.py"));
        Receiver::start(cmd, verifier, None, tempfile::tempdir().expect("temp dir")).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_receiver_verifies_records_and_refuses_tampering() {
    let modules = tokio::task::spawn_blocking(node_modules).await.expect("node modules");
    a_payment_reaches_the_receiver(async move |verifier: &str| {
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(examples().join("node/receiver.js")).env("NODE_PATH", &modules);
        Receiver::start(cmd, verifier, None, tempfile::tempdir().expect("temp dir")).await
    })
    .await;
}

/// The `node_modules` holding npm `standardwebhooks`: `STANDARDWEBHOOKS_NODE_MODULES`, else
/// `target/tools/standardwebhooks/node_modules` (as `cargo xtask test` makes it), installed
/// there when missing.
fn node_modules() -> PathBuf {
    if let Some(dir) = std::env::var_os("STANDARDWEBHOOKS_NODE_MODULES") {
        return PathBuf::from(dir);
    }
    let prefix = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/standardwebhooks");
    let modules = prefix.join("node_modules");
    if !has_library(&modules) {
        let installed = std::process::Command::new("npm")
            .args(["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(NODE_LIBRARY)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed && has_library(&modules),
            "the Node receiver needs npm `{NODE_LIBRARY}`: run `cargo xtask test`, or `npm install --prefix \
             {} {NODE_LIBRARY}`, or point STANDARDWEBHOOKS_NODE_MODULES at a node_modules that has it",
            prefix.display()
        );
    }
    modules
}

fn has_library(modules: &Path) -> bool {
    modules.join("standardwebhooks/package.json").exists()
}

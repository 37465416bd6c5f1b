//! Webhooks to the merchant: a receiver in the test records what the verifier sends after real
//! payments through the NovaSend sandbox; signatures are checked by the reference Standard
//! Webhooks library from PyPI (`standardwebhooks`, run in a subprocess), not by our own code.
//! Retries keep the event id, redelivery sends it again, and a restart on the same database
//! delivers what was pending.

use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use e2e::{MERCHANT_KEY, MERCHANT_WEBHOOK_SECRET, Options, TestApp};
use serde_json::{Value, json};
use shared::status::CheckoutStatus;

const WAIT: Duration = Duration::from_secs(15);
/// The reference library's version the tests (and `cargo xtask test`) install.
const STANDARDWEBHOOKS: &str = "standardwebhooks==1.1.0";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// The merchant's endpoint: records every request and answers the scripted statuses (then 200).
#[derive(Debug, Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (String, Receiver) {
        let receiver =
            Receiver { seen: Arc::default(), script: Arc::new(Mutex::new(script.iter().copied().collect())) };
        let app = Router::new().route("/hooks", post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver serves") });
        (url, receiver)
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits until `count` requests of event type `kind` arrived; returns them.
    async fn wait_for(&self, kind: &str, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got: Vec<Received> = self.seen().into_iter().filter(|r| r.json()["type"] == kind).collect();
            if got.len() >= count || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    r.seen.lock().expect("lock").push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let status = r.script.lock().expect("lock").pop_front().unwrap_or(200);
    axum::http::StatusCode::from_u16(status).expect("a status")
}

/// The Python with the reference library: `STANDARDWEBHOOKS_PYTHON`, else a venv under
/// `target/` that `cargo xtask test` prepares, made here when missing.
pub(crate) fn reference_python() -> PathBuf {
    static READY: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = ready.as_ref() {
        return p.clone();
    }
    let python = match std::env::var_os("STANDARDWEBHOOKS_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/standardwebhooks-venv");
            let python = venv.join("bin/python");
            if !imports_library(&python) {
                eprintln!("installing the reference Standard Webhooks library into {}", venv.display());
                let made = std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
                let installed = made.is_ok_and(|s| s.success())
                    && std::process::Command::new(venv.join("bin/pip"))
                        .args(["install", "--quiet", STANDARDWEBHOOKS])
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    installed,
                    "these tests check signatures with the PyPI package `{STANDARDWEBHOOKS}`, which could not \
                     be installed into {}: run `cargo xtask test`, or `python3 -m venv {0}; {0}/bin/pip install \
                     {STANDARDWEBHOOKS}`, or point STANDARDWEBHOOKS_PYTHON at a python that has it",
                    venv.display()
                );
            }
            python
        }
    };
    assert!(
        imports_library(&python),
        "{} cannot import `standardwebhooks` (pip install {STANDARDWEBHOOKS})",
        python.display()
    );
    *ready = Some(python.clone());
    python
}

fn imports_library(python: &std::path::Path) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import standardwebhooks.webhooks"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Verifies with the reference library, as a merchant's Python backend would.
const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
req = json.load(sys.stdin)
try:
    Webhook(req["secret"]).verify(req["body"], req["headers"])
except Exception as e:
    print("refused:", type(e).__name__, e)
    sys.exit(1)
print("verified")
"#;

async fn reference_verifies(r: &Received, body: &str) -> bool {
    let python = tokio::task::spawn_blocking(reference_python).await.expect("python found");
    let input = json!({
        "secret": MERCHANT_WEBHOOK_SECRET,
        "body": body,
        "headers": {"webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature},
    });
    let mut child = tokio::process::Command::new(python)
        .args(["-c", VERIFY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.to_string().as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("python ends");
    let said = String::from_utf8_lossy(&out.stdout);
    match (out.status.success(), said.trim()) {
        (true, "verified") => true,
        (false, s) if s.starts_with("refused:") => false,
        (_, s) => panic!("the reference library did not run: {s} {}", String::from_utf8_lossy(&out.stderr)),
    }
}

async fn redeliver(app: &TestApp, event_id: &str, key: &str) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/v1/events/{event_id}/redeliver", app.url))
        .bearer_auth(key)
        .send()
        .await
        .expect("verifier reachable");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn with_endpoint(url: &str) -> Options {
    Options { merchant_webhook_url: Some(url.to_owned()), ..Options::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_is_announced_once_and_the_reference_library_verifies_it() {
    let (url, receiver) = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(with_endpoint(&url)).await;
    let id = app.paid_checkout(5000).await.id;

    let got = receiver.wait_for("checkout.succeeded", 1).await;
    assert_eq!(got.len(), 1, "{:?}", receiver.seen());
    let hook = &got[0];
    assert!(hook.id.starts_with("evt_"), "{hook:?}");
    let body = hook.json();
    assert_eq!(body["data"]["checkout"]["id"], id.as_str());
    assert_eq!(body["data"]["checkout"]["amount"], 5000);
    assert_eq!(body["data"]["checkout"]["currency"], "XOF");
    assert_eq!(body["data"]["checkout"]["status"], "succeeded");
    assert_eq!(body["data"]["attempt"]["provider"], "nova_send");
    assert!(body["timestamp"].as_str().is_some());

    assert!(reference_verifies(hook, &hook.body).await, "the reference library refused {hook:?}");
    let tampered = hook.body.replace("5000", "50");
    assert_ne!(tampered, hook.body);
    assert!(!reference_verifies(hook, &tampered).await, "a tampered body must be refused");
    let forged = Received { id: "evt_other".into(), ..hook.clone() };
    assert!(!reference_verifies(&forged, &hook.body).await, "another id must be refused");

    // Once: no second delivery of an accepted event.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.wait_for("checkout.succeeded", 2).await.len(), 1);
    let listed = app.merchant_events(&id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], hook.id.as_str());
    assert_eq!(listed[0]["type"], "checkout.succeeded");
    assert_eq!(listed[0]["delivery"], "delivered");
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[0]["last_status"], 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_endpoint_gets_the_same_event_again_and_redelivery_sends_it_once_more() {
    let (url, receiver) = Receiver::start(&[500, 500]).await;
    let app = TestApp::spawn_with(with_endpoint(&url)).await;
    let id = app.paid_checkout(5000).await.id;

    let got = receiver.wait_for("checkout.succeeded", 3).await;
    assert_eq!(got.len(), 3, "{:?}", receiver.seen());
    assert!(got.iter().all(|r| r.id == got[0].id), "one webhook-id for every retry: {got:?}");
    for r in &got {
        assert!(reference_verifies(r, &r.body).await, "{r:?}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listed = app.merchant_events(&id).await;
    assert_eq!(listed[0]["delivery"], "delivered", "{listed:?}");
    assert_eq!(listed[0]["attempts"], 3);

    // Redelivery on request: the same event, the same id, sent again.
    let (status, body) = redeliver(&app, &got[0].id, MERCHANT_KEY).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["id"], got[0].id.as_str());
    let again = receiver.wait_for("checkout.succeeded", 4).await;
    assert_eq!(again.len(), 4);
    assert_eq!(again[3].id, got[0].id);
    assert_eq!(again[3].body, got[0].body, "the stored body, unchanged");
    assert!(reference_verifies(&again[3], &again[3].body).await);

    assert_eq!(redeliver(&app, "evt_unknown", MERCHANT_KEY).await.0, 404);
    assert_eq!(redeliver(&app, &got[0].id, "mk_wrong").await.0, 401);
    let r = app.http.get(format!("{}/v1/checkouts/co_nope/events", app.url)).bearer_auth(MERCHANT_KEY);
    assert_eq!(r.send().await.expect("reachable").status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_end_and_the_event_stays_listed_as_failed() {
    let (url, receiver) = Receiver::start(&[503, 503, 503, 503]).await;
    let options = Options { merchant_webhook_retry_delays_ms: vec![100], ..with_endpoint(&url) };
    let app = TestApp::spawn_with(options).await;
    let id = app.paid_checkout(5000).await.id;
    assert_eq!(receiver.wait_for("checkout.succeeded", 2).await.len(), 2);
    let deadline = tokio::time::Instant::now() + WAIT;
    let listed = loop {
        let listed = app.merchant_events(&id).await;
        if listed[0]["delivery"] == "failed" || tokio::time::Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(listed[0]["delivery"], "failed", "{listed:?}");
    assert_eq!(listed[0]["attempts"], 2);
    assert_eq!(listed[0]["last_status"], 503);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.seen().len(), 2, "no send after the schedule ends");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_recorded_before_a_restart_are_delivered_after_it() {
    // First run: no endpoint configured; the event is recorded, not sent.
    let first = TestApp::spawn().await;
    let id = first.paid_checkout(5000).await.id;
    let listed = first.merchant_events(&id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["delivery"], "pending");
    assert_eq!(listed[0]["attempts"], 0);
    let event_id = listed[0]["id"].as_str().expect("an id").to_owned();

    // Second run on the same database, with an endpoint: what was pending goes out, same id.
    // (The first one stops once the second has started on its database.)
    let (url, receiver) = Receiver::start(&[]).await;
    let second = first.restart_with(Options { merchant_webhook_url: Some(url), ..Options::default() }).await;
    first.stop().await;
    let got = receiver.wait_for("checkout.succeeded", 1).await;
    assert_eq!(got.len(), 1, "{:?}", receiver.seen());
    assert_eq!(got[0].id, event_id);
    assert_eq!(got[0].json()["data"]["checkout"]["id"], id.as_str());
    assert!(reference_verifies(&got[0], &got[0].body).await);
    assert_eq!(second.merchant_checkout(&id).await.status, CheckoutStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shop_verifies_the_webhooks_with_the_reference_crate() {
    // The shop's address must be known before the verifier starts: take a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let hook_url = format!("http://127.0.0.1:{port}/webhooks/verifier");
    let app = TestApp::spawn_with(with_endpoint(&hook_url)).await;
    let shop = www::DemoShop::start(www::ShopConfig {
        listen: format!("127.0.0.1:{port}").parse().expect("address"),
        verifier_url: app.url.clone(),
        merchant_key: MERCHANT_KEY.into(),
        public_url: None,
        webhook_secret: Some(MERCHANT_WEBHOOK_SECRET.into()),
    })
    .await
    .expect("shop starts");

    let browser =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let bought = browser
        .post(format!("{}/orders?lang=en", shop.base_url()))
        .form(&[("product", "pagne")])
        .send()
        .await
        .expect("shop reachable");
    let order_path = bought.headers()["location"].to_str().expect("a location").to_owned();
    let order_page =
        browser.get(format!("{}{order_path}", shop.base_url())).send().await.unwrap().text().await.unwrap();
    let secret = order_page
        .split("data-client-secret='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the widget's client secret on the page")
        .to_owned();
    let checkout_id = secret.split("_secret_").next().expect("an id").to_owned();
    let (status, body) =
        app.pay_raw(&checkout_id, &secret, json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert_eq!(status, 200, "{body}");

    let status_url = format!("{}{}", shop.base_url(), order_path.replacen('?', "/status?", 1));
    let deadline = tokio::time::Instant::now() + WAIT;
    let page = loop {
        let page = browser.get(&status_url).send().await.unwrap().text().await.unwrap();
        if page.contains("data-notices='checkout.succeeded'") || tokio::time::Instant::now() >= deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(page.contains("data-notices='checkout.succeeded'"), "{page}");
    assert!(page.contains("data-status='succeeded'"), "{page}");

    // A forged notification is refused by the shop.
    let forged = browser
        .post(&hook_url)
        .header("webhook-id", "evt_forged")
        .header("webhook-timestamp", time_now().to_string())
        .header("webhook-signature", "v1,bm90IGEgc2lnbmF0dXJl")
        .body(r#"{"type":"checkout.succeeded"}"#)
        .send()
        .await
        .expect("shop reachable");
    assert_eq!(forged.status(), 401);
}

fn time_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_a_payment_and_a_refund_are_announced_in_order() {
    let (url, receiver) = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(with_endpoint(&url)).await;
    let c = app.create_checkout(3000).await;
    let secret = c.client_secret.clone().expect("secret");
    let (status, _) =
        app.pay_raw(&c.id, &secret, json!({"method": "mobile_money", "phone": "0700000002"})).await;
    assert_eq!(status, 200);
    let failed = receiver.wait_for("attempt.failed", 1).await;
    assert_eq!(failed.len(), 1, "{:?}", receiver.seen());
    let body = failed[0].json();
    assert_eq!(body["data"]["attempt"]["status"], "failed");
    assert_eq!(body["data"]["attempt"]["failure"], "CUSTOMER_DECLINED");
    assert_eq!(body["data"]["checkout"]["status"], "open", "the customer may retry");

    let (status, _) =
        app.pay_raw(&c.id, &secret, json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert_eq!(status, 200);
    assert_eq!(receiver.wait_for("checkout.succeeded", 1).await.len(), 1);
    let refund = app
        .http
        .post(format!("{}/v1/checkouts/{}/refunds", app.url, c.id))
        .bearer_auth(MERCHANT_KEY)
        .json(&json!({}))
        .send()
        .await
        .expect("reachable");
    assert_eq!(refund.status(), 201);
    let refunded = receiver.wait_for("checkout.refunded", 1).await;
    assert_eq!(refunded.len(), 1, "{:?}", receiver.seen());
    let refund_event = receiver.wait_for("refund.succeeded", 1).await;
    assert_eq!(refund_event[0].json()["data"]["refund"]["amount"], 3000);

    let kinds: Vec<Value> = app.merchant_events(&c.id).await.iter().map(|e| e["type"].clone()).collect();
    assert_eq!(kinds, ["attempt.failed", "checkout.succeeded", "refund.succeeded", "checkout.refunded"]);
    let ids: std::collections::HashSet<String> = receiver.seen().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 4, "one id per event");
    for r in receiver.seen() {
        assert!(reference_verifies(&r, &r.body).await, "{r:?}");
    }
}

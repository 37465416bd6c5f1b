//! What the sandbox-against-the-documents tests share: reading the providers' fixtures
//! (`server/tests/fixtures/<provider>/`, each folder's README says where each file comes from),
//! comparing a JSON answer's shape with a fixture's, reading an error table
//! (`error_codes.tsv`), and a receiver that answers 200 to whatever a sandbox delivers.

#![allow(dead_code)]

use std::{net::SocketAddr, path::PathBuf};

use serde_json::Value;

/// The path of a provider's fixture file.
pub(crate) fn fixture_path(provider: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures").join(provider).join(file)
}

/// A fixture's text, as stored.
pub(crate) fn fixture_text(provider: &str, file: &str) -> String {
    let path = fixture_path(provider, file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON fixture, parsed.
pub(crate) fn fixture(provider: &str, file: &str) -> Value {
    serde_json::from_str(&fixture_text(provider, file)).unwrap_or_else(|e| panic!("{provider}/{file}: {e}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every place where `actual` does not have exactly `expected`'s fields and JSON types, as
/// `path: why` lines (empty when the shapes agree). Values may differ; array elements are
/// compared with the fixture's first element; a `null` in the fixture takes any type.
pub(crate) fn shape_differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(expected, actual, "$", &mut out);
    out
}

fn walk(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    // A `null` in an example is a field left empty: any type may fill it.
    if kind(expected) != kind(actual) && !expected.is_null() {
        out.push(format!(
            "{at}: the fixture has {}, the sandbox {} ({actual})",
            kind(expected),
            kind(actual)
        ));
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{at}.{key}: missing"));
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{at}.{key}: not in the fixture"));
            }
            for (key, e) in e {
                if let Some(a) = a.get(key) {
                    walk(e, a, &format!("{at}.{key}"), out);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, a) in a.iter().enumerate() {
                    walk(first, a, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Asserts that `actual` has exactly the fields and types of `provider/file`.
#[track_caller]
pub(crate) fn assert_shape(provider: &str, file: &str, actual: &Value) {
    assert_shape_beyond(provider, file, actual, &[]);
}

/// The same, but for `documented`: fields (as `$.a.b` paths) that the provider's reference
/// lists for this answer though its printed example leaves them out (each caller cites where).
#[track_caller]
pub(crate) fn assert_shape_beyond(provider: &str, file: &str, actual: &Value, documented: &[&str]) {
    let differences: Vec<String> = shape_differences(&fixture(provider, file), actual)
        .into_iter()
        .filter(|d| !documented.iter().any(|path| d == &format!("{path}: not in the fixture")))
        .collect();
    assert!(
        differences.is_empty(),
        "{provider}/{file} vs the sandbox's answer {actual}:\n{}",
        differences.join("\n")
    );
}

/// One row of a provider's `error_codes.tsv`.
#[derive(Debug, Clone)]
pub(crate) struct ErrorRow {
    /// The code (empty for rows of an HTTP status table).
    pub(crate) code: String,
    /// The HTTP status as printed (`400`, `4XX`), empty when the table states none.
    pub(crate) status: String,
    /// The third column: a meaning, or MyPVit's application code.
    pub(crate) third: String,
}

impl ErrorRow {
    /// The status as a number, when the table prints one.
    pub(crate) fn exact_status(&self) -> Option<u16> {
        self.status.parse().ok()
    }
}

/// The rows of `server/tests/fixtures/<provider>/error_codes.tsv`, comments left out.
pub(crate) fn error_table(provider: &str) -> Vec<ErrorRow> {
    fixture_text(provider, "error_codes.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cells = l.split('\t');
            let mut next = || cells.next().unwrap_or_default().trim().to_owned();
            ErrorRow { code: next(), status: next(), third: next() }
        })
        .collect()
}

/// A listener that answers 200 `{}` to every request and keeps each body it receives: where
/// a sandbox delivers keys and webhooks.
pub(crate) struct Receiver {
    /// `http://127.0.0.1:port`.
    pub(crate) url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Binds on a free port.
    pub(crate) async fn start() -> Receiver {
        use axum::{extract::State, http::Uri};
        type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;
        let bodies: Seen = Default::default();
        let app = axum::Router::new()
            .fallback(|State(seen): State<Seen>, uri: Uri, body: String| async move {
                seen.lock().unwrap().push((uri.path().to_owned(), body));
                axum::Json(serde_json::json!({}))
            })
            .with_state(bodies.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, bodies, task }
    }

    /// The bodies received so far, with their paths.
    pub(crate) fn received(&self) -> Vec<(String, String)> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until a body received satisfies `pred`, and returns it.
    pub(crate) async fn wait_for(&self, pred: impl Fn(&str, &str) -> bool) -> (String, String) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(found) = self.received().into_iter().find(|(p, b)| pred(p, b)) {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing delivered as expected: {:?}",
                self.received()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `check` every 20 ms until it gives a value, at most 10 s.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Renews a MyPVit sandbox's key (`POST /SBXRENEW/renew-secret`, the default codes of
/// `Merchant::with_default_codes`) and returns the key delivered to `receiver`.
pub(crate) async fn renew_mypvit_key(
    api_url: &str,
    account: &str,
    password: &str,
    receiver: &Receiver,
) -> String {
    let response = reqwest::Client::new()
        .post(format!("{api_url}/SBXRENEW/renew-secret"))
        .form(&[("operationAccountCode", account), ("receptionUrlCode", "SBXRC"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let (_, delivery) = receiver.wait_for(|_, body| body.contains("secret_key")).await;
    let delivery: Value = serde_json::from_str(&delivery).unwrap();
    delivery["secret_key"].as_str().unwrap().to_owned()
}

/// Sets misbehaviour modes on a sandbox (`POST /_sandbox/misbehave`, global scope).
pub(crate) async fn set_modes(base_url: &str, modes: Value) {
    let response = reqwest::Client::new()
        .post(format!("{base_url}/_sandbox/misbehave"))
        .json(&serde_json::json!({"scope": "global", "modes": modes}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{modes}: {}", response.text().await.unwrap());
}

/// Clears every misbehaviour mode of a sandbox.
pub(crate) async fn clear_modes(base_url: &str) {
    let response =
        reqwest::Client::new().delete(format!("{base_url}/_sandbox/misbehave")).send().await.unwrap();
    assert_eq!(response.status(), 204);
}

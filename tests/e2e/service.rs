//! The verifier as an operator watches it, over HTTP: `/healthz` (alive, no database),
//! `/readyz` (the database answers with every migration applied, each provider's latest call;
//! 503 with the JSON error once the database is gone: the SQLite file removed, or the
//! PostgreSQL database dropped), and `/metrics` on its own listener (counters that move with a
//! paid payment, a declined one, a forged webhook and a refused merchant key; and every metric
//! `deploy/alerts.yml` names is one the verifier exports).

use std::time::Duration;

use e2e::{TestApp, database};
use serde::Deserialize;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.http.get(format!("{}{path}", app.url)).send().await.expect("verifier reachable");
    let status = r.status().as_u16();
    (status, r.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_is_alive_and_readyz_reports_the_database_and_each_providers_last_call() {
    let app = TestApp::spawn().await;
    assert_eq!(get_json(&app, "/healthz").await, (200, json!({"status": "ok"})));
    // NovaSend fails its next calls: its latest call is an error, the verifier still ready.
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": ["error_500"]})).await;
    let c = app.create_checkout(5000).await;
    let secret = c.client_secret.clone().expect("a client secret");
    let (status, body) =
        app.pay_raw(&c.id, &secret, json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert!(status < 500, "{status}: {body}");
    let (status, ready) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"]["migrations_pending"], 0);
    assert_eq!(ready["database"]["backend"], if app.on_sqlite() { "sqlite" } else { "postgres" });
    let provider = |ready: &Value, name: &str| {
        ready["providers"].as_array().unwrap().iter().find(|p| p["provider"] == name).cloned().unwrap()
    };
    let novasend = provider(&ready, "nova_send");
    assert_eq!(novasend["last_call"]["outcome"], "error", "{ready}");
    assert_eq!(novasend["last_call"]["error"], "server_error", "{ready}");
    // CaurisFlux's operator listing was read at start; Scalapay was never called.
    assert_eq!(provider(&ready, "cauris_flux")["last_call"]["outcome"], "ok", "{ready}");
    assert_eq!(provider(&ready, "scalapay")["last_call"], Value::Null, "{ready}");

    // Once NovaSend answers again, the reconciler's next status fetch of that attempt is ok.
    app.behave(&app.novasend_url).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut ready = ready;
    while provider(&ready, "nova_send")["last_call"]["outcome"] != "ok"
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = get_json(&app, "/readyz").await.1;
    }
    assert_eq!(provider(&ready, "nova_send")["last_call"]["outcome"], "ok", "{ready}");
    assert!(provider(&ready, "nova_send")["last_call"]["at"].as_str().is_some_and(|at| at.ends_with('Z')));
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_answers_503_once_the_database_is_gone_and_healthz_still_answers() {
    let app = TestApp::spawn().await;
    assert_eq!(get_json(&app, "/readyz").await.0, 200);
    let url = app.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        // The file (and its write-ahead log) removed, as a lost volume or a mistaken clean-up would.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    } else {
        // The database dropped under the verifier (its sessions ended).
        let server = database::server_url().expect("TEST_DATABASE_URL on PostgreSQL");
        let name = url.rsplit('/').next().expect("a database name").to_owned();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server).await.unwrap();
        sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&mut conn).await.unwrap();
    }
    let r = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("database"), "{body}");
    assert_eq!(get_json(&app, "/healthz").await, (200, json!({"status": "ok"})));
}

/// The value of the sample `series` (name and labels as rendered) in a scrape, 0 when absent.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let r = app.http.get(&app.metrics_url).send().await.expect("the metrics listener");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    r.text().await.unwrap()
}

/// Polls the scrape until `series` reaches `at_least` (counters move after the answer).
async fn wait_sample(app: &TestApp, series: &str, at_least: f64) -> String {
    wait_scrape(app, |text| sample(text, series) >= at_least).await
}

/// Polls the scrape until `done` holds of it or [`WAIT`] has passed; returns the last scrape
/// (the caller's assertions then say what was missing).
async fn wait_scrape(app: &TestApp, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = scrape(app).await;
        if done(&text) || tokio::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_payments_provider_calls_webhooks_and_requests_and_stay_off_the_public_listener() {
    let app = TestApp::spawn().await;
    let r = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 404, "no /metrics on the public listener");
    let before = scrape(&app).await;
    let started = "verifier_payments_started_total{provider=\"nova_send\",method=\"mobile_money\"}";
    let succeeded = "verifier_payments_succeeded_total{provider=\"nova_send\",method=\"mobile_money\"}";
    let calls = "verifier_provider_call_duration_seconds_count{provider=\"nova_send\"}";
    let refused = "verifier_webhooks_refused_total{provider=\"nova_send\",reason=\"unverified\"}";
    let received = "verifier_webhooks_received_total{provider=\"nova_send\"}";
    let unauthorized =
        "verifier_http_requests_total{route=\"/v1/checkouts/{id}\",method=\"GET\",status=\"401\"}";
    assert_eq!(sample(&before, started), 0.0);
    assert_eq!(sample(&before, refused), 0.0);
    // A present zero, before anything failed: rates over it exist from the start.
    assert!(before.contains(&format!("{refused} 0")), "{before}");

    let paid = app.paid_checkout(5000).await;
    // A forged NovaSend webhook about it: refused.
    let forged = app
        .http
        .post(format!("{}/webhooks/nova_send", app.url))
        .header("content-type", "application/json")
        .header("X-Signature-Value", "00".repeat(32))
        .body(json!({"externalReference": paid.id, "status": "SUCCESSFUL"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // A declined payment (…0000002: the customer refuses on the phone).
    let declined = app.create_checkout(5000).await;
    let secret = declined.client_secret.clone().unwrap();
    let (status, body) =
        app.pay_raw(&declined.id, &secret, json!({"method": "mobile_money", "phone": "0700000002"})).await;
    assert_eq!(status, 200, "{body}");
    // A merchant call with a wrong key.
    let wrong = app
        .http
        .get(format!("{}/v1/checkouts/{}", app.url, paid.id))
        .bearer_auth("mk_test_not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let failed_series = "verifier_payments_failed_total{provider=\"nova_send\",method=\"mobile_money\",code=";
    wait_sample(&app, succeeded, 1.0).await;
    let text = wait_scrape(&app, |text| text.lines().any(|l| l.starts_with(failed_series))).await;
    assert_eq!(sample(&text, started), 2.0, "{text}");
    assert_eq!(sample(&text, succeeded), 1.0, "{text}");
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with(failed_series)).collect();
    assert_eq!(failed.len(), 1, "one declined payment, with its code: {text}");
    assert!(failed[0].ends_with(" 1"), "{}", failed[0]);
    assert!(sample(&text, calls) >= 2.0, "each payment called NovaSend: {text}");
    assert_eq!(sample(&text, refused), 1.0, "{text}");
    assert!(sample(&text, received) >= 1.0, "the sandbox's genuine webhooks: {text}");
    assert_eq!(sample(&text, unauthorized), 1.0, "{text}");
    // Requests are counted by route pattern, never by path.
    assert!(!text.contains(&paid.id), "no checkout id in a label: {text}");
    assert!(
        sample(&text, "verifier_http_requests_total{route=\"/v1/checkouts\",method=\"POST\",status=\"201\"}")
            >= 2.0,
        "{text}"
    );
    assert!(text.contains("verifier_sse_streams_open 0"), "{text}");
    assert!(text.contains("verifier_merchant_deliveries_pending "), "{text}");
    assert!(
        text.contains("verifier_provider_call_duration_seconds_bucket{provider=\"nova_send\",le=\"+Inf\"}")
    );
}

/// A Prometheus rule file (<https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/>).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for", default)]
    for_: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// The metric names an expression reads: its identifiers that start with `verifier_`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    // Label values are quoted: skip what is inside quotes.
    let mut quoted = false;
    for ch in expr.chars().chain([' ']) {
        if ch == '"' {
            quoted = !quoted;
            current.clear();
            continue;
        }
        if !quoted && (ch.is_ascii_alphanumeric() || ch == '_' || ch == ':') {
            current.push(ch);
        } else {
            if current.starts_with("verifier_") && !names.contains(&current) {
                names.push(current.clone());
            }
            current.clear();
        }
    }
    names
}

#[test]
fn the_metric_name_reader_skips_label_values() {
    assert_eq!(
        metric_names("sum(rate(verifier_a_total{x=\"verifier_not_a_metric\"}[5m])) / verifier_b > 0.05"),
        ["verifier_a_total", "verifier_b"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_alert_rules_name_is_exported_by_a_verifier_after_a_payment() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/alerts.yml");
    let file = std::fs::read_to_string(&path).expect("deploy/alerts.yml");
    let rules: RuleFile = serde_yaml_ng::from_str(&file).expect("a Prometheus rule file");
    let app = TestApp::spawn().await;
    let paid = app.paid_checkout(5000).await;
    let declined = app.create_checkout(5000).await;
    let secret = declined.client_secret.clone().unwrap();
    let (status, _) =
        app.pay_raw(&declined.id, &secret, json!({"method": "mobile_money", "phone": "0700000002"})).await;
    assert_eq!(status, 200);
    wait_sample(
        &app,
        "verifier_payments_succeeded_total{provider=\"nova_send\",method=\"mobile_money\"}",
        1.0,
    )
    .await;
    let text = wait_scrape(&app, |text| text.contains("verifier_payments_failed_total{")).await;
    assert!(!paid.id.is_empty());
    let exported: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
    let mut alerts = 0;
    for group in &rules.groups {
        assert!(!group.name.is_empty());
        for rule in &group.rules {
            alerts += 1;
            let names = metric_names(&rule.expr);
            assert!(!names.is_empty(), "{}: reads no verifier metric: {}", rule.alert, rule.expr);
            for name in names {
                assert!(
                    exported.contains(&name.as_str()),
                    "{}: {name} is not exported by the verifier:\n{text}",
                    rule.alert
                );
            }
            assert!(rule.annotations.contains_key("summary"), "{}: no summary", rule.alert);
            assert!(rule.labels.contains_key("severity"), "{}: no severity", rule.alert);
            assert!(
                rule.for_.as_deref().is_none_or(|f| f.ends_with('m') || f.ends_with('s')),
                "{}",
                rule.alert
            );
        }
    }
    assert!(alerts >= 4, "the guides' alerts: error rate, repeated PROVIDER_ERROR, 401 bursts, deliveries");
    let all =
        rules.groups.iter().flat_map(|g| &g.rules).map(|r| r.expr.as_str()).collect::<Vec<_>>().join("\n");
    for advised in ["0.05", "PROVIDER_UNAVAILABLE", "status=\"401\""] {
        assert!(all.contains(advised), "no rule watches {advised}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_answers_the_request_in_flight_and_writes_what_the_workers_hold() {
    let mut app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let forged = |n: u32| {
        app.http
            .post(format!("{}/webhooks/nova_send", app.url))
            .header("X-Signature-Value", "00".repeat(32))
            .body(format!("{{\"forged\": {n}}}"))
            .send()
    };
    // A refused notice is tallied in memory and written at the next flush; the next count
    // waits for the flush after that (5 s later), unless the verifier stops first.
    assert_eq!(forged(1).await.unwrap().status(), 401);
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.refused_count(shared::method::Provider::NovaSend).await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the first refusal was never written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(forged(2).await.unwrap().status(), 401);

    // A payment in flight: NovaSend takes 2 s to answer.
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": [{"hang": 2000}]})).await;
    let (before, _) = app.sandbox_requests(&app.novasend_url).await;
    let paying = {
        let (url, http, id) = (app.url.clone(), app.http.clone(), c.id.clone());
        let secret = c.client_secret.clone().unwrap();
        tokio::spawn(async move {
            http.post(format!("{url}/v1/public/checkouts/{id}/pay"))
                .bearer_auth(secret)
                .json(&json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.sandbox_requests(&app.novasend_url).await.0 == before {
        assert!(tokio::time::Instant::now() < deadline, "the payment never reached the provider");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = tokio::time::Instant::now();
    app.shut_down().await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped within the graces: {:?}",
        started.elapsed()
    );
    // The request in flight was answered, not cut.
    assert_eq!(paying.await.unwrap().expect("an answer"), 200);
    // The listener is closed.
    assert!(app.http.get(format!("{}/healthz", app.url)).send().await.is_err(), "no new connection");
    // The tally's last flush wrote the second refusal.
    assert_eq!(app.refused_count(shared::method::Provider::NovaSend).await, 2);
    // The attempt is recorded (pending or answered), to be reconciled by the next start.
    let attempts = app.store().await.attempts(&c.id).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
}

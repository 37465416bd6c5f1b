//! The `verifier` binary's commands as an operator runs them: `--help` lists and describes
//! every command; `check-config` reports a valid configuration (no secret printed) and refuses
//! an invalid one with the setting named; `webhooks test` sends a test event that the
//! reference Standard Webhooks crate (`standardwebhooks`, as a merchant's backend would use it)
//! accepts, and says what the endpoint answered; `webhooks redeliver` refuses an unknown event.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{Arc, Mutex},
};

const VERIFIER: &str = env!("CARGO_BIN_EXE_verifier");

/// A fresh directory for one test's configuration and database.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("verifier-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A configuration in `dir` with `extra` appended (sections of its own).
fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("verifier.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}\"\nwidget_dir = \"{}\"\n\
             [merchant]\nname = \"Boutique\"\n[checkout]\ndefault_country = \"CI\"\n\
             ttl_seconds = 1800\n[reconcile]\npoll_interval_ms = 5000\n{extra}",
            dir.join("verifier.db").display(),
            dir.display()
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(VERIFIER);
    command.args(args);
    for name in ["VERIFIER_MERCHANT_SECRET_KEY", "VERIFIER_DATABASE_URL", "VERIFIER_MERCHANT_WEBHOOK_URL"] {
        command.env_remove(name);
    }
    command.env_remove("VERIFIER_MERCHANT_WEBHOOK_SECRET").env_remove("VERIFIER_NOVASEND_WEBHOOK_SECRET");
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines of a `--help`'s "Commands:" section: (name, description).
fn commands_of(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let l = l.trim();
            let (name, description) = l.split_once(char::is_whitespace)?;
            Some((name.to_owned(), description.trim().to_owned()))
        })
        .collect()
}

#[test]
fn help_lists_and_describes_every_command() {
    let help = run(&["--help"], &[]);
    assert!(help.status.success(), "{}", text(&help.stderr));
    let help = text(&help.stdout);
    let commands = commands_of(&help);
    let names: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["serve", "check-config", "migrate", "keys", "webhooks"] {
        assert!(names.contains(&expected), "{expected} missing from `verifier --help`:\n{help}");
    }
    for (name, description) in &commands {
        assert!(description.split_whitespace().count() >= 3, "{name} is not described:\n{help}");
    }
    assert!(help.contains("Without a command it runs the service"), "{help}");
    // Each command's own help, and each group's commands.
    for (group, subs) in [
        ("serve", &[][..]),
        ("check-config", &[][..]),
        ("migrate", &[][..]),
        ("keys", &["create", "list", "revoke"][..]),
        ("webhooks", &["test", "redeliver"][..]),
    ] {
        let out = run(&[group, "--help"], &[]);
        assert!(out.status.success(), "{group}: {}", text(&out.stderr));
        let own = text(&out.stdout);
        assert!(own.lines().next().is_some_and(|l| l.split_whitespace().count() >= 3), "{group}:\n{own}");
        let listed: Vec<String> = commands_of(&own).into_iter().map(|(n, _)| n).collect();
        for sub in subs {
            assert!(listed.iter().any(|l| l == sub), "{group} {sub} missing:\n{own}");
            let out = run(&[group, sub, "--help"], &[]);
            assert!(out.status.success(), "{group} {sub}: {}", text(&out.stderr));
            let sub_help = text(&out.stdout);
            assert!(sub_help.contains("[CONFIG]"), "{group} {sub} takes the configuration:\n{sub_help}");
        }
        if subs.is_empty() {
            assert!(own.contains("[CONFIG]"), "{group} takes the configuration:\n{own}");
        }
    }
}

#[test]
fn check_config_reports_a_valid_configuration_without_its_secrets() {
    let dir = scratch("check");
    let cfg = config(
        &dir,
        "[novasend]\nmode = \"test\"\nbase_url = \"http://127.0.0.1:8091\"\napi_key = \"ns-key-secret\"\n\
         api_client = \"ns-client-secret\"\nwebhook_secret = \"\"\ntimeout_ms = 30000\n\
         [merchant_webhooks]\nurl = \"https://shop.example/hooks?token=hook-token-secret\"\n\
         secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n[metrics]\nlisten = \"127.0.0.1:9464\"\n",
    );
    let out = run(
        &["check-config", cfg.to_str().unwrap()],
        &[("VERIFIER_NOVASEND_WEBHOOK_SECRET", "ns-webhook-secret")],
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.contains("valid"), "{said}");
    assert!(said.contains("mode: test"), "{said}");
    assert!(said.contains("database: SQLite, sqlite://"), "{said}");
    // The secret from the environment counts as set.
    assert!(said.contains("NovaSend    test 127.0.0.1:8091, webhook secret set"), "{said}");
    for absent in ["CaurisFlux  not configured", "MyPVit      not configured", "Scalapay    not configured"] {
        assert!(said.contains(absent), "{absent}: {said}");
    }
    assert!(said.contains("merchant webhooks: https://shop.example/hooks\n"), "{said}");
    assert!(said.contains("metrics: http://127.0.0.1:9464/metrics"), "{said}");
    for secret in ["ns-key-secret", "ns-client-secret", "ns-webhook-secret", "hook-token-secret", "MfKQ9r8G"]
    {
        assert!(!said.contains(secret) && !text(&out.stderr).contains(secret), "{secret} printed: {said}");
    }
    assert!(!dir.join("verifier.db").exists(), "check-config opens no database");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_refuses_an_invalid_configuration_with_the_reason() {
    let dir = scratch("refused");
    let live_on_test_host = "[caurisflux]\nmode = \"live\"\nbase_url = \"https://sandbox-api.caurisflux.com/api/v1\"\n\
         public_key = \"pk_live_a\"\nsecret_key = \"sk_live_do-not-print\"\nwebhook_secret = \"w\"\ntimeout_ms = 30000\n";
    let cfg = config(&dir, live_on_test_host);
    let out = run(&["check-config", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    assert!(said.contains("not valid") && said.contains("caurisflux"), "{said}");
    assert!(!said.contains("sk_live_do-not-print"), "{said}");

    let typo = config(&dir, "[reconcile_typo]\n");
    let out = run(&["check-config", typo.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("reconcile_typo"), "{}", text(&out.stderr));

    let missing = run(&["check-config", dir.join("nowhere.toml").to_str().unwrap()], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("nowhere.toml"), "{}", text(&missing.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the test endpoint received: headers and body.
type Received = Arc<Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A merchant endpoint on a free port answering `status`; returns its URL and what it got.
fn endpoint(runtime: &tokio::runtime::Runtime, status: u16) -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            kept.lock().unwrap().push((headers, body.to_vec()));
            async move { (axum::http::StatusCode::from_u16(status).unwrap(), "{\"ok\":true}") }
        }),
    );
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[test]
fn webhooks_test_sends_an_event_the_reference_library_accepts_and_prints_the_answer() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = scratch("hooks");
    let cfg = config(&dir, "");
    let cfg = cfg.to_str().unwrap();

    let (url, received) = endpoint(&runtime, 204);
    let out = run(
        &["webhooks", "test", cfg],
        &[("VERIFIER_MERCHANT_WEBHOOK_URL", &url), ("VERIFIER_MERCHANT_WEBHOOK_SECRET", SECRET)],
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.contains("answer: HTTP 204"), "{said}");
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one event sent");
    let (headers, body) = &got[0];
    let webhook = standardwebhooks::Webhook::new(SECRET).unwrap();
    webhook.verify(body, headers).expect("a valid Standard Webhooks signature");
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "verifier.test");
    assert_eq!(event["livemode"], false);
    let id = headers["webhook-id"].to_str().unwrap();
    assert!(id.starts_with("evt_test_") && said.contains(id), "{said}");

    // An endpoint that refuses: the answer is printed and the command fails.
    let (url, _) = endpoint(&runtime, 401);
    let out = run(
        &["webhooks", "test", cfg],
        &[("VERIFIER_MERCHANT_WEBHOOK_URL", &url), ("VERIFIER_MERCHANT_WEBHOOK_SECRET", SECRET)],
    );
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("answer: HTTP 401"), "{}", text(&out.stdout));

    // None configured: said so.
    let out = run(&["webhooks", "test", cfg], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("[merchant_webhooks]"), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn webhooks_redeliver_refuses_an_unknown_event() {
    let dir = scratch("redeliver");
    let cfg = config(&dir, "");
    let out = run(&["webhooks", "redeliver", "evt_nothing", cfg.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no event has the id \"evt_nothing\""), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

//! `cargo xtask schemathesis`: the API against its own OpenAPI document, with schemathesis (PyPI,
//! pinned in [`prereq::SCHEMATHESIS`], in a venv under `<target>/`). Also a step of `cargo xtask
//! test`.
//!
//! Starts `provider-sandbox all` and a verifier pointed at it (like `cargo xtask demo`, on free
//! ports, with a new SQLite file and a fresh `mk_test_` key under `<target>/schemathesis/`),
//! checks that the served `/openapi.json` is the committed `server/openapi.json`, creates a
//! checkout so that the public API has a real id and client secret, then runs schemathesis
//! against `/openapi.json`: the merchant operations with the merchant key, the public ones with
//! the checkout's client secret (both on that checkout's id), with the checks
//! `not_a_server_error` (no 5xx), `status_code_conformance` (only documented statuses),
//! `content_type_conformance` and `response_schema_conformance`. Bounded: `SCHEMATHESIS_EXAMPLES`
//! test cases per operation (default 100) and a wall-clock cap of `SCHEMATHESIS_SECONDS`
//! (default 300) after which the run is stopped and fails.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::{
    cargo,
    demo::{random_hex, wait_listening},
    prereq, run_cmd,
};

/// Test cases per operation (override: `SCHEMATHESIS_EXAMPLES`).
const EXAMPLES: &str = "100";
/// The run's wall-clock cap in seconds (override: `SCHEMATHESIS_SECONDS`).
const SECONDS: u64 = 300;
/// The checks run on every response.
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Kills the processes it holds when dropped.
struct Guard(Vec<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A port free now on 127.0.0.1 (the OS picks it).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

pub(crate) fn run(root: &Path) -> Result<()> {
    let python = prereq::ensure_schemathesis(root)?;
    eprintln!(
        "xtask: building the workspace (the verifier and the provider sandboxes for schemathesis, the tests after it)"
    );
    // `--workspace --all-targets` resolves features as `cargo test --workspace` does (dev-
    // dependencies included), so the test stage that follows finds every crate built; `-p
    // verifier -p provider-sandbox` resolved them apart and compiled most dependencies twice
    // (about 6 min of a new machine's run).
    run_cmd(cargo().current_dir(root).args(["build", "--locked", "--workspace", "--all-targets"]))?;

    let dir = crate::target_dir(root).join("schemathesis");
    // A new database every run.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("widget"))?;
    let [verifier_port, novasend_port, cauris_port, scalapay_port, mypvit_port] =
        [free_port()?, free_port()?, free_port()?, free_port()?, free_port()?];
    let config = dir.join("verifier.toml");
    std::fs::write(
        &config,
        config_text(&dir, verifier_port, [novasend_port, cauris_port, scalapay_port, mypvit_port]),
    )?;

    let merchant_key = format!("mk_test_{}", random_hex()?);
    let (novasend_secret, cauris_secret, mypvit_token) = (random_hex()?, random_hex()?, random_hex()?);
    let verifier_url = format!("http://127.0.0.1:{verifier_port}");
    let bin = crate::target_dir(root).join("debug");
    let log = |name: &str| -> Result<std::fs::File> { Ok(std::fs::File::create(dir.join(name))?) };
    let mut guard = Guard(Vec::new());
    let sandboxes = crate::demo::sandboxes_command(
        &bin,
        [novasend_port, cauris_port, scalapay_port, mypvit_port],
        &verifier_url,
        (&novasend_secret, &cauris_secret, &mypvit_token),
        &format!("{verifier_url}/returned"),
    )
    .stdout(log("sandboxes.log")?)
    .stderr(log("sandboxes.log")?)
    .spawn()
    .context("failed to start the provider sandboxes")?;
    guard.0.push(sandboxes);
    for p in [novasend_port, cauris_port, scalapay_port, mypvit_port] {
        wait_listening(p, &mut guard.0[0], "the provider sandboxes")?;
    }
    let verifier = Command::new(bin.join("verifier"))
        .arg(&config)
        .env("VERIFIER_MERCHANT_SECRET_KEY", &merchant_key)
        .env("VERIFIER_NOVASEND_WEBHOOK_SECRET", &novasend_secret)
        .env("VERIFIER_CAURISFLUX_WEBHOOK_SECRET", &cauris_secret)
        .env("VERIFIER_MYPVIT_WEBHOOK_TOKEN", &mypvit_token)
        .stdout(log("verifier.log")?)
        .stderr(log("verifier.log")?)
        .spawn()
        .context("failed to start the verifier")?;
    guard.0.push(verifier);
    wait_listening(verifier_port, &mut guard.0[1], "the verifier")?;

    // The served document is the committed one, and a checkout for the public API.
    let setup = Command::new(&python)
        .args(["-c", SETUP])
        .arg(&verifier_url)
        .arg(root.join("server/openapi.json"))
        .env("MERCHANT_KEY", &merchant_key)
        .output()?;
    if !setup.status.success() {
        bail!("schemathesis set-up failed: {}", String::from_utf8_lossy(&setup.stderr));
    }
    let out = String::from_utf8_lossy(&setup.stdout);
    let mut lines = out.lines();
    let (Some(id), Some(secret)) = (lines.next(), lines.next()) else {
        bail!("schemathesis set-up printed no checkout: {out}");
    };

    let schemathesis_toml = dir.join("schemathesis.toml");
    std::fs::write(&schemathesis_toml, schemathesis_config(&merchant_key, id, secret))?;
    let examples = std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_owned());
    let seconds = match std::env::var("SCHEMATHESIS_SECONDS") {
        Ok(s) => s.parse().context("SCHEMATHESIS_SECONDS must be a number of seconds")?,
        Err(_) => SECONDS,
    };
    eprintln!(
        "xtask: schemathesis against {verifier_url}/openapi.json ({examples} cases per operation, {seconds} s at most)"
    );
    let mut st = Command::new(python.with_file_name("schemathesis"))
        .current_dir(&dir)
        .arg("--no-color")
        .arg("--config-file")
        .arg(&schemathesis_toml)
        .args(["run", &format!("{verifier_url}/openapi.json")])
        .args(["--checks", CHECKS, "--max-examples", &examples, "--workers", "1"])
        .args(["--phases", "examples,coverage,fuzzing", "--request-timeout", "10"])
        .args(["--generation-database", "none", "--report", "junit", "--report-dir"])
        .arg(dir.join("report"))
        .spawn()
        .context("failed to start schemathesis")?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = st.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = st.kill();
            let _ = st.wait();
            bail!("schemathesis did not finish within {seconds} s (SCHEMATHESIS_SECONDS); stopped");
        }
        if let Some(status) = guard.0[1].try_wait()? {
            let _ = st.kill();
            bail!(
                "the verifier stopped during schemathesis ({status}); see {}",
                dir.join("verifier.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        bail!(
            "schemathesis found problems ({status}); the verifier's log is {}",
            dir.join("verifier.log").display()
        );
    }
    Ok(())
}

/// Checks `/openapi.json` against the committed file, creates a checkout and prints its id and
/// client secret, one a line. Arguments: the verifier's URL, the committed file; the merchant
/// key in `MERCHANT_KEY`. Python's standard library only.
const SETUP: &str = r#"
import json, os, sys, urllib.request
base, committed = sys.argv[1], sys.argv[2]
served = json.load(urllib.request.urlopen(base + "/openapi.json", timeout=30))
if served != json.load(open(committed)):
    sys.exit("the served /openapi.json differs from server/openapi.json")
req = urllib.request.Request(base + "/v1/checkouts", method="POST",
    data=json.dumps({"amount": 5000, "currency": "XOF", "reference": "schemathesis-1",
                     "description": "schemathesis"}).encode(),
    headers={"Authorization": "Bearer " + os.environ["MERCHANT_KEY"], "Content-Type": "application/json"})
checkout = json.load(urllib.request.urlopen(req, timeout=30))
print(checkout["id"]); print(checkout["client_secret"])
"#;

/// schemathesis's configuration: which credentials and id each group of operations gets.
fn schemathesis_config(merchant_key: &str, id: &str, secret: &str) -> String {
    format!(
        r#"# Written by `cargo xtask schemathesis`.
# A status stream is read for its first event only (it stays open until the checkout is final).
max-stream-events = 1

[[operations]]
include-path-regex = "^/v1/checkouts"
headers = {{ Authorization = "Bearer {merchant_key}" }}
parameters = {{ "path.id" = "{id}" }}

[[operations]]
include-path-regex = "^/v1/events/"
headers = {{ Authorization = "Bearer {merchant_key}" }}

[[operations]]
include-path-regex = "^/v1/refunds/"
headers = {{ Authorization = "Bearer {merchant_key}" }}

[[operations]]
include-path-regex = "^/v1/public/"
headers = {{ Authorization = "Bearer {secret}" }}
parameters = {{ "path.id" = "{id}" }}
"#
    )
}

/// The verifier's configuration: test mode, the four sandboxes.
fn config_text(dir: &Path, port: u16, [novasend, cauris, scalapay, mypvit]: [u16; 4]) -> String {
    format!(
        r#"# Written by `cargo xtask schemathesis`; keys come from the environment.
listen = "127.0.0.1:{port}"
database_url = "sqlite://{db}"
widget_dir = "{widget}"

[merchant]
name = "Schemathesis"
secret_key = "set-by-environment"

[checkout]
default_country = "CI"
ttl_seconds = 1800

[reconcile]
poll_interval_ms = 5000
ignore_provider_poll_floor = true

[novasend]
mode = "test"
base_url = "http://127.0.0.1:{novasend}"
api_key = "ns_demo_key"
api_client = "ns_demo_client"
webhook_secret = "set-by-environment"
timeout_ms = 5000

[caurisflux]
mode = "test"
base_url = "http://127.0.0.1:{cauris}/api/v1"
public_key = "pk_test_demo"
secret_key = "sk_test_demo"
webhook_secret = "set-by-environment"
timeout_ms = 5000

[scalapay]
mode = "test"
base_url = "http://127.0.0.1:{scalapay}"
api_key = "qhtfs87hjnc12kkos"
item_category = "clothes"
timeout_ms = 5000
[scalapay.shipping]
line1 = "12 rue des Tisserands"
suburb = "Lyon"
postcode = "69003"
country_code = "FR"

[mypvit]
mode = "test"
base_url = "http://127.0.0.1:{mypvit}"
operation_account_code = "ACC_DEMO0000001"
password = "mp_demo_password"
reception_url_code = "SBXRC"
callback_url_code = "SBXCB"
webhook_token = "set-by-environment"
allowed_ips = ["127.0.0.1"]
owner_charge = "MERCHANT"
timeout_ms = 5000
renew_before_s = 300
secret_wait_ms = 5000

[mypvit.url_codes]
renew_secret = "SBXRENEW"
rest = "SBXREST"
status = "SBXSTATUS"

# Wide rate and payment limits: a limit's 429 is in the schema, but it would stop most cases
# before the handler they are meant to reach.
[limits]
public_per_ip = {{ per_minute = 1000000, burst = 100000 }}
public_per_secret = {{ per_minute = 1000000, burst = 100000 }}
pay_per_secret = {{ per_minute = 1000000, burst = 100000 }}
pay_per_ip = {{ per_minute = 1000000, burst = 100000 }}
attempts_per_checkout = 100000
requests_per_phone = 100000
"#,
        db = dir.join("verifier.db").display(),
        widget = dir.join("widget").display(),
    )
}

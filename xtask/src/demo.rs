//! `cargo xtask demo`: the product on one machine. Builds the widget, the verifier, the
//! provider sandboxes and the demo shop, starts `provider-sandbox all` (a separate process), the
//! verifier (SQLite file under `.demo/`, migrations applied at start, pointed at the sandboxes)
//! and the shop on 127.0.0.1, prints where to go (the shop, the verifier, its dashboard), the
//! demo's merchant key (test mode, made afresh at each start: the dashboard's login and the key
//! the README's `curl` lines need) and the test numbers, and runs until Ctrl-C (or SIGTERM),
//! which stops the three processes and ends with status 0.
//!
//! Ports: `VERIFIER_PORT` (8080), `SHOP_PORT` (8000), `NOVASEND_SANDBOX_PORT` (8091),
//! `CAURISFLUX_SANDBOX_PORT` (8092), `SCALAPAY_SANDBOX_PORT` (8093), `MYPVIT_SANDBOX_PORT` (8094).

use std::{
    io::Read,
    net::TcpStream,
    path::Path,
    process::{Child, Command},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::{cargo, run_cmd, widget};

fn port(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(v) => v.parse().with_context(|| format!("{var} must be a port number")),
        Err(_) => Ok(default),
    }
}

/// The four provider sandboxes in one process on `ports` (NovaSend, CaurisFlux, Scalapay,
/// MyPVit), each notifying the verifier at `verifier_url` with these secrets, MyPVit's customers
/// sent back to `return_url`: the demo's and schemathesis's, which add where its output goes.
pub(crate) fn sandboxes_command(
    bin: &Path,
    [novasend, caurisflux, scalapay, mypvit]: [u16; 4],
    verifier_url: &str,
    (novasend_secret, cauris_secret, mypvit_token): (&str, &str, &str),
    return_url: &str,
) -> Command {
    let mut cmd = Command::new(bin.join("provider-sandbox"));
    cmd.arg("all")
        .args(["--novasend-listen", &format!("127.0.0.1:{novasend}")])
        .args(["--caurisflux-listen", &format!("127.0.0.1:{caurisflux}")])
        .args(["--scalapay-listen", &format!("127.0.0.1:{scalapay}")])
        .args(["--mypvit-listen", &format!("127.0.0.1:{mypvit}")])
        .arg("--mypvit-strict-fields")
        .env("NOVASEND_WEBHOOK_SECRET", novasend_secret)
        .env("NOVASEND_WEBHOOK_URL", format!("{verifier_url}/webhooks/nova_send"))
        .env("CAURISFLUX_WEBHOOK_SECRET", cauris_secret)
        .env("CAURISFLUX_WEBHOOK_URL", format!("{verifier_url}/webhooks/cauris_flux"))
        .env("SCALAPAY_WEBHOOK_URL", format!("{verifier_url}/webhooks/scalapay"))
        .env("MYPVIT_WEBHOOK_URL", format!("{verifier_url}/webhooks/my_pvit/{mypvit_token}"))
        .env("MYPVIT_RETURN_URL", return_url);
    cmd
}

pub(crate) fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn wait_listening(port: u16, child: &mut Child, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited during start-up ({status}); see its messages above");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on port {port} within 60 s")
}

/// The demo's processes, killed when dropped (an error on the way out).
struct Guard(Vec<Child>);

impl Guard {
    /// Asks every process to stop (SIGTERM: the verifier finishes what is in flight) and waits
    /// for them, killing what is still running after `grace`.
    fn stop(&mut self, grace: Duration) {
        for c in &mut self.0 {
            if matches!(c.try_wait(), Ok(None)) {
                // std's `Child` only sends SIGKILL; `kill` is in every Debian (procps).
                let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            }
        }
        let deadline = Instant::now() + grace;
        for c in &mut self.0 {
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) fn run(root: &Path) -> Result<()> {
    let verifier_port = port("VERIFIER_PORT", 8080)?;
    let shop_port = port("SHOP_PORT", 8000)?;
    let sandbox_port = port("NOVASEND_SANDBOX_PORT", 8091)?;
    let cauris_port = port("CAURISFLUX_SANDBOX_PORT", 8092)?;
    let scalapay_port = port("SCALAPAY_SANDBOX_PORT", 8093)?;
    let mypvit_port = port("MYPVIT_SANDBOX_PORT", 8094)?;
    for (p, what) in [
        (verifier_port, "VERIFIER_PORT"),
        (shop_port, "SHOP_PORT"),
        (sandbox_port, "NOVASEND_SANDBOX_PORT"),
        (cauris_port, "CAURISFLUX_SANDBOX_PORT"),
        (scalapay_port, "SCALAPAY_SANDBOX_PORT"),
        (mypvit_port, "MYPVIT_SANDBOX_PORT"),
    ] {
        if TcpStream::connect(("127.0.0.1", p)).is_ok() {
            bail!("port {p} is already in use; set {what} to another port");
        }
    }

    eprintln!(
        "xtask: building the widget (Rust to WebAssembly, then wasm-bindgen and compression); \
         the first build takes a few minutes, cargo's progress below"
    );
    let widget_dir = widget::build(root)?;
    eprintln!(
        "xtask: building the verifier, the provider sandboxes and the demo shop; the first build \
         takes several minutes, cargo's progress below"
    );
    run_cmd(cargo().current_dir(root).args([
        "build",
        "--locked",
        "-p",
        "verifier",
        "-p",
        "provider-sandbox",
        "-p",
        "demo-shop",
    ]))?;

    let dir = root.join(".demo");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("verifier.toml");
    std::fs::write(
        &config,
        format!(
            r#"# Written by `cargo xtask demo`; keys come from the environment.
listen = "127.0.0.1:{verifier_port}"
database_url = "sqlite://{db}"
widget_dir = "{widget}"

[merchant]
name = "Boutique Démo"
# Set by the environment (VERIFIER_MERCHANT_SECRET_KEY): mk_test_ and 32 random hex digits.

[checkout]
default_country = "CI"
ttl_seconds = 1800

[reconcile]
poll_interval_ms = 5000
# The demo's providers are `provider-sandbox` simulators: poll at the pace above.
ignore_provider_poll_floor = true

# The production limits, but for the sandboxes' few test numbers, which every demo payment uses.
[limits]
requests_per_phone = 1000

[novasend]
mode = "test"
base_url = "http://127.0.0.1:{sandbox_port}"
api_key = "ns_demo_key"
api_client = "ns_demo_client"
webhook_secret = "set-by-environment"
timeout_ms = 30000
# The sandbox's: it expires a payment nobody confirmed after 2 minutes.
confirmation_window_s = 120

[caurisflux]
mode = "test"
base_url = "http://127.0.0.1:{cauris_port}/api/v1"
public_key = "pk_test_demo"
secret_key = "sk_test_demo"
webhook_secret = "set-by-environment"
timeout_ms = 30000
confirmation_window_s = 120

[scalapay]
mode = "test"
base_url = "http://127.0.0.1:{scalapay_port}"
api_key = "qhtfs87hjnc12kkos"
item_category = "clothes"
timeout_ms = 30000
[scalapay.shipping]
line1 = "12 rue des Tisserands"
suburb = "Lyon"
postcode = "69003"
country_code = "FR"

[mypvit]
mode = "test"
base_url = "http://127.0.0.1:{mypvit_port}"
operation_account_code = "ACC_DEMO0000001"
password = "mp_demo_password"
reception_url_code = "SBXRC"
callback_url_code = "SBXCB"
webhook_token = "set-by-environment"
allowed_ips = ["127.0.0.1"]
owner_charge = "MERCHANT"
timeout_ms = 30000
renew_before_s = 300
secret_wait_ms = 10000
[mypvit.url_codes]
renew_secret = "SBXRENEW"
rest = "SBXREST"
status = "SBXSTATUS"

# Gabon's Airtel Money and Moov Money are offered by CaurisFlux and MyPVit: MyPVit takes them
# while it is up (its sandbox: up to 1 000 XAF succeeds, above fails), CaurisFlux while MyPVit
# cools down after answering as down.
[routing]
cooldown_ms = 30000

[[routing.rules]]
method = "airtel_money"
country = "GA"
prefer = "my_pvit"

[[routing.rules]]
method = "moov_money"
country = "GA"
prefer = "my_pvit"

[public_api]
# The demo shop's pages call the public API from their own origin (the widget inline).
allowed_origins = ["http://127.0.0.1:{shop_port}", "http://localhost:{shop_port}"]

"#,
            db = dir.join("verifier.db").display(),
            widget = widget_dir.display(),
        ),
    )?;

    // A test-mode key (the demo's providers are all `mode = "test"`): printed below for the
    // person running the demo, which a live key must never be.
    let merchant_key = format!("mk_test_{}", random_hex()?);
    // Standard Webhooks secret: 64 hex digits are also valid base64 (48 bytes, 256 random bits).
    let webhook_secret = format!("whsec_{}{}", random_hex()?, random_hex()?);
    let bin = crate::target_dir(root).join("debug");
    // From here on, Ctrl-C (and SIGTERM, SIGHUP) stops the demo: a message on `interrupted`.
    // The terminal sends Ctrl-C's SIGINT to the children too; they stop on it.
    let (interrupt, interrupted) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = interrupt.send(());
    })
    .context("cannot handle Ctrl-C")?;
    let mut guard = Guard(Vec::new());
    let started = start_up(&mut guard, &interrupted, |guard| {
        // The sandboxes first: they only call the verifier when a payment moves.
        let (novasend_secret, cauris_secret, mypvit_token) = (random_hex()?, random_hex()?, random_hex()?);
        let verifier_url = format!("http://127.0.0.1:{verifier_port}");
        let sandboxes = sandboxes_command(
            &bin,
            [sandbox_port, cauris_port, scalapay_port, mypvit_port],
            &verifier_url,
            (&novasend_secret, &cauris_secret, &mypvit_token),
            &format!("http://127.0.0.1:{shop_port}/"),
        )
        .spawn()
        .context("failed to start the provider sandboxes")?;
        guard.0.push(sandboxes);
        for p in [sandbox_port, cauris_port, scalapay_port, mypvit_port] {
            wait_listening(p, &mut guard.0[0], "the provider sandboxes")?;
        }
        let verifier = Command::new(bin.join("verifier"))
            .arg(&config)
            .env("VERIFIER_MERCHANT_SECRET_KEY", &merchant_key)
            .env("VERIFIER_NOVASEND_WEBHOOK_SECRET", &novasend_secret)
            .env("VERIFIER_CAURISFLUX_WEBHOOK_SECRET", &cauris_secret)
            .env("VERIFIER_MYPVIT_WEBHOOK_TOKEN", &mypvit_token)
            .env("VERIFIER_MERCHANT_WEBHOOK_URL", format!("http://127.0.0.1:{shop_port}/webhooks/verifier"))
            .env("VERIFIER_MERCHANT_WEBHOOK_SECRET", &webhook_secret)
            .spawn()
            .context("failed to start the verifier")?;
        guard.0.push(verifier);
        wait_listening(verifier_port, &mut guard.0[1], "the verifier")?;

        let shop = Command::new(bin.join("demo-shop"))
            .arg(format!("127.0.0.1:{shop_port}"))
            .arg(&verifier_url)
            .env("DEMO_MERCHANT_KEY", &merchant_key)
            .env("DEMO_WEBHOOK_SECRET", &webhook_secret)
            .spawn()
            .context("failed to start the demo shop")?;
        guard.0.push(shop);
        wait_listening(shop_port, &mut guard.0[2], "the demo shop")?;

        let numbers = Command::new(bin.join("provider-sandbox")).arg("test-numbers").output()?;
        println!(
            "\n  Demo shop:   http://127.0.0.1:{shop_port}/   (English: http://127.0.0.1:{shop_port}/?lang=en)\n  \
             Verifier:    {verifier_url}   (database {})\n  \
             Dashboard:   {verifier_url}/dashboard   (log in with the merchant key below)\n  \
             Sandboxes:   NovaSend http://127.0.0.1:{sandbox_port}, CaurisFlux http://127.0.0.1:{cauris_port}, \
             Scalapay http://127.0.0.1:{scalapay_port}, MyPVit http://127.0.0.1:{mypvit_port}\n\n  \
             Merchant key of this demo (test mode, new at each start), for the dashboard's login and\n  \
             the README's curl lines:\n\n    \
             export MERCHANT_SECRET_KEY={merchant_key}\n    \
             curl -X POST {verifier_url}/v1/checkouts -H \"Authorization: Bearer $MERCHANT_SECRET_KEY\" \\\n      \
             -H \"Content-Type: application/json\" \\\n      \
             -d '{{\"amount\": 5000, \"currency\": \"XOF\", \"reference\": \"order-1042\"}}'\n\n  \
             Test phone numbers and cards (type numbers in any usual form, e.g. 07 00 00 00 01):\n{}\n  \
             Press Ctrl-C to stop.\n",
            dir.join("verifier.db").display(),
            String::from_utf8_lossy(&numbers.stdout)
        );
        Ok(())
    })?;
    if !started {
        return Ok(());
    }

    const NAMES: [&str; 3] = ["the provider sandboxes", "the verifier", "the demo shop"];
    loop {
        if interrupted.recv_timeout(Duration::from_millis(500)).is_ok() {
            return stop(&mut guard);
        }
        let mut ended = None;
        for (i, child) in guard.0.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                ended = Some((NAMES[i.min(2)], status));
                break;
            }
        }
        if let Some((what, status)) = ended {
            // A Ctrl-C reaches the children too, and one may end before the signal handler
            // has run: an interruption that comes within a second is a normal stop.
            if interrupted.recv_timeout(Duration::from_secs(1)).is_ok() {
                return stop(&mut guard);
            }
            bail!("{what} stopped ({status})");
        }
    }
}

/// Runs the start-up `steps`: `true` once they succeeded. An error they end with after a Ctrl-C
/// (a child stopped by it) is the Ctrl-C's: the demo stops normally and this answers `false`.
fn start_up(
    guard: &mut Guard,
    interrupted: &mpsc::Receiver<()>,
    steps: impl FnOnce(&mut Guard) -> Result<()>,
) -> Result<bool> {
    match steps(guard) {
        Ok(()) => Ok(true),
        Err(_) if interrupted.recv_timeout(Duration::from_secs(1)).is_ok() => stop(guard).map(|()| false),
        Err(e) => Err(e),
    }
}

/// The end of a demo stopped by Ctrl-C: every process stopped, success.
fn stop(guard: &mut Guard) -> Result<()> {
    eprintln!("\nxtask: stopping the demo");
    guard.stop(Duration::from_secs(25));
    eprintln!("xtask: demo stopped");
    Ok(())
}

//! The bench's cases, in order: the limit, the widget's status read (empty, then on seeded
//! databases), creates without and with `Idempotency-Key`, complete payments (empty and
//! seeded) with the pay → `succeeded` probe, SSE subscribers, the status read, create and SSE
//! again on PostgreSQL (one instance, then two), and the widget in Chromium. Each
//! case starts its own processes on a fresh database and stops them when it ends, even when it
//! fails; a failed case is recorded with its error and the others still run.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::{
    Paths, Plan,
    procs::{self, Server},
    wrk,
};

/// Each case's figures, or `{"error": …}`.
pub(crate) type Results = Map<String, Value>;

/// How the NovaSend sandbox's confirmations reach the verifier, and the verifier's key.
#[derive(Debug, Clone)]
struct Secrets {
    merchant_key: String,
    novasend_webhook: String,
}

/// Where a case's verifiers keep their data.
#[derive(Debug, Clone, Copy)]
enum Db<'a> {
    /// One verifier on a SQLite file of its own (a copy of the template, if given).
    Sqlite(Option<&'a Path>),
    /// `instances` verifiers on one new database of the PostgreSQL server whose maintenance
    /// database `server` names; the first serves the clients, the last gets the webhooks.
    Postgres { server: &'a str, instances: usize },
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs every case of the plan.
pub(crate) fn run_all(plan: &Plan, paths: &Paths, gzip_total: u64) -> Results {
    let mut results = Results::new();
    results.insert("widget_gzip".into(), json!({"bytes": gzip_total}));
    let secrets = match (random_hex(), random_hex()) {
        (Ok(a), Ok(b)) => Secrets { merchant_key: format!("mk_test_{a}"), novasend_webhook: b },
        (Err(e), _) | (_, Err(e)) => {
            results.insert("setup".into(), json!({"error": format!("{e:#}")}));
            return results;
        }
    };
    let s = &secrets;
    let mut record = |name: &str, f: &mut dyn FnMut() -> Result<Value>| {
        if !plan.runs(name) {
            return;
        }
        eprintln!("xtask: bench: {name}");
        let value = f().unwrap_or_else(|e| json!({"error": format!("{e:#}")}));
        eprintln!("xtask: bench: {name}: {value}");
        results.insert(name.to_owned(), value);
    };
    record("limit", &mut || limit(plan, paths));
    record("status_empty", &mut || status(plan, paths, s, "status_empty", Db::Sqlite(None)));
    let mut templates = Vec::new();
    for &n in &plan.seeded {
        let name = format!("seed_{n}");
        let mut template = None;
        record(&name, &mut || {
            let (path, value) = seed(paths, n)?;
            template = Some(path);
            Ok(value)
        });
        if let Some(t) = template {
            record(&format!("status_{n}"), &mut || {
                status(plan, paths, s, &format!("status_{n}"), Db::Sqlite(Some(&t)))
            });
            templates.push((n, t));
        }
    }
    record("create", &mut || create(plan, paths, s, "create", false, Db::Sqlite(None)));
    record("create_idempotency", &mut || {
        create(plan, paths, s, "create_idempotency", true, Db::Sqlite(None))
    });
    record("flows_empty", &mut || flows(plan, paths, s, "flows_empty", None));
    if let Some((n, t)) = templates.first() {
        record(&format!("flows_{n}"), &mut || flows(plan, paths, s, &format!("flows_{n}"), Some(t)));
    }
    record("sse_1000", &mut || sse(paths, s, "sse_1000", 1000, 1000, 20, Db::Sqlite(None)));
    record("sse_10000", &mut || sse(paths, s, "sse_10000", 10_000, 10_000, 20, Db::Sqlite(None)));
    record("sse_500_one", &mut || sse(paths, s, "sse_500_one", 500, 1, 1, Db::Sqlite(None)));
    // The same status read, create and webhook → SSE on PostgreSQL, one instance then two.
    let cluster = crate::postgres::ensure_installed().and_then(|bin| {
        crate::postgres::stop_on_signals();
        crate::postgres::Cluster::start_durable(&bin)
    });
    for (suffix, instances) in [("pg", 1), ("pg2", 2)] {
        let db: Result<Db, String> = match &cluster {
            Ok(c) => Ok(Db::Postgres { server: c.url(), instances }),
            Err(e) => Err(format!("no PostgreSQL for the bench: {e:#}")),
        };
        let need = || db.clone().map_err(anyhow::Error::msg);
        let case = format!("status_{suffix}");
        record(&case, &mut || status(plan, paths, s, &case, need()?));
        let case = format!("create_{suffix}");
        record(&case, &mut || create(plan, paths, s, &case, false, need()?));
        let case = format!("sse_1000_{suffix}");
        record(&case, &mut || sse(paths, s, &case, 1000, 1000, 20, need()?));
    }
    drop(cluster);
    let (cold, warm, cold_3g, warm_3g) = plan.widget_runs;
    record("widget_localhost", &mut || widget(paths, s, "widget_localhost", cold, warm, false));
    record("widget_3g", &mut || widget(paths, s, "widget_3g", cold_3g, warm_3g, true));
    results
}

/// A fresh directory for a case.
fn case_dir(paths: &Paths, case: &str) -> Result<PathBuf> {
    let dir = paths.bench.join(case);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The limit: `bench-limit`, loaded like the status read.
fn limit(plan: &Plan, paths: &Paths) -> Result<Value> {
    let dir = case_dir(paths, "limit")?;
    let port = procs::free_port()?;
    let mut server = Server::start(
        "the limit (bench-limit)",
        port,
        &paths.bin("bench-limit"),
        &[format!("127.0.0.1:{port}")],
        &[],
        &dir.join("bench-limit.log"),
    )?;
    server.wait_ready("/healthz", true, Duration::from_secs(30))?;
    let script = wrk::get_script(&dir, "get.lua", "co_limit_secret_0")?;
    let url = format!("http://127.0.0.1:{port}/v1/public/checkouts/co_limit");
    let mut v = wrk::measure(plan.load, &script, &url, &dir.join("wrk"))?;
    v["load"] = json!(plan.load.args());
    Ok(v)
}

/// The verifier (or several instances on one PostgreSQL database) and its NovaSend sandbox, on
/// a fresh database.
#[derive(Debug)]
struct Stack {
    /// The first instance: the one clients talk to and whose memory is read.
    verifier: Server,
    /// The other instances; the last gets the sandbox's webhooks.
    _others: Vec<Server>,
    _sandbox: Server,
    /// The first instance's URL.
    url: String,
    /// Every instance's URL, the first's first.
    urls: Vec<String>,
    dir: PathBuf,
}

/// Makes the database `name` anew on the PostgreSQL server whose maintenance database `server`
/// names; its URL.
fn new_postgres_database(server: &str, name: &str) -> Result<String> {
    let bin = crate::postgres::bin_dir().context("PostgreSQL's tools are not installed")?;
    for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
        let out = Command::new(bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql, "-d", server])
            .output()
            .context("running psql")?;
        if !out.status.success() {
            anyhow::bail!("psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    let (base, _) = server.rsplit_once('/').context("a PostgreSQL URL ends with its database")?;
    Ok(format!("{base}/{name}"))
}

impl Stack {
    fn start(paths: &Paths, secrets: &Secrets, case: &str, db: Db<'_>) -> Result<Stack> {
        Stack::start_for(paths, secrets, case, db, None)
    }

    /// [`Stack::start`] with the public API open to `shop_origin`'s pages (`[public_api]
    /// allowed_origins`), for a shop page that embeds the widget.
    fn start_for(
        paths: &Paths,
        secrets: &Secrets,
        case: &str,
        db: Db<'_>,
        shop_origin: Option<&str>,
    ) -> Result<Stack> {
        let dir = case_dir(paths, case)?;
        let (database_url, instances) = match db {
            Db::Sqlite(template) => {
                let file = dir.join("verifier.db");
                if let Some(t) = template {
                    std::fs::copy(t, &file).with_context(|| format!("copying {}", t.display()))?;
                }
                (format!("sqlite://{}", file.display()), 1)
            }
            Db::Postgres { server, instances } => {
                (new_postgres_database(server, &format!("bench_{case}"))?, instances.max(1))
            }
        };
        let ports = (0..instances).map(|_| procs::free_port()).collect::<Result<Vec<u16>>>()?;
        let urls: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
        let sport = procs::free_port()?;
        let webhooks_to = urls.last().context("at least one instance")?;
        let mut sandbox = Server::start(
            "the NovaSend sandbox",
            sport,
            &paths.bin("provider-sandbox"),
            &["novasend".into(), "--listen".into(), format!("127.0.0.1:{sport}")],
            &[
                ("NOVASEND_WEBHOOK_SECRET", &secrets.novasend_webhook),
                ("NOVASEND_WEBHOOK_URL", &format!("{webhooks_to}/webhooks/nova_send")),
            ],
            &dir.join("sandbox.log"),
        )?;
        sandbox.wait_ready("/", false, Duration::from_secs(30))?;
        let mut verifiers = Vec::new();
        for (i, vport) in ports.iter().enumerate() {
            let config = dir.join(format!("verifier-{i}.toml"));
            let mut text = verifier_config(paths, secrets, case, *vport, sport, &database_url);
            if let Some(origin) = shop_origin {
                text.push_str(&format!("allowed_origins = [\"{origin}\"]\n"));
            }
            std::fs::write(&config, text)?;
            // One after the other: the first applies the migrations.
            let mut verifier = Server::start(
                "the verifier",
                *vport,
                &paths.bin("verifier"),
                &[config.display().to_string()],
                &[],
                &dir.join(format!("verifier-{i}.log")),
            )?;
            verifier.wait_ready("/healthz", true, Duration::from_secs(300))?;
            verifiers.push(verifier);
        }
        let mut verifiers = verifiers.into_iter();
        let verifier = verifiers.next().context("at least one instance")?;
        Ok(Stack {
            verifier,
            _others: verifiers.collect(),
            _sandbox: sandbox,
            url: urls[0].clone(),
            urls,
            dir,
        })
    }

    /// `bench-client --url … <args>`, within `within`; its JSON.
    fn client(
        &self,
        paths: &Paths,
        secrets: &Secrets,
        log: &str,
        args: &[String],
        within: Duration,
    ) -> Result<Value> {
        let mut cmd = Command::new(paths.bin("bench-client"));
        cmd.args(["--url", &self.url]).args(args).env("BENCH_MERCHANT_KEY", &secrets.merchant_key);
        let out = procs::run_client(&mut cmd, &self.dir.join(log), within)?;
        serde_json::from_str(out.trim()).with_context(|| format!("bench-client printed {out:?}"))
    }

    /// The verifier's resident memory, kB.
    fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.verifier.pid())).ok()?;
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

/// A verifier's configuration for a bench case: listening on `vport`, the sandbox on `sport`.
fn verifier_config(
    paths: &Paths,
    secrets: &Secrets,
    case: &str,
    vport: u16,
    sport: u16,
    database_url: &str,
) -> String {
    format!(
        r#"# Written by `cargo xtask bench` for the case "{case}".
listen = "127.0.0.1:{vport}"
database_url = "{database_url}"
widget_dir = "{widget}"

[merchant]
name = "Boutique Bench"
secret_key = "{key}"

[checkout]
default_country = "CI"
ttl_seconds = 1800

[reconcile]
poll_interval_ms = 5000

# The load comes from one address (wrk, bench-client) and pays with a few numbers: limits that
# measure the verifier, not its refusals.
[limits]
attempts_per_checkout = 1000
otp_failures_per_checkout = 1000
requests_per_phone = 100000000
public_per_ip = {{ per_minute = 100000000, burst = 10000000 }}
webhooks_per_ip = {{ per_minute = 100000000, burst = 10000000 }}
public_per_secret = {{ per_minute = 100000000, burst = 10000000 }}
pay_per_secret = {{ per_minute = 100000000, burst = 10000000 }}
pay_per_ip = {{ per_minute = 100000000, burst = 10000000 }}

[novasend]
mode = "test"
base_url = "http://127.0.0.1:{sport}"
api_key = "ns_demo_key"
api_client = "ns_demo_client"
webhook_secret = "{webhook}"
timeout_ms = 30000

# The SSE cases hold 10 000 streams at once, and 500 on one checkout, beside the probes.
[http]
max_connections = 20000
max_concurrent_requests = 4096

[public_api]
sse_per_checkout = 1000
sse_total = 15000
"#,
        widget = paths.widget.display(),
        key = secrets.merchant_key,
        webhook = secrets.novasend_webhook,
    )
}

/// The widget's poll of a status, `GET /v1/public/checkouts/{id}` with the client secret (on
/// every instance at once when there are several).
fn status(plan: &Plan, paths: &Paths, s: &Secrets, case: &str, db: Db<'_>) -> Result<Value> {
    let stack = Stack::start(paths, s, case, db)?;
    let created = stack.client(
        paths,
        s,
        "checkouts.log",
        &["checkouts".into(), "--count".into(), "1".into()],
        Duration::from_secs(60),
    )?;
    let id = created[0]["id"].as_str().context("a checkout id")?;
    let secret = created[0]["secret"].as_str().context("a client secret")?;
    let script = wrk::get_script(&stack.dir, "get.lua", secret)?;
    let urls: Vec<String> = stack.urls.iter().map(|u| format!("{u}/v1/public/checkouts/{id}")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let mut v = wrk::measure_spread(plan.load, &script, &urls, &stack.dir.join("wrk"))?;
    v["load"] = json!(plan.load.args());
    v["rss_kb"] = json!(stack.rss_kb());
    Ok(v)
}

/// Seeds a template database of `n` checkouts with `bench-seed`.
fn seed(paths: &Paths, n: u64) -> Result<(PathBuf, Value)> {
    let template = paths.bench.join(format!("seed-{n}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let f = PathBuf::from(format!("{}{suffix}", template.display()));
        if f.exists() {
            std::fs::remove_file(&f)?;
        }
    }
    let started = std::time::Instant::now();
    let mut cmd = Command::new(paths.bin("bench-seed"));
    cmd.arg(&template).arg(n.to_string());
    procs::run_client(&mut cmd, &paths.bench.join(format!("seed-{n}.log")), Duration::from_secs(1200))?;
    let bytes = std::fs::metadata(&template)?.len();
    Ok((template, json!({"checkouts": n, "seconds": started.elapsed().as_secs_f64(), "bytes": bytes})))
}

/// `POST /v1/checkouts`, a new reference per request (and its `Idempotency-Key`), on every
/// instance at once when there are several.
fn create(
    plan: &Plan,
    paths: &Paths,
    s: &Secrets,
    case: &str,
    idempotency: bool,
    db: Db<'_>,
) -> Result<Value> {
    let stack = Stack::start(paths, s, case, db)?;
    let run = format!("bench-{case}-{}", random_hex()?);
    let script = wrk::create_script(&stack.dir, "create.lua", &s.merchant_key, &run, idempotency)?;
    let urls: Vec<&str> = stack.urls.iter().map(String::as_str).collect();
    let mut v = wrk::measure_spread(plan.load, &script, &urls, &stack.dir.join("wrk"))?;
    v["load"] = json!(plan.load.args());
    v["rss_kb"] = json!(stack.rss_kb());
    Ok(v)
}

/// Complete payment starts with 64 clients, and the pay → `succeeded` probe every 250 ms.
fn flows(plan: &Plan, paths: &Paths, s: &Secrets, case: &str, template: Option<&Path>) -> Result<Value> {
    let stack = Stack::start(paths, s, case, Db::Sqlite(template))?;
    let mut runs = Vec::new();
    for i in 0..plan.flow_runs {
        let args: Vec<String> = [
            "flows",
            "--seconds",
            &plan.load.seconds.to_string(),
            "--connections",
            "64",
            "--probe-every-ms",
            "250",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        runs.push(stack.client(
            paths,
            s,
            &format!("flows-{i}.log"),
            &args,
            Duration::from_secs(plan.load.seconds + 180),
        )?);
    }
    let med = |f: &dyn Fn(&Value) -> Option<f64>| wrk::median(runs.iter().filter_map(f).collect());
    Ok(json!({
        "per_s": med(&|r| r["per_s"].as_f64()),
        "p50_ms": med(&|r| r["latency"]["p50_ms"].as_f64()),
        "p99_ms": med(&|r| r["latency"]["p99_ms"].as_f64()),
        "errors": runs.iter().filter_map(|r| r["errors"].as_u64()).sum::<u64>(),
        "probe_p50_ms": med(&|r| r["probe"]["latency"]["p50_ms"].as_f64()),
        "probe_p99_ms": med(&|r| r["probe"]["latency"]["p99_ms"].as_f64()),
        "probe_timeouts": runs.iter().filter_map(|r| r["probe"]["timeouts"].as_u64()).sum::<u64>(),
        "probe_count": runs.iter().filter_map(|r| r["probe"]["latency"]["count"].as_u64()).sum::<u64>(),
        "load": format!("64 clients, {} s, probe every 250 ms", plan.load.seconds),
        "rss_kb": stack.rss_kb(),
        "runs": runs,
    }))
}

/// SSE subscribers: webhook → event latency and the verifier's memory. With several instances
/// the streams are on the first and the webhooks reach the last.
fn sse(
    paths: &Paths,
    s: &Secrets,
    case: &str,
    subscribers: usize,
    checkouts: usize,
    probes: usize,
    db: Db<'_>,
) -> Result<Value> {
    let stack = Stack::start(paths, s, case, db)?;
    let args: Vec<String> = vec![
        "sse".into(),
        "--subscribers".into(),
        subscribers.to_string(),
        "--checkouts".into(),
        checkouts.to_string(),
        "--probes".into(),
        probes.to_string(),
        "--pid".into(),
        stack.verifier.pid().to_string(),
    ];
    stack.client(paths, s, "sse.log", &args, Duration::from_secs(900))
}

/// The widget in Chromium: time to `checkout:ready`, first and return visit, and its bytes.
fn widget(
    paths: &Paths,
    s: &Secrets,
    case: &str,
    cold: usize,
    warm: usize,
    emulate_3g: bool,
) -> Result<Value> {
    // The shop page is on another origin, which the verifier's CORS must name.
    let shop_port = procs::free_port()?;
    let stack =
        Stack::start_for(paths, s, case, Db::Sqlite(None), Some(&format!("http://127.0.0.1:{shop_port}")))?;
    let mut cmd = Command::new(paths.bin("widget-speed"));
    cmd.args(["--verifier", &stack.url, "--cold", &cold.to_string(), "--warm", &warm.to_string()])
        .args(["--shop-port", &shop_port.to_string()])
        .env("BENCH_MERCHANT_KEY", &s.merchant_key)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM", "/usr/bin/chromium");
    cmd.arg(if emulate_3g { "--emulate-3g" } else { "--bytes" });
    let out = procs::run_client(&mut cmd, &stack.dir.join("widget-speed.log"), Duration::from_secs(1200))?;
    serde_json::from_str(out.trim()).with_context(|| format!("widget-speed printed {out:?}"))
}

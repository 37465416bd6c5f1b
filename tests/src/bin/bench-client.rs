//! `bench-client`: the clients of `cargo xtask bench` that a load generator cannot play: it
//! creates the checkouts the load reads, runs complete payments, and holds SSE streams. It talks
//! to a verifier (and its NovaSend sandbox) running as separate processes, and prints one JSON
//! object on stdout for the bench to read.
//!
//! - `checkouts`: creates checkouts, prints `[{"id", "secret"}]`.
//! - `flows`: for `--seconds`, `--connections` clients each loop on a complete payment start
//!   (`POST /v1/checkouts` with the secret key, then `POST /v1/public/checkouts/{id}/pay` with
//!   a NovaSend test number that the sandbox confirms after a moment, so its webhooks arrive
//!   during the load); meanwhile a probe every `--probe-every-ms` pays with a number that waits
//!   for the provider's payment page, listens on the checkout's SSE stream, accepts on the
//!   page (`POST {payment_url}/accept`, as `tests/e2e/flow.rs` does) and times the moment the
//!   stream says `succeeded` (deadline 30 s).
//! - `sse`: holds `--subscribers` SSE streams over `--checkouts` checkouts, reads the verifier's
//!   RSS from `/proc/<pid>/status` while they are held and after they close, and times, for
//!   `--probes` checkouts, the provider's confirmation (the payment page's Accept, which makes
//!   the sandbox send its signed webhook) to the `succeeded` event on each of their streams.
//!
//! Every loop is bounded by a deadline; a request that fails is counted, never retried.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::{
    sync::{Semaphore, mpsc},
    time::Instant,
};

/// A NovaSend test number the sandbox confirms after a moment (`provider-sandbox test-numbers`).
const PAYS: &str = "0700000001";
/// A number that waits for Accept or Decline on the sandbox's payment page.
const WAITS_FOR_PAGE: &str = "0707123456";
/// How long a probe waits for `succeeded`.
const PROBE_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(name = "bench-client")]
struct Cli {
    /// The verifier, e.g. `http://127.0.0.1:18080`.
    #[arg(long)]
    url: String,
    /// The merchant's secret key.
    #[arg(long, env = "BENCH_MERCHANT_KEY", hide_env_values = true)]
    key: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Creates checkouts and prints their ids and client secrets.
    Checkouts {
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
    /// Complete payment starts under load, and the probe's pay → `succeeded` latency.
    Flows {
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 500)]
        probe_every_ms: u64,
    },
    /// SSE subscribers: webhook → event latency and the verifier's memory.
    Sse {
        #[arg(long)]
        subscribers: usize,
        #[arg(long)]
        checkouts: usize,
        #[arg(long, default_value_t = 20)]
        probes: usize,
        /// The verifier's process id, for its RSS.
        #[arg(long)]
        pid: u32,
    },
}

#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

#[derive(Debug, Clone, Serialize)]
struct Created {
    id: String,
    secret: String,
}

impl Api {
    async fn create(&self) -> anyhow::Result<Created> {
        let reference = format!("bench-{}", uuid::Uuid::new_v4());
        let r = self
            .http
            .post(format!("{}/v1/checkouts", self.url))
            .bearer_auth(&self.key)
            .json(&json!({"amount": 5000, "currency": "XOF", "reference": reference, "description": "Bench"}))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("create answered {status}: {body}");
        }
        Ok(Created {
            id: body["id"].as_str().context("an id")?.to_owned(),
            secret: body["client_secret"].as_str().context("a client secret")?.to_owned(),
        })
    }

    /// Starts a payment; returns the body (the public checkout).
    async fn pay(&self, c: &Created, phone: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/v1/public/checkouts/{}/pay", self.url, c.id))
            .bearer_auth(&c.secret)
            .json(&json!({"method": "mobile_money", "phone": phone}))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 200 {
            bail!("pay answered {status}: {body}");
        }
        Ok(body)
    }

    /// Opens the checkout's SSE stream; returns its events' `status` fields as they come.
    async fn subscribe(&self, c: &Created) -> anyhow::Result<mpsc::Receiver<String>> {
        let r = self
            .http
            .get(format!("{}/v1/public/checkouts/{}/events", self.url, c.id))
            .bearer_auth(&c.secret)
            .header("accept", "text/event-stream")
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("the event stream answered {}", r.status());
        }
        let mut events = eventsource_stream::EventStream::new(r.bytes_stream());
        let (tx, rx) = mpsc::channel(8);
        // Reads until the stream ends or the receiver is dropped (which closes the connection).
        tokio::spawn(async move {
            loop {
                let e = tokio::select! {
                    e = events.next() => e,
                    () = tx.closed() => break,
                };
                let Some(Ok(e)) = e else { break };
                let status = serde_json::from_str::<Value>(&e.data)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                if tx.send(status).await.is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }

    /// Accepts the payment on the provider's page.
    async fn accept(&self, payment_url: &str) -> anyhow::Result<()> {
        let r = self.http.post(format!("{payment_url}/accept")).send().await?;
        if !(r.status().is_success() || r.status().is_redirection()) {
            bail!("the payment page's accept answered {}", r.status());
        }
        Ok(())
    }
}

/// Milliseconds at the given quantile (nearest rank) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    json!({"count": ms.len(), "p50_ms": quantile(&ms, 0.5), "p99_ms": quantile(&ms, 0.99),
           "max_ms": ms.last()})
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates `count` checkouts, 32 at a time.
async fn create_many(api: &Api, count: usize) -> anyhow::Result<Vec<Created>> {
    let created: Vec<anyhow::Result<Created>> =
        futures_util::stream::iter(0..count).map(|_| api.create()).buffered(32).collect().await;
    created.into_iter().collect()
}

/// Waits on a stream until it says `succeeded`, for at most `within`; the moment it did.
async fn until_succeeded(rx: &mut mpsc::Receiver<String>, within: Duration) -> Option<Instant> {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(s)) if s == "succeeded" => return Some(Instant::now()),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

/// One probe: a payment that waits for the page, accepted while the stream listens.
async fn probe(api: &Api) -> anyhow::Result<Option<f64>> {
    let c = api.create().await?;
    let paid = api.pay(&c, WAITS_FOR_PAGE).await?;
    let page = paid["attempt"]["payment_url"].as_str().context("a payment page")?.to_owned();
    let mut rx = api.subscribe(&c).await?;
    rx.recv().await.context("the stream's first event")?;
    let t0 = Instant::now();
    api.accept(&page).await?;
    Ok(until_succeeded(&mut rx, PROBE_DEADLINE).await.map(|t| (t - t0).as_secs_f64() * 1000.0))
}

async fn flows(api: Api, seconds: u64, connections: usize, probe_every: Duration) -> anyhow::Result<Value> {
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (api, errors, first_error) = (api.clone(), errors.clone(), first_error.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                let done = async {
                    let c = api.create().await?;
                    api.pay(&c, PAYS).await
                };
                match tokio::time::timeout(Duration::from_secs(30), done).await {
                    Ok(Ok(_)) => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(Err(e)) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut probes = Vec::new();
    let mut tick = tokio::time::interval(probe_every);
    tick.tick().await;
    while Instant::now() < end {
        tick.tick().await;
        let api = api.clone();
        probes.push(tokio::spawn(async move {
            tokio::time::timeout(PROBE_DEADLINE * 3, probe(&api))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the probe took over {:?}", PROBE_DEADLINE * 3)))
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (mut probe_ms, mut timeouts, mut probe_errors) = (Vec::new(), 0, 0);
    for p in probes {
        match p.await? {
            Ok(Some(ms)) => probe_ms.push(ms),
            Ok(None) => {
                timeouts += 1;
                probe_ms.push(PROBE_DEADLINE.as_secs_f64() * 1000.0);
            }
            Err(_) => probe_errors += 1,
        }
    }
    Ok(json!({
        "flows": latencies.len(),
        "per_s": latencies.len() as f64 / elapsed,
        "errors": errors.load(Ordering::Relaxed),
        "first_error": first_error.lock().ok().and_then(|f| f.clone()),
        "latency": summary(latencies),
        "probe": {"latency": summary(probe_ms), "timeouts": timeouts, "errors": probe_errors,
                  "deadline_ms": PROBE_DEADLINE.as_millis() as u64},
    }))
}

async fn sse(
    api: Api,
    subscribers: usize,
    checkouts: usize,
    probes: usize,
    pid: u32,
) -> anyhow::Result<Value> {
    let checkouts = checkouts.clamp(1, subscribers.max(1));
    let probes = probes.min(checkouts);
    let rss_before = rss_kb(pid);
    let created = create_many(&api, checkouts).await?;
    // Subscribers, spread evenly over the checkouts; each reports when it saw `succeeded`.
    let opening = Arc::new(Semaphore::new(100));
    let (ready_tx, mut ready_rx) = mpsc::channel::<anyhow::Result<()>>(subscribers.max(1));
    let mut seen: Vec<mpsc::Receiver<Instant>> = Vec::new();
    let mut seen_tx = Vec::new();
    for _ in 0..probes {
        let (tx, rx) = mpsc::channel(subscribers.max(1));
        seen_tx.push(tx);
        seen.push(rx);
    }
    let hold_until = Instant::now() + Duration::from_secs(600);
    let mut tasks = Vec::new();
    for i in 0..subscribers {
        let k = i % checkouts;
        let c = created[k].clone();
        let (api, opening, ready_tx) = (api.clone(), opening.clone(), ready_tx.clone());
        let seen_tx = seen_tx.get(k).cloned();
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let rx = tokio::time::timeout(Duration::from_secs(60), async {
                let mut rx = api.subscribe(&c).await?;
                rx.recv().await.context("no first event")?;
                anyhow::Ok(rx)
            })
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no first event within 60 s")));
            drop(permit);
            let mut rx = match rx {
                Ok(rx) => rx,
                Err(e) => {
                    let _ = ready_tx.send(Err(e)).await;
                    return;
                }
            };
            let _ = ready_tx.send(Ok(())).await;
            let left = hold_until.saturating_duration_since(Instant::now());
            match seen_tx {
                Some(tx) => {
                    if let Some(t) = until_succeeded(&mut rx, left).await {
                        let _ = tx.send(t).await;
                    }
                    // Held until the bench closes every stream.
                    let _ = tokio::time::timeout(left, async { while rx.recv().await.is_some() {} }).await;
                }
                None => {
                    let _ = tokio::time::timeout(left, async { while rx.recv().await.is_some() {} }).await;
                }
            }
        }));
    }
    drop(ready_tx);
    let (mut connected, mut failed, mut first_error) = (0usize, 0usize, None);
    let deadline = Instant::now() + Duration::from_secs(300);
    while connected + failed < subscribers {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => connected += 1,
            Ok(Some(Err(e))) => {
                failed += 1;
                first_error.get_or_insert(format!("{e:#}"));
            }
            Ok(None) | Err(_) => break,
        }
    }
    let rss_held = rss_kb(pid);
    // The probed checkouts get a payment waiting for the provider's page (after the streams
    // opened, so that the sandbox's session cannot expire meanwhile).
    let mut pages = Vec::new();
    for c in &created[..probes] {
        let paid = api.pay(c, WAITS_FOR_PAGE).await?;
        pages.push(paid["attempt"]["payment_url"].as_str().context("a payment page")?.to_owned());
    }
    // Probes one at a time: accept, then every subscriber of that checkout hears `succeeded`.
    let (mut latencies, mut missed) = (Vec::new(), 0usize);
    for (k, page) in pages.iter().enumerate() {
        let expected = (0..subscribers).filter(|i| i % checkouts == k).count();
        let t0 = Instant::now();
        api.accept(page).await?;
        let deadline = t0 + Duration::from_secs(10);
        let mut got = 0;
        while got < expected {
            match tokio::time::timeout_at(deadline, seen[k].recv()).await {
                Ok(Some(t)) => {
                    latencies.push((t.saturating_duration_since(t0)).as_secs_f64() * 1000.0);
                    got += 1;
                }
                _ => break,
            }
        }
        missed += expected - got;
    }
    let rss_after_events = rss_kb(pid);
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    // The verifier notices the closed connections on its next write (a keep-alive at most
    // 15 s later): read its memory once it had the time to.
    let closed_at = Instant::now();
    let mut rss_closed = Vec::new();
    while closed_at.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_closed.push(rss_kb(pid));
    }
    Ok(json!({
        "subscribers": subscribers, "checkouts": checkouts, "connected": connected, "failed": failed,
        "first_error": first_error,
        "latency": summary(latencies), "missed": missed,
        "rss_kb": {"before": rss_before, "held": rss_held, "after_events": rss_after_events,
                   "closed_20s": rss_closed.last().copied().flatten()},
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(256).build()?;
    let sse_http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let api = Api { http, url: cli.url.trim_end_matches('/').to_owned(), key: cli.key };
    let out = match cli.command {
        Command::Checkouts { count } => serde_json::to_value(create_many(&api, count).await?)?,
        Command::Flows { seconds, connections, probe_every_ms } => {
            flows(api, seconds, connections, Duration::from_millis(probe_every_ms.max(10))).await?
        }
        Command::Sse { subscribers, checkouts, probes, pid } => {
            sse(Api { http: sse_http, ..api }, subscribers, checkouts, probes, pid).await?
        }
    };
    println!("{out}");
    Ok(())
}

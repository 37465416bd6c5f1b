//! The bench's output: the table of issue 11 (measure, limit, ours, ratio, goal, met?, load)
//! with the machine and the command, written to `BENCHMARKS.md` at the root, and every figure
//! of every case in `target/bench/bench.json`.

use std::{process::Command, time::Duration};

use anyhow::Result;
use serde_json::{Value, json};

use super::{Paths, Plan, cases::Results};

/// One line of the table.
#[derive(Debug)]
struct Row {
    measure: String,
    limit: String,
    ours: String,
    ratio: String,
    goal: &'static str,
    met: Option<bool>,
    load: String,
}

/// What a run measured, on which machine.
#[derive(Debug)]
pub(crate) struct Report {
    rows: Vec<Row>,
    machine: Vec<(&'static str, String)>,
    results: Results,
    command: String,
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// The 1, 5 and 15 minute load averages (the machine may be shared).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `12,345`.
fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) if v >= 10.0 => format!("{v:.0} ms"),
        Some(v) => format!("{v:.1} ms"),
        None => "—".into(),
    }
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("—".into(), |kb| format!("{:.0} MB", kb as f64 / 1000.0))
}

/// Whether the memory the streams took was given back: at most half of the growth left.
fn released(before: Option<u64>, held: Option<u64>, closed: Option<u64>) -> bool {
    match (before, held, closed) {
        (Some(b), Some(h), Some(c)) => c.saturating_sub(b) * 2 <= h.saturating_sub(b),
        _ => false,
    }
}

fn error_of(v: &Value) -> Option<String> {
    v["error"].as_str().map(|e| {
        let e = e.replace('|', "/").replace('\n', " ");
        let short: String = e.chars().take(160).collect();
        format!("**not measured**: {short}")
    })
}

impl Report {
    pub(crate) fn new(plan: &Plan, paths: &Paths, results: Results, took: Duration) -> Result<Report> {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let root = paths.root.display().to_string();
        let machine = vec![
            ("date (UTC)", sh("date", &["-u", "+%Y-%m-%d %H:%M"])),
            (
                "code",
                format!(
                    "branch `{}`, commit `{}`{}",
                    sh("git", &["-C", &root, "rev-parse", "--abbrev-ref", "HEAD"]),
                    sh("git", &["-C", &root, "rev-parse", "--short", "HEAD"]),
                    if sh("git", &["-C", &root, "status", "--porcelain", "--untracked-files=no"]).is_empty() {
                        ""
                    } else {
                        " with uncommitted changes"
                    }
                ),
            ),
            ("widget files", paths.widget.display().to_string()),
            ("nproc", sh("nproc", &[])),
            ("CPU", cpu),
            ("kernel", sh("uname", &["-sr"])),
            (
                "memory",
                std::fs::read_to_string("/proc/meminfo")
                    .ok()
                    .and_then(|m| {
                        m.lines().next().map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                    })
                    .unwrap_or_default(),
            ),
            ("load generator", sh("sh", &["-c", "wrk --version 2>&1 | head -1 | cut -d' ' -f1-2"])),
            ("load average when the report was written (1, 5, 15 min)", loadavg()),
            ("run took", format!("{:.0} s", took.as_secs_f64())),
        ];
        let rows = rows(plan, &results);
        Ok(Report { rows, machine, results, command: plan.command.clone() })
    }

    /// The cases that could not be measured.
    pub(crate) fn failures(&self) -> Vec<String> {
        self.results
            .iter()
            .filter_map(|(k, v)| {
                v["error"].as_str().map(|e| format!("{k}: {}", e.lines().next().unwrap_or(e)))
            })
            .collect()
    }

    /// The table, as Markdown.
    pub(crate) fn table(&self) -> String {
        let mut t = String::from(
            "| measure | limit | ours | ratio | goal | met? | load |\n|---|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} | {met} | {} |\n",
                r.measure, r.limit, r.ours, r.ratio, r.goal, r.load
            ));
        }
        t
    }

    pub(crate) fn write(&self, paths: &Paths) -> Result<()> {
        let machine: String = self.machine.iter().map(|(k, v)| format!("- {k}: {v}\n")).collect();
        let md = format!(
            "# Benchmarks\n\n\
             Written by `{command}` (`xtask/src/bench/`): measured on the code of the branch and commit \
             below, on this machine, in one run. Regenerate it with the same command; `--quick` is a \
             short run (5 s loads, one run each, no 1M database).\n\n\
             {machine}\n\
             ## The table\n\n\
             {table}\n\
             ## How each figure is measured\n\n\
             - Every server is a separate **release** process started for its case, with its own config \
             file and a fresh database under `target/bench/<case>/`: the verifier with its default \
             settings (SQLite WAL, `synchronous = FULL`), the NovaSend sandbox (`provider-sandbox \
             novasend`), and **the limit**, `bench-limit` (`tests/src/bin/bench-limit.rs`), a \
             hello-world axum JSON handler loaded with the same script as the status read.\n\
             - **Load**: `wrk -t2 -c64 -d15s --timeout 10s` with a Lua script (written into \
             `target/bench/`) for headers, bodies and a unique reference (and `Idempotency-Key`) per \
             request; the median of three runs. Requests per second count answers below 400 only.\n\
             - **Stored checkouts**: `bench-seed` opens the database with the verifier's store \
             (migrations applied), then inserts 120 days of a shop in large transactions (66 % paid, \
             one in five after a declined attempt; 29 % expired; 4 % cancelled; the newest 0.5 % open; \
             each with its status changes, provider notification, merchant event and delivery), once \
             per size into a template copied per run.\n\
             - **Complete flows** (`bench-client flows`): 64 clients each loop on create + pay with a \
             NovaSend test number the sandbox confirms after 3 s, so its signed webhooks arrive during \
             the load. **pay → `succeeded`**: every 250 ms a probe pays with a number that waits for \
             the provider's payment page, opens the checkout's SSE stream, accepts on the page and \
             times the `succeeded` event (deadline 30 s; a probe past it counts as 30 s).\n\
             - **SSE** (`bench-client sse`): that many streams held on that many checkouts; 20 of them \
             (one for the 500 on one checkout) have a payment waiting for the page, accepted one after \
             another: the time from the accept (the sandbox then sends its signed webhook) to the \
             `succeeded` event on each of the checkout's streams. The verifier's RSS (`VmRSS` of \
             `/proc/<pid>/status`) before, while held, and 20 s after the streams closed; \
             \"released\" means at most half of the growth is left.\n\
             - **PostgreSQL** (`status_pg*`, `create_pg*`, `sse_1000_pg*`): the same cases on a \
             throw-away PostgreSQL cluster started by the bench (`fsync = on`, PostgreSQL's default, \
             as SQLite runs with `synchronous = FULL`), a new database per case; with two \
             instances, both verifiers run on that database, each wrk run is two wrk processes at \
             once (one per instance, half the threads and connections each; rates summed, p99 the \
             higher), and the SSE streams are held on the first instance while the sandbox sends \
             its webhooks to the second (the event crosses instances through `LISTEN/NOTIFY`).\n\
             - **Widget bytes** (`widget-speed --bytes`): the verifier's payment page `/pay/{{id}}` \
             opened for two checkouts in one headless Chromium; the Resource Timing API's \
             `transferSize` of each widget resource (headers included; 0 when the cache answered \
             without asking). Each resource is also fetched with `Accept-Encoding: br, gzip` \
             (encoding and `Cache-Control` in `bench.json`).\n\
             - **Script tag → `checkout:ready`** (`widget-speed`): a shop page on another origin \
             inserts the loader's tag; first visits in a fresh profile, return visits in one \
             browser; under 3G, Chromium's `Network.emulateNetworkConditions` (400 kbit/s, 400 ms \
             RTT) and `Emulation.setCPUThrottlingRate` 4, through chromedriver.\n\
             - Every figure of every run, with the errors counted, is in `target/bench/bench.json`; \
             the processes' logs in `target/bench/<case>/`.\n",
            command = self.command,
            table = self.table(),
        );
        std::fs::write(paths.root.join("BENCHMARKS.md"), md)?;
        let json = json!({
            "command": self.command,
            "machine": self.machine.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "results": self.results,
        });
        std::fs::write(paths.bench.join("bench.json"), serde_json::to_string_pretty(&json)?)?;
        Ok(())
    }
}

/// `x req/s, p50 …, p99 …` of a wrk case, or why it is missing.
fn rate(v: &Value, unit: &str) -> String {
    if let Some(e) = error_of(v) {
        return e;
    }
    let errors = v["errors"].as_f64().unwrap_or(0.0);
    let failed = if errors > 0.0 { format!(", {} failed", thousands(errors)) } else { String::new() };
    format!(
        "{} {unit}, p50 {}, p99 {}{failed}",
        thousands(v["per_s"].as_f64().unwrap_or(0.0)),
        ms(v["p50_ms"].as_f64()),
        ms(v["p99_ms"].as_f64())
    )
}

fn ratio(ours: &Value, base: &Value, of: &str) -> (String, Option<f64>) {
    match (ours["per_s"].as_f64(), base["per_s"].as_f64()) {
        (Some(a), Some(b)) if b > 0.0 && ours["error"].is_null() && base["error"].is_null() => {
            (format!("{:.2}× {of}", a / b), Some(a / b))
        }
        _ => ("—".into(), None),
    }
}

fn measured(v: &Value) -> bool {
    v.is_object() && v["error"].is_null()
}

fn rows(plan: &Plan, r: &Results) -> Vec<Row> {
    let null = Value::Null;
    let get = |k: &str| r.get(k).unwrap_or(&null);
    let wrk_load = format!("wrk {} ×{}", plan.load.args(), plan.load.runs);
    let limit = get("limit");
    let empty = get("status_empty");
    let mut rows = Vec::new();
    let (lr, lf) = ratio(empty, limit, "the limit");
    rows.push(Row {
        measure: "widget polls a status, `GET /v1/public/checkouts/{id}`, empty database".into(),
        limit: rate(limit, "req/s"),
        ours: rate(empty, "req/s"),
        ratio: lr,
        goal: "≥ 0.5× the limit",
        met: lf.map(|f| f >= 0.5),
        load: wrk_load.clone(),
    });
    for &n in &plan.seeded {
        let v = get(&format!("status_{n}"));
        let seed = get(&format!("seed_{n}"));
        let (rt, f) = ratio(v, empty, "empty");
        let seeded_in = seed["seconds"].as_f64().map_or(String::new(), |s| format!(" (seeded in {s:.0} s)"));
        rows.push(Row {
            measure: format!("the same with {} checkouts stored{seeded_in}", thousands(n as f64)),
            limit: "—".into(),
            ours: if measured(v) {
                rate(v, "req/s")
            } else {
                error_of(v).or_else(|| error_of(seed)).unwrap_or_default()
            },
            ratio: rt,
            goal: "flat: ≥ 0.9× of the empty-database figure (at 1M)",
            met: f.map(|f| f >= 0.9),
            load: wrk_load.clone(),
        });
    }
    let create = get("create");
    let (rt, _) = ratio(create, limit, "the limit");
    rows.push(Row {
        measure: "merchant creates a checkout, `POST /v1/checkouts` (durable SQLite)".into(),
        limit: "—".into(),
        ours: rate(create, "/s"),
        ratio: rt,
        goal: "≥ 5,000 /s, p99 ≤ 50 ms",
        met: measured(create).then(|| {
            create["per_s"].as_f64().unwrap_or(0.0) >= 5000.0
                && create["p99_ms"].as_f64().unwrap_or(f64::MAX) <= 50.0
        }),
        load: wrk_load.clone(),
    });
    let idem = get("create_idempotency");
    let (rt, _) = ratio(idem, create, "without the key");
    rows.push(Row {
        measure: "create with a unique `Idempotency-Key`".into(),
        limit: "—".into(),
        ours: rate(idem, "/s"),
        ratio: rt,
        goal: "≥ 3,000 /s",
        met: measured(idem).then(|| idem["per_s"].as_f64().unwrap_or(0.0) >= 3000.0),
        load: wrk_load.clone(),
    });
    let flows_empty = get("flows_empty");
    let mut flow_cases = vec![("flows_empty".to_owned(), "empty database".to_owned())];
    if let Some(&n) = plan.seeded.first() {
        flow_cases.push((format!("flows_{n}"), format!("{} checkouts stored", thousands(n as f64))));
    }
    let flow_load = format!("bench-client flows, 64 clients, {} s ×{}", plan.load.seconds, plan.flow_runs);
    for (case, label) in &flow_cases {
        let v = get(case);
        let (rt, f) =
            if case == "flows_empty" { ("—".into(), None) } else { ratio(v, flows_empty, "empty") };
        rows.push(Row {
            measure: format!("completed create + pay flows (NovaSend sandbox), {label}"),
            limit: "—".into(),
            ours: rate(v, "flows/s"),
            ratio: rt,
            goal: "≥ 1,500 /s, flat with data",
            met: measured(v)
                .then(|| v["per_s"].as_f64().unwrap_or(0.0) >= 1500.0 && f.is_none_or(|f| f >= 0.9)),
            load: flow_load.clone(),
        });
    }
    for (case, label) in &flow_cases {
        let v = get(case);
        let ours = match error_of(v) {
            Some(e) => e,
            None => format!(
                "p50 {}, p99 {}; {} of {} probes past 30 s",
                ms(v["probe_p50_ms"].as_f64()),
                ms(v["probe_p99_ms"].as_f64()),
                v["probe_timeouts"].as_u64().unwrap_or(0),
                v["probe_count"].as_u64().unwrap_or(0)
            ),
        };
        rows.push(Row {
            measure: format!("pay → `succeeded` while that load runs, {label}"),
            limit: "—".into(),
            ours,
            ratio: "—".into(),
            goal: "p99 ≤ 100 ms",
            met: measured(v).then(|| v["probe_p99_ms"].as_f64().unwrap_or(f64::MAX) <= 100.0),
            load: "a probe every 250 ms during the flows".into(),
        });
    }
    for (case, label, goal, p99_goal, rss) in [
        ("sse_1000", "SSE, 1,000 subscribers: webhook → event", "p99 ≤ 5 ms", 5.0, false),
        ("sse_10000", "SSE, 10,000 subscribers", "≤ 120 MB and released, p99 ≤ 10 ms", 10.0, true),
        ("sse_500_one", "SSE, 500 subscribers on one checkout", "p99 ≤ 20 ms", 20.0, false),
    ] {
        let v = get(case);
        let lat = &v["latency"];
        let (before, held, closed) = (
            v["rss_kb"]["before"].as_u64(),
            v["rss_kb"]["held"].as_u64(),
            v["rss_kb"]["closed_20s"].as_u64(),
        );
        let released = released(before, held, closed);
        let ours = match error_of(v) {
            Some(e) => e,
            None => format!(
                "p50 {}, p99 {} ({} events{}); RSS {} → {} held → {} 20 s after closing{}",
                ms(lat["p50_ms"].as_f64()),
                ms(lat["p99_ms"].as_f64()),
                lat["count"].as_u64().unwrap_or(0),
                match v["missed"].as_u64() {
                    Some(0) | None => String::new(),
                    Some(m) => format!(", {m} missed"),
                },
                mb(before),
                mb(held),
                mb(closed),
                match v["failed"].as_u64() {
                    Some(0) | None => String::new(),
                    Some(f) => format!("; {f} streams failed to open"),
                }
            ),
        };
        let p99_ok = lat["p99_ms"].as_f64().is_some_and(|p| p <= p99_goal) && v["missed"].as_u64() == Some(0);
        let rss_ok = !rss || (held.is_some_and(|h| h <= 120_000) && released);
        rows.push(Row {
            measure: label.into(),
            limit: "—".into(),
            ours,
            ratio: "—".into(),
            goal,
            met: measured(v).then_some(p99_ok && rss_ok),
            load: "bench-client sse".into(),
        });
    }
    // One backend against another, in this run: SQLite's figures are the rows above.
    let backends = [
        ("pg", "PostgreSQL, one instance"),
        ("pg2", "PostgreSQL, two instances (load spread over both; SSE on one, webhooks to the other)"),
    ];
    for (measure, sqlite_case, unit) in
        [("widget polls a status", "status_empty", "req/s"), ("merchant creates a checkout", "create", "/s")]
    {
        let base = get(sqlite_case);
        for (suffix, label) in backends {
            let v = get(&format!("{}_{suffix}", sqlite_case.trim_end_matches("_empty")));
            let (rt, _) = ratio(v, base, "SQLite's");
            rows.push(Row {
                measure: format!("{measure}, {label}"),
                limit: "—".into(),
                ours: rate(v, unit),
                ratio: rt,
                goal: "reported (SQLite's row above is the baseline)",
                met: None,
                load: wrk_load.clone(),
            });
        }
    }
    let sse_base = get("sse_1000");
    for (suffix, label) in backends {
        let v = get(&format!("sse_1000_{suffix}"));
        let lat = &v["latency"];
        let ours = error_of(v).unwrap_or_else(|| {
            format!(
                "p50 {}, p99 {} ({} events{})",
                ms(lat["p50_ms"].as_f64()),
                ms(lat["p99_ms"].as_f64()),
                lat["count"].as_u64().unwrap_or(0),
                match v["missed"].as_u64() {
                    Some(0) | None => String::new(),
                    Some(m) => format!(", {m} missed"),
                }
            )
        });
        let ratio = match (lat["p99_ms"].as_f64(), sse_base["latency"]["p99_ms"].as_f64()) {
            (Some(a), Some(b)) if b > 0.0 && measured(v) => format!("{:.2}× SQLite's p99", a / b),
            _ => "—".into(),
        };
        rows.push(Row {
            measure: format!("SSE, 1,000 subscribers: webhook → event, {label}"),
            limit: "—".into(),
            ours,
            ratio,
            goal: "reported (SQLite's row above is the baseline)",
            met: None,
            load: "bench-client sse".into(),
        });
    }
    let w = get("widget_localhost");
    let b = &w["bytes"];
    let served = b["served"].as_array().map(|s| {
        s.iter()
            .map(|f| {
                let name = f["url"].as_str().and_then(|u| u.rsplit('/').next()).unwrap_or("?");
                format!(
                    "{name} {} B {}",
                    thousands(f["bytes"].as_f64().unwrap_or(0.0)),
                    f["content_encoding"].as_str().unwrap_or("uncompressed")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let cache = b["served"]
        .as_array()
        .and_then(|s| s.iter().find_map(|f| f["cache_control"].as_str()))
        .unwrap_or("none")
        .to_owned();
    rows.push(Row {
        measure:
            "widget bytes as the verifier sends them (`Accept-Encoding: br, gzip`), first / return visit"
                .into(),
        limit: format!(
            "gzip -9 of the files: {:.1} KB (budget 100 KB)",
            get("widget_gzip")["bytes"].as_f64().unwrap_or(0.0) / 1000.0
        ),
        ours: match error_of(w) {
            Some(e) => e,
            None => format!(
                "{:.1} KB / {} B over the network ({}; `Cache-Control: {cache}`)",
                b["first_visit"].as_f64().unwrap_or(0.0) / 1000.0,
                thousands(b["return_visit"].as_f64().unwrap_or(0.0)),
                served.unwrap_or_default()
            ),
        },
        ratio: "—".into(),
        goal: "≤ 75 KB first visit, 0 bytes on a return visit",
        met: measured(w).then(|| {
            b["first_visit"].as_u64().is_some_and(|f| f <= 75_000) && b["return_visit"].as_u64() == Some(0)
        }),
        load: "Chromium, Resource Timing `transferSize`".into(),
    });
    let (cold, warm, cold_3g, warm_3g) = plan.widget_runs;
    for (case, label, goal, cold_goal, warm_goal, runs) in [
        ("widget_localhost", "localhost", "≤ 150 / 60 ms", 150.0, 60.0, (cold, warm)),
        ("widget_3g", "emulated 3G, CPU 4× slower", "≤ 2.5 s", 2500.0, 2500.0, (cold_3g, warm_3g)),
    ] {
        let v = get(case);
        let (c, wm) = (v["cold"]["median_ms"].as_f64(), v["warm"]["median_ms"].as_f64());
        rows.push(Row {
            measure: format!("script tag → `checkout:ready`, cold / warm, {label}"),
            limit: "—".into(),
            ours: error_of(v).unwrap_or_else(|| {
                format!(
                    "{} / {} (medians; p95 {} / {}; to {})",
                    ms(c),
                    ms(wm),
                    ms(v["cold"]["p95_ms"].as_f64()),
                    ms(v["warm"]["p95_ms"].as_f64()),
                    v["measured_to"].as_str().unwrap_or("?")
                )
            }),
            ratio: "—".into(),
            goal,
            met: measured(v).then(|| c.is_some_and(|c| c <= cold_goal) && wm.is_some_and(|w| w <= warm_goal)),
            load: format!("headless Chromium, {} cold + {} warm runs", runs.0, runs.1),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_by_three() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-45_000.0), "-45,000");
    }

    #[test]
    fn memory_counts_as_released_when_at_most_half_the_growth_is_left() {
        // The verifier's RSS in kB: 12 MB before, 214 MB with 10,000 streams.
        assert!(!released(Some(12_000), Some(214_000), Some(214_600)));
        assert!(!released(Some(12_000), Some(214_000), Some(114_000)));
        assert!(released(Some(12_000), Some(214_000), Some(113_000)));
        assert!(released(Some(12_000), Some(214_000), Some(11_000)));
        assert!(!released(Some(12_000), None, Some(11_000)));
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(ms(Some(0.342)), "0.3 ms");
        assert_eq!(ms(Some(57.4)), "57 ms");
        assert_eq!(ms(Some(30_000.0)), "30.00 s");
        assert_eq!(ms(None), "—");
    }
}

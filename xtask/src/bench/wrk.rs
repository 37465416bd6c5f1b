//! Load from Debian's `wrk` (installed when missing): the Lua scripts the bench writes into
//! `target/bench/` (headers, bodies, a unique reference and `Idempotency-Key` per request, and
//! a `done` hook printing the run's figures as one JSON line), runs, and their medians.
//!
//! wrk's Lua API (`wrk.format`, `setup`/`thread:set`, `done(summary, latency, requests)`,
//! `latency:percentile`) is documented in its `SCRIPTING` file,
//! <https://github.com/wg/wrk/blob/master/SCRIPTING>.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::procs;

/// How wrk loads: `-t2 -c64 -d<seconds>s`, as in the issue's table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) threads: u32,
    pub(crate) connections: u32,
    pub(crate) seconds: u64,
    pub(crate) runs: usize,
}

impl Load {
    pub(crate) fn args(&self) -> String {
        format!("-t{} -c{} -d{}s", self.threads, self.connections, self.seconds)
    }
}

/// Prints the run's figures; every script ends with it.
const DONE: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"#;

/// A Lua string literal.
fn lua_str(s: &str) -> String {
    format!("{s:?}")
}

/// `GET` with `Authorization: Bearer <bearer>`.
pub(crate) fn get_script(dir: &Path, name: &str, bearer: &str) -> Result<PathBuf> {
    let script = format!(
        "-- Written by `cargo xtask bench`.\nwrk.method = \"GET\"\nwrk.headers[\"Authorization\"] = \"Bearer \" .. {}\n{DONE}",
        lua_str(bearer)
    );
    write(dir, name, &script)
}

/// `POST /v1/checkouts` with the secret key, a unique reference per request (and, when
/// `idempotency`, the same value as its `Idempotency-Key`): `run`, the run's index (wrk's
/// script argument), the thread and a counter, so that no reference repeats in a case.
pub(crate) fn create_script(
    dir: &Path,
    name: &str,
    key: &str,
    run: &str,
    idempotency: bool,
) -> Result<PathBuf> {
    let idem = if idempotency { "h[\"Idempotency-Key\"] = ref\n  " } else { "" };
    let script = format!(
        r#"-- Written by `cargo xtask bench`: one new checkout per request.
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
-- `wrk … -s create.lua URL -- <run>`: each run of the same script makes other references.
function init(args)
  run = {run} .. "-" .. (args[1] or "0")
end
function request()
  counter = (counter or 0) + 1
  local ref = run .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  local h = {{["Authorization"] = "Bearer " .. {key}, ["Content-Type"] = "application/json"}}
  {idem}return wrk.format("POST", "/v1/checkouts", h,
    '{{"amount":5000,"currency":"XOF","reference":"' .. ref .. '","description":"Bench"}}')
end
{DONE}"#,
        run = lua_str(run),
        key = lua_str(key),
    );
    write(dir, name, &script)
}

fn write(dir: &Path, name: &str, script: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// One wrk run's figures.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) per_s: f64,
    pub(crate) requests: f64,
    pub(crate) errors: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// Runs wrk `load.runs` times on `url` with `script`; the median of each figure.
pub(crate) fn measure(load: Load, script: &Path, url: &str, log: &Path) -> Result<Value> {
    measure_spread(load, script, &[url], log)
}

/// [`measure`] with the load spread over `urls` (several instances of one service behind no
/// balancer): each run starts one wrk per URL at once, each with `load.connections / n`
/// connections and `load.threads / n` threads (at least one), for the same duration. A run's
/// rate is the sum of theirs, its p50 the mean and its p99 the highest.
pub(crate) fn measure_spread(load: Load, script: &Path, urls: &[&str], log: &Path) -> Result<Value> {
    let n = u32::try_from(urls.len()).context("too many URLs")?.max(1);
    let share =
        Load { threads: (load.threads / n).max(1), connections: (load.connections / n).max(1), ..load };
    let mut runs = Vec::new();
    for i in 0..load.runs {
        let parts: Vec<Result<Run>> = std::thread::scope(|scope| {
            let handles: Vec<_> = urls
                .iter()
                .enumerate()
                .map(|(u, url)| {
                    let log = log.with_extension(format!("{i}.{u}.log"));
                    scope.spawn(move || run_once(share, script, url, &log, &format!("run{i}u{u}")))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("wrk thread panicked"))))
                .collect()
        });
        let parts = parts.into_iter().collect::<Result<Vec<Run>>>()?;
        let count = parts.len() as f64;
        runs.push(Run {
            per_s: parts.iter().map(|r| r.per_s).sum(),
            requests: parts.iter().map(|r| r.requests).sum(),
            errors: parts.iter().map(|r| r.errors).sum(),
            p50_ms: parts.iter().map(|r| r.p50_ms).sum::<f64>() / count,
            p99_ms: parts.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
        });
    }
    let med = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Ok(json!({
        "per_s": med(|r| r.per_s), "p50_ms": med(|r| r.p50_ms), "p99_ms": med(|r| r.p99_ms),
        "errors": runs.iter().map(|r| r.errors).sum::<f64>(), "requests": runs.iter().map(|r| r.requests).sum::<f64>(),
        "runs": runs.iter().map(|r| json!({"per_s": r.per_s, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors})).collect::<Vec<_>>(),
    }))
}

/// One wrk run of `load` on `url`; `tag` makes the script's references its own.
fn run_once(load: Load, script: &Path, url: &str, log: &Path, tag: &str) -> Result<Run> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        format!("-t{}", load.threads),
        format!("-c{}", load.connections),
        format!("-d{}s", load.seconds),
        "--timeout".into(),
        "10s".into(),
        "-s".into(),
    ])
    .arg(script)
    .arg(url)
    // The script's `init(args)`: a reference made in one run is never made again.
    .args(["--", tag]);
    let out = procs::run_client(&mut cmd, log, Duration::from_secs(load.seconds + 60))?;
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_JSON "))
        .with_context(|| format!("wrk printed no figures: {out}"))?;
    let v: Value = serde_json::from_str(line).with_context(|| format!("wrk's figures: {line}"))?;
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    let errors = f("connect") + f("read") + f("write") + f("status") + f("timeout");
    let requests = f("requests");
    if requests == 0.0 || errors >= requests {
        bail!("every request failed ({errors} errors of {requests}; wrk: {out})");
    }
    Ok(Run {
        per_s: (requests - f("status")) / (f("duration_us") / 1e6),
        requests,
        errors,
        p50_ms: f("p50_us") / 1000.0,
        p99_ms: f("p99_us") / 1000.0,
    })
}

/// The median (the mean of the middle two for an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn the_create_script_makes_a_new_reference_per_run_thread_and_request() {
        let dir = std::env::temp_dir().join(format!("xtask-wrk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path =
            create_script(&dir, "create.lua", "mk_test_0123456789abcdef0123456789abcdef", "bench-x", true)
                .expect("written");
        let lua = std::fs::read_to_string(&path).expect("readable");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(lua.contains(r#"run = "bench-x" .. "-" .. (args[1] or "0")"#), "{lua}");
        assert!(
            lua.contains(r#"local ref = run .. "-" .. tostring(tid) .. "-" .. tostring(counter)"#),
            "{lua}"
        );
        assert!(lua.contains(r#"h["Idempotency-Key"] = ref"#), "{lua}");
        assert!(lua.contains(r#""Bearer " .. "mk_test_0123456789abcdef0123456789abcdef""#), "{lua}");
    }
}

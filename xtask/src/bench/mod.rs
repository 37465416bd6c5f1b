//! `cargo xtask bench [--quick] [--only case,…]`: one command measuring the whole table of issue 11 in one run,
//! the limit included, and writing `BENCHMARKS.md` and `target/bench/bench.json`.
//!
//! 1. The widget's download (loader + glue + wasm), gzip -9, at most 100 KB (the bench fails
//!    above it, after measuring the rest); `WIDGET_DIR` names an already built widget instead
//!    of building it.
//! 2. One release build of the verifier, the NovaSend sandbox and the bench's binaries
//!    (`tests/src/bin/bench-*.rs`, `widget-speed.rs`); Debian's `wrk`, `chromium` and
//!    `chromium-driver` installed when missing.
//! 3. Cases, each on fresh processes (the verifier, `provider-sandbox novasend`, or the limit
//!    `bench-limit`), each with its config and logs under `target/bench/<case>/` and a fresh
//!    database (a copy of a seeded template for the 100k and 1M cases, `bench-seed`); the
//!    verifier runs with its default settings (SQLite `synchronous = FULL`). Load comes from
//!    `wrk -t2 -c64 -d15s`, medians of three runs (`--quick`: 5 s, one run, no 1M database);
//!    payments and SSE from `bench-client`; the widget in Chromium from `widget-speed`.
//! 4. The status read, the create and the webhook → SSE latency again on PostgreSQL (a
//!    throw-away cluster with PostgreSQL's default durability, `fsync = on`), with one verifier,
//!    then with two on one database: the load spread over both, the SSE streams on the first and
//!    the provider's webhooks sent to the second. Reported as ratios to SQLite's figures of the
//!    same run.
//!
//! The bench reports; it fails only on the widget's size budget or when a measurement could
//! not be made (after writing what it measured).

mod cases;
mod procs;
mod report;
mod wrk;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{cargo, prereq, run_cmd, widget};

/// The widget's download (loader + glue + wasm, gzip -9): the bench fails above it.
const GZIP_BUDGET: u64 = 100_000;

/// What a run measures and how long it loads.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) load: wrk::Load,
    /// Runs of each `bench-client flows` measure.
    pub(crate) flow_runs: usize,
    /// Seeded sizes for the status read (`1M` only in a full run).
    pub(crate) seeded: Vec<u64>,
    /// Cold and warm runs of the widget on localhost, then under 3G emulation.
    pub(crate) widget_runs: (usize, usize, usize, usize),
    pub(crate) command: String,
    /// `--only`: the case names (or their beginnings) to run; the others are left out and
    /// `BENCHMARKS.md` is not written.
    pub(crate) only: Option<Vec<String>>,
}

impl Plan {
    /// Whether the case `name` runs.
    pub(crate) fn runs(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|o| name.starts_with(o.as_str())))
    }
}

impl Plan {
    fn new(quick: bool) -> Plan {
        Plan {
            load: wrk::Load {
                threads: 2,
                connections: 64,
                seconds: if quick { 5 } else { 15 },
                runs: if quick { 1 } else { 3 },
            },
            flow_runs: if quick { 1 } else { 3 },
            seeded: if quick { vec![100_000] } else { vec![100_000, 1_000_000] },
            widget_runs: if quick { (2, 3, 1, 2) } else { (5, 10, 3, 5) },
            command: if quick { "cargo xtask bench --quick".into() } else { "cargo xtask bench".into() },
            only: None,
        }
    }
}

/// Where the binaries and the bench's files are.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) root: PathBuf,
    pub(crate) release: PathBuf,
    pub(crate) bench: PathBuf,
    pub(crate) widget: PathBuf,
}

impl Paths {
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.release.join(name)
    }
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut quick = false;
    let mut only = None;
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let list = args.next().context("--only takes case names, e.g. --only widget,sse_1000")?;
                only = Some(list.split(',').map(str::to_owned).collect::<Vec<_>>());
            }
            other => bail!("unknown option {other:?}; usage: cargo xtask bench [--quick] [--only case,…]"),
        }
    }
    let mut plan = Plan::new(quick);
    plan.only = only;
    let target = crate::target_dir(root);

    let widget_dir = match std::env::var_os("WIDGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => widget::build(root)?,
    };
    let sizes = widget::asset_sizes(&widget_dir)?;
    // Precompressed `.br`/`.gz` siblings are other encodings of an asset, not more of it.
    let gzip_total: u64 =
        sizes.iter().filter(|s| !(s.0.ends_with(".br") || s.0.ends_with(".gz"))).map(|s| s.2).sum();
    println!(
        "bench: widget download (loader + glue + wasm), gzip -9: {gzip_total} bytes ({:.1} KB); budget 100 KB",
        gzip_total as f64 / 1000.0
    );

    prereq::ensure_debian(
        "the bench",
        &[
            ("/usr/bin/wrk", "wrk"),
            ("/usr/bin/chromium", "chromium"),
            ("/usr/bin/chromedriver", "chromium-driver"),
        ],
    )?;
    eprintln!("xtask: cargo build --release --locked -p verifier -p provider-sandbox -p e2e-tests --bins");
    run_cmd(cargo().current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "verifier",
        "-p",
        "provider-sandbox",
        "-p",
        "e2e-tests",
        "--bins",
    ]))?;

    let paths = Paths {
        root: root.to_owned(),
        release: target.join("release"),
        bench: target.join("bench"),
        widget: widget_dir,
    };
    std::fs::create_dir_all(&paths.bench)?;
    let started = std::time::Instant::now();
    let results = cases::run_all(&plan, &paths, gzip_total);
    let report = report::Report::new(&plan, &paths, results, started.elapsed())?;
    println!("{}", report.table());
    if plan.only.is_some() {
        // A partial run: its figures are printed, never written over the whole table's.
        let failed = report.failures();
        if !failed.is_empty() {
            bail!("some measurements could not be made: {}", failed.join("; "));
        }
        return Ok(());
    }
    report.write(&paths)?;
    println!("bench: wrote BENCHMARKS.md and {}", paths.bench.join("bench.json").display());
    let failed = report.failures();
    if !failed.is_empty() {
        bail!("some measurements could not be made: {}", failed.join("; "));
    }
    // Checked last, so that an oversized widget still gets the rest measured.
    if gzip_total > GZIP_BUDGET {
        bail!("the widget is over its 100 KB gzip budget ({gzip_total} bytes)");
    }
    Ok(())
}

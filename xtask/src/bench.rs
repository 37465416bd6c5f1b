//! `cargo xtask bench`: the widget's size and speed against their budgets.
//!
//! 1. Size: everything the browser downloads for the widget (loader, glue, wasm), gzip -9, at
//!    most 100 KB (fails above).
//! 2. Speed: from the script tag's load to an interactive form, in headless Chromium on
//!    localhost: `cargo run -p e2e-tests --bin widget-speed` starts a verifier with its
//!    sandboxes and a shop page, and prints min/median/p95 over cold runs (fresh profile) and
//!    warm runs (cached) against the 150 ms budget. A measurement, not a test: a busy machine
//!    gives slower figures, so it reports rather than fails.

use std::path::Path;

use anyhow::{Result, bail};

use crate::{cargo, prereq, run_cmd, widget};

/// Cold and warm runs of the speed measurement (override: `XTASK_BENCH_RUNS="cold warm"`).
const RUNS: (&str, &str) = ("5", "10");

pub(crate) fn run(root: &Path) -> Result<()> {
    let dir = widget::build(root)?;
    let sizes = widget::asset_sizes(&dir)?;
    let total: u64 = sizes.iter().map(|s| s.2).sum();
    println!(
        "bench: widget download (loader + glue + wasm), gzip -9: {total} bytes ({:.1} KB); budget 100 KB",
        total as f64 / 1000.0
    );
    if total > 100_000 {
        bail!("the widget is over its 100 KB gzip budget");
    }

    prereq::ensure_debian(
        "the speed measurement",
        &[("/usr/bin/chromium", "chromium"), ("/usr/bin/chromedriver", "chromium-driver")],
    )?;
    let runs = std::env::var("XTASK_BENCH_RUNS").ok();
    let (cold, warm) = runs.as_deref().and_then(|r| r.split_once(' ')).unwrap_or(RUNS);
    eprintln!("xtask: cargo run -p e2e-tests --bin widget-speed -- {cold} {warm}");
    run_cmd(
        cargo()
            .current_dir(root)
            .args([
                "run",
                "--quiet",
                "--locked",
                "-p",
                "e2e-tests",
                "--bin",
                "widget-speed",
                "--",
                cold,
                warm,
            ])
            .env("WIDGET_DIR", &dir)
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("CHROMIUM", "/usr/bin/chromium"),
    )
}

//! `cargo xtask test`: every test, on a machine that may have nothing installed yet.
//!
//! Order: the code gate (`cargo fmt --check`, then `cargo clippy --workspace --all-targets
//! --locked -- -D warnings` with the lints of the root `Cargo.toml`), prerequisites (Chromium and chromedriver from Debian, axe-core from npm into
//! `target/tools`, the PyPI `standardwebhooks` package in a venv under `target/` for the
//! merchant webhook tests), the widget (wasm32 toolchain installed by `build-widget` when
//! missing), the phone-parser fuzzer for a bounded time, the verifier's fuzz targets
//! (`server/fuzz/run.sh`, a few seconds each), schemathesis against a live verifier
//! ([`crate::schemathesis`]), then `cargo test --workspace` with the
//! browser tests pointed at the built widget and at axe-core (`AXE_CORE_JS`), and the webhook
//! tests at that Python (`STANDARDWEBHOOKS_PYTHON`).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::Stdio,
};

use anyhow::{Result, bail};

use crate::{cargo, prereq, run_cmd, widget};

/// Seconds the fuzzer runs in the test command (override: `XTASK_FUZZ_SECONDS`).
const FUZZ_SECONDS: &str = "30";

/// Seconds each of the verifier's fuzz targets runs in the test command (five targets; override:
/// `XTASK_SERVER_FUZZ_SECONDS`).
const SERVER_FUZZ_SECONDS: &str = "15";

pub(crate) fn run(root: &Path, extra: &[String]) -> Result<()> {
    gate(root)?;
    prereq::ensure_debian(
        "the browser tests",
        &[("/usr/bin/chromium", "chromium"), ("/usr/bin/chromedriver", "chromium-driver")],
    )?;
    let standardwebhooks = prereq::ensure_standardwebhooks(root)?;
    let widget_dir = widget::build(root)?;
    let axe = prereq::ensure_axe_core(root)?;

    let fuzz = root.join("shared/fuzz/run.sh");
    if fuzz.exists() {
        let seconds = std::env::var("XTASK_FUZZ_SECONDS").unwrap_or_else(|_| FUZZ_SECONDS.to_owned());
        eprintln!("xtask: fuzzing the phone parser for {seconds} s");
        run_cmd(std::process::Command::new("bash").arg(&fuzz).arg(&seconds).current_dir(root))?;
    }

    fuzz_server(root)?;
    crate::schemathesis::run(root)?;

    eprintln!("xtask: running every test (cargo test --workspace)");
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["test", "--workspace", "--locked", "--no-fail-fast"])
        .args(extra)
        .env("WIDGET_DIR", &widget_dir)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM", "/usr/bin/chromium")
        .env("AXE_CORE_JS", &axe)
        .env("STANDARDWEBHOOKS_PYTHON", &standardwebhooks)
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| anyhow::anyhow!("failed to run cargo test: {e}"))?;
    // Echo cargo's output as it comes, and add the totals over every test binary at the end:
    // the last binary's own line (often a doc-test run of 0) would otherwise close the log.
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some((p, f)) = totals(&line) {
                passed += p;
                failed += f;
            }
        }
    }
    let status = child.wait()?;
    println!("cargo test, all binaries: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

/// The verifier's fuzz targets (each provider's notification handling, the API's JSON bodies)
/// for a bounded time each, in their own target directory (`target/fuzz-server`).
pub(crate) fn fuzz_server(root: &Path) -> Result<()> {
    let seconds =
        std::env::var("XTASK_SERVER_FUZZ_SECONDS").unwrap_or_else(|_| SERVER_FUZZ_SECONDS.to_owned());
    eprintln!("xtask: fuzzing the verifier's inputs for {seconds} s per target");
    let run = root.join("server/fuzz/run.sh");
    run_cmd(std::process::Command::new("bash").arg(run).arg(&seconds).current_dir(root))
}

/// Formatting and lints: a red gate stops the run before anything is installed or tested.
fn gate(root: &Path) -> Result<()> {
    eprintln!("xtask: checking formatting (cargo fmt --all --check)");
    run_cmd(cargo().current_dir(root).args(["fmt", "--all", "--check"]))
        .map_err(|e| anyhow::anyhow!("{e:#}: run `cargo fmt --all` and commit the result"))?;
    eprintln!("xtask: linting (cargo clippy --workspace --all-targets --locked -- -D warnings)");
    run_cmd(cargo().current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The passed and failed counts of a `test result:` line.
fn totals(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |word: &str| {
        rest.split(';').find_map(|part| {
            part.trim().strip_suffix(word).and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
        })
    };
    Some((count(" passed")?, count(" failed")?))
}

#[cfg(test)]
mod tests {
    use super::totals;

    #[test]
    fn result_lines_are_summed() {
        assert_eq!(
            totals(
                "test result: ok. 45 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1s"
            ),
            Some((45, 0))
        );
        assert_eq!(totals("test result: FAILED. 44 passed; 1 failed; 0 ignored"), Some((44, 1)));
        assert_eq!(totals("running 3 tests"), None);
    }
}

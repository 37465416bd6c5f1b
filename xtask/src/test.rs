//! `cargo xtask test`: every test, on a machine that may have nothing installed yet.
//!
//! Order: prerequisites (Chromium and chromedriver from Debian), the widget (wasm32 toolchain
//! installed by `build-widget` when missing), the phone-parser fuzzer for a bounded time, then
//! `cargo test --workspace` with the browser tests pointed at the built widget.

use std::path::Path;

use anyhow::Result;

use crate::{cargo, prereq, run_cmd, widget};

/// Seconds the fuzzer runs in the test command (override: `XTASK_FUZZ_SECONDS`).
const FUZZ_SECONDS: &str = "30";

pub(crate) fn run(root: &Path, extra: &[String]) -> Result<()> {
    prereq::ensure_debian(
        "the browser tests",
        &[("/usr/bin/chromium", "chromium"), ("/usr/bin/chromedriver", "chromium-driver")],
    )?;
    let widget_dir = widget::build(root)?;

    let fuzz = root.join("shared/fuzz/run.sh");
    if fuzz.exists() {
        let seconds = std::env::var("XTASK_FUZZ_SECONDS").unwrap_or_else(|_| FUZZ_SECONDS.to_owned());
        eprintln!("xtask: fuzzing the phone parser for {seconds} s");
        run_cmd(std::process::Command::new("bash").arg(&fuzz).arg(&seconds).current_dir(root))?;
    }

    eprintln!("xtask: running every test (cargo test --workspace)");
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["test", "--workspace", "--locked"])
        .args(extra)
        .env("WIDGET_DIR", &widget_dir)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM", "/usr/bin/chromium");
    run_cmd(&mut cmd)
}

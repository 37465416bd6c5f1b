//! Build tooling, the one entry point for builds, the demo and CI (`cargo xtask <command>`).
//!
//! - `build-widget`: the widget to wasm32, wasm-bindgen, content-hashed and precompressed
//!   assets into `<target>/widget/` (`<target>`: [`target_dir`], which honours `CARGO_TARGET_DIR`).
//! - `demo`: builds what is needed and runs the verifier (SQLite, NovaSend sandbox) and the
//!   demo shop on 127.0.0.1 until Ctrl-C.
//! - `test`: installs what is missing (Debian packages, the wasm toolchain, Chromium), builds
//!   the widget, runs every test (browser tests included) and the phone-parser fuzzer.
//! - `schemathesis`: the merchant and public APIs against their OpenAPI document with
//!   schemathesis, on a verifier with the sandboxes (also a step of `test`).
//! - `fuzz`: the verifier's fuzz targets (`server/fuzz/run.sh`) for a few seconds each (also a
//!   step of `test`).
//! - `bench [--quick]`: measures the verifier under load beside a hello-world limit, on empty
//!   and seeded databases, SSE, the widget's bytes and its time to `checkout:ready` in
//!   Chromium; writes `BENCHMARKS.md` (`bench/`).

mod bench;
mod demo;
mod postgres;
mod prereq;
mod schemathesis;
mod test;
mod widget;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("build-widget") => widget::build(&root).map(|_| ()),
        Some("demo") => demo::run(&root),
        Some("test") => test::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("schemathesis") => schemathesis::run(&root),
        Some("fuzz") => test::fuzz_server(&root),
        Some("help" | "--help" | "-h") | None => {
            println!(
                "usage: cargo xtask <build-widget | demo | test | bench [--quick] | schemathesis | fuzz>"
            );
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; try `cargo xtask help`"),
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo target directory every command uses: `CARGO_TARGET_DIR` (then
/// `CARGO_BUILD_TARGET_DIR`, cargo's other spelling of the setting) when set, taken relative to
/// the workspace root when relative (every cargo this runs starts in the root), else
/// `<root>/target`. The host builds that xtask runs inherit the variable, so their binaries
/// land here too.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    target_dir_from(root, |name| std::env::var_os(name))
}

fn target_dir_from(root: &Path, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .into_iter()
        .find_map(|name| var(name).filter(|v| !v.is_empty()))
        // `join` keeps an absolute path as it is.
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// `cargo` as invoked by the user (rustup's proxy), for host builds.
fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, failing with its name when it fails.
fn run_cmd(cmd: &mut std::process::Command) -> Result<()> {
    let status = cmd.status().map_err(|e| anyhow::anyhow!("failed to run {cmd:?}: {e}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    use super::target_dir_from;

    #[test]
    fn the_target_dir_follows_cargo_s_variables() {
        let root = Path::new("/repo");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(target_dir_from(root, env(&[])), PathBuf::from("/repo/target"));
        assert_eq!(target_dir_from(root, env(&[("CARGO_TARGET_DIR", "/tmp/t")])), PathBuf::from("/tmp/t"));
        assert_eq!(
            target_dir_from(root, env(&[("CARGO_TARGET_DIR", "out/t")])),
            PathBuf::from("/repo/out/t")
        );
        assert_eq!(target_dir_from(root, env(&[("CARGO_TARGET_DIR", "")])), PathBuf::from("/repo/target"));
        assert_eq!(
            target_dir_from(root, env(&[("CARGO_BUILD_TARGET_DIR", "/b"), ("CARGO_TARGET_DIR", "/a")])),
            PathBuf::from("/a")
        );
        assert_eq!(target_dir_from(root, env(&[("CARGO_BUILD_TARGET_DIR", "/b")])), PathBuf::from("/b"));
    }
}

#[cfg(test)]
mod tidy {
    //! Tidy checks on the whole tree, run as tests.

    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if name == "target" || name == ".git" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let mut files = Vec::new();
        rust_files(&super::root(), &mut files);
        assert!(files.len() > 20, "found only {} files", files.len());
        let missing: Vec<_> = files
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .collect();
        assert!(missing.is_empty(), "files without a `//!` module doc: {missing:?}");
    }

    /// What activates `fail`'s `failpoints` feature, as cargo resolves the workspace with
    /// (`dev`) or without (`no-dev`) dev-dependencies.
    fn failpoints_activated(edges: &str) -> bool {
        let out = super::cargo()
            .current_dir(super::root())
            .args(["tree", "--locked", "--workspace", "-e", edges, "-i", "fail"])
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).contains("fail feature \"failpoints\"")
    }

    #[test]
    fn crash_points_never_reach_a_build_without_dev_dependencies() {
        // A `cargo build --release` of the workspace builds no test or example: its verifier
        // must not have the crash points that only the kill tests' example enables.
        assert!(!failpoints_activated("features,no-dev"), "the failpoints feature reaches a normal build");
        // The check sees the feature where it is meant to be, so it can fail.
        assert!(failpoints_activated("features"), "the kill tests lost their crash points");
    }
}

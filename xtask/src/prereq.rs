//! Prerequisites from Debian's packages: installed when missing and running as root, else a
//! clear message with the exact command to run. Also the npm packages (axe-core for the
//! browser tests, esbuild for `build-widget`) under `<target>/tools`, and the Python packages
//! some tests use, in a virtual environment under `<target>/`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Result, bail};

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure each `(file, package)` exists, installing the missing packages with apt-get.
pub(crate) fn ensure_debian(what: &str, needs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> =
        needs.iter().filter(|(file, _)| !Path::new(file).exists()).map(|(_, pkg)| *pkg).collect();
    if missing.is_empty() {
        return Ok(());
    }
    install_debian(what, &missing)
}

/// Installs Debian packages when root, else says which command to run.
pub(crate) fn install_debian(what: &str, missing: &[&str]) -> Result<()> {
    let command = format!("apt-get update && apt-get install -y {}", missing.join(" "));
    if !is_root() {
        bail!("{what} needs Debian packages that are missing; run as root:\n    {command}");
    }
    eprintln!("xtask: {what}: installing {} ({command})", missing.join(", "));
    apt_get(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    apt_get(&args)
}

fn apt_get(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => bail!("apt-get {} failed ({s})", args.join(" ")),
        Err(e) => bail!("apt-get is not available ({e}); install the packages by hand"),
    }
}

/// The axe-core major version the browser tests' accessibility audit uses.
const AXE_CORE: &str = "axe-core@4";

/// The esbuild that minifies the widget's JavaScript (`build-widget`), pinned so that a build
/// gives the same bytes (and the same hashed names) on every machine.
const ESBUILD: &str = "esbuild@0.25.12";

/// Makes sure axe-core (from the npm registry) is in `<target>/tools`, installing it with
/// npm (Debian's `npm` package when missing); returns the path of `axe.min.js`, which the
/// browser tests inject into each page (`AXE_CORE_JS`).
pub(crate) fn ensure_axe_core(root: &Path) -> Result<std::path::PathBuf> {
    let tools = crate::target_dir(root).join("tools");
    let js = tools.join("node_modules/axe-core/axe.min.js");
    ensure_npm("the accessibility audit (axe-core)", &tools, AXE_CORE, js)
}

/// Makes sure esbuild (from the npm registry) is in `<target>/tools/esbuild`, a prefix of its
/// own (npm prunes the packages of a prefix it was not asked for); returns its executable.
pub(crate) fn ensure_esbuild(root: &Path) -> Result<PathBuf> {
    let tools = crate::target_dir(root).join("tools").join("esbuild");
    let bin = tools.join("node_modules/.bin/esbuild");
    let version = ESBUILD.rsplit('@').next().unwrap_or_default();
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == version);
    if installed {
        return Ok(bin);
    }
    // Another version (or a broken install) is replaced.
    if bin.exists() {
        std::fs::remove_file(&bin)?;
    }
    ensure_npm("the widget's JavaScript minifier (esbuild)", &tools, ESBUILD, bin)
}

/// Makes sure `file` exists, else installs the npm package `spec` into the prefix `tools`
/// (Debian's `npm` package installed when missing); returns `file`.
fn ensure_npm(what: &str, tools: &Path, spec: &str, file: PathBuf) -> Result<PathBuf> {
    if file.exists() {
        return Ok(file);
    }
    ensure_debian(what, &[("/usr/bin/npm", "npm")])?;
    std::fs::create_dir_all(tools)?;
    eprintln!("xtask: installing {spec} from the npm registry into {}", tools.display());
    let status = Command::new("npm")
        .args(["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools)
        .arg(spec)
        .status();
    match status {
        Ok(s) if s.success() && file.exists() => Ok(file),
        Ok(s) => bail!("npm install {spec} failed ({s}) or gave no {}", file.display()),
        Err(e) => bail!("npm is not available ({e}); install Debian's npm package"),
    }
}

/// The reference Standard Webhooks library the merchant webhook tests verify signatures with.
pub(crate) const STANDARDWEBHOOKS: &str = "standardwebhooks==1.1.0";

/// Makes sure `<target>/standardwebhooks-venv` has the PyPI `standardwebhooks` package; returns
/// its python (the e2e tests read it from `STANDARDWEBHOOKS_PYTHON`).
pub(crate) fn ensure_standardwebhooks(root: &Path) -> Result<PathBuf> {
    let venv = crate::target_dir(root).join("standardwebhooks-venv");
    let python = venv.join("bin/python");
    let has_it = |python: &Path| {
        Command::new(python)
            .args(["-c", "import standardwebhooks.webhooks"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_it(&python) {
        return Ok(python);
    }
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        install_debian("the merchant webhook tests", &["python3", "python3-venv"])?;
    }
    eprintln!("xtask: installing {STANDARDWEBHOOKS} into {}", venv.display());
    let make_venv =
        || Command::new("python3").args(["-m", "venv"]).arg(&venv).status().is_ok_and(|s| s.success());
    if !make_venv() {
        // Debian splits venv support into its own package.
        install_debian("the merchant webhook tests", &["python3-venv"])?;
        if !make_venv() {
            bail!("python3 -m venv {} failed; install python3-venv", venv.display());
        }
    }
    let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", STANDARDWEBHOOKS]).status();
    if !pip.is_ok_and(|s| s.success()) || !has_it(&python) {
        bail!("pip install {STANDARDWEBHOOKS} into {} failed (PyPI must be reachable)", venv.display());
    }
    Ok(python)
}

/// The npm Standard Webhooks library the Node webhook receiver of `docs/examples/webhooks/node`
/// uses (as its `package.json` pins it), for the receivers' e2e tests.
const STANDARDWEBHOOKS_NODE: &str = "standardwebhooks@1.3.0";

/// Makes sure npm [`STANDARDWEBHOOKS_NODE`] is in `<target>/tools/standardwebhooks`, a prefix
/// of its own; returns its `node_modules` (the e2e tests read it from
/// `STANDARDWEBHOOKS_NODE_MODULES` and give it to the receiver as `NODE_PATH`).
pub(crate) fn ensure_standardwebhooks_node(root: &Path) -> Result<PathBuf> {
    let tools = crate::target_dir(root).join("tools").join("standardwebhooks");
    let version = STANDARDWEBHOOKS_NODE.rsplit('@').next().unwrap_or_default();
    let manifest = tools.join("node_modules/standardwebhooks/package.json");
    let installed = std::fs::read_to_string(&manifest)
        .is_ok_and(|m| serde_json::from_str::<serde_json::Value>(&m).is_ok_and(|v| v["version"] == version));
    if !installed && manifest.exists() {
        // Another version: replaced.
        std::fs::remove_file(&manifest)?;
    }
    ensure_npm(
        "the Node webhook receiver's tests (standardwebhooks)",
        &tools,
        STANDARDWEBHOOKS_NODE,
        manifest,
    )?;
    Ok(tools.join("node_modules"))
}

/// The schemathesis `cargo xtask schemathesis` runs against the verifier's OpenAPI document.
pub(crate) const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Makes sure `<target>/schemathesis-venv` has [`SCHEMATHESIS`] at its pinned version; returns
/// the venv's python (its `schemathesis` command is beside it).
pub(crate) fn ensure_schemathesis(root: &Path) -> Result<PathBuf> {
    let version = SCHEMATHESIS.rsplit("==").next().unwrap_or_default();
    let check = format!("import importlib.metadata as m; assert m.version('schemathesis') == '{version}'");
    ensure_pypi(root, "schemathesis-venv", SCHEMATHESIS, &check, "the API checks (schemathesis)")
}

/// The libphonenumber data `shared/tests/phone_oracle.rs` checks the phone tables against.
pub(crate) const PHONENUMBERS: &str = "phonenumbers==9.0.43";

/// Makes sure `<target>/phonenumbers-venv` has [`PHONENUMBERS`] at its pinned version; returns
/// the venv's python, for the phone oracle test (`PHONENUMBERS_PYTHON`).
pub(crate) fn ensure_phonenumbers(root: &Path) -> Result<PathBuf> {
    let version = PHONENUMBERS.rsplit("==").next().unwrap_or_default();
    let check = format!("import importlib.metadata as m; assert m.version('phonenumbers') == '{version}'");
    ensure_pypi(root, "phonenumbers-venv", PHONENUMBERS, &check, "the phone oracle test (phonenumbers)")
}

/// Makes sure the venv `<target>/<venv>` passes the Python `check`, else installs `spec` into it
/// from PyPI (Debian's python3 and python3-venv installed when missing); returns its python.
fn ensure_pypi(root: &Path, venv: &str, spec: &str, check: &str, what: &str) -> Result<PathBuf> {
    let venv = crate::target_dir(root).join(venv);
    let python = venv.join("bin/python");
    let passes =
        |python: &Path| Command::new(python).args(["-c", check]).output().is_ok_and(|o| o.status.success());
    if passes(&python) {
        return Ok(python);
    }
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        install_debian(what, &["python3", "python3-venv"])?;
    }
    eprintln!("xtask: installing {spec} into {}", venv.display());
    let make_venv =
        || Command::new("python3").args(["-m", "venv"]).arg(&venv).status().is_ok_and(|s| s.success());
    if !make_venv() {
        // Debian splits venv support into its own package.
        install_debian(what, &["python3-venv"])?;
        if !make_venv() {
            bail!("python3 -m venv {} failed; install python3-venv", venv.display());
        }
    }
    let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", spec]).status();
    if !pip.is_ok_and(|s| s.success()) || !passes(&python) {
        bail!("pip install {spec} into {} failed (PyPI must be reachable)", venv.display());
    }
    Ok(python)
}

//! Prerequisites from Debian's packages: installed when missing and running as root, else a
//! clear message with the exact command to run.

use std::{path::Path, process::Command};

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

/// Makes sure axe-core (from the npm registry) is in `<root>/target/tools`, installing it with
/// npm (Debian's `npm` package when missing); returns the path of `axe.min.js`, which the
/// browser tests inject into each page (`AXE_CORE_JS`).
pub(crate) fn ensure_axe_core(root: &Path) -> Result<std::path::PathBuf> {
    let tools = root.join("target").join("tools");
    let js = tools.join("node_modules/axe-core/axe.min.js");
    if js.exists() {
        return Ok(js);
    }
    ensure_debian("the accessibility audit (axe-core)", &[("/usr/bin/npm", "npm")])?;
    std::fs::create_dir_all(&tools)?;
    eprintln!("xtask: installing {AXE_CORE} from the npm registry into {}", tools.display());
    let status = Command::new("npm")
        .args(["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tools)
        .arg(AXE_CORE)
        .status();
    match status {
        Ok(s) if s.success() && js.exists() => Ok(js),
        Ok(s) => bail!("npm install {AXE_CORE} failed ({s}) or gave no {}", js.display()),
        Err(e) => bail!("npm is not available ({e}); install Debian's npm package"),
    }
}

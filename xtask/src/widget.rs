//! `cargo xtask build-widget`: compiles the `checkout-widget` crate to wasm32, runs
//! wasm-bindgen on it (as a library, at the version Cargo.lock pins), and writes the assets
//! the verifier serves under `/widget/` into `<target>/widget/` (`<target>`:
//! [`crate::target_dir`]):
//!
//! - `checkout.js`, the loader, under its stable name (shops' script tags name it), with the
//!   hashed names of the two others written in at build time;
//! - `widget.<hash>.js` (the wasm-bindgen glue) and `widget_bg.<hash>.wasm`, named by the first
//!   8 hex digits of the SHA-256 of their bytes, so the verifier can let browsers cache them
//!   for good (`immutable`): a new build is a new name;
//! - beside each, a `.br` (brotli quality 11) and a `.gz` (gzip -9) sibling, which the verifier
//!   sends instead of the file when the browser accepts that encoding.
//!
//! Files of earlier builds are removed. It prints each asset's raw, gzip -9 and brotli 11 size
//! ([`served_sizes`]).
//!
//! Two ways to get a wasm32 standard library, picked in this order:
//! 1. a rustup toolchain with the `wasm32-unknown-unknown` target installed (any laptop where
//!    `rustup target add` works): a plain `cargo build --target wasm32-unknown-unknown`;
//! 2. Debian's `rustc-web` (rustc ≥ 1.96) with its std sources (`rust-web-src`): cargo builds
//!    std itself (`-Zbuild-std`, `RUSTC_BOOTSTRAP=1`, panic immediate-abort), linked with the
//!    `rust-lld` of a rustup toolchain (Debian's own `wasm-ld` is too old).
//!
//! When neither is there, it installs the Debian packages if running as root, and otherwise
//! says which command to run. The wasm build has its own target dir, `<target>/wasm`, so it never
//! invalidates the host build's artifacts.
//!
//! The two JavaScript files are minified by esbuild (npm, pinned, installed into
//! `<target>/tools/esbuild` by [`crate::prereq::ensure_esbuild`]): 1.2 KB less gzip and 1.0 KB
//! less brotli than comments and indentation dropped.
//!
//! No `wasm-opt` pass: measured on this widget with binaryen 132 (npm), every level grows what
//! is served: brotli 11 of the wasm 77,539 bytes without it, 77,635 with `-Os`, 77,825 `-Oz`,
//! 77,981 `-O2`, 78,354 `-O3` (gzip -9 91,984 against 93,303 to 94,851), though the raw file
//! shrinks by up to 12%. An older binaryen (108) also broke the externref table at `-O1`
//! ("WebAssembly.Table.set(): Argument 1 is invalid" in Chromium).

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "widget-release";
const PACKAGE: &str = "checkout-widget";
/// The crate's lib name: the artifact is `<lib>.wasm`.
const LIB: &str = "widget";
/// wasm-bindgen's `--out-name`: gives `widget.js` and `widget_bg.wasm`.
const OUT_NAME: &str = "widget";
const LOADER: &str = "widget/loader/checkout.js";
const DEBIAN_PACKAGES: [&str; 3] = ["rustc-web", "cargo-web", "rust-web-src"];
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
/// The oldest Debian rustc whose `-Cpanic=immediate-abort` and `-Zbuild-std` this uses.
const DEBIAN_MIN: (u32, u32) = (1, 96);

/// How the wasm32 standard library is obtained.
enum Toolchain {
    /// rustup's prebuilt `wasm32-unknown-unknown` target.
    Rustup,
    /// Debian's rustc-web, building std from source, linked with `linker` (a rust-lld).
    Debian { linker: PathBuf },
}

/// Builds the widget into `<target>/widget/` and returns that directory.
pub(crate) fn build(root: &Path) -> Result<PathBuf> {
    // Before a build of minutes: the bindgen step would refuse the result anyway.
    let bindgen_version = check_bindgen_version(root)?;
    let toolchain = pick_toolchain()?;
    let target = crate::target_dir(root);
    let wasm = compile(root, &target, &toolchain)?;

    // wasm-bindgen writes into a directory of its own; only the packaged files reach `out`.
    let bindgen_out = target.join("widget-bindgen");
    if bindgen_out.exists() {
        fs::remove_dir_all(&bindgen_out)
            .with_context(|| format!("cannot empty {}", bindgen_out.display()))?;
    }
    eprintln!(
        "build-widget: wasm-bindgen {bindgen_version} (as a library) --target web --out-name {OUT_NAME}"
    );
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name(OUT_NAME)
        .typescript(false)
        // The build keeps the symbols (see `compile`); they go here.
        .remove_name_section(true)
        .remove_producers_section(true)
        .web(true)
        .and_then(|b| b.generate(&bindgen_out))
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed on {}: {e:#}", wasm.display()))?;

    let loader = root.join(LOADER);
    let loader_js = fs::read_to_string(&loader)
        .with_context(|| format!("cannot read the loader {}", loader.display()))?;
    let glue_js = fs::read_to_string(bindgen_out.join(format!("{OUT_NAME}.js")))?;
    let wasm_bytes = fs::read(bindgen_out.join(format!("{OUT_NAME}_bg.wasm")))?;
    let esbuild = crate::prereq::ensure_esbuild(root)?;
    let assets = package(&loader_js, &glue_js, wasm_bytes, |js| minify_js(&esbuild, js))?;

    let out = target.join("widget");
    write_assets(&out, &assets)?;
    let sizes = served_sizes(&out)?;
    print_sizes(&out, &sizes);
    Ok(out)
}

/// One file the verifier serves under `/widget/`.
#[derive(Debug)]
struct Asset {
    name: String,
    bytes: Vec<u8>,
}

/// The name the loader's source uses for the glue; replaced by its hashed name.
const GLUE_PLACEHOLDER: &str = "\"widget.js\"";
/// The same for the wasm module.
const WASM_PLACEHOLDER: &str = "\"widget_bg.wasm\"";

/// The three assets: the glue and the wasm under content-hashed names (`widget.<hash>.js`,
/// `widget_bg.<hash>.wasm`), so they can be cached for good, and the loader `checkout.js`
/// under its stable name (the shops' script tags point at it), with the hashed names written
/// in place of its placeholders `"widget.js"` and `"widget_bg.wasm"`.
fn package(
    loader_js: &str,
    glue_js: &str,
    wasm: Vec<u8>,
    minify: impl Fn(&str) -> Result<String>,
) -> Result<Vec<Asset>> {
    let wasm_name = format!("{OUT_NAME}_bg.{}.wasm", content_hash(&wasm));
    let glue = minify(glue_js)?.into_bytes();
    let glue_name = format!("{OUT_NAME}.{}.js", content_hash(&glue));
    let mut loader = loader_js.to_owned();
    for (placeholder, name) in [(GLUE_PLACEHOLDER, &glue_name), (WASM_PLACEHOLDER, &wasm_name)] {
        let found = loader.matches(placeholder).count();
        if found != 1 {
            bail!(
                "{LOADER} must name {placeholder} exactly once (found {found}): the build writes the hashed name there"
            );
        }
        loader = loader.replace(placeholder, &format!("\"{name}\""));
    }
    Ok(vec![
        Asset { name: LOADER_NAME.to_owned(), bytes: minify(&loader)?.into_bytes() },
        Asset { name: glue_name, bytes: glue },
        Asset { name: wasm_name, bytes: wasm },
    ])
}

/// The loader's file name, stable across builds.
const LOADER_NAME: &str = "checkout.js";
/// Hex digits of the SHA-256 kept in a hashed name: 32 bits, plenty to tell builds apart.
const HASH_HEX_DIGITS: usize = 8;

/// The first [`HASH_HEX_DIGITS`] hex digits of the bytes' SHA-256.
fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(HASH_HEX_DIGITS);
    for b in digest.iter().take(HASH_HEX_DIGITS / 2) {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Writes each asset with its `.br` (brotli 11) and `.gz` (gzip -9) siblings into `out`, the
/// hashed ones first and the loader last (a page never gets a loader naming files not there
/// yet), then removes every other file: the hashed assets of earlier builds.
fn write_assets(out: &Path, assets: &[Asset]) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut kept = Vec::new();
    for asset in
        assets.iter().filter(|a| a.name != LOADER_NAME).chain(assets.iter().filter(|a| a.name == LOADER_NAME))
    {
        let path = out.join(&asset.name);
        let (br, gz) = (out.join(format!("{}.br", asset.name)), out.join(format!("{}.gz", asset.name)));
        // The same bytes as the last build keep their files and modification time, so a
        // browser revalidating the loader gets a 304, not the file again.
        let unchanged = fs::read(&path).is_ok_and(|b| b == asset.bytes) && br.is_file() && gz.is_file();
        if !unchanged {
            fs::write(&br, brotli_11(&asset.bytes)?)?;
            fs::write(&gz, gzip_9(&asset.bytes)?)?;
            fs::write(&path, &asset.bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
        kept.extend([asset.name.clone(), format!("{}.br", asset.name), format!("{}.gz", asset.name)]);
    }
    for entry in fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let entry = entry?;
        if !kept.iter().any(|k| entry.file_name() == k.as_str()) {
            let path = entry.path();
            if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) }
                .with_context(|| format!("cannot remove the stale {}", path.display()))?;
        }
    }
    Ok(())
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// Minifies JavaScript with esbuild (its transform mode: an ES module stays one, exports and
/// string literals unchanged), dropping every comment, `/*!` ones included (the loader's doc
/// stays in the repository).
fn minify_js(esbuild: &Path, src: &str) -> Result<String> {
    let mut child = Command::new(esbuild)
        .args(["--minify", "--legal-comments=none", "--log-level=warning", "--loader=js", "--charset=utf8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", esbuild.display()))?;
    let mut stdin = child.stdin.take().context("esbuild's stdin")?;
    let input = src.to_owned();
    // Written from a thread: esbuild may fill its stdout before it has read all of stdin.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| anyhow::anyhow!("the thread feeding esbuild panicked"))??;
    if !out.status.success() {
        bail!("esbuild failed ({})", out.status);
    }
    String::from_utf8(out.stdout).context("esbuild wrote something other than UTF-8")
}

fn gzip_9(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn brotli_11(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// One asset's sizes in bytes: as built, and as served to a browser that accepts gzip only or
/// brotli (the `.gz` and `.br` siblings on disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServedSize {
    /// The file's name under `/widget/`.
    pub(crate) name: String,
    /// Uncompressed (`Accept-Encoding` without gzip or br).
    pub(crate) raw: u64,
    /// The `.gz` sibling (gzip -9).
    pub(crate) gzip: u64,
    /// The `.br` sibling (brotli 11): what `Accept-Encoding: br, gzip` gets.
    pub(crate) brotli: u64,
}

/// The sizes of what a first visit downloads: every asset in `dir` (the files that are not a
/// `.br`/`.gz` sibling), sorted by name, each read with its siblings. Fails when a sibling is
/// missing (`dir` was not written by this build).
pub(crate) fn served_sizes(dir: &Path) -> Result<Vec<ServedSize>> {
    let len = |path: &Path| -> Result<u64> {
        Ok(fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len())
    };
    let mut sizes = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if !path.is_file() || name.ends_with(".br") || name.ends_with(".gz") {
            continue;
        }
        sizes.push(ServedSize {
            raw: len(&path)?,
            gzip: len(&dir.join(format!("{name}.gz")))?,
            brotli: len(&dir.join(format!("{name}.br")))?,
            name,
        });
    }
    sizes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sizes)
}

/// Every asset in `dir` (not its compressed siblings) with its raw size and its size gzipped
/// at level 9, in bytes. Kept for `bench`; [`served_sizes`] has the brotli size too.
pub(crate) fn asset_sizes(dir: &Path) -> Result<Vec<(String, u64, u64)>> {
    Ok(served_sizes(dir)?.into_iter().map(|s| (s.name, s.raw, s.gzip)).collect())
}

fn print_sizes(dir: &Path, sizes: &[ServedSize]) {
    eprintln!("build-widget: assets in {} (bytes)", dir.display());
    eprintln!("  {:<26} {:>9} {:>9} {:>9}", "file", "raw", "gzip -9", "brotli 11");
    for s in sizes {
        eprintln!("  {:<26} {:>9} {:>9} {:>9}", s.name, s.raw, s.gzip, s.brotli);
    }
    let sum = |f: fn(&ServedSize) -> u64| sizes.iter().map(f).sum::<u64>();
    eprintln!(
        "  {:<26} {:>9} {:>9} {:>9}  (a first visit with Accept-Encoding: br, gzip downloads the brotli column)",
        "total",
        sum(|s| s.raw),
        sum(|s| s.gzip),
        sum(|s| s.brotli)
    );
}

/// The wasm-bindgen version in Cargo.lock must be the one this binary links (the CLI support
/// crate): the bindgen step reads a schema that changes with every release.
fn check_bindgen_version(root: &Path) -> Result<String> {
    let ours = wasm_bindgen_shared::version();
    let ours = ours.split(' ').next().unwrap_or_default().to_owned();
    let lock_path = root.join("Cargo.lock");
    let lock =
        fs::read_to_string(&lock_path).with_context(|| format!("cannot read {}", lock_path.display()))?;
    let locked = lock_versions(&lock, "wasm-bindgen");
    match locked.as_slice() {
        [v] if *v == ours => Ok(ours),
        [] => bail!("Cargo.lock has no wasm-bindgen: is {PACKAGE} a workspace member with its dependencies?"),
        _ => bail!(
            "Cargo.lock has wasm-bindgen {} but xtask links wasm-bindgen-cli-support {ours}; \
             pin both to one version (widget/Cargo.toml `wasm-bindgen = \"=X\"`, \
             xtask/Cargo.toml `wasm-bindgen-cli-support = \"=X\"` and `wasm-bindgen-shared = \"=X\"`)",
            locked.join(", ")
        ),
    }
}

/// The versions of package `name` in a Cargo.lock.
fn lock_versions<'a>(lock: &'a str, name: &str) -> Vec<&'a str> {
    let wanted = format!("name = \"{name}\"");
    let mut out = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            out.push(v);
        }
    }
    out
}

/// Picks the way to build for wasm32, installing Debian's packages when it may.
fn pick_toolchain() -> Result<Toolchain> {
    if rustup_has_wasm_target() {
        eprintln!("build-widget: rustup's active toolchain has the {TARGET} target: using it");
        return Ok(Toolchain::Rustup);
    }
    eprintln!(
        "build-widget: rustup has no {TARGET} target here; trying Debian's rustc-web (std built from source)"
    );
    match debian_toolchain()? {
        Some(t) => return Ok(t),
        None if is_root() => {
            eprintln!(
                "build-widget: Debian's rustc-web is missing; running as root, installing {}",
                DEBIAN_PACKAGES.join(" ")
            );
            apt_install()?;
        }
        None => bail!(
            "no way to build for {TARGET} on this machine. Either add the target to rustup \
             (`rustup target add {TARGET}`, needs the Rust distribution server) or install \
             Debian's rustc-web with its std sources:\n    \
             sudo apt-get update && sudo apt-get install -y {}",
            DEBIAN_PACKAGES.join(" ")
        ),
    }
    debian_toolchain()?.with_context(|| {
        format!(
            "{} were installed but {DEBIAN_RUSTC} is still not a usable rustc ≥ {}.{} with std sources",
            DEBIAN_PACKAGES.join(" "),
            DEBIAN_MIN.0,
            DEBIAN_MIN.1
        )
    })
}

/// Runs a command quietly; its stdout if it ran and succeeded.
fn output(program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn rustup_has_wasm_target() -> bool {
    output("rustup", &["target", "list", "--installed"])
        .is_some_and(|s| s.lines().any(|l| l.trim() == TARGET))
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|s| s.trim() == "0")
}

/// Debian's rustc-web, if installed, recent enough, with std sources; fails if it is all there
/// but no rust-lld can be found.
fn debian_toolchain() -> Result<Option<Toolchain>> {
    let Some(version) = output(DEBIAN_RUSTC, &["--version"]) else { return Ok(None) };
    // "rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)"
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if (major, minor) < DEBIAN_MIN {
        eprintln!(
            "build-widget: {DEBIAN_RUSTC} is {}, older than {}.{}",
            version.trim(),
            DEBIAN_MIN.0,
            DEBIAN_MIN.1
        );
        return Ok(None);
    }
    if !Path::new(DEBIAN_CARGO).exists() {
        eprintln!("build-widget: {DEBIAN_CARGO} is missing (package cargo-web)");
        return Ok(None);
    }
    let sysroot = output(DEBIAN_RUSTC, &["--print", "sysroot"]).unwrap_or_default();
    let std_src = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library");
    if !std_src.join("std").join("src").join("lib.rs").exists() || !std_src.join("Cargo.lock").exists() {
        eprintln!("build-widget: no std sources in {} (package rust-web-src)", std_src.display());
        return Ok(None);
    }
    let Some(linker) = find_rust_lld() else {
        bail!(
            "{DEBIAN_RUSTC} ({}) can build std for {TARGET}, but no rust-lld was found to link it. \
             Debian's rustc has none and its lld (wasm-ld) is too old: install a rustup toolchain \
             (`rustup toolchain install stable`), which ships rust-lld.",
            version.trim()
        )
    };
    eprintln!(
        "build-widget: using {} with std sources from {}, linked by {}",
        version.trim(),
        std_src.display(),
        linker.display()
    );
    Ok(Some(Toolchain::Debian { linker }))
}

/// A rust-lld from a rustup toolchain (stable first, then the active one), or from PATH.
fn find_rust_lld() -> Option<PathBuf> {
    let sysroots = [
        output("rustup", &["run", "stable", "rustc", "--print", "sysroot"]),
        output("rustc", &["--print", "sysroot"]),
    ];
    for sysroot in sysroots.into_iter().flatten() {
        let rustlib = Path::new(sysroot.trim()).join("lib").join("rustlib");
        let Ok(hosts) = fs::read_dir(&rustlib) else { continue };
        for host in hosts.flatten() {
            let lld = host.path().join("bin").join("rust-lld");
            if lld.is_file() {
                return Some(lld);
            }
        }
    }
    find_in_path("rust-lld")
}

fn apt_install() -> Result<()> {
    for args in
        [&["update"][..], &["install", "-y", DEBIAN_PACKAGES[0], DEBIAN_PACKAGES[1], DEBIAN_PACKAGES[2]]]
    {
        eprintln!("build-widget: apt-get {}", args.join(" "));
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get (is this Debian or Ubuntu?)")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status})", args.join(" "));
        }
    }
    Ok(())
}

/// Compiles the widget; returns the `.wasm` file.
fn compile(root: &Path, target: &Path, toolchain: &Toolchain) -> Result<PathBuf> {
    // Its own directory, so the wasm32 build never invalidates the host build's artifacts.
    let target_dir = target.join("wasm");
    let mut cmd = match toolchain {
        Toolchain::Rustup => Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())),
        Toolchain::Debian { .. } => Command::new(DEBIAN_CARGO),
    };
    cmd.current_dir(root)
        .args(["build", "--profile", PROFILE, "--target", TARGET, "-p", PACKAGE, "--target-dir"])
        .arg(&target_dir)
        // Linked unstripped: `strip = true` would drop the target_features section too, and
        // without it wasm-bindgen cannot see the features in use (it warns, and skips its
        // multi-value pass: 0.5 KB more gzip). The symbols are removed by the bindgen step.
        .env("CARGO_PROFILE_WIDGET_RELEASE_STRIP", "false")
        // Flags meant for the host build must not leak into this one.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if let Toolchain::Debian { linker } = toolchain {
        // std built with its size-optimised algorithms; in every crate no panic machinery (a
        // panic traps), no panic locations, and `{:?}` compiled to nothing (nothing the
        // customer sees uses Debug). Measured on the widget: optimize_for_size, location-detail
        // and fmt-debug together save 3.3 KB of gzip.
        cmd.args(["-Zbuild-std=std,panic_abort", "-Zbuild-std-features=optimize_for_size"])
            .env("RUSTC", DEBIAN_RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            // With --target, RUSTFLAGS reach only the wasm32 artifacts, not build scripts.
            .env(
                "RUSTFLAGS",
                "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none",
            )
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
    }
    eprintln!("build-widget: {cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("the wasm32 build of {PACKAGE} failed ({status})");
    }
    let wasm = target_dir.join(TARGET).join(PROFILE).join(format!("{LIB}.wasm"));
    if !wasm.is_file() {
        bail!("the build succeeded but {} is missing", wasm.display());
    }
    Ok(wasm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_sha256_prefixes() {
        // SHA-256("abc") = ba7816bf 8f01cfea ... (FIPS 180-2, appendix B.1).
        assert_eq!(content_hash(b"abc"), "ba7816bf");
    }

    #[test]
    fn the_loader_gets_the_hashed_names() {
        let same = |js: &str| Ok(js.to_owned());
        let loader = "var GLUE = \"widget.js\";\nvar WASM = \"widget_bg.wasm\";\n";
        let assets = package(loader, "export function mount() {}\n", b"\0asm".to_vec(), same).unwrap();
        let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
        // printf 'export function mount() {}\n' | sha256sum -> 407ef155...; printf '\0asm' | sha256sum -> cd5d4935...
        assert_eq!(names, ["checkout.js", "widget.407ef155.js", "widget_bg.cd5d4935.wasm"]);
        assert_eq!(
            String::from_utf8_lossy(&assets[0].bytes),
            "var GLUE = \"widget.407ef155.js\";\nvar WASM = \"widget_bg.cd5d4935.wasm\";\n"
        );
        // A loader without its placeholders (or with two) is refused, not shipped half-renamed.
        assert!(package("var GLUE = \"widget.js\";", "", Vec::new(), same).is_err());
        assert!(package(&loader.repeat(2), "", Vec::new(), same).is_err());
    }

    #[test]
    fn assets_are_written_with_their_siblings_and_old_builds_removed() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("xtask-widget-assets-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for stale in ["widget_bg.deadbeef.wasm", "widget_bg.deadbeef.wasm.br", "widget.deadbeef.js.gz"] {
            fs::write(dir.join(stale), b"old build").unwrap();
        }
        let js = "export function mount() { return 'checkout'; }\n".repeat(40);
        let assets = [
            Asset { name: LOADER_NAME.to_owned(), bytes: b"var GLUE = 1;".to_vec() },
            Asset { name: "widget.407ef155.js".to_owned(), bytes: js.clone().into_bytes() },
        ];
        write_assets(&dir, &assets).unwrap();

        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "checkout.js",
                "checkout.js.br",
                "checkout.js.gz",
                "widget.407ef155.js",
                "widget.407ef155.js.br",
                "widget.407ef155.js.gz"
            ]
        );
        // The siblings decode (flate2's gzip reader, brotli's own decompressor) to the file.
        let mut gunzipped = String::new();
        flate2::read::GzDecoder::new(&fs::read(dir.join("widget.407ef155.js.gz")).unwrap()[..])
            .read_to_string(&mut gunzipped)
            .unwrap();
        assert_eq!(gunzipped, js);
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(&fs::read(dir.join("widget.407ef155.js.br")).unwrap()[..], 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, js);

        // A second build of the same bytes leaves the files (and their Last-Modified) alone.
        let glue_path = dir.join("widget.407ef155.js");
        let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        fs::File::options().write(true).open(&glue_path).unwrap().set_modified(long_ago).unwrap();
        write_assets(&dir, &assets).unwrap();
        assert_eq!(fs::metadata(&glue_path).unwrap().modified().unwrap(), long_ago);

        let sizes = served_sizes(&dir).unwrap();
        assert_eq!(sizes.len(), 2);
        let glue = &sizes[1];
        assert_eq!((glue.name.as_str(), glue.raw), ("widget.407ef155.js", js.len() as u64));
        assert!(glue.brotli < glue.raw && glue.gzip < glue.raw, "{glue:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lock_versions_reads_each_package_entry() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n[[package]]\nname = \"wasm-bindgen-shared\"\nversion = \"0.2.130\"\n";
        assert_eq!(lock_versions(lock, "wasm-bindgen"), ["0.2.130"]);
        assert!(lock_versions(lock, "yew").is_empty());
    }
}

//! `cargo xtask test`: every test, on a machine that may have nothing installed yet.
//!
//! Order: the code gate (`cargo fmt --check`, then `cargo clippy --workspace --all-targets
//! --locked -- -D warnings` with the lints of the root `Cargo.toml`), prerequisites (Chromium and chromedriver from Debian, axe-core from npm into
//! `target/tools`, the PyPI `standardwebhooks` package in a venv under `target/` for the
//! merchant webhook tests and the Python webhook receiver, npm's `standardwebhooks` into
//! `target/tools/standardwebhooks` for the Node receiver, and `phonenumbers` in another venv for the phone oracle), the widget (wasm32 toolchain installed by `build-widget` when
//! missing), the phone-parser fuzzer for a bounded time, the verifier's fuzz targets
//! (`server/fuzz/run.sh`, a few seconds each), schemathesis against a live verifier
//! ([`crate::schemathesis`]), then `cargo test --workspace` with the
//! browser tests pointed at the built widget and at axe-core (`AXE_CORE_JS`), and the webhook
//! tests at that Python (`STANDARDWEBHOOKS_PYTHON`) and that `node_modules`
//! (`STANDARDWEBHOOKS_NODE_MODULES`), the phone oracle at its own
//! (`PHONENUMBERS_PYTHON`), and the verifier's logs of that run kept in
//! `target/e2e-logs/verifier.log` (`E2E_LOG_FILE`) then audited ([`audit_logs`]): no secret the
//! tests use, no client secret, no full phone number.
//!
//! Every `cargo test` gets a PostgreSQL server as `TEST_DATABASE_URL`: the caller's when set,
//! else a throw-away cluster ([`crate::postgres`], Debian's `postgresql` installed when
//! missing) stopped when the tests end, pass or fail. After `cargo test --workspace`, the tests
//! of [`ON_POSTGRES`] run again with the e2e verifiers on it (`E2E_DATABASE=postgres`).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
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
    let standardwebhooks_node = prereq::ensure_standardwebhooks_node(root)?;
    let phonenumbers = prereq::ensure_phonenumbers(root)?;
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

    // The tests on PostgreSQL get a server: `TEST_DATABASE_URL`'s, or a throw-away cluster
    // stopped when this function returns (failures and panics included) or on a signal.
    let database = crate::postgres::TestDatabase::for_tests()?;
    let log = fresh_log(root)?;
    let env = TestEnv {
        log: &log,
        widget_dir: &widget_dir,
        axe: &axe,
        standardwebhooks: &standardwebhooks,
        standardwebhooks_node: &standardwebhooks_node,
        phonenumbers: &phonenumbers,
        database_url: database.url(),
    };
    eprintln!("xtask: running every test (cargo test --workspace)");
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--locked", "--no-fail-fast"]).args(extra);
    let (mut passed, mut failed, mut ok) = run_tests(&mut cmd, &env, root)?;
    println!("cargo test, all binaries: {passed} passed, {failed} failed");
    for run in ON_POSTGRES {
        eprintln!("xtask: on PostgreSQL: cargo test --workspace {} -- {}", run.target.join(" "), run.filter);
        // `--workspace`, not `-p`: the features resolve as in the first pass, so nothing is
        // compiled again (with `-p`, each run rebuilt most dependencies for its own package).
        let mut cmd = cargo();
        cmd.args(["test", "--workspace", "--locked"])
            .args(run.target)
            .args(["--", run.filter])
            .env(E2E_DATABASE, "postgres");
        let (p, f, success) = run_tests(&mut cmd, &env, root)?;
        if success && p == 0 {
            bail!("`{}` ran no test on PostgreSQL: update `ON_POSTGRES` in xtask/src/test.rs", run.filter);
        }
        (passed, failed, ok) = (passed + p, failed + f, ok && success);
    }
    println!("cargo test, all binaries, both passes: {passed} passed, {failed} failed");
    drop(database);
    if !ok {
        bail!("cargo test failed");
    }
    eprintln!("xtask: auditing the verifier's logs of the run ({})", log.display());
    audit_logs(&log)?;
    Ok(())
}

/// The environment variable that puts the e2e harness's verifiers on `TEST_DATABASE_URL`'s
/// server (`postgres`) instead of a SQLite file (`sqlite`, its default).
const E2E_DATABASE: &str = "E2E_DATABASE";

/// One test run on PostgreSQL after `cargo test --workspace`.
#[derive(Debug)]
struct OnPostgres {
    /// The test target (`--test e2e`, `--lib`).
    target: &'static [&'static str],
    /// The tests' name filter (a module path).
    filter: &'static str,
}

/// What runs a second time, on PostgreSQL (`E2E_DATABASE=postgres`, `TEST_DATABASE_URL`), once
/// `cargo test --workspace` has run: the kill tests, the two-instance tests, `/readyz` (a
/// database dropped under the verifier) and the store's contract suite. Each must run at least
/// one test.
const ON_POSTGRES: &[OnPostgres] = &[
    OnPostgres { target: &["--test", "e2e"], filter: "kill::" },
    OnPostgres { target: &["--test", "e2e"], filter: "instances::" },
    OnPostgres { target: &["--test", "e2e"], filter: "service::readyz" },
    OnPostgres { target: &["--lib"], filter: "store::contract" },
];

/// What every `cargo test` of the command gets in its environment.
#[derive(Debug)]
struct TestEnv<'a> {
    log: &'a Path,
    widget_dir: &'a Path,
    axe: &'a Path,
    standardwebhooks: &'a Path,
    standardwebhooks_node: &'a Path,
    phonenumbers: &'a Path,
    database_url: &'a str,
}

/// Runs `cmd` (a `cargo test`) in `root` with `env`, echoing its output as it comes; returns
/// the passed and failed counts over every test binary, and whether it succeeded.
fn run_tests(cmd: &mut std::process::Command, env: &TestEnv<'_>, root: &Path) -> Result<(u64, u64, bool)> {
    cmd.current_dir(root)
        .env("E2E_LOG_FILE", env.log)
        .env("WIDGET_DIR", env.widget_dir)
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("CHROMIUM", "/usr/bin/chromium")
        .env("AXE_CORE_JS", env.axe)
        .env("STANDARDWEBHOOKS_PYTHON", env.standardwebhooks)
        .env("STANDARDWEBHOOKS_NODE_MODULES", env.standardwebhooks_node)
        .env("PHONENUMBERS_PYTHON", env.phonenumbers)
        .env(crate::postgres::TEST_DATABASE_URL, env.database_url)
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
    Ok((passed, failed, status.success()))
}

/// The log file of this run's verifiers, emptied (the harness appends, one test binary after
/// another, and writes `<file>.needles`: what must not appear).
fn fresh_log(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/e2e-logs");
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("verifier.log");
    std::fs::write(&log, "")?;
    let _ = std::fs::remove_file(dir.join("verifier.log.needles"));
    Ok(log)
}

/// Fails naming every secret, client secret or full phone number found in `log`, with the
/// line it is on; the needles are those the e2e harness wrote beside it.
fn audit_logs(log: &Path) -> Result<()> {
    let text = std::fs::read_to_string(log)?;
    let needles_path = PathBuf::from(format!("{}.needles", log.display()));
    let needles = match std::fs::read_to_string(&needles_path) {
        Ok(n) => n,
        Err(e) => bail!("{}: {e} (did the e2e tests run?)", needles_path.display()),
    };
    if text.trim().is_empty() {
        bail!("{} is empty: the e2e harness captured no log", log.display());
    }
    let leaks = find_leaks(&text, &parse_needles(&needles));
    if leaks.is_empty() {
        eprintln!("xtask: log audit: {} lines, no secret and no full phone number", text.lines().count());
        return Ok(());
    }
    for leak in leaks.iter().take(50) {
        eprintln!("xtask: log leak: {} at {}:{}: {}", leak.what, log.display(), leak.line, leak.excerpt);
    }
    bail!("the verifier's logs leak {} time(s): see above", leaks.len())
}

/// Something found in a log that must not be there.
#[derive(Debug, PartialEq, Eq)]
struct Leak {
    /// What it is (`secret MERCHANT_KEY`, `phone +2250700000001`, `a client secret`).
    what: String,
    /// Its line, from 1.
    line: usize,
    /// The line, cut, with the leaked text replaced by `[…]`.
    excerpt: String,
}

/// What to look for, from the harness's `what<TAB>text` lines.
#[derive(Debug, Default)]
struct Needles {
    /// Secrets, found as they are.
    secrets: Vec<(String, String)>,
    /// The digits of every form of every phone number, to what they are.
    phones: HashMap<String, String>,
}

fn parse_needles(text: &str) -> Needles {
    let mut needles = Needles::default();
    for line in text.lines() {
        let Some((what, needle)) = line.split_once('\t') else { continue };
        if needle.is_empty() {
            continue;
        }
        if what.starts_with("phone ") {
            let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
            needles.phones.insert(digits, what.to_owned());
        } else {
            needles.secrets.push((what.to_owned(), needle.to_owned()));
        }
    }
    needles
}

/// Every leak in `log`: the secrets as they are; phone numbers written in one piece or in
/// groups separated by single spaces, `+` or not (each run of such groups is tried whole and
/// in every contiguous part, so a number beside other digits is found); client secrets by
/// their shape, `co_…_secret_` and at least 16 letters or digits.
fn find_leaks(log: &str, needles: &Needles) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for (i, line) in log.lines().enumerate() {
        let mut found = |what: &str, text: &str| {
            let excerpt: String = line.replace(text, "[…]").chars().take(200).collect();
            leaks.push(Leak { what: what.to_owned(), line: i + 1, excerpt });
        };
        for (what, secret) in &needles.secrets {
            if line.contains(secret.as_str()) {
                found(what, secret);
            }
        }
        if let Some(secret) = client_secret_in(line) {
            found("a client secret", secret);
        }
        if let Some(key) = merchant_key_in(line) {
            found("a merchant key", key);
        }
        for (what, text) in phones_in(line, &needles.phones) {
            found(&what, text);
        }
    }
    leaks
}

/// The first client secret in `line`, by its shape.
fn client_secret_in(line: &str) -> Option<&str> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(at) = line[from..].find("_secret_").map(|i| i + from) {
        let start = line[..at].rfind(|c: char| !word(c)).map_or(0, |i| i + 1);
        let tail = &line[at + "_secret_".len()..];
        let random = tail.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
        if line[start..].starts_with("co_") && random >= 16 {
            return Some(&line[start..at + "_secret_".len() + random]);
        }
        from = at + 1;
    }
    None
}

/// The first merchant API key in `line`, by its shape: `mk_test_` or `mk_live_` and at least
/// 32 characters of `A-Z a-z 0-9` (the keys `verifier keys create` makes, which no needle
/// names).
fn merchant_key_in(line: &str) -> Option<&str> {
    ["mk_test_", "mk_live_"].iter().find_map(|prefix| {
        line.match_indices(prefix).find_map(|(at, _)| {
            let tail = &line[at + prefix.len()..];
            let random = tail.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
            (random >= 32).then(|| &line[at..at + prefix.len() + random])
        })
    })
}

/// The phone numbers of `phones` written in `line`, with the text that holds each.
fn phones_in<'l>(line: &'l str, phones: &HashMap<String, String>) -> Vec<(String, &'l str)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_digit() || bytes[i] == b'+') {
            i += 1;
            continue;
        }
        // One run: groups of digits separated by single spaces, a `+` allowed first.
        let start = i;
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut j = i + usize::from(bytes[i] == b'+');
        loop {
            let g = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j == g {
                break;
            }
            groups.push((g, j));
            if j + 1 < bytes.len() && bytes[j] == b' ' && bytes[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        for a in 0..groups.len() {
            for b in a..groups.len() {
                let digits: String = groups[a..=b].iter().flat_map(|&(s, e)| line[s..e].chars()).collect();
                if let Some(what) = phones.get(&digits) {
                    out.push((what.clone(), &line[groups[a].0..groups[b].1]));
                }
            }
        }
        i = groups.last().map_or(start + 1, |&(_, e)| e.max(start + 1));
    }
    out
}

/// The verifier's fuzz targets (each provider's notification handling, the API's JSON bodies)
/// for a bounded time each, in their own target directory (`target/fuzz-server-<profile>`).
/// Built without optimisations (`FUZZ_PROFILE=dev`) unless the caller sets `FUZZ_PROFILE`: for a
/// few seconds per target the optimised build (most of the test command's time on a new machine)
/// does not pay for itself.
pub(crate) fn fuzz_server(root: &Path) -> Result<()> {
    let seconds =
        std::env::var("XTASK_SERVER_FUZZ_SECONDS").unwrap_or_else(|_| SERVER_FUZZ_SECONDS.to_owned());
    eprintln!("xtask: fuzzing the verifier's inputs for {seconds} s per target");
    let run = root.join("server/fuzz/run.sh");
    let profile = std::env::var("FUZZ_PROFILE").unwrap_or_else(|_| "dev".to_owned());
    run_cmd(
        std::process::Command::new("bash")
            .arg(run)
            .arg(&seconds)
            .env("FUZZ_PROFILE", profile)
            .current_dir(root),
    )
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
    use super::{Leak, find_leaks, parse_needles, totals};

    /// What the e2e harness writes for one secret and one number (`tests/src/lib.rs`,
    /// `log_audit_needles`).
    const NEEDLES: &str = "secret MERCHANT_KEY\tmk_e2e_0123456789abcdef\n\
                           phone +2250700000001\t+2250700000001\n\
                           phone +2250700000001\t2250700000001\n\
                           phone +2250700000001\t0700000001\n\
                           phone +2250700000001\t07 00 00 00 01\n\
                           phone +2250700000001\t+225 07 00 00 00 01\n";

    #[test]
    fn a_log_that_leaks_is_caught_with_what_and_where() {
        let log = "2026-12-07T05:17:51Z DEBUG server::checkouts: pay phone=+2250700000001\n\
                   2026-12-07T05:17:52Z  WARN server::providers: refused (key mk_e2e_0123456789abcdef)\n\
                   2026-12-07T05:17:53Z  INFO server::routes: sse co_AbC123_secret_0123456789abcdefABCDEF0123456789 open\n\
                   2026-12-07T05:17:54Z DEBUG server::inbox: body {\"amount\":5000 07 00 00 00 01}\n";
        let leaks = find_leaks(log, &parse_needles(NEEDLES));
        let found: Vec<(&str, usize)> = leaks.iter().map(|l| (l.what.as_str(), l.line)).collect();
        assert_eq!(
            found,
            vec![
                ("phone +2250700000001", 1),
                ("secret MERCHANT_KEY", 2),
                ("a client secret", 3),
                ("phone +2250700000001", 4)
            ]
        );
        assert_eq!(
            leaks[1],
            Leak {
                what: "secret MERCHANT_KEY".into(),
                line: 2,
                excerpt: "2026-12-07T05:17:52Z  WARN server::providers: refused (key […])".into()
            }
        );
    }

    #[test]
    fn a_log_with_masked_numbers_and_no_secret_passes() {
        let log = "2026-12-07T05:17:51Z DEBUG server::checkouts: pay phone=+225 07 •• •• •• 01\n\
                   2026-12-07T05:17:52Z  INFO server::refused: webhook_secret_e2e rotated; amount 20700000001\n\
                   2026-12-07T05:17:53Z  INFO server::routes: route=/v1/public/checkouts/{id}/events co_AbC123_secret_short\n";
        assert_eq!(find_leaks(log, &parse_needles(NEEDLES)), Vec::new());
    }

    #[test]
    fn a_merchant_key_no_needle_names_is_caught_by_its_shape() {
        let log = "2026-12-07T05:17:51Z  INFO verifier: created mk_live_Zx9Qm2Lr8Tn4Vb6Yc1Hd3Jf5Kg7Ps0Wa.\n\
                   2026-12-07T05:17:52Z  INFO verifier: key mkey_01 ends …Ps0W; prefix mk_test_ of mode test\n";
        let found: Vec<(String, usize, String)> = find_leaks(log, &parse_needles(NEEDLES))
            .into_iter()
            .map(|l| (l.what, l.line, l.excerpt))
            .collect();
        assert_eq!(
            found,
            vec![("a merchant key".into(), 1, "2026-12-07T05:17:51Z  INFO verifier: created […].".into())]
        );
    }

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

//! The deployment examples name only what exists: `deploy/Dockerfile` builds and copies the
//! workspace's own paths and bin targets (read from `cargo metadata`), ships the `verifier`
//! alone (never `provider-sandbox`), runs as a user that is not root, and starts a command the
//! binary has, on the example configuration it installs; `deploy/verifier.service` starts the
//! same binary with commands it has, on that configuration, hardened; and
//! `deploy/verifier.toml` passes `verifier check-config`, its database inside the service's
//! state directory and its widget where the image puts it. No image is built here (no container
//! runtime on these machines).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

const VERIFIER: &str = env!("CARGO_BIN_EXE_verifier");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// The workspace's bin targets (`cargo metadata`): name → package.
fn workspace_bins() -> BTreeMap<String, String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let mut bins = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        for target in package["targets"].as_array().expect("targets") {
            if target["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")) {
                bins.insert(
                    target["name"].as_str().unwrap().to_owned(),
                    package["name"].as_str().unwrap().to_owned(),
                );
            }
        }
    }
    bins
}

/// A Dockerfile's instructions (continuation lines joined, comments dropped), with the stage
/// each belongs to.
fn instructions(text: &str) -> Vec<(String, String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stage = String::new();
    joined
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (op, rest) = l.trim().split_once(char::is_whitespace).unwrap_or((l.trim(), ""));
            let op = op.to_ascii_uppercase();
            if op == "FROM" {
                let words: Vec<&str> = rest.split_whitespace().collect();
                stage = match words.as_slice() {
                    [_, as_, name] if as_.eq_ignore_ascii_case("as") => (*name).to_owned(),
                    _ => String::new(),
                };
            }
            (stage.clone(), op, rest.trim().to_owned())
        })
        .collect()
}

/// The JSON-array form of `ENTRYPOINT`/`CMD`.
fn exec_form(rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("{rest:?} is not the exec (JSON) form: {e}"))
}

/// `--bin X` and `-p X` of a `cargo build` command line.
fn cargo_build_targets(command: &str) -> (Vec<String>, Vec<String>) {
    let words: Vec<&str> = command.split_whitespace().collect();
    let after =
        |flag: &str| words.windows(2).filter(|w| w[0] == flag).map(|w| w[1].to_owned()).collect::<Vec<_>>();
    let (mut packages, bins) = (after("-p"), after("--bin"));
    packages.extend(after("--package"));
    (packages, bins)
}

#[test]
fn the_dockerfile_builds_and_ships_only_what_the_workspace_has() {
    let bins = workspace_bins();
    assert_eq!(bins.get("verifier").map(String::as_str), Some("verifier"), "{bins:?}");
    assert!(bins.contains_key("provider-sandbox"), "the sandboxes' binary, which must not ship: {bins:?}");
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let all = instructions(&text);
    let stages: Vec<String> =
        all.iter().filter(|(_, op, _)| op == "FROM").map(|(stage, _, _)| stage.clone()).collect();
    let runtime = stages.last().expect("a stage").clone();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");

    // What each stage built, and its working directory.
    let mut built_bins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut builds_widget = BTreeSet::new();
    let mut workdir: BTreeMap<String, String> = BTreeMap::new();
    let mut shipped: BTreeMap<String, String> = BTreeMap::new(); // destination → source, runtime
    let mut user = None;
    let (mut entrypoint, mut cmd) = (Vec::new(), Vec::new());
    for (stage, op, rest) in &all {
        match op.as_str() {
            "FROM" => {
                if *stage == runtime {
                    let image = rest.split_whitespace().next().unwrap();
                    assert!(
                        image.starts_with("debian:") && image.ends_with("-slim")
                            || image.starts_with("gcr.io/distroless/"),
                        "a small runtime image: {image}"
                    );
                } else {
                    assert!(rest.starts_with("rust:"), "a Rust builder: {rest}");
                }
            }
            "WORKDIR" => {
                workdir.insert(stage.clone(), rest.clone());
            }
            "RUN" => {
                if rest.contains("cargo build") {
                    let (packages, built) = cargo_build_targets(rest);
                    for p in &packages {
                        assert!(bins.values().any(|v| v == p), "-p {p}: no such package ({bins:?})");
                    }
                    for b in &built {
                        assert!(bins.contains_key(b), "--bin {b}: no such bin target ({bins:?})");
                        assert!(rest.contains("--release"), "{rest}");
                    }
                    assert!(!built.is_empty(), "every cargo build names its --bin: {rest}");
                    built_bins.entry(stage.clone()).or_default().extend(built);
                }
                if rest.contains("cargo xtask build-widget") {
                    builds_widget.insert(stage.clone());
                }
                assert!(!rest.contains("provider-sandbox"), "the sandboxes are never built: {rest}");
            }
            "COPY" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let from = words.iter().find_map(|w| w.strip_prefix("--from="));
                let paths: Vec<&str> = words.iter().copied().filter(|w| !w.starts_with("--")).collect();
                let (dest, sources) = paths.split_last().expect("COPY has a destination");
                for source in sources {
                    match from {
                        None => assert!(root().join(source).exists(), "COPY {source}: not in the workspace"),
                        Some(other) => {
                            assert!(stages.iter().any(|s| s == other), "COPY --from={other}: no such stage");
                            let dir = workdir.get(other).cloned().unwrap_or_default();
                            let release = format!("{dir}/target/release/");
                            if let Some(bin) = source.strip_prefix(&release) {
                                assert!(
                                    built_bins.get(other).is_some_and(|b| b.contains(bin)),
                                    "COPY --from={other} {source}: that stage builds no --bin {bin}"
                                );
                            } else if *source == format!("{dir}/target/widget") {
                                assert!(builds_widget.contains(other), "{other} does not build the widget");
                            } else {
                                assert_eq!(
                                    *source, dir,
                                    "COPY --from={other} {source}: not made by that stage"
                                );
                            }
                        }
                    }
                    if *stage == runtime {
                        assert!(!source.contains("sandbox"), "the sandboxes never ship: {source}");
                        shipped.insert((*dest).to_owned(), (*source).to_owned());
                    }
                }
            }
            "USER" => user = Some(rest.clone()),
            "ENTRYPOINT" if *stage == runtime => entrypoint = exec_form(rest),
            "CMD" if *stage == runtime => cmd = exec_form(rest),
            _ => {}
        }
    }
    let user = user.expect("a USER");
    assert!(!["root", "0", "0:0"].contains(&user.as_str()), "not root: {user}");
    // The runtime has the verifier and nothing else of ours built.
    let shipped_bins: Vec<&String> = shipped.values().filter(|s| s.contains("/target/release/")).collect();
    assert_eq!(shipped_bins.len(), 1, "{shipped:?}");
    assert!(shipped_bins[0].ends_with("/target/release/verifier"), "{shipped:?}");
    // It starts the verifier it ships, with a command the binary has, on the configuration it
    // installs from the workspace.
    assert_eq!(entrypoint.first().map(String::as_str), Some("/usr/local/bin/verifier"), "{entrypoint:?}");
    assert!(shipped.get("/usr/local/bin/verifier").is_some_and(|s| s.ends_with("/verifier")));
    let (command, config) = match cmd.as_slice() {
        [command, config] => (command.as_str(), config.as_str()),
        other => panic!("CMD [command, config]: {other:?}"),
    };
    assert!(Command::new(VERIFIER).args([command, "--help"]).output().unwrap().status.success(), "{command}");
    assert_eq!(shipped.get(config).map(String::as_str), Some("deploy/verifier.toml"), "{shipped:?}");
    let settings = server::config::Settings::load(&root().join("deploy/verifier.toml")).unwrap();
    assert_eq!(
        shipped.get(&settings.widget_dir.display().to_string()).map(String::as_str),
        Some("/src/target/widget"),
        "the configuration's widget_dir is where the image puts the widget"
    );
}

/// The `[Service]` settings of a systemd unit, each key with every value it was given.
fn unit_service(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut section = "";
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not key=value: {line}"));
        if section == "[Service]" {
            settings.entry(key.trim().to_owned()).or_default().push(value.trim().to_owned());
        }
    }
    settings
}

#[test]
fn the_systemd_unit_starts_the_verifier_hardened_on_the_example_configuration() {
    let bins = workspace_bins();
    let text =
        std::fs::read_to_string(root().join("deploy/verifier.service")).expect("deploy/verifier.service");
    let service = unit_service(&text);
    let one = |key: &str| -> &str {
        match service.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("{key}: {other:?}"),
        }
    };
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    for key in ["ExecStart", "ExecStartPre"] {
        let words: Vec<&str> = one(key).split_whitespace().collect();
        let [program, command, config] = words.as_slice() else { panic!("{key}: {words:?}") };
        let bin = program.strip_prefix("/usr/local/bin/").expect("installed in /usr/local/bin");
        assert!(bins.contains_key(bin), "{key}: {bin} is no bin target of the workspace");
        assert_eq!(bin, "verifier");
        let help = Command::new(VERIFIER).args([command, "--help"]).output().unwrap();
        assert!(help.status.success(), "{key}: `verifier {command}` does not exist");
        // The configuration installed from the workspace's example, as the image does too.
        assert_eq!(*config, "/etc/verifier/verifier.toml");
        assert!(dockerfile.contains(&format!("COPY deploy/verifier.toml {config}")), "{config}");
    }
    assert_eq!(one("ExecStart").split_whitespace().nth(1), Some("serve"));
    // Hardened.
    assert!(one("DynamicUser") == "yes" || service.contains_key("User"), "a user of its own");
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("StateDirectory", "verifier"),
        ("CapabilityBoundingSet", ""),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    // The example's SQLite database is in the state directory, the only writable place.
    let settings = server::config::Settings::load(&root().join("deploy/verifier.toml")).unwrap();
    assert!(
        settings.database_url.starts_with("sqlite:///var/lib/verifier/"),
        "{} is outside StateDirectory=verifier",
        settings.database_url
    );
    assert_eq!(one("WorkingDirectory"), "/var/lib/verifier");
}

#[test]
fn the_example_configuration_passes_check_config() {
    let out = Command::new(VERIFIER)
        .args(["check-config", root().join("deploy/verifier.toml").to_str().unwrap()])
        .env_remove("VERIFIER_DATABASE_URL")
        .env_remove("VERIFIER_MERCHANT_SECRET_KEY")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("metrics: http://127.0.0.1:9464/metrics"), "metrics stay private: {said}");
}

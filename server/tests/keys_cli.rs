//! The `verifier` binary as an operator runs it: `verifier keys create|list|revoke` on a
//! configuration's database, and a configuration whose merchant key is weak or of the other
//! mode refused before anything starts, with the setting named and the key never printed.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

const VERIFIER: &str = env!("CARGO_BIN_EXE_verifier");

/// A fresh directory for one test's configuration and database.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("verifier-keys-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A test-mode configuration (no provider) with `merchant` as its `[merchant]` section's body.
fn config(dir: &Path, merchant: &str) -> PathBuf {
    let path = dir.join("verifier.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}\"\nwidget_dir = \"{}\"\n\
             [merchant]\nname = \"Boutique\"\n{merchant}\n[checkout]\ndefault_country = \"CI\"\n\
             ttl_seconds = 1800\n[reconcile]\npoll_interval_ms = 5000\n",
            dir.join("verifier.db").display(),
            dir.display()
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(VERIFIER).args(args).env_remove("VERIFIER_MERCHANT_SECRET_KEY").output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keys_are_created_listed_without_their_secret_and_revoked() {
    let dir = scratch("cli");
    let cfg = config(&dir, "");
    let cfg = cfg.to_str().unwrap();
    let created = run(&["keys", "create", cfg]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let key = text(&created.stdout).trim().to_owned();
    assert!(key.starts_with("mk_test_") && key.len() >= "mk_test_".len() + 32, "{key}");
    let id = text(&created.stderr).split_whitespace().find(|w| w.starts_with("mkey_")).unwrap().to_owned();
    let second = run(&["keys", "create", cfg]);
    let other_key = text(&second.stdout).trim().to_owned();
    assert_ne!(key, other_key);

    let listed = run(&["keys", "list", cfg]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let list = text(&listed.stdout) + &text(&listed.stderr);
    assert!(list.contains(&id), "{list}");
    assert!(list.contains(&key[key.len() - 4..]), "the last four characters: {list}");
    for secret in [&key, &other_key] {
        // Not the key, nor any 12 characters of its random part.
        assert!(!list.contains(&secret[8..20]), "{list}");
    }

    let revoked = run(&["keys", "revoke", &id, cfg]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let twice = run(&["keys", "revoke", &id, cfg]);
    assert!(!twice.status.success(), "a key is revoked once");
    let list = text(&run(&["keys", "list", cfg]).stdout);
    let line = list.lines().find(|l| l.contains(&id)).unwrap();
    assert!(!line.trim_end().ends_with('-'), "revoked with a date: {line}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_weak_or_other_mode_merchant_key_refuses_to_start() {
    for (key, why) in [
        ("", "empty"),
        ("mk_test_0123456789", "at least 32"),
        ("mk_live_0123456789abcdef0123456789abcdef", "live key"),
        ("sk_test_0123456789abcdef0123456789abcdef", "must start with mk_test_"),
    ] {
        let dir = scratch("weak");
        let cfg = config(&dir, &format!("secret_key = \"{key}\""));
        let out = run(&[cfg.to_str().unwrap()]);
        assert!(!out.status.success(), "{key:?} started");
        let err = text(&out.stderr);
        assert!(err.contains("merchant.secret_key") && err.contains(why), "{key:?}: {err}");
        assert!(key.is_empty() || !err.contains(key), "the key is not printed: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

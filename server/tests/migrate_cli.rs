//! `verifier migrate` as an operator runs it: the configured database (SQLite by default,
//! PostgreSQL by a `postgres://` URL, from the file or `VERIFIER_DATABASE_URL`) migrated alone,
//! again without change, and then used by the other commands; a URL of another scheme refused
//! with what is accepted, and a password in the URL never printed. The PostgreSQL test runs
//! when `TEST_DATABASE_URL` is set (in a database it creates and drops), and says it was
//! skipped otherwise.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sqlx::{Connection, Executor};

const VERIFIER: &str = env!("CARGO_BIN_EXE_verifier");

/// A fresh directory for one test's configuration and database.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("verifier-migrate-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A test-mode configuration whose database is `database_url`.
fn config(dir: &Path, database_url: &str) -> PathBuf {
    let path = dir.join("verifier.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{database_url}\"\nwidget_dir = \"{}\"\n\
             [merchant]\nname = \"Boutique\"\n[checkout]\ndefault_country = \"CI\"\n\
             ttl_seconds = 1800\n[reconcile]\npoll_interval_ms = 5000\n",
            dir.display()
        ),
    )
    .unwrap();
    path
}

/// Runs the binary with `VERIFIER_DATABASE_URL` set to `database_url` (or unset).
fn run(args: &[&str], database_url: Option<&str>) -> Output {
    let mut command = Command::new(VERIFIER);
    command.args(args).env_remove("VERIFIER_MERCHANT_SECRET_KEY").env_remove("VERIFIER_DATABASE_URL");
    if let Some(url) = database_url {
        command.env("VERIFIER_DATABASE_URL", url);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn migrate_prepares_a_sqlite_database_that_the_other_commands_then_use() {
    let dir = scratch("sqlite");
    let db = dir.join("verifier.db");
    let cfg = config(&dir, &format!("sqlite://{}", db.display()));
    let cfg = cfg.to_str().unwrap();
    for _ in 0..2 {
        let migrated = run(&["migrate", cfg], None);
        assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    }
    assert!(db.exists(), "the database file is made");
    let created = run(&["keys", "create", cfg], None);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn another_scheme_is_refused_and_a_password_is_never_printed() {
    let dir = scratch("refused");
    let cfg = config(&dir, "sqlite::memory:");
    let cfg = cfg.to_str().unwrap();
    let refused = run(&["migrate", cfg], Some("mysql://shop:hunter2-secret@db/shop"));
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(said.contains("sqlite://") && said.contains("postgres://"), "{said}");
    assert!(!said.contains("hunter2-secret"), "{said}");
    // Nothing listens on port 1: the connection fails, and says where, without the password.
    let unreachable = run(&["migrate", cfg], Some("postgres://shop:hunter2-secret@127.0.0.1:1/shop"));
    assert!(!unreachable.status.success());
    let said = text(&unreachable.stderr);
    assert!(said.contains("127.0.0.1:1/shop"), "{said}");
    assert!(!said.contains("hunter2-secret"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_prepares_a_postgresql_database_that_the_other_commands_then_use() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (no PostgreSQL to test on)");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let name = format!("verifier_test_{}", uuid::Uuid::new_v4().simple());
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str()).await.unwrap();
    });
    let (base, _) = admin.split_once('?').unwrap_or((&admin, ""));
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);

    let dir = scratch("postgres");
    // The file says SQLite; the environment overrides it.
    let cfg = config(&dir, &format!("sqlite://{}", dir.join("unused.db").display()));
    let cfg = cfg.to_str().unwrap();
    let outcome = std::panic::catch_unwind(|| {
        for _ in 0..2 {
            let migrated = run(&["migrate", cfg], Some(&url));
            assert!(migrated.status.success(), "{}", text(&migrated.stderr));
        }
        let created = run(&["keys", "create", cfg], Some(&url));
        assert!(created.status.success(), "{}", text(&created.stderr));
        let id =
            text(&created.stderr).split_whitespace().find(|w| w.starts_with("mkey_")).unwrap().to_owned();
        let listed = text(&run(&["keys", "list", cfg], Some(&url)).stdout);
        assert!(listed.contains(&id), "{listed}");
        assert!(!dir.join("unused.db").exists(), "the file's SQLite database was not used");
    });
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str()).await.unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

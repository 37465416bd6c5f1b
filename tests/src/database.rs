//! Which database the e2e verifiers run on: a SQLite file of their own (the default), or, with
//! `E2E_DATABASE=postgres`, a fresh PostgreSQL database of their own on the server
//! `TEST_DATABASE_URL` names (`cargo xtask test` starts one and sets both for the tests it runs
//! on PostgreSQL). Each database is dropped when its last verifier's handle is: a run leaves no
//! database behind.
//!
//! The tests read what they need through the API or through the store interface opened from
//! the verifier's `database_url` ([`open_store`]), never by opening the SQLite file themselves.

use std::sync::Arc;

use anyhow::Context;
use server::store::Store;
use sqlx::Connection;

/// The environment variable naming a PostgreSQL server's maintenance database for the tests,
/// e.g. `postgres://verifier@127.0.0.1:55432/postgres`.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The environment variable choosing the e2e verifiers' database: `sqlite` (the default, even
/// when [`TEST_DATABASE_URL`] is set) or `postgres`.
pub const E2E_DATABASE: &str = "E2E_DATABASE";

/// A database engine the verifier can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database of its own on [`TEST_DATABASE_URL`]'s server.
    Postgres,
}

/// The backend of this run, from [`E2E_DATABASE`]; panics on another value, or on `postgres`
/// without [`TEST_DATABASE_URL`] (a mistake in how the tests were started).
pub fn backend() -> Backend {
    let chosen = std::env::var(E2E_DATABASE).unwrap_or_default();
    let backend = parse_backend(&chosen)
        .unwrap_or_else(|| panic!("{E2E_DATABASE}={chosen:?}: expected `sqlite` or `postgres`"));
    if backend == Backend::Postgres && server_url().is_none() {
        panic!("{E2E_DATABASE}=postgres needs {TEST_DATABASE_URL} (`cargo xtask test` sets both)");
    }
    backend
}

fn parse_backend(value: &str) -> Option<Backend> {
    match value {
        "" | "sqlite" => Some(Backend::Sqlite),
        "postgres" | "postgresql" => Some(Backend::Postgres),
        _ => None,
    }
}

/// [`TEST_DATABASE_URL`], when set and not empty.
pub fn server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty())
}

/// The verifier's store on `url`, opened as the verifier opens its own: another connection to
/// the same database, as `verifier keys` or a second instance would have.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    server::store::open(url, server::store::SystemClock::shared()).await
}

/// A PostgreSQL database made for one test (and the verifiers restarted on it), on the server
/// [`TEST_DATABASE_URL`] names; dropped (its sessions ended) when this is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    /// The server's maintenance database, where this one is created and dropped from.
    server: String,
    /// `e2e_` and 32 hexadecimal digits.
    name: String,
    /// The URL of this database (the server's, with this database's name).
    url: String,
}

impl PgDatabase {
    /// Creates a new empty database on [`TEST_DATABASE_URL`]'s server.
    pub async fn create() -> anyhow::Result<PgDatabase> {
        let server = server_url().with_context(|| format!("{TEST_DATABASE_URL} is not set"))?;
        PgDatabase::create_on(&server).await
    }

    /// Creates a new empty database on the server whose maintenance database is `server`.
    pub async fn create_on(server: &str) -> anyhow::Result<PgDatabase> {
        let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(server).with_context(|| format!("{TEST_DATABASE_URL} is no URL"))?;
        url.set_path(&format!("/{name}"));
        let mut conn = sqlx::PgConnection::connect(server)
            .await
            .with_context(|| format!("connecting to the test PostgreSQL ({TEST_DATABASE_URL})"))?;
        // The name is ours (letters, digits, `_`): quoting it is enough.
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
        conn.close().await?;
        Ok(PgDatabase { server: server.to_owned(), name, url: url.into() })
    }

    /// `postgres://…/e2e_…`: the verifier's `database_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn drop_now(server: &str, name: &str) -> anyhow::Result<()> {
        let mut conn = sqlx::PgConnection::connect(server).await?;
        // FORCE ends the sessions of verifiers still running on it (PostgreSQL 13 and later:
        // https://www.postgresql.org/docs/15/sql-dropdatabase.html).
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own,
        // with its own runtime, joined so that the database is gone when the test ends.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(PgDatabase::drop_now(&server, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("e2e: dropping the test database {}: {e:#}", self.name),
            Err(_) => eprintln!("e2e: dropping the test database {} panicked", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::{Backend, PgDatabase, parse_backend, server_url};

    #[test]
    fn the_backend_is_sqlite_unless_postgres_is_asked_for() {
        assert_eq!(parse_backend(""), Some(Backend::Sqlite));
        assert_eq!(parse_backend("sqlite"), Some(Backend::Sqlite));
        assert_eq!(parse_backend("postgres"), Some(Backend::Postgres));
        assert_eq!(parse_backend("mysql"), None);
    }

    /// Whether a database named `name` exists on the server.
    async fn exists(server: &str, name: &str) -> bool {
        let mut conn = sqlx::PgConnection::connect(server).await.expect("the server");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .expect("pg_database");
        n == 1
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_test_database_is_created_usable_and_dropped_with_its_handle() {
        let Some(server) = server_url() else {
            eprintln!("TEST_DATABASE_URL is not set: `cargo xtask test` runs this on its own PostgreSQL");
            return;
        };
        let db = PgDatabase::create_on(&server).await.expect("created");
        let name = db.name().to_owned();
        assert!(db.url().ends_with(&format!("/{name}")), "{}", db.url());
        assert!(exists(&server, &name).await);
        // A session left open on it (a verifier still running) does not keep it alive.
        let mut open = sqlx::PgConnection::connect(db.url()).await.expect("its URL connects");
        let here: String =
            sqlx::query_scalar("SELECT current_database()").fetch_one(&mut open).await.expect("a query");
        assert_eq!(here, name);
        drop(db);
        assert!(!exists(&server, &name).await, "{name} is left on the server");
        assert!(sqlx::query("SELECT 1").execute(&mut open).await.is_err(), "its session was ended");
    }
}

//! The test command's own PostgreSQL: a throw-away cluster in a temporary directory, for the
//! tests that run on PostgreSQL when `TEST_DATABASE_URL` does not name a server.
//!
//! Debian's `postgresql` package gives the server tools in `/usr/lib/postgresql/<major>/bin`
//! (installed by [`ensure_installed`] when missing). `initdb` refuses to run as root, so as
//! root every server tool runs as the `postgres` user the package creates (`runuser -u
//! postgres --`). The cluster trusts loopback connections (`initdb -A trust`,
//! <https://www.postgresql.org/docs/15/app-initdb.html>), listens on 127.0.0.1 on a free port,
//! keeps its Unix socket in its own directory, and is started with `pg_ctl -w`, which waits
//! until the server accepts connections
//! (<https://www.postgresql.org/docs/15/app-pg-ctl.html>); a first connection (`psql`) then
//! reads its version.
//!
//! A [`Cluster`] stops its server and removes its directory when dropped (a failed test run or
//! a panic included), and [`stop_on_signals`] does the same on Ctrl-C, SIGTERM or SIGHUP
//! before xtask exits.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Mutex,
};

use anyhow::{Context, Result, bail};

use crate::prereq;

/// The role the cluster is created with (its superuser), the one the URL names.
pub(crate) const ROLE: &str = "verifier";

/// The environment variable that names a PostgreSQL server for the tests (its maintenance
/// database, e.g. `postgres://verifier@127.0.0.1:5432/postgres`); when unset, the test command
/// starts its own [`Cluster`].
pub(crate) const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The directory of the newest PostgreSQL server tools installed (the one holding `initdb`):
/// Debian's `/usr/lib/postgresql/<major>/bin`, else the directory of an `initdb` on the `PATH`.
pub(crate) fn bin_dir() -> Option<PathBuf> {
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file())
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
}

/// The server tools' directory, Debian's `postgresql` package installed first when there is
/// none (as root; else the command to run is printed).
pub(crate) fn ensure_installed() -> Result<PathBuf> {
    if let Some(bin) = bin_dir() {
        return Ok(bin);
    }
    prereq::install_debian("the tests on PostgreSQL", &["postgresql"])?;
    bin_dir().context("the postgresql package is installed but no initdb was found")
}

/// What stops a running cluster: shared with the signal handler, so that whichever of the
/// guard's `Drop` and a signal comes first stops it, once.
#[derive(Debug)]
struct Running {
    /// The temporary directory: `data/` (the cluster), `log`, the Unix socket.
    dir: PathBuf,
    /// The server tools.
    bin: PathBuf,
    /// Whether the tools run as the `postgres` user (xtask runs as root).
    as_postgres: bool,
}

/// The clusters this process started and has not stopped yet.
static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

impl Running {
    /// `pg_ctl stop` (fast: open sessions are ended) when a server was started, then the
    /// directory is removed; errors are printed, not returned (this runs on the way out).
    fn stop(self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let out = tool(&self.bin, "pg_ctl", self.as_postgres)
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "-t", "60", "stop"])
                .output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!("xtask: pg_ctl stop: {}", String::from_utf8_lossy(&o.stderr).trim()),
                Err(e) => eprintln!("xtask: pg_ctl stop: {e}"),
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: removing {}: {e}", self.dir.display());
        }
    }
}

/// Stops every cluster of this process still running, holding the registry's lock throughout
/// (a signal arriving meanwhile waits for it, then finds nothing left to stop).
fn stop_all(filter: impl Fn(&Running) -> bool) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let (stop, keep): (Vec<Running>, Vec<Running>) = running.drain(..).partition(|r| filter(r));
    *running = keep;
    for r in stop {
        r.stop();
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP: stops this process's clusters, then exits with 130. Call once,
/// before starting a cluster (later calls are refused by the `ctrlc` crate and ignored here).
pub(crate) fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        eprintln!("xtask: interrupted: stopping the test PostgreSQL");
        stop_all(|_| true);
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("xtask: no signal handler for the test PostgreSQL ({e}); Drop still stops it");
    }
}

/// A throw-away PostgreSQL cluster: started by [`Cluster::start`], stopped and its directory
/// removed when dropped.
#[derive(Debug)]
pub(crate) struct Cluster {
    dir: PathBuf,
    url: String,
    version: String,
}

impl Cluster {
    /// Creates a cluster in a new temporary directory and starts it on 127.0.0.1 on a free port;
    /// returns once a connection has read its version. Tests' clusters run with `fsync = off`.
    pub(crate) fn start(bin: &Path) -> Result<Cluster> {
        Cluster::start_with(bin, false)
    }

    /// [`Cluster::start`] with PostgreSQL's default durability (`fsync = on`): what the bench
    /// measures, as the SQLite it compares with runs with `synchronous = FULL`.
    pub(crate) fn start_durable(bin: &Path) -> Result<Cluster> {
        Cluster::start_with(bin, true)
    }

    fn start_with(bin: &Path, durable: bool) -> Result<Cluster> {
        let as_postgres = prereq::is_root();
        if as_postgres && !Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()) {
            bail!(
                "running as root, PostgreSQL's tools need the `postgres` user (Debian's postgresql package creates it)"
            );
        }
        let dir = new_temp_dir()?;
        // Registered first: from here on, an error, a panic or a signal removes the directory.
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(Running {
            dir: dir.clone(),
            bin: bin.to_path_buf(),
            as_postgres,
        });
        let cluster = Cluster { dir: dir.clone(), url: String::new(), version: String::new() };
        cluster.init_and_start(bin, as_postgres, durable)
    }

    fn init_and_start(mut self, bin: &Path, as_postgres: bool, durable: bool) -> Result<Cluster> {
        if as_postgres {
            checked(Command::new("chown").arg("postgres").arg(&self.dir), "chown")?;
        }
        let data = self.dir.join("data");
        checked(
            tool(bin, "initdb", as_postgres).arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                ROLE,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]),
            "initdb",
        )?;
        let port = free_port()?;
        // fsync off for the tests: a throw-away cluster need not survive a power cut (the kill
        // tests kill the verifier, not the database server). Room for the parallel pools.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=300",
            self.dir.display(),
            if durable { "on" } else { "off" }
        );
        let log = self.dir.join("log");
        let started = tool(bin, "pg_ctl", as_postgres)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .context("running pg_ctl")?;
        if !started.status.success() {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("pg_ctl start failed ({}): {}\n{server_log}", started.status, stderr_of(&started));
        }
        self.url = format!("postgres://{ROLE}@127.0.0.1:{port}/postgres");
        let version = checked(
            Command::new(bin.join("psql"))
                .args(["-X", "-A", "-t", "-c", "SHOW server_version", "-d"])
                .arg(&self.url),
            "psql (the first connection)",
        )?;
        self.version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        Ok(self)
    }

    /// `postgres://verifier@127.0.0.1:<port>/postgres` (trust: no password).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The server's version, as it reported it (`SHOW server_version`).
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// The temporary directory the cluster lives in (gone once it is dropped).
    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop_all(|r| r.dir == self.dir);
    }
}

/// The database the tests on PostgreSQL use: the server `TEST_DATABASE_URL` names, or the test
/// command's own cluster (kept alive as long as this is).
#[derive(Debug)]
pub(crate) enum TestDatabase {
    /// A server the caller runs.
    Given(String),
    /// The test command's own.
    Own(Cluster),
}

impl TestDatabase {
    /// `TEST_DATABASE_URL` when set, else a new cluster; prints which, with the URL (never a
    /// password) and, for its own, the version. PostgreSQL is installed when missing either
    /// way: xtask's own tests start clusters of their own.
    pub(crate) fn for_tests() -> Result<TestDatabase> {
        let bin = ensure_installed()?;
        if let Some(url) = std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty()) {
            eprintln!("xtask: PostgreSQL tests on {TEST_DATABASE_URL}={}", without_password(&url));
            return Ok(TestDatabase::Given(url));
        }
        stop_on_signals();
        let cluster = Cluster::start(&bin)?;
        eprintln!(
            "xtask: PostgreSQL {} started for the tests at {} (stopped when they end)",
            cluster.version(),
            cluster.url()
        );
        Ok(TestDatabase::Own(cluster))
    }

    /// The URL the tests get as `TEST_DATABASE_URL`.
    pub(crate) fn url(&self) -> &str {
        match self {
            TestDatabase::Given(url) => url,
            TestDatabase::Own(cluster) => cluster.url(),
        }
    }
}

/// `url` with any password replaced by `***`, for printing.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A server tool of `bin`, as the `postgres` user when `as_postgres`.
fn tool(bin: &Path, name: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(name));
        cmd
    } else {
        Command::new(bin.join(name))
    }
}

/// Runs `cmd`, failing with its standard error unless it succeeds.
fn checked(cmd: &mut Command, what: &str) -> Result<Output> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({}): {}", out.status, stderr_of(&out));
    }
    Ok(out)
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A new empty directory under the system's temporary directory, readable only by its owner.
fn new_temp_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = base.join(format!("xtask-pg-{}-{nanos:x}{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("no free temporary directory name under {}", base.display())
}

/// A TCP port free on 127.0.0.1 now (the kernel's choice for port 0).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader},
        path::PathBuf,
        process::{Command, Stdio},
    };

    use sqlx::Connection;

    use super::{Cluster, bin_dir, stop_on_signals, without_password};

    fn bin() -> PathBuf {
        bin_dir().expect("PostgreSQL's server tools (apt-get install postgresql, or `cargo xtask test`)")
    }

    /// Whether sqlx can open `url` and run a query on it.
    fn connects(url: &str) -> Result<i32, sqlx::Error> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
            conn.close().await?;
            Ok(one)
        })
    }

    #[test]
    fn a_cluster_starts_accepts_sqlx_and_is_gone_once_dropped() {
        let cluster = Cluster::start(&bin()).expect("the cluster starts");
        let (url, dir) = (cluster.url().to_owned(), cluster.dir().to_path_buf());
        assert!(url.starts_with("postgres://verifier@127.0.0.1:") && url.ends_with("/postgres"), "{url}");
        assert!(cluster.version().starts_with(|c: char| c.is_ascii_digit()), "{}", cluster.version());
        assert_eq!(connects(&url).expect("sqlx connects"), 1);
        assert!(dir.join("data/postmaster.pid").exists());
        drop(cluster);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(connects(&url).is_err(), "the server still answers after the drop");
    }

    #[test]
    fn a_failure_while_the_cluster_runs_still_stops_it() {
        let mut seen = None;
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let cluster = Cluster::start(&bin()).expect("the cluster starts");
            seen = Some((cluster.url().to_owned(), cluster.dir().to_path_buf()));
            panic!("a test failed");
        }));
        assert!(failed.is_err());
        let (url, dir) = seen.expect("the cluster had started");
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(connects(&url).is_err(), "the server still answers after the failure");
    }

    /// The child half of [`a_signal_stops_the_cluster_before_xtask_exits`]: with
    /// `XTASK_PG_SIGNAL_CHILD` set, starts a cluster, prints its URL and directory, and waits
    /// until a signal ends the process. Without it, returns at once.
    #[test]
    fn signal_child() {
        if std::env::var_os("XTASK_PG_SIGNAL_CHILD").is_none() {
            return;
        }
        stop_on_signals();
        let cluster = Cluster::start(&bin()).expect("the cluster starts");
        println!("CLUSTER {} {}", cluster.url(), cluster.dir().display());
        // Nothing wakes this thread for good: only the signal handler's exit ends the process.
        loop {
            std::thread::park();
        }
    }

    #[test]
    fn a_signal_stops_the_cluster_before_xtask_exits() {
        for signal in ["TERM", "INT"] {
            let mut child = Command::new(std::env::current_exe().expect("this test binary"))
                .args(["postgres::tests::signal_child", "--exact", "--nocapture", "--test-threads=1"])
                .env("XTASK_PG_SIGNAL_CHILD", "1")
                .stdout(Stdio::piped())
                .spawn()
                .expect("the child test runs");
            let stdout = child.stdout.take().expect("stdout");
            // libtest writes `test …signal_child ... ` before the test's own output.
            let line = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|l| l.split_once("CLUSTER ").map(|(_, rest)| rest.to_owned()))
                .expect("the child started a cluster");
            let mut parts = line.split(' ');
            let (url, dir) =
                (parts.next().expect("url").to_owned(), PathBuf::from(parts.next().expect("dir")));
            assert_eq!(connects(&url).expect("the child's cluster answers"), 1);
            let killed = Command::new("kill")
                .args([format!("-{signal}"), child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(killed.success());
            let status = child.wait().expect("the child ends");
            assert_eq!(status.code(), Some(130), "SIG{signal}: {status}");
            assert!(!dir.exists(), "SIG{signal}: {} is left behind", dir.display());
            assert!(connects(&url).is_err(), "SIG{signal}: the server still answers");
        }
    }

    #[test]
    fn printed_urls_hide_passwords() {
        assert_eq!(
            without_password("postgres://verifier:s3cret@db.example:5432/postgres?sslmode=require"),
            "postgres://verifier:***@db.example:5432/postgres?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://verifier@127.0.0.1:55432/postgres"),
            "postgres://verifier@127.0.0.1:55432/postgres"
        );
        assert_eq!(without_password("postgres://a:b@c/d@e"), "postgres://a:***@c/d@e");
    }
}

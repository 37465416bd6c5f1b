//! The bench's processes: the verifier, the NovaSend sandbox and the limit, each a separate
//! release binary with its own config and log file under `target/bench/`, ready once a URL
//! answers (polled with a deadline), killed when their case ends or fails (on drop); and the
//! clients, run to completion within a deadline.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

/// A free port on 127.0.0.1 (bound, then released for the child to take).
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running server process, killed on drop.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) port: u16,
    child: Child,
}

impl Server {
    /// Starts `bin args…` with its output in `log`, its open-files limit raised to the hard
    /// limit (10,000 SSE streams are as many sockets).
    pub(crate) fn start(
        name: &str,
        port: u16,
        bin: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Server> {
        let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@""#)
            .arg(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("failed to start {name} ({})", bin.display()))?;
        Ok(Server { name: name.to_owned(), port, child })
    }

    /// The process id (the `sh` above `exec`s the binary, so it is the binary's).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `GET path` answers (with 200 when `need_ok`), for at most `within`.
    pub(crate) fn wait_ready(&mut self, path: &str, need_ok: bool, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = http_status(self.port, path)
                && (!need_ok || status == 200)
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during start-up ({status})", self.name);
            }
            if Instant::now() > deadline {
                bail!("{} did not answer GET {path} on port {} within {within:?}", self.name, self.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of `GET path` on 127.0.0.1:port, if it answers at all.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Runs a client to completion within `within` (killed past it); returns its stdout. Its
/// stderr goes to `log`.
pub(crate) fn run_client(cmd: &mut Command, log: &Path, within: Duration) -> Result<String> {
    let err = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let out_path: PathBuf = log.with_extension("out");
    let out = std::fs::File::create(&out_path)?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("failed to run {cmd:?}"))?;
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{:?} did not finish within {within:?} (log: {})", cmd.get_program(), log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path)?;
    if !status.success() {
        let stderr = std::fs::read_to_string(log).unwrap_or_default();
        let tail: String =
            stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        bail!("{:?} failed ({status}): {tail}", cmd.get_program());
    }
    Ok(stdout)
}

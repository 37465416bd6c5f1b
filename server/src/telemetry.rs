//! Logging set-up: `RUST_LOG`-style filtering, compact output. Secrets never reach a log line:
//! keys are `secrecy` types, sensitive headers are marked before the trace layer sees them,
//! spans name the route's pattern rather than the path (paths and queries carry tokens and
//! client secrets), provider transport errors are printed without their URL
//! (`providers::http::transport`). As a last guard every line is written through
//! [`Masking`], which masks phone numbers (`+225 07 •• •• •• 56`) whatever printed them.

use std::io;

use tracing_subscriber::fmt::MakeWriter;

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Installs the global subscriber once, to stderr; later calls do nothing (tests call it many
/// times).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(Masking(io::stderr))
        .try_init();
}

/// Installs the global subscriber once with `filter` (`RUST_LOG` syntax), writing the
/// verifier's lines through [`Masking`] to `writer`, targets included. For a test harness that
/// keeps the logs to check them; returns whether this call installed it.
pub fn init_with<W>(filter: &str, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .with_writer(Masking(writer))
        .try_init()
        .is_ok()
}

/// A [`MakeWriter`] whose writers mask the phone numbers of every line
/// ([`shared::phone::mask_phone_numbers`]) before passing it on. The formatter writes each
/// event in one call, so a number is never split between two writes.
#[derive(Debug, Clone)]
pub struct Masking<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Masking<M> {
    type Writer = MaskingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskingWriter(self.0.make_writer())
    }
}

/// The writer of [`Masking`].
#[derive(Debug)]
pub struct MaskingWriter<W>(W);

impl<W: io::Write> io::Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(shared::phone::mask_phone_numbers(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn every_line_written_has_its_phone_numbers_masked() {
        let mut out = MaskingWriter(Vec::new());
        out.write_all(b"WARN status fetch failed: {\"msisdn\":\"2250707123456\"} ref 20261207\n").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "WARN status fetch failed: {\"msisdn\":\"+225 07 •• •• •• 56\"} ref 20261207\n"
        );
    }
}

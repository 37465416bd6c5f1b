//! Logging set-up: `RUST_LOG`-style filtering, compact text or JSON lines ([`LogFormat`]). Secrets never reach a log line:
//! keys are `secrecy` types, sensitive headers are marked before the trace layer sees them,
//! spans name the route's pattern rather than the path (paths and queries carry tokens and
//! client secrets), provider transport errors are printed without their URL
//! (`providers::http::transport`). As a last guard every line is written through
//! [`Masking`], which masks phone numbers (`+225 07 •• •• •• 56`) whatever printed them.

use std::io;

use tracing_subscriber::fmt::MakeWriter;

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// How log lines are written (`[log] format`, or `VERIFIER_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One compact line of text per event (the default).
    #[default]
    Text,
    /// One JSON object per line, for a log collector: `timestamp`, `level`, `fields` (the
    /// message and the event's fields), `span` (the innermost span's fields) and `spans` (every
    /// enclosing span's: the route, and on the payment path the `checkout` and `attempt` ids).
    Json,
}

/// Installs the global subscriber once, to stderr, in compact text; later calls do nothing
/// (tests call it many times).
pub fn init() {
    init_as(LogFormat::Text);
}

/// [`init`] in `format`.
pub fn init_as(format: LogFormat) {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER))
    };
    match format {
        LogFormat::Text => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_target(false)
                .with_writer(Masking(io::stderr))
                .try_init();
        }
        LogFormat::Json => {
            use tracing_subscriber::util::SubscriberInitExt;
            let _ = json(filter(), Masking(io::stderr)).try_init();
        }
    }
}

/// The JSON subscriber: one object per event, with its spans' fields.
fn json<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> tracing_subscriber::FmtSubscriber<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    tracing_subscriber::EnvFilter,
    W,
>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
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

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn json_lines_carry_the_payment_spans_ids_and_mask_phone_numbers() {
        let out = Buffer::default();
        let subscriber = json(tracing_subscriber::EnvFilter::new("info"), Masking(out.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let http = tracing::info_span!("http", route = "/v1/public/checkouts/{id}/pay");
            let _http = http.enter();
            let pay = tracing::info_span!("payment", checkout = "co_1", attempt = tracing::field::Empty);
            let _pay = pay.enter();
            pay.record("attempt", "at_1");
            tracing::info!(phone = "+2250707123456", "payment routed");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON object");
        assert_eq!(line["fields"]["message"], "payment routed", "{text}");
        assert_eq!(line["span"]["checkout"], "co_1", "{text}");
        assert_eq!(line["span"]["attempt"], "at_1", "{text}");
        assert_eq!(line["spans"][0]["route"], "/v1/public/checkouts/{id}/pay", "{text}");
        assert_eq!(line["fields"]["phone"], "+225 07 •• •• •• 56", "{text}");
    }

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

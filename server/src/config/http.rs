//! The HTTP edge's settings: `[http]` (timeouts and caps of the server itself) and
//! `[public_api]` (which shop origins may call the widget's API, and its SSE streams' caps).
//!
//! Both sections are optional and every field has a default, so a configuration written before
//! they existed keeps working. A zero where a count or a duration is expected is refused when the
//! file is read (it would stop the server or cut every request).

use std::{
    fmt,
    num::{NonZeroU64, NonZeroUsize},
    time::Duration,
};

use serde::Deserialize;

/// `[http]`: what one client can hold of the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// A connection must send a whole request head (request line and headers) within this time
    /// after it opens or after its previous response, or it is closed (a client sending one
    /// header byte every few seconds holds nothing for long). Default 10 s.
    pub header_read_timeout_ms: NonZeroU64,
    /// The longest a request may take until its response head goes out; past it the client
    /// gets `503 unavailable` (the work started, e.g. a payment, still runs to its end). It never
    /// cuts a response body, so an SSE stream, whose head goes out at once, is bounded by
    /// `[public_api] sse_max_lifetime_s` instead. Default 30 s.
    pub request_timeout_ms: NonZeroU64,
    /// The longest wait for the next piece of a request body. Default 10 s.
    pub body_read_timeout_ms: NonZeroU64,
    /// Open connections at most; at the cap new ones wait in the kernel's backlog until one
    /// closes. Keep it under the process's file descriptor limit (`ulimit -n`). Default 10 000.
    pub max_connections: NonZeroUsize,
    /// Requests being answered at once at most; the one over it gets `503 unavailable` with
    /// `Retry-After` at once rather than waiting. An SSE stream counts only until its head goes
    /// out. Default 1 024.
    pub max_concurrent_requests: NonZeroUsize,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            header_read_timeout_ms: nz64(10_000),
            request_timeout_ms: nz64(30_000),
            body_read_timeout_ms: nz64(10_000),
            max_connections: nz(10_000),
            max_concurrent_requests: nz(1_024),
        }
    }
}

impl HttpSettings {
    /// [`HttpSettings::header_read_timeout_ms`] as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms.get())
    }

    /// [`HttpSettings::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.get())
    }

    /// [`HttpSettings::body_read_timeout_ms`] as a duration.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms.get())
    }
}

/// `[public_api]`: the API the widget calls from shop pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicApiSettings {
    /// The shop origins (`https://shop.example`, scheme, host and port only) whose pages may
    /// call `/v1/public/*` from the browser (CORS), and which alone may frame `/embed`. Empty
    /// (the default): no cross-origin call is allowed (the hosted page and `/embed` are on the
    /// verifier's own origin and need none), and any shop may frame `/embed`.
    pub allowed_origins: Vec<Origin>,
    /// An SSE stream ends after this time even if the checkout is still live; the widget then
    /// reads the status and opens another. Default 30 min.
    pub sse_max_lifetime_s: NonZeroU64,
    /// Open SSE streams per checkout at most; the one over it is refused with
    /// `503 unavailable` and `Retry-After` (the widget polls instead). Default 20.
    pub sse_per_checkout: NonZeroUsize,
    /// Open SSE streams in all at most, likewise. Each holds a connection: keep it under
    /// `[http] max_connections`, so that streams never take every connection. Default 8 000.
    pub sse_total: NonZeroUsize,
}

impl Default for PublicApiSettings {
    fn default() -> PublicApiSettings {
        PublicApiSettings {
            allowed_origins: Vec::new(),
            sse_max_lifetime_s: nz64(30 * 60),
            sse_per_checkout: nz(20),
            sse_total: nz(8_000),
        }
    }
}

impl PublicApiSettings {
    /// [`PublicApiSettings::sse_max_lifetime_s`] as a duration.
    pub fn sse_max_lifetime(&self) -> Duration {
        Duration::from_secs(self.sse_max_lifetime_s.get())
    }
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

fn nz64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

/// A web origin as browsers send it in `Origin`: `http` or `https`, a host, a port when not the
/// scheme's default, nothing else (no path, not even a trailing `/`), in its serialised form
/// (<https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin>),
/// so that it compares equal to the header byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Origin(String);

/// Why a string is not an [`Origin`].
#[derive(Debug, thiserror::Error)]
#[error(
    "allowed_origins: {0:?} is not a web origin: write the scheme, the host and the port if not the default, \
     and nothing after (e.g. \"https://shop.example\")"
)]
pub struct NotAnOrigin(String);

impl Origin {
    /// The origin as sent in `Origin` headers.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = NotAnOrigin;

    fn try_from(s: String) -> Result<Origin, NotAnOrigin> {
        let url = reqwest::Url::parse(&s).map_err(|_| NotAnOrigin(s.clone()))?;
        let serialised = url.origin().ascii_serialization();
        if matches!(url.scheme(), "http" | "https") && serialised == s {
            Ok(Origin(s))
        } else {
            Err(NotAnOrigin(s))
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Both {
        #[serde(default)]
        http: HttpSettings,
        #[serde(default)]
        public_api: PublicApiSettings,
    }

    #[test]
    fn absent_sections_take_the_defaults() {
        let both: Both = toml::from_str("").unwrap();
        assert_eq!(both.http.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(both.http.request_timeout(), Duration::from_secs(30));
        assert_eq!(both.http.max_connections.get(), 10_000);
        assert!(both.public_api.allowed_origins.is_empty());
        assert_eq!(both.public_api.sse_max_lifetime(), Duration::from_secs(1800));
        assert_eq!((both.public_api.sse_per_checkout.get(), both.public_api.sse_total.get()), (20, 8_000));
    }

    #[test]
    fn one_field_set_keeps_the_others_default() {
        let both: Both =
            toml::from_str("[http]\nmax_connections = 64\n[public_api]\nsse_per_checkout = 3\n").unwrap();
        assert_eq!(both.http.max_connections.get(), 64);
        assert_eq!(both.http.max_concurrent_requests.get(), 1_024);
        assert_eq!(both.public_api.sse_per_checkout.get(), 3);
        assert_eq!(both.public_api.sse_total.get(), 8_000);
    }

    #[test]
    fn zero_caps_and_unknown_fields_are_refused() {
        for bad in [
            "[http]\nmax_connections = 0\n",
            "[http]\nheader_read_timeout_ms = 0\n",
            "[public_api]\nsse_total = 0\n",
            "[http]\nheader_timeout = 5\n",
        ] {
            assert!(toml::from_str::<Both>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        let ok = r#"[public_api]
allowed_origins = ["https://shop.example", "http://127.0.0.1:8000", "https://shop.example:8443"]"#;
        let both: Both = toml::from_str(ok).unwrap();
        let origins: Vec<_> = both.public_api.allowed_origins.iter().map(Origin::as_str).collect();
        assert_eq!(origins, ["https://shop.example", "http://127.0.0.1:8000", "https://shop.example:8443"]);
        for bad in [
            "https://shop.example/",
            "https://shop.example/checkout",
            "https://shop.example:443",
            "HTTPS://Shop.example",
            "shop.example",
            "*",
            "ftp://shop.example",
            "https://shop.example?x=1",
        ] {
            let text = format!("[public_api]\nallowed_origins = [{bad:?}]\n");
            let err = toml::from_str::<Both>(&text).unwrap_err().to_string();
            assert!(err.contains("is not a web origin"), "{bad}: {err}");
        }
    }
}

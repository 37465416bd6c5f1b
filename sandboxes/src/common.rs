//! What every sandbox needs: serving its listener in the background (stopped when its
//! [`Running`] handle is dropped), the time in the providers' RFC 3339 form, and random
//! identifiers.

use std::net::SocketAddr;

use rand::{Rng, distr::Alphanumeric};

/// A sandbox serving in the background; dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    api_prefix: &'static str,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`: the root, where the `/_sandbox/…` routes and payment pages are.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API's base URL, as a client's `base_url` setting takes it: the root, or the root
    /// and the provider's path prefix (CaurisFlux: `…/api/v1`).
    pub fn api_url(&self) -> String {
        format!("http://{}{}", self.addr, self.api_prefix)
    }

    /// Stops serving (also done on drop).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `listener` in the background, with each caller's address available to
/// handlers (sandboxes that allow-list callers read it); a failure is logged with the
/// sandbox's name. `api_prefix` is the path of the API under the root (`""` or `/api/v1`).
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    name: &'static str,
    api_prefix: &'static str,
) -> Running {
    let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the {name} sandbox stopped");
        }
    });
    Running { addr, api_prefix, task }
}

/// Now, as RFC 3339 text.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `n` random ASCII letters and digits.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

/// Lowercase hex HMAC-SHA256 of `parts`, concatenated, under `secret`: the signature of
/// NovaSend, CaurisFlux and Scalapay webhooks (each module says over what).
pub(crate) fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC-SHA256 takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_openssl() {
        // printf 'hello' | openssl dgst -sha256 -hmac 'key'
        assert_eq!(
            hmac_sha256_hex(b"key", &[b"hel", b"lo"]),
            "9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
        );
    }
}

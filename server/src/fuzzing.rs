//! Entry points for the fuzz targets of `server/fuzz/` (cargo-fuzz), not an API: each takes the
//! fuzzer's bytes and runs them through the verifier's own code, so that a panic there is a
//! crash the fuzzer reports.
//!
//! - [`notice`]: a provider notification (headers and raw body) through the adapter's
//!   `verify_notice`, `event_id` and `claimed_references`, exactly as `POST /webhooks/{provider}`
//!   calls them. When the input asks for it, the harness signs the body with the adapter's
//!   secret first (with the provider's own `sign`), so the fuzzer also reaches the parsing and
//!   the mapping behind the signature check.
//! - [`merchant_bodies`]: a request body through the API's JSON extractor (`AppJson`) as
//!   `CreateCheckout`, `CreateRefund` and `PayRequest`, then the checks made on each.
//!
//! Input of [`notice`]: one flag byte (bit 0: sign the body), then optional header lines
//! `name: value\n` ended by an empty line, then the body. Without an empty line, everything
//! after the flag byte is the body.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::LazyLock,
};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use shared::method::Provider;

use crate::providers::{
    IncomingNotice, PaymentProvider, caurisflux::CaurisFlux, mypvit::MyPvit, novasend::NovaSend,
    scalapay::Scalapay,
};

/// The webhook secrets of the adapters below (test values, used nowhere else).
const NOVASEND_SECRET: &str = "fuzz_novasend_webhook_secret";
const CAURISFLUX_SECRET: &str = "fuzz_caurisflux_webhook_secret";
const SCALAPAY_KEY: &str = "qhtfs87hjnc12kkos";
/// MyPVit's secret path segment.
const MYPVIT_TOKEN: &str = "fuzztoken";

/// A verifier configuration with the four providers in test mode, their hosts unreachable (no
/// adapter here makes a request).
fn settings() -> crate::config::Settings {
    let text = format!(
        r#"
listen = "127.0.0.1:0"
database_url = "sqlite::memory:"
widget_dir = "target/widget"
[merchant]
name = "Fuzz"
secret_key = "mk_test_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
[novasend]
mode = "test"
base_url = "http://127.0.0.1:9"
api_key = "k"
api_client = "c"
webhook_secret = "{NOVASEND_SECRET}"
timeout_ms = 1000
[caurisflux]
mode = "test"
base_url = "http://127.0.0.1:9/api/v1"
public_key = "pk_test_fuzz"
secret_key = "sk_test_fuzz"
webhook_secret = "{CAURISFLUX_SECRET}"
timeout_ms = 1000
[scalapay]
mode = "test"
base_url = "http://127.0.0.1:9"
api_key = "{SCALAPAY_KEY}"
item_category = "clothes"
timeout_ms = 1000
[scalapay.shipping]
line1 = "1 rue"
suburb = "Lyon"
postcode = "69003"
country_code = "FR"
[mypvit]
mode = "test"
base_url = "http://127.0.0.1:9"
operation_account_code = "ACC_FUZZ"
password = "p"
reception_url_code = "RC"
callback_url_code = "CB"
webhook_token = "{MYPVIT_TOKEN}"
allowed_ips = ["127.0.0.1"]
owner_charge = "MERCHANT"
timeout_ms = 1000
renew_before_s = 300
secret_wait_ms = 1000
[mypvit.url_codes]
renew_secret = "A"
rest = "B"
status = "D"
"#
    );
    toml::from_str(&text).expect("the fuzz configuration parses")
}

struct Adapters {
    novasend: NovaSend,
    caurisflux: CaurisFlux,
    scalapay: Scalapay,
    mypvit: MyPvit,
}

static ADAPTERS: LazyLock<Adapters> = LazyLock::new(|| {
    let s = settings();
    let need = "the fuzz configuration has every provider";
    Adapters {
        novasend: NovaSend::new(s.novasend.as_ref().expect(need)).expect("NovaSend builds"),
        caurisflux: CaurisFlux::new(s.caurisflux.as_ref().expect(need)).expect("CaurisFlux builds"),
        scalapay: Scalapay::new(s.scalapay.as_ref().expect(need)).expect("Scalapay builds"),
        mypvit: MyPvit::new(s.mypvit.as_ref().expect(need)).expect("MyPVit builds"),
    }
});

/// Splits `flag byte, header lines, empty line, body`; unreadable header lines are skipped (the
/// HTTP server would have refused them before the adapter).
fn split(data: &[u8]) -> (bool, HeaderMap, &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return (false, HeaderMap::new(), &[]) };
    let mut headers = HeaderMap::new();
    let Some(end) = rest.windows(2).position(|w| w == b"\n\n") else {
        return (flags & 1 == 1, headers, rest);
    };
    for line in rest[..end].split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    (flags & 1 == 1, headers, &rest[end + 2..])
}

/// Adds the headers a genuine notification of `provider` carries for `body`.
fn sign(provider: Provider, headers: &mut HeaderMap, body: &[u8]) {
    use crate::providers::{caurisflux, novasend, scalapay};
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    match provider {
        Provider::NovaSend => set(novasend::SIGNATURE_HEADER, novasend::sign(NOVASEND_SECRET, body)),
        Provider::CaurisFlux => {
            set(caurisflux::SIGNATURE_HEADER, caurisflux::sign(CAURISFLUX_SECRET, &now, body));
            set(caurisflux::TIMESTAMP_HEADER, now);
        }
        Provider::Scalapay => {
            set(scalapay::wire::SIGNATURE_HEADER, scalapay::wire::sign(SCALAPAY_KEY, &now, body));
            set(scalapay::wire::TIMESTAMP_HEADER, now);
        }
        // Unsigned: MyPVit's notices are accepted by sender address and path token.
        Provider::MyPvit => {}
    }
}

/// Runs one fuzz input through `provider`'s notification handling (see the module's doc).
#[doc(hidden)]
pub fn notice(provider: Provider, data: &[u8]) {
    let adapters = &*ADAPTERS;
    let adapter: &dyn PaymentProvider = match provider {
        Provider::NovaSend => &adapters.novasend,
        Provider::CaurisFlux => &adapters.caurisflux,
        Provider::Scalapay => &adapters.scalapay,
        Provider::MyPvit => &adapters.mypvit,
    };
    let (signed, mut headers, body) = split(data);
    if signed {
        sign(provider, &mut headers, body);
    }
    let notice = IncomingNotice {
        headers: &headers,
        body,
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        path_token: Some(MYPVIT_TOKEN),
    };
    let _ = adapter.claimed_references(body);
    if adapter.verify_notice(&notice).is_ok() {
        let _ = adapter.event_id(&notice);
    }
}

/// Runs one fuzz input, as a request body, through the merchant and public APIs' JSON
/// extractor for each body type, then the checks the verifier makes on what it read.
#[doc(hidden)]
pub fn merchant_bodies(data: &[u8]) {
    use axum::extract::FromRequest;
    use shared::api::{CreateCheckout, CreateRefund, PayRequest};

    use crate::error::AppJson;

    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let request = || {
        axum::http::Request::builder()
            .method("POST")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(data.to_vec()))
            .expect("a request")
    };
    runtime.block_on(async {
        // A refused body must become the API's error answer without a panic.
        match AppJson::<CreateCheckout>::from_request(request(), &()).await {
            Ok(AppJson(c)) => {
                let _ = shared::money::Money::new(c.amount, c.currency);
                let country = c.country.unwrap_or(shared::phone::Country::Ci);
                if let Some(phone) = c.customer.as_ref().and_then(|c| c.phone.as_deref()) {
                    let _ = shared::phone::PhoneNumber::parse(phone, country);
                }
                round_trip(&c);
            }
            Err(e) => drop(axum::response::IntoResponse::into_response(e)),
        }
        match AppJson::<CreateRefund>::from_request(request(), &()).await {
            Ok(AppJson(r)) => round_trip(&r),
            Err(e) => drop(axum::response::IntoResponse::into_response(e)),
        }
        match AppJson::<PayRequest>::from_request(request(), &()).await {
            Ok(AppJson(p)) => {
                for country in shared::phone::Country::ALL {
                    let _ = shared::phone::PhoneNumber::parse(&p.phone, country);
                }
                round_trip(&p);
            }
            Err(e) => drop(axum::response::IntoResponse::into_response(e)),
        }
    });
}

/// What the verifier reads, written back and read again, is the same value (what the
/// idempotency store and the widget rely on).
fn round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_vec(value).expect("an API body serialises");
    let again: T = serde_json::from_slice(&text).expect("an API body reads back what it wrote");
    assert_eq!(&again, value, "{}", String::from_utf8_lossy(&text));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_splits_into_flag_headers_and_body() {
        let (signed, headers, body) = split(b"\x01x-a: 1\nbad line\nx-b:  two \n\n{\"k\":1}");
        assert!(signed);
        assert_eq!(headers.get("x-a").unwrap(), "1");
        assert_eq!(headers.get("x-b").unwrap(), "two");
        assert_eq!(body, b"{\"k\":1}");
        let (signed, headers, body) = split(b"\x00{}");
        assert!(!signed && headers.is_empty());
        assert_eq!(body, b"{}");
        assert_eq!(split(b"").2, b"");
    }
}

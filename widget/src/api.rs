//! The widget's side of the verifier's public API: load the checkout, ask to pay (or cancel
//! the attempt waiting for the customer), follow the
//! attempt live (server-sent events, falling back to polling every 3 s), and fetch the QR code
//! of the provider's page (an SVG the verifier draws, so the wasm carries no QR encoder), shown
//! as an image ([`qr_data_url`]), never as markup inserted into the merchant's page.
//!
//! Nothing here trusts the network: every failure becomes a [`Problem`] or a [`PayFailure`],
//! never a panic. The pure parts (secret parsing, URLs, error mapping) are tested natively.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use gloo_net::eventsource::futures::EventSource;
use gloo_net::http::Request;
use shared::api::{PayRequest, PublicCheckout};
use shared::locale::Locale;
use web_sys::RequestCache;
use yew::platform::time::sleep;

use crate::state::{PayFailure, Problem, is_live};
use crate::wire;

/// How often the status is polled when server-sent events are not available.
const POLL_EVERY: Duration = Duration::from_secs(3);
/// The verifier sends the current state as soon as the stream opens; without it by then, the
/// stream is taken as broken (a proxy buffering it, a browser retrying in silence).
const FIRST_EVENT_WITHIN: Duration = Duration::from_secs(10);
/// Polls (of [`POLL_EVERY`]) before a stream that never worked is tried again.
const POLLS_BEFORE_SSE_AGAIN: u32 = 20;

/// A client for one checkout, authenticated by its client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Client {
    api: String,
    id: String,
    secret: String,
}

/// The checkout id of a client secret `co_<24 alnum>_secret_<32 alnum>`, if it has that form.
pub(crate) fn checkout_id(secret: &str) -> Option<&str> {
    let (id, key) = secret.split_once("_secret_")?;
    let alnum = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (alnum(id.strip_prefix("co_")?, 24) && alnum(key, 32)).then_some(id)
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters are kept).
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The QR code's SVG text as a `data:` URL for an `<img>`: as an image it runs no script and
/// styles nothing of the page around it, whatever the text holds. Percent-encoded with
/// [`encode_query`] (already in the wasm) rather than base64.
pub(crate) fn qr_data_url(svg: &str) -> String {
    format!("data:image/svg+xml,{}", encode_query(svg))
}

/// Writes `s` as a JSON string literal.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `pay` body, `{"method":"…","phone":"…"}` (plus `provider` and `otp` when set), as
/// serde would write `PayRequest`: a few strings, written by hand rather than shipping a JSON
/// serializer for them.
pub(crate) fn pay_body(request: &PayRequest) -> String {
    let mut out = String::from("{\"method\":");
    json_string(request.method.as_str(), &mut out);
    out.push_str(",\"phone\":");
    json_string(&request.phone, &mut out);
    if let Some(provider) = request.provider {
        out.push_str(",\"provider\":");
        json_string(provider.as_str(), &mut out);
    }
    if let Some(otp) = &request.otp {
        out.push_str(",\"otp\":");
        json_string(otp, &mut out);
    }
    out.push('}');
    out
}

/// The `detail` of a `checkout:*` DOM event, as JSON: `{"checkoutId","status"}` plus, when
/// there is an attempt, `attemptId`, `method`, `reference` (what the customer keeps: the
/// checkout's short reference, `K7M2-9QXA`) and `failure` (the catalogue's code).
pub(crate) fn event_detail(c: &PublicCheckout) -> String {
    let mut out = String::from("{\"checkoutId\":");
    json_string(&c.id, &mut out);
    out.push_str(",\"status\":");
    json_string(c.status.as_str(), &mut out);
    if let Some(a) = &c.attempt {
        for (key, value) in
            [("attemptId", a.id.as_str()), ("method", a.method.as_str()), ("reference", &c.short_reference)]
        {
            out.push_str(&format!(",\"{key}\":"));
            json_string(value, &mut out);
        }
        if let Some(f) = a.failure {
            out.push_str(",\"failure\":");
            json_string(f.as_str(), &mut out);
        }
    }
    out.push('}');
    out
}

/// What a refused `pay` response means.
pub(crate) fn pay_failure(body: &str) -> PayFailure {
    match wire::parse(body).as_ref().and_then(wire::api_error) {
        Some(e) => PayFailure::Api { code: e.error.code, payment_error: e.error.payment_error },
        None => PayFailure::Unreachable,
    }
}

/// What a failed load means (by its status; 0: no answer): the link is wrong, or the service
/// is down.
fn load_problem(status: u16) -> Problem {
    match status {
        400 | 401 | 403 | 404 => Problem::InvalidLink,
        _ => Problem::Unreachable,
    }
}

impl Client {
    /// A client for `secret` against the API at `api_base`; `None` if the secret is malformed.
    pub(crate) fn new(api_base: &str, secret: &str) -> Option<Client> {
        let id = checkout_id(secret)?;
        Some(Client {
            api: api_base.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    fn checkout_url(&self) -> String {
        format!("{}/v1/public/checkouts/{}", self.api, self.id)
    }

    fn events_url(&self) -> String {
        format!("{}/events?client_secret={}", self.checkout_url(), encode_query(&self.secret))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.secret)
    }

    /// `GET /v1/public/checkouts/{id}{path}` with the client secret: the body, or the status
    /// of a refusal (0 when the verifier could not be reached). One request builder for every
    /// read: each copy of gloo's builder chain costs the download.
    async fn get(&self, path: &str) -> Result<String, u16> {
        let resp = Request::get(&format!("{}{path}", self.checkout_url()))
            .header("Authorization", &self.bearer())
            .cache(RequestCache::NoStore)
            .send()
            .await
            .map_err(|_| 0u16)?;
        if !resp.ok() {
            return Err(resp.status());
        }
        resp.text().await.map_err(|_| 0)
    }

    /// `GET /v1/public/checkouts/{id}`.
    pub(crate) async fn checkout(&self) -> Result<PublicCheckout, Problem> {
        let body = self.get("").await.map_err(load_problem)?;
        wire::parse(&body).as_ref().and_then(wire::checkout).ok_or(Problem::Unreachable)
    }

    /// `POST /v1/public/checkouts/{id}{path}` with the client secret and a JSON `body`: the
    /// checkout it answers, or how it refused. The widget's two POSTs
    /// ([`crate::state::State::request`]): `/pay` with the method and the phone, never an
    /// amount, and `/attempts/{attempt}/cancel`, which ends the attempt waiting for the
    /// customer.
    pub(crate) async fn post(&self, path: &str, body: String) -> Result<PublicCheckout, PayFailure> {
        let resp = Request::post(&format!("{}{path}", self.checkout_url()))
            .header("Authorization", &self.bearer())
            .header("Content-Type", "application/json")
            .body(body)
            .map_err(|_| PayFailure::Unreachable)?
            .send()
            .await
            .map_err(|_| PayFailure::Unreachable)?;
        let body = resp.text().await.map_err(|_| PayFailure::Unreachable)?;
        if resp.ok() {
            wire::parse(&body).as_ref().and_then(wire::checkout).ok_or(PayFailure::Unreachable)
        } else {
            Err(pay_failure(&body))
        }
    }

    /// `GET /v1/public/checkouts/{id}/qr.svg`: the QR code of the live attempt's payment page,
    /// titled in `locale`; `None` when there is none or the network failed (the link stays).
    pub(crate) async fn qr_svg(&self, locale: Locale) -> Option<String> {
        self.get(&format!("/qr.svg?lang={}", locale.code())).await.ok()
    }

    /// Follows the checkout until its status is final, calling `on_update` with every state:
    /// server-sent events first, polling every 3 s when they fail. A stream that worked and
    /// broke (a network change, a proxy's timeout) is caught up with one poll and reopened; a
    /// stream that never worked (blocked) is tried again after a minute of polling. The
    /// customer sees none of it: the last known status stays on screen. Dropping the future
    /// stops it (and closes the event stream).
    pub(crate) async fn watch(&self, on_update: impl Fn(PublicCheckout)) {
        loop {
            let polls = match self.stream(&on_update).await {
                Stream::Final => return,
                Stream::Lost => 1,
                Stream::Blocked => POLLS_BEFORE_SSE_AGAIN,
            };
            for _ in 0..polls {
                if let Ok(c) = self.checkout().await {
                    let done = !is_live(&c);
                    on_update(c);
                    if done {
                        return;
                    }
                }
                sleep(POLL_EVERY).await;
            }
        }
    }

    /// Server-sent events until a final status arrives or the stream fails.
    async fn stream(&self, on_update: &impl Fn(PublicCheckout)) -> Stream {
        let Ok(mut source) = EventSource::new(&self.events_url()) else { return Stream::Blocked };
        let Ok(mut events) = source.subscribe("status") else { return Stream::Blocked };
        let mut first = true;
        loop {
            let next = if first {
                match select(events.next(), pin!(sleep(FIRST_EVENT_WITHIN))).await {
                    Either::Left((next, _)) => next,
                    Either::Right(_) => return Stream::Blocked,
                }
            } else {
                events.next().await
            };
            // An error event or the end of the stream.
            let Some(Ok((_, message))) = next else {
                return if first { Stream::Blocked } else { Stream::Lost };
            };
            first = false;
            let Some(data) = message.data().as_string() else { continue };
            // A body we cannot read is skipped; the next event or poll carries the state.
            let Some(c) = wire::parse(&data).as_ref().and_then(wire::checkout) else { continue };
            let done = !is_live(&c);
            on_update(c);
            if done {
                return Stream::Final;
            }
        }
    }
}

/// How a server-sent event stream ended.
enum Stream {
    /// A final status arrived.
    Final,
    /// It worked, then broke.
    Lost,
    /// It never delivered an event.
    Blocked,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_code_is_an_image_url_with_no_markup_left() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29"><title>Code QR — page</title><path d="M4 4h7v1H4z"/></svg>"#;
        // python3 -c 'from urllib.parse import quote; print(quote(SVG, safe="-._~"))'
        assert_eq!(
            qr_data_url(svg),
            "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%20viewBox%3D%220%200%2029%2029%22%3E%3Ctitle%3ECode%20QR%20%E2%80%94%20page%3C%2Ftitle%3E%3Cpath%20d%3D%22M4%204h7v1H4z%22%2F%3E%3C%2Fsvg%3E"
        );
    }

    use shared::api::ApiErrorCode;
    use shared::catalogue::ErrorCode;

    use super::*;

    const SECRET: &str = "co_abcdefghijklmnopqrstuvwx_secret_0123456789abcdefghijABCDEFGHIJ01";

    #[test]
    fn secrets_give_their_checkout_id() {
        assert_eq!(checkout_id(SECRET), Some("co_abcdefghijklmnopqrstuvwx"));
        for bad in [
            "",
            "co_abc_secret_def",
            "pi_abcdefghijklmnopqrstuvwx_secret_0123456789abcdefghijABCDEFGHIJ01",
            "co_abcdefghijklmnopqrstuvw!_secret_0123456789abcdefghijABCDEFGHIJ01",
            "co_abcdefghijklmnopqrstuvwx_secret_0123456789abcdefghijABCDEFGHIJ0",
            "co_abcdefghijklmnopqrstuvwx_secret_0123456789abcdefghijABCDEFGHIJ01&x=1",
        ] {
            assert_eq!(checkout_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn urls() {
        let c = Client::new("http://127.0.0.1:8080/", SECRET).unwrap();
        assert_eq!(c.checkout_url(), "http://127.0.0.1:8080/v1/public/checkouts/co_abcdefghijklmnopqrstuvwx");
        assert_eq!(c.events_url(), format!("{}/events?client_secret={SECRET}", c.checkout_url()));
        assert_eq!(c.bearer(), format!("Bearer {SECRET}"));
        assert_eq!(encode_query("a b/+é"), "a%20b%2F%2B%C3%A9");
    }

    #[test]
    fn the_pay_body_is_the_json_of_pay_request() {
        use shared::method::{PaymentMethod, Provider};
        for phone in ["+2250707123456", "", "a\"b\\c\n"] {
            let req = PayRequest {
                method: PaymentMethod::MobileMoney,
                phone: phone.into(),
                provider: None,
                otp: None,
            };
            let body = pay_body(&req);
            assert_eq!(serde_json::from_str::<PayRequest>(&body).unwrap(), req);
            if !phone.contains('\n') {
                assert_eq!(body, serde_json::to_string(&req).unwrap());
            }
        }
        let req = PayRequest {
            method: PaymentMethod::OrangeMoney,
            phone: "+2250707123456".into(),
            provider: Some(Provider::NovaSend),
            otp: Some("1234".into()),
        };
        assert_eq!(pay_body(&req), serde_json::to_string(&req).unwrap());
    }

    #[test]
    fn event_details_are_json() {
        use shared::api::PublicAttempt;
        use shared::method::PaymentMethod;
        use shared::status::{AttemptStatus, CheckoutStatus};
        let mut c = crate::wire::checkout(
            &serde_json::json!({"id":"co_1","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"XOF","country":"CI",
                "status":"open","livemode":false,"methods":[],"expires_at":"t"}),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&event_detail(&c)).unwrap(),
            serde_json::json!({"checkoutId":"co_1","status":"open"})
        );
        c.status = CheckoutStatus::Open;
        c.attempt = Some(PublicAttempt {
            id: "at_\"1".into(),
            method: PaymentMethod::MtnMomo,
            status: AttemptStatus::Failed,
            failure: Some(ErrorCode::InsufficientFunds),
            action: None,
            payment_url: None,
            expires_at: None,
            phone: None,
            provider_reference: None,
            finished_at: None,
        });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&event_detail(&c)).unwrap(),
            serde_json::json!({"checkoutId":"co_1","status":"open","attemptId":"at_\"1","method":"mtn_momo",
                "reference":"K7M2-9QXA","failure":"INSUFFICIENT_FUNDS"})
        );
    }

    #[test]
    fn refusals_are_read_from_the_error_body() {
        assert_eq!(
            pay_failure(r#"{"error":{"code":"invalid_phone_number","message":"x","field":"phone"}}"#),
            PayFailure::Api { code: ApiErrorCode::InvalidPhoneNumber, payment_error: None }
        );
        assert_eq!(
            pay_failure(
                r#"{"error":{"code":"payment_failed","message":"x","payment_error":"INSUFFICIENT_FUNDS"}}"#
            ),
            PayFailure::Api {
                code: ApiErrorCode::PaymentFailed,
                payment_error: Some(ErrorCode::InsufficientFunds)
            }
        );
        assert_eq!(pay_failure("<html>502</html>"), PayFailure::Unreachable);
        assert_eq!(load_problem(404), Problem::InvalidLink);
        assert_eq!(load_problem(503), Problem::Unreachable);
        assert_eq!(load_problem(0), Problem::Unreachable);
    }
}

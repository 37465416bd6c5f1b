//! The widget's side of the verifier's public API: load the checkout, ask to pay (or cancel
//! the attempt waiting for the customer), follow the
//! attempt live (server-sent events, falling back to polling every 3 s), and fetch the QR code
//! of the provider's page (an SVG the verifier draws, so the wasm carries no QR encoder), shown
//! as an image ([`qr_data_url`]), never as markup inserted into the merchant's page.
//!
//! Nothing here trusts the network: every failure becomes a [`Problem`] or a [`PayFailure`],
//! never a panic. The pure parts (secret parsing, URLs, error mapping) are tested natively.

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::future::{Either, select};
use shared::api::{PayRequest, PublicCheckout};
use shared::locale::Locale;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::js_sys::{Object, Reflect};
use web_sys::{EventSource, MessageEvent, RequestCache, RequestInit, Response};
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
    // By position (the form has a fixed length): a substring search would bring the two-way
    // string searcher into the download.
    let (id, key) = (secret.get(..27)?, secret.get(27..)?);
    let alnum = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let key = key.strip_prefix("_secret_")?;
    (alnum(id.strip_prefix("co_")?, 24) && alnum(key, 32)).then_some(id)
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters are kept).
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            // By hand: `format!("%{b:02X}")` would bring the hexadecimal formatter.
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// The QR code's SVG text as a `data:` URL for an `<img>`: as an image it runs no script and
/// styles nothing of the page around it, whatever the text holds. Percent-encoded with
/// [`encode_query`] (already in the wasm) rather than base64.
pub(crate) fn qr_data_url(svg: &str) -> String {
    crate::cat(&["data:image/svg+xml,", encode_query(svg).as_str()])
}

/// Writes `s` as a JSON string literal.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                // `\u00XX`, by hand (no hexadecimal formatter in the download).
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
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
        for (key, value) in [
            (",\"attemptId\":", a.id.as_str()),
            (",\"method\":", a.method.as_str()),
            (",\"reference\":", &c.short_reference),
        ] {
            out.push_str(key);
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
            api: {
                let mut api = api_base;
                while let Some(shorter) = api.strip_suffix('/') {
                    api = shorter;
                }
                api.to_owned()
            },
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    fn checkout_url(&self) -> String {
        crate::cat(&[self.api.as_str(), "/v1/public/checkouts/", self.id.as_str()])
    }

    fn events_url(&self) -> String {
        crate::cat(&[
            self.checkout_url().as_str(),
            "/events?client_secret=",
            encode_query(&self.secret).as_str(),
        ])
    }

    fn bearer(&self) -> String {
        crate::cat(&["Bearer ", self.secret.as_str()])
    }

    /// The browser's `fetch` of `/v1/public/checkouts/{id}{path}` with the client secret: a
    /// `GET` (never from the HTTP cache), or with a JSON `body` a `POST`. The status and the
    /// body's text; `None` when no answer came (network, CORS). Called through web-sys
    /// directly: an HTTP client crate's request builder, URL handling and error types cost the
    /// customer's download more than these lines.
    async fn fetch(&self, path: &str, body: Option<String>) -> Option<(u16, String)> {
        let init = RequestInit::new();
        let headers = Object::new();
        let set = |key: &str, value: &str| Reflect::set(&headers, &key.into(), &value.into());
        set("Authorization", &self.bearer()).ok()?;
        match body {
            Some(body) => {
                init.set_method("POST");
                set("Content-Type", "application/json").ok()?;
                init.set_body(&JsValue::from(body));
            }
            None => init.set_cache(RequestCache::NoStore),
        }
        init.set_headers(&headers);
        let url = crate::cat(&[self.checkout_url().as_str(), path]);
        let answer = JsFuture::from(web_sys::window()?.fetch_with_str_and_init(&url, &init)).await.ok()?;
        // `fetch` resolves to a `Response` (https://fetch.spec.whatwg.org/#fetch-method).
        let response: Response = answer.unchecked_into();
        let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
        Some((response.status(), text))
    }

    /// `GET /v1/public/checkouts/{id}{path}` with the client secret: the body, or the status
    /// of a refusal (0 when the verifier could not be reached).
    async fn get(&self, path: &str) -> Result<String, u16> {
        match self.fetch(path, None).await {
            Some((200..=299, text)) => Ok(text),
            Some((status, _)) => Err(status),
            None => Err(0),
        }
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
        match self.fetch(path, Some(body)).await {
            Some((200..=299, text)) => {
                wire::parse(&text).as_ref().and_then(wire::checkout).ok_or(PayFailure::Unreachable)
            }
            Some((_, text)) => Err(pay_failure(&text)),
            None => Err(PayFailure::Unreachable),
        }
    }

    /// `GET /v1/public/checkouts/{id}/qr.svg`: the QR code of the live attempt's payment page,
    /// titled in `locale`; `None` when there is none or the network failed (the link stays).
    pub(crate) async fn qr_svg(&self, locale: Locale) -> Option<String> {
        self.get(&crate::cat(&["/qr.svg?lang=", locale.code()])).await.ok()
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
        let Some(events) = Events::open(&self.events_url()) else { return Stream::Blocked };
        let mut first = true;
        loop {
            let next = if first {
                match select(pin!(events.next()), pin!(sleep(FIRST_EVENT_WITHIN))).await {
                    Either::Left((next, _)) => next,
                    Either::Right(_) => return Stream::Blocked,
                }
            } else {
                events.next().await
            };
            // An error event: the stream broke, or never opened.
            let Some(data) = next else {
                return if first { Stream::Blocked } else { Stream::Lost };
            };
            first = false;
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

/// What an [`Events`] stream's listeners leave for [`Events::next`].
#[derive(Debug, Default)]
struct Inbox {
    /// The latest `status` event's data not yet read: each event is the whole public view,
    /// so an unread one is replaced by the newer.
    data: Option<String>,
    /// An `error` event came: the stream broke (the browser would retry in silence).
    failed: bool,
    /// The task waiting in [`Events::next`].
    waker: Option<Waker>,
}

/// The verifier's server-sent events (`status` events) through the browser's `EventSource`
/// (https://html.spec.whatwg.org/multipage/server-sent-events.html), called through web-sys:
/// a stream crate's channel and error types would cost the download more than these lines.
/// Dropping it closes the stream.
#[derive(Debug)]
struct Events {
    source: EventSource,
    inbox: Rc<RefCell<Inbox>>,
    /// The `status` listener, alive as long as the source may call it.
    _on_status: Closure<dyn FnMut(MessageEvent)>,
    /// The `error` listener, likewise.
    _on_error: Closure<dyn FnMut()>,
}

impl Events {
    /// Opens the stream at `url`; `None` if the browser refuses to.
    fn open(url: &str) -> Option<Events> {
        let source = EventSource::new(url).ok()?;
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        // Records what came and wakes the reader (after the borrow ends).
        let deliver = |inbox: &Rc<RefCell<Inbox>>, data: Option<String>| {
            let waker = {
                let mut inbox = inbox.borrow_mut();
                match data {
                    Some(data) => inbox.data = Some(data),
                    None => inbox.failed = true,
                }
                inbox.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        let on_status = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Some(data) = e.data().as_string() {
                    deliver(&inbox, Some(data));
                }
            })
        };
        let on_error = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut()>::new(move || deliver(&inbox, None))
        };
        source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref()).ok()?;
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Events { source, inbox, _on_status: on_status, _on_error: on_error })
    }

    /// The next `status` event's data; `None` once the stream failed.
    async fn next(&self) -> Option<String> {
        std::future::poll_fn(|cx| {
            let mut inbox = self.inbox.borrow_mut();
            if let Some(data) = inbox.data.take() {
                return Poll::Ready(Some(data));
            }
            if inbox.failed {
                return Poll::Ready(None);
            }
            inbox.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.source.close();
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
            provider: shared::method::Provider::NovaSend,
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

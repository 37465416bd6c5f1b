//! The verifier's HTTP edge over real TCP (`server/src/serve.rs`, the layers of
//! `server/src/routes/mod.rs`, the SSE handler of `routes/public.rs`): a client that sends its
//! headers a byte at a time is cut at the header-read timeout; at the connection cap the next
//! connection is served only once one closes; a request over the concurrency cap or over its
//! time gets the API's JSON `503` with `Retry-After`, one whose body stalls a `400`; SSE streams end at their maximum lifetime,
//! are capped per checkout, and are not cut by the request timeout; CORS answers only the
//! configured shop origins; and the security headers are on the assets and pages.

use std::time::Duration;

use e2e::{Options, TestApp};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header;
use serde_json::{Value, json};
use shared::{api::Checkout, status::CheckoutStatus};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
};

/// The longest wait for anything the test expects to happen.
const WAIT: Duration = Duration::from_secs(10);

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

fn addr(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_owned()
}

/// Sends a `GET /healthz` on `stream` and reads its whole answer (its body is
/// `{"status":"ok"}`).
async fn healthz(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: verifier\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\n{\"status\":\"ok\"}") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the answer: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_sending_its_headers_a_byte_at_a_time_is_cut_at_the_header_timeout() {
    let app = TestApp::spawn_with(Options { header_read_timeout_ms: 500, ..Options::default() }).await;
    let stream = TcpStream::connect(addr(&app)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    // One byte every 50 ms, never ending the head, as long as the server takes them.
    let slow = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: verifier\r\nX-Slow: ".iter().copied();
        for byte in head.chain(std::iter::repeat(b'a')) {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut got = Vec::new();
    let closed = timeout(WAIT, read.read_to_end(&mut got)).await;
    let elapsed = started.elapsed();
    assert!(closed.is_ok(), "the connection was still open after {WAIT:?}");
    assert!(elapsed >= Duration::from_millis(450), "closed before the timeout: {elapsed:?}");
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"), "{}", String::from_utf8_lossy(&got));
    slow.abort();

    // A client that sends its head in time is served.
    let mut prompt = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(healthz(&mut prompt).await.starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_connection_cap_the_next_connection_is_served_once_one_closes() {
    let app = TestApp::spawn_with(Options { max_connections: 2, ..Options::default() }).await;
    // Two keep-alive connections, each served once: both are held open.
    let mut first = TcpStream::connect(addr(&app)).await.unwrap();
    let mut second = TcpStream::connect(addr(&app)).await.unwrap();
    healthz(&mut first).await;
    healthz(&mut second).await;

    // The third is connected by the kernel but not accepted: its request gets no answer.
    let mut third = TcpStream::connect(addr(&app)).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: verifier\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    assert!(
        timeout(Duration::from_millis(700), third.read(&mut buf)).await.is_err(),
        "the connection over the cap was served"
    );
    // One closes: the third is accepted and answered.
    drop(first);
    let answered = timeout(WAIT, async {
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n\r\n{\"status\":\"ok\"}") {
            let n = third.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the answer");
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    })
    .await
    .expect("served once a connection closed");
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");
    // The second is still served on its connection.
    assert!(healthz(&mut second).await.starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_that_stalls_is_refused_at_the_body_timeout_and_pays_nothing() {
    let app = TestApp::spawn_with(Options { body_read_timeout_ms: 500, ..Options::default() }).await;
    let c = app.create_checkout(5000).await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    // A payment request announcing 200 bytes of body, sending 10, then nothing.
    let head = format!(
        "POST /v1/public/checkouts/{}/pay HTTP/1.1\r\nHost: verifier\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"method\":",
        c.id,
        secret(&c)
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    timeout(WAIT, async {
        while !got.ends_with(b"}}") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("answered within the wait");
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&got);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""code":"invalid_request""#), "{answer}");
    assert!(elapsed >= Duration::from_millis(450), "answered before the body timeout: {elapsed:?}");
    assert!(app.merchant_checkout(&c.id).await.attempts.is_empty(), "nothing was paid");
}

/// Pays `c` with NovaSend's confirming test number; the answer.
async fn pay(app: &TestApp, c: &Checkout) -> (u16, Value) {
    app.pay_raw(&c.id, &secret(c), json!({"method": "mobile_money", "phone": "07 00 00 00 01"})).await
}

/// The API's JSON `503 unavailable` with `Retry-After`.
fn assert_unavailable(status: u16, retry_after: Option<&header::HeaderValue>, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let retry: u64 = retry_after.expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_its_time_gets_the_json_503_and_its_work_goes_on() {
    let app = TestApp::spawn_with(Options { request_timeout_ms: 500, ..Options::default() }).await;
    let c = app.create_checkout(5000).await;
    // The provider takes 3 s to answer the payment request.
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": [{"hang": 3000}]})).await;
    let started = Instant::now();
    let r = app
        .http
        .post(format!("{}/v1/public/checkouts/{}/pay", app.url, c.id))
        .bearer_auth(secret(&c))
        .json(&json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
        .send()
        .await
        .unwrap();
    let (status, retry) = (r.status().as_u16(), r.headers().get(header::RETRY_AFTER).cloned());
    let body: Value = r.json().await.unwrap();
    assert_unavailable(status, retry.as_ref(), &body);
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    // The payment request the client stopped waiting for was still made and recorded.
    let recorded = app.wait_for(&c.id, WAIT, |c| !c.attempts.is_empty()).await;
    assert_eq!(recorded.attempts.len(), 1, "{recorded:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_concurrency_cap_is_shed_with_the_json_503() {
    let app = TestApp::spawn_with(Options { max_concurrent_requests: 1, ..Options::default() }).await;
    let c = app.create_checkout(5000).await;
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": [{"hang": 3000}]})).await;
    let (before, _) = app.sandbox_requests(&app.novasend_url).await;
    // A payment holds the only request slot while the provider hangs.
    let paying = {
        let (url, secret, http) = (app.url.clone(), secret(&c), app.http.clone());
        let id = c.id.clone();
        tokio::spawn(async move {
            http.post(format!("{url}/v1/public/checkouts/{id}/pay"))
                .bearer_auth(secret)
                .json(&json!({"method": "mobile_money", "phone": "07 00 00 00 01"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let deadline = Instant::now() + WAIT;
    while app.sandbox_requests(&app.novasend_url).await.0 == before {
        assert!(Instant::now() < deadline, "the payment never reached the provider");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = app.http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    let (status, retry) = (r.status().as_u16(), r.headers().get(header::RETRY_AFTER).cloned());
    let body: Value = r.json().await.unwrap();
    assert_unavailable(status, retry.as_ref(), &body);
    // Once the payment is answered, the slot is free again.
    assert_eq!(paying.await.unwrap(), 200);
    let r = app.http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn open_stream(app: &TestApp, c: &Checkout) -> reqwest::Response {
    app.http
        .get(format!("{}/v1/public/checkouts/{}/events", app.url, c.id))
        .query(&[("client_secret", &secret(c))])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_over_the_per_checkout_cap_is_refused_with_the_json_503() {
    let app = TestApp::spawn_with(Options { sse_per_checkout: 2, ..Options::default() }).await;
    let c = app.create_checkout(5000).await;
    let other = app.create_checkout(6000).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = open_stream(&app, &c).await;
        assert_eq!(r.status(), 200);
        let mut events = r.bytes_stream().eventsource();
        let first = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(first.event, "status");
        open.push(events);
    }
    let refused = open_stream(&app, &c).await;
    let (status, retry) = (refused.status().as_u16(), refused.headers().get(header::RETRY_AFTER).cloned());
    let body: Value = refused.json().await.unwrap();
    assert_unavailable(status, retry.as_ref(), &body);
    assert!(body["error"]["message"].as_str().unwrap().contains("this checkout"), "{body}");
    // The cap is per checkout: another checkout's stream opens.
    assert_eq!(open_stream(&app, &other).await.status(), 200);
    // And the streams held keep working: they get the payment.
    assert_eq!(pay(&app, &c).await.0, 200);
    for events in &mut open {
        let deadline = Instant::now() + WAIT;
        loop {
            let event = timeout(deadline - Instant::now(), events.next()).await.unwrap().unwrap().unwrap();
            let status: Value = serde_json::from_str(&event.data).unwrap();
            if status["status"] == "succeeded" {
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_ends_at_its_maximum_lifetime_and_is_not_cut_by_the_request_timeout() {
    // Requests must have their head within 800 ms; streams live 3 s.
    let app = TestApp::spawn_with(Options {
        request_timeout_ms: 800,
        sse_max_lifetime_s: 3,
        confirm_delay_ms: 2_000,
        ..Options::default()
    })
    .await;
    let c = app.create_checkout(5000).await;
    let paid_later = app.create_checkout(5000).await;

    // A stream on a checkout nobody pays: its first status, then its end, about 3 s after.
    let opened = Instant::now();
    let r = open_stream(&app, &c).await;
    assert_eq!(r.status(), 200);
    let mut events = r.bytes_stream().eventsource();
    let first = timeout(WAIT, events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&first.data).unwrap()["status"], "open");
    let end = timeout(WAIT, events.next()).await.expect("the stream ended within the wait");
    assert!(end.is_none(), "nothing but its end: {end:?}");
    let lived = opened.elapsed();
    assert!(lived >= Duration::from_millis(2_900) && lived < Duration::from_secs(8), "{lived:?}");

    // A stream whose payment is confirmed after 2 s, past the 800 ms request timeout, gets it.
    let r = open_stream(&app, &paid_later).await;
    let mut events = r.bytes_stream().eventsource();
    let opened = Instant::now();
    assert_eq!(pay(&app, &paid_later).await.0, 200);
    let mut last = Value::Null;
    while last["status"] != "succeeded" {
        let event = timeout(WAIT, events.next()).await.unwrap().expect("the stream is open").unwrap();
        last = serde_json::from_str(&event.data).unwrap();
    }
    assert!(opened.elapsed() > Duration::from_millis(800));
    assert_eq!(
        app.merchant_checkout(&paid_later.id).await.status,
        CheckoutStatus::Succeeded,
        "the stream told the truth"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_answers_only_the_configured_shop_origins() {
    const SHOP: &str = "https://shop.example";
    let app = TestApp::spawn_with(Options { allowed_origins: vec![SHOP.into()], ..Options::default() }).await;
    let c = app.create_checkout(5000).await;
    let read = |origin: &'static str| {
        app.http
            .get(format!("{}/v1/public/checkouts/{}", app.url, c.id))
            .bearer_auth(secret(&c))
            .header(header::ORIGIN, origin)
            .send()
    };
    let allowed = read(SHOP).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], SHOP);
    let other = read("https://evil.example").await.unwrap();
    assert!(other.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{:?}", other.headers());

    // The browser's preflight of `pay` (it sends Authorization and a JSON body).
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/public/checkouts/{}/pay", app.url, c.id))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type")
            .send()
    };
    let allowed = preflight(SHOP).await.unwrap();
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], SHOP);
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{:?}", other.headers());

    // The widget's files are public: any page may load them.
    let asset = app
        .http
        .get(format!("{}/widget/checkout.js", app.url))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    // Only the configured shop may frame the embed page.
    let embed = app.http.get(format!("{}/embed", app.url)).send().await.unwrap();
    let csp = embed.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.ends_with(&format!("frame-ancestors {SHOP}")), "{csp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_configured_origins_no_cross_origin_call_is_allowed() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let r = app
        .http
        .get(format!("{}/v1/public/checkouts/{}", app.url, c.id))
        .bearer_auth(secret(&c))
        .header(header::ORIGIN, "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{:?}", r.headers());
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_pages_and_answers_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let get = |path: String| app.http.get(format!("{}{path}", app.url)).bearer_auth(secret(&c)).send();
    for path in [
        "/widget/checkout.js".to_owned(),
        "/widget/no-such-file.js".to_owned(),
        "/returned".to_owned(),
        format!("/v1/public/checkouts/{}", c.id),
        "/healthz".to_owned(),
        "/embed".to_owned(),
    ] {
        let r = get(path.clone()).await.unwrap();
        let h = r.headers();
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY), "{path}");
        // Served over plain HTTP: no HSTS (it is sent only when public_url is https).
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY), "{path}");
    }
    let returned = get("/returned".to_owned()).await.unwrap();
    let csp = returned.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(returned.text().await.unwrap().contains("style="), "the page has inline styles");
    assert_eq!(csp, "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    // A route's own CSP is kept (the embed page's loads the widget).
    let embed = get("/embed".to_owned()).await.unwrap();
    assert_eq!(embed.headers()[header::CONTENT_SECURITY_POLICY], server::routes::hosted::EMBED_CSP);
}

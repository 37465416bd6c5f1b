//! The merchant API's list, cancellation and refund read over real HTTP, on checkouts paid
//! through the sandboxes; and the one JSON error shape (`shared::api::ApiError`) on every
//! surface: merchant, public, webhooks, an unknown route, a wrong method.

use std::time::Duration;

use e2e::{MERCHANT_KEY, TestApp};
use serde_json::{Value, json};
use shared::{
    api::{ApiError, ApiErrorCode, Checkout, CheckoutList},
    method::{PaymentMethod, Provider},
    status::{AttemptStatus, CheckoutStatus},
};

const WAIT: Duration = Duration::from_secs(15);

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

/// Sends `request` with the merchant key; the status and the JSON body.
async fn merchant(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.bearer_auth(MERCHANT_KEY).send().await.expect("verifier reachable");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET /v1/checkouts` with `query`.
async fn list_raw(app: &TestApp, query: &[(&str, &str)]) -> (u16, Value) {
    merchant(app.http.get(format!("{}/v1/checkouts", app.url)).query(query)).await
}

/// The ids a filter lists (one page of up to 100).
async fn ids(app: &TestApp, query: &[(&str, &str)]) -> Vec<String> {
    let (status, body) = list_raw(app, query).await;
    assert_eq!(status, 200, "{query:?}: {body}");
    let page: CheckoutList = serde_json::from_value(body).expect("a page");
    page.data.into_iter().map(|c| c.id).collect()
}

/// Pays `c` through `provider` with `method` and `phone`, and waits for the merchant API to
/// say it succeeded.
async fn pay(app: &TestApp, c: &Checkout, provider: &str, method: &str, phone: &str) {
    let body = json!({"provider": provider, "method": method, "phone": phone});
    let (status, answer) = app.pay_raw(&c.id, &secret(c), body).await;
    assert_eq!(status, 200, "{answer}");
    let done = app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    assert_eq!(done.status, CheckoutStatus::Succeeded, "{done:?}");
}

/// The error of an answer, read as the one shape every error has.
async fn error_of(r: reqwest::Response) -> (u16, ApiError) {
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = r.text().await.unwrap();
    assert!(kind.starts_with("application/json"), "{status} answered {kind:?}: {text}");
    let error: ApiError = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
    assert!(!error.error.message.is_empty(), "{text}");
    (status, error)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_and_pages_real_payments() {
    let app = TestApp::spawn().await;
    // Oldest first: paid by NovaSend, paid by CaurisFlux (MTN), one still open.
    let by_novasend = app.create_checkout(5000).await;
    pay(&app, &by_novasend, "nova_send", "mobile_money", "07 00 00 00 01").await;
    let by_cauris = app.create_checkout(3000).await;
    pay(&app, &by_cauris, "cauris_flux", "mtn_momo", "05 00 00 00 01").await;
    let open = app.create_checkout(1000).await;

    let (status, body) = list_raw(&app, &[]).await;
    assert_eq!(status, 200, "{body}");
    let page: CheckoutList = serde_json::from_value(body).unwrap();
    let all: Vec<_> = page.data.iter().map(|c| c.id.clone()).collect();
    // Created in one second, they are ordered by id among themselves: compare as sets, and
    // check the order by creation time.
    let mut sorted = all.clone();
    sorted.sort();
    let mut expected = vec![by_novasend.id.clone(), by_cauris.id.clone(), open.id.clone()];
    expected.sort();
    assert_eq!(sorted, expected);
    assert!(page.data.windows(2).all(|w| w[0].created_at >= w[1].created_at), "newest first");
    assert!(!page.has_more);
    assert_eq!(page.next_cursor, None);
    let paid = page.data.iter().find(|c| c.id == by_cauris.id).unwrap();
    let latest = paid.latest_attempt.as_ref().expect("its attempt");
    assert_eq!(
        (latest.provider, latest.method, latest.status),
        (Provider::CaurisFlux, PaymentMethod::MtnMomo, AttemptStatus::Succeeded)
    );
    assert_eq!(latest.phone.as_deref(), Some("+2250500000001"));
    assert_eq!((paid.amount, paid.reference.as_str()), (3000, by_cauris.reference.as_str()));
    assert!(page.data.iter().find(|c| c.id == open.id).unwrap().latest_attempt.is_none());

    let only = |c: &Checkout| vec![c.id.clone()];
    assert_eq!(ids(&app, &[("status", "open")]).await, only(&open));
    assert_eq!(ids(&app, &[("status", "refunded")]).await, Vec::<String>::new());
    assert_eq!(ids(&app, &[("provider", "cauris_flux")]).await, only(&by_cauris));
    assert_eq!(ids(&app, &[("provider", "nova_send")]).await, only(&by_novasend));
    assert_eq!(ids(&app, &[("method", "mtn_momo")]).await, only(&by_cauris));
    assert_eq!(ids(&app, &[("method", "card")]).await, Vec::<String>::new());
    assert_eq!(ids(&app, &[("reference", &by_novasend.reference)]).await, only(&by_novasend));
    // The number as the customer typed it, or international.
    assert_eq!(ids(&app, &[("phone", "07 00 00 00 01")]).await, only(&by_novasend));
    assert_eq!(ids(&app, &[("phone", "+2250500000001")]).await, only(&by_cauris));
    assert_eq!(ids(&app, &[("phone", "0500000001"), ("country", "CI")]).await, only(&by_cauris));
    assert_eq!(ids(&app, &[("status", "succeeded"), ("provider", "nova_send")]).await, only(&by_novasend));
    assert_eq!(ids(&app, &[("created_from", "2100-01-01T00:00:00Z")]).await, Vec::<String>::new());
    assert_eq!(ids(&app, &[("created_before", "2000-01-01T00:00:00Z")]).await, Vec::<String>::new());
    let mut within =
        ids(&app, &[("created_from", "2000-01-01T00:00:00Z"), ("created_before", "2100-01-01T00:00:00Z")])
            .await;
    within.sort();
    assert_eq!(within, expected);

    // A page at a time: every checkout once, in the first page's order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..4 {
        let mut query = vec![("limit", "1".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = list_raw(&app, &query).await;
        assert_eq!(status, 200, "{body}");
        let page: CheckoutList = serde_json::from_value(body).unwrap();
        assert_eq!(page.data.len(), 1);
        walked.push(page.data[0].id.clone());
        assert_eq!(page.has_more, page.next_cursor.is_some());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, all);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for (name, value) in [
        ("status", "paid"),
        ("provider", "stripe"),
        ("method", "cash"),
        ("created_from", "yesterday"),
        ("phone", "12"),
        ("cursor", "not-a-cursor"),
        ("limit", "0"),
        ("limit", "101"),
    ] {
        let (status, body) = list_raw(&app, &[(name, value)]).await;
        assert_eq!(status, 400, "{name}={value}: {body}");
        let error: ApiError = serde_json::from_value(body).unwrap();
        assert_eq!(
            (error.error.code, error.error.field.as_deref()),
            (ApiErrorCode::InvalidRequest, Some(name))
        );
    }
    let (status, body) = list_raw(&app, &[("statut", "open")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("statut"), "{body}");
    let r = app.http.get(format!("{}/v1/checkouts", app.url)).send().await.unwrap();
    let (status, error) = error_of(r).await;
    assert_eq!((status, error.error.code), (401, ApiErrorCode::Unauthorized));
}

/// `POST /v1/checkouts/{id}/cancel`.
async fn cancel(app: &TestApp, id: &str) -> (u16, Value) {
    merchant(app.http.post(format!("{}/v1/checkouts/{id}/cancel", app.url))).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_checkout_is_cancelled_and_then_refuses_payment() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let (status, body) = cancel(&app, &c.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "cancelled");
    // Again: the same answer, nothing more happens.
    let (status, again) = cancel(&app, &c.id).await;
    assert_eq!((status, &again["status"]), (200, &json!("cancelled")), "{again}");
    let events: Vec<String> = app
        .merchant_events(&c.id)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(events, ["checkout.cancelled"], "one event");
    let history = app.history(&c.id).await;
    let last = history.last().unwrap();
    assert_eq!(
        (&last["from"], &last["to"], &last["cause"]),
        (&json!("open"), &json!("cancelled"), &json!("api:cancel"))
    );

    // The widget's API refuses to pay it, and nothing reaches a provider.
    let (status, body) =
        app.pay_raw(&c.id, &secret(&c), json!({"method": "mobile_money", "phone": "0700000001"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(app.sandbox_payins().await.unwrap().is_empty(), "nothing reached the provider");
    let public = app.public_checkout(&c.id, &secret(&c)).await;
    assert_eq!(public.status, CheckoutStatus::Cancelled);
    assert_eq!(app.merchant_checkout(&c.id).await.attempts.len(), 0);

    let (status, body) = cancel(&app, "co_nope").await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_or_paying_checkout_is_not_cancelled() {
    let app = TestApp::spawn().await;
    let paid = app.paid_checkout(5000).await;
    let (status, body) = cancel(&app, &paid.id).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(app.merchant_checkout(&paid.id).await.status, CheckoutStatus::Succeeded);

    // A customer confirming at this moment (a number the sandbox leaves waiting): refused.
    let paying = app.create_checkout(5000).await;
    let (status, body) = app
        .pay_raw(&paying.id, &secret(&paying), json!({"method": "mobile_money", "phone": "0700000077"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = cancel(&app, &paying.id).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("under way"), "{body}");
    let read = app.merchant_checkout(&paying.id).await;
    assert_eq!(read.status, CheckoutStatus::Processing);
    assert!(read.attempts[0].status.is_pending());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_is_read_by_its_id() {
    let app = TestApp::spawn().await;
    let paid = app.paid_checkout(5000).await;
    let refunds = format!("{}/v1/checkouts/{}/refunds", app.url, paid.id);
    let (status, made) =
        merchant(app.http.post(refunds).json(&json!({"amount": 2000, "reason": "one item back"}))).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let (status, read) = merchant(app.http.get(format!("{}/v1/refunds/{id}", app.url))).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, made);
    assert_eq!((read["amount"].as_u64(), read["checkout_id"].as_str()), (Some(2000), Some(paid.id.as_str())));

    let missing = app
        .http
        .get(format!("{}/v1/refunds/rf_nope", app.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(missing).await;
    assert_eq!((status, error.error.code), (404, ApiErrorCode::NotFound));
    let anonymous = app.http.get(format!("{}/v1/refunds/{id}", app.url)).send().await.unwrap();
    let (status, error) = error_of(anonymous).await;
    assert_eq!((status, error.error.code), (401, ApiErrorCode::Unauthorized));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_surface_answers_errors_in_one_json_shape() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(5000).await;
    let url = |path: &str| format!("{}{path}", app.url);
    let http = &app.http;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, ApiErrorCode)> = vec![
        // Merchant API.
        (
            "unknown checkout",
            http.get(url("/v1/checkouts/co_nope")).bearer_auth(MERCHANT_KEY),
            404,
            ApiErrorCode::NotFound,
        ),
        (
            "body not JSON",
            http.post(url("/v1/checkouts"))
                .bearer_auth(MERCHANT_KEY)
                .header("content-type", "application/json")
                .body("{"),
            400,
            ApiErrorCode::InvalidRequest,
        ),
        (
            "body without its content type",
            http.post(url("/v1/checkouts")).bearer_auth(MERCHANT_KEY).body("{}"),
            400,
            ApiErrorCode::InvalidRequest,
        ),
        (
            "path not UTF-8",
            http.get(url("/v1/checkouts/%FF%FE")).bearer_auth(MERCHANT_KEY),
            400,
            ApiErrorCode::InvalidRequest,
        ),
        ("no key", http.get(url(&format!("/v1/checkouts/{}", c.id))), 401, ApiErrorCode::Unauthorized),
        (
            "bad query",
            http.get(url("/v1/checkouts?limit=x")).bearer_auth(MERCHANT_KEY),
            400,
            ApiErrorCode::InvalidRequest,
        ),
        // Public API.
        (
            "no client secret",
            http.get(url(&format!("/v1/public/checkouts/{}", c.id))),
            401,
            ApiErrorCode::Unauthorized,
        ),
        (
            "pay with a bad body",
            http.post(url(&format!("/v1/public/checkouts/{}/pay", c.id)))
                .bearer_auth(secret(&c))
                .json(&json!({"method": "carrier_pigeon"})),
            400,
            ApiErrorCode::InvalidRequest,
        ),
        // Webhooks.
        ("unknown provider", http.post(url("/webhooks/paypal")).body("{}"), 404, ApiErrorCode::NotFound),
        (
            "forged notification",
            http.post(url("/webhooks/nova_send"))
                .header("content-type", "application/json")
                .body(r#"{"event":"payin.confirmed"}"#),
            401,
            ApiErrorCode::Unauthorized,
        ),
        (
            "notification over the size limit",
            http.post(url("/webhooks/nova_send")).body(vec![b' '; 100 * 1024]),
            413,
            ApiErrorCode::InvalidRequest,
        ),
        // No route, wrong method.
        ("unknown route", http.get(url("/v2/nothing")), 404, ApiErrorCode::NotFound),
        (
            "wrong method",
            http.delete(url("/v1/checkouts")).bearer_auth(MERCHANT_KEY),
            405,
            ApiErrorCode::MethodNotAllowed,
        ),
        ("webhook read", http.get(url("/webhooks/nova_send")), 405, ApiErrorCode::MethodNotAllowed),
    ];
    for (what, request, status, code) in cases {
        let r = request.send().await.unwrap();
        let allow = r.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
        let (got, error) = error_of(r).await;
        assert_eq!((got, error.error.code), (status, code), "{what}: {error:?}");
        if status == 405 {
            assert!(allow.is_some_and(|a| a.contains("POST")), "{what}: the Allow header says what it takes");
        }
    }
}

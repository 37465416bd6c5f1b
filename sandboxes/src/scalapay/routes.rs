//! Scalapay's API routes: orders, payment details and references, capture, delay, void,
//! refund, and the sandbox's own list of orders.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    answers::*,
    euros::Cents,
    validate::*,
    webhooks::*,
    wire::{
        self, Amount, CaptureRequest, CaptureResponse, CaptureStatus, DelayRequest, DelayResponse,
        OrderCreated, OrderDetails, OrderRequest, OrderStatus, Payment, ReferenceMatch, RefundRequest,
        RefundResponse, UpdateOrderRequest, UpdateOrderResponse, VoidRequest, VoidResponse,
    },
    *,
};

pub(super) async fn create_order(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let total = match check_order(&value, inner.config.order_expiry_ms) {
        Ok(t) => t,
        Err(errors) => return validation_error(errors),
    };
    if total.0 > inner.config.max_order_amount_minor {
        return text_error(
            StatusCode::BAD_REQUEST,
            "order_amount_exceeds_maximum_limit",
            "The order amount exceeds the maximum limit allowed for the merchant.",
        );
    }
    let request: OrderRequest = match serde_json::from_value(value.clone()) {
        Ok(r) => r,
        Err(e) => {
            return validation_error(vec![field_error(&[], "body", e.to_string(), "object.base")]);
        }
    };
    let key = idempotency_key(&headers);
    let (created, hook, expires_at) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), "POST /v2/orders", &value) {
            return resp;
        }
        let created_at = now();
        let expiry = request.order_expiry_milliseconds.unwrap_or(inner.config.order_expiry_ms);
        let expires_at = created_at + Duration::from_millis(expiry);
        let token = new_token();
        book.next_seq += 1;
        let order = Order {
            token: token.clone(),
            seq: book.next_seq,
            created: created_at,
            request,
            total,
            status: OrderStatus::Created,
            capture_status: CaptureStatus::Pending,
            feedback: None,
            captured_minor: 0,
            refunded_minor: 0,
            expires_at,
            authorization_expiry_at: None,
            processor_reference: None,
        };
        let created = OrderCreated {
            token: token.clone(),
            expires: Some(stamp(expires_at)),
            checkout_url: Some(format!("{}/checkout/{token}", inner.base_url)),
        };
        let reply = to_json(&created);
        remember(&mut book, key, "POST /v2/orders".into(), value, &reply);
        let hook = order.webhook(OrderStatus::Created, true);
        book.orders.insert(token, order);
        (created, hook, expires_at)
    };
    schedule(&inner, created.token.clone(), expires_at, Deadline::Order);
    send_webhook(&inner, hook);
    (StatusCode::OK, Json(created)).into_response()
}

pub(super) async fn details(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    match lock(&inner).orders.get(&token) {
        Some(o) => {
            let mut view = o.view();
            view.total_amount = view.total_amount.map(|a| misreported(&inner, &token, a));
            if let Some(d) = view.order_details.as_mut() {
                misreport_details(&inner, &token, d);
            }
            Json(view).into_response()
        }
        None => not_found(&token),
    }
}

/// The `report_other_amount` and `report_other_currency` modes: Scalapay reporting another
/// total than the order's.
fn misreported(inner: &Inner, token: &str, mut a: Amount) -> Amount {
    if inner.misbehave.has(token, &crate::misbehave::Misbehaviour::ReportOtherCurrency) {
        a.currency = "USD".into();
    }
    if inner.misbehave.has(token, &crate::misbehave::Misbehaviour::ReportOtherAmount) {
        // One cent less; an amount that does not read (or reads zero) is left as it is.
        if let Ok(Cents(cents @ 1..)) = Cents::parse(&a.amount) {
            a.amount = Cents(cents - 1).to_decimal();
        }
    }
    a
}

/// The `report_other_*` modes on the order details Scalapay reports.
fn misreport_details(inner: &Inner, token: &str, d: &mut OrderDetails) {
    d.total_amount = d.total_amount.take().map(|a| misreported(inner, token, a));
    if inner.misbehave.has(token, &crate::misbehave::Misbehaviour::ReportOtherReference) {
        d.merchant_reference = d.merchant_reference.take().map(|r| format!("{r}-other"));
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReferenceQuery {
    order_token: Option<String>,
    merchant_order_reference: Option<String>,
    merchant_processor_reference: Option<String>,
}

pub(super) async fn references(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ReferenceQuery>,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (token, reference, processor) =
        (given(&q.order_token), given(&q.merchant_order_reference), given(&q.merchant_processor_reference));
    if token.is_none() && reference.is_none() && processor.is_none() {
        return validation_error(vec![field_error(
            &[],
            "query",
            "\"value\" must contain at least one of [orderToken, merchantOrderReference, merchantProcessorReference]"
                .into(),
            "object.missing",
        )]);
    }
    let book = lock(&inner);
    let mut found: Vec<&Order> = book
        .orders
        .values()
        .filter(|o| token.as_ref().is_none_or(|t| *t == o.token))
        .filter(|o| reference.is_none() || o.request.merchant_reference == reference)
        .filter(|o| processor.is_none() || o.processor_reference == processor)
        .collect();
    found.sort_by_key(|o| std::cmp::Reverse(o.seq));
    let rows: Vec<ReferenceMatch> = found
        .into_iter()
        .take(100)
        .map(|o| ReferenceMatch {
            order_token: o.token.clone(),
            merchant_order_reference: o.request.merchant_reference.clone(),
            merchant_processor_reference: o.processor_reference.clone(),
            created_at: Some(stamp(o.created)),
        })
        .collect();
    Json(rows).into_response()
}

pub(super) async fn capture(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    let token = c.string(&value, &["token"], true);
    let amount = c.amount(&value, &["amount"], false);
    c.string(&value, &["merchantReference"], false);
    let (Some(token), true) = (token, c.errors.is_empty()) else { return validation_error(c.errors) };
    let Ok(req) = serde_json::from_value::<CaptureRequest>(value.clone()) else {
        return validation_error(vec![field_error(&[], "body", "invalid body".into(), "object.base")]);
    };
    let key = idempotency_key(&headers);
    let (reply, hook) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), "POST /v2/payments/capture", &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if !o.is_authorised() {
            return precondition(format!(
                "Order {token} cannot be captured in status {}",
                status_text(o.status)
            ));
        }
        let captured = amount.unwrap_or(o.total);
        if captured > o.total {
            return validation_error(vec![field_error(
                &["amount", "amount"],
                "body",
                format!("\"amount\" must be less than or equal to {}", o.total.to_decimal()),
                "number.max",
            )]);
        }
        if let Some(r) = req.merchant_reference {
            o.request.merchant_reference = Some(r);
        }
        o.status = OrderStatus::Charged;
        o.capture_status = CaptureStatus::Captured;
        o.captured_minor = captured.0;
        let reply = CaptureResponse {
            token: o.token.clone(),
            status: wire::OperationStatus::Approved,
            total_amount: Some(Amount::of(captured)),
            // The capture schema's `orderDetails` (OpenAPI; `server/tests/fixtures/scalapay/capture.json`):
            // the consumer, the total and the reference, not the whole order.
            order_details: Some(OrderDetails {
                consumer: Some(o.request.consumer.clone()),
                total_amount: Some(o.request.total_amount.clone()),
                merchant_reference: o.request.merchant_reference.clone(),
                ..OrderDetails::default()
            }),
            captured_at: Some(stamp(now())),
        };
        let mut reply = reply;
        reply.total_amount = reply.total_amount.map(|a| misreported(&inner, &reply.token, a));
        if let Some(d) = reply.order_details.as_mut() {
            misreport_details(&inner, &o.token, d);
        }
        let hook = o.webhook(OrderStatus::Charged, false);
        let reply = to_json(&reply);
        remember(&mut book, key, "POST /v2/payments/capture".into(), value, &reply);
        (reply, hook)
    };
    send_webhook(&inner, hook);
    Json(reply).into_response()
}

pub(super) fn status_text(s: OrderStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub(super) async fn delay(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    c.integer(&value, &["authorizationExpiryMilliseconds"], true, None);
    c.string(&value, &["merchantReference"], false);
    let (Ok(req), true) = (serde_json::from_value::<DelayRequest>(value.clone()), c.errors.is_empty()) else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/delay");
    let (reply, until) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if o.status != OrderStatus::Authorized || o.capture_status != CaptureStatus::Pending {
            return precondition(format!(
                "Order {token} cannot be delayed in status {}",
                status_text(o.status)
            ));
        }
        let until = now() + Duration::from_millis(req.authorization_expiry_milliseconds);
        if let Some(r) = req.merchant_reference {
            o.request.merchant_reference = Some(r);
        }
        o.capture_status = CaptureStatus::Delayed;
        o.authorization_expiry_at = Some(until);
        let reply = to_json(&DelayResponse {
            token: o.token.clone(),
            status: wire::OperationStatus::Authorized,
            authorization_expiry_at: Some(stamp(until)),
            total_amount: Some(o.request.total_amount.clone()),
            // The delay schema's `orderDetails` (`post_v2-payments-token-delay-2`;
            // `server/tests/fixtures/scalapay/delay.json`): the reference only.
            order_details: Some(OrderDetails {
                merchant_reference: o.request.merchant_reference.clone(),
                ..OrderDetails::default()
            }),
        });
        remember(&mut book, key, route, value, &reply);
        (reply, until)
    };
    schedule(&inner, token, until, Deadline::Authorization(until));
    Json(reply).into_response()
}

pub(super) async fn void(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    // The body is optional.
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match json_body(&body) {
            Ok(v) => v,
            Err(resp) => return *resp,
        }
    };
    let mut c = Check::default();
    c.string(&value, &["merchantReference"], false);
    let (Ok(req), true) = (serde_json::from_value::<VoidRequest>(value.clone()), c.errors.is_empty()) else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/void");
    let mut book = lock(&inner);
    if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
        return resp;
    }
    let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
    if !o.is_authorised() {
        return precondition(format!("Order {token} cannot be voided in status {}", status_text(o.status)));
    }
    if let Some(r) = req.merchant_reference {
        o.request.merchant_reference = Some(r);
    }
    o.status = OrderStatus::Expired;
    o.capture_status = CaptureStatus::Voided;
    let reply = to_json(&VoidResponse {
        token: o.token.clone(),
        merchant_reference: o.request.merchant_reference.clone(),
        voided_at: Some(stamp(now())),
    });
    remember(&mut book, key, route, value, &reply);
    Json(reply).into_response()
}

pub(super) async fn refund(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    let amount = c.amount(&value, &["refundAmount"], true);
    c.string(&value, &["merchantRefundReference"], false);
    let (Some(amount), Ok(req), true) =
        (amount, serde_json::from_value::<RefundRequest>(value.clone()), c.errors.is_empty())
    else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/refund");
    let (reply, hook) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if !matches!(o.status, OrderStatus::Charged | OrderStatus::PartiallyRefunded) {
            return precondition(format!(
                "Order {token} cannot be refunded in status {}",
                status_text(o.status)
            ));
        }
        let left = o.captured_minor.saturating_sub(o.refunded_minor);
        if amount.0 > left {
            let left = Cents(left).to_decimal();
            return validation_error(vec![field_error(
                &["refundAmount", "amount"],
                "body",
                format!("\"amount\" must be less than or equal to {left}"),
                "number.max",
            )]);
        }
        o.refunded_minor += amount.0;
        o.status = if o.refunded_minor == o.captured_minor {
            OrderStatus::Refunded
        } else {
            OrderStatus::PartiallyRefunded
        };
        let reply = to_json(&RefundResponse {
            token: o.token.clone(),
            amount: Some(Amount::of(amount)),
            merchant_reference: o.request.merchant_reference.clone(),
            merchant_refund_reference: req.merchant_refund_reference,
            refund_token: Some(new_token()),
            refunded_at: Some(stamp(now())),
        });
        // The order now reads `partially_refunded` or `refunded`; the webhook says `refunded`
        // for both, the one refund status its webhook list documents
        // (https://developers.scalapay.com/reference/webhooks: created, authorized, charged,
        // refunded, expired).
        let hook = o.webhook(OrderStatus::Refunded, true);
        remember(&mut book, key, route, value, &reply);
        (reply, hook)
    };
    send_webhook(&inner, hook);
    Json(reply).into_response()
}

/// `POST /v2/orders/{token}`, "Update order": sets the merchant's references of an order
/// created without them. `merchantReference` is mandatory, `merchantProcessorReference`
/// optional; the answer is `{token, merchantReference}` (Scalapay's Orders API collection,
/// "POST v2/orders/{token}", https://developers.scalapay.com/).
pub(super) async fn update_order(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    c.string(&value, &["merchantReference"], true);
    c.string(&value, &["merchantProcessorReference"], false);
    let (Ok(req), true) = (serde_json::from_value::<UpdateOrderRequest>(value), c.errors.is_empty()) else {
        return validation_error(c.errors);
    };
    let mut book = lock(&inner);
    let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
    o.request.merchant_reference = Some(req.merchant_reference.clone());
    if let Some(p) = req.merchant_processor_reference {
        o.processor_reference = Some(p);
    }
    Json(UpdateOrderResponse { token: o.token.clone(), merchant_reference: req.merchant_reference })
        .into_response()
}

/// Any other path: Scalapay's error envelope, 404.
pub(super) async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    text_error(StatusCode::NOT_FOUND, "not_found", &format!("Cannot {method} {}", uri.path()))
}

pub(super) async fn list(State(inner): State<Shared>) -> Json<Vec<Payment>> {
    let book = lock(&inner);
    let mut orders: Vec<&Order> = book.orders.values().collect();
    orders.sort_by_key(|o| o.seq);
    Json(orders.into_iter().map(Order::view).collect())
}

//! Webhooks and lapses: signed webhooks (https://developers.scalapay.com/reference/webhooks)
//! sent through [`crate::delivery`], and the expiry of orders and authorisations.

use std::time::Duration;

use axum::http::{StatusCode, header};
use time::OffsetDateTime;

use super::{
    answers::*,
    wire::{self, CaptureStatus, OrderStatus, SIGNATURE_HEADER, TIMESTAMP_HEADER, Webhook},
    *,
};

/// Sends a signed webhook in the background through [`crate::delivery`]: five tries, 0.25 s
/// back-off doubling, until answered 200; out of order, the order's `created` webhook (the
/// event it really went through first) comes last.
pub(super) fn send_webhook(inner: &Shared, hook: Webhook) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let created = (hook.status != OrderStatus::Created).then(|| Webhook {
            status: OrderStatus::Created,
            order_details: None,
            ..hook.clone()
        });
        let retry = crate::delivery::Retry { tries: 5, first_backoff: Duration::from_millis(250) };
        crate::delivery::deliver(&inner.misbehave, retry, &hook, created.as_ref(), |h: Webhook, forged| {
            let inner = &inner;
            async move { post_signed(inner, &h, forged).await }
        })
        .await;
    });
}

/// Posts one webhook, signed now (with a wrong key when `forged`); tells whether it was
/// answered 200.
async fn post_signed(inner: &Inner, hook: &Webhook, forged: bool) -> bool {
    let Ok(body) = serde_json::to_vec(hook) else { return false };
    let key =
        if forged { format!("{}-not-it", inner.merchant.api_key) } else { inner.merchant.api_key.clone() };
    // The timestamp is when the signature was generated.
    let timestamp = (now().unix_timestamp_nanos() / 1_000_000).to_string();
    let signature = wire::sign(&key, &timestamp, &body);
    let sent = inner
        .http
        .post(&inner.merchant.webhook_url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, &signature)
        .header(TIMESTAMP_HEADER, &timestamp)
        .body(body)
        .send()
        .await;
    crate::delivery::acknowledged(sent, |s| s == StatusCode::OK)
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Deadline {
    /// The order's expiry: a created order expires, an authorised one not delayed lapses.
    Order,
    /// A delayed authorisation's expiry.
    Authorization(OffsetDateTime),
}

pub(super) fn schedule(inner: &Shared, token: String, at: OffsetDateTime, deadline: Deadline) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let wait = (at - now()).max(time::Duration::ZERO);
        tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
        lapse(&inner, &token, deadline);
    });
}

/// Applies a deadline that has passed, once; sends the `expired` webhook when it did.
pub(super) fn lapse(inner: &Shared, token: &str, deadline: Deadline) {
    let hook = {
        let mut book = lock(inner);
        let Some(o) = book.orders.get_mut(token) else { return };
        match deadline {
            Deadline::Order if now() < o.expires_at => return,
            Deadline::Order if o.status == OrderStatus::Created => {
                o.status = OrderStatus::Expired;
            }
            Deadline::Order
                if o.status == OrderStatus::Authorized && o.capture_status == CaptureStatus::Pending =>
            {
                o.status = OrderStatus::RefundedNotCharged;
                o.capture_status = CaptureStatus::Voided;
            }
            Deadline::Authorization(at)
                if o.status == OrderStatus::Authorized
                    && o.capture_status == CaptureStatus::Delayed
                    && o.authorization_expiry_at == Some(at) =>
            {
                o.status = OrderStatus::RefundedNotCharged;
                o.capture_status = CaptureStatus::Voided;
            }
            _ => return,
        }
        o.webhook(OrderStatus::Expired, false)
    };
    send_webhook(inner, hook);
}

//! The simulated customer and what follows: the wait, the payment's final state, its signed
//! webhook, and the payment page at `redirectUrl`.

use std::time::Duration;

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde_json::Value;

use super::{
    wire::{
        DELIVERY_HEADER, EVENT_HEADER, InitiateRequest, MobileProvider, Payment, PaymentStatus,
        SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookBody, WebhookEvent, sign,
    },
    *,
};

pub(super) fn schedule(inner: Shared, id: String, outcome: Outcome, pays_by_page: bool) {
    tokio::spawn(async move {
        let confirm = Duration::from_millis(inner.config.confirm_delay_ms);
        let expire = Duration::from_millis(inner.config.expire_after_ms);
        let end = match outcome {
            Outcome::Succeeds | Outcome::AnswerLost | Outcome::FirstCallLost => Some(End::Paid),
            Outcome::Declines => Some(End::Failed("PAYMENT_DECLINED", "Le client a refusé le paiement")),
            Outcome::InsufficientFunds => Some(End::Failed("INSUFFICIENT_FUNDS", "Solde insuffisant")),
            Outcome::Cancels => Some(End::Cancelled),
            _ => None,
        };
        // A push prompt is shown at once; a page payment is processing once its page is opened.
        if !pays_by_page || end.is_some() {
            tokio::time::sleep(confirm / 2).await;
            mark_processing(&inner, &id);
        }
        match end {
            Some(end) => {
                tokio::time::sleep(confirm - confirm / 2).await;
                settle(&inner, &id, end).await;
            }
            None => {
                let waited = if !pays_by_page { confirm / 2 } else { Duration::ZERO };
                tokio::time::sleep(expire.saturating_sub(waited)).await;
                settle(&inner, &id, End::Expired).await;
            }
        }
    });
}

pub(super) fn mark_processing(inner: &Inner, id: &str) {
    let mut book = lock(&inner.book);
    if let Some(entry) = book.payments.get_mut(id)
        && entry.payment.status == Some(PaymentStatus::Pending)
    {
        entry.payment.status = Some(PaymentStatus::Processing);
        entry.payment.updated_at = Some(crate::common::now_rfc3339());
    }
}

/// Ends a payment, once; sends its webhook when it ended now.
pub(super) async fn settle(inner: &Inner, id: &str, end: End) {
    let ended = {
        let mut book = lock(&inner.book);
        let Some(entry) = book.payments.get_mut(id) else { return };
        let p = &mut entry.payment;
        if p.status.is_some_and(PaymentStatus::is_final) {
            return;
        }
        let now = crate::common::now_rfc3339();
        let (status, failure) = match end {
            End::Paid => (PaymentStatus::Success, None),
            End::Failed(code, message) => (PaymentStatus::Failed, Some((code, message))),
            End::Cancelled => (PaymentStatus::Cancelled, None),
            End::Expired => {
                (PaymentStatus::Expired, Some(("PAYMENT_EXPIRED", "Le délai de paiement est dépassé")))
            }
        };
        p.status = Some(status);
        // What the plugin reads from a webhook's `data` (`includes/class-caurisflux-webhook.php`,
        // and the admin's simulated event in
        // `server/tests/fixtures/caurisflux/webhook_admin_simulation.json`): the operator's own
        // id (`providerTransactionId`) once the operator has handled the payment, and the
        // `provider` that carried it. A hosted-checkout payment names no operator in its
        // request; the sandbox's page is a test operator, named as that simulated event names
        // it: `test_provider`.
        if end != End::Expired {
            p.provider_transaction_id = Some(format!("TEST_{}", uuid::Uuid::new_v4()));
        }
        if p.provider.is_none() {
            p.provider = Some("test_provider".into());
        }
        p.error_code = failure.map(|(c, _)| c.to_owned());
        p.error_message = failure.map(|(_, m)| m.to_owned());
        p.updated_at = Some(now.clone());
        p.completed_at = Some(now);
        p.clone()
    };
    deliver(inner, &ended).await;
}

pub(super) fn event_of(status: Option<PaymentStatus>) -> Option<WebhookEvent> {
    match status? {
        PaymentStatus::Success => Some(WebhookEvent::PaymentSuccess),
        PaymentStatus::Failed => Some(WebhookEvent::PaymentFailed),
        PaymentStatus::Cancelled => Some(WebhookEvent::PaymentCancelled),
        PaymentStatus::Expired => Some(WebhookEvent::PaymentExpired),
        PaymentStatus::Pending | PaymentStatus::Processing => None,
    }
}

/// Delivers a payment's webhook through [`crate::delivery`]: three tries, 0.5 s back-off
/// doubling, every copy of the event under the same delivery id as a provider's retry. There is
/// no stale event to send out of order ([`super::NO_EARLIER_EVENT`]).
pub(super) async fn deliver(inner: &Inner, payment: &Payment) {
    let Some(event) = event_of(payment.status) else { return };
    let Ok(body) = serde_json::to_value(WebhookBody { event, data: payment.clone() }) else { return };
    let delivery = uuid::Uuid::new_v4().to_string();
    let retry = crate::delivery::Retry { tries: 3, first_backoff: Duration::from_millis(500) };
    crate::delivery::deliver(&inner.misbehave, retry, &body, None, |b: Value, forged| {
        let id = &delivery;
        async move { post_signed(inner, &b, id, forged).await }
    })
    .await;
}

/// Posts one webhook, signed afresh (with a wrong secret when `forged`); tells whether it was
/// answered 2xx.
async fn post_signed(inner: &Inner, body: &Value, delivery: &str, forged: bool) -> bool {
    let event = body.get("event").and_then(Value::as_str).unwrap_or_default().to_owned();
    let Ok(body) = serde_json::to_vec(body) else { return false };
    let secret = if forged {
        format!("{}-not-it", inner.merchant.webhook_secret)
    } else {
        inner.merchant.webhook_secret.clone()
    };
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    // The documented variants ([`super::VARIANTS`]), as the `variant` mode sets them.
    let text = String::from_utf8_lossy(&body).into_owned();
    let variant = |name: &str| inner.misbehave.variant(&text, name);
    let hex = if variant("sign_body_only") {
        crate::common::hmac_sha256_hex(secret.as_bytes(), &[&body])
    } else {
        sign(&secret, &timestamp, &body)
    };
    let signature = if variant("no_sha256_prefix") { hex } else { format!("sha256={hex}") };
    let (signature_header, timestamp_header) = if variant("legacy_headers") {
        (super::wire::LEGACY_SIGNATURE_HEADER, super::wire::LEGACY_TIMESTAMP_HEADER)
    } else {
        (SIGNATURE_HEADER, TIMESTAMP_HEADER)
    };
    let sent = inner
        .http
        .post(&inner.merchant.webhook_url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "CaurisFlux-Webhooks/1.0 (sandbox)")
        .header(signature_header, signature)
        .header(timestamp_header, &timestamp)
        .header(EVENT_HEADER, event)
        .header(DELIVERY_HEADER, delivery)
        .body(body)
        .send()
        .await;
    crate::delivery::acknowledged(sent, |s| s.is_success())
}

pub(super) fn page_of(inner: &Inner, id: &str) -> Option<(Payment, InitiateRequest)> {
    let book = lock(&inner.book);
    book.payments
        .get(id)
        .filter(|e| e.payment.redirect_url.is_some())
        .map(|e| (e.payment.clone(), e.request.clone()))
}

pub(super) async fn page(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let Some((payment, request)) = page_of(&inner, &id) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    mark_processing(&inner, &id);
    let what = match request.provider {
        Some(MobileProvider::Wave) => "Wave",
        _ => "carte bancaire ou mobile money",
    };
    let state = match payment.status {
        Some(PaymentStatus::Pending | PaymentStatus::Processing) => format!(
            "<form method=post action=/pay/{id}/confirm><button id=confirm>Payer</button></form>
             <form method=post action=/pay/{id}/cancel><button id=cancel>Annuler</button></form>"
        ),
        Some(PaymentStatus::Success) => {
            "<p id=done>Paiement effectué. Vous pouvez fermer cette page.</p>".into()
        }
        Some(PaymentStatus::Cancelled) => "<p id=done>Paiement annulé.</p>".into(),
        Some(PaymentStatus::Expired) => "<p id=done>Cette session de paiement a expiré.</p>".into(),
        _ => "<p id=done>Paiement refusé.</p>".into(),
    };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
         <title>CaurisFlux (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
         <h1>CaurisFlux — sandbox</h1><p>Paiement de <b>{} {}</b> par {what}.</p>{state}</body></html>",
        request.amount,
        request.currency.code(),
    ))
    .into_response()
}

pub(super) async fn act(State(inner): State<Shared>, Path((id, action)): Path<(String, String)>) -> Response {
    if page_of(&inner, &id).is_none() {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    }
    let end = match action.as_str() {
        "confirm" => End::Paid,
        "cancel" => End::Cancelled,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    settle(&inner, &id, end).await;
    Redirect::to(&format!("/pay/{id}")).into_response()
}

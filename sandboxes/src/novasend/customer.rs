//! The simulated customer and what follows their answer: the confirmation delay, the payin's
//! final state, its signed webhook, and the payment page at each payin's `paymentUrl`.

use std::time::Duration;

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use super::{
    Inner, Outcome, Shared, lock, random,
    wire::{
        ConfirmationStatus, Failure, Payin, PayinStatus, SIGNATURE_HEADER, Transaction, TransactionStatus,
        sign,
    },
};

pub(super) fn schedule(inner: Shared, reference: String, outcome: Outcome) {
    tokio::spawn(async move {
        let confirm = Duration::from_millis(inner.config.confirm_delay_ms);
        let expire = Duration::from_millis(inner.config.expire_after_ms);
        match outcome {
            Outcome::Succeeds | Outcome::Declines | Outcome::InsufficientFunds | Outcome::InvalidOtp => {
                tokio::time::sleep(confirm).await;
                settle(&inner, &reference, outcome).await;
            }
            Outcome::NeverConfirms | Outcome::WaitsForPage => {
                tokio::time::sleep(expire).await;
                settle(&inner, &reference, Outcome::NeverConfirms).await;
            }
        }
    });
}

pub(super) fn is_open(p: &Payin) -> bool {
    matches!(p.status, PayinStatus::Processing | PayinStatus::Pending)
}

/// Moves a payin to the outcome's final state, once; sends the webhook when it moved.
pub(super) async fn settle(inner: &Inner, reference: &str, outcome: Outcome) {
    let updated = {
        let mut book = lock(inner);
        let Some(p) = book.payins.get_mut(reference) else { return };
        if !is_open(p) {
            return;
        }
        let (confirmation, completed, failure) = match outcome {
            Outcome::Succeeds | Outcome::WaitsForPage => (ConfirmationStatus::Accepted, true, None),
            Outcome::Declines => {
                (ConfirmationStatus::Declined, false, Some(("declined", "The customer declined the payment")))
            }
            Outcome::InsufficientFunds => (
                ConfirmationStatus::Accepted,
                false,
                Some(("client_not_enough_cash", "Insufficient balance")),
            ),
            Outcome::InvalidOtp => {
                (ConfirmationStatus::Declined, false, Some(("transaction_error", "Invalid OTP")))
            }
            Outcome::NeverConfirms => (ConfirmationStatus::Expired, false, None),
        };
        p.confirmation_status = confirmation;
        p.failure =
            failure.map(|(code, message)| Failure { code: Some(code.into()), message: message.into() });
        if outcome == Outcome::NeverConfirms {
            p.status = PayinStatus::Expired;
        } else if p.is_direct == Some(true) {
            p.status = if completed { PayinStatus::Success } else { PayinStatus::Failed };
        } else {
            p.status = PayinStatus::Processed;
            p.transaction = Some(Transaction {
                reference: Some(format!("tr_{}", random(16))),
                status: Some(if completed {
                    TransactionStatus::Completed
                } else {
                    TransactionStatus::Failed
                }),
                customer_name: p.customer_name.clone(),
                processed_at: Some(crate::common::now_rfc3339()),
                phone_number: p.phone_number.clone(),
                amount: Some(format!("{}.00", p.amount)),
                // The processor's own fees, none here, as in the status page's example
                // (`"fees": "0.00"`, `"chargedAmount"` equal to `"amount"`); NovaSend's fee is
                // the payin's `fee`.
                fees: Some("0.00".into()),
                charged_amount: Some(format!("{}.00", p.amount)),
                currency: Some(p.currency),
            });
        }
        p.clone()
    };
    deliver(inner, &updated).await;
}

/// Delivers a payin's webhook through [`crate::delivery`]: three tries, 0.5 s back-off doubling;
/// out of order, the payin as it was before it ended (`processing`, or `pending` for a direct
/// payin) comes last.
pub(super) async fn deliver(inner: &Inner, payin: &Payin) {
    let mut stale = payin.clone();
    stale.status = if stale.is_direct == Some(true) { PayinStatus::Pending } else { PayinStatus::Processing };
    stale.confirmation_status = ConfirmationStatus::None;
    stale.transaction = None;
    stale.failure = None;
    let retry = crate::delivery::Retry { tries: 3, first_backoff: Duration::from_millis(500) };
    crate::delivery::deliver(&inner.misbehave, retry, payin, Some(&stale), |p: Payin, forged| async move {
        post_signed(inner, &p, forged).await
    })
    .await;
}

/// Posts one signed webhook (with a wrong secret when `forged`); tells whether it was taken.
async fn post_signed(inner: &Inner, payin: &Payin, forged: bool) -> bool {
    let Ok(record) = serde_json::to_value(payin) else { return false };
    let (body, signed) = match super::variants::webhook_body(inner, payin, record) {
        Some(pair) => pair,
        None => return false,
    };
    let secret = if forged {
        format!("{}-not-it", inner.merchant.webhook_secret)
    } else {
        inner.merchant.webhook_secret.clone()
    };
    let sent = inner
        .http
        .post(&inner.merchant.webhook_url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(&secret, &signed))
        .body(body)
        .send()
        .await;
    crate::delivery::acknowledged(sent, |s| s.is_success())
}

pub(super) fn find_by_code(inner: &Inner, code: &str) -> Option<Payin> {
    let book = lock(inner);
    book.links.get(code).and_then(|r| book.payins.get(r)).cloned()
}

pub(super) async fn page(State(inner): State<Shared>, Path(code): Path<String>) -> Response {
    let Some(p) = find_by_code(&inner, &code) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    let state = if is_open(&p) {
        format!(
            "<form method=post action=/link/{code}/accept><button id=accept>Accepter / Accept</button></form>
             <form method=post action=/link/{code}/decline><button id=decline>Refuser / Decline</button></form>"
        )
    } else {
        match p.confirmation_status {
            ConfirmationStatus::Accepted => {
                "<p id=done>Paiement confirmé. Vous pouvez fermer cette page.</p>".into()
            }
            ConfirmationStatus::Declined => "<p id=done>Paiement refusé.</p>".into(),
            _ => "<p id=done>Ce lien a expiré.</p>".into(),
        }
    };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
         <title>NovaSend (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
         <h1>NovaSend — sandbox</h1><p>Paiement de <b>{} {}</b> depuis le {}.</p>{state}</body></html>",
        p.amount,
        p.currency,
        p.phone_number.unwrap_or_default()
    ))
    .into_response()
}

pub(super) async fn answer(
    State(inner): State<Shared>,
    Path((code, answer)): Path<(String, String)>,
) -> Response {
    let Some(p) = find_by_code(&inner, &code) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    let outcome = match answer.as_str() {
        "accept" => Outcome::WaitsForPage,
        "decline" => Outcome::Declines,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    settle(&inner, p.provider_reference(), outcome).await;
    Redirect::to(&format!("/link/{code}")).into_response()
}

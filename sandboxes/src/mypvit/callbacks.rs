//! The end of a transaction and its callback, sent through [`crate::delivery`] until the
//! merchant acknowledges it as the integration document requires.

use std::time::Duration;

use axum::http::header;

use super::{
    payments::*,
    wire::{Amount, Callback, CallbackAck, TransactionStatus},
    *,
};

/// Settles a pending transaction by the rule, then sends its callback.
pub(super) async fn settle(inner: &Inner, reference_id: &str) {
    let settled = conclude(&mut lock(inner), reference_id);
    if let Some(t) = settled {
        deliver(inner, &t).await;
    }
}

/// Sends the callback through [`crate::delivery`]: until it is acknowledged as the document
/// requires, three times at most (0.3 s back-off doubling); out of order, the transaction's
/// PENDING state (what the REST call answered first) comes last.
pub(super) async fn deliver(inner: &Inner, t: &Transaction) {
    let callback = callback_of(t, t.status);
    let pending = callback_of(t, TransactionStatus::Pending);
    let retry = crate::delivery::Retry { tries: 3, first_backoff: Duration::from_millis(300) };
    crate::delivery::deliver(
        &inner.misbehave,
        retry,
        &callback,
        Some(&pending),
        |c: Callback, forged| async move { post_callback(inner, &c, forged).await },
    )
    .await;
}

pub(super) fn callback_of(t: &Transaction, status: TransactionStatus) -> Callback {
    let code = if status == TransactionStatus::Success { 200 } else { 400 };
    Callback {
        transaction_id: t.reference_id.clone(),
        merchant_reference_id: t.merchant_reference_id.clone(),
        status,
        amount: Amount(t.amount),
        customer_id: Some(t.customer_account_number.clone()),
        fees: serde_json::Number::from_f64(t.fees as f64),
        total_amount: serde_json::Number::from_f64((t.amount + t.fees) as f64),
        charge_owner: Some(t.owner_charge),
        free_info: t.free_info.clone(),
        transaction_operation: Some(t.kind),
        code,
        callback_media_type: Some(if t.callback_xml { super::xml::XML } else { "application/json" }.into()),
        operator: t.operator,
    }
}

/// Posts one callback; tells whether it was acknowledged (`{"transactionId", "responseCode"}`
/// echoing it). MyPVit signs nothing: a `forged` callback goes to a wrong secret path instead
/// (what a forger who does not know the path would do).
async fn post_callback(inner: &Inner, callback: &Callback, forged: bool) -> bool {
    let url = if forged {
        format!("{}-forged", inner.merchant.callback_url)
    } else {
        inner.merchant.callback_url.clone()
    };
    let expected =
        CallbackAck { response_code: callback.code, transaction_id: callback.transaction_id.clone() };
    let reference = &callback.transaction_id;
    if let Some(t) = lock(inner).transactions.get_mut(reference) {
        t.callback_attempts += 1;
    }
    let xml = callback.callback_media_type.as_deref().is_some_and(super::xml::is_xml);
    let request = if xml {
        match super::xml::callback_body(callback) {
            Ok(body) => inner.http.post(&url).header(header::CONTENT_TYPE, super::xml::XML).body(body),
            Err(e) => {
                tracing::warn!(error = %e, "sandbox callback not written as XML");
                return false;
            }
        }
    } else {
        inner.http.post(&url).json(callback)
    };
    let acknowledged = match request.send().await {
        Ok(r) if r.status().is_success() => {
            r.bytes().await.ok().and_then(|b| super::xml::read_ack(&b)).is_some_and(|a| a == expected)
        }
        Ok(r) => {
            tracing::warn!(status = %r.status(), "sandbox callback refused");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "sandbox callback not delivered");
            false
        }
    };
    if acknowledged && let Some(t) = lock(inner).transactions.get_mut(reference) {
        t.callback_acknowledged = true;
    }
    acknowledged
}

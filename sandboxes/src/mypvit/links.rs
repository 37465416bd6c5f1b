//! Payment links (`POST /v2/{code}/link`) and the customer's page behind each.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    response::{Html, IntoResponse, Redirect, Response},
};

use super::{
    callbacks::*,
    errors::*,
    payments::*,
    wire::{LinkRequest, LinkResponse, LinkService, TransactionStatus, TransactionType},
    *,
};

pub(super) async fn link(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{code}/link");
    let m = &inner.merchant;
    if let Err(f) = guard(&inner, &headers, &code, &m.url_codes.link)
        .and_then(|()| table_fields_only(&inner, &body, true))
    {
        return f.respond(&path);
    }
    let required = [
        "amount",
        "reference",
        "service",
        "callback_url_code",
        "customer_account_number",
        "merchant_operation_account_code",
        "owner_charge",
    ];
    let req: LinkRequest = match read_body(&headers, &body, &required) {
        Ok(r) => r,
        Err(f) => return f.respond(&path),
    };
    match (req.service, req.transaction_type) {
        (LinkService::Unknown, _) => return fail("SERVICE_NOT_FOUND", &path, None),
        (_, TransactionType::Unknown) => return fail("TRANSACTION_TYPE_NOT_FOUND", &path, None),
        (LinkService::Restlink, _) | (_, TransactionType::Payment) => {}
        _ => return fail("OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED", &path, None),
    }
    if req.callback_url_code != m.callback_url_code {
        return fail("INVALID_CALLBACK_URL_CODE", &path, None);
    }
    if req.service != LinkService::Restlink {
        let (Some(success), Some(failed)) =
            (&req.success_redirection_url_code, &req.failed_redirection_url_code)
        else {
            return missing("success_redirection_url_code, failed_redirection_url_code", &path);
        };
        if Some(success) != m.success_redirection_url_code.as_ref() {
            return fail("INVALID_REDIRECTION_URL_CODE", &path, None);
        }
        if Some(failed) != m.failed_redirection_url_code.as_ref() {
            return fail("INVALID_FAILED_REDIRECTION_URL_CODE", &path, None);
        }
    }
    let operator = match check_common(
        &inner,
        req.amount,
        &req.reference,
        [req.agent.as_deref(), req.product.as_deref(), req.free_info.as_deref()],
        &req.customer_account_number,
        &req.merchant_operation_account_code,
        req.service == LinkService::VisaMastercard,
    ) {
        Ok(c) => c,
        Err(f) => return f.respond(&path),
    };
    let mut t = new_transaction(
        req.transaction_type,
        &req.reference,
        req.amount,
        req.owner_charge,
        operator,
        &req.customer_account_number,
        req.free_info.clone(),
    );
    t.link = Some((req.service, String::new()));
    t.callback_xml = super::xml::wants_xml_callbacks(&headers);
    let prefix = if req.transaction_type == TransactionType::Payment { "PAY" } else { "GCH" };
    let Some(t) = record(&inner, t, prefix) else {
        return fail("TRANSACTION_REFERENCE_ALREADY_EXISTS", &path, None);
    };
    let token = t.link.as_ref().map(|(_, token)| token.clone()).unwrap_or_default();
    let (inner2, id) = (inner.clone(), t.reference_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(inner2.config.link_expire_after_ms)).await;
        let expired = {
            let mut book = lock(&inner2);
            match book.transactions.get_mut(&id) {
                Some(t) if t.status == TransactionStatus::Pending && !t.link_used => {
                    t.status = TransactionStatus::Failed;
                    Some(t.clone())
                }
                _ => None,
            }
        };
        if let Some(t) = expired {
            deliver(&inner2, &t).await;
        }
    });
    Json(LinkResponse {
        status: TransactionStatus::Success,
        status_code: "200".into(),
        merchant_reference_id: t.merchant_reference_id,
        url: format!("{}/transaction-link/{token}/payment", inner.base_url),
    })
    .into_response()
}

/// The link's transaction, if it can still be used.
pub(super) fn usable_link(inner: &Inner, token: &str) -> Result<Transaction, Fault> {
    let book = lock(inner);
    let t = book
        .links
        .get(token)
        .and_then(|id| book.transactions.get(id))
        .ok_or_else(|| Fault::of("TRANSACTION_NOT_FOUND"))?;
    if t.link_used {
        return Err(Fault::of("TRANSACTION_LINK_USED"));
    }
    if t.status != TransactionStatus::Pending {
        return Err(Fault::of("TRANSACTION_EXPIRED"));
    }
    Ok(t.clone())
}

pub(super) fn mark_used(inner: &Inner, reference_id: &str) -> bool {
    match lock(inner).transactions.get_mut(reference_id) {
        Some(t) if !t.link_used && t.status == TransactionStatus::Pending => {
            t.link_used = true;
            true
        }
        _ => false,
    }
}

pub(super) async fn open_link(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    let path = format!("/transaction-link/{token}/payment");
    let t = match usable_link(&inner, &token) {
        Ok(t) => t,
        Err(f) => return f.respond(&path),
    };
    let Some((service, _)) = t.link else { return fail("TRANSACTION_NOT_FOUND", &path, None) };
    if service == LinkService::Restlink {
        if !mark_used(&inner, &t.reference_id) {
            return fail("TRANSACTION_LINK_USED", &path, None);
        }
        let (inner2, id) = (inner.clone(), t.reference_id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(inner2.config.confirm_delay_ms)).await;
            settle(&inner2, &id).await;
        });
        return Html(format!(
            "<!doctype html><meta charset=utf-8><title>MyPVit (sandbox)</title>\
             <p id=prompt>Une demande de confirmation a été envoyée au {}.</p>",
            t.customer_account_number
        ))
        .into_response();
    }
    let what = if service == LinkService::VisaMastercard { "par carte" } else { "par mobile money" };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>\
         <title>MyPVit (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>\
         <h1>MyPVit — sandbox</h1><p>Paiement de <b>{} XAF</b> {what} ({}).</p>\
         <form method=post><button id=pay>Payer</button></form></body></html>",
        t.amount, t.merchant_reference_id
    ))
    .into_response()
}

pub(super) async fn pay_link(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    let path = format!("/transaction-link/{token}/payment");
    let t = match usable_link(&inner, &token) {
        Ok(t) => t,
        Err(f) => return f.respond(&path),
    };
    if t.link.as_ref().is_some_and(|(s, _)| *s == LinkService::Restlink)
        || !mark_used(&inner, &t.reference_id)
    {
        return fail("TRANSACTION_LINK_USED", &path, None);
    }
    let settled = conclude(&mut lock(&inner), &t.reference_id);
    let Some(done) = settled else { return fail("TRANSACTION_EXPIRED", &path, None) };
    let target = if done.status == TransactionStatus::Success {
        inner.merchant.success_url.clone()
    } else {
        inner.merchant.failed_url.clone()
    };
    let inner2 = inner.clone();
    tokio::spawn(async move { deliver(&inner2, &done).await });
    Redirect::to(&target).into_response()
}

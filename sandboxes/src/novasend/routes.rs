//! NovaSend's API routes: payin creation (sessions and direct), status, refund, and the
//! sandbox's own list of payins.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use shared::phone::{Country, PhoneNumber};

use super::{
    Book, Inner, Outcome, Shared,
    customer::{schedule, settle},
    lock, outcome_of, random,
    wire::{
        ConfirmationStatus, Currency, DirectPayinRequest, DirectProvider, ErrorBody, IDEMPOTENCY_HEADER,
        Payin, PayinStatus, RefundRecord, RefundRequest, RefundState, SessionRequest, TransactionStatus,
    },
};

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody { code: code.into(), message: message.into(), status_code: status.as_u16() }))
        .into_response()
}

pub(super) fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", inner.merchant.api_key, inner.merchant.api_client));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v.trim() == expected)
}

/// What a payin request asks for, from either API.
pub(super) struct Ask {
    reference: String,
    amount: u64,
    msisdn: String,
    customer_name: String,
    country: String,
    direct: Option<(DirectProvider, Option<String>)>,
}

/// Credentials and the idempotency key are checked before the body is read.
pub(super) fn pre_checked(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    if !authorised(inner, headers) {
        return Some(error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials"));
    }
    let key = headers.get(IDEMPOTENCY_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if uuid::Uuid::parse_str(key).is_err() {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            "X-Idempotency-Key must be a UUID",
        ));
    }
    None
}

/// NovaSend's service fee on a payin: 2 % of the amount, rounded up to a whole unit, paid by
/// the customer on top (`chargedAmount` = `amount` + `fee`), as the payin page's example shows:
/// `"amount": 300`, `"fee": 6`, `"chargedAmount": 306` (https://docs.novasend.app/, `payin`).
pub(super) fn fee_of(amount: u64) -> u64 {
    amount.saturating_mul(2).div_ceil(100)
}

/// The documented rules, in order: country, amount, number, operator, OTP.
fn validate(ask: &Ask) -> Result<Currency, Box<Response>> {
    let (country, currency, min, max) = match ask.country.as_str() {
        "CI" => (Country::Ci, Currency::Xof, 100, 2_000_000),
        "CM" => (Country::Cm, Currency::Xaf, 200, 500_000),
        _ => {
            return Err(Box::new(error(StatusCode::NOT_FOUND, "country_not_found", "Country not supported")));
        }
    };
    if ask.amount == 0 {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "transaction_greater_than_zero",
            "Amount must be greater than zero",
        )));
    }
    if ask.amount < min || ask.amount > max {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "Invalid amount",
            "Amount outside the provider's limits",
        )));
    }
    match PhoneNumber::parse_e164(&ask.msisdn) {
        Ok(p) if p.country() == country => {}
        _ => {
            return Err(Box::new(error(
                StatusCode::NOT_FOUND,
                "client_not_found",
                "No wallet for this msisdn",
            )));
        }
    }
    if let Some((operator, otp)) = &ask.direct {
        let offered =
            country != Country::Cm || matches!(operator, DirectProvider::Orange | DirectProvider::Momo);
        if !offered {
            return Err(Box::new(error(
                StatusCode::NOT_FOUND,
                "provider_not_found",
                "Provider not available in this country",
            )));
        }
        if *operator == DirectProvider::Orange {
            let well_formed = otp
                .as_deref()
                .is_some_and(|o| (4..=6).contains(&o.len()) && o.bytes().all(|b| b.is_ascii_digit()));
            if !well_formed {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "transaction_otp_required",
                    "A one-time code is required for Orange Money (#144*82#)",
                )));
            }
        }
    }
    Ok(currency)
}

pub(super) async fn create_session(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = pre_checked(&inner, &headers) {
        return refused;
    }
    let req: SessionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let ask = Ask {
        reference: req.reference,
        amount: req.amount,
        msisdn: req.msisdn,
        customer_name: req.customer_name,
        country: req.country,
        direct: None,
    };
    create(inner, &headers, &body, ask).await
}

pub(super) async fn create_direct(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = pre_checked(&inner, &headers) {
        return refused;
    }
    let req: DirectPayinRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let ask = Ask {
        reference: req.reference,
        amount: req.payin.amount,
        msisdn: req.payin.msisdn,
        customer_name: req.customer_name,
        country: req.payin.country,
        direct: Some((req.payin.provider, req.payin.otp)),
    };
    create(inner, &headers, &body, ask).await
}

pub(super) async fn create(inner: Shared, headers: &HeaderMap, body: &[u8], ask: Ask) -> Response {
    let key = headers.get(IDEMPOTENCY_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let fingerprint: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    // A replay gets the first answer, whatever happened since.
    {
        let book = lock(&inner);
        if let Some((first, reference)) = book.by_idempotency_key.get(&key) {
            if *first != fingerprint {
                return error(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "Key already used with another body",
                );
            }
            return match book.payins.get(reference) {
                Some(p) => (StatusCode::CREATED, Json(p.clone())).into_response(),
                None => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "lost payin"),
            };
        }
    }
    let currency = match validate(&ask) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let outcome = match &ask.direct {
        Some((DirectProvider::Orange, Some(otp))) if otp == "000000" => Outcome::InvalidOtp,
        // The code is the customer's confirmation: no prompt to wait for.
        Some((DirectProvider::Orange, _)) => match outcome_of(&ask.msisdn) {
            Outcome::WaitsForPage => Outcome::Succeeds,
            other => other,
        },
        _ => outcome_of(&ask.msisdn),
    };
    let payin = {
        let mut book = lock(&inner);
        if book.by_merchant_reference.contains_key(&ask.reference) {
            return error(StatusCode::CONFLICT, "transaction_is_already_processed", "Reference already used");
        }
        let theirs = format!("tr_{}", random(26));
        let code = random(10);
        let direct = ask.direct.is_some();
        let payin = Payin {
            id: direct.then(|| theirs.clone()),
            kind: "payin".into(),
            fee: fee_of(ask.amount),
            reference: if direct { ask.reference.clone() } else { theirs.clone() },
            phone_number: Some(ask.msisdn.clone()),
            customer_name: Some(ask.customer_name.clone()),
            amount: ask.amount,
            charged_amount: ask.amount + fee_of(ask.amount),
            status: if direct { PayinStatus::Pending } else { PayinStatus::Processing },
            currency,
            customer_reference: (!direct).then(|| ask.reference.clone()),
            is_direct: direct.then_some(true),
            confirmation_required: true,
            confirmation_status: ConfirmationStatus::None,
            payment_url: Some(format!("{}/link/{code}", inner.base_url)),
            created_at: crate::common::now_rfc3339(),
            transaction: None,
            failure: None,
        };
        book.payins.insert(theirs.clone(), payin.clone());
        book.by_merchant_reference.insert(ask.reference.clone(), theirs.clone());
        book.by_idempotency_key.insert(key, (fingerprint, theirs.clone()));
        book.links.insert(code, theirs);
        payin
    };
    let reference = payin.provider_reference().to_owned();
    if outcome == Outcome::InvalidOtp {
        settle(&inner, &reference, outcome).await;
        let settled = lock(&inner).payins.get(&reference).cloned().unwrap_or(payin);
        return (StatusCode::CREATED, Json(settled)).into_response();
    }
    schedule(inner.clone(), reference, outcome);
    created(&payin)
}

/// The answer to a new payin. A session's is the payin page's "Exemple de Réponse"
/// (<https://docs.novasend.app/payin.en>, `server/tests/fixtures/novasend/session_response.json`):
/// the record without `customerName` and `failure`, which only the status shows.
fn created(payin: &Payin) -> Response {
    let mut record = serde_json::to_value(payin).unwrap_or_default();
    if payin.is_direct != Some(true)
        && let Some(fields) = record.as_object_mut()
    {
        fields.remove("customerName");
        fields.remove("failure");
    }
    (StatusCode::CREATED, Json(record)).into_response()
}

/// NovaSend's reference for a reference that may be NovaSend's or the merchant's.
pub(super) fn find(book: &Book, reference: &str) -> Option<String> {
    if book.payins.contains_key(reference) {
        return Some(reference.to_owned());
    }
    book.by_merchant_reference.get(reference).cloned()
}

pub(super) async fn status(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let book = lock(&inner);
    // The `no_lookup_by_reference` mode: the merchant's reference finds nothing.
    let by_merchant_reference = !book.payins.contains_key(&reference);
    if by_merchant_reference
        && inner.misbehave.has(&reference, &crate::misbehave::Misbehaviour::NoLookupByReference)
    {
        return error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Transaction does not exist");
    }
    match find(&book, &reference).and_then(|k| book.payins.get(&k)) {
        Some(p) => Json(status_record(p)).into_response(),
        None => error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Transaction does not exist"),
    }
}

/// A payin as the status shows it: a payin that ended has no page left to pay on, so its
/// `paymentUrl` goes (the status example of <https://docs.novasend.app/payin.en>,
/// `server/tests/fixtures/novasend/status_response.json`, a processed payin, has none).
fn status_record(p: &Payin) -> Payin {
    let mut shown = p.clone();
    if !matches!(p.status, PayinStatus::Processing | PayinStatus::Pending) {
        shown.payment_url = None;
    }
    shown
}

pub(super) fn succeeded(p: &Payin) -> bool {
    p.status == PayinStatus::Success
        || p.transaction.as_ref().and_then(|t| t.status) == Some(TransactionStatus::Completed)
}

pub(super) async fn refund(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let req: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let mut book = lock(&inner);
    let Some(key) = find(&book, &reference) else {
        return error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Payment not found");
    };
    if let Some((previous, external)) = book.refunds.get(&key) {
        // The same refund asked again (a retry) gets the same answer; another one is refused.
        if *external == req.external_reference {
            return (StatusCode::CREATED, Json(previous.clone())).into_response();
        }
        return error(StatusCode::CONFLICT, "transaction_already_refunded", "Duplicate refund");
    }
    let Some(payin) = book.payins.get(&key).cloned() else {
        return error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Payment not found");
    };
    if !succeeded(&payin) {
        return error(StatusCode::FORBIDDEN, "transaction_not_refundable", "Refund not allowed");
    }
    let amount = req.amount.unwrap_or(payin.amount);
    if amount == 0 || amount > payin.amount {
        return error(StatusCode::BAD_REQUEST, "Invalid amount", "The refund is larger than the payment");
    }
    let record = RefundRecord {
        kind: "refund".into(),
        reference: format!("rf_{}", random(20)),
        original_reference: key.clone(),
        amount,
        fee: 0,
        currency: payin.currency,
        status: RefundState::Completed,
        reason: Some(req.reason),
        refund_type: Some(if amount == payin.amount { "full" } else { "partial" }.into()),
        created_at: Some(crate::common::now_rfc3339()),
    };
    book.refunds.insert(key, (record.clone(), req.external_reference));
    (StatusCode::CREATED, Json(record)).into_response()
}

/// The sandbox's own list of the refunds it made (one per payin at most), each with the
/// merchant's `externalReference`: how a test counts refunds at the provider.
pub(super) async fn refunds(State(inner): State<Shared>) -> Json<Vec<serde_json::Value>> {
    let book = lock(&inner);
    Json(
        book.refunds
            .values()
            .map(|(record, external)| serde_json::json!({"externalReference": external, "refund": record}))
            .collect(),
    )
}

pub(super) async fn list(State(inner): State<Shared>) -> Json<Vec<Payin>> {
    Json(lock(&inner).payins.values().cloned().collect())
}

/// Any other path (the payout routes among them: the sandbox takes payins only): NovaSend's
/// error shape, 404.
pub(super) async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(StatusCode::NOT_FOUND, "route_not_found", &format!("Cannot {method} {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::fee_of;

    #[test]
    fn the_fee_is_the_payin_pages_example() {
        // https://docs.novasend.app/ (`payin`): amount 300, fee 6, chargedAmount 306.
        assert_eq!(fee_of(300), 6);
        assert_eq!(300 + fee_of(300), 306);
        assert_eq!(fee_of(101), 3, "rounded up to a whole franc");
        assert_eq!(fee_of(0), 0);
    }
}

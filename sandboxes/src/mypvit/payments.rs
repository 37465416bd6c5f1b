//! Payments through the REST API (`POST /v2/{code}/rest`), their status, the balance, KYC, and
//! the rules every transaction request is checked against.

use std::time::Duration;

use crate::misbehave::Misbehaviour;
use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use shared::phone::{Country, Network, PhoneNumber};

use super::{
    callbacks::*,
    errors::*,
    wire::{
        Amount, BalanceQuery, BalanceResponse, ChargeOwner, KycQuery, KycResponse, Operator, RestRequest,
        RestResponse, SERVICE_RESTFUL, StatusQuery, StatusResponse, TransactionStatus, TransactionType,
    },
    *,
};

/// The operator of a number written as MyPVit takes it (`0` + 8 digits, or `241` + 8 digits).
pub(super) fn customer_operator(number: &str) -> Option<Operator> {
    let digits = number.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits
        && ((number.len() == 9 && number.starts_with('0'))
            || (number.len() == 11 && number.starts_with("241")));
    if !well_formed {
        return None;
    }
    match PhoneNumber::parse(number, Country::Ga).ok()?.network() {
        Network::Airtel => Some(Operator::AirtelMoney),
        Network::Moov => Some(Operator::MoovMoney),
        _ => None,
    }
}

/// The national form of a valid number, for the test-number table.
pub(super) fn national(number: &str) -> String {
    match number.strip_prefix("241") {
        Some(rest) if number.len() == 11 => format!("0{rest}"),
        _ => number.to_owned(),
    }
}

pub(super) fn trigger_of(number: &str) -> Option<Trigger> {
    let national = national(number);
    TEST_NUMBERS.iter().find(|t| t.number == national).map(|t| t.trigger)
}

/// The refusal a test number causes before any transaction exists.
pub(super) fn refusal_for(number: &str) -> Option<Fault> {
    match trigger_of(number)? {
        Trigger::Blocked => Some(Fault::of("CUSTOMER_BLOCKED")),
        Trigger::PinNotSet => Some(Fault::of("CUSTOMER_PIN_NOT_SET")),
        Trigger::Unknown => Some(Fault::of("UNKNOWN_CUSTOMER")),
        Trigger::Named(_) => None,
    }
}

pub(super) fn fees_of(amount: u64) -> u64 {
    // 2.5 %, rounded up.
    (amount * 25).div_ceil(1000)
}

pub(super) fn too_long(value: Option<&str>, max: usize) -> bool {
    value.is_some_and(|v| v.chars().count() > max)
}

/// Reads a JSON or XML body (the document's "application/json ou application/xml"; the XML
/// form is in [`super::xml`]): media type, syntax, required fields, then the typed form.
pub(super) fn read_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    required: &[&str],
) -> Result<T, Fault> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let value: serde_json::Value = if media.trim_start().starts_with("application/json") {
        serde_json::from_slice(body).map_err(|_| Fault::of("UNREADABLE_REQUEST_BODY"))?
    } else if super::xml::is_xml(media) {
        super::xml::request_value(body).ok_or_else(|| Fault::of("UNREADABLE_REQUEST_BODY"))?
    } else {
        return Err(Fault::of("HTTP_MEDIA_TYPE_NOT_SUPPORTED"));
    };
    if value.get("transaction_type").is_none_or(serde_json::Value::is_null) {
        return Err(Fault::of("NULL_TRANSACTION_TYPE_IDENTIFIER"));
    }
    for field in required {
        let present = value.get(*field).is_some_and(|v| !v.is_null())
            || (*field == "customer_account_number" && value.get("customer_acccount_number").is_some());
        if !present {
            return Err(missing_param(field));
        }
    }
    serde_json::from_value(value).map_err(|e| Fault::saying("CONSTRAINT_VIOLATION", e.to_string()))
}

/// The checks common to `/rest` and `/link`; gives the number's operator (none for cards).
pub(super) fn check_common(
    inner: &Inner,
    amount: Amount,
    reference: &str,
    texts: [Option<&str>; 3],
    number: &str,
    account: &str,
    card: bool,
) -> Result<Option<Operator>, Fault> {
    if account != inner.merchant.operation_account_code {
        return Err(Fault::of("OPERATION_ACCOUNT_NOT_FOUND"));
    }
    if reference.is_empty()
        || too_long(Some(reference), 15)
        || texts.iter().any(|t| too_long(*t, 15))
        || too_long(Some(number), 20)
    {
        return Err(Fault::saying(
            "CONSTRAINT_VIOLATION",
            "reference, agent, product and free_info take 15 characters at most; the number 20",
        ));
    }
    let operator = if card {
        None
    } else {
        let Some(op) = customer_operator(number) else {
            return Err(Fault::of("INVALID_PHONE_NUMBER"));
        };
        if let Some(refusal) = refusal_for(number) {
            return Err(refusal);
        }
        Some(op)
    };
    if amount.0 <= 150 {
        return Err(Fault::of("TRANSACTION_AMOUNT_TOO_LOW"));
    }
    if lock(inner).by_reference.contains_key(reference) {
        return Err(Fault::saying(
            "TRANSACTION_REFERENCE_ALREADY_EXISTS",
            format!("The reference [{reference}] already exists"),
        ));
    }
    Ok(operator)
}

/// Records a new transaction; returns its id. `None` when the reference was taken meanwhile.
pub(super) fn record(inner: &Inner, mut t: Transaction, prefix: &str) -> Option<Transaction> {
    let mut book = lock(inner);
    if book.by_reference.contains_key(&t.merchant_reference_id) {
        return None;
    }
    book.counter += 1;
    let day = now_with(time::macros::format_description!("[day][month][year repr:last_two]"));
    t.reference_id = format!("{prefix}{day}{:06}", book.counter);
    if let Some((_, token)) = &mut t.link {
        *token = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(format!("{}{day}{:07}", inner.merchant.operation_account_code, book.counter));
        book.links.insert(token.clone(), t.reference_id.clone());
    }
    book.by_reference.insert(t.merchant_reference_id.clone(), t.reference_id.clone());
    book.transactions.insert(t.reference_id.clone(), t.clone());
    Some(t)
}

pub(super) fn new_transaction(
    kind: TransactionType,
    reference: &str,
    amount: Amount,
    owner_charge: ChargeOwner,
    operator: Option<Operator>,
    number: &str,
    free_info: Option<String>,
) -> Transaction {
    Transaction {
        reference_id: String::new(),
        merchant_reference_id: reference.to_owned(),
        kind,
        status: TransactionStatus::Pending,
        amount: amount.0,
        fees: fees_of(amount.0),
        owner_charge,
        operator,
        customer_account_number: number.to_owned(),
        free_info,
        date: now_with(time::macros::format_description!("[day]/[month]/[year] [hour]:[minute]:[second]")),
        link: None,
        link_used: false,
        callback_attempts: 0,
        callback_acknowledged: false,
        callback_xml: false,
    }
}

/// Applies the integration document's rule and the account's balance; returns the final status.
pub(super) fn conclude(book: &mut Book, reference_id: &str) -> Option<Transaction> {
    let balance = book.balance;
    let t = book.transactions.get_mut(reference_id)?;
    if t.status != TransactionStatus::Pending {
        return None;
    }
    let merchant_fees = if t.owner_charge == ChargeOwner::Merchant { t.fees } else { 0 };
    let by_rule = if t.amount <= MAX_SUCCEEDING_AMOUNT {
        TransactionStatus::Success
    } else {
        TransactionStatus::Failed
    };
    t.status = match (t.kind, by_rule) {
        (TransactionType::GiveChange, TransactionStatus::Success) if balance < t.amount + merchant_fees => {
            TransactionStatus::Failed
        }
        (_, s) => s,
    };
    let t = t.clone();
    if t.status == TransactionStatus::Success {
        match t.kind {
            TransactionType::Payment => book.balance += t.amount.saturating_sub(merchant_fees),
            _ => book.balance -= t.amount + merchant_fees,
        }
    }
    Some(t)
}

pub(super) fn rest_answer(t: &Transaction, merchant: &Merchant) -> RestResponse {
    let message = match (t.kind, t.status) {
        (TransactionType::Payment, _) => format!(
            "Votre demande de paiement {} a été initiée avec succès et est en cours de traitement. \
             Veuillez patienter le statut définitif de votre transaction",
            t.merchant_reference_id
        ),
        (_, TransactionStatus::Success) => {
            format!("Votre transaction {} a été effectué avec succès", t.merchant_reference_id)
        }
        _ => format!("Votre transaction {} a échoué", t.merchant_reference_id),
    };
    RestResponse {
        status: t.status,
        status_code: "200".into(),
        operator: t.operator,
        reference_id: Some(t.reference_id.clone()),
        merchant_reference_id: Some(t.merchant_reference_id.clone()),
        merchant_operation_account_code: Some(merchant.operation_account_code.clone()),
        message,
    }
}

pub(super) async fn rest(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{code}/rest");
    let m = &inner.merchant;
    if let Err(f) = guard(&inner, &headers, &code, &m.url_codes.rest)
        .and_then(|()| table_fields_only(&inner, &body, false))
    {
        return f.respond(&path);
    }
    let required = [
        "amount",
        "reference",
        "service",
        "customer_account_number",
        "merchant_operation_account_code",
        "owner_charge",
    ];
    let req: RestRequest = match read_body(&headers, &body, &required) {
        Ok(r) => r,
        Err(f) => return f.respond(&path),
    };
    if req.transaction_type == TransactionType::Unknown {
        return fail("TRANSACTION_TYPE_NOT_FOUND", &path, None);
    }
    if req.service != SERVICE_RESTFUL {
        return fail("SERVICE_NOT_FOUND", &path, None);
    }
    match (&req.callback_url_code, req.transaction_type) {
        (None, TransactionType::Payment) => return missing("callback_url_code", &path),
        (Some(c), _) if *c != m.callback_url_code => return fail("INVALID_CALLBACK_URL_CODE", &path, None),
        _ => {}
    }
    let operator = match check_common(
        &inner,
        req.amount,
        &req.reference,
        [req.agent.as_deref(), req.product.as_deref(), req.free_info.as_deref()],
        &req.customer_account_number,
        &req.merchant_operation_account_code,
        false,
    ) {
        Ok(c) => c,
        Err(f) => return f.respond(&path),
    };
    match req.operator_code {
        Some(Operator::Unknown) => return fail("OPERATOR_NOT_FOUND", &path, None),
        Some(op) if Some(op) != operator => {
            return fail(
                "INVALID_PHONE_NUMBER",
                &path,
                Some("The number does not belong to this operator".into()),
            );
        }
        _ => {}
    }
    let mut t = new_transaction(
        req.transaction_type,
        &req.reference,
        req.amount,
        req.owner_charge,
        operator,
        &req.customer_account_number,
        req.free_info.clone(),
    );
    t.callback_xml = super::xml::wants_xml_callbacks(&headers);
    if req.transaction_type == TransactionType::GiveChange {
        let merchant_fees = if req.owner_charge == ChargeOwner::Merchant { t.fees } else { 0 };
        if lock(&inner).balance < t.amount + merchant_fees {
            return fail("OPERATION_ACCOUNT_INSUFFICIENT_BALANCE", &path, None);
        }
    }
    let prefix = if req.transaction_type == TransactionType::Payment { "PAY" } else { "GCH" };
    let Some(t) = record(&inner, t, prefix) else {
        return fail(
            "TRANSACTION_REFERENCE_ALREADY_EXISTS",
            &path,
            Some(format!("The reference [{}] already exists", req.reference)),
        );
    };
    if req.transaction_type == TransactionType::GiveChange {
        // Synchronous: the final status is the answer; no callback.
        let done = conclude(&mut lock(&inner), &t.reference_id).unwrap_or(t);
        return Json(rest_answer(&done, m)).into_response();
    }
    let answer = rest_answer(&t, m);
    let (inner2, id) = (inner.clone(), t.reference_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(inner2.config.confirm_delay_ms)).await;
        settle(&inner2, &id).await;
    });
    Json(answer).into_response()
}

pub(super) async fn status(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/status");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.status) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(id) = q.transaction_id else { return missing("transactionId", &path) };
    let Some(account) = q.account_operation_code else { return missing("accountOperationCode", &path) };
    let Some(operation) = q.transaction_operation else { return missing("transactionOperation", &path) };
    if account != inner.merchant.operation_account_code {
        return fail("OPERATION_ACCOUNT_NOT_FOUND", &path, None);
    }
    let book = lock(&inner);
    // The `no_lookup_by_reference` mode: the merchant's reference finds nothing.
    if book.by_reference.contains_key(&id) && inner.misbehave.has(&id, &Misbehaviour::NoLookupByReference) {
        return fail("TRANSACTION_NOT_FOUND", &path, None);
    }
    let key = book.by_reference.get(&id).cloned().unwrap_or(id);
    match book.transactions.get(&key) {
        Some(t) if t.kind.as_str() == operation => Json(StatusResponse {
            date: t.date.clone(),
            status: t.status,
            // The `report_other_*` modes: a provider misreporting what it took.
            amount: Amount(if inner.misbehave.has(&key, &Misbehaviour::ReportOtherAmount) {
                t.amount.saturating_sub(1)
            } else {
                t.amount
            }),
            fees: serde_json::Number::from_f64(t.fees as f64),
            operator: t.operator,
            merchant_reference_id: if inner.misbehave.has(&key, &Misbehaviour::ReportOtherReference) {
                format!("{}X", t.merchant_reference_id)
            } else {
                t.merchant_reference_id.clone()
            },
            customer_account_number: Some(t.customer_account_number.clone()),
            merchant_operation_account_code: Some(inner.merchant.operation_account_code.clone()),
        })
        .into_response(),
        _ => fail("TRANSACTION_NOT_FOUND", &path, None),
    }
}

pub(super) async fn balance(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<BalanceQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/balance");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.balance) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(account) = q.account_operation_code else { return missing("accountOperationCode", &path) };
    if account != inner.merchant.operation_account_code {
        return fail("OPERATION_ACCOUNT_NOT_FOUND", &path, None);
    }
    let balance = lock(&inner).balance;
    Json(BalanceResponse { balance: Amount(balance), merchant_operation_account_code: account })
        .into_response()
}

pub(super) async fn kyc(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<KycQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/kyc");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.kyc) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(number) = q.customer_account_number else { return missing("customerAccountNumber", &path) };
    if customer_operator(&number).is_none() {
        return fail("INVALID_PHONE_NUMBER", &path, None);
    }
    let (name, active) = match trigger_of(&number) {
        Some(Trigger::Unknown) => return fail("UNKNOWN_CUSTOMER", &path, None),
        Some(Trigger::Blocked) => ("Client Bloqué", false),
        Some(Trigger::Named(n)) => (n, true),
        Some(Trigger::PinNotSet) | None => ("Client Sandbox", true),
    };
    Json(KycResponse { full_name: name.into(), customer_account_number: number, is_active: active })
        .into_response()
}

pub(super) async fn list(State(inner): State<Shared>) -> Json<Vec<Transaction>> {
    let mut all: Vec<Transaction> = lock(&inner).transactions.values().cloned().collect();
    all.sort_by(|a, b| a.reference_id.cmp(&b.reference_id));
    Json(all)
}

//! CaurisFlux's API routes: `POST /payments/initiate` with its documented validation
//! (https://docs.caurisflux.com/api-reference/payments/initiate and `/guides/errors`), the
//! status, the public lists, the error shape, and the sandbox's own list of payments.

use std::net::SocketAddr;

use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::phone::{Country, PhoneNumber};

use super::{
    access::*,
    customer::*,
    wire::{
        COVERAGE, Currency, Envelope, ErrorBody, ErrorMessage, IDEMPOTENCY_HEADER, InitiateRequest,
        MobileProvider, Payment, PaymentStatus, PaymentType, coverage,
    },
    *,
};

pub(super) fn error(status: StatusCode, code: Option<&str>, message: &str) -> Response {
    let body = ErrorBody {
        status_code: Some(status.as_u16()),
        message: Some(ErrorMessage::One(message.to_owned())),
        error: code.map(str::to_owned),
        code: None,
    };
    (status, Json(body)).into_response()
}

pub(super) fn internal_error() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal server error")
}

pub(super) async fn not_found(method: Method, uri: Uri) -> Response {
    let body = ErrorBody {
        status_code: Some(404),
        message: Some(ErrorMessage::One(format!("Cannot {method} {}", uri.path()))),
        error: Some("Not Found".into()),
        code: None,
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

pub(super) fn validation(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"), message)
}

pub(super) const AMOUNT_RANGE: &str = "Le montant doit être entre 100 et 5 000 000";

pub(super) fn optional_text(
    obj: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<String>, &'static str> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("Corps de requête invalide"),
    }
}

pub(super) fn e164_of(phone: &str, country: Option<Country>) -> Result<String, &'static str> {
    match PhoneNumber::parse_e164(phone) {
        Ok(p) if country.is_none_or(|c| c == p.country()) => Ok(p.as_e164().to_owned()),
        _ => Err("Format de numéro invalide"),
    }
}

/// Any number in E.164 form (ITU-T E.164: `+`, a country code not starting with 0, 15 digits at
/// most; the errors guide's "Format E.164", https://docs.caurisflux.com/guides/errors), of any
/// country; numbers of the countries the sandbox knows are also checked against their plan.
pub(super) fn any_e164(phone: &str) -> Result<String, &'static str> {
    if let Ok(p) = PhoneNumber::parse_e164(phone) {
        return Ok(p.as_e164().to_owned());
    }
    let digits = phone.strip_prefix('+').ok_or("Format de numéro invalide")?;
    let well_formed = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    // A number of a known country's calling code that its plan refuses is not valid either.
    let known_code = Country::ALL.iter().any(|c| digits.starts_with(c.plan().calling_code));
    if well_formed && !known_code { Ok(phone.to_owned()) } else { Err("Format de numéro invalide") }
}

/// Applies the documented validation rules, in order; the first broken one is the message.
pub(super) fn validate(value: &Value) -> Result<InitiateRequest, &'static str> {
    let obj = value.as_object().ok_or("Corps de requête invalide")?;
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("direct") => PaymentType::Direct,
        Some("checkout") => PaymentType::Checkout,
        _ => return Err("Type de paiement invalide (direct ou checkout)"),
    };
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => u,
            // The plugin sends floats: 5000.0 is 5000; 5000.5 is not a whole amount.
            (None, Some(f)) if f.fract() == 0.0 && (0.0..=1e12).contains(&f) => f as u64,
            _ => return Err("Montant invalide"),
        },
        _ => return Err("Montant invalide"),
    };
    if !(100..=5_000_000).contains(&amount) {
        return Err(AMOUNT_RANGE);
    }
    let currency = match obj.get("currency") {
        None | Some(Value::Null) => Currency::default(),
        Some(Value::String(s)) => Currency::parse(s).ok_or("Devise non supportée")?,
        Some(_) => return Err("Devise non supportée"),
    };
    let external_reference = optional_text(obj, "externalReference")?
        .filter(|r| !r.trim().is_empty() && r.len() <= 128)
        .ok_or("La référence externe (externalReference) est requise")?;
    let provider = optional_text(obj, "provider")?
        .map(|p| MobileProvider::parse(&p).ok_or("Méthode de paiement invalide"))
        .transpose()?;
    let country = optional_text(obj, "country")?
        .map(|c| Country::parse(&c).filter(|c| coverage(*c).is_some()).ok_or("Pays non supporté"))
        .transpose()?;
    let phone = optional_text(obj, "customerPhone")?.filter(|p| !p.is_empty());
    let customer_phone = match kind {
        PaymentType::Direct => {
            let provider = provider.ok_or("Méthode de paiement invalide")?;
            let country = country.ok_or("Pays non supporté")?;
            let (zone_currency, operators) = coverage(country).ok_or("Pays non supporté")?;
            if currency != zone_currency {
                return Err("Devise non supportée");
            }
            if !operators.contains(&provider) {
                return Err("Provider non disponible");
            }
            Some(e164_of(phone.as_deref().ok_or("Format de numéro invalide")?, Some(country))?)
        }
        PaymentType::Checkout => {
            if let Some((zone_currency, _)) = country.and_then(coverage)
                && currency != zone_currency
            {
                return Err("Devise non supportée");
            }
            // The hosted page also takes cards, from customers of any country: any E.164
            // number will do.
            phone.as_deref().map(any_e164).transpose()?
        }
    };
    let url = |name| -> Result<Option<String>, &'static str> {
        match optional_text(obj, name)? {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => Err("URL invalide"),
            other => Ok(other),
        }
    };
    let customer_email = optional_text(obj, "customerEmail")?;
    if customer_email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err("Adresse e-mail invalide");
    }
    Ok(InitiateRequest {
        kind,
        amount,
        currency,
        external_reference,
        provider,
        country: country.map(|c| c.code().to_owned()),
        customer_phone,
        customer_name: optional_text(obj, "customerName")?,
        customer_email,
        description: optional_text(obj, "description")?,
        callback_url: url("callbackUrl")?,
        return_url: url("returnUrl")?,
        cancel_url: url("cancelUrl")?,
        metadata: obj.get("metadata").filter(|m| !m.is_null()).cloned(),
    })
}

pub(super) fn new_transaction_id(book: &Book) -> String {
    let mut rng = rand::rng();
    loop {
        let id = format!("TX{:09}", rng.random_range(0..1_000_000_000u32));
        if !book.payments.contains_key(&id) {
            return id;
        }
    }
}

pub(super) fn ok(payment: &Payment) -> Response {
    (StatusCode::OK, Json(Envelope { success: true, data: payment.clone() })).into_response()
}

/// The fields of the `payments/initiate` answer: the response example's
/// (<https://docs.caurisflux.com/api-reference/payments/initiate>, kept as
/// `server/tests/fixtures/caurisflux/initiate_response.json`) and `expiresAt`, which the same
/// page lists. The payment's other fields are the status's, not the initiation's.
const INITIATE_FIELDS: &[&str] =
    &["transactionId", "status", "amount", "currency", "redirectUrl", "createdAt", "expiresAt", "deepLinks"];

/// The answer to an initiation (and to its replay under the same key): the documented fields.
pub(super) fn initiated(payment: &Payment) -> Response {
    let mut data = serde_json::to_value(payment).unwrap_or_default();
    if let Some(fields) = data.as_object_mut() {
        fields.retain(|k, _| INITIATE_FIELDS.contains(&k.as_str()));
    }
    (StatusCode::OK, Json(serde_json::json!({"success": true, "data": data}))).into_response()
}

/// `deepLinks` of a direct payment: the initiate page lists the member as an object and prints
/// none, so the sandbox's shape is chosen: one entry per operator whose app the customer opens
/// to pay, keyed by its `provider` code. Wave is paid in its app: its entry is the payment's link
/// (the sandbox has no app, so the same page as `redirectUrl`); a push operator's customer opens
/// nothing (the prompt comes to the phone), so its object is empty.
pub(super) fn deep_links(provider: Option<MobileProvider>, redirect_url: Option<&str>) -> Value {
    let mut links = serde_json::Map::new();
    if let (Some(p), Some(url)) = (provider, redirect_url)
        && p.pays_by_link()
    {
        links.insert(p.code().to_owned(), Value::String(url.to_owned()));
    }
    Value::Object(links)
}

pub(super) async fn initiate(
    State(inner): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = guard(&inner, &headers, peer.ip()) {
        return refused.into_response();
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return validation("Corps de requête JSON invalide");
    };
    let req = match validate(&value) {
        Ok(r) => r,
        Err(message) => return validation(message),
    };
    if let (Some(provider), Some(country)) = (req.provider, req.country.as_deref())
        && !listed(&inner, provider, country)
    {
        return validation("Provider non disponible");
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    let outcome = outcome_of(req.customer_phone.as_deref());
    let pays_by_page =
        req.kind == PaymentType::Checkout || req.provider.is_some_and(MobileProvider::pays_by_link);

    let payment = {
        let mut book = lock(&inner.book);
        // `X-Idempotency-Key` is optional, "for example an order id"
        // (https://docs.caurisflux.com/api-reference/payments/initiate); the page says nothing
        // more. What the sandbox decides where it is silent: the key replays the answer of the
        // same request (same body) sent under it, which is what a retry after a lost answer
        // needs. A different body under a used key, or a used `externalReference` under another
        // key, is a new payment: no document names a refusal for either (the official plugin's
        // keys, `wc_order_<id>_<key>`, stay the same over every try of one order, so a refusal
        // would make an order whose first payment failed unpayable), and the key then answers
        // for the newest payment.
        if let Some(key) = &key
            && let Some((first, id)) = book.by_key.get(key)
            && *first == req
        {
            return match book.payments.get(id) {
                Some(entry) => initiated(&entry.payment),
                None => internal_error(),
            };
        }
        if outcome == Outcome::FirstCallLost && book.lost_first_calls.insert(req.external_reference.clone()) {
            return internal_error();
        }
        if let Some((status, code, message)) = outcome.refusal() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            return error(status, Some(code), message);
        }
        let id = new_transaction_id(&book);
        let now = crate::common::now_rfc3339();
        let redirect_url = pays_by_page.then(|| format!("{}/pay/{id}", inner.base_url));
        let payment = Payment {
            transaction_id: Some(id.clone()),
            external_reference: Some(req.external_reference.clone()),
            kind: Some("payment".into()),
            status: Some(PaymentStatus::Pending),
            amount: Some(req.amount.into()),
            currency: Some(req.currency.code().into()),
            provider: req.provider.map(|p| p.code().to_owned()),
            country: req.country.clone(),
            customer_phone: req.customer_phone.clone(),
            redirect_url: redirect_url.clone(),
            deep_links: (req.kind == PaymentType::Direct)
                .then(|| deep_links(req.provider, redirect_url.as_deref())),
            created_at: Some(now.clone()),
            updated_at: Some(now),
            expires_at: Some(text_in(inner.config.expire_after_ms)),
            metadata: req.metadata.clone(),
            ..Payment::default()
        };
        book.order.push(id.clone());
        book.by_reference.insert(req.external_reference.clone(), id.clone());
        if let Some(key) = key {
            book.by_key.insert(key, (req.clone(), id.clone()));
        }
        book.payments.insert(id, Entry { payment: payment.clone(), request: req });
        payment
    };
    if let Some(id) = payment.transaction_id.clone() {
        schedule(inner.clone(), id, outcome, pays_by_page);
    }
    if outcome == Outcome::AnswerLost { internal_error() } else { initiated(&payment) }
}

pub(super) async fn status(
    State(inner): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = guard(&inner, &headers, peer.ip()) {
        return refused.into_response();
    }
    let book = lock(&inner.book);
    // The `no_lookup_by_reference` mode: the merchant's `externalReference` finds nothing.
    if book.by_reference.contains_key(&id)
        && inner.misbehave.has(&id, &crate::misbehave::Misbehaviour::NoLookupByReference)
    {
        return error(StatusCode::NOT_FOUND, Some("NOT_FOUND"), "Transaction introuvable");
    }
    let key = book.by_reference.get(&id).cloned().unwrap_or(id);
    match book.payments.get(&key) {
        Some(entry) => ok(&entry.payment),
        None => error(StatusCode::NOT_FOUND, Some("NOT_FOUND"), "Transaction introuvable"),
    }
}

/// One entry of `GET /payments/providers`. The docs name the endpoint (public, no key;
/// https://docs.caurisflux.com/api-reference/introduction.html) but print no body, and the
/// official plugin (github.com/caurisflux/caurisflux-wp) reads none: the shape is the smallest
/// that says which `provider` code is served where, in the `{success, data}` envelope of
/// `payments/initiate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ProviderInfo {
    /// The `provider` code.
    pub code: MobileProvider,
    /// ISO 3166-1 alpha-2 codes of the countries where it is served.
    pub countries: Vec<String>,
}

/// What the sandbox lists at start: [`COVERAGE`], operator by operator.
pub(super) fn default_listing() -> Vec<ProviderInfo> {
    MobileProvider::ALL
        .into_iter()
        .map(|code| ProviderInfo {
            code,
            countries: COVERAGE
                .iter()
                .filter(|(_, _, ops)| ops.contains(&code))
                .map(|(c, _, _)| c.code().to_owned())
                .collect(),
        })
        .collect()
}

/// Whether the current listing serves `provider` in `country`.
pub(super) fn listed(inner: &Inner, provider: MobileProvider, country: &str) -> bool {
    lock(&inner.listing).iter().any(|p| p.code == provider && p.countries.iter().any(|c| c == country))
}

pub(super) async fn providers(State(inner): State<Shared>) -> Json<Envelope<Vec<ProviderInfo>>> {
    Json(Envelope { success: true, data: lock(&inner.listing).clone() })
}

/// `PUT /_sandbox/providers` (sandbox only): replaces the listing (an operator withdrawn, a
/// country added); `initiate` then refuses what is no longer listed ("Provider non disponible").
pub(super) async fn set_providers(
    State(inner): State<Shared>,
    Json(listing): Json<Vec<ProviderInfo>>,
) -> StatusCode {
    *lock(&inner.listing) = listing;
    StatusCode::NO_CONTENT
}

pub(super) async fn countries() -> Json<Envelope<Vec<Value>>> {
    let data = COVERAGE
        .iter()
        .map(|(c, currency, _)| serde_json::json!({"code": c.code(), "currency": currency.code()}))
        .collect();
    Json(Envelope { success: true, data })
}

pub(super) async fn list(State(inner): State<Shared>) -> Json<Vec<Payment>> {
    let book = lock(&inner.book);
    Json(book.order.iter().filter_map(|id| book.payments.get(id)).map(|e| e.payment.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_numbers_may_be_of_any_country() {
        let body = |phone: &str| {
            serde_json::json!({"type": "checkout", "amount": 5000, "currency": "XOF",
                "externalReference": "ord-1", "customerPhone": phone})
        };
        // A French mobile, a Belgian one: the hosted page takes their cards.
        for phone in ["+33612345678", "+32470123456"] {
            let req = validate(&body(phone)).unwrap_or_else(|e| panic!("{phone}: {e}"));
            assert_eq!(req.customer_phone.as_deref(), Some(phone));
        }
        for bad in ["0612345678", "+0612345678", "+3361234567890123", "+33 6 12", "+2250000"] {
            assert_eq!(validate(&body(bad)).unwrap_err(), "Format de numéro invalide", "{bad}");
        }
    }

    #[test]
    fn amounts_are_whole_francs_in_xof_or_xaf() {
        // The initiate page's example: `"amount": 5000, "currency": "XOF"`
        // (https://docs.caurisflux.com/api-reference/payments/initiate).
        let body = |amount: Value, currency: Value| {
            let mut b =
                serde_json::json!({"type": "checkout", "amount": amount, "externalReference": "ord-1"});
            if !currency.is_null() {
                b["currency"] = currency;
            }
            b
        };
        let read = |amount: Value, currency: Value| {
            validate(&body(amount, currency)).map(|r| (r.amount, r.currency))
        };
        assert_eq!(read(5000.into(), "XOF".into()), Ok((5000, Currency::Xof)));
        assert_eq!(read(5000.into(), Value::Null), Ok((5000, Currency::Xof)), "XOF by default");
        assert_eq!(read(5000.into(), "XAF".into()), Ok((5000, Currency::Xaf)));
        // The plugin sends floats: 5000.0 is 5000 francs.
        assert_eq!(read(serde_json::json!(5000.0), "XOF".into()), Ok((5000, Currency::Xof)));
        assert_eq!(read(100.into(), "XOF".into()), Ok((100, Currency::Xof)));
        assert_eq!(read(5_000_000.into(), "XOF".into()), Ok((5_000_000, Currency::Xof)));
        for (amount, message) in [
            (serde_json::json!(5000.5), "Montant invalide"),
            (serde_json::json!("5000"), "Montant invalide"),
            (serde_json::json!(-5000), "Montant invalide"),
            (serde_json::json!(99), AMOUNT_RANGE),
            (serde_json::json!(5_000_001), AMOUNT_RANGE),
        ] {
            assert_eq!(read(amount.clone(), "XOF".into()), Err(message), "{amount}");
        }
        for currency in ["EUR", "GNF", "xof", ""] {
            assert_eq!(read(5000.into(), currency.into()), Err("Devise non supportée"), "{currency}");
        }
        assert_eq!(serde_json::to_value(Currency::Xaf).unwrap(), "XAF");
        assert_eq!(serde_json::from_str::<Currency>("\"XOF\"").unwrap(), Currency::Xof);
    }
}

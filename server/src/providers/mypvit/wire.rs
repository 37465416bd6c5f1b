//! MyPVit's wire format, as its integration document v5.5 (01/11/2024, the primary source;
//! examples in `server/tests/fixtures/mypvit/`) shows it, with the v2 web docs
//! (<https://docs.mypvit.pro/en/v2/api/renew-secret>) and integrators' clients where the
//! document is silent: request and response bodies of the APIs the adapter calls (`/rest`,
//! `/status`, `/renew-secret`), query strings, the callback and its acknowledgement, the secret-key
//! delivery and the error body.
//!
//! Status and operator enums keep an `Unknown` for values the document does not list.
//! Amounts are the document's `double`: [`Amount`] holds whole francs (XAF has no minor unit)
//! and refuses fractions, so no float reaches the payment logic. Fees are informational and
//! kept as the exact JSON number sent.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in whole CFA francs, written as the document's JSON `double` (`200.0`) and read
/// from either `200` or `200.0`; fractions, negatives and non-numbers are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub u64);

/// The largest amount read: far above any wallet's ceiling and exact as a `double`.
const MAX_AMOUNT: u64 = 1 << 53;

impl Amount {
    /// Reads a JSON number holding a whole, non-negative amount.
    pub fn from_number(n: &serde_json::Number) -> Option<Amount> {
        if let Some(u) = n.as_u64() {
            return (u <= MAX_AMOUNT).then_some(Amount(u));
        }
        let f = n.as_f64()?;
        // `f` is finite (JSON has no NaN or infinity) and checked whole and in range, so the
        // conversion is exact.
        (f >= 0.0 && f.fract() == 0.0 && f <= MAX_AMOUNT as f64).then_some(Amount(f as u64))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact: amounts are at most 2^53.
        s.serialize_f64(self.0 as f64)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        Amount::from_number(&n)
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole amount of francs")))
    }
}

/// Reads a code the document writes as text in successes (`"200"`) and as a number in errors
/// (`10003`).
fn code_text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => t,
        Either::Number(n) => n.to_string(),
    })
}

/// Who pays PVit's (or the operator's) fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChargeOwner {
    /// The merchant.
    Merchant,
    /// The customer.
    Customer,
}

/// `transaction_type` / `transactionOperation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    /// The customer pays the merchant (asynchronous: final status by callback).
    Payment,
    /// The merchant pays the customer ("rendu de monnaie", synchronous).
    GiveChange,
    /// A value the document does not list.
    #[serde(other)]
    Unknown,
}

impl TransactionType {
    /// The wire form, for query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Payment => "PAYMENT",
            TransactionType::GiveChange => "GIVE_CHANGE",
            TransactionType::Unknown => "UNKNOWN",
        }
    }
}

/// The mobile-money operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Airtel Money (Gabon: 074, 076, 077).
    AirtelMoney,
    /// Moov Money (Gabon: 062, 065, 066).
    MoovMoney,
    /// A value the document does not list (e.g. a card operator).
    #[serde(other)]
    Unknown,
}

/// A transaction's state: `PENDING`, `SUCCESS`, `FAILED`, and `AMBIGUOUS` (integrators' status
/// types; the document's table has `AMBIGUOUS_TRANSACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionStatus {
    /// Waiting for the customer or the operator.
    Pending,
    /// Money moved.
    Success,
    /// Refused or failed.
    Failed,
    /// The operator's outcome is not known yet: never final.
    Ambiguous,
    /// A value the document does not list.
    #[serde(other)]
    Unknown,
}

/// `service` of `/rest`: only `RESTFUL` is documented (one integrator sends `REST`).
pub const SERVICE_RESTFUL: &str = "RESTFUL";

/// `POST /{code}/rest` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestRequest {
    /// Initiating agent, 15 characters at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// More than 150.
    pub amount: Amount,
    /// Product name, 15 characters at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The merchant's reference, 15 characters at most.
    pub reference: String,
    /// [`SERVICE_RESTFUL`].
    pub service: String,
    /// The code of a callback URL registered in the merchant's space (PAYMENT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url_code: Option<String>,
    /// The customer's number (`0XXXXXXXX` or `241XXXXXXXX`), 20 characters at most.
    pub customer_account_number: String,
    /// The merchant's operation account, `ACC_…`.
    pub merchant_operation_account_code: String,
    /// PAYMENT or GIVE_CHANGE.
    pub transaction_type: TransactionType,
    /// Who pays PVit's fees.
    pub owner_charge: ChargeOwner,
    /// Who pays the operator's fees (default CUSTOMER). The document's parameter table names it
    /// `operator_owner_charge`, its examples (and integrators) `owner_charge_operator`: the
    /// table's name is sent (the parameter table is the specification; the examples are
    /// illustrations, `server/tests/fixtures/mypvit/README.md`), both are read.
    #[serde(
        default,
        rename = "operator_owner_charge",
        alias = "owner_charge_operator",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_charge_operator: Option<ChargeOwner>,
    /// The operator. Not in the document's parameter table ("L'opérateur … est automatiquement
    /// déterminé en fonction du numéro de téléphone du client"): the adapter never sends it;
    /// integrators do, so it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_code: Option<Operator>,
    /// Free text, 15 characters at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_info: Option<String>,
}

/// The answer of `/rest` (and, per integrators, of a refused `/rest` with status FAILED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestResponse {
    /// PENDING for PAYMENT; SUCCESS or FAILED for GIVE_CHANGE.
    pub status: TransactionStatus,
    /// `"200"`.
    #[serde(deserialize_with = "code_text_or_number")]
    pub status_code: String,
    /// The operator derived from the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// MyPVit's transaction id (`PAY…`, `GCH…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// The merchant's reference, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference_id: Option<String>,
    /// The operation account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_operation_account_code: Option<String>,
    /// Human-readable text (French).
    #[serde(default)]
    pub message: String,
}

/// `GET /{code}/status` query (the document's status parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    /// MyPVit's id or the merchant's reference (the document's example passes the latter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The operation account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_operation_code: Option<String>,
    /// PAYMENT or GIVE_CHANGE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_operation: Option<String>,
}

/// The answer of `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// `dd/MM/yyyy HH:mm:ss`.
    #[serde(default)]
    pub date: String,
    /// The state.
    pub status: TransactionStatus,
    /// The amount.
    pub amount: Amount,
    /// The fees, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<serde_json::Number>,
    /// The operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// The merchant's reference.
    pub merchant_reference_id: String,
    /// The customer's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_account_number: Option<String>,
    /// The operation account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_operation_account_code: Option<String>,
}

/// The answer of `/status` as the verifier reads it for a payment: only what it acts on, with
/// the amount taken as sent (a number, or anything else), so that an amount that is no whole
/// number of francs is reported as a mismatch instead of making the answer unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusReport {
    /// The state.
    pub status: TransactionStatus,
    /// The amount, as sent (`null` when absent).
    #[serde(default)]
    pub amount: serde_json::Value,
    /// The merchant's reference, as echoed.
    pub merchant_reference_id: String,
}

impl StatusReport {
    /// The amount's text: a JSON number as written (`200.0`), a string as is; `None` when absent.
    pub fn amount_text(&self) -> Option<String> {
        match &self.amount {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// `POST /{code}/renew-secret` form (`application/x-www-form-urlencoded`). The v2 web docs
/// call the first field `accountOperationCode`; the document and every integrator send
/// `operationAccountCode`, which is sent here.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewSecretForm {
    /// The operation account.
    #[serde(default, alias = "accountOperationCode")]
    pub operation_account_code: Option<String>,
    /// The code of the registered secret-reception URL.
    #[serde(default)]
    pub reception_url_code: Option<String>,
    /// The renewal password.
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for RenewSecretForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewSecretForm")
            .field("operation_account_code", &self.operation_account_code)
            .field("reception_url_code", &self.reception_url_code)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// The answer of `renew-secret`: in the document a message only (the key goes to the reception
/// URL); in the v2 web docs (<https://docs.mypvit.pro/en/v2/api/renew-secret>) the key itself
/// as `secret`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewSecretResponse {
    /// `"200"` (the document).
    #[serde(default, deserialize_with = "code_text_or_number", skip_serializing_if = "String::is_empty")]
    pub status_code: String,
    /// "Secret key generated and sent successfully" (the document).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The operation account (v2 docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_account_code: Option<String>,
    /// The new key (v2 docs: `secret`).
    #[serde(default, alias = "secret_key", skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Its lifetime in seconds (v2 docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl fmt::Debug for RenewSecretResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewSecretResponse")
            .field("status_code", &self.status_code)
            .field("message", &self.message)
            .field("operation_account_code", &self.operation_account_code)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The new key, as MyPVit POSTs it to the secret-reception URL.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDelivery {
    /// The operation account the key opens.
    pub operation_account_code: String,
    /// The key, `sk_live_…`.
    pub secret_key: String,
    /// Its lifetime in seconds (3600).
    pub expires_in: u64,
}

impl fmt::Debug for SecretDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretDelivery")
            .field("operation_account_code", &self.operation_account_code)
            .field("secret_key", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The final-status callback of a PAYMENT (JSON when `X-Callback-MediaType` is
/// `application/json`, the default). It carries no signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// MyPVit's id (`PAY…`).
    pub transaction_id: String,
    /// The merchant's reference.
    pub merchant_reference_id: String,
    /// SUCCESS or FAILED.
    pub status: TransactionStatus,
    /// The amount.
    pub amount: Amount,
    /// The customer's number.
    #[serde(rename = "customerID", default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The fees, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<serde_json::Number>,
    /// Amount and fees, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<serde_json::Number>,
    /// Who paid the fees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_owner: Option<ChargeOwner>,
    /// The free text sent.
    #[serde(default)]
    pub free_info: Option<String>,
    /// PAYMENT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_operation: Option<TransactionType>,
    /// The code to echo in the acknowledgement.
    pub code: i64,
    /// `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_media_type: Option<String>,
    /// The operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
}

/// The mandatory answer to a callback: the callback's `transactionId` and `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackAck {
    /// The callback's `code`.
    pub response_code: i64,
    /// The callback's `transactionId`.
    pub transaction_id: String,
}

/// MyPVit's error body:
/// `{"date", "status_code": 10003, "error": "MISSING_REQUEST_PARAM", "message", "path"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `DDMMyyyy-HHmmss`.
    #[serde(default)]
    pub date: String,
    /// The application's code (a number; read from text too).
    #[serde(deserialize_with = "code_text_or_number")]
    pub status_code: String,
    /// The error's type, e.g. `MISSING_REQUEST_PARAM`: what adapters classify by.
    pub error: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
    /// The path that failed.
    #[serde(default)]
    pub path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mypvit/", $name))
        };
    }

    #[test]
    fn seed_requests_parse() {
        let r: RestRequest = serde_json::from_str(fixture!("rest_payment_request.json")).unwrap();
        assert_eq!(r.amount, Amount(200));
        assert_eq!(r.reference, "REF08190271");
        assert_eq!(r.transaction_type, TransactionType::Payment);
        assert_eq!(r.owner_charge_operator, Some(ChargeOwner::Merchant));
        assert_eq!(r.callback_url_code.as_deref(), Some("1B9LW"));
        // The form travels url-encoded (tested over HTTP against the sandbox in
        // `tests/adapters/mypvit.rs`). Its Debug output never shows the password.
        let form = RenewSecretForm {
            operation_account_code: Some("ACC_672CD66E148BD".into()),
            reception_url_code: Some("T0FHF".into()),
            password: Some("XXXXXXXXXXX".into()),
        };
        assert!(!format!("{form:?}").contains("XXXXXXXXXXX"));
    }

    #[test]
    fn seed_responses_parse() {
        let p: RestResponse = serde_json::from_str(fixture!("rest_payment_response.json")).unwrap();
        assert_eq!(p.status, TransactionStatus::Pending);
        assert_eq!(p.status_code, "200");
        assert_eq!(p.operator, Some(Operator::MoovMoney));
        assert_eq!(p.reference_id.as_deref(), Some("PAY171124000170"));
        let g: RestResponse = serde_json::from_str(fixture!("rest_give_change_response.json")).unwrap();
        assert_eq!(g.status, TransactionStatus::Success);
        assert_eq!(g.reference_id.as_deref(), Some("GCH171124000173"));
        let v2: RestResponse = serde_json::from_str(fixture!("rest_response_providers_md.json")).unwrap();
        assert_eq!(v2.operator, Some(Operator::AirtelMoney));
        let s: StatusResponse = serde_json::from_str(fixture!("status_response.json")).unwrap();
        assert_eq!((s.status, s.amount), (TransactionStatus::Failed, Amount(200)));
        assert_eq!(s.merchant_reference_id, "REF13090141");
        let e: ErrorBody = serde_json::from_str(fixture!("error_response.json")).unwrap();
        assert_eq!((e.error.as_str(), e.status_code.as_str()), ("MISSING_REQUEST_PARAM", "10003"));
        let r: RenewSecretResponse = serde_json::from_str(fixture!("renew_secret_response.json")).unwrap();
        assert_eq!(r.secret, None);
        assert_eq!(r.message, "Secret key generated and sent successfully");
        let r: RenewSecretResponse =
            serde_json::from_str(fixture!("renew_secret_response_providers_md.json")).unwrap();
        assert_eq!(r.secret.as_deref(), Some("sk_live_…"));
        assert_eq!(r.expires_in, Some(3600));
        assert!(!format!("{r:?}").contains("sk_live"), "Debug hides the key");
        let d: SecretDelivery = serde_json::from_str(fixture!("secret_delivery.json")).unwrap();
        assert_eq!(d.expires_in, 3600);
        assert!(!format!("{d:?}").contains("sk_live"), "Debug hides the key");
    }

    #[test]
    fn seed_callback_and_its_acknowledgement() {
        let c: Callback = serde_json::from_str(fixture!("callback.json")).unwrap();
        assert_eq!(c.transaction_id, "PAY0601250139681");
        assert_eq!(c.status, TransactionStatus::Success);
        assert_eq!(c.amount, Amount(200));
        assert_eq!(c.customer_id.as_deref(), Some("066820866"));
        assert_eq!(c.code, 200);
        let ack: CallbackAck = serde_json::from_str(fixture!("callback_ack.json")).unwrap();
        assert_eq!(ack, CallbackAck { response_code: c.code, transaction_id: c.transaction_id });
    }

    #[test]
    fn amounts_are_whole_francs_written_as_doubles() {
        assert_eq!(serde_json::to_string(&Amount(200)).unwrap(), "200.0");
        for ok in ["200", "200.0", "0", "1000.0"] {
            assert!(serde_json::from_str::<Amount>(ok).is_ok(), "{ok}");
        }
        for bad in ["200.5", "-1", "\"200\"", "1e300", "null"] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_values_are_kept_apart() {
        let s: TransactionStatus = serde_json::from_str("\"REVERSED\"").unwrap();
        assert_eq!(s, TransactionStatus::Unknown);
        let s: TransactionStatus = serde_json::from_str("\"AMBIGUOUS\"").unwrap();
        assert_eq!(s, TransactionStatus::Ambiguous);
        let o: Operator = serde_json::from_str("\"VISA_MASTERCARD\"").unwrap();
        assert_eq!(o, Operator::Unknown);
    }
}

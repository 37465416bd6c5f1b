//! MyPVit's wire format, as its integration document v5.5 (01/11/2024) shows it
//! (https://docs.mypvit.pro/en/intro/integration-guide; the renewal page
//! `/en/v2/api/renew-secret`): request and response bodies, query strings, the callback and its
//! acknowledgement, the secret-key delivery and the error body.
//!
//! Amounts are the document's `double`: [`Amount`] holds whole francs (XAF has no minor unit)
//! and refuses fractions. Fees are kept as the exact JSON number sent.

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

/// A transaction's state: `PENDING`, `SUCCESS`, `FAILED`, and `AMBIGUOUS` (docs.mypvit.pro v2 pages).
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
    /// Who pays the operator's fees (default CUSTOMER). The document's table names it
    /// `operator_owner_charge`, its example (and integrators) `owner_charge_operator`: the
    /// example's name is sent, both are read.
    #[serde(default, alias = "operator_owner_charge", skip_serializing_if = "Option::is_none")]
    pub owner_charge_operator: Option<ChargeOwner>,
    /// The operator; the document derives it from the number, integrators send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_code: Option<Operator>,
    /// Free text, 15 characters at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_info: Option<String>,
}

/// The answer of `/rest` (and, per integrators' code, of a refused `/rest` with status FAILED).
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

/// `service` of `/link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkService {
    /// Airtel Money or Moov Money on MyPVit's payment page.
    Web,
    /// Card on MyPVit's payment page.
    VisaMastercard,
    /// Opening the link pushes the PIN prompt to the customer's phone; no page.
    Restlink,
    /// A value the document does not list.
    #[serde(other)]
    Unknown,
}

/// `POST /{code}/link` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequest {
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
    /// WEB, VISA_MASTERCARD or RESTLINK.
    pub service: LinkService,
    /// The code of a registered callback URL.
    pub callback_url_code: String,
    /// The customer's number. The document's WEB example spells it `customer_acccount_number`
    /// (three `c`); that spelling is read too.
    #[serde(alias = "customer_acccount_number")]
    pub customer_account_number: String,
    /// The merchant's operation account.
    pub merchant_operation_account_code: String,
    /// PAYMENT (the RESTLINK example shows GIVE_CHANGE).
    pub transaction_type: TransactionType,
    /// Who pays PVit's fees.
    pub owner_charge: ChargeOwner,
    /// Who pays the operator's fees; see [`RestRequest::owner_charge_operator`].
    #[serde(default, alias = "operator_owner_charge", skip_serializing_if = "Option::is_none")]
    pub owner_charge_operator: Option<ChargeOwner>,
    /// Free text, 15 characters at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_info: Option<String>,
    /// The code of the registered redirection URL after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_redirection_url_code: Option<String>,
    /// The code of the registered redirection URL after a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_redirection_url_code: Option<String>,
}

/// The answer of `/link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkResponse {
    /// SUCCESS when the link was made.
    pub status: TransactionStatus,
    /// `"200"`.
    #[serde(deserialize_with = "code_text_or_number")]
    pub status_code: String,
    /// The merchant's reference.
    pub merchant_reference_id: String,
    /// The link to give the customer.
    pub url: String,
}

/// `GET /{code}/status` query. Fields are optional so that the sandbox can name a missing one.
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

/// `GET /{code}/balance` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceQuery {
    /// The operation account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_operation_code: Option<String>,
}

/// The answer of `/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceResponse {
    /// What the operation account holds.
    pub balance: Amount,
    /// The operation account.
    pub merchant_operation_account_code: String,
}

/// `GET /{code}/kyc` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KycQuery {
    /// The customer's number, starting with `241` or `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_account_number: Option<String>,
}

/// The answer of `/kyc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycResponse {
    /// The account holder's name.
    pub full_name: String,
    /// The number, as asked.
    pub customer_account_number: String,
    /// Whether the account can be used.
    pub is_active: bool,
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

/// The answer of `renew-secret`: in the integration guide a message only (the key goes to the reception
/// URL); in the v2 web docs (docs.mypvit.pro v2 pages) the key itself as `secret`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewSecretResponse {
    /// `"200"` (integration guide).
    #[serde(default, deserialize_with = "code_text_or_number", skip_serializing_if = "String::is_empty")]
    pub status_code: String,
    /// "Secret key generated and sent successfully" (integration guide).
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

/// The authentication header of every API but `renew-secret` (integration guide, "X-Secret").
pub const SECRET_HEADER: &str = "x-secret";

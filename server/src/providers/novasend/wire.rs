//! NovaSend's wire format (current API, <https://docs.novasend.app/payin.en>; examples in
//! `server/tests/fixtures/novasend/`): request and response bodies as they travel, with status
//! enums that keep an `Unknown` for values the documentation does not list.

use serde::{Deserialize, Serialize};

/// `POST /v1/payin/sessions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRequest {
    /// The merchant's unique reference (a UUID).
    pub reference: String,
    /// The merchant account or sub-account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Whole units, no decimals.
    pub amount: u64,
    /// E.164.
    pub msisdn: String,
    /// The payer's name.
    pub customer_name: String,
    /// ISO country code (CI, CM).
    pub country: String,
}

/// `POST /v1/direct/payin` body ("Direct API": push, USSD, Wave link, Orange OTP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectPayinRequest {
    /// The merchant's unique reference (a UUID).
    pub reference: String,
    /// The payer's name.
    pub customer_name: String,
    /// What to take, from whom, through which operator.
    pub payin: DirectPayin,
    /// Where the customer goes after a web confirmation.
    pub action: Action,
}

/// The `payin` object of a direct payin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectPayin {
    /// Whole units.
    pub amount: u64,
    /// E.164.
    pub msisdn: String,
    /// The operator.
    pub provider: DirectProvider,
    /// ISO country code (CI, CM).
    pub country: String,
    /// Orange Money's one-time code (`#144*82#` in Côte d'Ivoire); required for ORANGE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// The operators of the direct API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DirectProvider {
    /// Wave (a payment link).
    Wave,
    /// Orange Money (one-time code).
    Orange,
    /// MTN Mobile Money (push).
    Momo,
    /// Moov Money (push).
    Moov,
}

/// Redirects after a web confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// After success.
    pub success_url: String,
    /// After failure.
    pub failure_url: String,
}

/// `POST /v1/payin/{reference}/refund` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// Why.
    pub reason: String,
    /// The merchant's reference for the refund.
    pub external_reference: String,
    /// Partial refunds name the amount (FR page); a full refund omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
}

/// A refund's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundState {
    /// Accepted, not yet processed.
    Pending,
    /// Being processed.
    Processing,
    /// Money returned.
    Completed,
    /// Refused.
    Failed,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// A refund record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRecord {
    /// `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    /// NovaSend's refund reference (`rf_…`).
    pub reference: String,
    /// The refunded payin's reference.
    pub original_reference: String,
    /// Refunded amount.
    pub amount: u64,
    /// Fee.
    #[serde(default)]
    pub fee: u64,
    /// ISO currency.
    pub currency: String,
    /// Its state.
    pub status: RefundState,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// `partial` or `full`.
    #[serde(default)]
    pub refund_type: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A payin's global status. The session API documents `processing`, `processed` and
/// `expired`; the direct API and the refund rules use the success/failure words, which an
/// integrator's adapter also normalises (github.com/kalynux/jovi-mall,
/// `src/modules/payments/gateways/novasend.gateway.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayinStatus {
    /// Confirmation or technical validation under way.
    Processing,
    /// Confirmed by the customer; not the final word (see [`TransactionStatus`]).
    Processed,
    /// Confirmation window passed.
    Expired,
    /// Waiting (direct API).
    Pending,
    /// Money moved (direct API).
    #[serde(alias = "successful", alias = "completed")]
    Success,
    /// Refused (direct API).
    #[serde(alias = "declined", alias = "rejected", alias = "canceled", alias = "cancelled")]
    Failed,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The customer's confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmationStatus {
    /// No answer yet.
    None,
    /// Prompt shown, waiting.
    Pending,
    /// The customer confirmed.
    Accepted,
    /// The customer refused.
    Declined,
    /// The customer did not answer in time.
    Expired,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The core system's final word: "la source de vérité finale".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    /// Money moved.
    Completed,
    /// Refused.
    Failed,
    /// Still being processed.
    Pending,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The final transaction, present once the payment was processed (`null` or `{}` before).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Core-system reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The final status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TransactionStatus>,
    /// Account holder's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// When it was processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<String>,
    /// The debited number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Decimal string, e.g. `"153.00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    /// Decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged_amount: Option<String>,
    /// ISO currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// A machine code, when given (the documented error codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
}

/// A payin record: the session response, the direct payin response, the status response and
/// the webhook body. Session records carry NovaSend's reference in `reference` and ours in
/// `customerReference`; direct records carry NovaSend's in `id` and ours in `reference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payin {
    /// NovaSend's id (`tr_…`) in direct records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `payin`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Service fee.
    #[serde(default)]
    pub fee: u64,
    /// NovaSend's reference (`tr_…`).
    pub reference: String,
    /// The payer's number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The payer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Gross amount.
    pub amount: u64,
    /// Amount plus fee.
    #[serde(default)]
    pub charged_amount: u64,
    /// Global status.
    pub status: PayinStatus,
    /// ISO currency.
    pub currency: String,
    /// The merchant's reference, as sent (session records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    /// Whether it came from the direct API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_direct: Option<bool>,
    /// Whether the customer has to confirm.
    #[serde(default)]
    pub confirmation_required: bool,
    /// The confirmation's state.
    #[serde(default = "no_confirmation")]
    pub confirmation_status: ConfirmationStatus,
    /// Where the customer confirms.
    #[serde(default)]
    pub payment_url: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// The final transaction, once processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Transaction>,
    /// The failure, if any.
    #[serde(default)]
    pub failure: Option<Failure>,
}

fn no_confirmation() -> ConfirmationStatus {
    ConfirmationStatus::None
}

impl Payin {
    /// NovaSend's reference for this payin.
    pub fn provider_reference(&self) -> &str {
        match (&self.id, &self.customer_reference) {
            (Some(id), _) => id,
            _ => &self.reference,
        }
    }

    /// The merchant's (our) reference for this payin.
    pub fn merchant_reference(&self) -> &str {
        match (&self.id, &self.customer_reference) {
            (_, Some(ours)) => ours,
            _ => &self.reference,
        }
    }
}

/// NovaSend's error body: `{"code": "...", "message": "...", "statusCode": 400}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine code (`transaction_otp_required`, `client_not_found`, …).
    pub code: String,
    /// Human-readable text, in the `Accept-Language` language.
    pub message: String,
    /// The HTTP status, repeated.
    pub status_code: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NovaSend's payin page examples, verbatim (`server/tests/fixtures/novasend/README.md`).
    const SEED_STATUS: &str = include_str!("../../../tests/fixtures/novasend/status_response.json");
    const SEED_SESSION: &str = include_str!("../../../tests/fixtures/novasend/session_response.json");

    #[test]
    fn seed_examples_parse() {
        let p: Payin = serde_json::from_str(SEED_STATUS).unwrap();
        assert_eq!(p.status, PayinStatus::Processed);
        assert_eq!(p.transaction.unwrap().status, Some(TransactionStatus::Completed));
        let s: Payin = serde_json::from_str(SEED_SESSION).unwrap();
        assert_eq!(s.status, PayinStatus::Processing);
        assert!(s.transaction.is_none());
        assert_eq!(s.payment_url.as_deref(), Some("https://link.novasend.app/link/{shortCode}"));
    }

    #[test]
    fn empty_transaction_and_unknown_values() {
        let body = SEED_SESSION
            .replace("\"processing\"", "\"queued\"")
            .replace("\"createdAt\"", "\"transaction\": {}, \"confirmationStatus2\": 1, \"createdAt\"");
        let p: Payin = serde_json::from_str(&body).unwrap();
        assert_eq!(p.status, PayinStatus::Unknown);
        assert_eq!(p.transaction, Some(Transaction::default()));
    }
}

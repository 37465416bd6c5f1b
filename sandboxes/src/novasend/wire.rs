//! NovaSend's wire format, written from its public pages: the payin session and status pages
//! (https://docs.novasend.app/, `payin`, its fields table and examples: `type`, `fee`,
//! `reference`, `phoneNumber`, `amount`, `chargedAmount`, `status`, `currency`,
//! `customerReference`, `confirmationRequired`, `confirmationStatus`, `paymentUrl`,
//! `createdAt`, `transaction`, `failure`), the direct API pages (`api-direct/payment`,
//! `api-direct/refund.en`), the webhook page (`webhook.en`: header `X-Signature-Value`, hex
//! HMAC-SHA256 of the raw body) and the errors page (`errors.en`: `{code, message,
//! statusCode}`). Only what the sandbox sends or reads.

use serde::{Deserialize, Serialize};

/// A payin's `currency`: the franc of one of the two countries NovaSend serves, `XOF` in Côte
/// d'Ivoire and `XAF` in Cameroun (https://docs.novasend.app/, `payin`: `"currency": "XOF"` in
/// its examples). Neither has a minor unit: amounts are whole francs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// West African CFA franc (Côte d'Ivoire).
    #[serde(rename = "XOF")]
    Xof,
    /// Central African CFA franc (Cameroun).
    #[serde(rename = "XAF")]
    Xaf,
}

impl Currency {
    /// The ISO 4217 code, as the wire writes it.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Xof => "XOF",
            Currency::Xaf => "XAF",
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// `POST /v1/payin/sessions` body (https://docs.novasend.app/, `payin`: "Paramètres de la
/// Requête", each field's name and type as in its table and example).
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

/// `POST /v1/direct/payin` body ("Direct API": push, USSD, Wave link, Orange OTP;
/// https://docs.novasend.app/, `api-direct/payment`).
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

/// `POST /v1/payin/{reference}/refund` body (https://docs.novasend.app/, `api-direct/refund.en`).
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
}

/// A refund record (https://docs.novasend.app/, `api-direct/refund.en`).
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
    pub currency: Currency,
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

/// A payin's global status. The session page documents `processing`, `processed` and
/// `expired`; the direct API page uses `pending`, `success` and `failed`.
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
    Success,
    /// Refused (direct API).
    Failed,
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
}

/// The final transaction, present once the payment was processed (`null` or `{}` before): the
/// `transaction` key of the status page (https://docs.novasend.app/, `payin`, "Clé transaction";
/// amounts are decimal strings there, `"153.00"`).
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
    pub currency: Option<Currency>,
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
    pub currency: Currency,
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
    /// Where the customer confirms (none once the payin ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
}

/// NovaSend's error body: `{"code": "...", "message": "...", "statusCode": 400}`
/// (https://docs.novasend.app/, `errors.en`).
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

/// The webhook signature header (`webhook.en`).
pub const SIGNATURE_HEADER: &str = "x-signature-value";

/// The idempotency header, required on payin creation (`payin`: "X-Idempotency-Key
/// obligatoire").
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";

/// A webhook's signature: lowercase hex HMAC-SHA256 of the raw body under the webhook secret
/// (`webhook.en`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    crate::common::hmac_sha256_hex(secret.as_bytes(), &[body])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // printf '{"type":"payin"}' | openssl dgst -sha256 -hmac 'whsec_test'
        assert_eq!(
            sign("whsec_test", br#"{"type":"payin"}"#),
            "15e86b0d6a88a1882149a4d7d4b95d8850f2cff9a32a0e96abd5f245db32b517"
        );
    }

    #[test]
    fn the_documents_example_response_reads() {
        // The session response printed on https://docs.novasend.app/ (`payin`), verbatim.
        let example = r#"{
  "type": "payin",
  "fee": 6,
  "reference": "tr_fhchi842jyimwiugjgszcxvb8n",
  "phoneNumber": "+2250749929598",
  "amount": 300,
  "chargedAmount": 306,
  "status": "processing",
  "currency": "XOF",
  "customerReference": "ef76fb64-af0b-4c37-8729-bf61d85721fd",
  "confirmationRequired": true,
  "confirmationStatus": "none",
  "paymentUrl": "https://link.novasend.app/link/{shortCode}",
  "createdAt": "2025-08-22T01:34:48.189Z"
}"#;
        let p: Payin = serde_json::from_str(example).unwrap();
        assert_eq!((p.fee, p.charged_amount, p.status), (6, 306, PayinStatus::Processing));
        assert_eq!((p.amount, p.currency), (300, Currency::Xof), "whole francs");
        // What the sandbox writes back has the example's fields, no more.
        let ours = serde_json::to_value(&p).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(example).unwrap();
        let mut keys: Vec<_> =
            ours.as_object().unwrap().keys().filter(|k| !ours[k.as_str()].is_null()).collect();
        keys.sort();
        let mut want: Vec<_> = theirs.as_object().unwrap().keys().collect();
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn currencies_are_the_two_francs() {
        assert_eq!(serde_json::from_str::<Currency>(r#""XOF""#).unwrap(), Currency::Xof);
        assert_eq!(serde_json::from_str::<Currency>(r#""XAF""#).unwrap(), Currency::Xaf);
        for other in [r#""EUR""#, r#""xof""#, r#""""#] {
            assert!(serde_json::from_str::<Currency>(other).is_err(), "{other}");
        }
        assert_eq!(serde_json::to_value(Currency::Xaf).unwrap(), "XAF");
    }
}

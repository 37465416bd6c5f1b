//! CaurisFlux's wire format (<https://docs.caurisflux.com/api-reference/introduction.html>,
//! `payments/initiate`, `payouts/get-status`, `guides/errors`; the provider's WooCommerce plugin,
//! github.com/caurisflux/caurisflux-wp, for webhooks; examples in
//! `server/tests/fixtures/caurisflux/`): request and response bodies as they travel.
//!
//! The documentation is not consistent (one page wraps bodies in `{success, data}`, another
//! does not; field names differ between pages), so response types keep every member optional
//! and enums keep an `Unknown` variant: the adapter decides what it needs, not the parser.

use serde::{Deserialize, Serialize};
use shared::money::Currency;

/// `type` of `POST /payments/initiate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentType {
    /// The payment goes straight to one operator (`provider`, `country`, `customerPhone`).
    Direct,
    /// CaurisFlux's hosted page, where the customer chooses (cards, wallets); answered with a
    /// `redirectUrl`.
    Checkout,
}

/// A CaurisFlux `provider` code: the operator or wallet. Only `wave` and `orange_money` appear
/// in the public docs; the others follow their pattern (our choice; the real list is served by
/// `GET /payments/providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MobileProvider {
    /// Wave (a wallet on any network; paid in the Wave app from a link).
    Wave,
    /// Orange Money.
    OrangeMoney,
    /// MTN Mobile Money.
    MtnMomo,
    /// Moov Money (Flooz).
    MoovMoney,
    /// Airtel Money.
    AirtelMoney,
    /// Free Money (Sénégal), now Mixx by Yas.
    FreeMoney,
    /// Mixx by Yas (Sénégal, Togo).
    MixxByYas,
    /// A code this build does not know.
    #[serde(other)]
    Unknown,
}

impl MobileProvider {
    /// Every known code.
    pub const ALL: [MobileProvider; 7] = [
        MobileProvider::Wave,
        MobileProvider::OrangeMoney,
        MobileProvider::MtnMomo,
        MobileProvider::MoovMoney,
        MobileProvider::AirtelMoney,
        MobileProvider::FreeMoney,
        MobileProvider::MixxByYas,
    ];

    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            MobileProvider::Wave => "wave",
            MobileProvider::OrangeMoney => "orange_money",
            MobileProvider::MtnMomo => "mtn_momo",
            MobileProvider::MoovMoney => "moov_money",
            MobileProvider::AirtelMoney => "airtel_money",
            MobileProvider::FreeMoney => "free_money",
            MobileProvider::MixxByYas => "mixx_by_yas",
            MobileProvider::Unknown => "unknown",
        }
    }

    /// Parses a wire code; `None` for codes this build does not know.
    pub fn parse(code: &str) -> Option<MobileProvider> {
        MobileProvider::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Whether the customer pays from a link (Wave) rather than on a push prompt.
    pub fn pays_by_link(self) -> bool {
        matches!(self, MobileProvider::Wave)
    }
}

/// `POST /payments/initiate` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateRequest {
    /// `direct` or `checkout`.
    #[serde(rename = "type")]
    pub kind: PaymentType,
    /// Whole units of the currency, as a JSON number (XOF and XAF have no minor unit).
    pub amount: u64,
    /// `XOF` (the default) or `XAF`.
    pub currency: Currency,
    /// The merchant's reference of the payment.
    pub external_reference: String,
    /// The operator, required with `direct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<MobileProvider>,
    /// ISO 3166-1 alpha-2, required with `direct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// E.164, required with `direct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    /// The payer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The payer's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// What is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where notifications go for this payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Where the customer comes back after paying on a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Where the customer comes back after cancelling on a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_url: Option<String>,
    /// Free-form data echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// A payment's status. The enum is not published: these are the plugin's classes (paid:
/// `success`, `completed`, `paid`; failed: `failed`, `expired`, `cancelled`, `canceled`; still
/// running: `pending`, `processing` and anything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Initial status.
    Pending,
    /// The operator is processing it (prompt shown, page opened).
    Processing,
    /// Money moved.
    #[serde(alias = "completed", alias = "paid")]
    Success,
    /// Refused or failed.
    Failed,
    /// Cancelled by the customer.
    #[serde(alias = "canceled")]
    Cancelled,
    /// Not confirmed in time.
    Expired,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

impl PaymentStatus {
    /// Whether the payment has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentStatus::Success
                | PaymentStatus::Failed
                | PaymentStatus::Cancelled
                | PaymentStatus::Expired
        )
    }
}

/// A payment (or payout) record: the `data` of the initiate and status responses and of
/// webhooks. Every member is optional: the pages disagree on which are present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// CaurisFlux's id (`TX000007272`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The operator's id, or CaurisFlux's under another name (the plugin reads both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    /// The merchant's reference, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    /// `payment` or `payout`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PaymentStatus>,
    /// Whole units; a JSON number, integer or not (the plugin sends floats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<serde_json::Number>,
    /// ISO 4217, as text: CaurisFlux knows currencies this build does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The operator code of a payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The operator code of a payout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_provider: Option<String>,
    /// ISO country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The payer's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    /// Where the customer pays (documented name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The same, under a name the plugin also reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
    /// The same, under a third name the plugin reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
    /// App links (documented, shape unpublished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_links: Option<serde_json::Value>,
    /// A machine code for a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Text for a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// A failure code under the webhook's other name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Failure text under the webhook's other name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Until when the customer can pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Echoed merchant data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

impl Payment {
    /// CaurisFlux's id, under either name.
    pub fn id(&self) -> Option<&str> {
        self.transaction_id.as_deref().or(self.provider_transaction_id.as_deref()).filter(|s| !s.is_empty())
    }

    /// The customer's page, under any of the three names the plugin reads.
    pub fn page(&self) -> Option<&str> {
        self.redirect_url.as_deref().or(self.checkout_url.as_deref()).or(self.payment_url.as_deref())
    }

    /// The failure code, under either name.
    pub fn failure_code(&self) -> Option<&str> {
        self.error_code.as_deref().or(self.failure_reason.as_deref()).filter(|s| !s.is_empty())
    }
}

/// The success envelope: `{"success": true, "data": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Always `true` on a success.
    pub success: bool,
    /// The payload.
    pub data: T,
}

/// Reads a payment from a response body, wrapped in `{success, data}` or flat (the docs show
/// both; the plugin reads `data.data` or `data`).
pub fn parse_payment(body: &[u8]) -> Result<Payment, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    match value {
        serde_json::Value::Object(mut map) if map.get("data").is_some_and(|d| d.is_object()) => {
            serde_json::from_value(map.remove("data").unwrap_or_default())
        }
        other => serde_json::from_value(other),
    }
}

/// A webhook event name (plugin `class-caurisflux-webhook.php`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// Paid (the current backend's name).
    #[serde(rename = "payment.success")]
    PaymentSuccess,
    /// Paid (legacy name).
    #[serde(rename = "payment.completed")]
    PaymentCompleted,
    /// Failed.
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    /// Cancelled by the customer.
    #[serde(rename = "payment.cancelled")]
    PaymentCancelled,
    /// Not confirmed in time.
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    /// A refund was made (by CaurisFlux's support, for now).
    #[serde(rename = "refund.completed")]
    RefundCompleted,
    /// Any other event.
    #[serde(other)]
    Unknown,
}

impl WebhookEvent {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            WebhookEvent::PaymentSuccess => "payment.success",
            WebhookEvent::PaymentCompleted => "payment.completed",
            WebhookEvent::PaymentFailed => "payment.failed",
            WebhookEvent::PaymentCancelled => "payment.cancelled",
            WebhookEvent::PaymentExpired => "payment.expired",
            WebhookEvent::RefundCompleted => "refund.completed",
            WebhookEvent::Unknown => "unknown",
        }
    }
}

/// A webhook body: `{"event": "<name>", "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookBody {
    /// What happened.
    pub event: WebhookEvent,
    /// The payment concerned.
    #[serde(default)]
    pub data: Payment,
}

/// `message` of an error: one text, or a list (NestJS validation; the plugin joins them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorMessage {
    /// One text.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// The error body, NestJS-style: `{"statusCode": 400, "message": "…"}`, with the named code
/// (`VALIDATION_ERROR`, …) in `error` as the plugin reads it; `code` is read too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Human-readable text (French).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ErrorMessage>,
    /// The named code, or NestJS's reason phrase (`Bad Request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The named code under another member name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorBody {
    /// The named code (`VALIDATION_ERROR`), when the body carries one; NestJS's reason phrases
    /// (`Bad Request`) are not codes.
    pub fn named_code(&self) -> Option<&str> {
        let is_code = |s: &&str| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        };
        self.code.as_deref().filter(is_code).or(self.error.as_deref().filter(is_code))
    }

    /// The message, lists joined with `, ` as the plugin does.
    pub fn text(&self) -> String {
        match &self.message {
            Some(ErrorMessage::One(s)) => s.clone(),
            Some(ErrorMessage::Many(v)) => v.join(", "),
            None => self.error.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INITIATE_RESPONSE: &str = include_str!("../../../tests/fixtures/caurisflux/initiate_response.json");
    const ERROR_AMOUNT: &str = include_str!("../../../tests/fixtures/caurisflux/error_amount.json");
    const PAYOUT_STATUS: &str = include_str!("../../../tests/fixtures/caurisflux/payout_status.json");
    const ADMIN_SIMULATION: &str =
        include_str!("../../../tests/fixtures/caurisflux/webhook_admin_simulation.json");

    #[test]
    fn the_docs_initiate_response_parses() {
        let p = parse_payment(INITIATE_RESPONSE.as_bytes()).unwrap();
        assert_eq!(p.id(), Some("TX000007272"));
        assert_eq!(p.status, Some(PaymentStatus::Pending));
        assert_eq!(p.amount, Some(5000.into()));
        assert_eq!(p.currency.as_deref(), Some("XOF"));
        assert_eq!(p.page(), Some("https://pay.wave.com/..."));
        assert_eq!(p.created_at.as_deref(), Some("..."));
    }

    #[test]
    fn the_flat_payout_status_parses() {
        let p = parse_payment(PAYOUT_STATUS.as_bytes()).unwrap();
        assert_eq!(p.id(), Some("POMLWYG1W59FDCEA"));
        assert_eq!(p.kind.as_deref(), Some("payout"));
        assert_eq!(p.status, Some(PaymentStatus::Success), "completed is paid");
        assert_eq!(p.mobile_provider.as_deref(), Some("wave"));
        assert_eq!(p.failure_code(), None, "null error codes are no failure");
    }

    #[test]
    fn the_docs_error_example_parses() {
        let e: ErrorBody = serde_json::from_str(ERROR_AMOUNT).unwrap();
        assert_eq!(e.status_code, Some(400));
        assert_eq!(e.named_code(), None);
        assert!(e.text().starts_with("Le montant doit être supérieur à 100"));
        let listed: ErrorBody = serde_json::from_str(
            r#"{"statusCode":400,"message":["amount must not be less than 100","currency must be XOF"],"error":"Bad Request"}"#,
        )
        .unwrap();
        assert_eq!(listed.named_code(), None, "a reason phrase is not a code");
        assert_eq!(listed.text(), "amount must not be less than 100, currency must be XOF");
        let named: ErrorBody = serde_json::from_str(
            r#"{"statusCode":429,"message":"Trop de requêtes","error":"RATE_LIMIT_EXCEEDED"}"#,
        )
        .unwrap();
        assert_eq!(named.named_code(), Some("RATE_LIMIT_EXCEEDED"));
    }

    #[test]
    fn the_plugins_simulated_webhook_parses() {
        let w: WebhookBody = serde_json::from_str(ADMIN_SIMULATION).unwrap();
        assert_eq!(w.event, WebhookEvent::PaymentFailed);
        assert_eq!(w.data.external_reference.as_deref(), Some("1234"));
        assert_eq!(w.data.failure_code(), Some("simulation"));
        assert_eq!(w.data.amount.as_ref().and_then(|n| n.as_f64()), Some(5000.0));
    }

    #[test]
    fn statuses_and_events_keep_unknown_values() {
        for (text, status) in [
            ("\"success\"", PaymentStatus::Success),
            ("\"completed\"", PaymentStatus::Success),
            ("\"paid\"", PaymentStatus::Success),
            ("\"canceled\"", PaymentStatus::Cancelled),
            ("\"cancelled\"", PaymentStatus::Cancelled),
            ("\"processing\"", PaymentStatus::Processing),
            ("\"on_hold\"", PaymentStatus::Unknown),
        ] {
            assert_eq!(serde_json::from_str::<PaymentStatus>(text).unwrap(), status, "{text}");
        }
        let w: WebhookBody = serde_json::from_str(r#"{"event":"payout.completed","data":{}}"#).unwrap();
        assert_eq!(w.event, WebhookEvent::Unknown);
        assert_eq!(serde_json::from_str::<MobileProvider>("\"m_pesa\"").unwrap(), MobileProvider::Unknown);
        for p in MobileProvider::ALL {
            assert_eq!(MobileProvider::parse(p.code()), Some(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.code()));
        }
    }

    #[test]
    fn a_direct_request_serialises_as_documented() {
        let r = InitiateRequest {
            kind: PaymentType::Direct,
            amount: 5000,
            currency: Currency::Xof,
            external_reference: "ref-1".into(),
            provider: Some(MobileProvider::OrangeMoney),
            country: Some("SN".into()),
            customer_phone: Some("+221771234567".into()),
            customer_name: None,
            customer_email: None,
            description: None,
            callback_url: None,
            return_url: None,
            cancel_url: None,
            metadata: None,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"type": "direct", "amount": 5000, "currency": "XOF",
                "externalReference": "ref-1", "provider": "orange_money", "country": "SN",
                "customerPhone": "+221771234567"})
        );
    }
}

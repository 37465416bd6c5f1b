//! NovaSend: wallet payment sessions (`POST /v1/payin/sessions`), status
//! (`GET /v1/payin/{reference}`, where `transaction.status` is the final truth) and webhooks
//! signed with `X-Signature-Value` (hex HMAC-SHA256 of the raw body, keyed with the webhook
//! secret chosen in NovaSend's portal).
//!
//! Choices where NovaSend's public material is silent or contradictory (kit `providers.md` §2):
//! - Status is fetched by NovaSend's reference when we have it, else by our own reference
//!   (the merchant `reference` we sent); our sandbox answers both.
//! - Signatures are checked over the raw body bytes, as NovaSend's SDK signs them.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::Country,
    status::AttemptStatus,
};

use super::{
    IncomingNotice, PaymentProvider, ProviderError, StartPayment, VerifiedNotice, WebhookError, http,
};
use crate::{config::NovaSendSettings, store::AttemptUpdate};

pub mod wire;

use wire::{ConfirmationStatus, ErrorBody, Payin, PayinStatus, SessionRequest, TransactionStatus};

/// The webhook signature header.
pub const SIGNATURE_HEADER: &str = "x-signature-value";

/// The NovaSend adapter.
#[derive(Debug)]
pub struct NovaSend {
    base_url: String,
    api_key: SecretString,
    api_client: SecretString,
    webhook_secret: SecretString,
    account_id: Option<String>,
    http: reqwest::Client,
}

impl NovaSend {
    /// An adapter for the endpoint and keys of `settings`.
    pub fn new(settings: &NovaSendSettings) -> anyhow::Result<NovaSend> {
        Ok(NovaSend {
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            api_key: settings.api_key.clone(),
            api_client: settings.api_client.clone(),
            webhook_secret: settings.webhook_secret.clone(),
            account_id: settings.account_id.clone(),
            http: http::client(Duration::from_millis(settings.timeout_ms))?,
        })
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.basic_auth(self.api_key.expose_secret(), Some(self.api_client.expose_secret()))
            .header("Accept-Language", "en")
    }

    async fn payin_or_error(&self, resp: reqwest::Response) -> Result<Payin, ProviderError> {
        let status = resp.status();
        let body = resp.bytes().await.map_err(http::transport)?;
        if status.is_success() {
            // A success we cannot read may still have moved money: outcome unknown.
            return serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Unavailable(format!("unreadable payin: {e}")));
        }
        Err(classify_error(status.as_u16(), &body))
    }
}

/// Signs a body as NovaSend does: lowercase hex HMAC-SHA256.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Maps a NovaSend error code to the catalogue.
pub fn catalogue_code(code: &str) -> ErrorCode {
    match code {
        "client_not_enough_cash" | "wallet_not_enough_cash" => ErrorCode::InsufficientFunds,
        "client_not_found" | "wallet_not_found" | "provider_not_found" => ErrorCode::InvalidPhoneNumber,
        "transaction_greater_than_zero" | "invalid_amount" => ErrorCode::LimitExceeded,
        "customer_declined" | "declined" => ErrorCode::CustomerDeclined,
        "expired" | "session_expired" => ErrorCode::SessionExpired,
        _ => ErrorCode::PaymentRefused,
    }
}

fn classify_error(status: u16, body: &[u8]) -> ProviderError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().map(|e| e.code.clone()).unwrap_or_default();
    match status {
        401 | 403 => ProviderError::Integration(format!("NovaSend refused our credentials ({code})")),
        500..=599 => ProviderError::Unavailable(format!("NovaSend answered {status} ({code})")),
        400..=499 if parsed.is_some() => {
            let catalogue = if status == 400 && code.eq_ignore_ascii_case("Invalid amount") {
                ErrorCode::LimitExceeded
            } else {
                catalogue_code(&code)
            };
            ProviderError::Refused { code: catalogue, provider_code: code }
        }
        _ => ProviderError::Integration(format!("NovaSend answered {status} with an unknown body")),
    }
}

/// What a payin record says about our attempt.
pub fn to_update(p: &Payin) -> AttemptUpdate {
    let failure_code = p.failure.as_ref().and_then(|f| f.code.as_deref()).map(catalogue_code);
    let final_status = p.transaction.as_ref().and_then(|t| t.status);
    let (status, failure) = match (final_status, p.confirmation_status, p.status) {
        (Some(TransactionStatus::Completed), _, _) => (AttemptStatus::Succeeded, None),
        (Some(TransactionStatus::Failed), confirmation, _) => {
            let fallback = if confirmation == ConfirmationStatus::Declined {
                ErrorCode::CustomerDeclined
            } else {
                ErrorCode::PaymentRefused
            };
            (AttemptStatus::Failed, Some(failure_code.unwrap_or(fallback)))
        }
        (_, ConfirmationStatus::Declined, _) => {
            (AttemptStatus::Failed, Some(failure_code.unwrap_or(ErrorCode::CustomerDeclined)))
        }
        (_, ConfirmationStatus::Expired, _) | (_, _, PayinStatus::Expired) => {
            (AttemptStatus::Expired, Some(ErrorCode::SessionExpired))
        }
        _ => (AttemptStatus::AwaitingCustomer, None),
    };
    AttemptUpdate {
        status,
        failure,
        provider_reference: Some(p.reference.clone()),
        payment_url: p.payment_url.clone(),
    }
}

#[async_trait]
impl PaymentProvider for NovaSend {
    fn id(&self) -> Provider {
        Provider::NovaSend
    }

    fn methods(&self, country: Country, money: Money) -> Vec<PaymentMethod> {
        match (country, money.currency()) {
            (Country::Ci, Currency::Xof) | (Country::Cm, Currency::Xaf) => {
                vec![PaymentMethod::MobileMoney]
            }
            _ => Vec::new(),
        }
    }

    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError> {
        let phone = req.phone.as_ref().ok_or_else(|| ProviderError::Refused {
            code: ErrorCode::InvalidPhoneNumber,
            provider_code: "msisdn_missing".into(),
        })?;
        let body = SessionRequest {
            reference: req.reference.clone(),
            account_id: self.account_id.clone(),
            // XOF and XAF have no minor unit: the count of minor units is the whole amount.
            amount: req.money.minor(),
            msisdn: phone.as_e164().to_owned(),
            customer_name: req.customer_name.clone(),
            country: req.country.code().to_owned(),
        };
        let resp = self
            .authed(self.http.post(format!("{}/v1/payin/sessions", self.base_url)))
            .header("X-Idempotency-Key", &req.reference)
            .json(&body)
            .send()
            .await
            .map_err(http::transport)?;
        let payin = self.payin_or_error(resp).await?;
        Ok(to_update(&payin))
    }

    async fn fetch(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
    ) -> Result<Option<AttemptUpdate>, ProviderError> {
        let key = provider_reference.unwrap_or(reference);
        let resp = self
            .authed(self.http.get(format!("{}/v1/payin/{key}", self.base_url)))
            .send()
            .await
            .map_err(http::transport)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let payin = self.payin_or_error(resp).await?;
        Ok(Some(to_update(&payin)))
    }

    fn verify_notice(&self, notice: &IncomingNotice<'_>) -> Result<VerifiedNotice, WebhookError> {
        let body = notice.body;
        let presented = notice
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| hex::decode(v.trim()).ok())
            .ok_or(WebhookError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.webhook_secret.expose_secret().as_bytes())
            .map_err(|_| WebhookError::BadSignature)?;
        mac.update(body);
        mac.verify_slice(&presented).map_err(|_| WebhookError::BadSignature)?;
        let payin: Payin =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(VerifiedNotice {
            reference: payin.customer_reference.clone(),
            update: Some(to_update(&payin)),
            ack: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use wire::{Failure, Transaction};

    fn notice<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> IncomingNotice<'a> {
        IncomingNotice { headers, body, peer: [127, 0, 0, 1].into(), path_token: None }
    }

    fn payin(status: PayinStatus, confirmation: ConfirmationStatus) -> Payin {
        Payin {
            kind: "payin".into(),
            fee: 0,
            reference: "tr_1".into(),
            phone_number: None,
            customer_name: None,
            amount: 300,
            charged_amount: 300,
            status,
            currency: "XOF".into(),
            customer_reference: "ours".into(),
            confirmation_required: true,
            confirmation_status: confirmation,
            payment_url: None,
            created_at: "2025-08-22T01:34:48.189Z".into(),
            transaction: None,
            failure: None,
        }
    }

    #[test]
    fn transaction_status_is_the_final_truth() {
        let mut p = payin(PayinStatus::Processed, ConfirmationStatus::Accepted);
        assert_eq!(to_update(&p).status, AttemptStatus::AwaitingCustomer);
        p.transaction =
            Some(Transaction { status: Some(TransactionStatus::Completed), ..Default::default() });
        assert_eq!(to_update(&p).status, AttemptStatus::Succeeded);
        p.transaction = Some(Transaction { status: Some(TransactionStatus::Failed), ..Default::default() });
        p.failure = Some(Failure { code: Some("client_not_enough_cash".into()), message: String::new() });
        let u = to_update(&p);
        assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::InsufficientFunds)));
    }

    #[test]
    fn processed_alone_is_not_paid() {
        let p = payin(PayinStatus::Processed, ConfirmationStatus::None);
        assert_eq!(to_update(&p).status, AttemptStatus::AwaitingCustomer);
    }

    #[test]
    fn declined_and_expired() {
        let u = to_update(&payin(PayinStatus::Processing, ConfirmationStatus::Declined));
        assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerDeclined)));
        let u = to_update(&payin(PayinStatus::Expired, ConfirmationStatus::None));
        assert_eq!((u.status, u.failure), (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)));
    }

    #[test]
    fn errors_are_classified() {
        let body = br#"{"code":"client_not_found","message":"x","statusCode":404}"#;
        assert!(matches!(
            classify_error(404, body),
            ProviderError::Refused { code: ErrorCode::InvalidPhoneNumber, .. }
        ));
        assert!(matches!(classify_error(503, b"oops"), ProviderError::Unavailable(_)));
        assert!(matches!(classify_error(401, b"{}"), ProviderError::Integration(_)));
    }

    #[test]
    fn signatures_verify_over_raw_bytes_only() {
        let settings = NovaSendSettings {
            base_url: "http://x".into(),
            api_key: "k".to_owned().into(),
            api_client: "c".to_owned().into(),
            webhook_secret: "whsecret".to_owned().into(),
            account_id: None,
            timeout_ms: 1000,
        };
        let ns = NovaSend::new(&settings).unwrap();
        let body = serde_json::to_vec(&payin(PayinStatus::Processing, ConfirmationStatus::None)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, sign("whsecret", &body).parse().unwrap());
        assert_eq!(ns.verify_notice(&notice(&headers, &body)).unwrap().reference, "ours");
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert!(matches!(ns.verify_notice(&notice(&headers, &tampered)), Err(WebhookError::BadSignature)));
        headers.insert(SIGNATURE_HEADER, sign("other", &body).parse().unwrap());
        assert!(matches!(ns.verify_notice(&notice(&headers, &body)), Err(WebhookError::BadSignature)));
        headers.remove(SIGNATURE_HEADER);
        assert!(matches!(ns.verify_notice(&notice(&headers, &body)), Err(WebhookError::BadSignature)));
    }
}

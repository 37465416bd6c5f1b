//! NovaSend: wallet payment sessions (`POST /v1/payin/sessions`, method "mobile money": the
//! customer confirms on NovaSend's page or prompt), direct payins (`POST /v1/direct/payin`:
//! Wave by link, Orange Money with the customer's one-time code, MTN and Moov by push),
//! status (`GET /v1/payin/{reference}`, where `transaction.status` is the final truth),
//! refunds (`POST /v1/payin/{reference}/refund`, full or partial, once per payin) and webhooks
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
    status::{AttemptStatus, RefundStatus},
};

use super::{
    IncomingNotice, PaymentProvider, ProviderError, RefundRequest, RefundResult, StartPayment,
    VerifiedNotice, WebhookError, http,
};
use crate::{config::NovaSendSettings, store::AttemptUpdate};

pub mod wire;

use wire::{
    Action, ConfirmationStatus, DirectPayin, DirectPayinRequest, DirectProvider, ErrorBody, Payin,
    PayinStatus, RefundState, SessionRequest, TransactionStatus,
};

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

/// Maps a NovaSend error code to the catalogue (the documented table lives in
/// `shared::catalogue`); undocumented codes are a plain refusal.
pub fn catalogue_code(code: &str) -> ErrorCode {
    if code.eq_ignore_ascii_case("Invalid amount") {
        return ErrorCode::LimitExceeded;
    }
    ErrorCode::from_provider_code(Provider::NovaSend, code).unwrap_or(ErrorCode::PaymentRefused)
}

/// The direct-API operator for a method, if NovaSend carries it directly.
fn direct_provider(method: PaymentMethod) -> Option<DirectProvider> {
    match method {
        PaymentMethod::Wave => Some(DirectProvider::Wave),
        PaymentMethod::OrangeMoney => Some(DirectProvider::Orange),
        PaymentMethod::MtnMomo => Some(DirectProvider::Momo),
        PaymentMethod::MoovMoney => Some(DirectProvider::Moov),
        _ => None,
    }
}

/// A deterministic UUID for one of our ids: NovaSend wants UUID idempotency keys, and a retry
/// must carry the same one.
fn idempotency_uuid(id: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, id.as_bytes()).to_string()
}

fn classify_error(status: u16, body: &[u8]) -> ProviderError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().map(|e| e.code.clone()).unwrap_or_default();
    match status {
        401 | 403 => ProviderError::Integration(format!("NovaSend refused our credentials ({code})")),
        500..=599 => ProviderError::Unavailable(format!("NovaSend answered {status} ({code})")),
        400..=499 if parsed.is_some() => {
            // The payment already exists under this reference: not a refusal; the reconciler
            // reads its status.
            if code == "transaction_is_already_processed" {
                return ProviderError::Unavailable("NovaSend already has this reference".into());
            }
            ProviderError::Refused { code: catalogue_code(&code), provider_code: code }
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
        // Direct records carry no transaction object: their own status is final.
        (None, _, PayinStatus::Success) => (AttemptStatus::Succeeded, None),
        (None, _, PayinStatus::Failed) => {
            (AttemptStatus::Failed, Some(failure_code.unwrap_or(ErrorCode::PaymentRefused)))
        }
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
        provider_reference: Some(p.provider_reference().to_owned()),
        payment_url: p.payment_url.clone(),
    }
}

#[async_trait]
impl PaymentProvider for NovaSend {
    fn id(&self) -> Provider {
        Provider::NovaSend
    }

    /// NovaSend's payin guide asks for one status call every 5 to 10 s at most.
    fn poll_policy(&self) -> super::PollPolicy {
        super::PollPolicy { floor_ms: 5_000, max_ms: 60_000 }
    }

    fn methods(&self, country: Country, money: Money) -> Vec<PaymentMethod> {
        if shared::limits::check(Provider::NovaSend, money).is_err() {
            return Vec::new();
        }
        match (country, money.currency()) {
            (Country::Ci, Currency::Xof) => vec![
                PaymentMethod::MobileMoney,
                PaymentMethod::Wave,
                PaymentMethod::OrangeMoney,
                PaymentMethod::MtnMomo,
                PaymentMethod::MoovMoney,
            ],
            (Country::Cm, Currency::Xaf) => {
                vec![PaymentMethod::MobileMoney, PaymentMethod::OrangeMoney, PaymentMethod::MtnMomo]
            }
            _ => Vec::new(),
        }
    }

    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError> {
        let phone = req.phone.as_ref().ok_or_else(|| ProviderError::Refused {
            code: ErrorCode::InvalidPhoneNumber,
            provider_code: "msisdn_missing".into(),
        })?;
        // XOF and XAF have no minor unit: the count of minor units is the whole amount.
        let amount = req.money.minor();
        let post = match direct_provider(req.method) {
            None => self.http.post(format!("{}/v1/payin/sessions", self.base_url)).json(&SessionRequest {
                reference: req.reference.clone(),
                account_id: self.account_id.clone(),
                amount,
                msisdn: phone.as_e164().to_owned(),
                customer_name: req.customer_name.clone(),
                country: req.country.code().to_owned(),
            }),
            Some(operator) => {
                self.http.post(format!("{}/v1/direct/payin", self.base_url)).json(&DirectPayinRequest {
                    reference: req.reference.clone(),
                    customer_name: req.customer_name.clone(),
                    payin: DirectPayin {
                        amount,
                        msisdn: phone.as_e164().to_owned(),
                        provider: operator,
                        country: req.country.code().to_owned(),
                        otp: req.otp.clone(),
                    },
                    action: Action {
                        success_url: req.return_url.clone(),
                        failure_url: req.return_url.clone(),
                    },
                })
            }
        };
        let resp = self
            .authed(post)
            .header("X-Idempotency-Key", &req.reference)
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

    async fn refund(&self, req: &RefundRequest) -> Result<RefundResult, ProviderError> {
        let target = req.provider_reference.as_deref().unwrap_or(&req.payment_reference);
        let body = wire::RefundRequest {
            reason: req.reason.clone().unwrap_or_else(|| "refund".to_owned()),
            external_reference: req.refund_id.clone(),
            amount: (req.amount != req.paid).then_some(req.amount.minor()),
        };
        let resp = self
            .authed(self.http.post(format!("{}/v1/payin/{target}/refund", self.base_url)))
            .header("X-Idempotency-Key", idempotency_uuid(&req.refund_id))
            .json(&body)
            .send()
            .await
            .map_err(http::transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(http::transport)?;
        if !status.is_success() {
            return Err(classify_error(status.as_u16(), &bytes));
        }
        let record: wire::RefundRecord = serde_json::from_slice(&bytes)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable refund: {e}")))?;
        let status = match record.status {
            RefundState::Completed => RefundStatus::Succeeded,
            RefundState::Failed => RefundStatus::Failed,
            RefundState::Pending | RefundState::Processing | RefundState::Unknown => RefundStatus::Pending,
        };
        Ok(RefundResult { status, provider_reference: Some(record.reference) })
    }

    fn claimed_references(&self, body: &[u8]) -> Vec<String> {
        super::strings_at(body, &["/customerReference", "/reference", "/id"])
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
            reference: payin.merchant_reference().to_owned(),
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
            customer_reference: Some("ours".into()),
            id: None,
            is_direct: None,
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
            mode: crate::config::Mode::Test,
            allow_custom_host: false,
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

    #[test]
    fn every_documented_error_code_is_classified() {
        // NovaSend's error tables (kit providers.md §2), with the status each is answered with.
        let documented = [
            (401, "Unauthorized"),
            (403, "api_token_invalid"),
            (400, "transaction_error"),
            (400, "transaction_not_refundable"),
            (400, "transaction_not_processed"),
            (400, "wallet_not_enough_cash"),
            (400, "wallet_should_be_different"),
            (400, "client_kyc_not_approved"),
            (400, "client_not_enough_cash"),
            (400, "transaction_otp_required"),
            (400, "transaction_greater_than_zero"),
            (404, "api_token_not_found"),
            (404, "wallet_not_found"),
            (404, "client_not_found"),
            (404, "country_not_found"),
            (404, "provider_not_found"),
            (404, "transaction_does_not_exist"),
            (409, "transaction_is_already_processed"),
            (409, "transaction_already_refunded"),
            (400, "Invalid amount"),
            (500, "server_error"),
        ];
        for (status, code) in documented {
            let body = serde_json::to_vec(&ErrorBody {
                code: code.into(),
                message: "m".into(),
                status_code: status,
            })
            .unwrap();
            match (status, classify_error(status, &body)) {
                (401 | 403, ProviderError::Integration(_)) => {}
                (500, ProviderError::Unavailable(_)) => {}
                (409, ProviderError::Unavailable(_)) => assert_eq!(code, "transaction_is_already_processed"),
                (_, ProviderError::Refused { code: mapped, provider_code }) => {
                    assert_eq!(provider_code, code);
                    let expected = if code == "Invalid amount" {
                        ErrorCode::LimitExceeded
                    } else {
                        ErrorCode::from_provider_code(Provider::NovaSend, code)
                            .unwrap_or(ErrorCode::PaymentRefused)
                    };
                    assert_eq!(mapped, expected, "{code}");
                }
                (_, other) => panic!("{status} {code} classified as {other:?}"),
            }
        }
        assert_eq!(catalogue_code("client_not_enough_cash"), ErrorCode::InsufficientFunds);
        assert_eq!(catalogue_code("transaction_otp_required"), ErrorCode::OtpRequired);
        assert_eq!(catalogue_code("client_not_found"), ErrorCode::InvalidPhoneNumber);
    }

    /// A direct payin record with the fields providers.md §2 lists for transaction records.
    const DIRECT_RECORD: &str = r#"{
      "id": "tr_8f2kq", "type": "payin", "reference": "3b1f0e2e-8a55-4b8e-9d7a-4c1f2f0e9a10",
      "status": "success", "confirmationRequired": false, "confirmationStatus": "accepted",
      "paymentUrl": null, "customer": {"name": "Awa", "phoneNumber": "+2250501020304"},
      "mobileMoney": {"provider": {"name": "MOMO_CI"}}, "isDirect": true, "payFee": false,
      "createdAt": "2025-10-05T10:00:00.000Z", "amount": 1500, "fee": 30, "chargedAmount": 1530,
      "currency": "XOF", "failure": null }"#;

    #[test]
    fn direct_records_name_references_the_other_way_round() {
        let p: Payin = serde_json::from_str(DIRECT_RECORD).unwrap();
        assert_eq!(p.provider_reference(), "tr_8f2kq");
        assert_eq!(p.merchant_reference(), "3b1f0e2e-8a55-4b8e-9d7a-4c1f2f0e9a10");
        let u = to_update(&p);
        assert_eq!(u.status, AttemptStatus::Succeeded);
        assert_eq!(u.provider_reference.as_deref(), Some("tr_8f2kq"));
        let failed: Payin =
            serde_json::from_str(&DIRECT_RECORD.replace("\"success\"", "\"failed\"")).unwrap();
        assert_eq!(to_update(&failed).status, AttemptStatus::Failed);
    }
}

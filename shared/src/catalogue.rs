//! The error catalogue: every failure a customer can meet, with a message in fr and en and the
//! action to suggest. Provider adapters map their own codes to these, through
//! [`ErrorCode::from_provider_code`] where the provider documents its codes.
//!
//! Sources: the providers' error guides (CaurisFlux <https://docs.caurisflux.com/guides/errors>,
//! MyPVit's technical document v5.5 "Code d'erreurs", NovaSend's payin and error pages at
//! <https://docs.novasend.app/>, Scalapay's <https://developers.scalapay.com/reference/messages-validation>),
//! each transcribed as `server/tests/fixtures/<provider>/error_codes.tsv`.

use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::method::Provider;

/// A failure, as the customer and the merchant see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The wallet does not hold enough money.
    InsufficientFunds,
    /// The customer refused the payment on their phone.
    CustomerDeclined,
    /// The customer did not confirm in time, or the payment session expired.
    SessionExpired,
    /// The number is not a wallet the provider knows.
    InvalidPhoneNumber,
    /// The amount is above what the provider or the wallet accepts (per payment or per day).
    LimitExceeded,
    /// The provider could not be reached, failed, or is in maintenance.
    ProviderUnavailable,
    /// The provider refused for a reason it did not explain.
    PaymentRefused,
    /// The amount is below the provider's minimum.
    AmountTooLow,
    /// The wallet exists but cannot pay: blocked, identity not verified, or no secret code set.
    AccountUnavailable,
    /// The operator asks for a one-time code (Orange Money in Côte d'Ivoire: `#144*82#`) and none
    /// was given.
    OtpRequired,
    /// The customer cancelled on the payment page.
    CustomerCancelled,
    /// This way to pay cannot be used for this checkout now: unsupported currency or operator,
    /// or a problem with the merchant's account at the provider.
    MethodUnavailable,
    /// The payment cannot be refunded: it did not succeed, the refund window is over, or it was
    /// already fully refunded.
    RefundNotAllowed,
    /// The refund amount is not positive, or more than what is left to refund.
    InvalidRefundAmount,
    /// The verifier's own limit: too many requests from this browser or network, or too many
    /// payment requests to this phone number lately; the answer's `Retry-After` says when.
    TooManyRequests,
    /// The verifier's own limit: this checkout had as many payment attempts as it may.
    TooManyAttempts,
    /// The verifier's own limit: too many wrong one-time codes on this checkout; the method
    /// that needs them is refused for it.
    OtpAttemptsExhausted,
    /// The operator refused the one-time code the customer gave (wrong, expired or already
    /// used): a new one is generated and the payment tried again.
    OtpRefused,
}

/// What the customer can do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuggestedAction {
    /// Put money on the wallet, then try again.
    TopUp,
    /// Check the phone number, then try again.
    CheckNumber,
    /// Try the same thing again.
    Retry,
    /// Pay with another method.
    ChooseAnotherMethod,
    /// Start a new payment (the old session is over).
    StartNewPayment,
    /// Try again in a few minutes, or pay with another method.
    RetryLater,
    /// Nothing the customer can do here: the merchant's customer service can.
    ContactSupport,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::InsufficientFunds,
        ErrorCode::CustomerDeclined,
        ErrorCode::SessionExpired,
        ErrorCode::InvalidPhoneNumber,
        ErrorCode::LimitExceeded,
        ErrorCode::ProviderUnavailable,
        ErrorCode::PaymentRefused,
        ErrorCode::AmountTooLow,
        ErrorCode::AccountUnavailable,
        ErrorCode::OtpRequired,
        ErrorCode::CustomerCancelled,
        ErrorCode::MethodUnavailable,
        ErrorCode::RefundNotAllowed,
        ErrorCode::InvalidRefundAmount,
        ErrorCode::TooManyRequests,
        ErrorCode::TooManyAttempts,
        ErrorCode::OtpAttemptsExhausted,
        ErrorCode::OtpRefused,
    ];

    /// The stable identifier (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InsufficientFunds => "INSUFFICIENT_FUNDS",
            ErrorCode::CustomerDeclined => "CUSTOMER_DECLINED",
            ErrorCode::SessionExpired => "SESSION_EXPIRED",
            ErrorCode::InvalidPhoneNumber => "INVALID_PHONE_NUMBER",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCode::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            ErrorCode::PaymentRefused => "PAYMENT_REFUSED",
            ErrorCode::AmountTooLow => "AMOUNT_TOO_LOW",
            ErrorCode::AccountUnavailable => "ACCOUNT_UNAVAILABLE",
            ErrorCode::OtpRequired => "OTP_REQUIRED",
            ErrorCode::CustomerCancelled => "CUSTOMER_CANCELLED",
            ErrorCode::MethodUnavailable => "METHOD_UNAVAILABLE",
            ErrorCode::RefundNotAllowed => "REFUND_NOT_ALLOWED",
            ErrorCode::InvalidRefundAmount => "INVALID_REFUND_AMOUNT",
            ErrorCode::TooManyRequests => "TOO_MANY_REQUESTS",
            ErrorCode::TooManyAttempts => "TOO_MANY_ATTEMPTS",
            ErrorCode::OtpAttemptsExhausted => "OTP_ATTEMPTS_EXHAUSTED",
            ErrorCode::OtpRefused => "OTP_REFUSED",
        }
    }

    /// Parses [`ErrorCode::as_str`]'s form.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The message shown to the customer.
    pub fn message(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (ErrorCode::InsufficientFunds, Locale::Fr) => "Le solde de votre compte est insuffisant.",
            (ErrorCode::InsufficientFunds, Locale::En) => "Your account balance is too low.",
            (ErrorCode::CustomerDeclined, Locale::Fr) => "Le paiement a été refusé sur votre téléphone.",
            (ErrorCode::CustomerDeclined, Locale::En) => "The payment was declined on your phone.",
            (ErrorCode::SessionExpired, Locale::Fr) => "Le délai de confirmation est dépassé.",
            (ErrorCode::SessionExpired, Locale::En) => "The time to confirm has run out.",
            (ErrorCode::InvalidPhoneNumber, Locale::Fr) => {
                "Ce numéro n'est pas un compte mobile money valide."
            }
            (ErrorCode::InvalidPhoneNumber, Locale::En) => "This number is not a valid mobile money account.",
            (ErrorCode::LimitExceeded, Locale::Fr) => "Le montant dépasse la limite autorisée.",
            (ErrorCode::LimitExceeded, Locale::En) => "The amount is over the allowed limit.",
            (ErrorCode::ProviderUnavailable, Locale::Fr) => {
                "Le service de paiement est momentanément indisponible."
            }
            (ErrorCode::ProviderUnavailable, Locale::En) => "The payment service is unavailable right now.",
            (ErrorCode::PaymentRefused, Locale::Fr) => "Le paiement a été refusé.",
            (ErrorCode::PaymentRefused, Locale::En) => "The payment was refused.",
            (ErrorCode::AmountTooLow, Locale::Fr) => {
                "Le montant est inférieur au minimum accepté pour ce moyen de paiement."
            }
            (ErrorCode::AmountTooLow, Locale::En) => "The amount is below the minimum for this way to pay.",
            (ErrorCode::AccountUnavailable, Locale::Fr) => {
                "Votre compte mobile money ne peut pas payer pour le moment (compte bloqué, non \
                 vérifié ou sans code secret). Contactez votre opérateur."
            }
            (ErrorCode::AccountUnavailable, Locale::En) => {
                "Your mobile money account cannot pay right now (blocked, not verified, or with \
                 no secret code). Contact your operator."
            }
            (ErrorCode::OtpRequired, Locale::Fr) => {
                "Ce paiement demande un code de confirmation à usage unique, à obtenir auprès de \
                 votre opérateur."
            }
            (ErrorCode::OtpRequired, Locale::En) => {
                "This payment needs a one-time confirmation code from your operator."
            }
            (ErrorCode::CustomerCancelled, Locale::Fr) => "Vous avez annulé le paiement.",
            (ErrorCode::CustomerCancelled, Locale::En) => "You cancelled the payment.",
            (ErrorCode::MethodUnavailable, Locale::Fr) => {
                "Ce moyen de paiement n'est pas disponible pour cet achat."
            }
            (ErrorCode::MethodUnavailable, Locale::En) => {
                "This way to pay is not available for this purchase."
            }
            (ErrorCode::RefundNotAllowed, Locale::Fr) => "Ce paiement ne peut pas être remboursé.",
            (ErrorCode::RefundNotAllowed, Locale::En) => "This payment cannot be refunded.",
            (ErrorCode::InvalidRefundAmount, Locale::Fr) => {
                "Le montant du remboursement est invalide ou dépasse ce qui reste à rembourser."
            }
            (ErrorCode::InvalidRefundAmount, Locale::En) => {
                "The refund amount is invalid or more than what is left to refund."
            }
            (ErrorCode::TooManyRequests, Locale::Fr) => {
                "Trop de demandes en peu de temps. Patientez quelques minutes avant de réessayer."
            }
            (ErrorCode::TooManyRequests, Locale::En) => {
                "Too many requests in a short time. Wait a few minutes before trying again."
            }
            (ErrorCode::TooManyAttempts, Locale::Fr) => {
                "Le nombre maximal de tentatives de paiement pour cet achat est atteint. \
                 Contactez la boutique."
            }
            (ErrorCode::TooManyAttempts, Locale::En) => {
                "This purchase has reached its maximum number of payment attempts. Contact the shop."
            }
            (ErrorCode::OtpAttemptsExhausted, Locale::Fr) => {
                "Trop de codes de confirmation refusés pour cet achat. Choisissez un autre moyen \
                 de paiement."
            }
            (ErrorCode::OtpAttemptsExhausted, Locale::En) => {
                "Too many confirmation codes were refused for this purchase. Choose another way to pay."
            }
            (ErrorCode::OtpRefused, Locale::Fr) => {
                "Ce code a été refusé ou a déjà servi. Générez-en un nouveau puis réessayez."
            }
            (ErrorCode::OtpRefused, Locale::En) => {
                "This code was refused or already used. Generate a new one, then try again."
            }
        }
    }

    /// The action to suggest (the seeds' error guides: top up, check the number, retry, start a
    /// new session, retry later or use another method, use another method).
    pub fn action(self) -> SuggestedAction {
        match self {
            ErrorCode::InsufficientFunds => SuggestedAction::TopUp,
            ErrorCode::InvalidPhoneNumber => SuggestedAction::CheckNumber,
            ErrorCode::CustomerDeclined
            | ErrorCode::CustomerCancelled
            | ErrorCode::OtpRequired
            | ErrorCode::OtpRefused => SuggestedAction::Retry,
            ErrorCode::SessionExpired => SuggestedAction::StartNewPayment,
            ErrorCode::ProviderUnavailable | ErrorCode::TooManyRequests => SuggestedAction::RetryLater,
            ErrorCode::OtpAttemptsExhausted => SuggestedAction::ChooseAnotherMethod,
            ErrorCode::TooManyAttempts => SuggestedAction::ContactSupport,
            ErrorCode::LimitExceeded
            | ErrorCode::PaymentRefused
            | ErrorCode::AmountTooLow
            | ErrorCode::AccountUnavailable
            | ErrorCode::MethodUnavailable => SuggestedAction::ChooseAnotherMethod,
            ErrorCode::RefundNotAllowed | ErrorCode::InvalidRefundAmount => SuggestedAction::ContactSupport,
        }
    }

    /// The catalogue's code for an error code a provider documents (case-insensitive), or
    /// `None` for codes that are not a payment failure (not found, ambiguous status, duplicate
    /// request: the adapter asks for the status instead) or that the provider does not
    /// document.
    pub fn from_provider_code(provider: Provider, code: &str) -> Option<ErrorCode> {
        let table = match provider {
            Provider::CaurisFlux => CAURIS_FLUX,
            Provider::NovaSend => NOVA_SEND,
            Provider::MyPvit => MY_PVIT,
            Provider::Scalapay => SCALAPAY,
        };
        table.iter().find(|(c, _)| c.eq_ignore_ascii_case(code.trim())).and_then(|&(_, e)| e)
    }
}

use ErrorCode::*;

/// CaurisFlux `guides/errors` (<https://docs.caurisflux.com/guides/errors>). Its payment errors are documented by
/// their action only; `PROVIDER_ERROR` appears in its monitoring advice, `INSUFFICIENT_FUNDS`
/// is unconfirmed.
const CAURIS_FLUX: &[(&str, Option<ErrorCode>)] = &[
    ("UNAUTHORIZED", Some(MethodUnavailable)),
    ("FORBIDDEN", Some(MethodUnavailable)),
    // Amount out of 100–5 000 000, currency, E.164 number, method: checked before the call
    // (crate::limits, crate::phone); if it still happens, the method cannot be used as asked.
    ("VALIDATION_ERROR", Some(MethodUnavailable)),
    ("RATE_LIMIT_EXCEEDED", Some(ProviderUnavailable)),
    ("DAILY_LIMIT_EXCEEDED", Some(LimitExceeded)),
    ("REFUND_NOT_ALLOWED", Some(RefundNotAllowed)),
    ("INVALID_REFUND_AMOUNT", Some(InvalidRefundAmount)),
    ("PROVIDER_ERROR", Some(ProviderUnavailable)),
    ("INSUFFICIENT_FUNDS", Some(InsufficientFunds)),
    // Webhook events and statuses that end a payment without success.
    ("payment.failed", Some(PaymentRefused)),
    ("payment.cancelled", Some(CustomerCancelled)),
    ("payment.expired", Some(SessionExpired)),
];

/// NovaSend's error pages (`errors.en`, `integrations/errors`, `api/wallet/error`) and the
/// payin confirmation statuses (<https://docs.novasend.app/payin.en>).
const NOVA_SEND: &[(&str, Option<ErrorCode>)] = &[
    ("unauthorized", Some(MethodUnavailable)),
    ("api_token_invalid", Some(MethodUnavailable)),
    ("api_token_not_found", Some(MethodUnavailable)),
    ("transaction_error", Some(PaymentRefused)),
    ("transaction_not_refundable", Some(RefundNotAllowed)),
    // Listed with the refund errors: a payment that was not processed cannot be refunded.
    ("transaction_not_processed", Some(RefundNotAllowed)),
    ("transaction_already_refunded", Some(RefundNotAllowed)),
    // The merchant's wallet (payouts), not the customer's.
    ("wallet_not_enough_cash", Some(MethodUnavailable)),
    ("wallet_should_be_different", Some(MethodUnavailable)),
    ("client_kyc_not_approved", Some(AccountUnavailable)),
    ("client_not_enough_cash", Some(InsufficientFunds)),
    ("transaction_otp_required", Some(OtpRequired)),
    ("transaction_greater_than_zero", Some(AmountTooLow)),
    ("wallet_not_found", Some(MethodUnavailable)),
    ("client_not_found", Some(InvalidPhoneNumber)),
    ("country_not_found", Some(MethodUnavailable)),
    ("provider_not_found", Some(MethodUnavailable)),
    ("transaction_does_not_exist", None),
    ("transaction_is_already_processed", None),
    ("declined", Some(CustomerDeclined)),
    ("expired", Some(SessionExpired)),
];

/// MyPVit's "Code d'erreurs" table (technical document v5.5, 01/11/2024;
/// `server/tests/fixtures/mypvit/error_codes.tsv`).
const MY_PVIT: &[(&str, Option<ErrorCode>)] = &[
    ("SOMETHING_WENT_WRONG", Some(ProviderUnavailable)),
    ("INVALID_MERCHANT_IP_ADDRESS", Some(MethodUnavailable)),
    ("INVALID_ENVIRONMENT", Some(MethodUnavailable)),
    ("INVALID_CALLBACK_URL_CODE", Some(MethodUnavailable)),
    ("INVALID_REDIRECTION_URL_CODE", Some(MethodUnavailable)),
    ("INVALID_FAILED_REDIRECTION_URL_CODE", Some(MethodUnavailable)),
    ("CUSTOMER_PIN_NOT_SET", Some(AccountUnavailable)),
    ("NULL_TRANSACTION_TYPE_IDENTIFIER", Some(MethodUnavailable)),
    ("NULL_OPERATOR_IDENTIFIER", Some(MethodUnavailable)),
    ("MISSING_REQUEST_HEADER", Some(MethodUnavailable)),
    ("INVALID_PHONE_NUMBER", Some(InvalidPhoneNumber)),
    ("UNREADABLE_REQUEST_BODY", Some(MethodUnavailable)),
    ("INVALID_SECRET_KEY_RECEPTION_URL_CODE", Some(MethodUnavailable)),
    ("MISSING_REQUEST_PARAM", Some(MethodUnavailable)),
    // The merchant's operation account, not the customer's wallet.
    ("OPERATION_ACCOUNT_INSUFFICIENT_BALANCE", Some(MethodUnavailable)),
    ("OPERATION_ACCOUNT_BALANCE_REACHED", Some(MethodUnavailable)),
    ("MERCHANT_NOT_ACTIVE", Some(MethodUnavailable)),
    ("OPERATION_ACCOUNT_NOT_ACTIVE", Some(MethodUnavailable)),
    ("NOT_ALLOWED_OPERATION_ACCOUNT_TRANSACTION_TYPE", Some(MethodUnavailable)),
    ("OPERATION_ACCOUNT_TRANSACTION_TYPE_NOT_ACTIVE", Some(MethodUnavailable)),
    ("SERVICE_NOT_ACTIVE", Some(MethodUnavailable)),
    ("TRANSACTION_TYPE_NOT_ACTIVE", Some(MethodUnavailable)),
    ("OPERATOR_NOT_ACTIVE", Some(MethodUnavailable)),
    ("OPERATOR_SERVICE_NOT_ALLOWED", Some(MethodUnavailable)),
    ("OPERATOR_SERVICE_NOT_ACTIVE", Some(MethodUnavailable)),
    ("OPERATOR_TYPE_TRANSACTION_NOT_ACTIVE", Some(MethodUnavailable)),
    ("OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED", Some(MethodUnavailable)),
    ("CALLBACK_URL_NOT_ACTIVE", Some(MethodUnavailable)),
    ("REDIRECTION_URL_NOT_ACTIVE", Some(MethodUnavailable)),
    ("FAILED_REDIRECTION_URL_NOT_ACTIVE", Some(MethodUnavailable)),
    ("CUSTOMER_BLOCKED", Some(AccountUnavailable)),
    ("FORBIDDEN", Some(MethodUnavailable)),
    // The number's operator is not one the merchant's operation account serves.
    ("OPERATOR_AND_OPERATION_ACCOUNT_MISMATCH", Some(MethodUnavailable)),
    ("TRANSACTION_AMOUNT_TOO_LOW", Some(AmountTooLow)),
    ("TRANSACTION_MAX_AMOUNT_EXCEDED", Some(LimitExceeded)),
    ("SERVICE_NOT_SUPPORTED", Some(MethodUnavailable)),
    ("SECRET_KEY_RECEPTION_URL_NOT_ACTIVE", Some(MethodUnavailable)),
    ("CUSTOMER_UNKNOWN", Some(InvalidPhoneNumber)),
    // After one renewal of the secret and one retry (https://docs.mypvit.pro/en/v2/api/renew-secret).
    ("AUTHENTICATION_FAILED", Some(MethodUnavailable)),
    ("API_NOT_FOUND", Some(MethodUnavailable)),
    ("MERCHANT_NOT_FOUND", Some(MethodUnavailable)),
    ("OPERATION_ACCOUNT_NOT_FOUND", Some(MethodUnavailable)),
    ("SERVICE_NOT_FOUND", Some(MethodUnavailable)),
    ("TRANSACTION_TYPE_NOT_FOUND", Some(MethodUnavailable)),
    ("OPERATOR_NOT_FOUND", Some(MethodUnavailable)),
    ("TRANSACTION_NOT_FOUND", None),
    ("UNKNOWN_CUSTOMER", Some(InvalidPhoneNumber)),
    ("REPATRIATION_ACCOUNT_NOT_FOUND", Some(MethodUnavailable)),
    ("REPATRIATION_ACCOUNT_NOT_ACTIVE", Some(MethodUnavailable)),
    ("TRANSACTION_REFERENCE_ALREADY_EXISTS", None),
    // The outcome is not known yet: ask for the status, never fail the payment on this.
    ("AMBIGUOUS_TRANSACTION", None),
    ("TRANSACTION_LINK_USED", Some(SessionExpired)),
    ("TRANSACTION_EXPIRED", Some(SessionExpired)),
    ("HTTP_MEDIA_TYPE_NOT_SUPPORTED", Some(MethodUnavailable)),
    ("CONSTRAINT_VIOLATION", Some(MethodUnavailable)),
    ("FEES_SCHEDULE_NOT_IMPLEMENTED", Some(MethodUnavailable)),
    ("OPERATOR_FEATURE_NOT_IMPLEMENTED", Some(MethodUnavailable)),
    ("FEES_SCHEDULE_NOT_ACTIVE", Some(MethodUnavailable)),
    ("API_MAINTENANCE_MODE", Some(ProviderUnavailable)),
    ("UNAVAILABLE_SERVICE", Some(ProviderUnavailable)),
    ("SENDING_SECRET_ERROR", Some(ProviderUnavailable)),
    // Final callback and status values.
    ("FAILED", Some(PaymentRefused)),
];

/// Scalapay's published error codes (<https://developers.scalapay.com/reference/messages-validation>). An expired order is "abandoned
/// or rejected by the customer's bank", without a reason.
const SCALAPAY: &[(&str, Option<ErrorCode>)] = &[
    ("api_validationerror", Some(MethodUnavailable)),
    ("pre_condition_failed", Some(MethodUnavailable)),
    ("order_amount_exceeds_maximum_limit", Some(LimitExceeded)),
    ("invalid_token", None),
    ("conflicting_operation_in_progress", None),
    ("internal_server", Some(ProviderUnavailable)),
    ("expired", Some(PaymentRefused)),
];

impl SuggestedAction {
    /// Every action.
    pub const ALL: [SuggestedAction; 7] = [
        SuggestedAction::TopUp,
        SuggestedAction::CheckNumber,
        SuggestedAction::Retry,
        SuggestedAction::ChooseAnotherMethod,
        SuggestedAction::StartNewPayment,
        SuggestedAction::RetryLater,
        SuggestedAction::ContactSupport,
    ];

    /// The wire name (serde's `snake_case` form).
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestedAction::TopUp => "top_up",
            SuggestedAction::CheckNumber => "check_number",
            SuggestedAction::Retry => "retry",
            SuggestedAction::ChooseAnotherMethod => "choose_another_method",
            SuggestedAction::StartNewPayment => "start_new_payment",
            SuggestedAction::RetryLater => "retry_later",
            SuggestedAction::ContactSupport => "contact_support",
        }
    }

    /// Parses [`SuggestedAction::as_str`]'s form (a serde visitor costs the widget's download
    /// more than this table).
    pub fn parse(s: &str) -> Option<SuggestedAction> {
        SuggestedAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The suggestion, in words.
    pub fn message(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (SuggestedAction::TopUp, Locale::Fr) => "Rechargez votre compte puis réessayez.",
            (SuggestedAction::TopUp, Locale::En) => "Top up your account, then try again.",
            (SuggestedAction::CheckNumber, Locale::Fr) => "Vérifiez le numéro puis réessayez.",
            (SuggestedAction::CheckNumber, Locale::En) => "Check the number, then try again.",
            (SuggestedAction::Retry, Locale::Fr) => "Vous pouvez réessayer.",
            (SuggestedAction::Retry, Locale::En) => "You can try again.",
            (SuggestedAction::ChooseAnotherMethod, Locale::Fr) => "Choisissez un autre moyen de paiement.",
            (SuggestedAction::ChooseAnotherMethod, Locale::En) => "Choose another way to pay.",
            (SuggestedAction::StartNewPayment, Locale::Fr) => "Recommencez le paiement.",
            (SuggestedAction::StartNewPayment, Locale::En) => "Start the payment again.",
            (SuggestedAction::RetryLater, Locale::Fr) => {
                "Réessayez dans quelques minutes ou choisissez un autre moyen de paiement."
            }
            (SuggestedAction::RetryLater, Locale::En) => {
                "Try again in a few minutes, or choose another way to pay."
            }
            (SuggestedAction::ContactSupport, Locale::Fr) => "Contactez le service client du marchand.",
            (SuggestedAction::ContactSupport, Locale::En) => "Contact the merchant's customer service.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_actions_parse_their_serde_names() {
        for a in SuggestedAction::ALL {
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.as_str()));
            assert_eq!(SuggestedAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(SuggestedAction::parse("retry "), None);
    }

    #[test]
    fn every_code_has_messages_and_round_trips() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.as_str()));
            assert_ne!(c.message(Locale::Fr), c.message(Locale::En));
            assert!(!c.action().message(Locale::Fr).is_empty());
        }
        for a in SuggestedAction::ALL {
            assert_ne!(a.message(Locale::Fr), a.message(Locale::En));
        }
        let distinct: std::collections::HashSet<_> =
            ErrorCode::ALL.iter().map(|c| c.message(Locale::Fr)).collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len(), "two codes share a message");
    }

    #[test]
    fn the_seeds_actions() {
        // CaurisFlux guides/errors: top up, check the number, retry, start a new session,
        // retry later or another method, another method.
        assert_eq!(ErrorCode::InsufficientFunds.action(), SuggestedAction::TopUp);
        assert_eq!(ErrorCode::InvalidPhoneNumber.action(), SuggestedAction::CheckNumber);
        assert_eq!(ErrorCode::CustomerDeclined.action(), SuggestedAction::Retry);
        assert_eq!(ErrorCode::SessionExpired.action(), SuggestedAction::StartNewPayment);
        assert_eq!(ErrorCode::ProviderUnavailable.action(), SuggestedAction::RetryLater);
        assert_eq!(ErrorCode::PaymentRefused.action(), SuggestedAction::ChooseAnotherMethod);
        // Every action is suggested by some code.
        for a in SuggestedAction::ALL {
            assert!(ErrorCode::ALL.iter().any(|c| c.action() == a), "{a:?}");
        }
    }

    #[test]
    fn provider_codes_map_to_the_catalogue() {
        use Provider::*;
        assert_eq!(ErrorCode::from_provider_code(MyPvit, "TRANSACTION_AMOUNT_TOO_LOW"), Some(AmountTooLow));
        assert_eq!(
            ErrorCode::from_provider_code(MyPvit, "transaction_max_amount_exceded"),
            Some(LimitExceeded)
        );
        assert_eq!(ErrorCode::from_provider_code(MyPvit, "AMBIGUOUS_TRANSACTION"), None);
        assert_eq!(
            ErrorCode::from_provider_code(NovaSend, "client_not_enough_cash"),
            Some(InsufficientFunds)
        );
        assert_eq!(ErrorCode::from_provider_code(NovaSend, "transaction_otp_required"), Some(OtpRequired));
        assert_eq!(ErrorCode::from_provider_code(CaurisFlux, "REFUND_NOT_ALLOWED"), Some(RefundNotAllowed));
        assert_eq!(ErrorCode::from_provider_code(CaurisFlux, "DAILY_LIMIT_EXCEEDED"), Some(LimitExceeded));
        assert_eq!(
            ErrorCode::from_provider_code(Scalapay, "order_amount_exceeds_maximum_limit"),
            Some(LimitExceeded)
        );
        assert_eq!(ErrorCode::from_provider_code(Scalapay, "no_such_code"), None);
        for table in [CAURIS_FLUX, NOVA_SEND, MY_PVIT, SCALAPAY] {
            for (code, _) in table {
                let same = table.iter().filter(|(c, _)| c.eq_ignore_ascii_case(code)).count();
                assert_eq!(same, 1, "{code} listed twice");
            }
        }
    }

    #[test]
    fn every_code_of_the_mypvit_table_is_listed() {
        // The "Type" column of MyPVit's error table (technical document v5.5), in its order.
        let documented = "SOMETHING_WENT_WRONG INVALID_MERCHANT_IP_ADDRESS INVALID_ENVIRONMENT \
            INVALID_CALLBACK_URL_CODE INVALID_REDIRECTION_URL_CODE \
            INVALID_FAILED_REDIRECTION_URL_CODE CUSTOMER_PIN_NOT_SET \
            NULL_TRANSACTION_TYPE_IDENTIFIER NULL_OPERATOR_IDENTIFIER MISSING_REQUEST_HEADER \
            INVALID_PHONE_NUMBER UNREADABLE_REQUEST_BODY INVALID_SECRET_KEY_RECEPTION_URL_CODE \
            MISSING_REQUEST_PARAM OPERATION_ACCOUNT_INSUFFICIENT_BALANCE \
            OPERATION_ACCOUNT_BALANCE_REACHED MERCHANT_NOT_ACTIVE OPERATION_ACCOUNT_NOT_ACTIVE \
            NOT_ALLOWED_OPERATION_ACCOUNT_TRANSACTION_TYPE \
            OPERATION_ACCOUNT_TRANSACTION_TYPE_NOT_ACTIVE SERVICE_NOT_ACTIVE \
            TRANSACTION_TYPE_NOT_ACTIVE OPERATOR_NOT_ACTIVE OPERATOR_SERVICE_NOT_ALLOWED \
            OPERATOR_SERVICE_NOT_ACTIVE OPERATOR_TYPE_TRANSACTION_NOT_ACTIVE \
            OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED CALLBACK_URL_NOT_ACTIVE \
            REDIRECTION_URL_NOT_ACTIVE FAILED_REDIRECTION_URL_NOT_ACTIVE CUSTOMER_BLOCKED \
            FORBIDDEN OPERATOR_AND_OPERATION_ACCOUNT_MISMATCH TRANSACTION_AMOUNT_TOO_LOW \
            TRANSACTION_MAX_AMOUNT_EXCEDED SERVICE_NOT_SUPPORTED \
            SECRET_KEY_RECEPTION_URL_NOT_ACTIVE CUSTOMER_UNKNOWN AUTHENTICATION_FAILED \
            API_NOT_FOUND MERCHANT_NOT_FOUND OPERATION_ACCOUNT_NOT_FOUND SERVICE_NOT_FOUND \
            TRANSACTION_TYPE_NOT_FOUND OPERATOR_NOT_FOUND TRANSACTION_NOT_FOUND UNKNOWN_CUSTOMER \
            REPATRIATION_ACCOUNT_NOT_FOUND REPATRIATION_ACCOUNT_NOT_ACTIVE \
            TRANSACTION_REFERENCE_ALREADY_EXISTS AMBIGUOUS_TRANSACTION TRANSACTION_LINK_USED \
            TRANSACTION_EXPIRED HTTP_MEDIA_TYPE_NOT_SUPPORTED CONSTRAINT_VIOLATION \
            FEES_SCHEDULE_NOT_IMPLEMENTED OPERATOR_FEATURE_NOT_IMPLEMENTED \
            FEES_SCHEDULE_NOT_ACTIVE API_MAINTENANCE_MODE UNAVAILABLE_SERVICE SENDING_SECRET_ERROR";
        for code in documented.split_whitespace() {
            assert!(MY_PVIT.iter().any(|(c, _)| *c == code), "{code} is not mapped");
        }
    }
}

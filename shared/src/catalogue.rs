//! The error catalogue: every failure a customer can meet, with a message in fr and en and the
//! action to suggest. Provider adapters map their own codes to these.

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// A failure, as the customer and the merchant see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The wallet does not hold enough money.
    InsufficientFunds,
    /// The customer refused the payment on their phone.
    CustomerDeclined,
    /// The customer did not confirm in time.
    SessionExpired,
    /// The number is not a wallet the provider knows.
    InvalidPhoneNumber,
    /// The amount is outside what the provider or the wallet accepts.
    LimitExceeded,
    /// The provider could not be reached or failed.
    ProviderUnavailable,
    /// The provider refused for a reason it did not explain.
    PaymentRefused,
}

/// What the customer can do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::InsufficientFunds,
        ErrorCode::CustomerDeclined,
        ErrorCode::SessionExpired,
        ErrorCode::InvalidPhoneNumber,
        ErrorCode::LimitExceeded,
        ErrorCode::ProviderUnavailable,
        ErrorCode::PaymentRefused,
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
            (ErrorCode::InvalidPhoneNumber, Locale::En) => {
                "This number is not a valid mobile money account."
            }
            (ErrorCode::LimitExceeded, Locale::Fr) => "Le montant dépasse la limite autorisée.",
            (ErrorCode::LimitExceeded, Locale::En) => "The amount is over the allowed limit.",
            (ErrorCode::ProviderUnavailable, Locale::Fr) => {
                "Le service de paiement est momentanément indisponible."
            }
            (ErrorCode::ProviderUnavailable, Locale::En) => {
                "The payment service is unavailable right now."
            }
            (ErrorCode::PaymentRefused, Locale::Fr) => "Le paiement a été refusé.",
            (ErrorCode::PaymentRefused, Locale::En) => "The payment was refused.",
        }
    }

    /// The action to suggest.
    pub fn action(self) -> SuggestedAction {
        match self {
            ErrorCode::InsufficientFunds => SuggestedAction::TopUp,
            ErrorCode::InvalidPhoneNumber => SuggestedAction::CheckNumber,
            ErrorCode::CustomerDeclined | ErrorCode::SessionExpired => SuggestedAction::Retry,
            ErrorCode::ProviderUnavailable => SuggestedAction::Retry,
            ErrorCode::LimitExceeded | ErrorCode::PaymentRefused => {
                SuggestedAction::ChooseAnotherMethod
            }
        }
    }
}

impl SuggestedAction {
    /// The suggestion, in words.
    pub fn message(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (SuggestedAction::TopUp, Locale::Fr) => "Rechargez votre compte puis réessayez.",
            (SuggestedAction::TopUp, Locale::En) => "Top up your account, then try again.",
            (SuggestedAction::CheckNumber, Locale::Fr) => "Vérifiez le numéro puis réessayez.",
            (SuggestedAction::CheckNumber, Locale::En) => "Check the number, then try again.",
            (SuggestedAction::Retry, Locale::Fr) => "Vous pouvez réessayer.",
            (SuggestedAction::Retry, Locale::En) => "You can try again.",
            (SuggestedAction::ChooseAnotherMethod, Locale::Fr) => {
                "Choisissez un autre moyen de paiement."
            }
            (SuggestedAction::ChooseAnotherMethod, Locale::En) => "Choose another way to pay.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_messages_and_round_trips() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.as_str()));
            assert_ne!(c.message(Locale::Fr), c.message(Locale::En));
            assert!(!c.action().message(Locale::Fr).is_empty());
        }
    }
}

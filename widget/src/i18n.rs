//! Every string the widget shows, in French and English. Payment failures and phone-number
//! errors come from `shared` (the catalogue and `PhoneError::message`), so that the verifier's
//! customer messages and the widget's agree.

use shared::catalogue::ErrorCode;
use shared::locale::Locale;
use shared::status::{AttemptStatus, CheckoutStatus};

use crate::state::{PhoneProblem, Problem};

/// A fixed UI string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// While the checkout loads.
    Loading,
    /// The legend of the method choice.
    MethodLegend,
    /// The label of the phone field.
    PhoneLabel,
    /// While the pay request is in flight.
    Sending,
    /// The waiting screen's instruction.
    ConfirmOnPhone,
    /// The link to the provider's payment page.
    OpenPaymentPage,
    /// The end screen of a payment.
    Paid,
    /// Before the attempt id on the paid screen.
    Reference,
    /// The button back to the form.
    TryAgain,
    /// A paid checkout that was refunded.
    Refunded,
    /// A checkout past its deadline.
    Expired,
    /// A checkout the merchant cancelled.
    Cancelled,
}

impl Text {
    /// Every string, for tests.
    #[cfg(test)]
    const ALL: [Text; 12] = [
        Text::Loading,
        Text::MethodLegend,
        Text::PhoneLabel,
        Text::Sending,
        Text::ConfirmOnPhone,
        Text::OpenPaymentPage,
        Text::Paid,
        Text::Reference,
        Text::TryAgain,
        Text::Refunded,
        Text::Expired,
        Text::Cancelled,
    ];

    /// The string in `locale`.
    pub(crate) fn get(self, locale: Locale) -> &'static str {
        let (fr, en) = match self {
            Text::Loading => ("Chargement…", "Loading…"),
            Text::MethodLegend => ("Moyen de paiement", "Payment method"),
            Text::PhoneLabel => ("Numéro de téléphone", "Phone number"),
            Text::Sending => ("Envoi de la demande…", "Sending the request…"),
            Text::ConfirmOnPhone => {
                ("Confirmez le paiement sur votre téléphone", "Confirm the payment on your phone")
            }
            Text::OpenPaymentPage => ("Ouvrir la page de paiement", "Open the payment page"),
            Text::Paid => ("Payé", "Paid"),
            Text::Reference => ("Référence à conserver\u{a0}:", "Reference to keep:"),
            Text::TryAgain => ("Réessayer", "Try again"),
            Text::Refunded => ("Ce paiement a été remboursé.", "This payment was refunded."),
            Text::Expired => ("Ce paiement a expiré.", "This payment has expired."),
            Text::Cancelled => ("Ce paiement a été annulé.", "This payment was cancelled."),
        };
        match locale {
            Locale::Fr => fr,
            Locale::En => en,
        }
    }
}

/// The pay button: "Payer 5 000 F CFA".
pub(crate) fn pay_label(amount: &str, locale: Locale) -> String {
    match locale {
        Locale::Fr => format!("Payer {amount}"),
        Locale::En => format!("Pay {amount}"),
    }
}

/// What a problem means for the customer.
pub(crate) fn problem(p: Problem, locale: Locale) -> &'static str {
    let (fr, en) = match p {
        Problem::Payment(code) => return code.message(locale),
        Problem::InvalidLink => ("Ce lien de paiement n'est pas valide.", "This payment link is not valid."),
        Problem::Unreachable => (
            "Le service de paiement ne répond pas. Vérifiez votre connexion puis réessayez.",
            "The payment service is not responding. Check your connection, then try again.",
        ),
        Problem::MethodUnavailable => (
            "Ce moyen de paiement n'est pas disponible. Choisissez-en un autre.",
            "This payment method is not available. Choose another one.",
        ),
        Problem::NoMethod => ("Choisissez un moyen de paiement.", "Choose a payment method."),
    };
    match locale {
        Locale::Fr => fr,
        Locale::En => en,
    }
}

/// Why the phone field is refused.
pub(crate) fn phone_problem(p: &PhoneProblem, locale: Locale) -> String {
    match p {
        PhoneProblem::Invalid(e) => e.message(locale),
        PhoneProblem::Refused => ErrorCode::InvalidPhoneNumber.message(locale).to_owned(),
    }
}

/// The live status line of an attempt under way.
pub(crate) fn attempt_status(s: AttemptStatus, locale: Locale) -> &'static str {
    match (s, locale) {
        (AttemptStatus::Created, Locale::Fr) => "Demande envoyée à votre opérateur…",
        (AttemptStatus::Created, Locale::En) => "Request sent to your operator…",
        (AttemptStatus::Authorized, Locale::Fr) => "Paiement autorisé, finalisation en cours…",
        (AttemptStatus::Authorized, Locale::En) => "Payment authorised, completing it…",
        (_, Locale::Fr) => "En attente de votre confirmation…",
        (_, Locale::En) => "Waiting for your confirmation…",
    }
}

/// Why no attempt can be started any more.
pub(crate) fn closed(s: CheckoutStatus, locale: Locale) -> &'static str {
    match s {
        CheckoutStatus::Cancelled => Text::Cancelled.get(locale),
        _ => Text::Expired.get(locale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_exists_in_both_languages() {
        for t in Text::ALL {
            let (fr, en) = (t.get(Locale::Fr), t.get(Locale::En));
            assert!(!fr.is_empty() && !en.is_empty(), "{t:?}");
            assert_ne!(fr, en, "{t:?} is untranslated");
        }
        for p in [
            Problem::InvalidLink,
            Problem::Unreachable,
            Problem::MethodUnavailable,
            Problem::NoMethod,
            Problem::Payment(ErrorCode::InsufficientFunds),
        ] {
            assert_ne!(problem(p, Locale::Fr), problem(p, Locale::En), "{p:?}");
        }
        for s in AttemptStatus::ALL {
            assert_ne!(attempt_status(s, Locale::Fr), attempt_status(s, Locale::En));
        }
    }

    #[test]
    fn the_waiting_instruction_is_the_agreed_one() {
        assert_eq!(Text::ConfirmOnPhone.get(Locale::En), "Confirm the payment on your phone");
        assert_eq!(Text::ConfirmOnPhone.get(Locale::Fr), "Confirmez le paiement sur votre téléphone");
        assert_eq!(Text::Paid.get(Locale::Fr), "Payé");
        assert_eq!(pay_label("5 000 F CFA", Locale::Fr), "Payer 5 000 F CFA");
    }
}

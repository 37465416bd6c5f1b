//! Every string the widget shows, in French and English. Payment failures and phone-number
//! errors come from `shared` (the catalogue and `PhoneError::message`), so that the verifier's
//! customer messages and the widget's agree.

use shared::catalogue::ErrorCode;
use shared::locale::Locale;
use shared::phone::Country;
use shared::status::{AttemptStatus, CheckoutStatus};

use crate::state::{Mismatch, OtpProblem, PhoneProblem, Problem};

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
    /// The waiting screen's title for a payment made with a one-time code: no prompt comes.
    CheckingCode,
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
    /// Before the network recognised from the number.
    Network,
    /// The label of the one-time code field.
    OtpLabel,
    /// The one-time code is missing or malformed.
    OtpInvalid,
    /// The waiting screen's instruction for a card page.
    FinishOnPage,
    /// What to do with the push prompt.
    ApproveWithPin,
    /// Before the fallback code, when the prompt does not appear.
    NoPrompt,
    /// Before the countdown.
    TimeLeft,
    /// Under the QR code.
    ScanQr,
    /// The QR code image's text alternative.
    QrAlt,
    /// The button back to the form when another method is suggested.
    ChooseAnother,
    /// The provider reported another amount, currency or reference: the merchant checks.
    UnderReview,
    // ---- The waiting screen's way out ----
    /// Ends the attempt and goes back to the form on the phone field.
    ChangeNumber,
    /// Ends the attempt and goes back to the form.
    CancelPayment,
    /// The link back to the merchant's page on the end screens.
    ReturnToShop,
    /// The receipt's row of the amount.
    Amount,
    /// The receipt's row of the time the attempt ended.
    When,
    /// The receipt's row of the provider's transaction id.
    TransactionId,
}

impl Text {
    /// Every string, for tests.
    #[cfg(test)]
    const ALL: [Text; 30] = [
        Text::Loading,
        Text::MethodLegend,
        Text::PhoneLabel,
        Text::Sending,
        Text::ConfirmOnPhone,
        Text::CheckingCode,
        Text::OpenPaymentPage,
        Text::Paid,
        Text::Reference,
        Text::TryAgain,
        Text::Refunded,
        Text::Expired,
        Text::Cancelled,
        Text::Network,
        Text::OtpLabel,
        Text::OtpInvalid,
        Text::FinishOnPage,
        Text::ApproveWithPin,
        Text::NoPrompt,
        Text::TimeLeft,
        Text::ScanQr,
        Text::QrAlt,
        Text::ChooseAnother,
        Text::UnderReview,
        Text::ChangeNumber,
        Text::CancelPayment,
        Text::ReturnToShop,
        Text::Amount,
        Text::When,
        Text::TransactionId,
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
            Text::CheckingCode => {
                ("Orange Money vérifie votre code de paiement", "Orange Money is checking your payment code")
            }
            Text::OpenPaymentPage => ("Ouvrir la page de paiement", "Open the payment page"),
            Text::Paid => ("Payé", "Paid"),
            Text::Reference => ("Référence à conserver\u{a0}:", "Reference to keep:"),
            Text::ReturnToShop => ("Retour à la boutique", "Return to the shop"),
            Text::Amount => ("Montant", "Amount"),
            Text::When => ("Date et heure", "Date and time"),
            Text::TransactionId => ("N° de transaction", "Transaction ID"),
            Text::TryAgain => ("Réessayer", "Try again"),
            Text::Refunded => ("Ce paiement a été remboursé.", "This payment was refunded."),
            Text::Expired => ("Ce paiement a expiré.", "This payment has expired."),
            Text::Cancelled => ("Ce paiement a été annulé.", "This payment was cancelled."),
            Text::Network => ("Réseau\u{a0}:", "Network:"),
            Text::OtpLabel => ("Code de paiement Orange Money", "Orange Money payment code"),
            Text::OtpInvalid => (
                "Saisissez le code de 4 à 6 chiffres reçu par SMS.",
                "Enter the 4 to 6 digit code you received by text message.",
            ),
            Text::FinishOnPage => {
                ("Terminez le paiement sur la page de paiement", "Finish the payment on the payment page")
            }
            Text::ApproveWithPin => (
                "Un message de votre opérateur va s'afficher\u{a0}: saisissez votre code secret pour valider.",
                "A message from your operator will appear: enter your secret code to approve.",
            ),
            Text::NoPrompt => ("Pas de message\u{a0}? Composez", "No message? Dial"),
            Text::TimeLeft => ("Temps restant\u{a0}:", "Time left:"),
            Text::ScanQr => (
                "Sur ordinateur\u{a0}: scannez ce code avec votre téléphone.",
                "On a computer: scan this code with your phone.",
            ),
            Text::QrAlt => ("Code QR de la page de paiement", "QR code of the payment page"),
            Text::ChooseAnother => ("Choisir un autre moyen", "Choose another way to pay"),
            Text::UnderReview => (
                "Votre paiement est en cours de vérification : ne payez pas une deuxième fois.",
                "Your payment is being checked: do not pay again.",
            ),
            Text::ChangeNumber => ("Changer de numéro", "Change number"),
            Text::CancelPayment => ("Annuler", "Cancel"),
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
        Locale::Fr => crate::cat(&["Payer ", amount]),
        Locale::En => crate::cat(&["Pay ", amount]),
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

/// Why the phone field is refused, saying how numbers of `country` are written (with the
/// country's example: "10 chiffres, par exemple 07 07 12 34 56").
pub(crate) fn phone_problem(p: &PhoneProblem, country: Country, locale: Locale) -> String {
    match p {
        PhoneProblem::Invalid(e) => e.message_for(country, locale),
        PhoneProblem::Refused => ErrorCode::InvalidPhoneNumber.message(locale).to_owned(),
    }
}

/// Why the one-time code is refused.
pub(crate) fn otp_problem(p: OtpProblem, locale: Locale) -> &'static str {
    match p {
        OtpProblem::Invalid => Text::OtpInvalid.get(locale),
        OtpProblem::Refused => ErrorCode::OtpRefused.message(locale),
    }
}

/// How to get the one-time code: with the country's code when it is known.
pub(crate) fn otp_hint(code: Option<&str>, locale: Locale) -> String {
    // Joined rather than `format!`ted: each formatting call site costs the download more.
    match (code, locale) {
        (Some(c), Locale::Fr) => crate::cat(&[
            "Composez ",
            c,
            " sur votre téléphone Orange pour recevoir un code de paiement, puis saisissez-le ici.",
        ]),
        (Some(c), Locale::En) => {
            crate::cat(&["Dial ", c, " on your Orange phone to get a payment code, then enter it here."])
        }
        (None, Locale::Fr) => {
            "Générez un code de paiement dans le menu Orange Money de votre téléphone, puis saisissez-le ici."
                .into()
        }
        (None, Locale::En) => {
            "Generate a payment code in the Orange Money menu of your phone, then enter it here.".into()
        }
    }
}

/// "This is a Moov Africa number: choose Moov Money or change the number." ("an Orange
/// number": English's article follows the sound of the name).
pub(crate) fn mismatch(m: Mismatch, locale: Locale) -> String {
    let net = m.network.name().unwrap_or_default();
    // A vowel sound: a name starting with a vowel, or read letter by letter from M ("em-tee-en").
    let a = if net.starts_with(['A', 'E', 'I', 'O', 'U']) || net.starts_with("MTN") { "an " } else { "a " };
    match (m.suggest, locale) {
        (Some(w), Locale::Fr) => crate::cat(&[
            "Ce numéro est un numéro ",
            net,
            "\u{a0}: choisissez ",
            w.label(locale),
            " ou changez de numéro.",
        ]),
        (Some(w), Locale::En) => {
            crate::cat(&["This is ", a, net, " number: choose ", w.label(locale), " or change the number."])
        }
        (None, Locale::Fr) => crate::cat(&[
            "Ce numéro est un numéro ",
            net,
            "\u{a0}: changez de numéro ou de moyen de paiement.",
        ]),
        (None, Locale::En) => {
            crate::cat(&["This is ", a, net, " number: change the number or the way to pay."])
        }
    }
}

/// The trust line under the widget: "Paiement sécurisé · payé à Boutique Awa".
pub(crate) fn secure(merchant: &str, locale: Locale) -> String {
    match locale {
        Locale::Fr => crate::cat(&["Paiement sécurisé · payé à ", merchant]),
        Locale::En => crate::cat(&["Secure payment · paid to ", merchant]),
    }
}

/// The countdown, `m:ss` (or `h:mm:ss`).
pub(crate) fn countdown(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
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
    fn the_article_follows_the_sound_of_the_network() {
        use shared::{method::PaymentMethod, phone::Network};
        let en = |network| mismatch(Mismatch { network, suggest: None, soft: false }, Locale::En);
        assert_eq!(en(Network::Orange), "This is an Orange number: change the number or the way to pay.");
        assert!(en(Network::Mtn).starts_with("This is an MTN number"), "{}", en(Network::Mtn));
        assert!(en(Network::Airtel).starts_with("This is an Airtel number"));
        assert!(en(Network::Moov).starts_with("This is a Moov Africa number"));
        assert!(en(Network::Yas).starts_with("This is a Yas number"));
        let suggested = mismatch(
            Mismatch { network: Network::Orange, suggest: Some(PaymentMethod::OrangeMoney), soft: false },
            Locale::En,
        );
        assert!(suggested.starts_with("This is an Orange number: choose"), "{suggested}");
    }

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

    #[test]
    fn countdowns_and_hints() {
        assert_eq!(countdown(0), "0:00");
        assert_eq!(countdown(299), "4:59");
        assert_eq!(countdown(3725), "1:02:05");
        assert!(otp_hint(Some("#144*82#"), Locale::Fr).contains("#144*82#"));
        assert_ne!(otp_hint(None, Locale::Fr), otp_hint(None, Locale::En));
    }
}

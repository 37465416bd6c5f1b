//! The USSD codes a customer dials on their phone during a payment, per country and network:
//! the code that generates an Orange Money one-time payment code (sent as `PayRequest::otp`),
//! and the menu that shows a pending payment when the operator's push prompt does not appear,
//! with the one rule of which menu a waiting payment shows ([`waiting_fallback`]: the operator's
//! of a push, none for a payment link or a payment made with a one-time code).
//!
//! Data and that rule, not UI, so that the widget (which shows them) and the verifier (which
//! could put them in a notification) agree. Only codes a source gives are listed; elsewhere the widget says what
//! to do without a code rather than guess one. Sources, per entry below:
//! - <https://docs.clapay.app/docs/nowallet/payment/flow-payment> ("Orange OTP USSD codes by
//!   country") for the one-time codes;
//! - NovaSend's docs (<https://docs.novasend.app/>, "MTN and Moov push") for `*133#` and `*155#`
//!   in Côte d'Ivoire;
//! - <https://docs.fincra.com/docs/mobile-money-direct-charge> for Orange's `#144#`, MTN
//!   Cameroun's `*126#` and Moov Bénin's `*855#`;
//! - the project's issue 6 for Airtel Gabon's `*150#` (no public source found: to confirm).

use crate::locale::Locale;
use crate::method::{PaymentMethod, Provider};
use crate::phone::{Country, Network};

/// A USSD code, possibly with a part the customer fills in: the payment's amount (Orange
/// Burkina Faso) or their secret code (Orange Guinée).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UssdCode {
    /// The code, with `{amount}` or `{pin}` where the customer puts the amount or their
    /// secret code.
    pub pattern: &'static str,
}

impl UssdCode {
    /// The code as the customer dials it: `{amount}` becomes `amount` (whole units, no
    /// separators), `{pin}` the words for their secret code. A pattern has at most one part.
    pub fn dial(self, amount: u64, locale: Locale) -> String {
        let pin = match locale {
            Locale::Fr => "[code secret]",
            Locale::En => "[secret code]",
        };
        match self.pattern.split_once('{') {
            Some((head, rest)) => {
                let (name, tail) = rest.split_once('}').unwrap_or((rest, ""));
                let part = if name == "amount" { amount.to_string() } else { pin.to_owned() };
                format!("{head}{part}{tail}")
            }
            None => self.pattern.to_owned(),
        }
    }
}

/// The code that gives an Orange Money one-time payment code in `country`, if a source gives
/// one (https://docs.clapay.app/docs/nowallet/payment/flow-payment).
pub fn orange_otp(country: Country) -> Option<UssdCode> {
    let pattern = match country {
        Country::Ci => "#144*82#",
        Country::Bf => "*144*4*6*{amount}#",
        Country::Sn => "#144#391#",
        Country::Ml => "#144#77#",
        Country::Gn => "*144*4*2*1*{pin}#",
        _ => return None,
    };
    Some(UssdCode { pattern })
}

/// The menu where a customer of `network` in `country` finds and approves a pending payment
/// when the push prompt does not appear, if a source gives it.
pub fn push_fallback(country: Country, network: Network) -> Option<UssdCode> {
    let pattern = match (country, network) {
        // NovaSend's docs (https://docs.novasend.app/, "MTN and Moov push").
        (Country::Ci, Network::Mtn) => "*133#",
        (Country::Ci, Network::Moov) => "*155#",
        // Orange's menu in Côte d'Ivoire (docs.fincra.com "mobile-money-direct-charge"; the CI
        // variant of pub.dev's adjeminpay_flutter, `AdpInfoText`).
        (Country::Ci, Network::Orange) => "#144#",
        // https://docs.fincra.com/docs/mobile-money-direct-charge.
        (Country::Cm, Network::Mtn) => "*126#",
        (Country::Bj, Network::Moov) => "*855#",
        // Issue 6's text; not in the research files.
        (Country::Ga, Network::Airtel) => "*150#",
        _ => return None,
    };
    Some(UssdCode { pattern })
}

/// Whether the waiting screen's main action for an attempt of `method` is the provider's page
/// (`has_link`: the provider gave one): Wave, card and pay-later always are, and mobile money in
/// general is when the provider answered with its page (a wallet chosen there). An operator's
/// own wallet (Orange Money, MTN MoMo, Moov Money, Airtel Money) is a push to the phone, even
/// when the provider also gives a page (NovaSend's `paymentUrl`, "deep link" to confirm,
/// <https://docs.novasend.app/payin.en>): its prompt, then its menu, come first.
pub fn is_link_payment(method: PaymentMethod, has_link: bool) -> bool {
    match method {
        PaymentMethod::Wave | PaymentMethod::Card => true,
        _ => method.network().is_none() && has_link,
    }
}

/// The code the waiting screen shows for an attempt carried by `provider`: the push fallback
/// menu of the operator whose wallet receives the prompt, and nothing else.
///
/// - A payment made with a **one-time code** the customer generated ([`Provider::needs_otp`]:
///   NovaSend's Orange Money direct payin carries `payin.otp`, which the customer gets by
///   dialling `#144*82#` in Côte d'Ivoire, <https://docs.novasend.app/api-direct/payment>) has
///   no prompt: the code is the customer's approval and the operator debits with it, so no
///   menu shows a payment waiting there and no code is shown.
/// - A **link** payment ([`is_link_payment`]) is confirmed on the provider's page; no operator
///   menu finds it, so no code is shown, whatever the number's network. Wave is a wallet, not
///   a network: it has no operator menu.
/// - A **push** payment prompts the wallet of the method's operator, else, for mobile money in
///   general, the operator of the number it was sent to (`number_network`, read from the
///   number's range); that operator's menu ([`push_fallback`]) is where the customer finds the
///   payment when the prompt does not appear. An unknown operator gets no code: no guess.
pub fn waiting_fallback(
    country: Country,
    provider: Provider,
    method: PaymentMethod,
    number_network: Option<Network>,
    has_link: bool,
) -> Option<UssdCode> {
    if provider.needs_otp(method) || is_link_payment(method, has_link) {
        return None;
    }
    push_fallback(country, method.network().or(number_network)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_screen_shows_only_the_operator_menu_of_a_push() {
        use PaymentMethod::*;
        let code = |method, net, link| {
            waiting_fallback(Country::Ci, Provider::CaurisFlux, method, net, link).map(|u| u.pattern)
        };
        // Link payments: never a menu, even for an Orange or MTN number.
        assert_eq!(code(Wave, Some(Network::Orange), true), None);
        assert_eq!(code(Wave, Some(Network::Mtn), false), None);
        assert_eq!(code(MobileMoney, Some(Network::Orange), true), None);
        assert_eq!(code(Card, None, true), None);
        // Push payments: the method's operator, else the number's; a page beside the prompt
        // changes nothing.
        assert_eq!(code(OrangeMoney, Some(Network::Orange), false), Some("#144#"));
        assert_eq!(code(OrangeMoney, Some(Network::Orange), true), Some("#144#"));
        assert_eq!(code(MtnMomo, Some(Network::Mtn), true), Some("*133#"));
        assert_eq!(code(MoovMoney, None, false), Some("*155#"));
        assert_eq!(code(MtnMomo, Some(Network::Orange), false), Some("*133#"), "the method's own");
        assert_eq!(code(MobileMoney, Some(Network::Mtn), false), Some("*133#"));
        assert_eq!(code(MobileMoney, None, false), None, "unknown operator: no guess");
        assert_eq!(
            waiting_fallback(Country::Ga, Provider::MyPvit, AirtelMoney, None, false).map(|u| u.pattern),
            Some("*150#")
        );
        assert!(is_link_payment(Wave, false) && is_link_payment(MobileMoney, true));
        assert!(!is_link_payment(MtnMomo, true) && !is_link_payment(MobileMoney, false));
    }

    #[test]
    fn a_payment_made_with_a_one_time_code_shows_no_operator_menu() {
        use PaymentMethod::*;
        let orange = Some(Network::Orange);
        // NovaSend's Orange Money in Côte d'Ivoire: the customer dialled `#144*82#` for a code
        // and the payin carries it (https://docs.novasend.app/api-direct/payment): no prompt
        // comes, and Orange's `#144#` menu has no payment waiting to approve.
        assert!(Provider::NovaSend.needs_otp(OrangeMoney));
        assert_eq!(waiting_fallback(Country::Ci, Provider::NovaSend, OrangeMoney, orange, false), None);
        assert_eq!(waiting_fallback(Country::Ci, Provider::NovaSend, OrangeMoney, orange, true), None);
        // The same wallet pushed by CaurisFlux has a prompt, and Orange's menu behind it.
        let pushed = waiting_fallback(Country::Ci, Provider::CaurisFlux, OrangeMoney, orange, false);
        assert_eq!(pushed.map(|u| u.pattern), Some("#144#"));
        // NovaSend's MTN and Moov pushes keep the menus its docs give ("MTN and Moov push").
        let mtn = waiting_fallback(Country::Ci, Provider::NovaSend, MtnMomo, Some(Network::Mtn), false);
        assert_eq!(mtn.map(|u| u.pattern), Some("*133#"));
        let moov = waiting_fallback(Country::Ci, Provider::NovaSend, MoovMoney, None, false);
        assert_eq!(moov.map(|u| u.pattern), Some("*155#"));
        // The code the customer dialled for the payment code is not a waiting menu.
        assert_ne!(orange_otp(Country::Ci), push_fallback(Country::Ci, Network::Orange));
    }

    #[test]
    fn codes_are_dialable() {
        for country in Country::ALL {
            let codes = Network::ALL.into_iter().filter_map(|n| push_fallback(country, n));
            for code in codes.chain(orange_otp(country)) {
                let dial = code.dial(5000, Locale::Fr);
                assert!(dial.starts_with(['*', '#']) && dial.ends_with('#'), "{dial}");
            }
        }
        assert_eq!(orange_otp(Country::Ci).unwrap().dial(5000, Locale::En), "#144*82#");
        assert_eq!(orange_otp(Country::Bf).unwrap().dial(5000, Locale::En), "*144*4*6*5000#");
        assert_eq!(orange_otp(Country::Gn).unwrap().dial(1, Locale::En), "*144*4*2*1*[secret code]#");
        assert_eq!(push_fallback(Country::Ci, Network::Mtn).unwrap().pattern, "*133#");
        assert_eq!(push_fallback(Country::Ci, Network::Moov).unwrap().pattern, "*155#");
        assert_eq!(push_fallback(Country::Ga, Network::Airtel).unwrap().pattern, "*150#");
        assert_eq!(push_fallback(Country::Ga, Network::Moov), None, "no source: no guess");
        assert_eq!(orange_otp(Country::Cm), None);
    }
}

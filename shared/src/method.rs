//! How a customer pays (the method they choose) and who carries the payment (the provider).

use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::phone::Network;

/// A payment provider the verifier integrates. Only `server::providers` talks to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// NovaSend (Côte d'Ivoire, Cameroun): wallet sessions and direct push payments.
    NovaSend,
    /// CaurisFlux: mobile money across UEMOA and CEMAC.
    CaurisFlux,
    /// MyPVit (Gabon): Airtel Money and Moov Money.
    MyPvit,
    /// Scalapay: card and pay-later, in euros.
    Scalapay,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 4] =
        [Provider::NovaSend, Provider::CaurisFlux, Provider::MyPvit, Provider::Scalapay];

    /// The identifier used in URLs, configuration and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::NovaSend => "nova_send",
            Provider::CaurisFlux => "cauris_flux",
            Provider::MyPvit => "my_pvit",
            Provider::Scalapay => "scalapay",
        }
    }

    /// Parses [`Provider::as_str`]'s form.
    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether this provider needs a one-time code the customer generates (`PayRequest::otp`)
    /// to carry `method`: NovaSend's Orange Money direct payins (`payin.otp`,
    /// <https://docs.novasend.app/api-direct/payment>; `transaction_otp_required` otherwise).
    pub fn needs_otp(self, method: PaymentMethod) -> bool {
        matches!((self, method), (Provider::NovaSend, PaymentMethod::OrangeMoney))
    }

    /// Whether this provider's card method is pay-later: the shopper pays the order's total in
    /// instalments (Scalapay, "payez en plusieurs fois",
    /// <https://developers.scalapay.com/reference/get_v2-payments-token-1>).
    pub fn pays_later(self) -> bool {
        matches!(self, Provider::Scalapay)
    }
}

/// What the customer chooses in the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Any mobile-money wallet, confirmed on the provider's own page or prompt.
    MobileMoney,
    /// Orange Money.
    OrangeMoney,
    /// MTN Mobile Money.
    MtnMomo,
    /// Moov Money (Flooz).
    MoovMoney,
    /// Wave.
    Wave,
    /// Airtel Money.
    AirtelMoney,
    /// Card or pay-later.
    Card,
}

impl PaymentMethod {
    /// The identifier used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::MobileMoney => "mobile_money",
            PaymentMethod::OrangeMoney => "orange_money",
            PaymentMethod::MtnMomo => "mtn_momo",
            PaymentMethod::MoovMoney => "moov_money",
            PaymentMethod::Wave => "wave",
            PaymentMethod::AirtelMoney => "airtel_money",
            PaymentMethod::Card => "card",
        }
    }

    /// Parses [`PaymentMethod::as_str`]'s form.
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        use PaymentMethod::*;
        [MobileMoney, OrangeMoney, MtnMomo, MoovMoney, Wave, AirtelMoney, Card]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// The name shown to the customer.
    pub fn label(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (PaymentMethod::MobileMoney, Locale::Fr) => "Mobile money",
            (PaymentMethod::MobileMoney, Locale::En) => "Mobile money",
            (PaymentMethod::OrangeMoney, _) => "Orange Money",
            (PaymentMethod::MtnMomo, _) => "MTN MoMo",
            (PaymentMethod::MoovMoney, _) => "Moov Money",
            (PaymentMethod::Wave, _) => "Wave",
            (PaymentMethod::AirtelMoney, _) => "Airtel Money",
            (PaymentMethod::Card, Locale::Fr) => "Carte bancaire",
            (PaymentMethod::Card, Locale::En) => "Card",
        }
    }

    /// The name shown to the customer when `provider` carries this method: the card method of a
    /// pay-later provider is named as pay-later, not as a card.
    pub fn label_by(self, provider: Provider, locale: Locale) -> &'static str {
        match (self, provider.pays_later(), locale) {
            (PaymentMethod::Card, true, Locale::Fr) => "Payer en plusieurs fois",
            (PaymentMethod::Card, true, Locale::En) => "Pay in instalments",
            _ => self.label(locale),
        }
    }

    /// Whether the customer identifies with a phone number for this method.
    pub fn needs_phone(self) -> bool {
        !matches!(self, PaymentMethod::Card)
    }

    /// The mobile network whose wallet this method is, for methods tied to one operator;
    /// `None` for methods that work with any number (mobile money in general, Wave, card).
    pub fn network(self) -> Option<Network> {
        match self {
            PaymentMethod::OrangeMoney => Some(Network::Orange),
            PaymentMethod::MtnMomo => Some(Network::Mtn),
            PaymentMethod::MoovMoney => Some(Network::Moov),
            PaymentMethod::AirtelMoney => Some(Network::Airtel),
            PaymentMethod::MobileMoney | PaymentMethod::Wave | PaymentMethod::Card => None,
        }
    }

    /// The operator wallet of `network`, if one of these methods is it: the inverse of
    /// [`PaymentMethod::network`].
    pub fn of_network(network: Network) -> Option<PaymentMethod> {
        use PaymentMethod::*;
        [OrangeMoney, MtnMomo, MoovMoney, AirtelMoney].into_iter().find(|m| m.network() == Some(network))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_match_serde() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.as_str()));
        }
        use PaymentMethod::*;
        for m in [MobileMoney, OrangeMoney, MtnMomo, MoovMoney, Wave, AirtelMoney, Card] {
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{}\"", m.as_str()));
        }
        assert_eq!(PaymentMethod::parse("bitcoin"), None);
    }

    #[test]
    fn operator_wallets_and_their_networks() {
        use PaymentMethod::*;
        for m in [OrangeMoney, MtnMomo, MoovMoney, AirtelMoney] {
            assert_eq!(PaymentMethod::of_network(m.network().unwrap()), Some(m));
        }
        for m in [MobileMoney, Wave, Card] {
            assert_eq!(m.network(), None);
        }
        assert_eq!(PaymentMethod::of_network(Network::Yas), None);
        assert!(Provider::NovaSend.needs_otp(OrangeMoney));
        assert!(!Provider::NovaSend.needs_otp(MtnMomo));
        assert!(!Provider::CaurisFlux.needs_otp(OrangeMoney));
    }

    #[test]
    fn scalapay_s_card_method_is_named_as_pay_later() {
        use PaymentMethod::*;
        assert_eq!(Card.label_by(Provider::Scalapay, Locale::Fr), "Payer en plusieurs fois");
        assert_eq!(Card.label_by(Provider::Scalapay, Locale::En), "Pay in instalments");
        assert_eq!(Card.label_by(Provider::CaurisFlux, Locale::Fr), "Carte bancaire");
        assert_eq!(OrangeMoney.label_by(Provider::NovaSend, Locale::En), "Orange Money");
    }
}

//! Each provider's documented amount limits, as data that the widget and the server both check
//! before a payment call is made.
//!
//! Amounts are in minor units of the currency (francs for XOF/XAF, cents for EUR), inclusive.
//! A limit that a provider enforces but does not publish is `None`: the provider's own refusal
//! then maps to [`ErrorCode::LimitExceeded`] through the catalogue.

use serde::{Deserialize, Serialize};

use crate::catalogue::ErrorCode;
use crate::locale::Locale;
use crate::method::Provider;
use crate::money::{Currency, Money};

/// The amounts one provider accepts in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The currency.
    pub currency: Currency,
    /// The smallest amount accepted, in minor units.
    pub min_minor: u64,
    /// The largest amount accepted, in minor units, when the provider publishes one.
    pub max_minor: Option<u64>,
}

impl Limits {
    /// The smallest amount accepted.
    pub fn min(&self) -> Money {
        // Every table entry has a positive minimum below MAX_MINOR (tested), so clamping keeps
        // the amount as it is.
        Money::clamped(self.min_minor, self.currency)
    }

    /// The largest amount accepted, when published.
    pub fn max(&self) -> Option<Money> {
        self.max_minor.map(|m| Money::clamped(m, self.currency))
    }

    /// Whether `amount` is within these limits (and in their currency).
    pub fn contains(&self, amount: Money) -> bool {
        amount.currency() == self.currency
            && amount.minor() >= self.min_minor
            && self.max_minor.is_none_or(|max| amount.minor() <= max)
    }
}

/// Why an amount cannot be paid with a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LimitError {
    /// The provider does not take this currency.
    #[error("{provider:?} does not accept {currency}")]
    CurrencyNotSupported {
        /// The provider.
        provider: Provider,
        /// The currency asked for.
        currency: Currency,
    },
    /// The amount is below the provider's minimum.
    #[error("the amount is below the minimum of {} {}", min.minor(), min.currency())]
    BelowMinimum {
        /// The smallest amount accepted.
        min: Money,
    },
    /// The amount is above the provider's maximum.
    #[error("the amount is above the maximum of {} {}", max.minor(), max.currency())]
    AboveMaximum {
        /// The largest amount accepted.
        max: Money,
    },
}

impl LimitError {
    /// The catalogue's code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            LimitError::CurrencyNotSupported { .. } => ErrorCode::MethodUnavailable,
            LimitError::BelowMinimum { .. } => ErrorCode::AmountTooLow,
            LimitError::AboveMaximum { .. } => ErrorCode::LimitExceeded,
        }
    }

    /// The message shown to the customer, with the limit in their language's format.
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (LimitError::CurrencyNotSupported { .. }, _) => self.code().message(locale).to_owned(),
            (LimitError::BelowMinimum { min }, Locale::Fr) => {
                format!("Le montant minimum pour ce moyen de paiement est {}.", min.display(locale))
            }
            (LimitError::BelowMinimum { min }, Locale::En) => {
                format!("The minimum amount for this way to pay is {}.", min.display(locale))
            }
            (LimitError::AboveMaximum { max }, Locale::Fr) => {
                format!("Le montant maximum pour ce moyen de paiement est {}.", max.display(locale))
            }
            (LimitError::AboveMaximum { max }, Locale::En) => {
                format!("The maximum amount for this way to pay is {}.", max.display(locale))
            }
        }
    }
}

/// The limits of `provider` in `currency`, or `None` when the provider does not take it.
pub fn limits(provider: Provider, currency: Currency) -> Option<Limits> {
    let (min_minor, max_minor) = match (provider, currency) {
        // CaurisFlux guides/errors, VALIDATION_ERROR: "amount Min: 100, Max: 5000000", "currency
        // XOF ou XAF" (https://docs.caurisflux.com/guides/errors).
        (Provider::CaurisFlux, Currency::Xof | Currency::Xaf) => (100, Some(5_000_000)),
        // MyPVit REST and LINK APIs: amount "Supérieur à 150" (integration document v5.5); Gabon
        // only, XAF. TRANSACTION_MAX_AMOUNT_EXCEDED exists, but no maximum is published.
        (Provider::MyPvit, Currency::Xaf) => (151, None),
        // NovaSend: whole units, `transaction_greater_than_zero`; a maximum exists ("Invalid
        // amount", above the provider maximum) but is not published (https://docs.novasend.app/).
        (Provider::NovaSend, Currency::Xof) => (1, None),
        // NovaSend in Cameroun: 200–500 000 XAF, from an integrator's configuration
        // (github.com/kalynux/jovi-mall, `config/payments.config.ts`): the only figure found.
        (Provider::NovaSend, Currency::Xaf) => (200, Some(500_000)),
        // Scalapay: euros only; its maximum is set per merchant by contract
        // (`order_amount_exceeds_maximum_limit`,
        // https://developers.scalapay.com/reference/messages-validation).
        (Provider::Scalapay, Currency::Eur) => (1, None),
        (Provider::CaurisFlux, Currency::Eur)
        | (Provider::MyPvit, Currency::Xof | Currency::Eur)
        | (Provider::NovaSend, Currency::Eur)
        | (Provider::Scalapay, Currency::Xof | Currency::Xaf) => return None,
    };
    Some(Limits { currency, min_minor, max_minor })
}

/// Checks `amount` against `provider`'s documented limits, before any call is made.
pub fn check(provider: Provider, amount: Money) -> Result<(), LimitError> {
    let currency = amount.currency();
    let limits = limits(provider, currency).ok_or(LimitError::CurrencyNotSupported { provider, currency })?;
    if amount.minor() < limits.min_minor {
        return Err(LimitError::BelowMinimum { min: limits.min() });
    }
    match limits.max() {
        Some(max) if amount.minor() > max.minor() => Err(LimitError::AboveMaximum { max }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: u64, currency: Currency) -> Money {
        Money::new(minor, currency).unwrap()
    }

    #[test]
    fn caurisflux_takes_100_to_5_000_000() {
        for c in [Currency::Xof, Currency::Xaf] {
            assert_eq!(check(Provider::CaurisFlux, money(100, c)), Ok(()));
            assert_eq!(check(Provider::CaurisFlux, money(5_000_000, c)), Ok(()));
            assert_eq!(
                check(Provider::CaurisFlux, money(99, c)),
                Err(LimitError::BelowMinimum { min: money(100, c) })
            );
            assert_eq!(
                check(Provider::CaurisFlux, money(5_000_001, c)),
                Err(LimitError::AboveMaximum { max: money(5_000_000, c) })
            );
        }
        assert_eq!(
            check(Provider::CaurisFlux, money(1000, Currency::Eur)),
            Err(LimitError::CurrencyNotSupported { provider: Provider::CaurisFlux, currency: Currency::Eur })
        );
    }

    #[test]
    fn mypvit_takes_more_than_150_xaf() {
        assert!(check(Provider::MyPvit, money(150, Currency::Xaf)).is_err());
        assert_eq!(check(Provider::MyPvit, money(151, Currency::Xaf)), Ok(()));
        assert_eq!(check(Provider::MyPvit, money(10_000_000, Currency::Xaf)), Ok(()));
        assert!(check(Provider::MyPvit, money(1000, Currency::Xof)).is_err());
    }

    #[test]
    fn every_entry_is_sane_and_check_agrees_with_contains() {
        for p in Provider::ALL {
            for c in Currency::ALL {
                let Some(l) = limits(p, c) else { continue };
                assert!(l.min_minor >= 1);
                assert_eq!(l.min().minor(), l.min_minor);
                assert!(l.min_minor <= crate::money::MAX_MINOR);
                assert!(l.max_minor.is_none_or(|max| max >= l.min_minor && max <= crate::money::MAX_MINOR));
                assert_eq!(l.max().map(Money::minor), l.max_minor);
                for minor in [1, l.min_minor - 1, l.min_minor, 5000, 500_000, 5_000_000, 5_000_001] {
                    let Ok(m) = Money::new(minor, c) else { continue };
                    assert_eq!(check(p, m).is_ok(), l.contains(m), "{p:?} {minor} {c}");
                }
            }
            assert!(Currency::ALL.iter().any(|&c| limits(p, c).is_some()), "{p:?} takes nothing");
        }
    }

    #[test]
    fn refusals_map_to_the_catalogue_and_speak_both_languages() {
        let below = check(Provider::MyPvit, money(100, Currency::Xaf)).unwrap_err();
        assert_eq!(below.code(), ErrorCode::AmountTooLow);
        assert_eq!(
            below.message(Locale::Fr),
            "Le montant minimum pour ce moyen de paiement est 151\u{a0}F\u{a0}CFA."
        );
        assert_eq!(
            below.message(Locale::En),
            "The minimum amount for this way to pay is 151\u{a0}CFA francs."
        );
        let above = check(Provider::CaurisFlux, money(6_000_000, Currency::Xof)).unwrap_err();
        assert_eq!(above.code(), ErrorCode::LimitExceeded);
        assert!(above.message(Locale::Fr).contains("5\u{202f}000\u{202f}000"));
        let currency = check(Provider::Scalapay, money(100, Currency::Xof)).unwrap_err();
        assert_eq!(currency.code(), ErrorCode::MethodUnavailable);
        assert_ne!(currency.message(Locale::Fr), currency.message(Locale::En));
    }
}

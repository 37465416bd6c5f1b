//! Money: an integer count of minor units with its currency. No floats anywhere.
//!
//! Conversion to a provider's wire format (integers, decimal strings, JSON numbers) happens in
//! that provider's adapter, never here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// A currency the checkout accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// West African CFA franc (UEMOA): no minor unit.
    #[serde(rename = "XOF")]
    Xof,
    /// Central African CFA franc (CEMAC): no minor unit.
    #[serde(rename = "XAF")]
    Xaf,
    /// Euro: two decimals.
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    /// Every supported currency.
    pub const ALL: [Currency; 3] = [Currency::Xof, Currency::Xaf, Currency::Eur];

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Xof => "XOF",
            Currency::Xaf => "XAF",
            Currency::Eur => "EUR",
        }
    }

    /// How many decimals the minor unit has (ISO 4217 exponent).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Xof | Currency::Xaf => 0,
            Currency::Eur => 2,
        }
    }

    /// Parses an ISO 4217 code, case-insensitively.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
            .ok_or(MoneyError::UnknownCurrency)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why an amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amount is zero or negative.
    #[error("the amount must be greater than zero")]
    NotPositive,
    /// The amount is larger than any payment this product handles.
    #[error("the amount is too large")]
    TooLarge,
    /// The currency code is not one the checkout supports.
    #[error("unsupported currency")]
    UnknownCurrency,
}

/// A positive amount of money in minor units (francs for XOF/XAF, cents for EUR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: u64,
    currency: Currency,
}

/// The serialised form of [`Money`]: `{"amount": 5000, "currency": "XOF"}`.
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: u64,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;
    fn try_from(r: MoneyRepr) -> Result<Self, Self::Error> {
        Money::new(r.amount, r.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(m: Money) -> Self {
        MoneyRepr { amount: m.minor, currency: m.currency }
    }
}

/// The largest amount accepted, in minor units: far above any mobile-money ceiling, and small
/// enough that every provider's integer and JSON-number formats hold it exactly.
pub const MAX_MINOR: u64 = 1_000_000_000_000;

impl Money {
    /// An amount of `minor` units of `currency`; zero and absurd amounts are refused.
    pub fn new(minor: u64, currency: Currency) -> Result<Money, MoneyError> {
        if minor == 0 {
            return Err(MoneyError::NotPositive);
        }
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money { minor, currency })
    }

    /// The count of minor units.
    pub fn minor(self) -> u64 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The amount as customers read it: `5 000 F CFA` in French, `XOF 5,000` in English,
    /// `12,50 €` / `€12.50` for euros.
    pub fn display(self, locale: Locale) -> String {
        let exp = self.currency.exponent();
        let unit = 10u64.pow(exp);
        let (major, frac) = (self.minor / unit, self.minor % unit);
        let (group, decimal) = match locale {
            // U+202F NARROW NO-BREAK SPACE, as French typography groups thousands.
            Locale::Fr => ('\u{202f}', ','),
            Locale::En => (',', '.'),
        };
        let mut number = group_thousands(major, group);
        if exp > 0 {
            number.push(decimal);
            number.push_str(&format!("{frac:0width$}", width = exp as usize));
        }
        match (self.currency, locale) {
            (Currency::Xof | Currency::Xaf, Locale::Fr) => format!("{number}\u{a0}F\u{a0}CFA"),
            (Currency::Xof | Currency::Xaf, Locale::En) => format!("{number}\u{a0}CFA francs"),
            (Currency::Eur, Locale::Fr) => format!("{number}\u{a0}€"),
            (Currency::Eur, Locale::En) => format!("€{number}"),
        }
    }
}

fn group_thousands(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_huge_amounts_are_refused() {
        assert_eq!(Money::new(0, Currency::Xof), Err(MoneyError::NotPositive));
        assert_eq!(Money::new(MAX_MINOR + 1, Currency::Xof), Err(MoneyError::TooLarge));
        assert!(Money::new(MAX_MINOR, Currency::Xof).is_ok());
    }

    #[test]
    fn french_groups_with_narrow_spaces() {
        let m = Money::new(5000, Currency::Xof).unwrap();
        assert_eq!(m.display(Locale::Fr), "5\u{202f}000\u{a0}F\u{a0}CFA");
        let m = Money::new(1_234_567, Currency::Xaf).unwrap();
        assert_eq!(m.display(Locale::Fr), "1\u{202f}234\u{202f}567\u{a0}F\u{a0}CFA");
        let m = Money::new(100, Currency::Xof).unwrap();
        assert_eq!(m.display(Locale::Fr), "100\u{a0}F\u{a0}CFA");
    }

    #[test]
    fn english_and_euros() {
        let m = Money::new(5000, Currency::Xof).unwrap();
        assert_eq!(m.display(Locale::En), "5,000\u{a0}CFA francs");
        let m = Money::new(1250, Currency::Eur).unwrap();
        assert_eq!(m.display(Locale::En), "€12.50");
        assert_eq!(m.display(Locale::Fr), "12,50\u{a0}€");
        let m = Money::new(5, Currency::Eur).unwrap();
        assert_eq!(m.display(Locale::En), "€0.05");
    }

    #[test]
    fn serde_refuses_invalid_amounts() {
        let ok: Money = serde_json::from_str(r#"{"amount":300,"currency":"XOF"}"#).unwrap();
        assert_eq!(ok.minor(), 300);
        assert!(serde_json::from_str::<Money>(r#"{"amount":0,"currency":"XOF"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":-5,"currency":"XOF"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"XOF"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":10,"currency":"USD"}"#).is_err());
    }

    #[test]
    fn currency_codes_parse() {
        assert_eq!(Currency::parse("xof"), Ok(Currency::Xof));
        assert_eq!(Currency::parse("GHS"), Err(MoneyError::UnknownCurrency));
    }
}

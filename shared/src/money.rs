//! Money: an integer count of minor units with its currency. No floats anywhere.
//!
//! Conversion to a provider's wire format (integers, decimal strings, JSON numbers) happens in
//! that provider's adapter, never here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// A currency the checkout accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// A decimal amount that is not digits with at most the currency's decimals
    /// ([`Money::from_decimal_str`]).
    #[error("the amount is not a decimal number with the currency's decimals")]
    InvalidFormat,
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

    /// `minor` brought into the accepted range `1..=MAX_MINOR`: for amounts that are valid by
    /// construction (tables of limits), without a fallible path.
    pub(crate) fn clamped(minor: u64, currency: Currency) -> Money {
        Money { minor: minor.clamp(1, MAX_MINOR), currency }
    }

    /// The count of minor units.
    pub fn minor(self) -> u64 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The amount in major units as a decimal string with exactly the currency's decimals,
    /// `"5000"` (XOF) or `"12.50"` (EUR): the form providers that take decimal strings expect.
    /// Computed on integers; no float is involved.
    pub fn to_decimal_string(self) -> String {
        let exp = self.currency.exponent();
        if exp == 0 {
            return self.minor.to_string();
        }
        let unit = 10u64.pow(exp);
        format!("{}.{:0width$}", self.minor / unit, self.minor % unit, width = exp as usize)
    }

    /// Reads a decimal amount in major units, as providers send them (`"5000"`, `"200.0"`,
    /// `"12.5"`), exactly: digits, then optionally `.` and decimals, of which only the
    /// currency's may be non-zero. Signs, exponents, separators and spaces are refused.
    pub fn from_decimal_str(s: &str, currency: Currency) -> Result<Money, MoneyError> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || (s.contains('.') && frac.is_empty()) {
            return Err(MoneyError::InvalidFormat);
        }
        let exp = currency.exponent() as usize;
        let (kept, dropped) = frac.split_at(frac.len().min(exp));
        if dropped.bytes().any(|b| b != b'0') {
            return Err(MoneyError::InvalidFormat);
        }
        // Too many digits for a u64 is "too large" (MAX_MINOR is far below u64::MAX).
        let int = int.trim_start_matches('0');
        if int.len() > 19 {
            return Err(MoneyError::TooLarge);
        }
        let major: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| MoneyError::TooLarge)? };
        let mut minor = major.checked_mul(10u64.pow(exp as u32)).ok_or(MoneyError::TooLarge)?;
        if !kept.is_empty() {
            let scale = 10u64.pow((exp - kept.len()) as u32);
            let frac: u64 = kept.parse().map_err(|_| MoneyError::InvalidFormat)?;
            minor = minor.checked_add(frac * scale).ok_or(MoneyError::TooLarge)?;
        }
        Money::new(minor, currency)
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
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
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
    fn decimal_strings_for_providers() {
        let xof = |m| Money::new(m, Currency::Xof).unwrap();
        let eur = |m| Money::new(m, Currency::Eur).unwrap();
        assert_eq!(xof(5000).to_decimal_string(), "5000");
        assert_eq!(eur(1250).to_decimal_string(), "12.50");
        assert_eq!(eur(5).to_decimal_string(), "0.05");
        assert_eq!(Money::from_decimal_str("5000", Currency::Xof), Ok(xof(5000)));
        assert_eq!(Money::from_decimal_str("200.0", Currency::Xaf), Money::new(200, Currency::Xaf));
        assert_eq!(Money::from_decimal_str("190.00", Currency::Eur), Ok(eur(19000)));
        assert_eq!(Money::from_decimal_str("12.5", Currency::Eur), Ok(eur(1250)));
        assert_eq!(Money::from_decimal_str("0.05", Currency::Eur), Ok(eur(5)));
        assert_eq!(Money::from_decimal_str("0012.500", Currency::Eur), Ok(eur(1250)));
        for bad in ["", ".", "1.", ".5", "-5", "+5", "1e3", "1,5", " 5", "5 000", "1.2.3", "١٢"] {
            assert_eq!(
                Money::from_decimal_str(bad, Currency::Eur),
                Err(MoneyError::InvalidFormat),
                "{bad:?}"
            );
        }
        assert_eq!(Money::from_decimal_str("200.5", Currency::Xaf), Err(MoneyError::InvalidFormat));
        assert_eq!(Money::from_decimal_str("12.345", Currency::Eur), Err(MoneyError::InvalidFormat));
        assert_eq!(Money::from_decimal_str("0", Currency::Xof), Err(MoneyError::NotPositive));
        assert_eq!(Money::from_decimal_str("0.00", Currency::Eur), Err(MoneyError::NotPositive));
        assert_eq!(
            Money::from_decimal_str("99999999999999999999999", Currency::Xof),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Money::from_decimal_str("10000000000.01", Currency::Eur), Err(MoneyError::TooLarge));
    }

    proptest::proptest! {
        #[test]
        fn display_never_panics_and_keeps_the_digits(minor in 1..=MAX_MINOR, c in 0usize..3) {
            let currency = Currency::ALL[c];
            let m = Money::new(minor, currency).unwrap();
            for locale in [Locale::Fr, Locale::En] {
                let shown = m.display(locale);
                let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
                proptest::prop_assert_eq!(digits.parse::<u64>().unwrap(), minor, "{}", shown);
            }
            proptest::prop_assert_eq!(Money::from_decimal_str(&m.to_decimal_string(), currency), Ok(m));
        }

        #[test]
        fn decimal_parsing_never_panics(s in "\\PC{0,30}", c in 0usize..3) {
            let _ = Money::from_decimal_str(&s, Currency::ALL[c]);
        }
    }

    #[test]
    fn currency_codes_parse() {
        assert_eq!(Currency::parse("xof"), Ok(Currency::Xof));
        assert_eq!(Currency::parse("GHS"), Err(MoneyError::UnknownCurrency));
    }
}

//! Scalapay's amounts, read and written by the sandbox itself: euros as a decimal **string**
//! with a dot and at most two decimals (`{"amount": "190.00", "currency": "EUR"}`, the amount
//! object of https://developers.scalapay.com/reference/post_v2-orders; anything else is refused
//! with `string.pattern.base`, https://developers.scalapay.com/reference/messages-validation),
//! kept here as a count of cents.
//!
//! This is the sandbox's own arithmetic, written from those pages and shared with nobody: were
//! the verifier's money type to read a decimal string wrongly, this one would not make the same
//! mistake, and the tests between them would fail.

use std::fmt::Write as _;

/// The one currency Scalapay's API documents (`"currency": "EUR"`, and the validation answer
/// `"currency" must be [EUR]`).
pub const EUR: &str = "EUR";

/// An amount in euro cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub u64);

/// Why a string is not a Scalapay amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not digits, optionally followed by a dot and one or two decimals (`"40,70"`, `"1.005"`,
    /// `"-5"`, `" 190.00"`, `"1e2"`).
    #[error("the amount is not euros with a dot and at most two decimals")]
    Pattern,
    /// More cents than the sandbox counts.
    #[error("the amount is too large")]
    TooLarge,
}

impl Cents {
    /// Reads `"190.00"`, `"12.5"` or `"190"` exactly, with integers only.
    pub fn parse(text: &str) -> Result<Cents, AmountError> {
        let (euros, decimals) = match text.split_once('.') {
            Some((euros, decimals)) => (euros, decimals),
            None => (text, "00"),
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(euros) || !digits(decimals) || decimals.len() > 2 {
            return Err(AmountError::Pattern);
        }
        // Only digits from here: a failed parse is an overflow.
        let euros: u64 = euros.parse().map_err(|_| AmountError::TooLarge)?;
        let decimals_len = decimals.len();
        let decimals: u64 = decimals.parse().map_err(|_| AmountError::Pattern)?;
        // One decimal is tenths of a euro: "12.5" is 12,50 €.
        let cents = if decimals_len == 1 { decimals * 10 } else { decimals };
        euros.checked_mul(100).and_then(|c| c.checked_add(cents)).map(Cents).ok_or(AmountError::TooLarge)
    }

    /// The wire string, always with two decimals: `"190.00"`, `"0.05"`.
    pub fn to_decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The JSON number Scalapay puts in a webhook's `totalAmount`: the euros without trailing
    /// zeros (`40.7` for 40,70 €, `190` for 190,00 €), as in `webhook_created.json` and
    /// `webhook_authorized.json` (`server/tests/fixtures/scalapay/`, from
    /// https://developers.scalapay.com/reference/examples-of-webhook-requests).
    pub fn to_number(self) -> serde_json::Number {
        let (euros, cents) = (self.0 / 100, self.0 % 100);
        if cents == 0 {
            return serde_json::Number::from(euros);
        }
        let text = format!("{euros}.{cents:02}");
        // A finite decimal always parses; the integer euros are the (unreachable) fallback.
        text.trim_end_matches('0').parse().unwrap_or_else(|_| serde_json::Number::from(euros))
    }

    /// The amount as the (French) card page shows it: `1 234,56 €`, thousands grouped with
    /// narrow no-break spaces and a no-break space before the sign, as French typography writes.
    pub fn french(self) -> String {
        let euros = (self.0 / 100).to_string();
        let mut out = String::with_capacity(euros.len() + 8);
        for (i, digit) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                out.push('\u{202f}');
            }
            out.push(digit);
        }
        let _ = write!(out, ",{:02}\u{a0}€", self.0 % 100);
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../server/tests/fixtures/scalapay/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn text_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
        v.pointer(pointer).and_then(Value::as_str).unwrap()
    }

    #[test]
    fn the_documents_amounts_read_as_their_cents() {
        let cases = [
            ("order_request.json", "/totalAmount/amount", 19_000),
            ("order_request.json", "/items/0/price/amount", 19_000),
            ("capture.json", "/totalAmount/amount", 19_000),
            ("payment_charged.json", "/orderDetails/items/0/price/amount", 15_000),
            ("payment_charged.json", "/orderDetails/items/1/price/amount", 4_000),
            ("refund.json", "/amount/amount", 4_000),
            ("webhook_created.json", "/orderDetails/totalAmount/amount", 4_070),
        ];
        for (file, pointer, cents) in cases {
            let v = fixture(file);
            assert_eq!(Cents::parse(text_at(&v, pointer)), Ok(Cents(cents)), "{file} {pointer}");
        }
    }

    #[test]
    fn the_delay_examples_decimal_comma_is_refused() {
        // `delay.json` prints `"40,70"`: not Scalapay's pattern.
        let v = fixture("delay.json");
        assert_eq!(text_at(&v, "/totalAmount/amount"), "40,70");
        assert_eq!(Cents::parse("40,70"), Err(AmountError::Pattern));
    }

    #[test]
    fn other_forms_of_the_pattern() {
        assert_eq!(Cents::parse("190"), Ok(Cents(19_000)));
        assert_eq!(Cents::parse("12.5"), Ok(Cents(1_250)));
        assert_eq!(Cents::parse("0.05"), Ok(Cents(5)));
        assert_eq!(Cents::parse("0.00"), Ok(Cents(0)));
        assert_eq!(Cents::parse("007.10"), Ok(Cents(710)));
        for refused in [
            "", ".", "190.", ".50", "1.005", "190,00", "-1.00", "+1.00", "1e2", " 190.00", "190.00 ",
            "1 000.00", "1.2.3",
        ] {
            assert_eq!(Cents::parse(refused), Err(AmountError::Pattern), "{refused:?}");
        }
        assert_eq!(Cents::parse("184467440737095516.16"), Err(AmountError::TooLarge));
        assert_eq!(Cents::parse("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(Cents::parse("184467440737095516.15"), Ok(Cents(u64::MAX)));
    }

    #[test]
    fn the_wire_string_has_two_decimals() {
        assert_eq!(Cents(19_000).to_decimal(), "190.00");
        assert_eq!(Cents(4_070).to_decimal(), "40.70");
        assert_eq!(Cents(5).to_decimal(), "0.05");
        assert_eq!(Cents(0).to_decimal(), "0.00");
    }

    #[test]
    fn the_webhook_number_is_the_examples() {
        // `webhook_created.json`: orderDetails' "40.70" is sent as totalAmount 40.7.
        let v = fixture("webhook_created.json");
        assert_eq!(v["totalAmount"], Value::Number(Cents(4_070).to_number()));
        assert_eq!(Cents(4_070).to_number().to_string(), "40.7");
        assert_eq!(Cents(19_000).to_number().to_string(), "190");
        assert_eq!(Cents(1_905).to_number().to_string(), "19.05");
    }

    #[test]
    fn the_card_page_writes_french_euros() {
        assert_eq!(Cents(19_000).french(), "190,00\u{a0}€");
        assert_eq!(Cents(123_456).french(), "1\u{202f}234,56\u{a0}€");
        assert_eq!(Cents(5).french(), "0,05\u{a0}€");
        assert_eq!(Cents(100_000_000).french(), "1\u{202f}000\u{202f}000,00\u{a0}€");
    }
}

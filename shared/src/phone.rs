//! Phone numbers as customers type them, parsed into E.164 for the providers.
//!
//! Customers type `07 07 12 34 56`, `+225 0707123456`, `00225…` or `074 41 65 46`. This module
//! turns that into one [`PhoneNumber`] (always E.164, always a mobile number of a supported
//! country) or a [`PhoneError`] that says precisely what is wrong, so the widget can tell the
//! customer in words. The numbering data is per country in [`PLANS`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// A country the checkout serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Country {
    /// Côte d'Ivoire.
    #[serde(rename = "CI")]
    Ci,
    /// Sénégal.
    #[serde(rename = "SN")]
    Sn,
    /// Cameroun.
    #[serde(rename = "CM")]
    Cm,
    /// Bénin.
    #[serde(rename = "BJ")]
    Bj,
    /// Togo.
    #[serde(rename = "TG")]
    Tg,
    /// Burkina Faso.
    #[serde(rename = "BF")]
    Bf,
    /// Mali.
    #[serde(rename = "ML")]
    Ml,
    /// Gabon.
    #[serde(rename = "GA")]
    Ga,
    /// Niger.
    #[serde(rename = "NE")]
    Ne,
    /// Guinée.
    #[serde(rename = "GN")]
    Gn,
    /// Congo (Brazzaville).
    #[serde(rename = "CG")]
    Cg,
}

/// A mobile network, told from the number's prefix where the numbering plan allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Orange.
    Orange,
    /// MTN.
    Mtn,
    /// Moov Africa.
    Moov,
    /// Airtel.
    Airtel,
    /// Free / Yas (Sénégal), Togocom / Yas (Togo).
    Yas,
    /// Expresso (Sénégal).
    Expresso,
    /// Celtiis (Bénin).
    Celtiis,
    /// Telecel.
    Telecel,
    /// Nexttel (Cameroun).
    Nexttel,
    /// Camtel (Cameroun).
    Camtel,
    /// A mobile number whose network the plan does not tell (portability, shared ranges).
    Unknown,
}

/// The numbering plan of one country: only what parsing mobile numbers needs.
#[derive(Debug)]
pub struct Plan {
    /// The country.
    pub country: Country,
    /// The ITU calling code, without `+`.
    pub calling_code: &'static str,
    /// Length of the national significant number (what follows the calling code in E.164).
    pub nsn_len: usize,
    /// Whether a leading `0` typed nationally is a trunk prefix to drop (Gabon), rather than part
    /// of the number (Côte d'Ivoire, Bénin).
    pub trunk_zero: bool,
    /// Mobile prefixes of the national significant number, with their network. Longest match
    /// wins.
    pub mobile: &'static [(&'static str, Network)],
}

use Network::*;

/// The supported countries' plans (libphonenumber metadata and the regulators' communiqués; see
/// `shared/research/providers.md` §5 of the kit).
pub static PLANS: &[Plan] = &[
    Plan {
        country: Country::Ci,
        calling_code: "225",
        nsn_len: 10,
        trunk_zero: false,
        mobile: &[("01", Moov), ("05", Mtn), ("07", Orange)],
    },
    Plan {
        country: Country::Sn,
        calling_code: "221",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[("70", Expresso), ("75", Unknown), ("76", Yas), ("77", Orange), ("78", Orange)],
    },
    Plan {
        country: Country::Cm,
        calling_code: "237",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[
            ("650", Mtn),
            ("651", Mtn),
            ("652", Mtn),
            ("653", Mtn),
            ("654", Mtn),
            ("655", Orange),
            ("656", Orange),
            ("657", Orange),
            ("658", Orange),
            ("659", Orange),
            ("66", Nexttel),
            ("67", Mtn),
            ("680", Mtn),
            ("681", Mtn),
            ("682", Mtn),
            ("683", Mtn),
            ("684", Nexttel),
            ("685", Nexttel),
            ("686", Orange),
            ("687", Orange),
            ("688", Orange),
            ("689", Orange),
            ("69", Orange),
            ("62", Camtel),
        ],
    },
    Plan {
        country: Country::Bj,
        calling_code: "229",
        nsn_len: 10,
        trunk_zero: false,
        mobile: &[("01", Unknown)],
    },
    Plan {
        country: Country::Tg,
        calling_code: "228",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[
            ("70", Yas),
            ("71", Yas),
            ("72", Yas),
            ("78", Moov),
            ("79", Moov),
            ("90", Yas),
            ("91", Yas),
            ("92", Yas),
            ("93", Yas),
            ("96", Moov),
            ("97", Moov),
            ("98", Moov),
            ("99", Moov),
        ],
    },
    Plan {
        country: Country::Bf,
        calling_code: "226",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[("5", Unknown), ("6", Unknown), ("7", Unknown), ("0", Unknown)],
    },
    Plan {
        country: Country::Ml,
        calling_code: "223",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[("5", Telecel), ("6", Moov), ("7", Orange), ("8", Unknown), ("9", Unknown)],
    },
    Plan {
        country: Country::Ga,
        calling_code: "241",
        nsn_len: 8,
        trunk_zero: true,
        mobile: &[
            ("62", Moov),
            ("65", Moov),
            ("66", Moov),
            ("74", Airtel),
            ("76", Airtel),
            ("77", Airtel),
        ],
    },
    Plan {
        country: Country::Ne,
        calling_code: "227",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[("8", Unknown), ("9", Unknown), ("7", Unknown)],
    },
    Plan {
        country: Country::Gn,
        calling_code: "224",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[("6", Unknown)],
    },
    Plan {
        country: Country::Cg,
        calling_code: "242",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[("04", Airtel), ("05", Airtel), ("06", Mtn)],
    },
];

impl Country {
    /// Every supported country.
    pub const ALL: [Country; 11] = [
        Country::Ci,
        Country::Sn,
        Country::Cm,
        Country::Bj,
        Country::Tg,
        Country::Bf,
        Country::Ml,
        Country::Ga,
        Country::Ne,
        Country::Gn,
        Country::Cg,
    ];

    /// The ISO 3166-1 alpha-2 code.
    pub fn code(self) -> &'static str {
        match self {
            Country::Ci => "CI",
            Country::Sn => "SN",
            Country::Cm => "CM",
            Country::Bj => "BJ",
            Country::Tg => "TG",
            Country::Bf => "BF",
            Country::Ml => "ML",
            Country::Ga => "GA",
            Country::Ne => "NE",
            Country::Gn => "GN",
            Country::Cg => "CG",
        }
    }

    /// Parses an ISO 3166-1 alpha-2 code, case-insensitively.
    pub fn parse(code: &str) -> Option<Country> {
        Country::ALL.into_iter().find(|c| c.code().eq_ignore_ascii_case(code.trim()))
    }

    /// This country's numbering plan.
    pub fn plan(self) -> &'static Plan {
        PLANS.iter().find(|p| p.country == self).expect("every country has a plan")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a typed number was refused. Each reason has its own customer message in the widget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("no phone number was given")]
    Empty,
    /// Something other than digits, spaces, dots, dashes, brackets and a leading `+`.
    #[error("the number contains characters that are not digits")]
    InvalidCharacters,
    /// Fewer digits than the country's numbers have.
    #[error("the number is too short")]
    TooShort,
    /// More digits than the country's numbers have.
    #[error("the number is too long")]
    TooLong,
    /// A valid-looking number that is not a mobile one (fixed line, service number).
    #[error("this is not a mobile number")]
    NotMobile,
    /// The international prefix is not one of a supported country.
    #[error("unknown country calling code")]
    UnknownPrefix,
    /// The number belongs to another supported country than the checkout's.
    #[error("this number belongs to another country ({actual})")]
    WrongCountry {
        /// The country the number belongs to.
        actual: Country,
    },
    /// A format that was retired; `current` is how the same number is written now, when it can
    /// be told.
    #[error("this number is in an old format")]
    Obsolete {
        /// The number in its current national form, if it can be derived.
        current: Option<String>,
    },
}

impl PhoneError {
    /// The message shown to the customer, in their language.
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (PhoneError::Empty, Locale::Fr) => "Saisissez votre numéro de téléphone.".into(),
            (PhoneError::Empty, Locale::En) => "Enter your phone number.".into(),
            (PhoneError::InvalidCharacters, Locale::Fr) => {
                "Le numéro ne doit contenir que des chiffres.".into()
            }
            (PhoneError::InvalidCharacters, Locale::En) => {
                "The number may only contain digits.".into()
            }
            (PhoneError::TooShort, Locale::Fr) => "Ce numéro est trop court.".into(),
            (PhoneError::TooShort, Locale::En) => "This number is too short.".into(),
            (PhoneError::TooLong, Locale::Fr) => "Ce numéro est trop long.".into(),
            (PhoneError::TooLong, Locale::En) => "This number is too long.".into(),
            (PhoneError::NotMobile, Locale::Fr) => {
                "Ce n'est pas un numéro de mobile.".into()
            }
            (PhoneError::NotMobile, Locale::En) => "This is not a mobile number.".into(),
            (PhoneError::UnknownPrefix, Locale::Fr) => {
                "Indicatif pays inconnu.".into()
            }
            (PhoneError::UnknownPrefix, Locale::En) => "Unknown country code.".into(),
            (PhoneError::WrongCountry { actual }, Locale::Fr) => {
                format!("Ce numéro est d'un autre pays ({actual}).")
            }
            (PhoneError::WrongCountry { actual }, Locale::En) => {
                format!("This number is from another country ({actual}).")
            }
            (PhoneError::Obsolete { current: Some(c) }, Locale::Fr) => {
                format!("Ce numéro est à l'ancien format. Il s'écrit maintenant : {c}")
            }
            (PhoneError::Obsolete { current: Some(c) }, Locale::En) => {
                format!("This number is in the old format. It is now written: {c}")
            }
            (PhoneError::Obsolete { current: None }, Locale::Fr) => {
                "Ce numéro est à l'ancien format.".into()
            }
            (PhoneError::Obsolete { current: None }, Locale::En) => {
                "This number is in the old format.".into()
            }
        }
    }
}

/// A mobile phone number of a supported country, in E.164 (`+2250707123456`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
    country: Country,
}

impl PhoneNumber {
    /// Parses what a customer typed, with `country` as the country of national forms. A number
    /// written with an international prefix must belong to `country` too.
    pub fn parse(input: &str, country: Country) -> Result<PhoneNumber, PhoneError> {
        let (international, digits) = clean(input)?;
        if international {
            let plan = PLANS
                .iter()
                .find(|p| digits.starts_with(p.calling_code))
                .ok_or(PhoneError::UnknownPrefix)?;
            let nsn = &digits[plan.calling_code.len()..];
            let number = from_nsn(plan, nsn)?;
            if plan.country != country {
                return Err(PhoneError::WrongCountry { actual: plan.country });
            }
            Ok(number)
        } else {
            let plan = country.plan();
            let nsn = if plan.trunk_zero && digits.len() == plan.nsn_len + 1 {
                digits.strip_prefix('0').ok_or(PhoneError::NotMobile)?
            } else {
                &digits
            };
            from_nsn(plan, nsn)
        }
    }

    /// Parses an E.164 string of any supported country (`+` and digits only).
    pub fn parse_e164(s: &str) -> Result<PhoneNumber, PhoneError> {
        let digits = s.strip_prefix('+').ok_or(PhoneError::UnknownPrefix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::InvalidCharacters);
        }
        let plan =
            PLANS.iter().find(|p| digits.starts_with(p.calling_code)).ok_or(PhoneError::UnknownPrefix)?;
        from_nsn(plan, &digits[plan.calling_code.len()..])
    }

    /// The E.164 form, `+` and digits.
    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// The country the number belongs to.
    pub fn country(&self) -> Country {
        self.country
    }

    /// The national significant number (E.164 without `+` and the calling code).
    pub fn nsn(&self) -> &str {
        &self.e164[1 + self.country.plan().calling_code.len()..]
    }

    /// The mobile network, or [`Network::Unknown`].
    pub fn network(&self) -> Network {
        mobile_network(self.country.plan(), self.nsn()).unwrap_or(Network::Unknown)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse_e164(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.e164
    }
}

/// Strips separators; returns whether the number was written internationally (`+` or `00`),
/// and its digits after that prefix.
fn clean(input: &str) -> Result<(bool, String), PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(rest.len());
    for ch in rest.chars() {
        match ch {
            '0'..='9' => digits.push(ch),
            ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}' | '\u{202f}' => {}
            _ => return Err(PhoneError::InvalidCharacters),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    if plus {
        return Ok((true, digits));
    }
    match digits.strip_prefix("00") {
        Some(rest) if PLANS.iter().any(|p| rest.starts_with(p.calling_code)) => {
            Ok((true, rest.to_owned()))
        }
        _ => Ok((false, digits)),
    }
}

fn from_nsn(plan: &Plan, nsn: &str) -> Result<PhoneNumber, PhoneError> {
    if nsn.len() < plan.nsn_len {
        return Err(PhoneError::TooShort);
    }
    if nsn.len() > plan.nsn_len {
        return Err(PhoneError::TooLong);
    }
    if mobile_network(plan, nsn).is_none() {
        return Err(PhoneError::NotMobile);
    }
    Ok(PhoneNumber { e164: format!("+{}{}", plan.calling_code, nsn), country: plan.country })
}

fn mobile_network(plan: &Plan, nsn: &str) -> Option<Network> {
    plan.mobile
        .iter()
        .filter(|(prefix, _)| nsn.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|&(_, network)| network)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivorian_forms_people_type() {
        for input in ["07 07 12 34 56", "+225 0707123456", "002250707123456", "07.07.12.34.56"] {
            let n = PhoneNumber::parse(input, Country::Ci).unwrap();
            assert_eq!(n.as_e164(), "+2250707123456", "{input}");
            assert_eq!(n.network(), Network::Orange);
        }
    }

    #[test]
    fn gabon_drops_the_trunk_zero() {
        let n = PhoneNumber::parse("074 41 65 46", Country::Ga).unwrap();
        assert_eq!(n.as_e164(), "+24174416546");
        assert_eq!(n.network(), Network::Airtel);
    }

    #[test]
    fn precise_reasons() {
        assert_eq!(PhoneNumber::parse("", Country::Ci), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("07 07 12", Country::Ci), Err(PhoneError::TooShort));
        assert_eq!(PhoneNumber::parse("07071234567", Country::Ci), Err(PhoneError::TooLong));
        assert_eq!(PhoneNumber::parse("2721234567", Country::Ci), Err(PhoneError::NotMobile));
        assert_eq!(PhoneNumber::parse("07a7123456", Country::Ci), Err(PhoneError::InvalidCharacters));
        assert_eq!(PhoneNumber::parse("+33612345678", Country::Ci), Err(PhoneError::UnknownPrefix));
        assert_eq!(
            PhoneNumber::parse("+221771234567", Country::Ci),
            Err(PhoneError::WrongCountry { actual: Country::Sn })
        );
    }

    #[test]
    fn serde_takes_only_e164() {
        let n: PhoneNumber = serde_json::from_str("\"+2250707123456\"").unwrap();
        assert_eq!(n.country(), Country::Ci);
        assert!(serde_json::from_str::<PhoneNumber>("\"0707123456\"").is_err());
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+2250707123456\"");
    }
}

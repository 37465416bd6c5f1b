//! The languages customers see: French and English.

use serde::{Deserialize, Serialize};

/// A language the widget and the customer messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// French, the default: most customers of the supported countries read it first.
    #[default]
    Fr,
    /// English.
    En,
}

impl Locale {
    /// Picks a locale from a BCP 47 tag such as `fr-CI` or `en-GB`; unknown languages give French.
    pub fn from_tag(tag: &str) -> Locale {
        // The language subtag (`en`, then the end or a `-`/`_`), read by position rather than
        // split: the widget's download carries less.
        let english = tag.get(..2).is_some_and(|l| l.eq_ignore_ascii_case("en"))
            && matches!(tag.as_bytes().get(2), None | Some(b'-' | b'_'));
        if english { Locale::En } else { Locale::Fr }
    }

    /// The two-letter code, as used in `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pick_the_language() {
        assert_eq!(Locale::from_tag("en-GB"), Locale::En);
        assert_eq!(Locale::from_tag("EN"), Locale::En);
        assert_eq!(Locale::from_tag("fr-CI"), Locale::Fr);
        assert_eq!(Locale::from_tag("wo-SN"), Locale::Fr);
        assert_eq!(Locale::from_tag(""), Locale::Fr);
        assert_eq!(Locale::from_tag("en_US"), Locale::En);
        assert_eq!(Locale::from_tag("eng"), Locale::Fr, "another language's three letters");
        assert_eq!(Locale::from_tag("é"), Locale::Fr);
    }
}

//! Fuzz target: `PhoneNumber::parse` on any input, for every country, must not panic, and what
//! it accepts must be a canonical E.164 number of that country that reads back to itself from
//! each of its written forms, also pasted between direction marks and in Arabic-Indic digits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::locale::Locale;
use shared::phone::{Country, PhoneNumber};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    for country in Country::ALL {
        match PhoneNumber::parse(&input, country) {
            Ok(n) => {
                let calling_code = country.plan().calling_code;
                assert_eq!(n.country(), country, "{input:?}");
                let digits = n.as_e164().strip_prefix('+').expect("E.164 starts with +");
                assert!(digits.starts_with(calling_code), "{input:?} gave {n}");
                assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{input:?} gave {n}");
                assert_eq!(n.nsn().len(), country.plan().nsn_len, "{input:?} gave {n}");
                assert_eq!(PhoneNumber::parse_e164(n.as_e164()).as_ref(), Ok(&n));
                for form in [n.as_e164().to_owned(), n.format_national(), n.format_international()] {
                    assert_eq!(PhoneNumber::parse(&form, country).as_ref(), Ok(&n), "{form:?}");
                }
                // Pasted with the marks contact apps add, and in Arabic-Indic digits.
                let pasted = format!("\u{202d}{}\u{202c}", n.format_international());
                assert_eq!(PhoneNumber::parse(&pasted, country).as_ref(), Ok(&n), "{pasted:?}");
                let arabic: String = n
                    .format_national()
                    .chars()
                    .map(|c| c.to_digit(10).and_then(|d| char::from_u32(0x660 + d)).unwrap_or(c))
                    .collect();
                assert_eq!(PhoneNumber::parse(&arabic, country).as_ref(), Ok(&n), "{arabic:?}");
                let _ = n.network();
            }
            Err(e) => {
                for locale in [Locale::Fr, Locale::En] {
                    assert!(!e.message(locale).is_empty());
                    assert!(!e.message_for(country, locale).is_empty());
                }
            }
        }
    }
    let _ = PhoneNumber::parse_e164(&input);
});

//! Proves `shared::phone`'s numbering data against Google's libphonenumber, used only here.
//!
//! The oracle is the metadata embedded in the `phonenumber` crate (a dev-dependency; it never
//! reaches the widget): `PhoneNumberMetadata.xml` of libphonenumber v9.0.33, plus that release's
//! carrier files, copied into `tests/data/libphonenumber-carrier-en.txt` because the crate does
//! not expose them. For every supported country, every 4-digit beginning of a national
//! significant number (NSN) is filled out to full length with several digit patterns, and the
//! search goes one digit deeper wherever the oracle's verdicts or our tables differ below a
//! prefix. Shorter and longer NSNs are probed from every 3-digit beginning.
//!
//! The oracle evaluates the metadata's patterns itself, anchored at both ends, with
//! libphonenumber's order of number types (`getNumberTypeHelper`). Two bugs of the crate
//! 0.3.10 make its own answers unusable as they are:
//! - `PhoneNumber::number_type` formats the national number without its leading zeros, so every
//!   NSN that begins with 0 (all of Côte d'Ivoire, Bénin and Congo, part of Burkina Faso) is
//!   typed `Unknown`, mobile or not;
//! - `Descriptor::is_match` checks only that the pattern matches at the start, not to the end,
//!   so with Gabon's possible lengths 7 and 8 its `is_valid` accepts any 8-digit NSN beginning
//!   with 2–7 through the old 7-digit pattern (`+241 20 00 00 00` is "valid").
//!
//! `crate_validity_differs_only_where_its_matching_bug_says` pins the second one down.
//!
//! Deliberate deviations from the oracle, each asserted where it occurs:
//! 1. Gabon's pre-2019 forms (`0X XX XX XX`, and `X XX XX XX` from abroad, X in 2–7): the
//!    metadata still accepts them as mobile ("About old numbers, which may soon get invalid");
//!    they were switched off on 6 April 2024 (news.alibreville.com/h/114469.html,
//!    africapresse.com). We refuse them as `Obsolete`, with the
//!    current form where the mapping is published.
//! 2. Côte d'Ivoire's national format: we write five pairs (`07 07 12 34 56`), as Ivorians do
//!    (fr.wikipedia "Liste des indicatifs téléphoniques en Côte d'Ivoire"); libphonenumber
//!    writes `07 07 12 3456`. Same digits, asserted.
//! 3. Network names: operators are named as they trade today, and ranges of operators that
//!    stopped trading are `Unknown` (table in `expected_network`).
//!
//! Bénin's 2024 10-digit plan is already in this metadata version: no deviation there.

use std::collections::HashMap;
use std::sync::LazyLock;

use phonenumber::metadata::{DATABASE, Descriptor};
use phonenumber::{Mode, country};
use regex::Regex;
use shared::phone::{Country, Network, PLANS, PhoneError, PhoneNumber, Plan};

/// The number type libphonenumber gives an NSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mobile,
    FixedOrMobile,
    /// Fixed line, toll-free, premium, shared cost, VoIP, UAN...
    NotMobile,
    Invalid,
}

/// One number-type description: its possible lengths and its full-match pattern.
struct Desc {
    lengths: Vec<usize>,
    pattern: Regex,
}

impl Desc {
    fn new(d: &Descriptor) -> Desc {
        // The metadata's patterns are laid out over several lines; whitespace is not part of them.
        let pattern: String = d.national_number().as_str().split_whitespace().collect();
        Desc {
            lengths: d.possible_length().iter().map(|&l| usize::from(l)).collect(),
            pattern: Regex::new(&format!("^(?:{pattern})$")).expect("metadata pattern compiles"),
        }
    }

    fn matches(&self, nsn: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&nsn.len())) && self.pattern.is_match(nsn)
    }
}

/// libphonenumber's verdicts for one country.
struct Oracle {
    general: Desc,
    non_mobile: Vec<Desc>,
    fixed: Option<Desc>,
    mobile: Option<Desc>,
}

impl Oracle {
    fn new(country: Country) -> Oracle {
        let meta = DATABASE.by_id(country.code()).expect("the oracle knows every supported country");
        let d = meta.descriptors();
        Oracle {
            general: Desc::new(d.general()),
            // libphonenumber's order: premium, toll-free, shared cost, VoIP, personal, pager,
            // UAN, voicemail, then fixed line and mobile.
            non_mobile: [
                d.premium_rate(),
                d.toll_free(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .map(Desc::new)
            .collect(),
            fixed: d.fixed_line().map(Desc::new),
            mobile: d.mobile().map(Desc::new),
        }
    }

    fn kind(&self, nsn: &str) -> Kind {
        if !self.general.matches(nsn) {
            return Kind::Invalid;
        }
        if self.non_mobile.iter().any(|d| d.matches(nsn)) {
            return Kind::NotMobile;
        }
        let fixed = self.fixed.as_ref().is_some_and(|d| d.matches(nsn));
        let mobile = self.mobile.as_ref().is_some_and(|d| d.matches(nsn));
        match (fixed, mobile) {
            (true, true) => Kind::FixedOrMobile,
            (true, false) => Kind::NotMobile,
            (false, true) => Kind::Mobile,
            (false, false) => Kind::Invalid,
        }
    }
}

fn oracle_id(country: Country) -> country::Id {
    country.code().parse().expect("the oracle knows every supported country")
}

/// libphonenumber's carrier names by E.164 prefix (without `+`).
static CARRIERS: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    include_str!("data/libphonenumber-carrier-en.txt")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (prefix, name) = l.split_once('|').expect("prefix|name");
            (prefix.trim().to_owned(), name.trim().to_owned())
        })
        .collect()
});

/// The carrier of the longest prefix of `digits` (E.164 without `+`), if any.
fn carrier(digits: &str) -> Option<&'static str> {
    (1..=digits.len()).rev().find_map(|len| CARRIERS.get(&digits[..len]).map(String::as_str))
}

/// The network we must give a number whose range libphonenumber names `carrier`.
fn expected_network(carrier: Option<&str>) -> Network {
    match carrier {
        Some("Orange") => Network::Orange,
        Some("MTN" | "MTN Cameroon") => Network::Mtn,
        // Areeba was MTN's brand in Guinée.
        Some("Areeba") => Network::Mtn,
        Some("Moov") => Network::Moov,
        // Now trading as Moov Africa: Onatel (Burkina Faso), Sotelma-Malitel (Mali), Libertis
        // merged into Moov Africa Gabon Télécom (news.alibreville.com/h/89332.html).
        Some("Onatel" | "Sotelma" | "Libertis") => Network::Moov,
        Some("Airtel") => Network::Airtel,
        // Bharti Airtel bought Warid Congo in 2013 and merged it in 2014; customers kept their
        // numbers (adiac-congo.com, 31 May 2014).
        Some("Warid") => Network::Airtel,
        // Axian renamed Free (Sénégal) and Togocom's Togo Cellulaire "Yas" in 2024
        // (capmad.com; togoactualite.com).
        Some("Free" | "Togo Telecom") => Network::Yas,
        Some("Expresso") => Network::Expresso,
        Some("Celtiis") => Network::Celtiis,
        // Atel trades as Telecel Mali.
        Some("Telecel Faso" | "Atel") => Network::Telecel,
        Some("NEXTTEL") => Network::Nexttel,
        Some("Camtel") => Network::Camtel,
        Some("HAYO") => Network::Hayo,
        Some("Promobile") => Network::Promobile,
        Some("ADIE") => Network::Adie,
        Some("Niger Telecoms") => Network::NigerTelecoms,
        Some("Cellcom") => Network::Cellcom,
        Some("Congo telecom") => Network::CongoTelecom,
        // Operators that stopped trading: their ranges cannot be told.
        Some("Sotelgui" | "Intercel" | "Equateur Telecom") => Network::Unknown,
        Some(other) => panic!("carrier {other:?} has no network: add it to expected_network"),
        None => Network::Unknown,
    }
}

/// Deviation 1: Gabon's pre-2019 forms, which the oracle still calls mobile.
fn is_old_gabon_form(country: Country, nsn: &str) -> bool {
    let b = nsn.as_bytes();
    country == Country::Ga && matches!((b.len(), b), (8, [b'0', b'2'..=b'7', ..]) | (7, [b'2'..=b'7', ..]))
}

/// Fills `prefix` out to `len` digits in several ways: constant digits and two pseudo-random
/// tails (deterministic, so a failure can be replayed).
fn fillings(prefix: &str, len: usize) -> Vec<String> {
    let seed = prefix.bytes().fold(0x9e37_79b9_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut out: Vec<String> = ['0', '5', '9']
        .into_iter()
        .map(|fill| prefix.chars().chain(std::iter::repeat(fill)).take(len).collect())
        .collect();
    for round in 1..=2u64 {
        let mut x = seed ^ round.wrapping_mul(0xda94_2042_e4dd_58b5);
        let tail = (prefix.len()..len).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'0' + (x % 10) as u8)
        });
        out.push(prefix.chars().chain(tail).collect());
    }
    out
}

/// What we answer for an NSN, reduced to what is compared with the oracle.
fn verdict_class(result: &Result<PhoneNumber, PhoneError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(PhoneError::NotMobile) => "not_mobile",
        Err(PhoneError::UnassignedPrefix { .. }) => "unassigned",
        Err(PhoneError::Obsolete { .. }) => "obsolete",
        Err(_) => "other",
    }
}

#[derive(Default, Debug)]
struct Stats {
    checked: usize,
    accepted: usize,
    old_gabon_forms: usize,
    /// Invalid numbers we call "not mobile" because `Plan::other` is coarser than the plan.
    invalid_called_not_mobile: usize,
}

/// Compares our verdict on one full-length NSN with the oracle's.
fn compare_full_length(country: Country, oracle: &Oracle, nsn: &str, stats: &mut Stats) -> &'static str {
    let plan = country.plan();
    let digits = format!("{}{nsn}", plan.calling_code);
    let e164 = format!("+{digits}");
    let ours = PhoneNumber::parse_e164(&e164);
    stats.checked += 1;
    match oracle.kind(nsn) {
        Kind::Mobile | Kind::FixedOrMobile if is_old_gabon_form(country, nsn) => {
            stats.old_gabon_forms += 1;
            assert!(matches!(ours, Err(PhoneError::Obsolete { .. })), "{e164}: {ours:?}");
        }
        Kind::Mobile | Kind::FixedOrMobile => {
            stats.accepted += 1;
            let n = ours.unwrap_or_else(|e| panic!("{e164} is a mobile number for the oracle: {e:?}"));
            assert_eq!(n.as_e164(), e164);
            assert_eq!(n.nsn(), nsn);
            assert_eq!(n.country(), country);
            assert_eq!(n.network(), expected_network(carrier(&digits)), "{e164}");
            let theirs = phonenumber::parse(Some(oracle_id(country)), &e164).expect("oracle parses");
            assert_eq!(theirs.format().mode(Mode::E164).to_string(), e164);
            // The national form: libphonenumber's, except for Côte d'Ivoire (deviation 2).
            let national = n.format_national();
            let their_national = theirs.format().mode(Mode::National).to_string();
            if country == Country::Ci {
                assert_eq!(national.replace(' ', ""), their_national.replace(' ', ""));
            } else {
                assert_eq!(national, their_national, "{e164}");
            }
            // Both parsers read our national and international forms back to the same number.
            for written in [national.clone(), n.format_international(), e164.clone()] {
                assert_eq!(PhoneNumber::parse(&written, country).as_ref(), Ok(&n), "{written}");
                let theirs = phonenumber::parse(Some(oracle_id(country)), &written).expect("oracle parses");
                assert_eq!(theirs.format().mode(Mode::E164).to_string(), e164, "{written}");
            }
        }
        Kind::NotMobile => {
            assert_eq!(ours, Err(PhoneError::NotMobile), "{e164}");
        }
        Kind::Invalid => match ours {
            Err(PhoneError::UnassignedPrefix { .. }) => {}
            Err(PhoneError::NotMobile) => stats.invalid_called_not_mobile += 1,
            other => panic!("{e164} is invalid for the oracle, we say {other:?}"),
        },
    }
    verdict_class(&PhoneNumber::parse_e164(&e164))
}

/// Walks the NSNs of full length under `prefix`, one digit deeper where anything varies.
fn explore(country: Country, oracle: &Oracle, prefix: &str, stats: &mut Stats) {
    let plan = country.plan();
    let mut kinds = Vec::new();
    let mut ours = Vec::new();
    for nsn in fillings(prefix, plan.nsn_len) {
        kinds.push(oracle.kind(&nsn));
        ours.push(compare_full_length(country, oracle, &nsn, stats));
    }
    let uniform = kinds.windows(2).all(|w| w[0] == w[1]) && ours.windows(2).all(|w| w[0] == w[1]);
    let deeper_in_our_tables = plan
        .mobile
        .iter()
        .map(|(p, _)| *p)
        .chain(plan.other.iter().copied())
        .any(|p| p.len() > prefix.len() && p.starts_with(prefix));
    if (!uniform || deeper_in_our_tables) && prefix.len() + 1 < plan.nsn_len {
        for d in '0'..='9' {
            explore(country, oracle, &format!("{prefix}{d}"), stats);
        }
    }
}

fn all_prefixes(len: usize) -> impl Iterator<Item = String> {
    (0..10u32.pow(len as u32)).map(move |p| format!("{p:0len$}"))
}

#[test]
fn every_prefix_of_every_country_matches_libphonenumber() {
    for country in Country::ALL {
        let oracle = Oracle::new(country);
        let mut stats = Stats::default();
        for prefix in all_prefixes(4) {
            explore(country, &oracle, &prefix, &mut stats);
        }
        println!("{country}: {stats:?}");
        assert!(stats.accepted > 0, "{country}: no mobile number checked");
        // Gabon's old forms are the only deviation on validity at full length.
        assert_eq!(stats.old_gabon_forms > 0, country == Country::Ga);
    }
}

#[test]
fn shorter_and_longer_numbers_match_libphonenumber() {
    for country in Country::ALL {
        let plan: &Plan = country.plan();
        let oracle = Oracle::new(country);
        let lengths =
            (plan.nsn_len.saturating_sub(3).max(1)..=plan.nsn_len + 2).filter(|&l| l != plan.nsn_len);
        for len in lengths {
            for prefix in all_prefixes(3.min(len)) {
                for nsn in fillings(&prefix, len) {
                    let e164 = format!("+{}{nsn}", plan.calling_code);
                    let ours = PhoneNumber::parse_e164(&e164);
                    match oracle.kind(&nsn) {
                        Kind::Mobile | Kind::FixedOrMobile => {
                            // Deviation 1 is the only valid mobile number of another length.
                            assert!(is_old_gabon_form(country, &nsn), "{e164}");
                            assert!(matches!(ours, Err(PhoneError::Obsolete { .. })), "{e164}: {ours:?}");
                        }
                        // Cameroun's 8-digit toll-free numbers, Bénin's 8-digit VoIP and UAN
                        // numbers, Guinée's 8-digit fixed lines.
                        Kind::NotMobile => assert_eq!(ours, Err(PhoneError::NotMobile), "{e164}"),
                        Kind::Invalid => assert!(ours.is_err(), "{e164} is invalid for the oracle"),
                    }
                }
            }
        }
    }
}

#[test]
fn crate_validity_differs_only_where_its_matching_bug_says() {
    // The crate's own `is_valid` agrees with the anchored evaluation everywhere except on
    // Gabon's 8-digit NSNs beginning with 2–7 (its unanchored match, see the module doc).
    for country in Country::ALL {
        let plan = country.plan();
        let oracle = Oracle::new(country);
        for prefix in all_prefixes(3) {
            for nsn in fillings(&prefix, plan.nsn_len) {
                let e164 = format!("+{}{nsn}", plan.calling_code);
                let crate_valid = phonenumber::parse(Some(oracle_id(country)), &e164)
                    .map(|n| n.is_valid())
                    .unwrap_or(false);
                let anchored_valid = oracle.kind(&nsn) != Kind::Invalid;
                let bug = country == Country::Ga && matches!(nsn.as_bytes(), [b'2'..=b'7', ..]);
                if crate_valid != anchored_valid {
                    assert!(bug && crate_valid, "{e164}: crate {crate_valid}, anchored {anchored_valid}");
                }
            }
        }
    }
    // The bug itself, so that a fixed crate is noticed and this workaround dropped.
    let n = phonenumber::parse(Some(country::Id::GA), "+24120000000").expect("parses");
    assert!(n.is_valid(), "phonenumber fixed its end anchoring: simplify this oracle");
}

#[test]
fn every_carrier_range_is_a_mobile_range_with_its_network() {
    // Each range of the carrier files that is mobile in the current plan gets its network.
    for (prefix, name) in CARRIERS.iter() {
        let Some(plan) = PLANS.iter().find(|p| prefix.starts_with(p.calling_code)) else {
            panic!("{prefix}: not a supported country");
        };
        let nsn_prefix = &prefix[plan.calling_code.len()..];
        let nsn: String = nsn_prefix.chars().chain(std::iter::repeat('5')).take(plan.nsn_len).collect();
        let oracle = Oracle::new(plan.country);
        if matches!(oracle.kind(&nsn), Kind::Mobile | Kind::FixedOrMobile)
            && !is_old_gabon_form(plan.country, &nsn)
        {
            let n = PhoneNumber::parse_e164(&format!("+{}{nsn}", plan.calling_code)).expect("mobile");
            assert_eq!(
                n.network(),
                expected_network(carrier(&format!("{}{nsn}", plan.calling_code))),
                "{name} {prefix}"
            );
        }
    }
}

//! Proves `shared::phone` against the current libphonenumber data, used only here.
//!
//! The oracle is the PyPI `phonenumbers` package (the Python port of
//! github.com/google/libphonenumber, with its metadata and carrier files), at the version
//! `cargo xtask test` pins (`xtask/src/prereq.rs`, `PHONENUMBERS`), asked through
//! `tests/data/phonenumbers_oracle.py`. Its Python is `PHONENUMBERS_PYTHON` (set by `cargo xtask
//! test`), else the venv `target/phonenumbers-venv`, made here with `pip install
//! phonenumbers==9.0.43` ([`PINNED`]) when it is missing. When the metadata moves on (a new
//! range, a renumbering), this test fails until `PLANS` follows it: raise both pins to see.
//!
//! For every supported country, every 4-digit beginning of a national significant number (NSN)
//! is filled out to full length in five ways, and the search goes one digit deeper wherever the
//! oracle's verdicts, its carriers or our tables differ below a prefix. Each full-length NSN is
//! compared: valid mobile or not, the E.164 form, the national form, the network where the
//! carrier data names one, and both parsers reading our written forms back. Shorter and longer
//! NSNs are probed from every 2-digit beginning. The countries' example mobile numbers, their
//! portability, and the Unicode digits and format characters the parser reads are compared too.
//!
//! Every deliberate deviation from the oracle is in [`DEVIATIONS`], and nowhere else.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use shared::phone::{Country, Network, PhoneError, PhoneNumber};

/// Where and why `shared::phone` deliberately differs from libphonenumber. Each is asserted
/// where it applies, by its variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deviation {
    /// Gabon's pre-2019 mobile forms (`0X XX XX XX`, and `X XX XX XX` from abroad, X in 2–7):
    /// the metadata still accepts them ("About old numbers, which may soon get invalid"); they
    /// were switched off on 6 April 2024 (news.alibreville.com/h/114469.html,
    /// africapresse.com). We refuse them as `Obsolete`, with the current form where the
    /// mapping is published.
    GabonOldForms,
    /// Côte d'Ivoire's national format: five pairs (`07 07 12 34 56`), as Ivorians write them
    /// (fr.wikipedia "Liste des indicatifs téléphoniques en Côte d'Ivoire"); libphonenumber
    /// writes `07 07 12 3456`. Same digits.
    IvorianPairs,
    /// Network names: operators as they trade today, and ranges of operators that stopped
    /// trading as `Unknown` (the table in [`expected_network`]).
    NetworkNames,
    /// Togo has had mobile number portability since 3 May 2024 (launched by ARCEP Togo:
    /// full-news.tg/togo-larcep-permet-aux-abonnes-mobiles-de-changer-doperateur-perdre-numero/);
    /// libphonenumber does not list Togo among its portable regions yet.
    TogoPortability,
    /// Digits: we read the decimal digits of every script (Unicode category Nd), as the Java
    /// libphonenumber does (`Character.digit`); the Python port also reads superscripts and
    /// circled digits (category No, `²`, `①`), which no phone or contact app writes in a number.
    OnlyDecimalDigits,
}

/// Every deviation, each with the countries it concerns (empty: all).
const DEVIATIONS: [(Deviation, &[Country]); 5] = [
    (Deviation::GabonOldForms, &[Country::Ga]),
    (Deviation::IvorianPairs, &[Country::Ci]),
    (Deviation::NetworkNames, &[]),
    (Deviation::TogoPortability, &[Country::Tg]),
    (Deviation::OnlyDecimalDigits, &[]),
];

fn deviates(deviation: Deviation, country: Country) -> bool {
    DEVIATIONS
        .iter()
        .any(|(d, countries)| *d == deviation && (countries.is_empty() || countries.contains(&country)))
}

/// The `phonenumbers` the venv made here gets: the version `xtask/src/prereq.rs` pins
/// (`PHONENUMBERS`), so that a new release never changes the verdicts unannounced.
const PINNED: &str = "9.0.43";

/// The Python that has `phonenumbers`.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let check = format!("import phonenumbers; assert phonenumbers.__version__ == '{PINNED}'");
        let imports = |python: &Path| {
            Command::new(python)
                .args(["-c", &check])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if let Some(python) = std::env::var_os("PHONENUMBERS_PYTHON").map(PathBuf::from) {
            assert!(imports(&python), "PHONENUMBERS_PYTHON={} lacks phonenumbers {PINNED}", python.display());
            return python;
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/phonenumbers-venv");
        let python = venv.join("bin/python");
        if !imports(&python) {
            eprintln!("installing phonenumbers into {}", venv.display());
            let made =
                Command::new("python3").args(["-m", "venv"]).arg(&venv).status().is_ok_and(|s| s.success())
                    && Command::new(venv.join("bin/pip"))
                        .args(["install", "--quiet", &format!("phonenumbers=={PINNED}")])
                        .status()
                        .is_ok_and(|s| s.success());
            assert!(
                made && imports(&python),
                "the oracle needs PyPI phonenumbers {PINNED}: run `cargo xtask test`, or `python3 -m venv \
                 {0}; {0}/bin/pip install phonenumbers=={PINNED}`, or point PHONENUMBERS_PYTHON at a python that has it",
                venv.display()
            );
        }
        python
    })
}

/// Runs the oracle script in `mode` with `args`, `input` on its stdin; returns its lines.
fn oracle(mode: &str, args: &[&str], input: &str) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/phonenumbers_oracle.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(mode)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the oracle starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let output = std::thread::scope(|s| {
        s.spawn(move || stdin.write_all(input.as_bytes()).expect("the oracle reads its input"));
        child.wait_with_output().expect("the oracle answers")
    });
    assert!(output.status.success(), "the oracle failed in mode {mode}");
    String::from_utf8(output.stdout).expect("UTF-8").lines().map(str::to_owned).collect()
}

/// The number type libphonenumber gives an NSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mobile,
    FixedOrMobile,
    /// Fixed line, toll-free, premium, shared cost, VoIP, UAN...
    NotMobile,
    Invalid,
}

/// libphonenumber's answer on one NSN.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    kind: Kind,
    e164: String,
    national: String,
    carrier: String,
    /// How it reads the form we wrote (our national form), as E.164.
    reads_ours: String,
}

/// Asks the oracle about `(country, nsn, written)` triples, in one run.
fn verdicts(queries: &[(Country, String, String)]) -> Vec<Verdict> {
    let input: String =
        queries.iter().map(|(c, nsn, written)| format!("{}\t{nsn}\t{written}\n", c.code())).collect();
    let lines = oracle("verdicts", &[], &input);
    assert_eq!(lines.len(), queries.len(), "one verdict per query");
    lines
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 5, "{line}");
            let kind = match f[0] {
                "mobile" => Kind::Mobile,
                "fixed_or_mobile" => Kind::FixedOrMobile,
                "not_mobile" => Kind::NotMobile,
                "invalid" => Kind::Invalid,
                other => panic!("kind {other}"),
            };
            Verdict {
                kind,
                e164: f[1].to_owned(),
                national: f[2].to_owned(),
                carrier: f[3].to_owned(),
                reads_ours: f[4].to_owned(),
            }
        })
        .collect()
}

/// The network we must give a number whose range libphonenumber names `carrier` (deviation
/// [`Deviation::NetworkNames`]).
fn expected_network(carrier: &str) -> Network {
    match carrier {
        "Orange" => Network::Orange,
        "MTN" | "MTN Cameroon" => Network::Mtn,
        // Areeba was MTN's brand in Guinée.
        "Areeba" => Network::Mtn,
        "Moov" | "Moov Africa" => Network::Moov,
        // Now trading as Moov Africa: Onatel (Burkina Faso), Sotelma-Malitel (Mali), Libertis
        // merged into Moov Africa Gabon Télécom (news.alibreville.com/h/89332.html).
        "Onatel" | "Sotelma" | "Libertis" => Network::Moov,
        "Airtel" => Network::Airtel,
        // Bharti Airtel bought Warid Congo in 2013 and merged it in 2014; customers kept their
        // numbers (adiac-congo.com, 31 May 2014).
        "Warid" => Network::Airtel,
        // Axian renamed Free (Sénégal) and Togocom's Togo Cellulaire "Yas" in 2024 (capmad.com;
        // togoactualite.com); the carrier file now says "Yas" for Sénégal.
        "Free" | "Togo Telecom" | "Yas" => Network::Yas,
        "Expresso" => Network::Expresso,
        "Celtiis" => Network::Celtiis,
        // Atel trades as Telecel Mali.
        "Telecel Faso" | "Atel" => Network::Telecel,
        "NEXTTEL" => Network::Nexttel,
        "Camtel" => Network::Camtel,
        "HAYO" => Network::Hayo,
        "Promobile" => Network::Promobile,
        "ADIE" => Network::Adie,
        "Niger Telecoms" => Network::NigerTelecoms,
        "Cellcom" => Network::Cellcom,
        "Congo telecom" => Network::CongoTelecom,
        // Operators that stopped trading: their ranges cannot be told.
        "Sotelgui" | "Intercel" | "Equateur Telecom" => Network::Unknown,
        "" => Network::Unknown,
        other => panic!("carrier {other:?} has no network: add it to expected_network"),
    }
}

/// Deviation [`Deviation::GabonOldForms`]: Gabon's pre-2019 forms, which the oracle still
/// calls mobile.
fn is_old_gabon_form(country: Country, nsn: &str) -> bool {
    let b = nsn.as_bytes();
    deviates(Deviation::GabonOldForms, country)
        && matches!((b.len(), b), (8, [b'0', b'2'..=b'7', ..]) | (7, [b'2'..=b'7', ..]))
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

fn all_prefixes(len: usize) -> impl Iterator<Item = String> {
    (0..10u32.pow(len as u32)).map(move |p| format!("{p:0len$}"))
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

/// Compares our verdict on one full-length NSN with the oracle's; returns our verdict's class.
fn compare_full_length(country: Country, nsn: &str, theirs: &Verdict, stats: &mut Stats) -> &'static str {
    let plan = country.plan();
    let e164 = format!("+{}{nsn}", plan.calling_code);
    let ours = PhoneNumber::parse_e164(&e164);
    stats.checked += 1;
    match theirs.kind {
        Kind::Mobile | Kind::FixedOrMobile if is_old_gabon_form(country, nsn) => {
            stats.old_gabon_forms += 1;
            assert!(matches!(ours, Err(PhoneError::Obsolete { .. })), "{e164}: {ours:?}");
        }
        Kind::Mobile | Kind::FixedOrMobile => {
            stats.accepted += 1;
            let n =
                ours.as_ref().unwrap_or_else(|e| panic!("{e164} is a mobile number for the oracle: {e:?}"));
            assert_eq!(n.as_e164(), e164);
            assert_eq!(theirs.e164, e164);
            assert_eq!(n.nsn(), nsn);
            assert_eq!(n.country(), country);
            assert_eq!(n.network(), expected_network(&theirs.carrier), "{e164} ({})", theirs.carrier);
            let national = n.format_national();
            if deviates(Deviation::IvorianPairs, country) {
                assert_eq!(national.replace(' ', ""), theirs.national.replace(' ', ""), "{e164}");
            } else {
                assert_eq!(national, theirs.national, "{e164}");
            }
            // libphonenumber reads our national form back to the same number, and so do we,
            // and our international and E.164 forms too.
            assert_eq!(theirs.reads_ours, e164, "{national}");
            for written in [national, n.format_international(), e164.clone()] {
                assert_eq!(PhoneNumber::parse(&written, country).as_ref(), Ok(n), "{written}");
            }
        }
        Kind::NotMobile => assert_eq!(ours, Err(PhoneError::NotMobile), "{e164}"),
        Kind::Invalid => match ours {
            Err(PhoneError::UnassignedPrefix { .. }) => {}
            Err(PhoneError::NotMobile) => stats.invalid_called_not_mobile += 1,
            other => panic!("{e164} is invalid for the oracle, we say {other:?}"),
        },
    }
    verdict_class(&ours)
}

/// Our national form of an NSN we accept, for the oracle to read back (empty otherwise).
fn our_national(country: Country, nsn: &str) -> String {
    PhoneNumber::parse_e164(&format!("+{}{nsn}", country.plan().calling_code))
        .map(|n| n.format_national())
        .unwrap_or_default()
}

#[test]
fn every_prefix_of_every_country_matches_libphonenumber() {
    let mut stats: BTreeMap<&str, Stats> = BTreeMap::new();
    // The prefixes to look at, level by level: every 4-digit one, then one digit deeper where
    // anything varies.
    let mut frontier: Vec<(Country, String)> =
        Country::ALL.iter().flat_map(|&c| all_prefixes(4).map(move |p| (c, p))).collect();
    while !frontier.is_empty() {
        let queries: Vec<(Country, String, String)> = frontier
            .iter()
            .flat_map(|(c, prefix)| {
                fillings(prefix, c.plan().nsn_len)
                    .into_iter()
                    .map(move |nsn| (*c, our_national(*c, &nsn), nsn))
            })
            .map(|(c, national, nsn)| (c, nsn, national))
            .collect();
        let answers = verdicts(&queries);
        let mut next = Vec::new();
        for (i, (country, prefix)) in frontier.iter().enumerate() {
            let plan = country.plan();
            let per = fillings(prefix, plan.nsn_len).len();
            let range = i * per..(i + 1) * per;
            let st = stats.entry(country.code()).or_default();
            let ours: Vec<&str> = queries[range.clone()]
                .iter()
                .zip(&answers[range.clone()])
                .map(|((_, nsn, _), theirs)| compare_full_length(*country, nsn, theirs, st))
                .collect();
            let theirs: Vec<(Kind, &str)> =
                answers[range].iter().map(|v| (v.kind, v.carrier.as_str())).collect();
            let uniform = theirs.windows(2).all(|w| w[0] == w[1]) && ours.windows(2).all(|w| w[0] == w[1]);
            let deeper_in_our_tables = plan
                .mobile
                .iter()
                .map(|(p, _)| *p)
                .chain(plan.other.iter().copied())
                .any(|p| p.len() > prefix.len() && p.starts_with(prefix.as_str()));
            if (!uniform || deeper_in_our_tables) && prefix.len() + 1 < plan.nsn_len {
                next.extend(('0'..='9').map(|d| (*country, format!("{prefix}{d}"))));
            }
        }
        frontier = next;
    }
    for country in Country::ALL {
        let st = &stats[country.code()];
        println!("{country}: {st:?}");
        assert!(st.accepted > 0, "{country}: no mobile number checked");
        // Gabon's old forms are the only deviation on validity at full length.
        assert_eq!(st.old_gabon_forms > 0, country == Country::Ga, "{country}");
    }
}

#[test]
fn shorter_and_longer_numbers_match_libphonenumber() {
    let mut queries = Vec::new();
    for country in Country::ALL {
        let plan = country.plan();
        let lengths =
            (plan.nsn_len.saturating_sub(3).max(1)..=plan.nsn_len + 2).filter(|&l| l != plan.nsn_len);
        for len in lengths {
            for prefix in all_prefixes(2.min(len)) {
                queries.extend(fillings(&prefix, len).into_iter().map(|nsn| (country, nsn, String::new())));
            }
        }
    }
    for ((country, nsn, _), theirs) in queries.iter().zip(verdicts(&queries)) {
        let e164 = format!("+{}{nsn}", country.plan().calling_code);
        let ours = PhoneNumber::parse_e164(&e164);
        match theirs.kind {
            Kind::Mobile | Kind::FixedOrMobile => {
                // Gabon's old forms are the only valid mobile numbers of another length.
                assert!(is_old_gabon_form(*country, nsn), "{e164}");
                assert!(matches!(ours, Err(PhoneError::Obsolete { .. })), "{e164}: {ours:?}");
            }
            // Cameroun's 8-digit toll-free numbers, Bénin's 8-digit VoIP and UAN numbers,
            // Guinée's 8-digit fixed lines.
            Kind::NotMobile => assert_eq!(ours, Err(PhoneError::NotMobile), "{e164}"),
            Kind::Invalid => assert!(ours.is_err(), "{e164} is invalid for the oracle"),
        }
    }
}

#[test]
fn example_numbers_and_portability_match_libphonenumber() {
    let codes: Vec<&str> = Country::ALL.iter().map(|c| c.code()).collect();
    let lines = oracle("meta", &codes, "");
    assert_eq!(lines.len(), Country::ALL.len());
    let mut examples = Vec::new();
    for (country, line) in Country::ALL.into_iter().zip(&lines) {
        let f: Vec<&str> = line.split('\t').collect();
        let plan = country.plan();
        assert_eq!(f[0], country.code());
        assert_eq!(f[1], plan.calling_code, "{country}");
        let portable = f[2] == "true";
        if deviates(Deviation::TogoPortability, country) {
            assert!(plan.portable && !portable, "{country}: libphonenumber now knows; drop the deviation");
        } else {
            assert_eq!(plan.portable, portable, "{country}: portability");
        }
        // libphonenumber's example mobile number is one of ours (Gabon's is in an old form),
        // and ours one of its.
        let theirs = PhoneNumber::parse_e164(&format!("+{}{}", plan.calling_code, f[3]));
        if is_old_gabon_form(country, f[3]) {
            assert!(
                matches!(theirs, Err(PhoneError::Obsolete { current: Some(_) })),
                "{country}: {theirs:?}"
            );
        } else {
            assert!(theirs.is_ok(), "{country}: its example {} gives {theirs:?}", f[3]);
        }
        examples.push((country, plan.example.to_owned(), our_national(country, plan.example)));
    }
    for ((country, nsn, _), theirs) in examples.iter().zip(verdicts(&examples)) {
        assert!(matches!(theirs.kind, Kind::Mobile | Kind::FixedOrMobile), "{country}: our example {nsn}");
    }
}

#[test]
fn every_unicode_digit_and_format_character_reads_as_libphonenumber_does() {
    let lines = oracle("unicode", &[], "");
    let mut digits: HashMap<char, char> = HashMap::new();
    let mut formats = Vec::new();
    for line in &lines {
        let f: Vec<&str> = line.split('\t').collect();
        let ch = char::from_u32(u32::from_str_radix(f[1], 16).expect("hex")).expect("a char");
        match f[0] {
            "digit" if f[3] == "Nd" => {
                assert_eq!(f[2].len(), 1, "{line}");
                digits.insert(ch, f[2].chars().next().expect("a digit"));
            }
            // Deviation OnlyDecimalDigits: `²`, `①`... stay refused.
            "digit" => {
                assert!(deviates(Deviation::OnlyDecimalDigits, Country::Ci));
                let typed = format!("07 07 12 34 5{ch}");
                assert_eq!(
                    PhoneNumber::parse(&typed, Country::Ci),
                    Err(PhoneError::InvalidCharacters),
                    "{line}"
                );
            }
            "format" => formats.push(ch),
            other => panic!("{other}"),
        }
    }
    assert_eq!(digits.len(), 650, "every non-ASCII decimal digit of Unicode 14");
    // Each decimal digit of any script, last in an Ivorian number, is the ASCII digit the
    // oracle reads.
    for (ch, ascii) in &digits {
        let n = PhoneNumber::parse(&format!("07 07 12 34 5{ch}"), Country::Ci)
            .unwrap_or_else(|e| panic!("U+{:04X}: {e:?}", u32::from(*ch)));
        assert_eq!(n.as_e164(), format!("+225070712345{ascii}"), "U+{:04X}", u32::from(*ch));
    }
    // Each format character between the groups, and around the number, is a separator.
    assert!(formats.len() > 150, "{}", formats.len());
    for ch in formats {
        let typed = format!("{ch}+225{ch}07 07{ch}12 34 56{ch}");
        assert_eq!(
            PhoneNumber::parse(&typed, Country::Ci).map(|n| n.as_e164().to_owned()),
            Ok("+2250707123456".to_owned()),
            "U+{:04X}",
            u32::from(ch)
        );
    }
}

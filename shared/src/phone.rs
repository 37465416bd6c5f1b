//! Phone numbers as customers type them, parsed into E.164 for the providers.
//!
//! Customers type `07 07 12 34 56`, `+225 0707123456`, `00225…` or `074 41 65 46`. This module
//! turns that into one [`PhoneNumber`] (always E.164, always a mobile number of a supported
//! country) or a [`PhoneError`] that says precisely what is wrong, so the widget can tell the
//! customer in words, and show the current form of a number written in a retired format.
//!
//! The numbering data is per country in [`PLANS`]. It is taken from Google's libphonenumber
//! metadata (`PhoneNumberMetadata.xml` and `carrier/en/<cc>.txt`, v9.0.43, as the PyPI
//! `phonenumbers` package of that version carries them) and from the regulators' communiqués
//! cited per plan. `shared/tests/phone_oracle.rs` checks every prefix of every plan against
//! that package; the few places where this module deliberately differs are listed and justified
//! there, in one table.
//!
//! Pasted numbers: Unicode format characters (general category Cf: the direction marks and
//! isolates contact apps wrap numbers in, zero-width spaces, byte-order marks) separate digits
//! like spaces do, and every Unicode decimal digit (category Nd: Arabic-Indic `٠٧`, Persian `۰۷`,
//! full-width `０７`...) reads as its ASCII digit, as libphonenumber's `normalizeDigits` does.
//!
//! Size: in a wasm32 build (opt-level "z", LTO, panic immediate-abort), parsing alone adds about
//! 9.5 KB raw / 3.7 KB gzip -9, and parsing plus formatting, networks and every fr/en message
//! about 17 KB raw / 6.5 KB gzip -9; the tables themselves are about 3.1 KB. Reading pasted
//! text (format characters, digits of other scripts, the input bound) added 621 B raw / 359 B
//! gzip -9 to the widget's wasm.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// A country the checkout serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
///
/// This is the network a range was allocated to. Wallets that work across networks (Wave,
/// Mixx by Yas) are never derived from a number, and in countries with mobile number
/// portability ([`Plan::portable`]) a customer may have moved to another network since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Orange.
    Orange,
    /// MTN (Areeba in Guinée).
    Mtn,
    /// Moov Africa: also Onatel (Burkina Faso), Sotelma-Malitel (Mali) and Libertis / Gabon
    /// Télécom (Gabon), which now trade as Moov Africa.
    Moov,
    /// Airtel (Warid's Congolese ranges since Airtel bought it in 2014).
    Airtel,
    /// Yas: Free (Sénégal) and Togocom / Togocel (Togo), renamed Yas by Axian in 2024.
    Yas,
    /// Expresso (Sénégal).
    Expresso,
    /// Celtiis (Bénin).
    Celtiis,
    /// Telecel (Telecel Faso; Atel in Mali).
    Telecel,
    /// Nexttel (Cameroun).
    Nexttel,
    /// Camtel (Cameroun).
    Camtel,
    /// HAYO (Sénégal).
    Hayo,
    /// Promobile (Sénégal).
    Promobile,
    /// ADIE, the Senegalese state's network.
    Adie,
    /// Niger Télécoms.
    NigerTelecoms,
    /// Cellcom (Guinée).
    Cellcom,
    /// Congo Telecom.
    CongoTelecom,
    /// A mobile number whose network the plan does not tell (shared ranges, ranges of defunct
    /// operators, ranges without a known operator).
    Unknown,
}

impl Network {
    /// Every network.
    pub const ALL: [Network; 17] = [
        Network::Orange,
        Network::Mtn,
        Network::Moov,
        Network::Airtel,
        Network::Yas,
        Network::Expresso,
        Network::Celtiis,
        Network::Telecel,
        Network::Nexttel,
        Network::Camtel,
        Network::Hayo,
        Network::Promobile,
        Network::Adie,
        Network::NigerTelecoms,
        Network::Cellcom,
        Network::CongoTelecom,
        Network::Unknown,
    ];

    /// The name customers know, or `None` for [`Network::Unknown`].
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Network::Orange => "Orange",
            Network::Mtn => "MTN",
            Network::Moov => "Moov Africa",
            Network::Airtel => "Airtel",
            Network::Yas => "Yas",
            Network::Expresso => "Expresso",
            Network::Celtiis => "Celtiis",
            Network::Telecel => "Telecel",
            Network::Nexttel => "Nexttel",
            Network::Camtel => "Camtel",
            Network::Hayo => "HAYO",
            Network::Promobile => "Promobile",
            Network::Adie => "ADIE",
            Network::NigerTelecoms => "Niger Télécoms",
            Network::Cellcom => "Cellcom",
            Network::CongoTelecom => "Congo Telecom",
            Network::Unknown => return None,
        })
    }
}

/// A numbering-plan change whose old numbers customers still type; each has its own rules for
/// telling an old number and for giving its current form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Migration {
    /// Côte d'Ivoire, 31 January 2021: 8 → 10 digits, the operator's `01`/`05`/`07` (mobile) or
    /// `21`/`25`/`27` (fixed) added in front (ARTCI, press conference of 28 July 2020, reported
    /// by newsgeek.ci, pressafrik.com, 7info.ci).
    CoteDIvoire2021,
    /// Bénin, 30 November 2024: 8 → 10 digits, `01` added in front of every number
    /// (fr.allafrica.com/stories/202411300249.html; lecooperant.bj).
    Benin2024,
    /// Gabon, November 2019 (old forms switched off on 6 April 2024): `0X XX XX XX` became
    /// `0YX XX XX XX`, with 02/05/06 → 062/065/066 and 04/07 → 074/077 (libphonenumber's GA
    /// comments; news.alibreville.com/h/114469.html; gaboneco.com).
    Gabon2019,
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
    /// of the number (Côte d'Ivoire, Bénin, Congo).
    pub trunk_zero: bool,
    /// Mobile prefixes of the national significant number, with their network. A number is a
    /// mobile number when one of them starts it; the longest match tells the network.
    pub mobile: &'static [(&'static str, Network)],
    /// Prefixes of the country's other numbers (fixed lines, toll-free, premium, VoIP...), so
    /// that such a number is refused as "not a mobile number" rather than as unassigned. They
    /// may be coarser than the plan: only numbers no mobile prefix matches are looked up.
    pub other: &'static [&'static str],
    /// How the national significant number is grouped when written (sums to `nsn_len`); the
    /// trunk `0`, where there is one, is written before the first group.
    pub groups: &'static [usize],
    /// Whether customers can keep their number when they change network (libphonenumber's
    /// `mobileNumberPortableRegion`, and Togo since 3 May 2024): then [`PhoneNumber::network`]
    /// is only a likely network, and a method of another network must not be refused for it.
    pub portable: bool,
    /// A mobile number of the country (national significant number), for help messages.
    pub example: &'static str,
    /// The last renumbering whose old forms are recognised, if any.
    pub migration: Option<Migration>,
}

use Network::*;

/// The supported countries' plans, in the order of [`Country::ALL`].
///
/// Mobile prefixes are libphonenumber's `<mobile>` patterns (v9.0.43) expanded into prefixes;
/// networks are its `carrier/en/<cc>.txt` files, with operators renamed as they trade today
/// (see [`Network`]). The comment on each plan gives the pattern it expands.
pub static PLANS: &[Plan] = &[
    // mobile: 0[157]\d{8}; fixed: 2[157]…
    Plan {
        country: Country::Ci,
        calling_code: "225",
        nsn_len: 10,
        trunk_zero: false,
        mobile: &[("01", Moov), ("05", Mtn), ("07", Orange)],
        other: &["2"],
        // Written in five pairs, as Ivorians do (fr.wikipedia, "Liste des indicatifs
        // téléphoniques en Côte d'Ivoire"); libphonenumber writes `07 07 12 3456`.
        groups: &[2, 2, 2, 2, 2],
        portable: false,
        example: "0707123456",
        migration: Some(Migration::CoteDIvoire2021),
    },
    // mobile: 7(?:[015-8]\d|21|90)\d{6}; fixed and VoIP 3…, 93…; toll-free, shared, premium 8…
    Plan {
        country: Country::Sn,
        calling_code: "221",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[
            ("70", Expresso),
            ("71", Orange),
            ("721", Hayo),
            ("75", Promobile),
            ("76", Yas),
            ("77", Orange),
            ("78", Orange),
            ("790", Adie),
        ],
        other: &["3", "8", "93"],
        groups: &[2, 3, 2, 2],
        portable: false,
        example: "771234567",
        migration: None,
    },
    // mobile: (?:24[23]|6(?:[25-9]\d|4[0-2]))\d{6}; fixed 2[23]…; toll-free 88…
    Plan {
        country: Country::Cm,
        calling_code: "237",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[
            ("242", Camtel),
            ("243", Camtel),
            ("62", Camtel),
            ("640", Orange),
            ("641", Orange),
            ("642", Orange),
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
        ],
        other: &["22", "23", "88"],
        groups: &[1, 2, 2, 2, 2],
        portable: true,
        example: "671234567",
        migration: None,
    },
    // mobile: 01(?:2[5-9]|[4-69]\d)\d{6}; fixed 012\d{7} (so 0125–0129 are fixed or mobile);
    // VoIP 857[58]…, UAN 81… (8 digits).
    Plan {
        country: Country::Bj,
        calling_code: "229",
        nsn_len: 10,
        trunk_zero: false,
        mobile: &[
            ("0125", Unknown),
            ("0126", Unknown),
            ("0127", Unknown),
            ("0128", Celtiis),
            ("0129", Unknown),
            ("014", Celtiis),
            ("0142", Mtn),
            ("0145", Moov),
            ("0146", Mtn),
            ("015", Mtn),
            ("0155", Moov),
            ("0158", Moov),
            ("0160", Moov),
            ("0161", Mtn),
            ("0162", Mtn),
            ("0163", Moov),
            ("0164", Moov),
            ("0165", Moov),
            ("0166", Mtn),
            ("0167", Mtn),
            ("0168", Moov),
            ("0169", Mtn),
            ("0190", Mtn),
            ("0191", Mtn),
            ("0192", Celtiis),
            ("0193", Celtiis),
            ("0194", Moov),
            ("0195", Moov),
            ("0196", Mtn),
            ("0197", Mtn),
            ("0198", Moov),
            ("0199", Moov),
        ],
        other: &["012", "8"],
        groups: &[2, 2, 2, 2, 2],
        portable: true,
        example: "0197123456",
        migration: Some(Migration::Benin2024),
    },
    // mobile: (?:7[0-389]|9[0-36-9])\d{6}; fixed 2…. Mobile numbers are portable between
    // Togocom (Yas) and Moov Africa since 3 May 2024, launched by ARCEP Togo
    // (full-news.tg/togo-larcep-permet-aux-abonnes-mobiles-de-changer-doperateur-perdre-numero/,
    // togoregard.tg/portabilite-des-numeros-mobiles-une-avancee-pour-les-consommateurs-togolais/);
    // libphonenumber does not mark Togo portable yet.
    Plan {
        country: Country::Tg,
        calling_code: "228",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[
            ("70", Yas),
            ("71", Yas),
            ("72", Yas),
            ("73", Yas),
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
        other: &["2"],
        groups: &[2, 2, 2, 2],
        portable: true,
        example: "90112345",
        migration: None,
    },
    // mobile: (?:0[1-7]|4[4-6]|5[0-8]|[67]\d)\d{6}; fixed 2…
    Plan {
        country: Country::Bf,
        calling_code: "226",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[
            ("01", Moov),
            ("02", Moov),
            ("03", Moov),
            ("04", Orange),
            ("05", Orange),
            ("06", Orange),
            ("07", Orange),
            ("44", Orange),
            ("45", Orange),
            ("46", Orange),
            ("50", Moov),
            ("51", Moov),
            ("52", Moov),
            ("53", Moov),
            ("54", Orange),
            ("55", Orange),
            ("56", Orange),
            ("57", Orange),
            ("58", Telecel),
            ("60", Moov),
            ("61", Moov),
            ("62", Moov),
            ("63", Moov),
            ("64", Orange),
            ("65", Orange),
            ("66", Orange),
            ("67", Orange),
            ("68", Telecel),
            ("69", Telecel),
            ("70", Moov),
            ("71", Moov),
            ("72", Moov),
            ("73", Moov),
            ("74", Orange),
            ("75", Orange),
            ("76", Orange),
            ("77", Orange),
            ("78", Telecel),
            ("79", Telecel),
        ],
        other: &["2"],
        groups: &[2, 2, 2, 2],
        portable: false,
        example: "70123456",
        migration: None,
    },
    // mobile: 2(?:0(?:01|79)|17\d)\d{4}|(?:5[0-3]|[679]\d|8[2-59])\d{6}; fixed 2…, 4…;
    // toll-free 80…
    Plan {
        country: Country::Ml,
        calling_code: "223",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[
            ("2001", Orange),
            ("2079", Moov),
            ("217", Moov),
            ("50", Telecel),
            ("51", Telecel),
            ("52", Telecel),
            ("53", Telecel),
            ("6", Moov),
            ("7", Orange),
            ("82", Orange),
            ("83", Orange),
            ("84", Orange),
            ("85", Orange),
            ("89", Moov),
            ("90", Orange),
            ("91", Orange),
            ("92", Orange),
            ("93", Orange),
            ("94", Orange),
            ("95", Moov),
            ("96", Moov),
            ("97", Moov),
            ("98", Moov),
            ("99", Moov),
        ],
        other: &["2", "4", "80"],
        groups: &[2, 2, 2, 2],
        portable: false,
        example: "65012345",
        migration: None,
    },
    // mobile (8 digits, current plan): (?:7[467]\d|6(?:0[0-4]|10|[256]\d))\d{5}; libphonenumber
    // also keeps the pre-2019 forms 0[2-7]\d{6} and [2-7]\d{6}, see Migration::Gabon2019.
    // fixed: [01]1\d{6}.
    Plan {
        country: Country::Ga,
        calling_code: "241",
        nsn_len: 8,
        trunk_zero: true,
        mobile: &[
            ("600", Moov),
            ("601", Moov),
            ("602", Moov),
            ("603", Moov),
            ("604", Moov),
            ("610", Moov),
            ("62", Moov),
            ("65", Moov),
            ("66", Moov),
            ("74", Airtel),
            ("76", Airtel),
            ("77", Airtel),
        ],
        other: &["01", "11"],
        groups: &[2, 2, 2, 2],
        portable: false,
        example: "74123456",
        migration: Some(Migration::Gabon2019),
    },
    // mobile: (?:23|7[0467]|[89]\d)\d{6}; fixed 2[01]…; toll-free 08…, premium 09…
    Plan {
        country: Country::Ne,
        calling_code: "227",
        nsn_len: 8,
        trunk_zero: false,
        mobile: &[
            ("23", Orange),
            ("70", Orange),
            ("74", Moov),
            ("76", Unknown),
            ("77", Airtel),
            ("80", Orange),
            ("81", Orange),
            ("82", Orange),
            ("83", NigerTelecoms),
            ("84", Moov),
            ("85", Moov),
            ("86", Airtel),
            ("87", Airtel),
            ("88", Airtel),
            ("89", Airtel),
            ("90", Orange),
            ("91", Orange),
            ("92", Orange),
            ("93", NigerTelecoms),
            ("94", Moov),
            ("95", Moov),
            ("96", Airtel),
            ("97", Airtel),
            ("98", Airtel),
            ("99", Airtel),
        ],
        other: &["08", "09", "20", "21"],
        groups: &[2, 2, 2, 2],
        portable: false,
        example: "93123456",
        migration: None,
    },
    // mobile: 6[0-356]\d{7}; fixed 3… (8 digits); VoIP 722…
    Plan {
        country: Country::Gn,
        calling_code: "224",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[
            // Sotelgui and Intercel, the carrier file's names for 60 and 63, stopped trading.
            ("60", Unknown),
            ("61", Orange),
            ("62", Orange),
            ("63", Unknown),
            ("65", Cellcom),
            ("66", Mtn),
        ],
        other: &["3", "72"],
        groups: &[3, 2, 2, 2],
        portable: false,
        example: "621123456",
        migration: None,
    },
    // mobile: 026(?:1[0-5]|6[6-9])\d{4}|0(?:[14-6]\d\d|2(?:40|5[5-8]|6[07-9]))\d{5};
    // fixed 222…; premium 80…
    Plan {
        country: Country::Cg,
        calling_code: "242",
        nsn_len: 9,
        trunk_zero: false,
        mobile: &[
            // Equateur Telecom, the carrier file's name for 01: no current operator is known.
            ("01", Unknown),
            ("0240", CongoTelecom),
            ("0255", CongoTelecom),
            ("0256", CongoTelecom),
            ("0257", CongoTelecom),
            ("0258", CongoTelecom),
            ("0260", CongoTelecom),
            ("02610", CongoTelecom),
            ("02611", CongoTelecom),
            ("02612", CongoTelecom),
            ("02613", CongoTelecom),
            ("02614", CongoTelecom),
            ("02615", CongoTelecom),
            ("02666", CongoTelecom),
            ("02667", CongoTelecom),
            ("02668", CongoTelecom),
            ("02669", CongoTelecom),
            ("0267", CongoTelecom),
            ("0268", CongoTelecom),
            ("0269", CongoTelecom),
            ("04", Airtel),
            ("05", Airtel),
            ("06", Mtn),
        ],
        other: &["22", "80"],
        groups: &[2, 3, 4],
        portable: false,
        example: "061234567",
        migration: None,
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
        // `tests::every_country_has_exactly_one_plan` proves this cannot fail.
        PLANS.iter().find(|p| p.country == self).expect("every country has a plan")
    }

    /// The country's name, as customers read it.
    pub fn name(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Country::Ci, _) => "Côte d'Ivoire",
            (Country::Sn, Locale::Fr) => "Sénégal",
            (Country::Sn, Locale::En) => "Senegal",
            (Country::Cm, Locale::Fr) => "Cameroun",
            (Country::Cm, Locale::En) => "Cameroon",
            (Country::Bj, Locale::Fr) => "Bénin",
            (Country::Bj, Locale::En) => "Benin",
            (Country::Tg, _) => "Togo",
            (Country::Bf, _) => "Burkina Faso",
            (Country::Ml, _) => "Mali",
            (Country::Ga, _) => "Gabon",
            (Country::Ne, _) => "Niger",
            (Country::Gn, Locale::Fr) => "Guinée",
            (Country::Gn, Locale::En) => "Guinea",
            (Country::Cg, Locale::Fr) => "Congo",
            (Country::Cg, Locale::En) => "the Republic of the Congo",
        }
    }

    /// French "in <country>": "en Côte d'Ivoire", "au Sénégal".
    fn fr_in(self) -> &'static str {
        match self {
            Country::Ci => "en Côte d'Ivoire",
            Country::Gn => "en Guinée",
            Country::Sn => "au Sénégal",
            Country::Cm => "au Cameroun",
            Country::Bj => "au Bénin",
            Country::Tg => "au Togo",
            Country::Bf => "au Burkina Faso",
            Country::Ml => "au Mali",
            Country::Ga => "au Gabon",
            Country::Ne => "au Niger",
            Country::Cg => "au Congo",
        }
    }

    /// French "of <country>": "de Côte d'Ivoire", "du Sénégal".
    fn fr_of(self) -> &'static str {
        match self {
            Country::Ci => "de Côte d'Ivoire",
            Country::Gn => "de Guinée",
            Country::Sn => "du Sénégal",
            Country::Cm => "du Cameroun",
            Country::Bj => "du Bénin",
            Country::Tg => "du Togo",
            Country::Bf => "du Burkina Faso",
            Country::Ml => "du Mali",
            Country::Ga => "du Gabon",
            Country::Ne => "du Niger",
            Country::Cg => "du Congo",
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Plan {
    /// How many digits a mobile number has when written nationally (with the trunk `0`).
    pub fn national_len(&self) -> usize {
        self.nsn_len + usize::from(self.trunk_zero)
    }

    /// The plan's example mobile number as written nationally (`07 07 12 34 56`): a phone
    /// field's placeholder.
    pub fn example_national(&self) -> String {
        self.format_national(self.example)
    }

    /// The network of the longest mobile prefix that starts `nsn`, if any does.
    fn mobile_network(&self, nsn: &str) -> Option<Network> {
        self.mobile
            .iter()
            .filter(|(prefix, _)| nsn.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|&(_, network)| network)
    }

    fn is_other(&self, nsn: &str) -> bool {
        self.other.iter().any(|prefix| nsn.starts_with(prefix))
    }

    /// `nsn` grouped as written nationally; `nsn` is digits only.
    fn format_national(&self, nsn: &str) -> String {
        let mut out = String::with_capacity(nsn.len() + self.groups.len() + 1);
        if self.trunk_zero {
            out.push('0');
        }
        push_groups(&mut out, nsn, self.groups);
        out
    }
}

/// Appends `digits` split into `groups` separated by spaces; digits beyond the groups form one
/// last group.
fn push_groups(out: &mut String, digits: &str, groups: &[usize]) {
    let mut rest = digits;
    for (i, &len) in groups.iter().enumerate() {
        if rest.is_empty() {
            return;
        }
        if i > 0 {
            out.push(' ');
        }
        let (group, tail) = rest.split_at(len.min(rest.len()));
        out.push_str(group);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
}

/// Why a typed number was refused. Each reason has its own customer message in the widget:
/// [`PhoneError::message`], or [`PhoneError::message_for`] when the checkout's country is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("no phone number was given")]
    Empty,
    /// Something other than digits (of any script), spaces, dots, dashes, slashes, brackets,
    /// invisible format characters and a leading `+`.
    #[error("the number contains characters that are not digits")]
    InvalidCharacters,
    /// Fewer digits than the country's numbers have.
    #[error("the number is too short")]
    TooShort,
    /// More digits than the country's numbers have.
    #[error("the number is too long")]
    TooLong,
    /// A number of the country that is not a mobile one (fixed line, toll-free, premium, VoIP).
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
    /// No number of the country begins this way: no network was given this range.
    #[error("no mobile number begins with {prefix}")]
    UnassignedPrefix {
        /// The shortest beginning of the number, as typed nationally, that no mobile number has.
        prefix: String,
    },
}

impl PhoneError {
    /// The message shown to the customer, in their language, when the country is not at hand.
    pub fn message(&self, locale: Locale) -> String {
        if let Some(m) = self.common_message(locale) {
            return m;
        }
        match (self, locale) {
            (PhoneError::TooShort, Locale::Fr) => "Ce numéro est trop court.".into(),
            (PhoneError::TooShort, Locale::En) => "This number is too short.".into(),
            (PhoneError::TooLong, Locale::Fr) => "Ce numéro est trop long.".into(),
            (PhoneError::TooLong, Locale::En) => "This number is too long.".into(),
            (PhoneError::NotMobile, Locale::Fr) => "Ce n'est pas un numéro de mobile.".into(),
            (PhoneError::NotMobile, Locale::En) => "This is not a mobile number.".into(),
            (PhoneError::UnknownPrefix, Locale::Fr) => "Cet indicatif pays n'est pas pris en charge.".into(),
            (PhoneError::UnknownPrefix, Locale::En) => "This country code is not supported.".into(),
            (PhoneError::WrongCountry { actual }, Locale::Fr) => {
                format!("Ce numéro est d'un autre pays ({}).", actual.name(Locale::Fr))
            }
            (PhoneError::WrongCountry { actual }, Locale::En) => {
                format!("This number is from another country ({}).", actual.name(Locale::En))
            }
            (PhoneError::UnassignedPrefix { prefix }, Locale::Fr) => {
                format!("Aucun numéro de mobile ne commence par {prefix}. Vérifiez le numéro.")
            }
            (PhoneError::UnassignedPrefix { prefix }, Locale::En) => {
                format!("No mobile number begins with {prefix}. Check the number.")
            }
            (PhoneError::Empty | PhoneError::InvalidCharacters | PhoneError::Obsolete { .. }, _) => {
                String::new()
            }
        }
    }

    /// The messages [`PhoneError::message`] and [`PhoneError::message_for`] share (the
    /// country changes nothing in them), so that the widget, which only calls the second, does
    /// not carry the first's texts too.
    fn common_message(&self, locale: Locale) -> Option<String> {
        let text = match (self, locale) {
            (PhoneError::Empty, Locale::Fr) => "Saisissez votre numéro de téléphone.",
            (PhoneError::Empty, Locale::En) => "Enter your phone number.",
            (PhoneError::InvalidCharacters, Locale::Fr) => "Le numéro ne doit contenir que des chiffres.",
            (PhoneError::InvalidCharacters, Locale::En) => "The number may only contain digits.",
            (PhoneError::Obsolete { current: Some(c) }, Locale::Fr) => {
                return Some(format!("Ce numéro est à l'ancien format. Il s'écrit maintenant : {c}"));
            }
            (PhoneError::Obsolete { current: Some(c) }, Locale::En) => {
                return Some(format!("This number is in the old format. It is now written: {c}"));
            }
            (PhoneError::Obsolete { current: None }, Locale::Fr) => "Ce numéro est à l'ancien format.",
            (PhoneError::Obsolete { current: None }, Locale::En) => "This number is in the old format.",
            _ => return None,
        };
        Some(text.to_owned())
    }

    /// The message shown to the customer when the checkout's `country` is known: it says how
    /// that country's mobile numbers are written, with an example.
    pub fn message_for(&self, country: Country, locale: Locale) -> String {
        let plan = country.plan();
        let digits = plan.national_len();
        let example = plan.format_national(plan.example);
        let cc = plan.calling_code;
        // Too short and too long: one sentence each, with the word that differs.
        let short = matches!(self, PhoneError::TooShort);
        match (self, locale) {
            (PhoneError::TooShort | PhoneError::TooLong, Locale::Fr) => format!(
                "Ce numéro est trop {} : un numéro de mobile {} a {digits} chiffres, par exemple \
                 {example}.",
                if short { "court" } else { "long" },
                country.fr_in()
            ),
            (PhoneError::TooShort | PhoneError::TooLong, Locale::En) => format!(
                "This number is too {}: a mobile number in {} has {digits} digits, for example \
                 {example}.",
                if short { "short" } else { "long" },
                country.name(Locale::En)
            ),
            (PhoneError::NotMobile, Locale::Fr) => format!(
                "Ce n'est pas un numéro de mobile. Saisissez le numéro de votre compte mobile \
                 money, par exemple {example}."
            ),
            (PhoneError::NotMobile, Locale::En) => format!(
                "This is not a mobile number. Enter the number of your mobile money account, \
                 for example {example}."
            ),
            (PhoneError::UnknownPrefix, Locale::Fr) => format!(
                "Cet indicatif pays n'est pas pris en charge. Saisissez un numéro {} (+{cc}).",
                country.fr_of()
            ),
            (PhoneError::UnknownPrefix, Locale::En) => format!(
                "This country code is not supported. Enter a number from {} (+{cc}).",
                country.name(Locale::En)
            ),
            (PhoneError::WrongCountry { actual }, Locale::Fr) => format!(
                "Ce numéro est un numéro {}. Saisissez un numéro {} (+{cc}).",
                actual.fr_of(),
                country.fr_of()
            ),
            (PhoneError::WrongCountry { actual }, Locale::En) => format!(
                "This is a number from {}. Enter a number from {} (+{cc}).",
                actual.name(Locale::En),
                country.name(Locale::En)
            ),
            (PhoneError::Obsolete { current: None }, _) => {
                let old = self.common_message(locale).unwrap_or_default();
                match plan.migration {
                    Some(migration) => format!("{old} {}", migration.note(locale)),
                    None => old,
                }
            }
            (PhoneError::UnassignedPrefix { prefix }, Locale::Fr) => format!(
                "Aucun numéro de mobile {} ne commence par {prefix}. Vérifiez le numéro.",
                country.fr_in()
            ),
            (PhoneError::UnassignedPrefix { prefix }, Locale::En) => format!(
                "No mobile number in {} begins with {prefix}. Check the number.",
                country.name(Locale::En)
            ),
            (
                PhoneError::Empty | PhoneError::InvalidCharacters | PhoneError::Obsolete { current: Some(_) },
                _,
            ) => self.common_message(locale).unwrap_or_default(),
        }
    }
}

impl Migration {
    /// What changed, for a customer whose old number cannot be converted for them.
    pub fn note(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Migration::CoteDIvoire2021, Locale::Fr) => {
                "Depuis le 31 janvier 2021, les numéros ivoiriens ont 10 chiffres : ajoutez 07 \
                 (Orange), 05 (MTN) ou 01 (Moov) devant l'ancien numéro."
            }
            (Migration::CoteDIvoire2021, Locale::En) => {
                "Since 31 January 2021, Ivorian numbers have 10 digits: put 07 (Orange), 05 \
                 (MTN) or 01 (Moov) in front of the old number."
            }
            (Migration::Benin2024, Locale::Fr) => {
                "Depuis le 30 novembre 2024, les numéros béninois ont 10 chiffres : ajoutez 01 \
                 devant l'ancien numéro."
            }
            (Migration::Benin2024, Locale::En) => {
                "Since 30 November 2024, Beninese numbers have 10 digits: put 01 in front of the \
                 old number."
            }
            (Migration::Gabon2019, Locale::Fr) => {
                "Les numéros de mobile gabonais s'écrivent maintenant avec 9 chiffres : 062, 065, \
                 066 (Moov) ou 074, 076, 077 (Airtel) suivis de 6 chiffres."
            }
            (Migration::Gabon2019, Locale::En) => {
                "Gabonese mobile numbers are now written with 9 digits: 062, 065, 066 (Moov) or \
                 074, 076, 077 (Airtel) followed by 6 digits."
            }
        }
    }

    /// Recognises an old number of `plan` (whose migration this is). `None` when `nsn` is not in
    /// an old form, so that the current plan's rules apply.
    fn check(self, plan: &Plan, nsn: &str) -> Option<PhoneError> {
        let current = |new_nsn: &str| PhoneError::Obsolete { current: Some(plan.format_national(new_nsn)) };
        let bytes = nsn.as_bytes();
        match self {
            Migration::CoteDIvoire2021 if nsn.len() == 8 => {
                let old = nsn.get(..2)?;
                match ci_operator_prefix(old) {
                    Some(prefix) => Some(current(&format!("{prefix}{nsn}"))),
                    // Old fixed lines got 21/25/27 in front: still not a mobile number.
                    None if matches!(bytes.first(), Some(b'2' | b'3')) => Some(PhoneError::NotMobile),
                    // Another old 8-digit mobile number, whose operator the published table
                    // does not tell.
                    None if !matches!(bytes.first(), Some(b'1')) => {
                        Some(PhoneError::Obsolete { current: None })
                    }
                    None => None,
                }
            }
            Migration::Benin2024 if nsn.len() == 8 => {
                let new_nsn = format!("01{nsn}");
                if plan.mobile_network(&new_nsn).is_some() {
                    Some(current(&new_nsn))
                } else if plan.is_other(&new_nsn) {
                    Some(PhoneError::NotMobile)
                } else {
                    None
                }
            }
            Migration::Gabon2019 => {
                // The old mobile forms: `0X XX XX XX` (8 digits with the 0, the domestic form)
                // and `X XX XX XX` (7 digits, the international form after 2012), X in 2–7.
                let old_digit = match (nsn.len(), bytes) {
                    (8, [b'0', d @ b'2'..=b'7', ..]) => *d,
                    (7, [d @ b'2'..=b'7', ..]) => *d,
                    _ => return None,
                };
                let rest = &nsn[nsn.len() - 6..];
                Some(match old_digit {
                    b'2' | b'5' | b'6' => current(&format!("6{}{rest}", char::from(old_digit))),
                    b'4' | b'7' => current(&format!("7{}{rest}", char::from(old_digit))),
                    // 03 was a Libertis range whose new prefix was not published.
                    _ => PhoneError::Obsolete { current: None },
                })
            }
            Migration::CoteDIvoire2021 | Migration::Benin2024 => None,
        }
    }
}

/// The prefix an old 8-digit Ivorian mobile number got in 2021, from its first two digits: the
/// operator that held the range (ARTCI's allocation table, as listed on fr.wikipedia "Liste des
/// indicatifs téléphoniques en Côte d'Ivoire" and in github.com/aurellemeless/cipnn).
fn ci_operator_prefix(old: &str) -> Option<&'static str> {
    const ORANGE: &[&str] = &[
        "07", "08", "09", "47", "48", "49", "57", "58", "59", "67", "68", "69", "77", "78", "79", "87", "88",
        "89", "97", "98",
    ];
    const MTN: &[&str] = &[
        "04", "05", "06", "44", "45", "46", "54", "55", "56", "64", "65", "66", "74", "75", "76", "84", "85",
        "86", "94", "95", "96",
    ];
    const MOOV: &[&str] =
        &["01", "02", "03", "40", "41", "42", "43", "50", "51", "52", "53", "70", "71", "72", "73"];
    if ORANGE.contains(&old) {
        Some("07")
    } else if MTN.contains(&old) {
        Some("05")
    } else if MOOV.contains(&old) {
        Some("01")
    } else {
        None
    }
}

/// A mobile phone number of a supported country, in E.164 (`+2250707123456`).
///
/// Only [`PhoneNumber::parse`] and [`PhoneNumber::parse_e164`] make one, so every value is a
/// valid mobile number in its canonical E.164 form; serde goes through `parse_e164`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
    country: Country,
}

/// More digits than any number written any way (`00` + calling code + trunk + NSN) has.
const MAX_DIGITS: usize = 20;

/// More bytes than any number typed or pasted with its separators and marks takes (twenty
/// digits of four bytes, each with a few separators): a longer input, a pasted paragraph or a
/// megabyte of spaces, is refused as too long without being read.
const MAX_INPUT_BYTES: usize = 512;

impl PhoneNumber {
    /// Parses what a customer typed, with `country` as the country of national forms. A number
    /// written with an international prefix (`+`, `00`, or the calling code alone) must belong
    /// to `country` too.
    pub fn parse(input: &str, country: Country) -> Result<PhoneNumber, PhoneError> {
        let (plus, digits) = clean(input)?;
        if plus {
            return international(&digits, country);
        }
        if let Some(rest) = digits.strip_prefix("00") {
            // No supported country has a national number that begins with 00.
            return international(rest, country);
        }
        let plan = country.plan();
        if digits.len() > plan.national_len() && PLANS.iter().any(|p| digits.starts_with(p.calling_code)) {
            // Written with the calling code but no `+` (`225 07 07 12 34 56`).
            let result = international(&digits, country);
            if matches!(result, Ok(_) | Err(PhoneError::WrongCountry { .. } | PhoneError::Obsolete { .. })) {
                return result;
            }
        }
        let nsn = match digits.strip_prefix('0') {
            Some(rest) if plan.trunk_zero && digits.len() == plan.nsn_len + 1 => rest,
            _ => &digits,
        };
        classify(plan, nsn)
    }

    /// Parses an E.164 string of any supported country (`+` and digits only), as stored and
    /// sent to providers. Only the canonical form of a current mobile number is accepted.
    pub fn parse_e164(s: &str) -> Result<PhoneNumber, PhoneError> {
        let digits = s.strip_prefix('+').ok_or(PhoneError::UnknownPrefix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::InvalidCharacters);
        }
        let plan =
            PLANS.iter().find(|p| digits.starts_with(p.calling_code)).ok_or(PhoneError::UnknownPrefix)?;
        classify(plan, &digits[plan.calling_code.len()..])
    }

    fn new(plan: &Plan, nsn: &str) -> PhoneNumber {
        let mut e164 = String::with_capacity(1 + plan.calling_code.len() + nsn.len());
        e164.push('+');
        e164.push_str(plan.calling_code);
        e164.push_str(nsn);
        PhoneNumber { e164, country: plan.country }
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
        self.e164.get(1 + self.country.plan().calling_code.len()..).unwrap_or_default()
    }

    /// The mobile network the number's range belongs to, or [`Network::Unknown`]. Where the
    /// country has number portability ([`Plan::portable`]), this is only the likely network.
    pub fn network(&self) -> Network {
        self.country.plan().mobile_network(self.nsn()).unwrap_or(Network::Unknown)
    }

    /// The number as people write it in its country, for display: `07 07 12 34 56`,
    /// `074 41 65 46`, `77 123 45 67`. [`PhoneNumber::parse`] reads it back.
    pub fn format_national(&self) -> String {
        self.country.plan().format_national(self.nsn())
    }

    /// The number as written from abroad: `+225 07 07 12 34 56`, `+241 74 41 65 46`.
    pub fn format_international(&self) -> String {
        let plan = self.country.plan();
        let mut out = String::with_capacity(self.e164.len() + plan.groups.len() + 1);
        out.push('+');
        out.push_str(plan.calling_code);
        out.push(' ');
        push_groups(&mut out, self.nsn(), plan.groups);
        out
    }
}

impl PhoneNumber {
    /// The number as logs and stored provider bodies show it: written from abroad, with only
    /// its first group and its last two digits, `+225 07 •• •• •• 56`, `+241 74 •• •• 56`:
    /// enough to tell an operator which customer and network, not enough to call anyone.
    pub fn masked(&self) -> String {
        let plan = self.country.plan();
        let nsn = self.nsn();
        let keep_head = plan.groups.first().copied().unwrap_or(0);
        let keep_tail = nsn.len().saturating_sub(2);
        let hidden: String =
            nsn.char_indices().map(|(i, d)| if i < keep_head || i >= keep_tail { d } else { '•' }).collect();
        let mut out = String::with_capacity(hidden.len() + plan.groups.len() + 8);
        out.push('+');
        out.push_str(plan.calling_code);
        out.push(' ');
        push_masked_groups(&mut out, &hidden, plan.groups);
        out
    }
}

/// [`push_groups`] over a string whose characters are not all one byte (`•`).
fn push_masked_groups(out: &mut String, chars: &str, groups: &[usize]) {
    let mut rest = chars.chars();
    for (i, &len) in groups.iter().enumerate() {
        let group: String = rest.by_ref().take(len).collect();
        if group.is_empty() {
            return;
        }
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&group);
    }
    let tail: String = rest.collect();
    if !tail.is_empty() {
        out.push(' ');
        out.push_str(&tail);
    }
}

/// Fewest digits a phone number written in one piece has (Togo's, Gabon's… national numbers).
const MIN_RUN: usize = 8;
/// Most digits a run may have to be read as one number (`00` + calling code + NSN).
const MAX_RUN: usize = 17;

/// The phone number a run of digits (`+` first or not) is, in any form: E.164 with or without
/// its `+`, `00` and the calling code, or a national number of any supported country.
fn phone_in_run(plus: bool, digits: &str) -> Option<PhoneNumber> {
    if !(MIN_RUN..=MAX_RUN).contains(&digits.len()) {
        return None;
    }
    let international = format!("+{}", digits.strip_prefix("00").unwrap_or(digits));
    if let Ok(p) = PhoneNumber::parse_e164(&international) {
        return Some(p);
    }
    if plus {
        return None;
    }
    PLANS.iter().find_map(|plan| PhoneNumber::parse(digits, plan.country).ok())
}

/// `text` with every mobile number of a supported country written in one piece (`+2250707123456`,
/// `2250707123456`, `002250707123456`, `0707123456`) replaced by its [`PhoneNumber::masked`]
/// form; borrowed unchanged when it holds none. Digits glued to a letter or `_`, or part of a
/// decimal number, are left alone. For logs and stored provider bodies.
pub fn mask_phone_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let plus = start > 0 && bytes[start - 1] == b'+';
        // A run inside a word (`at_0707123456x`) or a decimal number (`6.635897976s`,
        // `1,0707123456`) is no phone number.
        let before = if plus { start - 1 } else { start };
        let glued = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let decimal = |sep: Option<&u8>, digit: Option<&u8>| {
            matches!(sep, Some(b'.' | b',')) && digit.is_some_and(u8::is_ascii_digit)
        };
        let inside = (before > 0 && glued(bytes[before - 1]))
            || bytes.get(i).copied().is_some_and(glued)
            || (before > 1 && decimal(bytes.get(before - 1), bytes.get(before - 2)))
            || decimal(bytes.get(i), bytes.get(i + 1));
        if inside {
            continue;
        }
        if let Some(phone) = phone_in_run(plus, &text[start..i]) {
            let from = if plus { start - 1 } else { start };
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..from]);
            buf.push_str(&phone.masked());
            copied = i;
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            std::borrow::Cow::Owned(buf)
        }
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

/// Whether `ch` may separate digits: spaces of any kind (including the no-break spaces phones
/// insert), dots, dashes of any kind, slashes, brackets, and the invisible format characters
/// copied numbers carry ([`is_format`]).
fn is_separator(ch: char) -> bool {
    ch.is_whitespace()
        || matches!(ch, '.' | '-' | '/' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}')
        || is_format(ch)
}

/// The Unicode format characters (general category Cf, Unicode 14.0 as Python's `unicodedata`
/// gives them), as inclusive ranges: Apple's apps wrap a copied value in U+202D…U+202C
/// (github.com/bitwarden/clients issue 6186), text copied from right-to-left pages carries
/// U+200E/U+200F (github.com/contao/core issue 8434), Signal wraps numbers in U+2068…U+2069
/// (github.com/signalapp/Signal-Android issue 11630). `shared/tests/phone_oracle.rs` checks
/// the list.
const FORMAT_CHARS: [(u32, u32); 21] = [
    (0xad, 0xad),
    (0x600, 0x605),
    (0x61c, 0x61c),
    (0x6dd, 0x6dd),
    (0x70f, 0x70f),
    (0x890, 0x891),
    (0x8e2, 0x8e2),
    (0x180e, 0x180e),
    (0x200b, 0x200f),
    (0x202a, 0x202e),
    (0x2060, 0x2064),
    (0x2066, 0x206f),
    (0xfeff, 0xfeff),
    (0xfff9, 0xfffb),
    (0x110bd, 0x110bd),
    (0x110cd, 0x110cd),
    (0x13430, 0x13438),
    (0x1bca0, 0x1bca3),
    (0x1d173, 0x1d17a),
    (0xe0001, 0xe0001),
    (0xe0020, 0xe007f),
];

/// Whether `ch` is a Unicode format character ([`FORMAT_CHARS`]).
fn is_format(ch: char) -> bool {
    let c = u32::from(ch);
    FORMAT_CHARS.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The zero of every run of Unicode decimal digits (general category Nd, Unicode 14.0): each
/// run is ten consecutive code points, zero to nine. ASCII's is handled before the table.
/// `shared/tests/phone_oracle.rs` checks the list against `phonenumbers.normalize_digits_only`.
const DIGIT_ZEROS: [u32; 65] = [
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0,
    0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50,
    0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0,
    0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50,
    0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140,
    0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The ASCII digit a Unicode decimal digit stands for (`'٧'` and `'７'` → `'7'`), if `ch` is one.
fn ascii_digit(ch: char) -> Option<char> {
    if ch.is_ascii_digit() {
        return Some(ch);
    }
    let c = u32::from(ch);
    let zero = DIGIT_ZEROS.iter().find(|&&zero| (zero..zero + 10).contains(&c))?;
    char::from_digit(c - zero, 10)
}

/// Strips separators; returns whether the number began with `+`, and its digits after it, in
/// ASCII. Reads at most [`MAX_INPUT_BYTES`] and keeps at most [`MAX_DIGITS`] digits.
fn clean(input: &str) -> Result<(bool, String), PhoneError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(PhoneError::TooLong);
    }
    let mut plus = false;
    let mut count = 0usize;
    let mut digits = String::with_capacity(MAX_DIGITS);
    for ch in input.chars() {
        if let Some(digit) = ascii_digit(ch) {
            count += 1;
            if count <= MAX_DIGITS {
                digits.push(digit);
            }
            continue;
        }
        match ch {
            // Full-width `＋` too, as libphonenumber's PLUS_CHARS.
            '+' | '\u{ff0b}' if !plus && count == 0 => plus = true,
            _ if is_separator(ch) => {}
            _ => return Err(PhoneError::InvalidCharacters),
        }
    }
    if count == 0 {
        return Err(PhoneError::Empty);
    }
    if count > MAX_DIGITS {
        return Err(PhoneError::TooLong);
    }
    Ok((plus, digits))
}

/// `digits` follow an international prefix: calling code, then the national significant
/// number.
fn international(digits: &str, country: Country) -> Result<PhoneNumber, PhoneError> {
    let plan = PLANS.iter().find(|p| digits.starts_with(p.calling_code)).ok_or(PhoneError::UnknownPrefix)?;
    if plan.country != country {
        return Err(PhoneError::WrongCountry { actual: plan.country });
    }
    let mut nsn = &digits[plan.calling_code.len()..];
    if nsn.is_empty() {
        return Err(PhoneError::TooShort);
    }
    // `+241 074 41 65 46`: the trunk 0 kept after the calling code is dropped, as a caller's
    // network does.
    if plan.trunk_zero && nsn.len() == plan.nsn_len + 1 {
        nsn = nsn.strip_prefix('0').unwrap_or(nsn);
    }
    classify(plan, nsn)
}

/// The verdict on a national significant number of `plan`'s country (digits only).
fn classify(plan: &Plan, nsn: &str) -> Result<PhoneNumber, PhoneError> {
    if let Some(error) = plan.migration.and_then(|m| m.check(plan, nsn)) {
        return Err(error);
    }
    let network = plan.mobile_network(nsn);
    if network.is_none() && plan.is_other(nsn) {
        return Err(PhoneError::NotMobile);
    }
    if nsn.len() < plan.nsn_len {
        return Err(PhoneError::TooShort);
    }
    if nsn.len() > plan.nsn_len {
        return Err(PhoneError::TooLong);
    }
    match network {
        Some(_) => Ok(PhoneNumber::new(plan, nsn)),
        None => Err(PhoneError::UnassignedPrefix { prefix: unassigned_prefix(plan, nsn) }),
    }
}

/// The shortest beginning of `nsn` that no mobile prefix shares, as written nationally.
fn unassigned_prefix(plan: &Plan, nsn: &str) -> String {
    let mut len = 1;
    while len < nsn.len() && plan.mobile.iter().any(|(prefix, _)| prefix.starts_with(&nsn[..len])) {
        len += 1;
    }
    let mut out = String::with_capacity(len + 1);
    if plan.trunk_zero {
        out.push('0');
    }
    out.push_str(&nsn[..len]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, country: Country) -> Result<String, PhoneError> {
        PhoneNumber::parse(input, country).map(|n| n.as_e164().to_owned())
    }

    #[test]
    fn masked_numbers_keep_the_first_group_and_the_last_two_digits() {
        // One example per country, from each plan's own `example` (ITU/regulator ranges).
        let cases = [
            ("+2250707123456", "+225 07 •• •• •• 56"),
            ("+221771234567", "+221 77 ••• •• 67"),
            ("+237671234567", "+237 6 •• •• •• 67"),
            ("+2290197123456", "+229 01 •• •• •• 56"),
            ("+22890112345", "+228 90 •• •• 45"),
            ("+22670123456", "+226 70 •• •• 56"),
            ("+22365012345", "+223 65 •• •• 45"),
            ("+24174123456", "+241 74 •• •• 56"),
            ("+22793123456", "+227 93 •• •• 56"),
            ("+224621123456", "+224 621 •• •• 56"),
            ("+242061234567", "+242 06 ••• ••67"),
        ];
        for (e164, masked) in cases {
            assert_eq!(PhoneNumber::parse_e164(e164).unwrap().masked(), masked, "{e164}");
        }
        for plan in PLANS {
            let p = PhoneNumber::parse_e164(&format!("+{}{}", plan.calling_code, plan.example)).unwrap();
            let masked = p.masked();
            let digits: String = masked.chars().filter(char::is_ascii_digit).collect();
            assert!(!digits.contains(plan.example), "{masked}");
            assert_eq!(masked.chars().filter(|&c| c == '•').count(), plan.nsn_len - plan.groups[0] - 2);
        }
    }

    #[test]
    fn phone_numbers_in_text_are_masked_in_every_one_piece_form() {
        let masked = "+225 07 •• •• •• 56";
        for form in ["+2250707123456", "2250707123456", "002250707123456", "0707123456"] {
            let text = format!(r#"{{"msisdn":"{form}","amount":5000}}"#);
            assert_eq!(
                mask_phone_numbers(&text),
                format!(r#"{{"msisdn":"{masked}","amount":5000}}"#),
                "{form}"
            );
        }
        // Gabon, written nationally with its trunk 0, then two numbers in one line.
        assert_eq!(mask_phone_numbers("tel 074123456 ok"), "tel +241 74 •• •• 56 ok");
        assert_eq!(
            mask_phone_numbers("from +221771234567 to 237671234567."),
            "from +221 77 ••• •• 67 to +237 6 •• •• •• 67."
        );
        // No phone number: borrowed as is (amounts, timestamps, references, short runs, digits
        // inside a word or a decimal number).
        for text in [
            "amount 5000 XOF",
            "1733548800123",
            "ref 20261207",
            "",
            "+",
            "pay_0123abc",
            "retry_in=6.635897976s",
            "at_0707123456x",
            "x0707123456",
            "2.0707123456",
            "0707123456.5",
        ] {
            assert!(matches!(mask_phone_numbers(text), std::borrow::Cow::Borrowed(_)), "{text}");
        }
        // Masking twice changes nothing more.
        let once = mask_phone_numbers("+2250707123456").into_owned();
        assert_eq!(mask_phone_numbers(&once), once);
    }

    #[test]
    fn every_country_has_exactly_one_plan_in_order() {
        assert_eq!(PLANS.len(), Country::ALL.len());
        for (plan, country) in PLANS.iter().zip(Country::ALL) {
            assert_eq!(plan.country, country);
            assert_eq!(PLANS.iter().filter(|p| p.country == country).count(), 1);
            assert_eq!(country.plan().country, country);
        }
    }

    #[test]
    fn plans_are_consistent() {
        for plan in PLANS {
            let c = plan.country;
            assert_eq!(plan.groups.iter().sum::<usize>(), plan.nsn_len, "{c} groups");
            assert_eq!(plan.example.len(), plan.nsn_len, "{c} example");
            assert!(PhoneNumber::parse_e164(&format!("+{}{}", plan.calling_code, plan.example)).is_ok());
            for (prefix, _) in plan.mobile {
                assert!(prefix.len() < plan.nsn_len && prefix.bytes().all(|b| b.is_ascii_digit()));
                assert_eq!(plan.mobile.iter().filter(|(p, _)| p == prefix).count(), 1, "{c} {prefix}");
            }
            // No calling code is a prefix of another, so the first match is the only one.
            for other in PLANS {
                if other.country != c {
                    assert!(!other.calling_code.starts_with(plan.calling_code));
                }
            }
        }
    }

    #[test]
    fn ivorian_forms_people_type() {
        for input in [
            "07 07 12 34 56",
            "+225 0707123456",
            "002250707123456",
            "07.07.12.34.56",
            "07-07-12-34-56",
            "(+225) 07 07 12 34 56",
            "225 07 07 12 34 56",
            "\u{a0}07\u{202f}07 12 34 56 ",
        ] {
            let n = PhoneNumber::parse(input, Country::Ci).unwrap();
            assert_eq!(n.as_e164(), "+2250707123456", "{input}");
            assert_eq!(n.network(), Network::Orange);
            assert_eq!(n.format_national(), "07 07 12 34 56");
            assert_eq!(n.format_international(), "+225 07 07 12 34 56");
        }
        assert_eq!(parse("05 55 12 34 56", Country::Ci).map(|_| ()), Ok(()));
        let moov = PhoneNumber::parse("0101020304", Country::Ci).unwrap();
        assert_eq!(moov.network(), Network::Moov);
    }

    #[test]
    fn gabon_drops_the_trunk_zero() {
        for input in ["074 41 65 46", "+241 74 41 65 46", "+241 074 41 65 46", "74416546", "0024174416546"] {
            let n = PhoneNumber::parse(input, Country::Ga).unwrap();
            assert_eq!(n.as_e164(), "+24174416546", "{input}");
            assert_eq!(n.network(), Network::Airtel);
            assert_eq!(n.format_national(), "074 41 65 46");
            assert_eq!(n.format_international(), "+241 74 41 65 46");
        }
        let moov = PhoneNumber::parse("066 82 08 66", Country::Ga).unwrap();
        assert_eq!(moov.network(), Network::Moov);
    }

    #[test]
    fn other_countries_national_forms() {
        let cases = [
            ("77 123 45 67", Country::Sn, "+221771234567", Network::Orange, "77 123 45 67"),
            ("76 123 45 67", Country::Sn, "+221761234567", Network::Yas, "76 123 45 67"),
            ("70 123 45 67", Country::Sn, "+221701234567", Network::Expresso, "70 123 45 67"),
            ("6 71 23 45 67", Country::Cm, "+237671234567", Network::Mtn, "6 71 23 45 67"),
            ("699 12 34 56", Country::Cm, "+237699123456", Network::Orange, "6 99 12 34 56"),
            ("01 97 12 34 56", Country::Bj, "+2290197123456", Network::Mtn, "01 97 12 34 56"),
            ("01 92 12 34 56", Country::Bj, "+2290192123456", Network::Celtiis, "01 92 12 34 56"),
            ("90 11 23 45", Country::Tg, "+22890112345", Network::Yas, "90 11 23 45"),
            ("70 12 34 56", Country::Bf, "+22670123456", Network::Moov, "70 12 34 56"),
            ("76 12 34 56", Country::Ml, "+22376123456", Network::Orange, "76 12 34 56"),
            ("96 12 34 56", Country::Ne, "+22796123456", Network::Airtel, "96 12 34 56"),
            ("621 12 34 56", Country::Gn, "+224621123456", Network::Orange, "621 12 34 56"),
            ("06 612 34 56", Country::Cg, "+242066123456", Network::Mtn, "06 612 3456"),
            ("05 612 34 56", Country::Cg, "+242056123456", Network::Airtel, "05 612 3456"),
        ];
        for (input, country, e164, network, national) in cases {
            let n = PhoneNumber::parse(input, country).unwrap();
            assert_eq!(n.as_e164(), e164, "{input}");
            assert_eq!(n.network(), network, "{input}");
            assert_eq!(n.format_national(), national, "{input}");
            assert_eq!(PhoneNumber::parse(&n.format_national(), country), Ok(n.clone()));
            assert_eq!(PhoneNumber::parse(&n.format_international(), country), Ok(n));
        }
    }

    #[test]
    fn precise_reasons() {
        use PhoneError::*;
        assert_eq!(parse("", Country::Ci), Err(Empty));
        assert_eq!(parse(" - ", Country::Ci), Err(Empty));
        assert_eq!(parse("07 07 12", Country::Ci), Err(TooShort));
        assert_eq!(parse("07071234567", Country::Ci), Err(TooLong));
        assert_eq!(parse("2721234567", Country::Ci), Err(NotMobile));
        assert_eq!(parse("0312345678", Country::Ci), Err(UnassignedPrefix { prefix: "03".into() }));
        assert_eq!(parse("07a7123456", Country::Ci), Err(InvalidCharacters));
        assert_eq!(parse("07 07 12 34 56 +", Country::Ci), Err(InvalidCharacters));
        assert_eq!(parse("+33612345678", Country::Ci), Err(UnknownPrefix));
        assert_eq!(parse("0033612345678", Country::Ci), Err(UnknownPrefix));
        assert_eq!(parse("+221771234567", Country::Ci), Err(WrongCountry { actual: Country::Sn }));
        assert_eq!(parse("225 0707123456", Country::Sn), Err(WrongCountry { actual: Country::Ci }));
        assert_eq!(parse("+225", Country::Ci), Err(TooShort));
        assert_eq!(parse(&"0".repeat(21), Country::Ci), Err(TooLong));
        assert_eq!(parse("33 812 34 56", Country::Sn), Err(NotMobile));
        assert_eq!(parse("73 123 45 67", Country::Sn), Err(UnassignedPrefix { prefix: "73".into() }));
        assert_eq!(parse("30 12 34 56", Country::Ml), Err(UnassignedPrefix { prefix: "3".into() }));
        assert_eq!(parse("026 16 1234", Country::Cg), Err(UnassignedPrefix { prefix: "02616".into() }));
        assert_eq!(parse("20 01 12 34", Country::Ml).map(|_| ()), Ok(()));
        assert_eq!(parse("088 12 34 56", Country::Ga), Err(UnassignedPrefix { prefix: "08".into() }));
        assert_eq!(parse("011 44 68 11", Country::Ga), Err(NotMobile));
        assert_eq!(parse("81 12 34 56", Country::Bj), Err(NotMobile));
    }

    #[test]
    fn obsolete_ivorian_numbers_show_the_current_form() {
        let cases = [
            ("07 12 34 56", "07 07 12 34 56"),
            ("48 12 34 56", "07 48 12 34 56"),
            ("05 12 34 56", "05 05 12 34 56"),
            ("86 12 34 56", "05 86 12 34 56"),
            ("01 12 34 56", "01 01 12 34 56"),
            ("73 12 34 56", "01 73 12 34 56"),
            ("+225 07 12 34 56", "07 07 12 34 56"),
        ];
        for (old, new) in cases {
            assert_eq!(
                PhoneNumber::parse(old, Country::Ci),
                Err(PhoneError::Obsolete { current: Some(new.into()) }),
                "{old}"
            );
            assert!(PhoneNumber::parse(new, Country::Ci).is_ok());
        }
        assert_eq!(
            PhoneNumber::parse("60 12 34 56", Country::Ci),
            Err(PhoneError::Obsolete { current: None })
        );
        assert_eq!(PhoneNumber::parse("20 21 22 23", Country::Ci), Err(PhoneError::NotMobile));
    }

    #[test]
    fn obsolete_beninese_and_gabonese_numbers() {
        assert_eq!(
            PhoneNumber::parse("97 12 34 56", Country::Bj),
            Err(PhoneError::Obsolete { current: Some("01 97 12 34 56".into()) })
        );
        assert_eq!(
            PhoneNumber::parse("+229 97 12 34 56", Country::Bj),
            Err(PhoneError::Obsolete { current: Some("01 97 12 34 56".into()) })
        );
        assert_eq!(PhoneNumber::parse("21 30 12 34", Country::Bj), Err(PhoneError::NotMobile));
        for (old, new) in [
            ("07 41 65 46", "077 41 65 46"),
            ("04 41 65 46", "074 41 65 46"),
            ("02 41 65 46", "062 41 65 46"),
            ("05 41 65 46", "065 41 65 46"),
            ("06 82 08 66", "066 82 08 66"),
            ("+241 07 41 65 46", "077 41 65 46"),
            ("+241 4 41 65 46", "074 41 65 46"),
        ] {
            assert_eq!(
                PhoneNumber::parse(old, Country::Ga),
                Err(PhoneError::Obsolete { current: Some(new.into()) }),
                "{old}"
            );
            assert!(PhoneNumber::parse(new, Country::Ga).is_ok(), "{new}");
        }
        assert_eq!(
            PhoneNumber::parse("03 41 65 46", Country::Ga),
            Err(PhoneError::Obsolete { current: None })
        );
    }

    #[test]
    fn parse_e164_takes_only_canonical_numbers() {
        assert!(PhoneNumber::parse_e164("+2250707123456").is_ok());
        assert_eq!(PhoneNumber::parse_e164("2250707123456"), Err(PhoneError::UnknownPrefix));
        assert_eq!(PhoneNumber::parse_e164("+225 0707123456"), Err(PhoneError::InvalidCharacters));
        assert_eq!(PhoneNumber::parse_e164("+241074416546"), Err(PhoneError::TooLong));
        assert!(matches!(PhoneNumber::parse_e164("+24107416546"), Err(PhoneError::Obsolete { .. })));
    }

    #[test]
    fn messages_for_every_reason_in_both_languages() {
        let errors = [
            PhoneError::Empty,
            PhoneError::InvalidCharacters,
            PhoneError::TooShort,
            PhoneError::TooLong,
            PhoneError::NotMobile,
            PhoneError::UnknownPrefix,
            PhoneError::WrongCountry { actual: Country::Sn },
            PhoneError::Obsolete { current: Some("07 07 12 34 56".into()) },
            PhoneError::Obsolete { current: None },
            PhoneError::UnassignedPrefix { prefix: "03".into() },
        ];
        for e in &errors {
            assert_ne!(e.message(Locale::Fr), e.message(Locale::En), "{e:?}");
            for c in Country::ALL {
                let fr = e.message_for(c, Locale::Fr);
                let en = e.message_for(c, Locale::En);
                assert!(!fr.is_empty() && !en.is_empty());
                assert_ne!(fr, en, "{e:?} {c}");
            }
        }
        assert_eq!(
            PhoneError::TooShort.message_for(Country::Ci, Locale::Fr),
            "Ce numéro est trop court : un numéro de mobile en Côte d'Ivoire a 10 chiffres, par \
             exemple 07 07 12 34 56."
        );
        assert_eq!(
            PhoneError::TooLong.message_for(Country::Ci, Locale::Fr),
            "Ce numéro est trop long : un numéro de mobile en Côte d'Ivoire a 10 chiffres, par \
             exemple 07 07 12 34 56."
        );
        assert_eq!(
            PhoneError::TooLong.message_for(Country::Ga, Locale::En),
            "This number is too long: a mobile number in Gabon has 9 digits, for example 074 12 \
             34 56."
        );
        assert_eq!(
            PhoneError::TooShort.message_for(Country::Ga, Locale::En),
            "This number is too short: a mobile number in Gabon has 9 digits, for example \
             074 12 34 56."
        );
        assert_eq!(
            PhoneError::WrongCountry { actual: Country::Sn }.message_for(Country::Ci, Locale::Fr),
            "Ce numéro est un numéro du Sénégal. Saisissez un numéro de Côte d'Ivoire (+225)."
        );
        assert!(
            PhoneError::Obsolete { current: None }
                .message_for(Country::Ci, Locale::Fr)
                .contains("ajoutez 07 (Orange), 05 (MTN) ou 01 (Moov)")
        );
    }

    #[test]
    fn serde_takes_only_e164() {
        let n: PhoneNumber = serde_json::from_str("\"+2250707123456\"").unwrap();
        assert_eq!(n.country(), Country::Ci);
        assert!(serde_json::from_str::<PhoneNumber>("\"0707123456\"").is_err());
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+2250707123456\"");
        let e = PhoneError::UnassignedPrefix { prefix: "03".into() };
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"reason":"unassigned_prefix","prefix":"03"}"#);
    }

    /// What must hold of every number the parser accepts.
    fn check_invariants(
        n: &PhoneNumber,
        country: Country,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prop_assert_eq;
        let plan = country.plan();
        prop_assert_eq!(n.country(), country);
        let starts = n.as_e164().strip_prefix('+').is_some_and(|d| d.starts_with(plan.calling_code));
        proptest::prop_assert!(starts, "{} lacks +{}", n.as_e164(), plan.calling_code);
        prop_assert_eq!(n.nsn().len(), plan.nsn_len);
        let forms = [n.as_e164().to_owned(), n.format_national(), n.format_international()];
        prop_assert_eq!(&PhoneNumber::parse_e164(n.as_e164()), &Ok(n.clone()));
        for form in forms {
            prop_assert_eq!(&PhoneNumber::parse(&form, country), &Ok(n.clone()), "{}", form);
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn no_panic_on_any_string(s in proptest::prelude::any::<String>()) {
            for country in Country::ALL {
                if let Ok(n) = PhoneNumber::parse(&s, country) {
                    check_invariants(&n, country)?;
                }
            }
            let _ = PhoneNumber::parse_e164(&s);
        }

        #[test]
        fn no_panic_on_digit_soup(s in "[+]?[0-9 .()/-]{0,30}") {
            for country in Country::ALL {
                if let Ok(n) = PhoneNumber::parse(&s, country) {
                    check_invariants(&n, country)?;
                }
            }
        }

        #[test]
        fn parse_and_format_are_inverse(
            c in 0usize..11,
            entry in 0usize..64,
            tail in "[0-9]{10}",
            seps in proptest::collection::vec(
                proptest::sample::select(vec!["", "", " ", ".", "-", "\u{a0}", "\u{200e}", "\u{202c}", "\u{2069}\u{200b}"]),
                12,
            ),
            zero in proptest::sample::select(vec!['0', '0', '\u{660}', '\u{6f0}', '\u{ff10}']),
        ) {
            let country = Country::ALL[c];
            let plan = country.plan();
            let (prefix, network) = plan.mobile[entry % plan.mobile.len()];
            let nsn: String = prefix.chars().chain(tail.chars()).take(plan.nsn_len).collect();
            let n = PhoneNumber::parse_e164(&format!("+{}{nsn}", plan.calling_code)).unwrap();
            check_invariants(&n, country)?;
            // The longest prefix tells the network: at least as long as the chosen one.
            if plan.mobile.iter().all(|(p, _)| !(p.len() > prefix.len() && nsn.starts_with(p))) {
                proptest::prop_assert_eq!(n.network(), network);
            }
            // Typed nationally with any separators between digits.
            let national: String = plan.format_national(&nsn).chars().filter(char::is_ascii_digit).collect();
            // In the digits of another script (Arabic-Indic, Persian, full-width) too.
            let script = |d: char| char::from_u32(u32::from(zero) + (u32::from(d) - u32::from('0'))).unwrap_or(d);
            let typed: String = national
                .chars()
                .map(script)
                .zip(seps.iter().cycle())
                .flat_map(|(d, sep)| std::iter::once(d).chain(sep.chars()))
                .collect();
            proptest::prop_assert_eq!(PhoneNumber::parse(&typed, country), Ok(n.clone()));
            proptest::prop_assert_eq!(PhoneNumber::parse(&format!("00{}{nsn}", plan.calling_code), country), Ok(n));
        }
    }

    #[test]
    fn huge_and_strange_inputs() {
        let big_digits = "7".repeat(1_000_000);
        let big_spaces = format!("{}0707123456", " ".repeat(1_000_000));
        let big_marks = format!("{}0707123456", "\u{200e}".repeat(350_000));
        let big_arabic = "٧".repeat(500_000);
        for country in Country::ALL {
            // Each is a megabyte or more: refused as too long without being read.
            for big in [&big_digits, &format!("+{big_digits}"), &big_spaces, &big_marks, &big_arabic] {
                assert_eq!(PhoneNumber::parse(big, country), Err(PhoneError::TooLong));
            }
            for s in ["+", "++225", "\u{0}", "07 07 12 34 56\u{301}", "🇨🇮", "07 07 12 34 5\u{2460}"] {
                assert!(PhoneNumber::parse(s, country).is_err(), "{s:?}");
            }
        }
        assert!(PhoneNumber::parse_e164(&format!("+{big_digits}")).is_err());
        // Just under the bound, a number still parses whatever surrounds it.
        let padded = format!("{}07 07 12 34 56{}", " ".repeat(240), "\u{200b}".repeat(80));
        assert!(padded.len() <= MAX_INPUT_BYTES);
        assert_eq!(parse(&padded, Country::Ci).map(|_| ()), Ok(()));
    }

    #[test]
    fn pasted_numbers_with_invisible_marks() {
        // iOS and macOS wrap a copied value in U+202D … U+202C (github.com/bitwarden/clients
        // issue 6186: `wa.me/%E2%80%AD+123123123%E2%80%AC`); an LRM U+200E (bytes e2 80 8e)
        // before the digits (github.com/contao/core issue 8434); Signal wraps copied numbers
        // in U+2068 … U+2069 (github.com/signalapp/Signal-Android issue 11630); RTL WhatsApp Web
        // adds direction marks (github.com/nhoizey/vscode-gremlins pull 204).
        for pasted in [
            "\u{202d}+225 07 07 12 34 56\u{202c}",
            "\u{202d}+2250707123456\u{202c}",
            "\u{200e}0707123456",
            "\u{200e}+225 07 07 12 34 56\u{200e}",
            "\u{200f}+225\u{200f} 07 07 12 34 56",
            "\u{2068}+225 07 07 12 34 56\u{2069}",
            "\u{feff}07\u{200b}07\u{200b}12\u{200b}34\u{200b}56",
            "\u{202a}07 07 12 34 56\u{202c}",
            "\u{2066}07 07 12 34 56\u{2069}",
        ] {
            let n = PhoneNumber::parse(pasted, Country::Ci).unwrap_or_else(|e| panic!("{pasted:?}: {e:?}"));
            assert_eq!(n.as_e164(), "+2250707123456", "{pasted:?}");
        }
        // A mark does not make a stray `+` acceptable, nor a letter a digit.
        assert_eq!(parse("\u{200e}07 07 12 34 56 +", Country::Ci), Err(PhoneError::InvalidCharacters));
        assert_eq!(parse("\u{200e}07a7123456", Country::Ci), Err(PhoneError::InvalidCharacters));
        assert_eq!(parse("\u{200e}\u{202c}", Country::Ci), Err(PhoneError::Empty));
    }

    #[test]
    fn digits_of_other_scripts() {
        // Vectors from libphonenumber's Python port, phonenumbers 9.0.43:
        //   python3 -c "import phonenumbers as p; print(p.normalize_digits_only('٠٧٠٧١٢٣٤٥٦'))"
        //   → 0707123456   (Arabic-Indic, U+0660…)
        //   python3 -c "import phonenumbers as p; print(p.normalize_digits_only('۰۷۰۷۱۲۳۴۵۶'))"
        //   → 0707123456   (Extended Arabic-Indic / Persian, U+06F0…)
        //   python3 -c "import phonenumbers as p; n = p.parse('＋２２５ ０７ ０７ １２ ３４ ５６', None);
        //     print(p.format_number(n, p.PhoneNumberFormat.E164))"
        //   → +2250707123456   (full-width, U+FF10… and U+FF0B)
        //   python3 -c "import phonenumbers as p; n = p.parse('٠٧٤ ٤١ ٦٥ ٤٦', 'GA');
        //     print(p.format_number(n, p.PhoneNumberFormat.E164))"
        //   → +24174416546
        let cases = [
            ("٠٧٠٧١٢٣٤٥٦", Country::Ci, "+2250707123456"),
            ("۰۷۰۷۱۲۳۴۵۶", Country::Ci, "+2250707123456"),
            ("＋２２５ ０７ ０７ １２ ３４ ５６", Country::Ci, "+2250707123456"),
            ("٠٧٤ ٤١ ٦٥ ٤٦", Country::Ga, "+24174416546"),
            ("\u{200f}+٢٢٥ ٠٧ ٠٧ ١٢ ٣٤ ٥٦", Country::Ci, "+2250707123456"),
        ];
        for (input, country, e164) in cases {
            assert_eq!(PhoneNumber::parse(input, country).map(|n| n.e164), Ok(e164.to_owned()), "{input}");
        }
        // Mixed scripts are digits all the same, as for libphonenumber.
        assert_eq!(parse("07 ٠٧ １２ 34 56", Country::Ci).map(|_| ()), Ok(()));
        assert_eq!(ascii_digit('٩'), Some('9'));
        assert_eq!(ascii_digit('９'), Some('9'));
        // Superscripts and circled digits are no decimal digits (category No).
        assert_eq!(ascii_digit('²'), None);
        assert_eq!(ascii_digit('\u{2460}'), None);
        assert_eq!(ascii_digit('a'), None);
    }

    #[test]
    fn network_names() {
        for n in Network::ALL {
            assert_eq!(n.name().is_none(), n == Network::Unknown);
        }
    }
}

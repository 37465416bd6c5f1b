//! Test and live modes, and the one validation that keeps them apart.
//!
//! Every provider section states `mode = "test"` or `mode = "live"`. [`Settings::validate`]
//! refuses, before anything starts, a configuration a merchant would not mean, and names the
//! setting at fault:
//! - a key whose form says the other mode (CaurisFlux's `pk_test_`/`sk_test_` against
//!   `pk_live_`/`sk_live_`, <https://docs.caurisflux.com/guides/errors>, "Mélanger les
//!   environnements"; Scalapay's published sandbox keys); where keys do not say, the host
//!   decides;
//! - a live provider anywhere but its official host over HTTPS, unless
//!   `allow_custom_host = true` (a merchant's egress proxy); never on the provider's test host;
//! - a test provider on the official live host, where the provider has a separate test host
//!   (MyPVit has one host for both: its test operation account runs on `api.mypvit.pro`);
//! - test and live providers in one verifier.
//!
//! The verifier's mode follows: all providers test, or all live; none is test. Every checkout
//! records it as `livemode`, and a checkout of one mode is never paid by a verifier of the
//! other.

use std::fmt;

use serde::Deserialize;

use super::Settings;

/// Whether a provider (and the verifier) moves real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The provider's test environment (or a sandbox): nothing real is charged.
    Test,
    /// The provider's production API: real money.
    Live,
}

impl Mode {
    /// `test` or `live`, as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    /// Whether this is live mode (the API's `livemode`).
    pub fn is_live(self) -> bool {
        self == Mode::Live
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a configured key's form says about its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// A documented test key.
    Test,
    /// A documented live key.
    Live,
    /// The provider's keys carry no documented mark: the host decides.
    Unmarked,
    /// Not a key of this provider at all.
    Malformed {
        /// The documented forms, e.g. `sk_test_… or sk_live_…`.
        expected: &'static str,
    },
}

/// One provider's settings as the validation sees them (each provider's `Settings::deployment`).
#[derive(Debug, Clone)]
pub struct Deployment<'a> {
    /// The TOML section, e.g. `caurisflux`.
    pub section: &'static str,
    /// The provider's name for messages, e.g. `CaurisFlux`.
    pub name: &'static str,
    /// The stated mode.
    pub mode: Mode,
    /// Whether a live provider may use another host than the official one.
    pub allow_custom_host: bool,
    /// The configured base URL.
    pub base_url: &'a str,
    /// The official live base URL (HTTPS); its host is the live host.
    pub live_url: &'static str,
    /// The provider's separate test host, when it has one.
    pub test_host: Option<&'static str>,
    /// Each key setting (its name inside the section) with what its form says.
    pub keys: Vec<(&'static str, KeyForm)>,
}

/// Why the verifier refuses to start with these settings. Messages name the setting and never
/// hold a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A key that is no key of this provider.
    #[error("{setting} is not a {name} key: it must start with {expected}")]
    MalformedKey {
        /// e.g. `caurisflux.public_key`.
        setting: String,
        /// The provider.
        name: &'static str,
        /// The documented forms.
        expected: &'static str,
    },
    /// A test key in live mode, or a live key in test mode.
    #[error(
        "{setting} is a {key} key but {section}.mode is \"{mode}\": use {name}'s {mode} keys, or set {section}.mode = \"{key}\" if you mean {key} mode"
    )]
    KeyOfOtherMode {
        /// e.g. `caurisflux.secret_key`.
        setting: String,
        /// The section.
        section: &'static str,
        /// The provider.
        name: &'static str,
        /// What the key is.
        key: Mode,
        /// The stated mode.
        mode: Mode,
    },
    /// The base URL does not parse as an http(s) URL.
    #[error("{setting} is not an http(s) URL")]
    BadUrl {
        /// e.g. `novasend.base_url`.
        setting: String,
    },
    /// A live provider pointed at the provider's test host.
    #[error(
        "{setting} is {name}'s test host {host} but {section}.mode is \"live\": live mode uses {live_url}, test mode the test host"
    )]
    LiveOnTestHost {
        /// e.g. `scalapay.base_url`.
        setting: String,
        /// The section.
        section: &'static str,
        /// The provider.
        name: &'static str,
        /// The test host.
        host: String,
        /// The official live URL.
        live_url: &'static str,
    },
    /// A live provider on another host without the opt-in.
    #[error(
        "{setting} must be {name}'s own {live_url} in live mode; another host (an egress proxy) needs {section}.allow_custom_host = true"
    )]
    LiveOffOfficialHost {
        /// e.g. `caurisflux.base_url`.
        setting: String,
        /// The section.
        section: &'static str,
        /// The provider.
        name: &'static str,
        /// The official live URL.
        live_url: &'static str,
    },
    /// A live provider (or a proxy to it) over plain HTTP to another machine: live keys would
    /// cross the network in clear.
    #[error(
        "{setting} reaches {name} without HTTPS in live mode (plain HTTP is allowed only to this machine): use {live_url} or an https:// proxy"
    )]
    LiveHostWithoutHttps {
        /// e.g. `caurisflux.base_url`.
        setting: String,
        /// The provider.
        name: &'static str,
        /// The official live URL.
        live_url: &'static str,
    },
    /// A test provider pointed at the official live host, where a separate test host exists.
    #[error(
        "{setting} is {name}'s live API but {section}.mode is \"test\": test mode uses {name}'s test host {test_host} (or a sandbox), live mode sets {section}.mode = \"live\""
    )]
    TestOnLiveHost {
        /// e.g. `caurisflux.base_url`.
        setting: String,
        /// The section.
        section: &'static str,
        /// The provider.
        name: &'static str,
        /// The test host.
        test_host: &'static str,
    },
    /// The tests' pace against a sandbox, asked of a live verifier.
    #[error(
        "reconcile.ignore_provider_poll_floor is for tests against a sandbox: a live verifier keeps each provider's minimum gap between status fetches. Remove it"
    )]
    PollFloorIgnoredLive,
    /// A merchant key of the wrong form or too weak (`[merchant] secret_key`).
    #[error("{setting} is refused: {problem}")]
    MerchantKey {
        /// `merchant.secret_key`.
        setting: &'static str,
        /// What is wrong with it.
        problem: crate::merchant_keys::KeyProblem,
    },
    /// Providers of both modes in one verifier.
    #[error(
        "test and live providers cannot mix in one verifier: test: {}; live: {}. Set every provider's mode alike, or run one verifier per mode",
        .test.join(", "), .live.join(", ")
    )]
    MixedModes {
        /// The sections in test mode.
        test: Vec<&'static str>,
        /// The sections in live mode.
        live: Vec<&'static str>,
    },
}

impl Deployment<'_> {
    fn setting(&self, name: &str) -> String {
        format!("{}.{name}", self.section)
    }

    /// Checks one provider's keys and host against its mode.
    pub fn check(&self) -> Result<(), ConfigError> {
        for &(key, form) in &self.keys {
            let says = match form {
                KeyForm::Test => Mode::Test,
                KeyForm::Live => Mode::Live,
                KeyForm::Unmarked => continue,
                KeyForm::Malformed { expected } => {
                    return Err(ConfigError::MalformedKey {
                        setting: self.setting(key),
                        name: self.name,
                        expected,
                    });
                }
            };
            if says != self.mode {
                return Err(ConfigError::KeyOfOtherMode {
                    setting: self.setting(key),
                    section: self.section,
                    name: self.name,
                    key: says,
                    mode: self.mode,
                });
            }
        }
        let url =
            reqwest::Url::parse(self.base_url.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        let host =
            url.as_ref().and_then(|u| u.host_str()).map(|h| h.trim_end_matches('.').to_ascii_lowercase());
        let live_host = reqwest::Url::parse(self.live_url).ok().and_then(|u| u.host_str().map(str::to_owned));
        let on_live_host = host.is_some() && host == live_host;
        let on_test_host = host.is_some() && host.as_deref() == self.test_host;
        let setting = self.setting("base_url");
        match self.mode {
            Mode::Live => {
                let url = url.ok_or_else(|| ConfigError::BadUrl { setting: setting.clone() })?;
                if on_test_host {
                    return Err(ConfigError::LiveOnTestHost {
                        setting,
                        section: self.section,
                        name: self.name,
                        host: host.unwrap_or_default(),
                        live_url: self.live_url,
                    });
                }
                // Live keys never cross a network in clear: plain HTTP only to this machine
                // (a local egress proxy; the live-mode tests' sandboxes).
                let loopback = host.as_deref().is_some_and(|h| {
                    h == "localhost"
                        || h.trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                });
                if url.scheme() != "https" && !loopback {
                    return Err(ConfigError::LiveHostWithoutHttps {
                        setting,
                        name: self.name,
                        live_url: self.live_url,
                    });
                }
                if !on_live_host && !self.allow_custom_host {
                    return Err(ConfigError::LiveOffOfficialHost {
                        setting,
                        section: self.section,
                        name: self.name,
                        live_url: self.live_url,
                    });
                }
            }
            // Any URL, but not the live API of a provider that has a test host. (A URL that does
            // not parse is not refused here: in test mode it is only ever a sandbox's stand-in.)
            Mode::Test => {
                if let (Some(test_host), true) = (self.test_host, on_live_host) {
                    return Err(ConfigError::TestOnLiveHost {
                        setting,
                        section: self.section,
                        name: self.name,
                        test_host,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Settings {
    /// Every configured provider's settings, as the validation sees them.
    pub fn deployments(&self) -> Vec<Deployment<'_>> {
        let mut all = Vec::new();
        if let Some(ns) = &self.novasend {
            all.push(ns.deployment());
        }
        if let Some(cf) = &self.caurisflux {
            all.push(cf.deployment());
        }
        if let Some(sp) = &self.scalapay {
            all.push(sp.deployment());
        }
        if let Some(mp) = &self.mypvit {
            all.push(mp.deployment());
        }
        all
    }

    /// Checks every provider's keys and host against its mode, then that all are of one mode,
    /// and returns the verifier's mode (test when no provider is configured).
    pub fn validate(&self) -> Result<Mode, ConfigError> {
        let deployments = self.deployments();
        for d in &deployments {
            d.check()?;
        }
        let of =
            |mode: Mode| deployments.iter().filter(|d| d.mode == mode).map(|d| d.section).collect::<Vec<_>>();
        let mode = match (of(Mode::Test), of(Mode::Live)) {
            (_, live) if live.is_empty() => Mode::Test,
            (test, _) if test.is_empty() => Mode::Live,
            (test, live) => return Err(ConfigError::MixedModes { test, live }),
        };
        if mode.is_live() && self.reconcile.ignore_provider_poll_floor {
            return Err(ConfigError::PollFloorIgnoredLive);
        }
        // The merchant's key must say the verifier's mode and be strong enough.
        if let Some(key) = &self.merchant.secret_key {
            use secrecy::ExposeSecret;
            crate::merchant_keys::check(key.expose_secret(), mode)
                .map_err(|problem| ConfigError::MerchantKey { setting: "merchant.secret_key", problem })?;
        }
        Ok(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
listen = "127.0.0.1:0"
database_url = "sqlite::memory:"
widget_dir = "target/widget"
[merchant]
name = "Boutique"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
"#;

    fn novasend(mode: &str, url: &str, extra: &str) -> String {
        format!(
            "[novasend]\nmode = \"{mode}\"\nbase_url = \"{url}\"\napi_key = \"k\"\napi_client = \"c\"\n\
             webhook_secret = \"w\"\ntimeout_ms = 30000\n{extra}"
        )
    }

    fn caurisflux(mode: &str, url: &str, pk: &str, sk: &str, extra: &str) -> String {
        format!(
            "[caurisflux]\nmode = \"{mode}\"\nbase_url = \"{url}\"\npublic_key = \"{pk}\"\n\
             secret_key = \"{sk}\"\nwebhook_secret = \"w\"\ntimeout_ms = 30000\n{extra}"
        )
    }

    fn scalapay(mode: &str, url: &str, key: &str, extra: &str) -> String {
        format!(
            "[scalapay]\nmode = \"{mode}\"\nbase_url = \"{url}\"\napi_key = \"{key}\"\n\
             item_category = \"clothes\"\ntimeout_ms = 30000\n{extra}\n[scalapay.shipping]\n\
             line1 = \"1 rue\"\nsuburb = \"Lyon\"\npostcode = \"69003\"\ncountry_code = \"FR\"\n"
        )
    }

    fn mypvit(mode: &str, url: &str, extra: &str) -> String {
        format!(
            "[mypvit]\nmode = \"{mode}\"\nbase_url = \"{url}\"\noperation_account_code = \"ACC_1\"\n\
             password = \"p\"\nreception_url_code = \"RC\"\ncallback_url_code = \"CB\"\n\
             webhook_token = \"t\"\nallowed_ips = [\"127.0.0.1\"]\nowner_charge = \"MERCHANT\"\n\
             timeout_ms = 30000\nrenew_before_s = 300\nsecret_wait_ms = 10000\n{extra}\n\
             [mypvit.url_codes]\nrenew_secret = \"A\"\nrest = \"B\"\nstatus = \"D\"\n"
        )
    }

    fn settings(sections: &[String]) -> Settings {
        let text = format!("{BASE}{}", sections.concat());
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn validate(sections: &[String]) -> Result<Mode, ConfigError> {
        settings(sections).validate()
    }

    /// The message of a refused configuration, checked to name `setting`.
    fn refused(sections: &[String], setting: &str) -> ConfigError {
        let e = validate(sections).expect_err("refused");
        assert!(e.to_string().contains(setting), "{setting} not named in: {e}");
        e
    }

    const CF_LIVE: &str = "https://prod-api.caurisflux.com/api/v1";
    const CF_TEST: &str = "https://sandbox-api.caurisflux.com/api/v1";
    const SP_LIVE: &str = "https://api.scalapay.com";
    const SP_TEST: &str = "https://integration.api.scalapay.com";
    /// Scalapay's public sandbox key, from its API simulator docs.
    const SP_PUBLIC_TEST_KEY: &str = "qhtfs87hjnc12kkos";

    #[test]
    fn the_mode_is_required_and_typed() {
        let without = novasend("test", "https://x", "").replace("mode = \"test\"\n", "");
        assert!(toml::from_str::<Settings>(&format!("{BASE}{without}")).is_err(), "no default mode");
        let misspelt = novasend("production", "https://x", "");
        assert!(toml::from_str::<Settings>(&format!("{BASE}{misspelt}")).is_err(), "only test or live");
    }

    #[test]
    fn accepted_configurations_give_the_verifier_its_mode() {
        assert_eq!(validate(&[]), Ok(Mode::Test), "no provider: test");
        // Each provider on its official hosts, in its mode.
        let live = [
            novasend("live", "https://business.novasend.app", ""),
            caurisflux("live", CF_LIVE, "pk_live_a", "sk_live_b", ""),
            scalapay("live", SP_LIVE, "sp_merchant_key", ""),
            mypvit("live", "https://api.mypvit.pro/v2", ""),
        ];
        assert_eq!(validate(&live), Ok(Mode::Live));
        let test = [
            novasend("test", "https://sandbox.novasend.app", ""),
            caurisflux("test", CF_TEST, "pk_test_a", "sk_test_b", ""),
            scalapay("test", SP_TEST, SP_PUBLIC_TEST_KEY, ""),
            // MyPVit's test operation account lives on its one host.
            mypvit("test", "https://api.mypvit.pro", ""),
        ];
        assert_eq!(validate(&test), Ok(Mode::Test));
        // A test provider may use any URL (a local sandbox).
        let local = [
            novasend("test", "http://127.0.0.1:8091", ""),
            caurisflux("test", "http://127.0.0.1:8092/api/v1", "pk_test_a", "sk_test_b", ""),
            scalapay("test", "http://127.0.0.1:8093", "any-key", ""),
            mypvit("test", "http://127.0.0.1:8094", ""),
        ];
        assert_eq!(validate(&local), Ok(Mode::Test));
        // A live provider behind the merchant's egress proxy, opted in.
        let proxied = [
            novasend("live", "https://egress.shop.example/novasend", "allow_custom_host = true\n"),
            caurisflux(
                "live",
                "http://127.0.0.1:3128/api/v1",
                "pk_live_a",
                "sk_live_b",
                "allow_custom_host = true\n",
            ),
            scalapay("live", "https://egress.shop.example/scalapay", "sp_key", "allow_custom_host = true"),
            mypvit("live", "https://egress.shop.example/mypvit", "allow_custom_host = true"),
        ];
        assert_eq!(validate(&proxied), Ok(Mode::Live));
        // Host names are compared as hosts: case and a root dot do not matter.
        assert_eq!(validate(&[novasend("live", "https://Business.NovaSend.app./", "")]), Ok(Mode::Live));
    }

    #[test]
    fn keys_of_the_other_mode_are_refused() {
        // CaurisFlux: test keys in live mode, on the live host (docs "Mélanger les environnements").
        let e =
            refused(&[caurisflux("live", CF_LIVE, "pk_test_a", "sk_test_b", "")], "caurisflux.public_key");
        assert!(matches!(e, ConfigError::KeyOfOtherMode { key: Mode::Test, mode: Mode::Live, .. }), "{e:?}");
        refused(&[caurisflux("live", CF_LIVE, "pk_live_a", "sk_test_b", "")], "caurisflux.secret_key");
        // Live keys in test mode, on the test host or a sandbox.
        let e =
            refused(&[caurisflux("test", CF_TEST, "pk_live_a", "sk_live_b", "")], "caurisflux.public_key");
        assert!(matches!(e, ConfigError::KeyOfOtherMode { key: Mode::Live, mode: Mode::Test, .. }), "{e:?}");
        refused(
            &[caurisflux("test", "http://127.0.0.1:8092/api/v1", "pk_test_a", "sk_live_b", "")],
            "caurisflux.secret_key",
        );
        // Keys that are neither.
        let e =
            refused(&[caurisflux("test", CF_TEST, "sk_test_a", "sk_test_b", "")], "caurisflux.public_key");
        assert!(matches!(e, ConfigError::MalformedKey { .. }), "{e:?}");
        refused(&[caurisflux("test", CF_TEST, "pk_test_a", "sk_test_", "")], "caurisflux.secret_key");
        // Scalapay's published test keys never run live, even through a proxy.
        for key in [SP_PUBLIC_TEST_KEY, "testdeviceapikey"] {
            let e = refused(&[scalapay("live", SP_LIVE, key, "")], "scalapay.api_key");
            assert!(!e.to_string().contains(key), "the key itself is never printed: {e}");
            refused(
                &[scalapay("live", "https://proxy.example", key, "allow_custom_host = true")],
                "scalapay.api_key",
            );
        }
    }

    #[test]
    fn live_providers_use_their_official_host_over_https() {
        // Another host without the opt-in.
        for (sections, setting) in [
            (novasend("live", "https://novasend.example", ""), "novasend.base_url"),
            (
                caurisflux("live", "http://127.0.0.1:8092/api/v1", "pk_live_a", "sk_live_b", ""),
                "caurisflux.base_url",
            ),
            (scalapay("live", "https://scalapay.example", "sp_key", ""), "scalapay.base_url"),
            (mypvit("live", "http://127.0.0.1:8094", ""), "mypvit.base_url"),
        ] {
            let e = refused(&[sections], setting);
            assert!(matches!(e, ConfigError::LiveOffOfficialHost { .. }), "{e:?}");
            assert!(
                e.to_string().contains("allow_custom_host = true"),
                "the message says how to opt in: {e}"
            );
        }
        // The official host without TLS, even opted in.
        let e = refused(
            &[novasend("live", "http://business.novasend.app", "allow_custom_host = true\n")],
            "novasend.base_url",
        );
        assert!(matches!(e, ConfigError::LiveHostWithoutHttps { .. }), "{e:?}");
        let e = refused(
            &[caurisflux("live", "http://prod-api.caurisflux.com/api/v1", "pk_live_a", "sk_live_b", "")],
            "caurisflux.base_url",
        );
        assert!(matches!(e, ConfigError::LiveHostWithoutHttps { .. }), "{e:?}");
        // A proxy on another machine over plain HTTP, even opted in: the keys would cross the
        // network in clear (on this machine, above, it is allowed).
        for base in
            ["http://10.0.0.2:3128/api/v1", "http://egress.shop.example/api/v1", "http://[fd00::2]/api/v1"]
        {
            let e = refused(
                &[caurisflux("live", base, "pk_live_a", "sk_live_b", "allow_custom_host = true\n")],
                "caurisflux.base_url",
            );
            assert!(matches!(e, ConfigError::LiveHostWithoutHttps { .. }), "{base}: {e:?}");
        }
        // The provider's test host in live mode: a live key on a sandbox URL, even opted in.
        for (sections, setting) in [
            (
                caurisflux("live", CF_TEST, "pk_live_a", "sk_live_b", "allow_custom_host = true\n"),
                "caurisflux.base_url",
            ),
            (scalapay("live", SP_TEST, "sp_key", ""), "scalapay.base_url"),
            (
                novasend("live", "https://sandbox.novasend.app", "allow_custom_host = true\n"),
                "novasend.base_url",
            ),
        ] {
            let e = refused(&[sections], setting);
            assert!(matches!(e, ConfigError::LiveOnTestHost { .. }), "{e:?}");
        }
        // Not a URL at all.
        let e = refused(&[mypvit("live", "api.mypvit.pro", "allow_custom_host = true")], "mypvit.base_url");
        assert!(matches!(e, ConfigError::BadUrl { .. }), "{e:?}");
    }

    #[test]
    fn test_providers_stay_off_the_live_host_where_a_test_host_exists() {
        for (sections, setting) in [
            (novasend("test", "https://business.novasend.app", ""), "novasend.base_url"),
            (caurisflux("test", CF_LIVE, "pk_test_a", "sk_test_b", ""), "caurisflux.base_url"),
            (scalapay("test", SP_LIVE, SP_PUBLIC_TEST_KEY, ""), "scalapay.base_url"),
            (scalapay("test", SP_LIVE, "sp_key", ""), "scalapay.base_url"),
        ] {
            let e = refused(&[sections], setting);
            assert!(matches!(e, ConfigError::TestOnLiveHost { .. }), "{e:?}");
        }
    }

    #[test]
    fn only_a_test_verifier_may_poll_below_the_providers_floor() {
        let fast = |sections: &[String]| {
            let text = format!("{BASE}ignore_provider_poll_floor = true\n{}", sections.concat());
            toml::from_str::<Settings>(&text).unwrap_or_else(|e| panic!("{e}\n{text}")).validate()
        };
        assert_eq!(fast(&[novasend("test", "http://127.0.0.1:8091", "")]), Ok(Mode::Test));
        let e = fast(&[novasend("live", "https://business.novasend.app", "")]).unwrap_err();
        assert_eq!(e, ConfigError::PollFloorIgnoredLive);
        assert!(e.to_string().contains("reconcile.ignore_provider_poll_floor"), "{e}");
    }

    #[test]
    fn test_and_live_providers_do_not_mix() {
        let e = validate(&[
            novasend("test", "http://127.0.0.1:8091", ""),
            caurisflux("live", CF_LIVE, "pk_live_a", "sk_live_b", ""),
            scalapay("test", SP_TEST, SP_PUBLIC_TEST_KEY, ""),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::MixedModes { test: vec!["novasend", "scalapay"], live: vec!["caurisflux"] }
        );
        assert_eq!(
            e.to_string(),
            "test and live providers cannot mix in one verifier: test: novasend, scalapay; live: caurisflux. \
             Set every provider's mode alike, or run one verifier per mode"
        );
    }

    #[tokio::test]
    async fn the_verifier_refuses_to_start_with_a_refused_configuration() {
        let mixed = settings(&[
            novasend("live", "https://business.novasend.app", ""),
            mypvit("test", "https://api.mypvit.pro", ""),
        ]);
        let e = crate::startup::Application::build(mixed).await.expect_err("refused");
        assert!(format!("{e:#}").contains("live: novasend"), "{e:#}");
        let test_keys_live = settings(&[caurisflux("live", CF_LIVE, "pk_test_a", "sk_test_b", "")]);
        let e = crate::startup::Application::build(test_keys_live).await.expect_err("refused");
        assert!(format!("{e:#}").contains("caurisflux.public_key"), "{e:#}");
        let fine = settings(&[caurisflux("test", CF_TEST, "pk_test_a", "sk_test_b", "")]);
        assert!(crate::startup::Application::build(fine).await.is_ok());
    }

    fn with_merchant_key(key: &str, sections: &[String]) -> Result<Mode, ConfigError> {
        let mut s = settings(sections);
        s.merchant.secret_key = Some(key.to_owned().into());
        s.validate()
    }

    #[test]
    fn a_weak_or_other_mode_merchant_key_refuses_to_start() {
        let test = [novasend("test", "https://sandbox.novasend.app", "")];
        let live = [novasend("live", "https://business.novasend.app", "")];
        assert_eq!(with_merchant_key("mk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh", &test), Ok(Mode::Test));
        assert_eq!(with_merchant_key("mk_live_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh", &live), Ok(Mode::Live));
        for (key, sections, problem) in [
            ("", &test, crate::merchant_keys::KeyProblem::Empty),
            ("mk_test_0123456789", &test, crate::merchant_keys::KeyProblem::Weak),
            (
                "sk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh",
                &test,
                crate::merchant_keys::KeyProblem::NoPrefix { expected: "mk_test_" },
            ),
            (
                "mk_live_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh",
                &test,
                crate::merchant_keys::KeyProblem::OtherMode { key: Mode::Live, mode: Mode::Test },
            ),
            (
                "mk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh",
                &live,
                crate::merchant_keys::KeyProblem::OtherMode { key: Mode::Test, mode: Mode::Live },
            ),
        ] {
            let e = with_merchant_key(key, sections).expect_err(key);
            assert_eq!(e, ConfigError::MerchantKey { setting: "merchant.secret_key", problem }, "{key}");
            assert!(e.to_string().contains("merchant.secret_key"), "{e}");
            assert!(key.is_empty() || !e.to_string().contains(key), "the key is not in the message: {e}");
        }
        // No configured key: keys made by `verifier keys create` only.
        assert_eq!(settings(&test).validate(), Ok(Mode::Test));
    }
}

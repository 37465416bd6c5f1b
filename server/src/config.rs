//! Typed configuration, read from a TOML file, with secrets typed as secrets.
//!
//! Secret values may also come from the environment (`VERIFIER_DATABASE_URL`,
//! `VERIFIER_MERCHANT_SECRET_KEY`,
//! `VERIFIER_NOVASEND_API_KEY`, `VERIFIER_NOVASEND_API_CLIENT`,
//! `VERIFIER_NOVASEND_WEBHOOK_SECRET`, `VERIFIER_CAURISFLUX_PUBLIC_KEY`,
//! `VERIFIER_CAURISFLUX_SECRET_KEY`, `VERIFIER_CAURISFLUX_WEBHOOK_SECRET`, `VERIFIER_SCALAPAY_API_KEY`,
//! `VERIFIER_MERCHANT_WEBHOOK_URL`, `VERIFIER_MERCHANT_WEBHOOK_SECRET`, and during a rotation
//! `VERIFIER_NOVASEND_WEBHOOK_SECRET_PREVIOUS`, `VERIFIER_CAURISFLUX_WEBHOOK_SECRET_PREVIOUS`,
//! `VERIFIER_SCALAPAY_WEBHOOK_SECRET_PREVIOUS`),
//! which override the file: keys then need not be written
//! to disk. There is no `Default`: every deployment states its configuration.
//!
//! Every provider section states its `mode` (`"test"` or `"live"`); [`Settings::validate`]
//! (in [`modes`]) refuses a configuration that mixes them and gives the verifier its mode.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::phone::Country;

mod http;
mod limits;
mod modes;
mod report;
mod retention;

pub use http::{HttpSettings, NotAnOrigin, Origin, PublicApiSettings};
pub use limits::{LimitSettings, Rate};
pub use modes::{ConfigError, Deployment, KeyForm, Mode};
pub use report::{ConfigReport, ConfiguredProvider, ProviderReport, WebhookSecret, without_secrets};
pub use retention::RetentionSettings;

/// Everything the verifier needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the HTTP API listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How browsers and providers reach this verifier, e.g. `https://pay.example.com`;
    /// defaults to `http://` and the bound address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// `sqlite://path/to/file.db` (created when missing) or `sqlite::memory:`, or
    /// `postgres://user:password@host:port/db` for PostgreSQL (several instances on one
    /// database); `VERIFIER_DATABASE_URL` overrides it (a URL with a password stays out of the
    /// file).
    pub database_url: String,
    /// The directory holding the widget's built assets, served at `/widget/`.
    pub widget_dir: PathBuf,
    /// The merchant this verifier serves.
    pub merchant: MerchantSettings,
    /// Checkout defaults.
    pub checkout: CheckoutSettings,
    /// Status polling of pending attempts.
    pub reconcile: ReconcileSettings,
    /// NovaSend credentials and endpoint; absent means NovaSend is not offered.
    #[serde(default)]
    pub novasend: Option<NovaSendSettings>,
    /// CaurisFlux keys and endpoint; absent means CaurisFlux is not offered.
    #[serde(default)]
    pub caurisflux: Option<crate::providers::caurisflux::Settings>,
    /// Scalapay's key, endpoint and capture policy; absent means Scalapay is not offered.
    #[serde(default)]
    pub scalapay: Option<crate::providers::scalapay::Settings>,
    /// MyPVit account, codes and keys; absent means MyPVit is not offered.
    #[serde(default)]
    pub mypvit: Option<crate::providers::mypvit::Settings>,
    /// Where the merchant receives events (Standard Webhooks); absent means events are only
    /// recorded (and listed, and delivered once this is configured).
    #[serde(default)]
    pub merchant_webhooks: Option<MerchantWebhookSettings>,
    /// `[http]`: the server's timeouts and connection and request caps.
    #[serde(default)]
    pub http: HttpSettings,
    /// `[public_api]`: the shop origins allowed to call the public API, and its SSE caps.
    #[serde(default)]
    pub public_api: PublicApiSettings,
    /// Rate limits, payment limits and trusted proxies ([`LimitSettings`]); production
    /// defaults when absent.
    #[serde(default)]
    pub limits: LimitSettings,
    /// How long refused-notification samples, raw notification bodies and idempotency keys
    /// are kept (`[retention]`; defaults when absent).
    #[serde(default)]
    pub retention: RetentionSettings,
    /// `[routing]`: the merchant's preference and weights per method and country, and the
    /// providers' cool-down ([`crate::routing`]; the first configured provider otherwise).
    #[serde(default)]
    pub routing: crate::routing::RoutingSettings,
    /// `[metrics]`: where Prometheus scrapes `/metrics` (off when absent).
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// `[metrics]`: the Prometheus endpoint. `/metrics` is never served on the public listener:
/// only on this address of its own, which should be a private one (loopback, or the network
/// Prometheus scrapes from).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `GET /metrics` is served, e.g. `127.0.0.1:9464` (`:0` picks a free port); no
    /// metrics endpoint when absent.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// The merchant's webhook endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantWebhookSettings {
    /// The URL events are POSTed to.
    pub url: String,
    /// The Standard Webhooks signing secret: `whsec_` and base64 of 24 to 64 random bytes.
    pub secret: SecretString,
    /// One send's timeout.
    #[serde(default = "default_webhook_timeout_ms")]
    pub timeout_ms: u64,
    /// Delays before each retry after the first send; when spent the delivery is failed.
    /// Defaults to [`crate::outbox::DEFAULT_RETRY_DELAYS_MS`] (about a day in all).
    #[serde(default = "default_retry_delays_ms")]
    pub retry_delays_ms: Vec<u64>,
}

fn default_webhook_timeout_ms() -> u64 {
    10_000
}

fn default_retry_delays_ms() -> Vec<u64> {
    crate::outbox::DEFAULT_RETRY_DELAYS_MS.to_vec()
}

impl MerchantWebhookSettings {
    /// The endpoint as the dispatcher needs it; a malformed URL or secret is refused with
    /// the reason (never the secret).
    pub fn endpoint(&self) -> anyhow::Result<crate::outbox::Endpoint> {
        use secrecy::ExposeSecret;
        let url = reqwest::Url::parse(&self.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .with_context(|| format!("merchant_webhooks.url is not an http(s) URL: {:?}", self.url))?;
        let secret = crate::outbox::WebhookSecret::parse(self.secret.expose_secret())
            .context("invalid merchant_webhooks.secret")?;
        Ok(crate::outbox::Endpoint {
            url,
            secret,
            timeout: Duration::from_millis(self.timeout_ms),
            retry_delays: self.retry_delays_ms.iter().map(|&ms| Duration::from_millis(ms)).collect(),
        })
    }
}

/// The merchant's identity and API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    /// Shown to customers above the amount.
    pub name: String,
    /// A key the merchant's backend may present as `Authorization: Bearer …`: `mk_test_…` in
    /// test mode, `mk_live_…` in live mode, at least 32 base62 characters after the prefix
    /// (checked at start, [`crate::merchant_keys::check`]). Optional: keys made by
    /// `verifier keys create` (stored hashed) are accepted beside it.
    #[serde(default)]
    pub secret_key: Option<SecretString>,
}

/// Checkout defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSettings {
    /// The country of checkouts created without one.
    pub default_country: Country,
    /// How long a checkout accepts new attempts.
    pub ttl_seconds: u64,
}

/// Polling of attempts whose provider has not said its last word.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSettings {
    /// Time before the first status fetch of an attempt, and the shortest gap between two.
    /// Against a real provider the gap never goes below what that provider accepts (NovaSend
    /// asks for one call every 5 to 10 s at most); the gap then grows by half at each fetch.
    pub poll_interval_ms: u64,
    /// The longest gap between two fetches; each provider's own when absent (1 to 5 min).
    #[serde(default)]
    pub max_poll_interval_ms: Option<u64>,
    /// For tests against a sandbox only: polls as often as `poll_interval_ms` says, below the
    /// gap each provider asks for.
    #[serde(default)]
    pub ignore_provider_poll_floor: bool,
}

/// NovaSend's endpoint and keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NovaSendSettings {
    /// `test` or `live`: live requires [`NOVASEND_LIVE_URL`] (see [`Settings::validate`]).
    pub mode: Mode,
    /// Live mode only: accept a `base_url` other than NovaSend's own (a merchant's egress proxy).
    #[serde(default)]
    pub allow_custom_host: bool,
    /// `https://business.novasend.app` in production.
    pub base_url: String,
    /// The API key (Basic auth user).
    pub api_key: SecretString,
    /// The API client secret (Basic auth password).
    pub api_client: SecretString,
    /// The secret chosen in NovaSend's portal for webhook signatures.
    pub webhook_secret: SecretString,
    /// During a rotation: the secret used before `webhook_secret`, still accepted until
    /// `webhook_secret_previous_until` ([`crate::providers::rotation`]).
    #[serde(default)]
    pub webhook_secret_previous: Option<SecretString>,
    /// When the previous secret stops being accepted (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub webhook_secret_previous_until: Option<time::OffsetDateTime>,
    /// The merchant's account or sub-account id, sent as `accountId` when set.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Request timeout; NovaSend recommends 30 s at most.
    pub timeout_ms: u64,
}

/// NovaSend's live API (<https://docs.novasend.app/>: "Base URL").
pub const NOVASEND_LIVE_URL: &str = "https://business.novasend.app";
/// NovaSend's sandbox host. Not on NovaSend's public pages: reported by an integrator's adapter
/// (<https://github.com/kalynux/jovi-mall>, `config/payments.config.ts`).
pub const NOVASEND_TEST_HOST: &str = "sandbox.novasend.app";

impl NovaSendSettings {
    /// What [`Settings::validate`] checks. NovaSend's API key and client secret carry no
    /// documented test or live form (the `bui_sandbox_`/`bui_prod_` tokens belong to the retired
    /// v1.0 API, <https://github.com/buicorporation/doc-novasend>), so the host decides.
    pub fn deployment(&self) -> Deployment<'_> {
        Deployment {
            section: "novasend",
            name: "NovaSend",
            mode: self.mode,
            allow_custom_host: self.allow_custom_host,
            base_url: &self.base_url,
            live_url: NOVASEND_LIVE_URL,
            test_host: Some(NOVASEND_TEST_HOST),
            keys: vec![],
        }
    }
}

impl Settings {
    /// Reads a TOML file, then applies secret overrides from the environment.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path).context("failed to read the file")?;
        let mut settings: Settings = toml::from_str(&text).context("invalid configuration")?;
        settings.apply_env(|name| std::env::var(name).ok());
        Ok(settings)
    }

    /// Applies the `VERIFIER_…` secret overrides found by `lookup`.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        if let Some(v) = lookup("VERIFIER_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = lookup("VERIFIER_MERCHANT_SECRET_KEY") {
            self.merchant.secret_key = Some(v.into());
        }
        if let Some(ns) = self.novasend.as_mut() {
            if let Some(v) = lookup("VERIFIER_NOVASEND_API_KEY") {
                ns.api_key = v.into();
            }
            if let Some(v) = lookup("VERIFIER_NOVASEND_API_CLIENT") {
                ns.api_client = v.into();
            }
            if let Some(v) = lookup("VERIFIER_NOVASEND_WEBHOOK_SECRET") {
                ns.webhook_secret = v.into();
            }
            if let Some(v) = lookup("VERIFIER_NOVASEND_WEBHOOK_SECRET_PREVIOUS") {
                ns.webhook_secret_previous = Some(v.into());
            }
        }
        if let Some(cf) = self.caurisflux.as_mut() {
            if let Some(v) = lookup("VERIFIER_CAURISFLUX_PUBLIC_KEY") {
                cf.public_key = v;
            }
            if let Some(v) = lookup("VERIFIER_CAURISFLUX_SECRET_KEY") {
                cf.secret_key = v.into();
            }
            if let Some(v) = lookup("VERIFIER_CAURISFLUX_WEBHOOK_SECRET") {
                cf.webhook_secret = v.into();
            }
            if let Some(v) = lookup("VERIFIER_CAURISFLUX_WEBHOOK_SECRET_PREVIOUS") {
                cf.webhook_secret_previous = Some(v.into());
            }
        }
        if let Some(sp) = self.scalapay.as_mut() {
            if let Some(v) = lookup("VERIFIER_SCALAPAY_API_KEY") {
                sp.api_key = v.into();
            }
            if let Some(v) = lookup("VERIFIER_SCALAPAY_WEBHOOK_SECRET_PREVIOUS") {
                sp.webhook_secret_previous = Some(v.into());
            }
        }
        // The merchant's webhook endpoint: both variables create the section when the file has none.
        let hook_url = lookup("VERIFIER_MERCHANT_WEBHOOK_URL");
        let hook_secret = lookup("VERIFIER_MERCHANT_WEBHOOK_SECRET");
        match (self.merchant_webhooks.as_mut(), hook_url, hook_secret) {
            (Some(hooks), url, secret) => {
                if let Some(url) = url {
                    hooks.url = url;
                }
                if let Some(secret) = secret {
                    hooks.secret = secret.into();
                }
            }
            (None, Some(url), Some(secret)) => {
                self.merchant_webhooks = Some(MerchantWebhookSettings {
                    url,
                    secret: secret.into(),
                    timeout_ms: default_webhook_timeout_ms(),
                    retry_delays_ms: default_retry_delays_ms(),
                });
            }
            (None, _, _) => {}
        }
        // MyPVit: `VERIFIER_MYPVIT_PASSWORD` (renew-secret) and `VERIFIER_MYPVIT_WEBHOOK_TOKEN`
        // (the secret path of callbacks and keys).
        if let Some(mp) = self.mypvit.as_mut() {
            if let Some(v) = lookup("VERIFIER_MYPVIT_PASSWORD") {
                mp.password = v.into();
            }
            if let Some(v) = lookup("VERIFIER_MYPVIT_WEBHOOK_TOKEN") {
                mp.webhook_token = v.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const SAMPLE: &str = r#"
listen = "127.0.0.1:0"
database_url = "sqlite::memory:"
widget_dir = "target/widget"
[merchant]
name = "Boutique"
secret_key = "mk_live_fileFileFileFileFileFileFileFile"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
[novasend]
mode = "live"
base_url = "https://business.novasend.app"
api_key = "k"
api_client = "c"
webhook_secret = "w"
timeout_ms = 30000
"#;

    #[test]
    fn file_then_environment() {
        let mut s: Settings = toml::from_str(SAMPLE).unwrap();
        s.apply_env(|n| (n == "VERIFIER_MERCHANT_SECRET_KEY").then(|| "mk_env".to_owned()));
        assert_eq!(s.merchant.secret_key.as_ref().map(|k| k.expose_secret()), Some("mk_env"));
        assert_eq!(s.checkout.default_country, Country::Ci);
        assert_eq!(s.novasend.unwrap().api_key.expose_secret(), "k");
    }

    #[test]
    fn the_database_url_from_the_environment_replaces_the_files() {
        let mut s: Settings = toml::from_str(SAMPLE).unwrap();
        s.apply_env(|_| None);
        assert_eq!(s.database_url, "sqlite::memory:");
        let pg = "postgres://verifier:pw@db:5432/shop";
        s.apply_env(|n| (n == "VERIFIER_DATABASE_URL").then(|| pg.to_owned()));
        assert_eq!(s.database_url, pg);
        assert_eq!(crate::store::Backend::of(&s.database_url).unwrap(), crate::store::Backend::Postgres);
    }

    #[test]
    fn a_previous_webhook_secret_from_the_environment_with_its_deadline_from_the_file() {
        let text = format!(
            "{}webhook_secret_previous_until = \"2026-12-08T12:00:00Z\"\n",
            SAMPLE.trim_end().to_owned() + "\n"
        );
        let mut s: Settings = toml::from_str(&text).unwrap();
        s.apply_env(|n| (n == "VERIFIER_NOVASEND_WEBHOOK_SECRET_PREVIOUS").then(|| "w_old".to_owned()));
        let ns = s.novasend.unwrap();
        assert_eq!(ns.webhook_secret_previous.as_ref().map(|k| k.expose_secret()), Some("w_old"));
        assert_eq!(ns.webhook_secret_previous_until, Some(time::macros::datetime!(2026-12-08 12:00 UTC)));
        assert!(!format!("{ns:?}").contains("w_old"));
        let bad =
            format!("{}webhook_secret_previous_until = \"tomorrow\"\n", SAMPLE.trim_end().to_owned() + "\n");
        assert!(toml::from_str::<Settings>(&bad).is_err(), "RFC 3339 only");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s: Settings = toml::from_str(SAMPLE).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("mk_live_file"), "{printed}");
        assert!(!printed.contains("\"w\""));
    }

    #[test]
    fn caurisflux_keys_from_the_environment() {
        let text = format!(
            "{SAMPLE}[caurisflux]\nmode = \"test\"\nbase_url = \"https://sandbox-api.caurisflux.com/api/v1\"\n\
             public_key = \"pk_test_file\"\nsecret_key = \"sk_test_file\"\nwebhook_secret = \"wf\"\n\
             timeout_ms = 30000\n"
        );
        let mut s: Settings = toml::from_str(&text).unwrap();
        s.apply_env(|n| match n {
            "VERIFIER_CAURISFLUX_SECRET_KEY" => Some("sk_test_env".to_owned()),
            "VERIFIER_CAURISFLUX_WEBHOOK_SECRET" => Some("we".to_owned()),
            _ => None,
        });
        let cf = s.caurisflux.unwrap();
        assert_eq!(cf.public_key, "pk_test_file");
        assert_eq!(cf.secret_key.expose_secret(), "sk_test_env");
        assert_eq!(cf.webhook_secret.expose_secret(), "we");
        assert!(!format!("{cf:?}").contains("sk_test_env"));
    }

    #[test]
    fn caurisflux_rate_limits_default_to_the_documented_ones_and_are_never_zero() {
        let section = "[caurisflux]\nmode = \"test\"\nbase_url = \"https://sandbox-api.caurisflux.com/api/v1\"\n\
             public_key = \"pk_test_a\"\nsecret_key = \"sk_test_b\"\nwebhook_secret = \"w\"\ntimeout_ms = 30000\n";
        // https://docs.caurisflux.com/guides/errors: 100 requests a minute, 1 000 an hour.
        let cf = toml::from_str::<Settings>(&format!("{SAMPLE}{section}")).unwrap().caurisflux.unwrap();
        assert_eq!((cf.rate_per_minute.get(), cf.rate_per_hour.get()), (100, 1000));
        let raised = format!("{SAMPLE}{section}rate_per_minute = 300\nrate_per_hour = 5000\n");
        let cf = toml::from_str::<Settings>(&raised).unwrap().caurisflux.unwrap();
        assert_eq!((cf.rate_per_minute.get(), cf.rate_per_hour.get()), (300, 5000));
        for zero in ["rate_per_minute = 0\n", "rate_per_hour = 0\n", "rate_per_hour = -5\n"] {
            let err = toml::from_str::<Settings>(&format!("{SAMPLE}{section}{zero}")).unwrap_err();
            assert!(err.to_string().contains("rate_per_"), "{zero}: {err}");
        }
    }

    #[test]
    fn merchant_webhooks_from_file_and_environment() {
        let text = format!(
            "{SAMPLE}[merchant_webhooks]\nurl = \"https://shop.example/hooks\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
        );
        let mut s: Settings = toml::from_str(&text).unwrap();
        let hooks = s.merchant_webhooks.clone().unwrap();
        assert_eq!(hooks.retry_delays_ms.len(), 7);
        assert!(hooks.endpoint().is_ok());
        assert!(!format!("{s:?}").contains("MfKQ9r8"));
        s.apply_env(|n| (n == "VERIFIER_MERCHANT_WEBHOOK_SECRET").then(|| "not-a-secret".to_owned()));
        let err = s.merchant_webhooks.unwrap().endpoint().unwrap_err();
        assert!(format!("{err:#}").contains("whsec_"), "{err:#}");

        let mut bare: Settings = toml::from_str(SAMPLE).unwrap();
        bare.apply_env(|n| match n {
            "VERIFIER_MERCHANT_WEBHOOK_URL" => Some("http://127.0.0.1:9/h".to_owned()),
            "VERIFIER_MERCHANT_WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
            _ => None,
        });
        assert_eq!(bare.merchant_webhooks.unwrap().url, "http://127.0.0.1:9/h");
    }

    #[test]
    fn typos_are_refused() {
        let bad = SAMPLE.replace("ttl_seconds", "ttl_secs");
        assert!(toml::from_str::<Settings>(&bad).is_err());
    }
}

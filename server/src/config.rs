//! Typed configuration, read from a TOML file under the environment (figment's layers,
//! [`Settings::figment`]: any setting as `VERIFIER_<SECTION>__<KEY>`), with secrets typed as
//! secrets.
//!
//! Secret values may also come from the environment by name (`VERIFIER_DATABASE_URL`,
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
    /// `[log]`: how log lines are written (`format = "text"` or `"json"`).
    #[serde(default)]
    pub log: LogSettings,
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` (the default) or `json` (one object per line, with the spans' fields: the
    /// route, and on the payment path the checkout and attempt ids); `VERIFIER_LOG_FORMAT`.
    #[serde(default)]
    pub format: crate::telemetry::LogFormat,
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
    /// How long NovaSend waits for the customer to confirm a payment, in seconds, if you know
    /// it for your account: the widget counts down to it while waiting. NovaSend documents the
    /// `expired` state ("Délai de confirmation dépassé (timeout)",
    /// <https://docs.novasend.app/api-direct/payment>) but not its length, so it is unset by
    /// default and the widget counts down to the checkout's deadline.
    #[serde(default)]
    pub confirmation_window_s: Option<u64>,
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

/// The environment variables that set a setting by name (the forms the README documents, from
/// before nested keys): each is read as text, never as a number. A provider's applies only when
/// its section is configured (in the file or by nested keys); the merchant webhook's two make
/// their section together.
const NAMED_ENV: &[(&str, &str)] = &[
    ("VERIFIER_DATABASE_URL", "database_url"),
    ("VERIFIER_MERCHANT_SECRET_KEY", "merchant.secret_key"),
    ("VERIFIER_NOVASEND_API_KEY", "novasend.api_key"),
    ("VERIFIER_NOVASEND_API_CLIENT", "novasend.api_client"),
    ("VERIFIER_NOVASEND_WEBHOOK_SECRET", "novasend.webhook_secret"),
    ("VERIFIER_NOVASEND_WEBHOOK_SECRET_PREVIOUS", "novasend.webhook_secret_previous"),
    ("VERIFIER_CAURISFLUX_PUBLIC_KEY", "caurisflux.public_key"),
    ("VERIFIER_CAURISFLUX_SECRET_KEY", "caurisflux.secret_key"),
    ("VERIFIER_CAURISFLUX_WEBHOOK_SECRET", "caurisflux.webhook_secret"),
    ("VERIFIER_CAURISFLUX_WEBHOOK_SECRET_PREVIOUS", "caurisflux.webhook_secret_previous"),
    ("VERIFIER_SCALAPAY_API_KEY", "scalapay.api_key"),
    ("VERIFIER_SCALAPAY_WEBHOOK_SECRET_PREVIOUS", "scalapay.webhook_secret_previous"),
    ("VERIFIER_MYPVIT_PASSWORD", "mypvit.password"),
    ("VERIFIER_MYPVIT_WEBHOOK_TOKEN", "mypvit.webhook_token"),
    ("VERIFIER_MERCHANT_WEBHOOK_URL", "merchant_webhooks.url"),
    ("VERIFIER_MERCHANT_WEBHOOK_SECRET", "merchant_webhooks.secret"),
    ("VERIFIER_LOG_FORMAT", "log.format"),
];

/// The prefix of every variable the configuration reads.
const ENV_PREFIX: &str = "VERIFIER_";

impl Settings {
    /// Reads a TOML file under the process's `VERIFIER_…` variables ([`Settings::figment`]).
    pub fn load(path: &std::path::Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path).context("failed to read the file")?;
        Settings::from_layers(&text, std::env::vars())
    }

    /// The settings of `toml` under the environment `vars` ([`Settings::figment`]).
    pub fn from_layers<K, V>(toml: &str, vars: impl IntoIterator<Item = (K, V)>) -> anyhow::Result<Settings>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: Vec<(String, String)> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Settings::figment(toml, &vars).extract().context("invalid configuration")
    }

    /// The configuration's layers, each over the one before (figment,
    /// <https://docs.rs/figment/0.10>): the TOML file; then nested keys, as figment's `Env`
    /// provider reads them (`VERIFIER_<SECTION>__<KEY>`, lowercased, `__` nesting, the value
    /// read as a TOML value: `VERIFIER_HTTP__MAX_CONNECTIONS=20000`,
    /// `VERIFIER_PUBLIC_API__ALLOWED_ORIGINS='["https://shop.example"]'`; a variable without
    /// `__`, like the demo's `VERIFIER_PORT`, is no setting); then the named variables of
    /// [`NAMED_ENV`], as text. From `vars` rather than the process's environment, so that a
    /// test's settings are its own.
    pub fn figment(toml: &str, vars: &[(String, String)]) -> figment::Figment {
        use figment::providers::{Format, Serialized, Toml};
        let lookup = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let mut nested = figment::Figment::from(Toml::string(toml));
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX).filter(|k| k.contains("__")) else { continue };
            let path = key.to_ascii_lowercase().replace("__", ".");
            let value: figment::value::Value = match value.parse() {
                Ok(value) => value,
                Err(never) => match never {},
            };
            nested = nested.merge(Serialized::default(&path, value));
        }
        let both_hook_settings = lookup("VERIFIER_MERCHANT_WEBHOOK_URL").is_some()
            && lookup("VERIFIER_MERCHANT_WEBHOOK_SECRET").is_some();
        let mut layered = nested.clone();
        for (name, path) in NAMED_ENV {
            let Some(value) = lookup(name) else { continue };
            let applies = match path.split_once('.').map(|(section, _)| section) {
                // Top-level, or a section that is always there (or wholly defaulted).
                None | Some("merchant" | "log") => true,
                Some("merchant_webhooks") => both_hook_settings || nested.contains("merchant_webhooks"),
                Some(section) => nested.contains(section),
            };
            if applies {
                layered = layered.merge(Serialized::default(path, value));
            }
        }
        layered
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
        let s = Settings::from_layers(SAMPLE, [("VERIFIER_MERCHANT_SECRET_KEY", "mk_env")]).unwrap();
        assert_eq!(s.merchant.secret_key.as_ref().map(|k| k.expose_secret()), Some("mk_env"));
        assert_eq!(s.checkout.default_country, Country::Ci);
        assert_eq!(s.novasend.unwrap().api_key.expose_secret(), "k");
    }

    #[test]
    fn the_database_url_from_the_environment_replaces_the_files() {
        let s = Settings::from_layers(SAMPLE, NO_ENV).unwrap();
        assert_eq!(s.database_url, "sqlite::memory:");
        let pg = "postgres://verifier:pw@db:5432/shop";
        let s = Settings::from_layers(SAMPLE, [("VERIFIER_DATABASE_URL", pg)]).unwrap();
        assert_eq!(s.database_url, pg);
        assert_eq!(crate::store::Backend::of(&s.database_url).unwrap(), crate::store::Backend::Postgres);
    }

    #[test]
    fn a_previous_webhook_secret_from_the_environment_with_its_deadline_from_the_file() {
        let text = format!(
            "{}webhook_secret_previous_until = \"2026-12-08T12:00:00Z\"\n",
            SAMPLE.trim_end().to_owned() + "\n"
        );
        let s =
            Settings::from_layers(&text, [("VERIFIER_NOVASEND_WEBHOOK_SECRET_PREVIOUS", "w_old")]).unwrap();
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
        let s = Settings::from_layers(
            &text,
            [("VERIFIER_CAURISFLUX_SECRET_KEY", "sk_test_env"), ("VERIFIER_CAURISFLUX_WEBHOOK_SECRET", "we")],
        )
        .unwrap();
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
        let s: Settings = toml::from_str(&text).unwrap();
        let hooks = s.merchant_webhooks.clone().unwrap();
        assert_eq!(hooks.retry_delays_ms.len(), 7);
        assert!(hooks.endpoint().is_ok());
        assert!(!format!("{s:?}").contains("MfKQ9r8"));
        let s = Settings::from_layers(&text, [("VERIFIER_MERCHANT_WEBHOOK_SECRET", "not-a-secret")]).unwrap();
        let err = s.merchant_webhooks.unwrap().endpoint().unwrap_err();
        assert!(format!("{err:#}").contains("whsec_"), "{err:#}");

        let bare = Settings::from_layers(
            SAMPLE,
            [
                ("VERIFIER_MERCHANT_WEBHOOK_URL", "http://127.0.0.1:9/h"),
                ("VERIFIER_MERCHANT_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ],
        )
        .unwrap();
        let hooks = bare.merchant_webhooks.unwrap();
        assert_eq!(hooks.url, "http://127.0.0.1:9/h");
        assert_eq!(hooks.timeout_ms, 10_000, "the section's defaults");
        // One of the two alone makes no section.
        let half = Settings::from_layers(SAMPLE, [("VERIFIER_MERCHANT_WEBHOOK_URL", "http://127.0.0.1:9/h")])
            .unwrap();
        assert!(half.merchant_webhooks.is_none());
    }

    /// No environment.
    const NO_ENV: [(&str, &str); 0] = [];

    #[test]
    fn a_provider_variable_applies_only_to_a_configured_provider_and_is_read_as_text() {
        // No [caurisflux] section: its key alone does not make one (nor an error).
        let s = Settings::from_layers(SAMPLE, [("VERIFIER_CAURISFLUX_SECRET_KEY", "sk")]).unwrap();
        assert!(s.caurisflux.is_none());
        // A secret of digits stays text.
        let s = Settings::from_layers(SAMPLE, [("VERIFIER_NOVASEND_API_KEY", "0012345")]).unwrap();
        assert_eq!(s.novasend.unwrap().api_key.expose_secret(), "0012345");
        let s = Settings::from_layers(SAMPLE, [("VERIFIER_LOG_FORMAT", "json")]).unwrap();
        assert_eq!(s.log.format, crate::telemetry::LogFormat::Json);
        let bad = Settings::from_layers(SAMPLE, [("VERIFIER_LOG_FORMAT", "xml")]);
        assert!(format!("{:#}", bad.unwrap_err()).contains("xml"));
    }

    #[test]
    fn nested_keys_are_read_as_values_over_the_file_and_named_variables_win() {
        let env = [
            ("VERIFIER_HTTP__MAX_CONNECTIONS", "20000"),
            ("VERIFIER_RECONCILE__POLL_INTERVAL_MS", "7000"),
            ("VERIFIER_PUBLIC_API__ALLOWED_ORIGINS", r#"["https://shop.example"]"#),
            ("VERIFIER_METRICS__LISTEN", "127.0.0.1:9464"),
            ("VERIFIER_MERCHANT__NAME", "Boutique Env"),
            // No setting (no `__`): left alone, as the demo's and the kill tests' are.
            ("VERIFIER_PORT", "8080"),
            ("VERIFIER_CRASH_AT", "pay.attempt_stored"),
            ("OTHER__HTTP__MAX_CONNECTIONS", "1"),
        ];
        let s = Settings::from_layers(SAMPLE, env).unwrap();
        assert_eq!(s.http.max_connections.get(), 20_000);
        assert_eq!(s.reconcile.poll_interval_ms, 7000);
        assert_eq!(s.public_api.allowed_origins.len(), 1);
        assert_eq!(s.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(s.merchant.name, "Boutique Env");
        // A named variable wins over the nested key of the same setting.
        let s = Settings::from_layers(
            SAMPLE,
            [("VERIFIER_MERCHANT__SECRET_KEY", "mk_nested"), ("VERIFIER_MERCHANT_SECRET_KEY", "mk_named")],
        )
        .unwrap();
        assert_eq!(s.merchant.secret_key.unwrap().expose_secret(), "mk_named");
        let err = Settings::from_layers(SAMPLE, [("VERIFIER_HTTP__NO_SUCH_SETTING", "1")]).unwrap_err();
        assert!(format!("{err:#}").contains("no_such_setting"), "{err:#}");
    }

    #[test]
    fn typos_are_refused() {
        let bad = SAMPLE.replace("ttl_seconds", "ttl_secs");
        assert!(toml::from_str::<Settings>(&bad).is_err());
    }
}

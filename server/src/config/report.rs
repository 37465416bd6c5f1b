//! What `verifier check-config` prints: the checks a start makes before it opens anything
//! (modes, keys, hosts, the database URL's scheme, the merchant's webhook endpoint, the
//! metrics address), then what the configuration sets, with no secret: the database URL
//! without its password, each provider's mode and host, whether each webhook secret is set.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{Mode, Settings};
use crate::store::Backend;

/// A configuration that passed every check a start makes before opening the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigReport {
    /// The verifier's mode (from its providers').
    pub mode: Mode,
    /// Where the HTTP API listens.
    pub listen: std::net::SocketAddr,
    /// How browsers and providers reach it (`public_url`, else the listen address).
    pub public_url: String,
    /// The database's backend.
    pub backend: Backend,
    /// The database URL without its password (and without a query, which may carry one).
    pub database: String,
    /// Each provider, configured or not, in [`shared::method::Provider::ALL`]'s order.
    pub providers: Vec<ProviderReport>,
    /// The merchant's webhook endpoint (its URL without query), when one is configured.
    pub merchant_webhooks: Option<String>,
    /// Where `/metrics` is served, when it is.
    pub metrics: Option<std::net::SocketAddr>,
}

/// One provider's part of a [`ConfigReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    /// The configuration section, e.g. `novasend`.
    pub section: &'static str,
    /// The provider's name.
    pub name: &'static str,
    /// What the section says, when there is one.
    pub configured: Option<ConfiguredProvider>,
}

/// A configured provider's mode, host and webhook secret (whether it is set, never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredProvider {
    /// `test` or `live`.
    pub mode: Mode,
    /// The host of its `base_url`.
    pub host: String,
    /// What verifies its notifications, and whether it is set.
    pub webhook_secret: WebhookSecret,
}

/// What verifies a provider's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSecret {
    /// A secret of its own (`webhook_secret`): set (not empty) or not.
    Secret(bool),
    /// The API key signs them (Scalapay): set or not.
    ApiKey(bool),
    /// A secret path segment (MyPVit's `webhook_token`): set or not.
    PathToken(bool),
}

fn set(secret: &SecretString) -> bool {
    !secret.expose_secret().trim().is_empty()
}

/// The host of `url`, or what is wrong with it.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => format!("(no host in {url:?})"),
        },
        Err(_) => format!("(not a URL: {url:?})"),
    }
}

/// `url` without password and query: `postgres://verifier@db:5432/shop`.
pub fn without_secrets(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.has_host() => {
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        // `sqlite::memory:` and paths: no password to hide, but a query might hold one.
        _ => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
    }
}

impl Settings {
    /// Runs the checks a start makes before it opens anything ([`Settings::validate`], the
    /// database URL's scheme, the merchant's webhook endpoint) and says what the configuration
    /// sets.
    pub fn report(&self) -> anyhow::Result<ConfigReport> {
        let mode = self.validate()?;
        let backend = Backend::of(&self.database_url)?;
        let merchant_webhooks = match &self.merchant_webhooks {
            Some(hooks) => Some(without_secrets(hooks.endpoint()?.url.as_str())),
            None => None,
        };
        let deployments = self.deployments();
        let secret_of = |section: &str| match section {
            "novasend" => self.novasend.as_ref().map(|s| WebhookSecret::Secret(set(&s.webhook_secret))),
            "caurisflux" => self.caurisflux.as_ref().map(|s| WebhookSecret::Secret(set(&s.webhook_secret))),
            "scalapay" => self.scalapay.as_ref().map(|s| WebhookSecret::ApiKey(set(&s.api_key))),
            "mypvit" => self.mypvit.as_ref().map(|s| WebhookSecret::PathToken(set(&s.webhook_token))),
            _ => None,
        };
        let providers = [
            ("novasend", "NovaSend"),
            ("caurisflux", "CaurisFlux"),
            ("mypvit", "MyPVit"),
            ("scalapay", "Scalapay"),
        ]
        .into_iter()
        .map(|(section, name)| ProviderReport {
            section,
            name,
            configured: deployments.iter().find(|d| d.section == section).and_then(|d| {
                Some(ConfiguredProvider {
                    mode: d.mode,
                    host: host_of(d.base_url),
                    webhook_secret: secret_of(section)?,
                })
            }),
        })
        .collect();
        Ok(ConfigReport {
            mode,
            listen: self.listen,
            public_url: self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)),
            backend,
            database: without_secrets(&self.database_url),
            providers,
            merchant_webhooks,
            metrics: self.metrics.listen,
        })
    }
}

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes_no = |b: bool| if b { "set" } else { "NOT SET" };
        writeln!(f, "mode: {}", self.mode.as_str())?;
        writeln!(f, "listen: {} (public URL {})", self.listen, self.public_url)?;
        let backend = match self.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        };
        writeln!(f, "database: {backend}, {}", self.database)?;
        writeln!(f, "providers:")?;
        for p in &self.providers {
            match &p.configured {
                None => writeln!(f, "  {:<11} not configured", p.name)?,
                Some(c) => {
                    let secret = match c.webhook_secret {
                        WebhookSecret::Secret(s) => format!("webhook secret {}", yes_no(s)),
                        WebhookSecret::ApiKey(s) => {
                            format!("webhooks signed with the API key, {}", yes_no(s))
                        }
                        WebhookSecret::PathToken(s) => format!("webhook token {}", yes_no(s)),
                    };
                    writeln!(f, "  {:<11} {:<4} {}, {secret}", p.name, c.mode.as_str(), c.host)?;
                }
            }
        }
        match &self.merchant_webhooks {
            Some(url) => writeln!(f, "merchant webhooks: {url}")?,
            None => writeln!(f, "merchant webhooks: not configured (events are recorded, sent once one is)")?,
        }
        match self.metrics {
            Some(addr) => writeln!(f, "metrics: http://{addr}/metrics")?,
            None => writeln!(f, "metrics: off ([metrics] listen)")?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
listen = "127.0.0.1:8080"
database_url = "postgres://verifier:hunter2@db.internal:5432/shop?password=hunter3"
widget_dir = "target/widget"
[merchant]
name = "Boutique"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
[caurisflux]
mode = "test"
base_url = "https://sandbox-api.caurisflux.com/api/v1"
public_key = "pk_test_a"
secret_key = "sk_test_b"
webhook_secret = ""
timeout_ms = 30000
"#;

    #[test]
    fn the_report_names_every_provider_and_no_secret() {
        let settings: Settings = toml::from_str(BASE).unwrap();
        let report = settings.report().unwrap();
        assert_eq!(report.mode, Mode::Test);
        assert_eq!(report.backend, Backend::Postgres);
        let cf = report.providers.iter().find(|p| p.section == "caurisflux").unwrap();
        assert_eq!(
            cf.configured,
            Some(ConfiguredProvider {
                mode: Mode::Test,
                host: "sandbox-api.caurisflux.com".into(),
                webhook_secret: WebhookSecret::Secret(false),
            })
        );
        assert_eq!(report.providers.iter().filter(|p| p.configured.is_none()).count(), 3);
        let printed = report.to_string();
        assert!(printed.contains("postgres://verifier@db.internal:5432/shop"), "{printed}");
        assert!(
            printed.contains("CaurisFlux  test sandbox-api.caurisflux.com, webhook secret NOT SET"),
            "{printed}"
        );
        assert!(printed.contains("NovaSend    not configured"), "{printed}");
        for secret in ["hunter2", "hunter3", "sk_test_b"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn a_refused_configuration_says_why() {
        let live_keys = BASE.replace("pk_test_a", "pk_live_a");
        let settings: Settings = toml::from_str(&live_keys).unwrap();
        let err = settings.report().unwrap_err().to_string();
        assert!(err.contains("caurisflux.public_key"), "{err}");
        let mysql = BASE.replace("postgres://", "mysql://");
        let err = toml::from_str::<Settings>(&mysql).unwrap().report().unwrap_err().to_string();
        assert!(err.contains("sqlite://"), "{err}");
    }

    #[test]
    fn urls_lose_their_password_and_query() {
        assert_eq!(without_secrets("postgres://u:p@h:5432/d?sslpassword=x"), "postgres://u@h:5432/d");
        assert_eq!(without_secrets("sqlite:///var/lib/verifier/v.db"), "sqlite:///var/lib/verifier/v.db");
        assert_eq!(without_secrets("sqlite://data/v.db?mode=rwc"), "sqlite://data/v.db");
        assert_eq!(without_secrets("sqlite::memory:"), "sqlite::memory:");
    }
}

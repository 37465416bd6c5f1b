//! `[retention]`: how long the verifier keeps what it need not keep forever. Every field has a
//! default, so a configuration without the section keeps working.

use serde::Deserialize;

/// How long refused-notification samples, raw notification bodies and idempotency keys are
/// kept, and how many refused samples per provider.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Days a sample of a refused (unverifiable) notification is kept.
    pub refused_samples_days: u32,
    /// Samples of refused notifications kept per provider (the latest).
    pub refused_samples_per_provider: u32,
    /// Days the raw body of a processed notification is kept; then it is cleared and the row's
    /// facts (provider, state, what it reported, times) stay.
    pub notification_bodies_days: u32,
    /// Hours an idempotency key (and the response it replays) is kept.
    pub idempotency_keys_hours: u32,
    /// Seconds between two purges.
    pub purge_every_seconds: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            refused_samples_days: 30,
            refused_samples_per_provider: 100,
            notification_bodies_days: 30,
            idempotency_keys_hours: 48,
            purge_every_seconds: 3_600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_field_takes_its_default_and_an_unknown_one_is_refused() {
        let r: RetentionSettings = toml::from_str("notification_bodies_days = 7").unwrap();
        assert_eq!(r, RetentionSettings { notification_bodies_days: 7, ..RetentionSettings::default() });
        assert!(toml::from_str::<RetentionSettings>("bodies_days = 7").is_err());
    }
}

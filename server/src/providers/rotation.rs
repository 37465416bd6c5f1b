//! A provider's webhook secret during a rotation: the current secret, and the previous one
//! until a deadline, so that notifications signed with the old secret (sent before the
//! provider's dashboard was changed, or retried after) are still accepted for a while; after
//! the deadline only the current secret verifies.
//!
//! Settings, in each provider's section (NovaSend, CaurisFlux, Scalapay):
//! `webhook_secret_previous` and `webhook_secret_previous_until` (RFC 3339, e.g.
//! `"2026-12-08T12:00:00Z"`); one without the other is refused at start.

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// A previous secret given without its end, or an end without a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// A previous secret with no deadline would be accepted forever.
    #[error(
        "{section}.webhook_secret_previous needs {section}.webhook_secret_previous_until (RFC 3339, e.g. \"2026-12-08T12:00:00Z\"): the previous secret is accepted only until then"
    )]
    NoDeadline {
        /// The provider's section.
        section: &'static str,
    },
    /// A deadline without a previous secret: probably a typo in the setting's name.
    #[error("{section}.webhook_secret_previous_until is set but {section}.webhook_secret_previous is not")]
    NoPreviousSecret {
        /// The provider's section.
        section: &'static str,
    },
}

/// The secrets a provider's notifications may be signed with.
#[derive(Debug, Clone)]
pub struct WebhookSecrets {
    current: SecretString,
    previous: Option<(SecretString, OffsetDateTime)>,
}

impl WebhookSecrets {
    /// The current secret, and the previous one until `until`.
    pub fn new(
        section: &'static str,
        current: &SecretString,
        previous: Option<&SecretString>,
        until: Option<OffsetDateTime>,
    ) -> Result<WebhookSecrets, RotationError> {
        let previous = match (previous, until) {
            (None, None) => None,
            (Some(secret), Some(until)) => Some((secret.clone(), until)),
            (Some(_), None) => return Err(RotationError::NoDeadline { section }),
            (None, Some(_)) => return Err(RotationError::NoPreviousSecret { section }),
        };
        Ok(WebhookSecrets { current: current.clone(), previous })
    }

    /// Only `current`.
    pub fn only(current: &SecretString) -> WebhookSecrets {
        WebhookSecrets { current: current.clone(), previous: None }
    }

    /// Whether `verify` accepts one of the secrets valid at `now`: the current one, or the
    /// previous one before its deadline.
    pub fn any_at(&self, now: OffsetDateTime, verify: impl Fn(&str) -> bool) -> bool {
        verify(self.current.expose_secret())
            || self
                .previous
                .as_ref()
                .is_some_and(|(secret, until)| now < *until && verify(secret.expose_secret()))
    }

    /// [`Self::any_at`] now.
    pub fn any(&self, verify: impl Fn(&str) -> bool) -> bool {
        self.any_at(OffsetDateTime::now_utc(), verify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_previous_secret_holds_until_its_deadline_only() {
        let current = SecretString::from("new");
        let previous = SecretString::from("old");
        let until = datetime!(2026-12-08 12:00 UTC);
        let s = WebhookSecrets::new("novasend", &current, Some(&previous), Some(until)).unwrap();
        let is = |want: &'static str| move |secret: &str| secret == want;
        assert!(s.any_at(until - time::Duration::seconds(1), is("old")));
        assert!(!s.any_at(until, is("old")));
        assert!(s.any_at(until + time::Duration::days(9), is("new")));
        assert!(!s.any_at(until - time::Duration::seconds(1), is("other")));
        assert_eq!(
            WebhookSecrets::new("scalapay", &current, Some(&previous), None).unwrap_err(),
            RotationError::NoDeadline { section: "scalapay" }
        );
        assert!(WebhookSecrets::new("caurisflux", &current, None, Some(until)).is_err());
    }
}

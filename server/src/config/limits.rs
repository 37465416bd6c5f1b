//! `[limits]`: the verifier's own limits against abuse, with production defaults (an absent
//! section, or an absent key, takes them).
//!
//! Request rates (`routes::limits`, with `tower_governor`) are kept in memory, per instance;
//! business limits on payments are counted in the database, so they hold with several
//! instances on one database (`Store::start_attempt_limited`). `trusted_proxies` says whose
//! `X-Forwarded-For` gives the client address (`routes::client_ip`).

use std::{num::NonZeroU32, time::Duration};

use ipnet::IpNet;
use serde::Deserialize;

/// Rate limits, business limits and the trusted proxies.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Reverse proxies (CIDR, e.g. `"10.0.0.0/8"`, `"127.0.0.1/32"`) whose `X-Forwarded-For`
    /// names the client. Empty (the default): the TCP peer is the client, and the header is
    /// ignored (anyone can write it).
    pub trusted_proxies: Vec<IpNet>,
    /// Per client address on `/v1/public/*`, `/pay/{id}`, `/embed` and `/hosted/*`. Customers
    /// behind one operator's carrier-grade NAT share an address: keep it wide.
    pub public_per_ip: Rate,
    /// Per client address on `/webhooks/*`: a provider sends every notification of the shop
    /// from a few addresses.
    pub webhooks_per_ip: Rate,
    /// Per client secret on `/v1/public/*`. The widget reads once, keeps one SSE stream (and
    /// polls every 3 s only when the stream is blocked), so a customer stays far below.
    pub public_per_secret: Rate,
    /// Per client secret on `POST /v1/public/checkouts/{id}/pay`.
    pub pay_per_secret: Rate,
    /// Per client address on `POST /v1/public/checkouts/{id}/pay`.
    pub pay_per_ip: Rate,
    /// Per client address on the dashboard's login (`POST /dashboard/login`): a few tries a
    /// minute, so that no one guesses keys through it.
    pub login_per_ip: Rate,
    /// Payment attempts one checkout may have, whatever their outcome.
    pub attempts_per_checkout: u32,
    /// Failed attempts of a method that needs a one-time code (NovaSend's Orange Money) on one
    /// checkout, after which that method is refused for it.
    pub otp_failures_per_checkout: u32,
    /// Payment requests to one phone number, across checkouts, within `phone_window_seconds`:
    /// no one can make a stranger's phone ring with payment prompts.
    pub requests_per_phone: u32,
    /// The window of `requests_per_phone`.
    pub phone_window_seconds: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            trusted_proxies: Vec::new(),
            public_per_ip: Rate::new(600, 120),
            webhooks_per_ip: Rate::new(3_000, 300),
            public_per_secret: Rate::new(60, 30),
            pay_per_secret: Rate::new(6, 5),
            pay_per_ip: Rate::new(60, 20),
            login_per_ip: Rate::new(6, 5),
            attempts_per_checkout: 10,
            otp_failures_per_checkout: 3,
            requests_per_phone: 5,
            phone_window_seconds: 15 * 60,
        }
    }
}

impl LimitSettings {
    /// Limits no test of the suite reaches: every test client is 127.0.0.1 and some pay
    /// hundreds of times with one phone number. Never for a deployment.
    pub fn generous() -> LimitSettings {
        let wide = Rate::new(6_000_000, 1_000_000);
        LimitSettings {
            trusted_proxies: Vec::new(),
            public_per_ip: wide,
            webhooks_per_ip: wide,
            public_per_secret: wide,
            pay_per_secret: wide,
            pay_per_ip: wide,
            login_per_ip: wide,
            attempts_per_checkout: 1_000,
            otp_failures_per_checkout: 1_000,
            requests_per_phone: 1_000_000,
            phone_window_seconds: 60,
        }
    }

    /// The window of `requests_per_phone`.
    pub fn phone_window(&self) -> Duration {
        Duration::from_secs(self.phone_window_seconds)
    }
}

/// A request rate: up to `burst` at once, then `per_minute` a minute (a GCRA limiter that
/// gives one request back every `60 s / per_minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests a minute, sustained.
    pub per_minute: NonZeroU32,
    /// Requests accepted at once after a quiet time.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_minute` and `burst`, each at least 1.
    pub fn new(per_minute: u32, burst: u32) -> Rate {
        Rate {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }

    /// The time in which one request is given back.
    pub fn period(&self) -> Duration {
        // At least 1 ns: governor refuses an empty period.
        (Duration::from_secs(60) / self.per_minute.get()).max(Duration::from_nanos(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_section_takes_the_defaults_and_a_partial_one_keeps_the_rest() {
        #[derive(Deserialize)]
        struct Wrapper {
            #[serde(default)]
            limits: LimitSettings,
        }
        let none: Wrapper = toml::from_str("").unwrap();
        assert_eq!(none.limits, LimitSettings::default());
        let some: Wrapper = toml::from_str(
            "[limits]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]\nrequests_per_phone = 2\n\
             [limits.pay_per_secret]\nper_minute = 2\nburst = 1\n",
        )
        .unwrap();
        assert_eq!(some.limits.trusted_proxies.len(), 2);
        assert_eq!(some.limits.requests_per_phone, 2);
        assert_eq!(some.limits.pay_per_secret, Rate::new(2, 1));
        assert_eq!(some.limits.attempts_per_checkout, 10);
        assert_eq!(some.limits.pay_per_secret.period(), Duration::from_secs(30));
        // The defaults as README.md's "Limits against abuse" writes them.
        let written: Wrapper = toml::from_str(
            "[limits]\ntrusted_proxies = []\n\
             public_per_ip = { per_minute = 600, burst = 120 }\n\
             webhooks_per_ip = { per_minute = 3000, burst = 300 }\n\
             public_per_secret = { per_minute = 60, burst = 30 }\n\
             pay_per_secret = { per_minute = 6, burst = 5 }\n\
             pay_per_ip = { per_minute = 60, burst = 20 }\n\
             login_per_ip = { per_minute = 6, burst = 5 }\n\
             attempts_per_checkout = 10\notp_failures_per_checkout = 3\n\
             requests_per_phone = 5\nphone_window_seconds = 900\n",
        )
        .unwrap();
        assert_eq!(written.limits, LimitSettings::default());
        for bad in [
            "[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            "[limits]\ntrusted_proxies = [\"proxy.example\"]\n",
            "[limits.pay_per_ip]\nper_minute = 0\nburst = 1\n",
            "[limits]\nrequest_per_phone = 2\n",
        ] {
            assert!(toml::from_str::<Wrapper>(bad).is_err(), "{bad}");
        }
    }
}

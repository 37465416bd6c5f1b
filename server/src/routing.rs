//! Which provider carries a payment when several offer the same method in the checkout's
//! country (Orange Money in Côte d'Ivoire through NovaSend and CaurisFlux; Airtel and Moov in
//! Gabon through CaurisFlux and MyPVit).
//!
//! The choice is the verifier's, from the merchant's `[routing]` rules and each provider's
//! recent health for that method and country:
//! - a provider that answered as down (5xx, timeout, transport error, a maintenance or
//!   "provider error" refusal) is skipped for [`RoutingSettings::cooldown_ms`];
//! - with `weights`, payments are shared by a smooth weighted round robin whose weights are
//!   scaled by each provider's success rate over the last [`RoutingSettings::window_ms`];
//! - otherwise the merchant's `prefer` (or, without one, the first configured provider) takes
//!   the payments while it is not cooling down, and the healthiest other one takes them
//!   while it is.
//!
//! Health is an in-memory sliding window per (provider, method, country): it starts empty on
//! each start of the verifier and is not shared between verifier processes. The clock is
//! tokio's, so the unit tests run on a paused clock.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

use serde::Deserialize;
use shared::{
    method::{PaymentMethod, Provider},
    phone::Country,
};
use tokio::time::Instant;

/// `[routing]`: how the verifier chooses among providers offering the same method.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// How long a provider that answered as down is skipped (30 s by default).
    #[serde(default = "default_cooldown_ms")]
    pub cooldown_ms: u64,
    /// How far back the success rate looks (5 min by default).
    #[serde(default = "default_window_ms")]
    pub window_ms: u64,
    /// The merchant's rules, per method and country (`[[routing.rules]]`).
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            cooldown_ms: default_cooldown_ms(),
            window_ms: default_window_ms(),
            rules: Vec::new(),
        }
    }
}

fn default_cooldown_ms() -> u64 {
    30_000
}

fn default_window_ms() -> u64 {
    300_000
}

/// The merchant's rule for one method in one country.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// The method, e.g. `"airtel_money"`.
    pub method: PaymentMethod,
    /// The checkout's country, e.g. `"GA"`.
    pub country: Country,
    /// The provider that takes the payments while it is up.
    #[serde(default)]
    pub prefer: Option<Provider>,
    /// Shares of the payments per provider (e.g. `{ nova_send = 3, cauris_flux = 1 }`); a
    /// provider left out gets none while another is up. Takes precedence over `prefer`.
    #[serde(default)]
    pub weights: HashMap<Provider, u32>,
}

/// What a provider's answer to a start call says about its health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It took the payment (whatever the customer does next).
    Accepted,
    /// It is down: 5xx, timeout, transport error, maintenance or "provider error" refusal.
    Down,
    /// It failed in another way (our keys refused, an unreadable answer).
    Error,
}

/// Why a provider was chosen; its text goes in the attempt's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The payer named the provider.
    Requested,
    /// No other provider offers the method here.
    Only,
    /// The merchant's `prefer`, up.
    Preferred,
    /// The first configured provider (no rule for this method), up.
    Default,
    /// The weighted share.
    Weighted,
    /// The preferred (or default) one is cooling down: `skipped` were passed over.
    Healthiest {
        /// The providers cooling down.
        skipped: Vec<Provider>,
    },
    /// Every candidate is cooling down: the one whose cool-down ends first is tried.
    AllDown,
    /// The first provider refused for a provider-side reason before anything was started.
    Failover {
        /// The provider that refused.
        from: Provider,
    },
}

impl Reason {
    /// The stored form, e.g. `preferred` or `failover_from:nova_send`.
    pub fn to_text(&self) -> String {
        match self {
            Reason::Requested => "requested".into(),
            Reason::Only => "only".into(),
            Reason::Preferred => "preferred".into(),
            Reason::Default => "default".into(),
            Reason::Weighted => "weighted".into(),
            Reason::Healthiest { skipped } => {
                let names: Vec<&str> = skipped.iter().map(|p| p.as_str()).collect();
                format!("cooling_down:{}", names.join(","))
            }
            Reason::AllDown => "all_cooling_down".into(),
            Reason::Failover { from } => format!("failover_from:{}", from.as_str()),
        }
    }
}

/// The router's answer: the provider to use, why, and the others in the order to fall back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The provider chosen.
    pub provider: Provider,
    /// Why.
    pub reason: Reason,
    /// The other candidates not cooling down, healthiest first (for a failover).
    pub fallbacks: Vec<Provider>,
}

type Key = (Provider, PaymentMethod, Country);

#[derive(Debug, Default)]
struct Health {
    /// Recent outcomes, oldest first.
    window: VecDeque<(Instant, Outcome)>,
    down_until: Option<Instant>,
}

/// Chooses providers and keeps their recent health.
#[derive(Debug)]
pub struct Router {
    settings: RoutingSettings,
    health: Mutex<HashMap<Key, Health>>,
    /// The smooth weighted round robin's running counters per (method, country).
    counters: Mutex<HashMap<(PaymentMethod, Country), HashMap<Provider, i64>>>,
}

impl Default for Router {
    fn default() -> Self {
        Router::new(RoutingSettings::default())
    }
}

/// The most outcomes kept per key, whatever the window.
const MAX_WINDOW: usize = 1_000;

impl Router {
    /// A router with no history.
    pub fn new(settings: RoutingSettings) -> Router {
        Router { settings, health: Mutex::default(), counters: Mutex::default() }
    }

    fn rule(&self, method: PaymentMethod, country: Country) -> Option<&RoutingRule> {
        self.settings.rules.iter().find(|r| r.method == method && r.country == country)
    }

    /// Records a start call's outcome: a `Down` one starts the provider's cool-down.
    pub fn record(&self, provider: Provider, method: PaymentMethod, country: Country, outcome: Outcome) {
        let now = Instant::now();
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let h = health.entry((provider, method, country)).or_default();
        h.window.push_back((now, outcome));
        Self::trim(h, now, self.window());
        if h.window.len() > MAX_WINDOW {
            h.window.pop_front();
        }
        match outcome {
            Outcome::Down => h.down_until = Some(now + Duration::from_millis(self.settings.cooldown_ms)),
            // An accepted payment shows the provider is back.
            Outcome::Accepted => h.down_until = None,
            Outcome::Error => {}
        }
    }

    fn window(&self) -> Duration {
        Duration::from_millis(self.settings.window_ms)
    }

    fn trim(h: &mut Health, now: Instant, window: Duration) {
        while h.window.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) > window) {
            h.window.pop_front();
        }
    }

    /// The success rate in thousandths, with one success and one failure assumed (so a
    /// provider without history counts as 500, and one failure does not zero it).
    fn rate(h: Option<&Health>) -> i64 {
        let (ok, all) = h.map_or((0, 0), |h| {
            (h.window.iter().filter(|(_, o)| *o == Outcome::Accepted).count() as i64, h.window.len() as i64)
        });
        (ok + 1) * 1000 / (all + 2)
    }

    /// Chooses among `candidates` (in configuration order, each able to carry the payment).
    /// `None` when there are none.
    pub fn choose(&self, method: PaymentMethod, country: Country, candidates: &[Provider]) -> Option<Choice> {
        let (&first, rest) = candidates.split_first()?;
        if rest.is_empty() {
            return Some(Choice { provider: first, reason: Reason::Only, fallbacks: Vec::new() });
        }
        let now = Instant::now();
        let window = self.window();
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let mut up = Vec::new();
        let mut down = Vec::new();
        for &p in candidates {
            let h = health.get_mut(&(p, method, country));
            if let Some(h) = h {
                Self::trim(h, now, window);
                match h.down_until {
                    Some(until) if until > now => {
                        down.push((p, until));
                        continue;
                    }
                    _ => h.down_until = None,
                }
            }
            up.push(p);
        }
        let rate = |p: Provider| Self::rate(health.get(&(p, method, country)));
        if up.is_empty() {
            down.sort_by_key(|&(_, until)| until);
            let order: Vec<Provider> = down.iter().map(|&(p, _)| p).collect();
            return Some(Choice {
                provider: order[0],
                reason: Reason::AllDown,
                fallbacks: order[1..].to_vec(),
            });
        }
        // Healthiest first; ties keep the configuration order (the sort is stable).
        let mut by_health = up.clone();
        by_health.sort_by_key(|&p| std::cmp::Reverse(rate(p)));
        let fallbacks_without =
            |chosen: Provider| by_health.iter().copied().filter(|&p| p != chosen).collect();
        let rule = self.rule(method, country);
        let skipped: Vec<Provider> = down.iter().map(|&(p, _)| p).collect();
        if let Some(weights) = rule.map(|r| &r.weights).filter(|w| w.values().any(|&w| w > 0)) {
            let weighted: Vec<(Provider, i64)> = up
                .iter()
                .map(|&p| (p, i64::from(weights.get(&p).copied().unwrap_or(0)) * rate(p)))
                .filter(|&(_, w)| w > 0)
                .collect();
            if !weighted.is_empty() {
                let total: i64 = weighted.iter().map(|&(_, w)| w).sum();
                let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
                let current = counters.entry((method, country)).or_default();
                let mut best: Option<(Provider, i64)> = None;
                for &(p, w) in &weighted {
                    let c = current.entry(p).or_insert(0);
                    *c += w;
                    if best.is_none_or(|(_, b)| *c > b) {
                        best = Some((p, *c));
                    }
                }
                let (chosen, _) = best.expect("weighted is not empty");
                *current.entry(chosen).or_insert(0) -= total;
                return Some(Choice {
                    provider: chosen,
                    reason: Reason::Weighted,
                    fallbacks: fallbacks_without(chosen),
                });
            }
        }
        let (wanted, reason) = match rule.and_then(|r| r.prefer).filter(|p| candidates.contains(p)) {
            Some(p) => (p, Reason::Preferred),
            None => (first, Reason::Default),
        };
        if up.contains(&wanted) {
            return Some(Choice { provider: wanted, reason, fallbacks: fallbacks_without(wanted) });
        }
        let chosen = by_health[0];
        Some(Choice {
            provider: chosen,
            reason: Reason::Healthiest { skipped },
            fallbacks: fallbacks_without(chosen),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: PaymentMethod = PaymentMethod::AirtelMoney;
    const C: Country = Country::Ga;
    const BOTH: [Provider; 2] = [Provider::CaurisFlux, Provider::MyPvit];

    fn router(rules: Vec<RoutingRule>) -> Router {
        Router::new(RoutingSettings { cooldown_ms: 10_000, window_ms: 60_000, rules })
    }

    fn rule(prefer: Option<Provider>, weights: &[(Provider, u32)]) -> RoutingRule {
        RoutingRule { method: M, country: C, prefer, weights: weights.iter().copied().collect() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_candidate_is_the_only_choice_and_none_is_none() {
        let r = router(Vec::new());
        let c = r.choose(M, C, &[Provider::MyPvit]).unwrap();
        assert_eq!((c.provider, c.reason), (Provider::MyPvit, Reason::Only));
        assert_eq!(r.choose(M, C, &[]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rule_the_first_configured_takes_payments_until_it_is_down() {
        let r = router(Vec::new());
        assert_eq!(r.choose(M, C, &BOTH).unwrap().reason, Reason::Default);
        r.record(Provider::CaurisFlux, M, C, Outcome::Down);
        let c = r.choose(M, C, &BOTH).unwrap();
        assert_eq!(c.provider, Provider::MyPvit);
        assert_eq!(c.reason.to_text(), "cooling_down:cauris_flux");
        assert!(c.fallbacks.is_empty(), "a provider cooling down is no fallback");
        // Still down one millisecond before the cool-down ends; back after it.
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert_eq!(r.choose(M, C, &BOTH).unwrap().provider, Provider::MyPvit);
        tokio::time::advance(Duration::from_millis(2)).await;
        let c = r.choose(M, C, &BOTH).unwrap();
        assert_eq!((c.provider, c.reason), (Provider::CaurisFlux, Reason::Default));
        assert_eq!(c.fallbacks, [Provider::MyPvit]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_merchants_preference_wins_while_it_is_up() {
        let r = router(vec![rule(Some(Provider::MyPvit), &[])]);
        let c = r.choose(M, C, &BOTH).unwrap();
        assert_eq!((c.provider, c.reason), (Provider::MyPvit, Reason::Preferred));
        // Another country or method has no rule.
        assert_eq!(r.choose(M, Country::Ci, &BOTH).unwrap().provider, Provider::CaurisFlux);
        r.record(Provider::MyPvit, M, C, Outcome::Down);
        assert_eq!(r.choose(M, C, &BOTH).unwrap().provider, Provider::CaurisFlux);
        // Health is per method and country: MyPVit's Moov is not cooling down.
        let moov = PaymentMethod::MoovMoney;
        let c = r.choose(moov, C, &BOTH).unwrap();
        assert_eq!(c.provider, Provider::CaurisFlux, "no rule for Moov: configuration order");
        assert_eq!(c.reason, Reason::Default);
    }

    #[tokio::test(start_paused = true)]
    async fn when_all_are_down_the_first_back_is_tried() {
        let r = router(Vec::new());
        r.record(Provider::CaurisFlux, M, C, Outcome::Down);
        tokio::time::advance(Duration::from_millis(1_000)).await;
        r.record(Provider::MyPvit, M, C, Outcome::Down);
        let c = r.choose(M, C, &BOTH).unwrap();
        assert_eq!((c.provider, c.reason.clone()), (Provider::CaurisFlux, Reason::AllDown));
        assert_eq!(c.fallbacks, [Provider::MyPvit]);
    }

    #[tokio::test(start_paused = true)]
    async fn weights_share_the_payments_and_a_provider_back_gets_its_share_again() {
        let r = router(vec![rule(None, &[(Provider::CaurisFlux, 1), (Provider::MyPvit, 3)])]);
        let share = |r: &Router, n: usize| {
            let picks: Vec<Provider> = (0..n).map(|_| r.choose(M, C, &BOTH).unwrap().provider).collect();
            picks.iter().filter(|&&p| p == Provider::MyPvit).count()
        };
        assert_eq!(share(&r, 8), 6, "3 in 4 to MyPVit");
        r.record(Provider::MyPvit, M, C, Outcome::Down);
        assert_eq!(share(&r, 4), 0, "MyPVit cooling down takes none");
        tokio::time::advance(Duration::from_millis(10_001)).await;
        let back = share(&r, 40);
        assert!(
            (20..40).contains(&back),
            "MyPVit back takes most again, fewer while its rate is low: {back}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_success_rate_scales_the_weights_over_the_window_only() {
        let r = router(vec![rule(None, &[(Provider::CaurisFlux, 1), (Provider::MyPvit, 1)])]);
        for _ in 0..8 {
            r.record(Provider::CaurisFlux, M, C, Outcome::Error);
            r.record(Provider::MyPvit, M, C, Outcome::Accepted);
        }
        // Rates 100 and 900 thousandths: nine in ten to MyPVit.
        let picks: Vec<Provider> = (0..10).map(|_| r.choose(M, C, &BOTH).unwrap().provider).collect();
        assert_eq!(picks.iter().filter(|&&p| p == Provider::MyPvit).count(), 9);
        // Past the window, the history is forgotten: an even split again.
        tokio::time::advance(Duration::from_millis(60_001)).await;
        let picks: Vec<Provider> = (0..10).map(|_| r.choose(M, C, &BOTH).unwrap().provider).collect();
        assert_eq!(picks.iter().filter(|&&p| p == Provider::MyPvit).count(), 5);
    }

    #[test]
    fn the_routing_section_reads_from_toml() {
        let s: RoutingSettings = toml::from_str(
            r#"
            cooldown_ms = 500
            [[rules]]
            method = "airtel_money"
            country = "GA"
            prefer = "my_pvit"
            weights = { cauris_flux = 1, my_pvit = 2 }
            "#,
        )
        .unwrap();
        assert_eq!(s.cooldown_ms, 500);
        assert_eq!(s.window_ms, 300_000);
        assert_eq!(
            s.rules,
            [rule(Some(Provider::MyPvit), &[(Provider::CaurisFlux, 1), (Provider::MyPvit, 2)])]
        );
        assert!(toml::from_str::<RoutingSettings>("cooldown = 1").is_err(), "unknown keys are refused");
    }
}

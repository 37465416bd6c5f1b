//! Which operators CaurisFlux serves, and where: read from its public `GET /payments/providers`
//! and `GET /countries/active` (no key; <https://docs.caurisflux.com/api-reference/introduction.html>
//! names both, and `payments/initiate` says the full list of `provider` codes is at the first)
//! when the verifier starts, kept in memory, and read again every [`REFRESH_EVERY`].
//!
//! The docs print neither body. The shapes read are the smallest that say what the adapter
//! needs, in the envelope of `payments/initiate` (`{"success": true, "data": …}`) or bare (the
//! `payouts/get-status` page's form): a list of providers, each `{"code": "wave", "countries":
//! ["SN", …]}`, and a list of countries, each `{"code": "SN", "currency": "XOF"}`. (The official
//! plugin, github.com/caurisflux/caurisflux-wp `includes/class-caurisflux-client.php`, reads
//! neither list: it always sends `type: "checkout"`.) Unknown members are ignored, and so are
//! codes and countries this build does not know.
//!
//! When the lists cannot be read, the previous ones are kept; when none was ever read (a
//! failure at start), CaurisFlux offers nothing — no operator or country is documented as
//! certain — the reason is logged, and the lists are asked again after [`RETRY_AFTER`].

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Deserialize;
use shared::{money::Currency, phone::Country};

use super::wire::MobileProvider;
use crate::providers::{
    ProviderError,
    http::{self, Budgeted},
};

/// How often the lists are read again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(6 * 3600);
/// How soon they are asked again after a failure.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// One entry of `GET /payments/providers`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedProvider {
    /// The `provider` code of `POST /payments/initiate`.
    pub code: String,
    /// ISO 3166-1 alpha-2 codes of the countries where it is served.
    #[serde(default)]
    pub countries: Vec<String>,
}

/// One entry of `GET /countries/active`.
#[derive(Debug, Clone, Deserialize)]
pub struct ActiveCountry {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    /// ISO 4217: what is paid there.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A list, wrapped in `{success, data}` or bare.
pub fn parse_list<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    match value {
        serde_json::Value::Object(mut map) if map.get("data").is_some_and(|d| d.is_array()) => {
            serde_json::from_value(map.remove("data").unwrap_or_default())
        }
        other => serde_json::from_value(other),
    }
}

/// What CaurisFlux lists: for each active country we know, its currency and the operators
/// served there (in the lists' order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    countries: HashMap<Country, (Currency, Vec<MobileProvider>)>,
}

impl Listing {
    /// Joins the two lists: a country is served when active with a currency we know; an
    /// operator when its code is one we know and it lists that country.
    pub fn from_lists(providers: &[ListedProvider], countries: &[ActiveCountry]) -> Listing {
        let mut served = HashMap::new();
        for c in countries {
            let (Some(country), Some(Ok(currency))) =
                (Country::parse(&c.code), c.currency.as_deref().map(Currency::parse))
            else {
                continue;
            };
            served.insert(country, (currency, Vec::new()));
        }
        for p in providers {
            let Some(operator) = MobileProvider::parse(&p.code) else { continue };
            for code in &p.countries {
                if let Some((_, operators)) = Country::parse(code).and_then(|c| served.get_mut(&c))
                    && !operators.contains(&operator)
                {
                    operators.push(operator);
                }
            }
        }
        Listing { countries: served }
    }

    /// The country's currency and operators, when CaurisFlux lists it.
    pub fn country(&self, country: Country) -> Option<(Currency, &[MobileProvider])> {
        self.countries.get(&country).map(|(currency, ops)| (*currency, ops.as_slice()))
    }
}

/// The lists as last read, and when to read them again.
#[derive(Debug)]
pub(super) struct Catalogue {
    http: http::Client,
    base_url: String,
    listing: RwLock<Option<Arc<Listing>>>,
    due: Mutex<Instant>,
    reading: AtomicBool,
}

impl Catalogue {
    pub(super) fn new(http: http::Client, base_url: String) -> Catalogue {
        Catalogue {
            http,
            base_url,
            listing: RwLock::new(None),
            due: Mutex::new(Instant::now()),
            reading: AtomicBool::new(false),
        }
    }

    /// The lists as last read; `None` when they never were.
    pub(super) fn current(&self) -> Option<Arc<Listing>> {
        self.listing.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the lists as if just read (unit tests without a network).
    #[cfg(test)]
    pub(super) fn set(&self, listing: Listing) {
        *self.listing.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(listing));
        *self.due.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + REFRESH_EVERY;
    }

    /// Reads both lists now; keeps the previous ones (and logs why) when that fails.
    pub(super) async fn refresh(&self) -> Result<Arc<Listing>, ProviderError> {
        let read = async {
            let providers: Vec<ListedProvider> = self.get("payments/providers").await?;
            let countries: Vec<ActiveCountry> = self.get("countries/active").await?;
            Ok::<_, ProviderError>(Arc::new(Listing::from_lists(&providers, &countries)))
        };
        let result = read.await;
        let wait = match &result {
            Ok(listing) => {
                *self.listing.write().unwrap_or_else(|p| p.into_inner()) = Some(listing.clone());
                tracing::info!(countries = listing.countries.len(), "CaurisFlux's providers read");
                REFRESH_EVERY
            }
            Err(e) => {
                let kept =
                    if self.current().is_some() { "keeping the last lists" } else { "offering nothing" };
                tracing::warn!(error = %e, "CaurisFlux's providers could not be read: {kept}");
                RETRY_AFTER
            }
        };
        *self.due.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + wait;
        result
    }

    /// Starts a background read when one is due (and none runs); never waits for it.
    pub(super) fn refresh_if_due(self: &Arc<Self>) {
        let due = *self.due.lock().unwrap_or_else(|p| p.into_inner());
        if Instant::now() < due || self.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.reading.store(false, Ordering::Release);
            return;
        };
        let me = self.clone();
        runtime.spawn(async move {
            // The error is logged by `refresh`.
            let _ = me.refresh().await;
            me.reading.store(false, Ordering::Release);
        });
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ProviderError> {
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| ProviderError::Integration(format!("bad CaurisFlux base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| ProviderError::Integration("CaurisFlux base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(path.split('/'));
        // Public endpoints: no key is sent.
        let resp = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(super::API_VERSION_HEADER, super::API_VERSION)
            .send_via(&self.http)
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(http::transport)?;
        if !status.is_success() {
            return Err(super::classify_error(status.as_u16(), &bytes, None));
        }
        parse_list(&bytes)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable CaurisFlux /{path}: {e}")))
    }
}

//! The HTTP client shared by provider adapters: one connection pool and timeouts per provider,
//! every request drawn from the provider account's request [`Budget`] before it is sent, a
//! `Retry-After` on a `429` or `503` answer honoured, and transport failures classified as
//! "outcome unknown". Every call sent is recorded in the client's [`CallLog`]: its latest
//! outcome (`/readyz`) and, once the verifier's metrics are attached, its duration and failure
//! (`/metrics`).

use std::{
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use reqwest::{IntoUrl, RequestBuilder, Response, StatusCode, header::RETRY_AFTER};
use shared::method::Provider;

use super::{
    ProviderError,
    budget::{self, Budget},
};
use crate::metrics::{CallError, Metrics};

/// The latest call to a provider: when it ended and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastCall {
    /// When the call ended, unix milliseconds.
    pub at_ms: i64,
    /// How it failed, if it did.
    pub error: Option<CallError>,
}

/// What the calls to one provider account did: the latest outcome, and the verifier's metrics
/// when attached ([`CallLog::report_to`]).
#[derive(Debug)]
pub struct CallLog {
    provider: Provider,
    last: Mutex<Option<LastCall>>,
    metrics: OnceLock<Metrics>,
}

impl CallLog {
    fn new(provider: Provider) -> CallLog {
        CallLog { provider, last: Mutex::new(None), metrics: OnceLock::new() }
    }

    /// The provider called.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Records every later call in `metrics` too (once: a second call changes nothing).
    pub fn report_to(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    /// The latest call's outcome; `None` before the first.
    pub fn last(&self) -> Option<LastCall> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, elapsed: Duration, error: Option<CallError>) {
        let call = LastCall { at_ms: crate::checkouts::now_ms(), error };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(call);
        if let Some(metrics) = self.metrics.get() {
            metrics.provider_call(self.provider, elapsed, error);
        }
    }
}

/// One provider account's HTTP client: its connection pool and timeouts, its request budget
/// and its call log, shared by every clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    budget: Arc<Budget>,
    calls: Arc<CallLog>,
}

impl Client {
    /// A client of `provider`'s API with this request timeout, drawing from `budget`.
    pub fn new(provider: Provider, timeout: Duration, budget: Budget) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("checkout-verifier/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry our credentials (API keys, signatures in headers reqwest
            // does not strip) to wherever it points: a provider's answer is never followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client { http, budget: Arc::new(budget), calls: Arc::new(CallLog::new(provider)) })
    }

    /// What the calls sent through this client did.
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    /// A `GET` request to build; send it with [`Budgeted::send_via`].
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.http.get(url)
    }

    /// A `POST` request to build; send it with [`Budgeted::send_via`].
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.http.post(url)
    }

    /// The account's request budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Sends `request` if the budget admits it, and closes the budget for as long as a `429`
    /// or `503` answer's `Retry-After` asks. The answer is the caller's to classify.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, ProviderError> {
        self.budget.admit().map_err(|spent| ProviderError::BudgetSpent { retry_in: spent.retry_in })?;
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let kind = if e.is_timeout() { CallError::Timeout } else { CallError::Transport };
                self.calls.record(started.elapsed(), Some(kind));
                return Err(transport(e));
            }
        };
        self.calls.record(started.elapsed(), CallError::of_status(response.status().as_u16()));
        if matches!(response.status(), StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
            && let Some(wait) = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| budget::retry_after(v, SystemTime::now()))
        {
            tracing::warn!(
                status = response.status().as_u16(),
                wait_s = wait.as_secs_f64(),
                // The host only: paths carry MyPVit's account codes and our references.
                host = response.url().host_str().unwrap_or_default(),
                "the provider asked for a pause (Retry-After): no call to it until then"
            );
            self.budget.block_for(wait);
        }
        Ok(response)
    }
}

/// `request.send_via(&client)`: [`Client::send`] at the end of a request builder's chain.
pub trait Budgeted {
    /// Sends the request through `client`'s budget.
    fn send_via(
        self,
        client: &Client,
    ) -> impl std::future::Future<Output = Result<Response, ProviderError>> + Send;
}

impl Budgeted for RequestBuilder {
    fn send_via(
        self,
        client: &Client,
    ) -> impl std::future::Future<Output = Result<Response, ProviderError>> + Send {
        client.send(self)
    }
}

/// A transport error: the request may or may not have reached the provider.
pub fn transport(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Unavailable("timed out".into())
    } else {
        // Without its URL: a provider's URL may carry our account's codes or a reference.
        ProviderError::Unavailable(format!("transport error: {}", e.without_url()))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use axum::{Router, http::HeaderMap, routing::get};

    use super::*;
    use crate::providers::budget::Limit;

    /// A provider stand-in on a free port answering every request with `status` and
    /// `headers`; the count of requests it received.
    async fn provider(
        status: StatusCode,
        headers: &'static [(&'static str, &'static str)],
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        let app = Router::new().route(
            "/",
            get(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut h = HeaderMap::new();
                for (name, value) in headers {
                    h.insert(*name, value.parse().unwrap());
                }
                async move { (status, h, "{}") }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, hits)
    }

    fn hits(h: &std::sync::atomic::AtomicUsize) -> usize {
        h.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_redirect_is_never_followed() {
        let (url, hit) = provider(StatusCode::TEMPORARY_REDIRECT, &[("location", "/")]).await;
        let client = Client::new(Provider::NovaSend, Duration::from_secs(5), Budget::unlimited()).unwrap();
        let answer = client.send(client.get(&url)).await.unwrap();
        assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(hits(&hit), 1, "the redirect was not followed");
    }

    #[tokio::test]
    async fn a_spent_budget_sends_nothing() {
        let (url, count) = provider(StatusCode::OK, &[]).await;
        let one_a_minute = Budget::new(&[Limit::per_minute(NonZeroU32::MIN)]);
        let client = Client::new(Provider::NovaSend, Duration::from_secs(5), one_a_minute).unwrap();
        assert_eq!(client.get(&url).send_via(&client).await.unwrap().status(), StatusCode::OK);
        match client.get(&url).send_via(&client).await {
            Err(ProviderError::BudgetSpent { retry_in }) => {
                assert!(retry_in > Duration::from_secs(59) && retry_in <= Duration::from_secs(60))
            }
            other => panic!("expected BudgetSpent, got {other:?}"),
        }
        assert_eq!(hits(&count), 1, "the second request never left");
    }

    #[tokio::test]
    async fn a_429_or_503_with_retry_after_closes_the_budget() {
        for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE] {
            let (url, count) = provider(status, &[("retry-after", "120")]).await;
            let client =
                Client::new(Provider::NovaSend, Duration::from_secs(5), Budget::unlimited()).unwrap();
            let answer = client.get(&url).send_via(&client).await.unwrap();
            assert_eq!(answer.status(), status, "the answer is the adapter's to classify");
            let closed = client.budget().closed_for().expect("closed");
            assert!(closed > Duration::from_secs(118) && closed <= Duration::from_secs(120), "{closed:?}");
            assert!(matches!(
                client.get(&url).send_via(&client).await,
                Err(ProviderError::BudgetSpent { .. })
            ));
            assert_eq!(hits(&count), 1);
        }
        // Without Retry-After, or on another status, nothing closes.
        for (status, headers) in [
            (StatusCode::TOO_MANY_REQUESTS, &[][..]),
            (StatusCode::INTERNAL_SERVER_ERROR, &[("retry-after", "120")][..]),
        ] {
            let (url, count) = provider(status, headers).await;
            let client =
                Client::new(Provider::NovaSend, Duration::from_secs(5), Budget::unlimited()).unwrap();
            client.get(&url).send_via(&client).await.unwrap();
            client.get(&url).send_via(&client).await.unwrap();
            assert_eq!((client.budget().closed_for(), hits(&count)), (None, 2), "{status}");
        }
    }

    #[tokio::test]
    async fn every_call_sent_is_logged_with_its_outcome_and_counted_once_metrics_are_attached() {
        let (answering, _) = provider(StatusCode::NOT_FOUND, &[]).await;
        let (failing, _) = provider(StatusCode::BAD_GATEWAY, &[]).await;
        let client = Client::new(Provider::MyPvit, Duration::from_secs(5), Budget::unlimited()).unwrap();
        assert_eq!(client.calls().last(), None, "nothing called yet");
        client.get(&answering).send_via(&client).await.unwrap();
        let first = client.calls().last().expect("logged");
        assert_eq!(first.error, None, "a 404 is an answer");
        let metrics = Metrics::new();
        client.calls().report_to(metrics.clone());
        client.get(&failing).send_via(&client).await.unwrap();
        assert_eq!(client.calls().last().unwrap().error, Some(CallError::ServerError));
        assert!(client.calls().last().unwrap().at_ms >= first.at_ms);
        // Nothing listens on the discard port: the connection is refused.
        assert!(client.get("http://127.0.0.1:9/").send_via(&client).await.is_err());
        assert_eq!(client.calls().last().unwrap().error, Some(CallError::Transport));
        let text = metrics.render(crate::metrics::Gauges { sse_streams_open: 0, deliveries_pending: None });
        let value = |prefix: &str| -> Option<f64> {
            text.lines().find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
        };
        assert_eq!(
            value("verifier_provider_call_duration_seconds_count{provider=\"my_pvit\"}"),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            value("verifier_provider_call_errors_total{provider=\"my_pvit\",kind=\"server_error\"}"),
            Some(1.0)
        );
        assert_eq!(
            value("verifier_provider_call_errors_total{provider=\"my_pvit\",kind=\"transport\"}"),
            Some(1.0)
        );
    }
}

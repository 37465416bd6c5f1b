//! Wiring: the store, the providers, the payment service, the reconciler, the merchant webhook dispatcher and the HTTP listener.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    checkouts::{Checkouts, Policy},
    config::Settings,
    events::Events,
    providers::{PaymentProvider, novasend::NovaSend},
    reconcile,
    routes::{self, AppState},
    store,
};

/// A built verifier, bound to its port, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    base_url: String,
    checkouts: Checkouts,
    webhooks: Option<crate::outbox::Dispatcher>,
    inbox_worker: bool,
    connections: crate::serve::ConnectionLimits,
    retention: crate::config::RetentionSettings,
    /// `[metrics] listen`'s listener, when configured.
    metrics: Option<TcpListener>,
}

impl Application {
    /// Binds `settings.listen`, then builds on it ([`Application::build_on`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("failed to listen on {}", settings.listen))?;
        Application::build_on(listener, settings).await
    }

    /// Opens the database (applying migrations) and wires the service on a listener already
    /// bound (so that a caller knows the address, e.g. to give it to a provider simulator,
    /// before the service exists); `settings.listen` is not used.
    pub async fn build_on(listener: TcpListener, settings: Settings) -> anyhow::Result<Application> {
        // Test and live never mix: a refused configuration stops here, before anything starts.
        let mode = settings.validate().context("refused configuration")?;
        tracing::info!(mode = mode.as_str(), "verifier mode");
        let addr = listener.local_addr()?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();

        // SQLite or PostgreSQL by the URL's scheme, migrations applied; the store reads the
        // time from the system clock (tests inject a manual one). The keys providers hand out
        // at run time are kept beside, shared by every instance on that database.
        let clock = crate::store::SystemClock::shared();
        let (store, provider_keys) = store::open_with_provider_keys(&settings.database_url, clock).await?;
        // A malformed webhook URL or secret stops the start, with the reason.
        let metrics = crate::metrics::Metrics::new();
        let webhooks = match &settings.merchant_webhooks {
            Some(hooks) => Some(
                crate::outbox::Dispatcher::new(store.clone(), hooks.endpoint()?)?
                    .with_metrics(metrics.clone()),
            ),
            None => None,
        };

        let mut providers: Vec<Arc<dyn PaymentProvider>> = Vec::new();
        if let Some(ns) = &settings.novasend {
            providers.push(Arc::new(NovaSend::new(ns)?));
        }
        if let Some(cf) = &settings.caurisflux {
            let cf = crate::providers::caurisflux::CaurisFlux::new(cf)
                .context("invalid CaurisFlux configuration")?;
            // Which operators it serves where. A failure is logged and the verifier starts; so
            // does a CaurisFlux that does not answer within 5 s: the lists are asked again in
            // the background.
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), cf.refresh_providers());
            if read.await.is_err() {
                tracing::warn!(
                    "CaurisFlux's providers were not read within 5 s: offering nothing until they are"
                );
            }
            providers.push(Arc::new(cf));
        }
        if let Some(sp) = &settings.scalapay {
            providers.push(Arc::new(crate::providers::scalapay::Scalapay::new(sp)?));
        }
        if let Some(mp) = &settings.mypvit {
            let mypvit = crate::providers::mypvit::MyPvit::new(mp)?.with_shared_keys(provider_keys.clone());
            providers.push(Arc::new(mypvit));
        }

        let checkouts = Checkouts::new(
            store,
            providers,
            Events::with_limits(crate::events::Limits {
                per_checkout: settings.public_api.sse_per_checkout.get(),
                total: settings.public_api.sse_total.get(),
                max_lifetime: settings.public_api.sse_max_lifetime(),
            }),
            Policy {
                merchant_name: settings.merchant.name.clone(),
                default_country: settings.checkout.default_country,
                ttl_seconds: i64::try_from(settings.checkout.ttl_seconds)
                    .context("ttl_seconds is too large")?,
                poll_interval_ms: i64::try_from(settings.reconcile.poll_interval_ms)
                    .context("poll_interval_ms is too large")?,
                max_poll_interval_ms: settings
                    .reconcile
                    .max_poll_interval_ms
                    .map(i64::try_from)
                    .transpose()
                    .context("max_poll_interval_ms is too large")?,
                poll_floor_applies: !settings.reconcile.ignore_provider_poll_floor,
                public_url: base_url.clone(),
                livemode: mode.is_live(),
            },
        )
        .with_signals(
            crate::signals::Signals::for_database_url(&settings.database_url)
                .context("invalid database URL for the instances' signals")?,
        )
        .with_attempt_limits((&settings.limits).into())
        .with_routing(settings.routing.clone())
        .with_metrics(metrics);
        let merchant_keys = crate::merchant_keys::MerchantKeys::new(
            mode,
            settings.merchant.secret_key.as_ref(),
            checkouts.store().clone(),
        );
        let state = AppState {
            checkouts: checkouts.clone(),
            merchant_keys,
            limits: std::sync::Arc::new(settings.limits.clone()),
            backend: store::Backend::of(&settings.database_url)?,
        };
        let router = routes::router(state, &settings, base_url.starts_with("https://"));
        if settings.public_api.sse_total >= settings.http.max_connections {
            tracing::warn!(
                sse_total = settings.public_api.sse_total.get(),
                max_connections = settings.http.max_connections.get(),
                "[public_api] sse_total is not under [http] max_connections: status streams may take every connection"
            );
        }
        let connections = crate::serve::ConnectionLimits {
            header_read_timeout: settings.http.header_read_timeout(),
            max_connections: settings.http.max_connections.get(),
        };
        let retention = settings.retention.clone();
        let metrics = match settings.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("failed to listen on {addr} ([metrics] listen)"))?,
            ),
            None => None,
        };
        Ok(Application {
            listener,
            router,
            addr,
            base_url,
            checkouts,
            webhooks,
            inbox_worker: true,
            connections,
            retention,
            metrics,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where `/metrics` is served (`[metrics] listen`), when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// How browsers reach this verifier.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Runs without the inbox worker: notifications are verified, stored and answered, but not
    /// processed until a verifier with its worker runs on the same database (tests of the
    /// store-first contract and of recovery after a restart).
    pub fn without_inbox_worker(mut self) -> Application {
        self.inbox_worker = false;
        self
    }

    /// Serves in the background until `shutdown` resolves ([`Application::run_until`]); for
    /// tests and embedding.
    pub fn spawn_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(e) = self.run_until(shutdown).await {
                tracing::error!(error = %e, "the verifier stopped");
            }
        })
    }

    /// Serves in the background and returns; for tests and embedding.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(e) = self.run_until_stopped().await {
                tracing::error!(error = %e, "the verifier stopped");
            }
        })
    }

    /// Serves ([`crate::serve`]: header-read timeout, connection cap) until Ctrl-C or SIGTERM, with
    /// the reconciler, the inbox worker, the webhook dispatcher (when an endpoint is configured),
    /// the retention purge and the refused-notice tally's writer beside it
    /// ([`Application::run_until`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` resolves, then stops gracefully: no new connection, the requests
    /// in flight answered ([`crate::serve`]'s grace), then the workers stopped between two
    /// items of work ([`crate::shutdown`]).
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        // The workers stop at a safe point when asked; the others (listeners) are aborted, as is
        // everything when the server's own task is aborted.
        let (trigger, stop) = crate::shutdown::channel();
        let mut workers =
            vec![AbortOnDrop(tokio::spawn(reconcile::run(self.checkouts.clone(), stop.clone())))];
        let mut background = Vec::new();
        // The other instances' signals (nothing to listen to on SQLite).
        let signals = self.checkouts.signals().clone();
        background.push(AbortOnDrop(tokio::spawn(signals.run(self.checkouts.clone()))));
        if self.inbox_worker {
            workers.push(AbortOnDrop(tokio::spawn(crate::inbox::run(self.checkouts.clone(), stop.clone()))));
        }
        // Without an endpoint, events are only recorded: they go out once one is configured.
        if let Some(d) = self.webhooks {
            workers.push(AbortOnDrop(tokio::spawn(d.run(stop.clone()))));
        }
        let store = self.checkouts.store().clone();
        workers.push(AbortOnDrop(tokio::spawn(crate::retention::run(
            store.clone(),
            self.retention.clone(),
            stop.clone(),
        ))));
        let (refused, keep) = (self.checkouts.refused().clone(), self.retention.refused_samples_per_provider);
        workers.push(AbortOnDrop(tokio::spawn(crate::refused::flush_loop(refused, store, keep, stop))));
        if let Some(listener) = self.metrics {
            let router = routes::service::metrics_router(self.checkouts.clone());
            background.push(AbortOnDrop(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })));
        }
        crate::serve::serve(self.listener, self.router, self.connections, shutdown).await;
        tracing::info!("requests answered; stopping the background work");
        trigger.stop();
        let finished = futures_util::future::join_all(workers.iter_mut().map(|w| &mut w.0));
        if tokio::time::timeout(crate::shutdown::WORKERS_GRACE, finished).await.is_err() {
            tracing::warn!("background work still busy after the grace period is dropped");
        }
        drop(workers);
        drop(background);
        tracing::info!("the verifier stopped");
        Ok(())
    }
}

/// Aborts its task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

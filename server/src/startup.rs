//! Wiring: the store, the providers (pointed at in-process sandboxes when configured), the
//! payment service, the reconciler, the merchant webhook dispatcher and the HTTP listener.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::{
    checkouts::{Checkouts, Policy},
    config::Settings,
    events::Events,
    providers::{PaymentProvider, novasend::NovaSend},
    reconcile,
    routes::{self, AppState},
    sandbox::novasend::{Merchant, NovaSendSandbox},
    store::{Store, sqlite::SqliteStore},
};

/// A built verifier, bound to its port, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    base_url: String,
    checkouts: Checkouts,
    sandbox_urls: Vec<(&'static str, String)>,
    webhooks: Option<crate::outbox::Dispatcher>,
    inbox_worker: bool,
}

impl Application {
    /// Opens the database (applying migrations), starts configured sandboxes, binds the
    /// listener and starts the reconciler.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Application> {
        // Test and live never mix: a refused configuration stops here, before anything starts.
        let mode = settings.validate().context("refused configuration")?;
        tracing::info!(mode = mode.as_str(), "verifier mode");
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("failed to listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();

        let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&settings.database_url).await?);
        // A malformed webhook URL or secret stops the start, with the reason.
        let webhooks = match &settings.merchant_webhooks {
            Some(hooks) => Some(crate::outbox::Dispatcher::new(store.clone(), hooks.endpoint()?)?),
            None => None,
        };

        let mut sandbox_urls = Vec::new();
        if let (Some(sandbox), Some(ns)) = (settings.sandbox.novasend.clone(), settings.novasend.as_mut()) {
            let started = NovaSendSandbox::start(
                sandbox.clone(),
                Merchant {
                    api_key: ns.api_key.expose_secret().to_owned(),
                    api_client: ns.api_client.expose_secret().to_owned(),
                    webhook_url: sandbox
                        .webhook_url
                        .unwrap_or_else(|| format!("{base_url}/webhooks/nova_send")),
                    webhook_secret: ns.webhook_secret.expose_secret().to_owned(),
                },
            )
            .await
            .context("failed to start the NovaSend sandbox")?;
            ns.base_url = started.base_url();
            sandbox_urls.push(("NovaSend", started.base_url()));
        }
        if let (Some(sandbox), Some(cf)) = (settings.sandbox.caurisflux.clone(), settings.caurisflux.as_mut())
        {
            let webhook_url = sandbox.webhook_url.clone().unwrap_or_else(|| {
                format!("{base_url}/webhooks/{}", shared::method::Provider::CaurisFlux.as_str())
            });
            let started = crate::sandbox::caurisflux::CaurisFluxSandbox::start(
                sandbox,
                crate::sandbox::caurisflux::Merchant {
                    public_key: cf.public_key.clone(),
                    secret_key: cf.secret_key.expose_secret().to_owned(),
                    webhook_url,
                    webhook_secret: cf.webhook_secret.expose_secret().to_owned(),
                },
            )
            .await
            .context("failed to start the CaurisFlux sandbox")?;
            cf.base_url = started.api_url();
            sandbox_urls.push(("CaurisFlux", started.base_url()));
        }
        if let (Some(sandbox), Some(sp)) = (settings.sandbox.scalapay.clone(), settings.scalapay.as_mut()) {
            let name = shared::method::Provider::Scalapay.as_str();
            let started = crate::sandbox::scalapay::ScalapaySandbox::start(
                sandbox.clone(),
                crate::sandbox::scalapay::Merchant {
                    api_key: sp.api_key.expose_secret().to_owned(),
                    webhook_url: sandbox.webhook_url.unwrap_or_else(|| format!("{base_url}/webhooks/{name}")),
                },
            )
            .await
            .context("failed to start the Scalapay sandbox")?;
            sp.base_url = started.base_url();
            sandbox_urls.push(("Scalapay", started.base_url()));
        }

        if let (Some(sandbox), Some(mp)) = (settings.sandbox.mypvit.clone(), settings.mypvit.as_mut()) {
            // Callbacks and keys both go to the secret path `/webhooks/my_pvit/{token}`.
            let hook = format!(
                "{base_url}/webhooks/{}/{}",
                shared::method::Provider::MyPvit.as_str(),
                mp.webhook_token.expose_secret()
            );
            let merchant =
                crate::sandbox::mypvit::Merchant::from_settings(mp, &hook, &format!("{base_url}/healthz"));
            let started = crate::sandbox::mypvit::MyPvitSandbox::start(sandbox, merchant)
                .await
                .context("failed to start the MyPVit sandbox")?;
            mp.base_url = started.base_url();
            sandbox_urls.push(("MyPVit", started.base_url()));
        }

        let mut providers: Vec<Arc<dyn PaymentProvider>> = Vec::new();
        if let Some(ns) = &settings.novasend {
            providers.push(Arc::new(NovaSend::new(ns)?));
        }
        if let Some(cf) = &settings.caurisflux {
            providers.push(Arc::new(
                crate::providers::caurisflux::CaurisFlux::new(cf)
                    .context("invalid CaurisFlux configuration")?,
            ));
        }
        if let Some(sp) = &settings.scalapay {
            providers.push(Arc::new(crate::providers::scalapay::Scalapay::new(sp)?));
        }
        if let Some(mp) = &settings.mypvit {
            providers.push(Arc::new(crate::providers::mypvit::MyPvit::new(mp)?));
        }

        let checkouts = Checkouts::new(
            store,
            providers,
            Events::new(1024),
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
                // Sandboxes stand in for every configured provider, or for none.
                poll_floor_applies: sandbox_urls.is_empty(),
                public_url: base_url.clone(),
                livemode: mode.is_live(),
            },
        );
        let state =
            AppState { checkouts: checkouts.clone(), merchant_key: settings.merchant.secret_key.clone() };
        let router = routes::router(state, &settings.widget_dir);
        Ok(Application {
            listener,
            router,
            addr,
            base_url,
            checkouts,
            sandbox_urls,
            webhooks,
            inbox_worker: true,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How browsers reach this verifier.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The sandboxes started, with their URLs.
    pub fn sandbox_urls(&self) -> &[(&'static str, String)] {
        &self.sandbox_urls
    }

    /// Runs without the inbox worker: notifications are verified, stored and answered, but not
    /// processed until a verifier with its worker runs on the same database (tests of the
    /// store-first contract and of recovery after a restart).
    pub fn without_inbox_worker(mut self) -> Application {
        self.inbox_worker = false;
        self
    }

    /// Serves in the background and returns; for tests and embedding.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(e) = self.run_until_stopped().await {
                tracing::error!(error = %e, "the verifier stopped");
            }
        })
    }

    /// Serves until Ctrl-C or SIGTERM, with the reconciler, the inbox worker, the webhook
    /// dispatcher (when an endpoint is configured) and the idempotency-key purge beside it.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // Background tasks end with the server, also when its task is aborted.
        let mut background = vec![AbortOnDrop(tokio::spawn(reconcile::run(self.checkouts.clone())))];
        if self.inbox_worker {
            background.push(AbortOnDrop(tokio::spawn(crate::inbox::run(self.checkouts.clone()))));
        }
        // Without an endpoint, events are only recorded: they go out once one is configured.
        if let Some(d) = self.webhooks {
            background.push(AbortOnDrop(tokio::spawn(d.run())));
        }
        background
            .push(AbortOnDrop(tokio::spawn(crate::idempotency::purge_loop(self.checkouts.store().clone()))));
        let served =
            axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown_signal())
                .await;
        drop(background);
        served.context("the HTTP server failed")
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

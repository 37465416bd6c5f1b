//! Provider sandboxes: HTTP listeners that speak each provider's wire format, so that the
//! adapters, the demo and the tests run on one machine with no provider account.
//!
//! A sandbox is a real component reached over real HTTP, not a mock: it checks credentials and
//! request rules as the provider documents them, answers errors in the provider's shape, lets
//! payments wait for the customer and complete asynchronously, and sends signed webhooks.
//!
//! Every sandbox can also be told to misbehave ([`misbehave`]): send a webhook twice, late,
//! never, out of order or badly signed, answer 500, hang, or take a payment and lose the
//! answer; globally or for one payment, through `POST /_sandbox/misbehave`.

pub mod caurisflux;
pub mod mypvit;
pub mod novasend;
pub mod scalapay;

/// What every sandbox needs: serving its listener in the background, the time in the
/// providers' RFC 3339 form, and misbehaving on demand.
pub(crate) mod common {
    pub(crate) use super::misbehave::{Misbehaviours, admin_routes, api_faults};

    /// Serves `app` on `listener` in the background, with each caller's address available to
    /// handlers (sandboxes that allow-list callers read it); a failure is logged with the
    /// sandbox's name.
    pub(crate) fn serve(listener: tokio::net::TcpListener, app: axum::Router, name: &'static str) {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the {name} sandbox stopped");
            }
        });
    }

    /// Now, as RFC 3339 text.
    pub(crate) fn now_rfc3339() -> String {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

pub mod misbehave;

pub mod standalone {
    //! One sandbox alone, outside the verifier: `verifier sandbox <provider> [listen-addr]`.
    //!
    //! Credentials, signing secrets and the webhook target come from the environment:
    //! `SANDBOX_API_KEY`, `SANDBOX_API_SECRET`, `SANDBOX_WEBHOOK_SECRET` and
    //! `SANDBOX_WEBHOOK_URL` (defaults: `sandbox_key`, `sandbox_secret`, `sandbox_webhook_secret`,
    //! `http://127.0.0.1:8080/webhooks/<provider>`; CaurisFlux's key defaults are
    //! `pk_test_sandbox` and `sk_test_sandbox`, and it prints its API base URL, `…/api/v1`).

    use anyhow::{Context, bail};

    fn env(name: &str, default: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| default.to_owned())
    }

    /// Runs the named sandbox until Ctrl-C.
    pub async fn run(name: &str, listen: &str) -> anyhow::Result<()> {
        let listen = listen.parse().with_context(|| format!("invalid listen address {listen:?}"))?;
        let base_url = match name {
            "novasend" | "nova_send" => {
                let sandbox = super::novasend::NovaSendSandbox::start(
                    super::novasend::SandboxConfig {
                        listen,
                        confirm_delay_ms: 3000,
                        expire_after_ms: 120_000,
                        webhook_url: None,
                    },
                    super::novasend::Merchant {
                        api_key: env("SANDBOX_API_KEY", "sandbox_key"),
                        api_client: env("SANDBOX_API_SECRET", "sandbox_secret"),
                        webhook_url: env("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/nova_send"),
                        webhook_secret: env("SANDBOX_WEBHOOK_SECRET", "sandbox_webhook_secret"),
                    },
                )
                .await?;
                sandbox.base_url()
            }
            "caurisflux" | "cauris_flux" => {
                // CaurisFlux keys carry their environment: the sandbox takes test keys.
                let sandbox = super::caurisflux::CaurisFluxSandbox::start(
                    super::caurisflux::SandboxConfig {
                        listen,
                        confirm_delay_ms: 3000,
                        expire_after_ms: 120_000,
                        webhook_url: None,
                        rate_per_minute: super::caurisflux::DEFAULT_RATE_PER_MINUTE,
                        rate_per_hour: super::caurisflux::DEFAULT_RATE_PER_HOUR,
                        allowed_ips: Vec::new(),
                    },
                    super::caurisflux::Merchant {
                        public_key: env("SANDBOX_API_KEY", "pk_test_sandbox"),
                        secret_key: env("SANDBOX_API_SECRET", "sk_test_sandbox"),
                        webhook_url: env("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/cauris_flux"),
                        webhook_secret: env("SANDBOX_WEBHOOK_SECRET", "sandbox_webhook_secret"),
                    },
                )
                .await?;
                sandbox.api_url()
            }
            "scalapay" => {
                // Scalapay signs webhooks with the API key; its published sandbox key is the default.
                let sandbox = super::scalapay::ScalapaySandbox::start(
                    super::scalapay::SandboxConfig {
                        listen,
                        order_expiry_ms: crate::providers::scalapay::wire::DEFAULT_ORDER_EXPIRY_MS,
                        max_order_amount_minor: 200_000,
                        webhook_url: None,
                    },
                    super::scalapay::Merchant {
                        api_key: env("SANDBOX_API_KEY", "qhtfs87hjnc12kkos"),
                        webhook_url: env("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/scalapay"),
                    },
                )
                .await?;
                sandbox.base_url()
            }
            "mypvit" | "my_pvit" => {
                // The account of the verifier's sample configuration: SANDBOX_API_KEY is the
                // operation account, SANDBOX_API_SECRET the renewal password, and keys and
                // callbacks go to SANDBOX_WEBHOOK_URL (the verifier's secret path).
                let hook = env("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/my_pvit/sandbox_token");
                let sandbox = super::mypvit::MyPvitSandbox::start(
                    super::mypvit::SandboxConfig {
                        listen,
                        confirm_delay_ms: 3000,
                        secret_ttl_s: 3600,
                        link_expire_after_ms: 600_000,
                        callback_url: None,
                    },
                    super::mypvit::Merchant::standalone(
                        env("SANDBOX_API_KEY", "ACC_SANDBOX0001"),
                        env("SANDBOX_API_SECRET", "sandbox_secret"),
                        hook,
                    ),
                )
                .await?;
                sandbox.base_url()
            }
            other => bail!("unknown sandbox {other:?}; known: novasend, caurisflux, scalapay, mypvit"),
        };
        println!("{name} sandbox listening on {base_url}");
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}

//! The `verifier` binary: `verifier [serve] [config.toml]` runs the service until Ctrl-C or
//! SIGTERM; `verifier check-config` says what a configuration sets and whether it starts;
//! `verifier migrate` applies the database's migrations; `verifier keys create|list|revoke`
//! manages the merchant API keys stored (hashed) in the configured database
//! ([`server::merchant_keys`]); `verifier webhooks test|redeliver` checks the merchant's
//! endpoint and queues an event again. `verifier --help` and `verifier <command> --help` say
//! the same with every option.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use server::{checkouts::rfc3339, config::Settings, merchant_keys, startup::Application, store, telemetry};

/// jemalloc instead of glibc's malloc, with its background threads purging unused pages: glibc
/// kept the memory of closed connections in its arenas (a debug verifier that had held 10,000
/// SSE streams stayed at 204 MB after they closed; with jemalloc it is back to 52 MB 15 s
/// later). mimalloc, also measured, held 321-359 MB and kept most of it.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The payment verifier: the server a shop hosts to take mobile-money and card payments through
/// its providers. It alone holds the providers' keys, verifies their webhooks, polls them when
/// webhooks do not come, and tells the shop's backend what was really paid.
///
/// Without a command it runs the service (`serve`). Every command reads the TOML configuration
/// file given last (`verifier.toml` by default); `VERIFIER_…` environment variables override
/// its secrets (see the README, "Running the verifier for real").
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// The configuration file, when running the service without naming the command.
    #[arg(default_value = "verifier.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The configuration file argument of every command.
#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// The TOML configuration file.
    #[arg(default_value = "verifier.toml")]
    config: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the service (the default command): the HTTP API, the status polling, the inbox of
    /// provider notifications and the merchant webhooks, until Ctrl-C or SIGTERM, which let the
    /// requests in flight finish (10 s at most) and stop the background work between two items.
    /// Applies the database's migrations first.
    Serve(ConfigArg),
    /// Loads and validates the configuration, prints what it sets (mode, database without its
    /// password, each provider: test or live, host, webhook secret set or not; never a secret)
    /// and exits: 0 when the verifier would start with it, 1 with the reason otherwise. Opens no
    /// database and calls no provider.
    CheckConfig(ConfigArg),
    /// Applies the database migrations (SQLite or PostgreSQL, by `database_url`) and exits:
    /// before a rolling upgrade of several instances, or to check a database URL.
    Migrate(ConfigArg),
    /// Merchant API keys stored (hashed) in the configured database.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// The merchant's webhook endpoint (`[merchant_webhooks]`): send it a signed test event, or
    /// queue an event again.
    Webhooks {
        #[command(subcommand)]
        action: WebhooksAction,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Makes a key of the verifier's mode and prints it once: only its hash is stored.
    Create(ConfigArg),
    /// Lists the keys: id, mode, last four characters, dates. Never a whole key.
    List(ConfigArg),
    /// Revokes a key by its id (`mkey_…`); running verifiers refuse it within 5 s.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksAction {
    /// Sends a signed test event (type `verifier.test`, Standard Webhooks headers, signed with
    /// `[merchant_webhooks] secret`) to the configured endpoint and prints its answer; exits 0
    /// when the endpoint answered 2xx. Nothing is stored.
    Test(ConfigArg),
    /// Queues an event (`evt_…`, as `GET /v1/checkouts/{id}/events` lists them) for delivery
    /// again, with the same `webhook-id`, e.g. after fixing the endpoint: a running verifier
    /// sends it within a second.
    Redeliver {
        /// The event's id, `evt_…`.
        event: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn load(path: &Path) -> anyhow::Result<Settings> {
    Settings::load(path).with_context(|| format!("failed to load the configuration from {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => serve(&cli.config).await,
        Some(Command::Serve(ConfigArg { config })) => serve(&config).await,
        Some(Command::CheckConfig(ConfigArg { config })) => check_config(&config),
        Some(Command::Migrate(ConfigArg { config })) => {
            telemetry::init();
            let settings = load(&config)?;
            store::migrate(&settings.database_url).await?;
            eprintln!("The database is migrated.");
            Ok(())
        }
        Some(Command::Keys { action }) => {
            telemetry::init();
            keys(action).await
        }
        Some(Command::Webhooks { action }) => {
            telemetry::init();
            webhooks(action).await
        }
    }
}

async fn serve(config: &Path) -> anyhow::Result<()> {
    let settings = load(config)?;
    telemetry::init_as(settings.log.format);
    let app = Application::build(settings).await?;
    tracing::info!(url = %app.base_url(), "verifier listening");
    app.run_until_stopped().await
}

/// `check-config`: the report on stdout, or the reason on stderr and exit status 1.
fn check_config(config: &Path) -> anyhow::Result<()> {
    let report = load(config).and_then(|settings| settings.report().context("refused configuration"));
    match report {
        Ok(report) => {
            println!("{}: valid", config.display());
            print!("{report}");
            Ok(())
        }
        Err(e) => {
            eprintln!("{}: not valid: {e:#}", config.display());
            std::process::exit(1);
        }
    }
}

async fn keys(action: KeysAction) -> anyhow::Result<()> {
    let config = match &action {
        KeysAction::Create(c) | KeysAction::List(c) | KeysAction::Revoke { config: c, .. } => &c.config,
    };
    let settings = load(config)?;
    let mode = settings.validate().context("refused configuration")?;
    let store = store::open(&settings.database_url, store::SystemClock::shared()).await?;
    match action {
        KeysAction::Create(_) => {
            let (record, key) = merchant_keys::create(store.as_ref(), mode).await?;
            eprintln!("Created {} ({} mode). The key is shown once; keep it secret:", record.id, record.mode);
            println!("{}", key.expose_secret());
        }
        KeysAction::List(_) => {
            println!("{:<22} {:<5} {:<8} {:<21} revoked", "id", "mode", "ends", "created");
            for k in store.merchant_keys().await? {
                let revoked = k.revoked_at.map_or_else(|| "-".to_owned(), rfc3339);
                println!("{:<22} {:<5} …{:<7} {:<21} {revoked}", k.id, k.mode, k.hint, rfc3339(k.created_at));
            }
        }
        KeysAction::Revoke { id, .. } => {
            if store.merchant_key_revoke(&id, server::checkouts::now()).await? {
                println!("Revoked {id}.");
            } else {
                anyhow::bail!("no active key has the id {id:?} (see `verifier keys list`)");
            }
        }
    }
    Ok(())
}

async fn webhooks(action: WebhooksAction) -> anyhow::Result<()> {
    match action {
        WebhooksAction::Test(ConfigArg { config }) => {
            let settings = load(&config)?;
            let mode = settings.validate().context("refused configuration")?;
            let hooks = settings.merchant_webhooks.as_ref().context(
                "no merchant webhook endpoint is configured ([merchant_webhooks] url and secret, or \
                 VERIFIER_MERCHANT_WEBHOOK_URL and VERIFIER_MERCHANT_WEBHOOK_SECRET)",
            )?;
            let endpoint = hooks.endpoint()?;
            println!("POST {} (a signed verifier.test event)", endpoint.url);
            let answer = server::outbox::send_test_event(&endpoint, mode.is_live()).await?;
            print!("{answer}");
            anyhow::ensure!(answer.accepted(), "the endpoint did not accept the test event");
            Ok(())
        }
        WebhooksAction::Redeliver { event, config } => {
            let settings = load(&config.config)?;
            settings.validate().context("refused configuration")?;
            let store = store::open(&settings.database_url, store::SystemClock::shared()).await?;
            if store.redeliver(&event, server::checkouts::now_ms()).await? {
                println!("Queued {event} for delivery again: a running verifier sends it within a second.");
                if settings.merchant_webhooks.is_none() {
                    eprintln!("Note: no [merchant_webhooks] endpoint is configured; it waits until one is.");
                }
                Ok(())
            } else {
                anyhow::bail!("no event has the id {event:?} (see GET /v1/checkouts/{{id}}/events)")
            }
        }
    }
}

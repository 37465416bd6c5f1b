//! The `verifier` binary: `verifier [config.toml]` runs the service until Ctrl-C or SIGTERM;
//! `verifier keys create|list|revoke <id> [config.toml]` manages the merchant API keys stored
//! (hashed) in the configured database ([`server::merchant_keys`]); `verifier migrate
//! [config.toml]` applies the configured database's migrations and exits (they are also applied
//! at every start).

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

/// The payment verifier.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// The configuration file, when running the service.
    #[arg(default_value = "verifier.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Merchant API keys stored (hashed) in the configured database.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Applies the database migrations (SQLite or PostgreSQL, by `database_url`) and exits:
    /// before a rolling upgrade of several instances, or to check a database URL.
    Migrate {
        /// The configuration file (its `database_url`, or `VERIFIER_DATABASE_URL`).
        #[arg(default_value = "verifier.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Makes a key of the verifier's mode and prints it once: only its hash is stored.
    Create {
        /// The configuration file (its database and mode).
        #[arg(default_value = "verifier.toml")]
        config: PathBuf,
    },
    /// Lists the keys: id, mode, last four characters, dates. Never a whole key.
    List {
        /// The configuration file.
        #[arg(default_value = "verifier.toml")]
        config: PathBuf,
    },
    /// Revokes a key by its id (`mkey_…`); running verifiers refuse it within 5 s.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: String,
        /// The configuration file.
        #[arg(default_value = "verifier.toml")]
        config: PathBuf,
    },
}

fn load(path: &Path) -> anyhow::Result<Settings> {
    Settings::load(path).with_context(|| format!("failed to load the configuration from {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command {
        None => {
            let app = Application::build(load(&cli.config)?).await?;
            tracing::info!(url = %app.base_url(), "verifier listening");
            app.run_until_stopped().await
        }
        Some(Command::Keys { action }) => keys(action).await,
        Some(Command::Migrate { config }) => {
            let settings = load(&config)?;
            store::migrate(&settings.database_url).await?;
            eprintln!("The database is migrated.");
            Ok(())
        }
    }
}

async fn keys(action: KeysAction) -> anyhow::Result<()> {
    let config = match &action {
        KeysAction::Create { config } | KeysAction::List { config } | KeysAction::Revoke { config, .. } => {
            config
        }
    };
    let settings = load(config)?;
    let mode = settings.validate().context("refused configuration")?;
    let store = store::open(&settings.database_url, store::SystemClock::shared()).await?;
    match action {
        KeysAction::Create { .. } => {
            let (record, key) = merchant_keys::create(store.as_ref(), mode).await?;
            eprintln!("Created {} ({} mode). The key is shown once; keep it secret:", record.id, record.mode);
            println!("{}", key.expose_secret());
        }
        KeysAction::List { .. } => {
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

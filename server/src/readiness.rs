//! Whether this verifier can serve (`GET /readyz`): its database answers a query within a
//! deadline and has every migration of this build applied; with, for the operator, each
//! provider's latest call outcome (from the adapters' HTTP clients,
//! [`crate::providers::http::CallLog`]). A provider's failure does not make the verifier
//! unready: payments through the others go on, and its own are reconciled once it answers.

use std::time::Duration;

use serde::Serialize;

use crate::{checkouts::Checkouts, metrics::CallError, store::StoreError};

/// How long the database may take to answer.
pub const DATABASE_DEADLINE: Duration = Duration::from_secs(3);

/// A ready verifier's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Always `ready`.
    pub status: &'static str,
    /// The database's state.
    pub database: DatabaseState,
    /// Each configured provider's latest call.
    pub providers: Vec<ProviderState>,
}

/// The database of a ready verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseState {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Migrations of this build not applied: 0.
    pub migrations_pending: usize,
}

/// One provider's latest call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderState {
    /// `nova_send`, `cauris_flux`, `my_pvit`, `scalapay`.
    pub provider: &'static str,
    /// The latest call, `null` before the first.
    pub last_call: Option<CallState>,
}

/// How a provider's latest call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallState {
    /// `ok` (any answer but 401, 403, 429 and 5xx) or `error`.
    pub outcome: &'static str,
    /// For an error: `timeout`, `transport`, `unauthorized`, `rate_limited`, `server_error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// When it ended (RFC 3339).
    pub at: String,
}

/// Why the verifier is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The database failed to answer (or took longer than [`DATABASE_DEADLINE`]).
    #[error("the database does not answer: {0}")]
    DatabaseUnreachable(String),
    /// The database lacks migrations of this build (another version's database, or a
    /// migration left half-way).
    #[error("the database lacks {0} migration(s) of this build")]
    MigrationsPending(usize),
}

impl From<StoreError> for NotReady {
    fn from(e: StoreError) -> NotReady {
        NotReady::DatabaseUnreachable(e.to_string())
    }
}

/// Asks the database, then reads each provider's latest call.
pub async fn check(checkouts: &Checkouts, backend: crate::store::Backend) -> Result<Readiness, NotReady> {
    let pending = tokio::time::timeout(DATABASE_DEADLINE, checkouts.store().migrations_pending())
        .await
        .map_err(|_| NotReady::DatabaseUnreachable(format!("no answer within {DATABASE_DEADLINE:?}")))??;
    if pending > 0 {
        return Err(NotReady::MigrationsPending(pending));
    }
    let providers = checkouts
        .provider_calls()
        .into_iter()
        .map(|(provider, last)| ProviderState {
            provider: provider.as_str(),
            last_call: last.map(|call| CallState {
                outcome: if call.error.is_some() { "error" } else { "ok" },
                error: call.error.map(CallError::as_str),
                at: crate::checkouts::rfc3339(call.at_ms / 1000),
            }),
        })
        .collect();
    Ok(Readiness {
        status: "ready",
        database: DatabaseState {
            backend: match backend {
                crate::store::Backend::Sqlite => "sqlite",
                crate::store::Backend::Postgres => "postgres",
            },
            migrations_pending: 0,
        },
        providers,
    })
}

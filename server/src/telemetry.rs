//! Logging set-up: `RUST_LOG`-style filtering, compact output. Secrets never reach a log line:
//! keys are `secrecy` types, and sensitive headers are marked before the trace layer sees them.

/// Installs the global subscriber once; later calls do nothing (tests call it many times).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

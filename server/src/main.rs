//! The `verifier` binary: telemetry, configuration, then the application until Ctrl-C.

use anyhow::Context;
use server::{config::Settings, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let path = std::env::args().nth(1).unwrap_or_else(|| "verifier.toml".to_owned());
    let settings = Settings::load(std::path::Path::new(&path))
        .with_context(|| format!("failed to load the configuration from {path}"))?;
    let app = Application::build(settings).await?;
    tracing::info!(url = %app.base_url(), "verifier listening");
    app.run_until_stopped().await
}

//! The `verifier` binary: `verifier [config.toml]` runs the service until Ctrl-C or SIGTERM.

use anyhow::Context;
use server::{config::Settings, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "verifier.toml".to_owned());
    telemetry::init();
    let settings = Settings::load(std::path::Path::new(&arg))
        .with_context(|| format!("failed to load the configuration from {arg}"))?;
    let app = Application::build(settings).await?;
    tracing::info!(url = %app.base_url(), "verifier listening");
    app.run_until_stopped().await
}

//! `verifier-crashable <config.toml>`: the verifier service exactly as `verifier` runs it, with
//! its crash points compiled in and the one named by `VERIFIER_CRASH_AT` armed (see
//! [`server::crashpoints`]). Only the kill tests run it.

use anyhow::Context;
use server::{config::Settings, crashpoints, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let armed = crashpoints::arm_from_env()?;
    let path = std::env::args().nth(1).context("usage: verifier-crashable <config.toml>")?;
    let settings = Settings::load(std::path::Path::new(&path))
        .with_context(|| format!("failed to load the configuration from {path}"))?;
    let app = Application::build(settings).await?;
    // The test waits for this line before it talks to the service.
    eprintln!("verifier ready on {} (crash point: {})", app.base_url(), armed.unwrap_or("none"));
    app.run_until_stopped().await
}

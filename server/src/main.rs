//! The `verifier` binary: `verifier [config.toml]` runs the service until Ctrl-C or SIGTERM;
//! `verifier test-numbers` prints the sandboxes' test phone numbers and what each does;
//! `verifier sandbox <provider> [listen-addr]` runs one provider sandbox alone (credentials
//! and webhook target from `SANDBOX_*` environment variables, see [`server::sandbox::standalone`]).

use anyhow::Context;
use server::{config::Settings, sandbox, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "verifier.toml".to_owned());
    if arg == "test-numbers" {
        for t in sandbox::novasend::TEST_NUMBERS {
            println!("    NovaSend  {:<16} {}", t.msisdn, t.outcome.describe());
        }
        println!(
            "    NovaSend  any number ending in 0000001..0000004 behaves as above, whatever its operator"
        );
        println!("    NovaSend  any other number  {}", sandbox::novasend::Outcome::WaitsForPage.describe());
        println!(
            "    NovaSend  Orange Money: one-time code 000000 is refused, any other 4-6 digits accepted"
        );
        for t in sandbox::caurisflux::TEST_TRIGGERS {
            println!("    CaurisFlux  any number ending {}  {}", t.suffix, t.outcome.describe());
        }
        println!("    CaurisFlux  any other number    {}", sandbox::caurisflux::Outcome::Waits.describe());
        for c in sandbox::scalapay::TEST_CARDS {
            println!("    Scalapay  {:<19} {}", c.number, c.outcome.describe());
        }
        for t in sandbox::mypvit::TEST_NUMBERS {
            println!("    MyPVit    {:<16} {}", t.number, t.trigger.describe());
        }
        println!("    MyPVit    {}", sandbox::mypvit::AMOUNT_RULE);
        return Ok(());
    }
    if arg == "sandbox" {
        telemetry::init();
        let mut rest = std::env::args().skip(2);
        let name = rest.next().unwrap_or_default();
        let listen = rest.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
        return sandbox::standalone::run(&name, &listen).await;
    }
    telemetry::init();
    let settings = Settings::load(std::path::Path::new(&arg))
        .with_context(|| format!("failed to load the configuration from {arg}"))?;
    let app = Application::build(settings).await?;
    tracing::info!(url = %app.base_url(), "verifier listening");
    for (name, url) in app.sandbox_urls() {
        tracing::info!(%url, "{name} sandbox listening");
    }
    app.run_until_stopped().await
}

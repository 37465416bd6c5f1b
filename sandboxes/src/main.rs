//! `provider-sandbox`: runs the provider sandboxes outside any verifier.
//!
//! `provider-sandbox novasend|caurisflux|scalapay|mypvit [--listen ADDR] …` runs one;
//! `provider-sandbox all [--novasend-listen ADDR …]` runs the four, each on its own listener
//! (127.0.0.1:8091 to 8094 by default); `provider-sandbox test-numbers` prints every trigger.
//! Credentials, signing secrets and webhook targets come from flags or the environment
//! variables named in `--help` (e.g. `NOVASEND_WEBHOOK_SECRET`). Each base URL is printed on
//! start, as `<provider> <url>` on its own line; the process runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, builder::TypedValueParser};
use sandboxes::{caurisflux, mypvit, novasend, scalapay};

#[derive(Debug, Parser)]
#[command(name = "provider-sandbox", about = "NovaSend, CaurisFlux, Scalapay and MyPVit sandboxes over HTTP")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the NovaSend sandbox.
    Novasend {
        /// Where it listens.
        #[arg(long, default_value = "127.0.0.1:8091")]
        listen: SocketAddr,
        #[command(flatten)]
        account: NovaSendArgs,
    },
    /// Runs the CaurisFlux sandbox (its API under `/api/v1`).
    Caurisflux {
        /// Where it listens.
        #[arg(long, default_value = "127.0.0.1:8092")]
        listen: SocketAddr,
        #[command(flatten)]
        account: CaurisFluxArgs,
    },
    /// Runs the Scalapay sandbox.
    Scalapay {
        /// Where it listens.
        #[arg(long, default_value = "127.0.0.1:8093")]
        listen: SocketAddr,
        #[command(flatten)]
        account: ScalapayArgs,
    },
    /// Runs the MyPVit sandbox.
    Mypvit {
        /// Where it listens.
        #[arg(long, default_value = "127.0.0.1:8094")]
        listen: SocketAddr,
        #[command(flatten)]
        account: MyPvitArgs,
    },
    /// Runs the four, each on its own listener.
    All(Box<AllArgs>),
    /// Prints every test number, card and trigger, and what each does.
    TestNumbers,
}

#[derive(Debug, Args)]
struct AllArgs {
    /// Where NovaSend listens.
    #[arg(long, default_value = "127.0.0.1:8091")]
    novasend_listen: SocketAddr,
    /// Where CaurisFlux listens.
    #[arg(long, default_value = "127.0.0.1:8092")]
    caurisflux_listen: SocketAddr,
    /// Where Scalapay listens.
    #[arg(long, default_value = "127.0.0.1:8093")]
    scalapay_listen: SocketAddr,
    /// Where MyPVit listens.
    #[arg(long, default_value = "127.0.0.1:8094")]
    mypvit_listen: SocketAddr,
    #[command(flatten)]
    novasend: NovaSendArgs,
    #[command(flatten)]
    caurisflux: CaurisFluxArgs,
    #[command(flatten)]
    scalapay: ScalapayArgs,
    #[command(flatten)]
    mypvit: MyPvitArgs,
}

/// Delays shared by the providers that simulate a customer.
const CONFIRM_DELAY_MS: u64 = 3000;

#[derive(Debug, Args)]
struct NovaSendArgs {
    /// The Basic-auth user.
    #[arg(long, env = "NOVASEND_API_KEY", hide_env_values = true, default_value = "ns_demo_key")]
    novasend_api_key: String,
    /// The Basic-auth password.
    #[arg(long, env = "NOVASEND_API_CLIENT", hide_env_values = true, default_value = "ns_demo_client")]
    novasend_api_client: String,
    /// The webhook signing secret.
    #[arg(
        long,
        env = "NOVASEND_WEBHOOK_SECRET",
        hide_env_values = true,
        default_value = "ns_demo_webhook_secret"
    )]
    novasend_webhook_secret: String,
    /// Where webhooks go.
    #[arg(long, env = "NOVASEND_WEBHOOK_URL", default_value = "http://127.0.0.1:8080/webhooks/nova_send")]
    novasend_webhook_url: String,
}

impl NovaSendArgs {
    fn merchant(self) -> novasend::Merchant {
        novasend::Merchant {
            api_key: self.novasend_api_key,
            api_client: self.novasend_api_client,
            webhook_url: self.novasend_webhook_url,
            webhook_secret: self.novasend_webhook_secret,
        }
    }
}

#[derive(Debug, Args)]
struct CaurisFluxArgs {
    /// The public key (`pk_test_…`).
    #[arg(long, env = "CAURISFLUX_PUBLIC_KEY", default_value = "pk_test_demo")]
    caurisflux_public_key: String,
    /// The secret key (`sk_test_…`).
    #[arg(long, env = "CAURISFLUX_SECRET_KEY", hide_env_values = true, default_value = "sk_test_demo")]
    caurisflux_secret_key: String,
    /// The webhook signing secret.
    #[arg(
        long,
        env = "CAURISFLUX_WEBHOOK_SECRET",
        hide_env_values = true,
        default_value = "cf_demo_webhook_secret"
    )]
    caurisflux_webhook_secret: String,
    /// Where webhooks go.
    #[arg(
        long,
        env = "CAURISFLUX_WEBHOOK_URL",
        default_value = "http://127.0.0.1:8080/webhooks/cauris_flux"
    )]
    caurisflux_webhook_url: String,
}

impl CaurisFluxArgs {
    fn merchant(self) -> caurisflux::Merchant {
        caurisflux::Merchant {
            public_key: self.caurisflux_public_key,
            secret_key: self.caurisflux_secret_key,
            webhook_url: self.caurisflux_webhook_url,
            webhook_secret: self.caurisflux_webhook_secret,
        }
    }
}

#[derive(Debug, Args)]
struct ScalapayArgs {
    /// The API key: Bearer token and webhook signing key (Scalapay's published test key by
    /// default).
    #[arg(long, env = "SCALAPAY_API_KEY", hide_env_values = true, default_value = "qhtfs87hjnc12kkos")]
    scalapay_api_key: String,
    /// Where webhooks go.
    #[arg(long, env = "SCALAPAY_WEBHOOK_URL", default_value = "http://127.0.0.1:8080/webhooks/scalapay")]
    scalapay_webhook_url: String,
}

impl ScalapayArgs {
    fn merchant(self) -> scalapay::Merchant {
        scalapay::Merchant { api_key: self.scalapay_api_key, webhook_url: self.scalapay_webhook_url }
    }
}

#[derive(Debug, Args)]
struct MyPvitArgs {
    /// The operation account's code.
    #[arg(long, env = "MYPVIT_OPERATION_ACCOUNT", default_value = "ACC_DEMO0000001")]
    mypvit_operation_account: String,
    /// The key-renewal password.
    #[arg(long, env = "MYPVIT_PASSWORD", hide_env_values = true, default_value = "mp_demo_password")]
    mypvit_password: String,
    /// The registered URL where keys and callbacks go (the verifier's secret path).
    #[arg(
        long,
        env = "MYPVIT_WEBHOOK_URL",
        default_value = "http://127.0.0.1:8080/webhooks/my_pvit/sandbox_token"
    )]
    mypvit_webhook_url: String,
    /// The registered success and failure redirection URL.
    #[arg(long, env = "MYPVIT_RETURN_URL", default_value = "http://127.0.0.1:8080/healthz")]
    mypvit_return_url: String,
    /// The HTTP status of AUTHENTICATION_FAILED (3100): 401 (the v2 web docs) or 403 (the
    /// integration document's table).
    #[arg(long, env = "MYPVIT_AUTH_FAILURE_STATUS", default_value_t = 401, value_parser = clap::builder::PossibleValuesParser::new(["401", "403"]).map(|s| s.parse::<u16>().unwrap_or(401)))]
    mypvit_auth_failure_status: u16,
    /// Refuse `/rest` and `/link` fields the document's parameter tables do not have.
    #[arg(long, env = "MYPVIT_STRICT_FIELDS")]
    mypvit_strict_fields: bool,
}

impl MyPvitArgs {
    fn merchant(self) -> mypvit::Merchant {
        mypvit::Merchant::with_default_codes(
            self.mypvit_operation_account,
            self.mypvit_password,
            self.mypvit_webhook_url,
            self.mypvit_return_url,
        )
    }
}

fn novasend_config(listen: SocketAddr) -> novasend::SandboxConfig {
    novasend::SandboxConfig { listen, confirm_delay_ms: CONFIRM_DELAY_MS, ..Default::default() }
}

fn caurisflux_config(listen: SocketAddr) -> caurisflux::SandboxConfig {
    caurisflux::SandboxConfig { listen, confirm_delay_ms: CONFIRM_DELAY_MS, ..Default::default() }
}

fn scalapay_config(listen: SocketAddr) -> scalapay::SandboxConfig {
    scalapay::SandboxConfig { listen, ..Default::default() }
}

fn mypvit_config(listen: SocketAddr, account: &MyPvitArgs) -> mypvit::SandboxConfig {
    mypvit::SandboxConfig {
        listen,
        confirm_delay_ms: CONFIRM_DELAY_MS,
        authentication_failure_status: account.mypvit_auth_failure_status,
        strict_fields: account.mypvit_strict_fields,
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let running = match cli.command {
        Command::TestNumbers => {
            print_test_numbers();
            return Ok(());
        }
        Command::Novasend { listen, account } => {
            vec![("novasend", novasend::start(novasend_config(listen), account.merchant()).await?)]
        }
        Command::Caurisflux { listen, account } => {
            vec![("caurisflux", caurisflux::start(caurisflux_config(listen), account.merchant()).await?)]
        }
        Command::Scalapay { listen, account } => {
            vec![("scalapay", scalapay::start(scalapay_config(listen), account.merchant()).await?)]
        }
        Command::Mypvit { listen, account } => {
            vec![("mypvit", mypvit::start(mypvit_config(listen, &account), account.merchant()).await?)]
        }
        Command::All(all) => {
            let AllArgs {
                novasend_listen,
                caurisflux_listen,
                scalapay_listen,
                mypvit_listen,
                novasend,
                caurisflux,
                scalapay,
                mypvit,
            } = *all;
            let all = sandboxes::start_all(sandboxes::AllConfig {
                novasend: sandboxes::Setup {
                    config: novasend_config(novasend_listen),
                    merchant: novasend.merchant(),
                },
                caurisflux: sandboxes::Setup {
                    config: caurisflux_config(caurisflux_listen),
                    merchant: caurisflux.merchant(),
                },
                scalapay: sandboxes::Setup {
                    config: scalapay_config(scalapay_listen),
                    merchant: scalapay.merchant(),
                },
                mypvit: sandboxes::Setup {
                    config: mypvit_config(mypvit_listen, &mypvit),
                    merchant: mypvit.merchant(),
                },
            })
            .await
            .context("failed to start the sandboxes")?;
            vec![
                ("novasend", all.novasend),
                ("caurisflux", all.caurisflux),
                ("scalapay", all.scalapay),
                ("mypvit", all.mypvit),
            ]
        }
    };
    for (name, sandbox) in &running {
        println!("{name} {}", sandbox.api_url());
    }
    shutdown_signal().await;
    drop(running);
    Ok(())
}

fn print_test_numbers() {
    for t in novasend::TEST_NUMBERS {
        println!("    NovaSend  {:<16} {}", t.msisdn, t.outcome.describe());
    }
    println!("    NovaSend  any number ending in 0000001..0000004 behaves as above, whatever its operator");
    println!("    NovaSend  any other number  {}", novasend::Outcome::WaitsForPage.describe());
    println!("    NovaSend  Orange Money: one-time code 000000 is refused, any other 4-6 digits accepted");
    for t in caurisflux::TEST_TRIGGERS {
        println!("    CaurisFlux  any number ending {}  {}", t.suffix, t.outcome.describe());
    }
    println!("    CaurisFlux  any other number    {}", caurisflux::Outcome::Waits.describe());
    for c in scalapay::TEST_CARDS {
        println!("    Scalapay  {:<19} {}", c.number, c.outcome.describe());
    }
    for t in mypvit::TEST_NUMBERS {
        println!("    MyPVit    {:<16} {}", t.number, t.trigger.describe());
    }
    println!("    MyPVit    {}", mypvit::AMOUNT_RULE);
    println!();
    println!(
        "Misbehaviour modes (POST /_sandbox/misbehave on each sandbox's root), beside the webhook and fault modes:"
    );
    println!(
        "    any       {{\"refuse\": CODE}}          API calls answer that error of the provider's table, in its shape"
    );
    println!(
        "    NovaSend, CaurisFlux, MyPVit: \"no_lookup_by_reference\"  a status lookup by the merchant's reference answers 404; the payment is still held"
    );
    println!(
        "    MyPVit, Scalapay: \"report_other_amount\", \"report_other_currency\", \"report_other_reference\"  the status (and Scalapay's capture) misreports the payment"
    );
    println!("    CaurisFlux refuses \"out_of_order\": it documents no event before a payment's final one");
    let novasend_codes: Vec<&str> = novasend::ERROR_CODES.iter().map(|(c, _)| *c).collect();
    println!("    NovaSend  refuse codes: {}, or \"500\"", novasend_codes.join(", "));
    let cauris_codes: Vec<&str> = caurisflux::ERROR_CODES.iter().map(|(c, ..)| *c).collect();
    println!("    CaurisFlux refuse codes: {}, or \"500\"", cauris_codes.join(", "));
    let scalapay_codes: Vec<&str> = scalapay::ERROR_CODES.iter().map(|(c, _)| *c).collect();
    println!("    Scalapay  refuse codes: {}, or \"401\"", scalapay_codes.join(", "));
    println!("    any       {{\"variant\": NAME}}         a documented variant of the provider's format:");
    println!("    CaurisFlux variants: {}", caurisflux::VARIANTS.join(", "));
    println!("    NovaSend  variants: {}", novasend::VARIANTS.join(", "));
    println!("    MyPVit    switches: --mypvit-auth-failure-status 403, --mypvit-strict-fields");
    println!(
        "    MyPVit    refuse codes: every type of the error table ({} rows), or its application code (\"3022\": the second CUSTOMER_PIN_NOT_SET row)",
        mypvit::ERRORS.len() + mypvit::SECOND_ROWS.len()
    );
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

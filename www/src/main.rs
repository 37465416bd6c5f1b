//! The `demo-shop` binary: `demo-shop <listen addr> <verifier url>`, with the merchant key in
//! `DEMO_MERCHANT_KEY` and the verifier's webhook secret in `DEMO_WEBHOOK_SECRET` (optional).
//! `cargo xtask demo` starts it.

use anyhow::Context;
use www::{DemoShop, ShopConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8000".into());
    let verifier_url = args.next().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let merchant_key = std::env::var("DEMO_MERCHANT_KEY").context("DEMO_MERCHANT_KEY is not set")?;
    let shop = DemoShop::start(ShopConfig {
        listen: listen.parse().context("invalid listen address")?,
        verifier_url,
        merchant_key,
        public_url: None,
        webhook_secret: std::env::var("DEMO_WEBHOOK_SECRET").ok(),
    })
    .await?;
    tracing::info!(url = %shop.base_url(), "demo shop listening");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

//! `bench-limit`: the limit of `cargo xtask bench`, a hello-world axum JSON handler loaded the
//! same way as the verifier (same load generator, connections and headers), so that each of the
//! verifier's figures can be read as a fraction of what this machine serves at all.
//!
//! Usage: `bench-limit <listen address>`. Every path and method answers `200`
//! `{"status":"ok"}`; the bench waits for `GET /healthz` before loading it. Like the verifier,
//! it runs tokio's multi-threaded runtime with its defaults.

use anyhow::Context;
use axum::{Json, Router};
use serde_json::{Value, json};

async fn ok() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    axum::serve(listener, Router::new().fallback(ok)).await?;
    Ok(())
}

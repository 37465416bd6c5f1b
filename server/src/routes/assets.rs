//! The widget's assets under `/widget/`, as `cargo xtask build-widget` writes them
//! (`xtask/src/widget.rs`): the loader `checkout.js` under its stable name, the glue and the
//! wasm under content-hashed names (`widget.<hash>.js`, `widget_bg.<hash>.wasm`), each with a
//! `.br` and a `.gz` sibling.
//!
//! tower-http's `ServeDir` picks the sibling the request's `Accept-Encoding` allows (brotli
//! first), with the original's `Content-Type` and `Content-Encoding` set, and answers
//! `If-Modified-Since` with 304. Caching is per name:
//!
//! - a hashed name never changes content (a new build is a new name), so browsers keep it for a
//!   year without asking again: `public, max-age=31536000, immutable`;
//! - the loader's URL is in the shops' pages and stays the same across builds: a short
//!   `public, max-age=300`, so a new build (new hashed names inside it) reaches every customer
//!   within five minutes, while a customer moving between a shop's pages does not fetch it
//!   again.
//!
//! CORS is open on these routes (set by the router): shops load the widget from their own
//! origin.

use std::path::Path;

use axum::{
    Router,
    http::{HeaderValue, Response, StatusCode, header},
};
use tower::ServiceBuilder;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

/// The loader's file name, the one stable URL (`/widget/checkout.js`).
pub const LOADER: &str = "checkout.js";
/// `Cache-Control` of the content-hashed files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the loader: see the module doc.
pub const LOADER_CACHE: &str = "public, max-age=300";

/// The routes under `/widget/` (to be nested there), serving `widget_dir`.
pub fn router<S: Clone + Send + Sync + 'static>(widget_dir: &Path) -> Router<S> {
    let loader = ServiceBuilder::new()
        .layer(cache_control(LOADER_CACHE))
        .layer(vary_accept_encoding())
        .service(ServeFile::new(widget_dir.join(LOADER)).precompressed_br().precompressed_gzip());
    let hashed = ServiceBuilder::new()
        .layer(cache_control(IMMUTABLE))
        .layer(vary_accept_encoding())
        .service(ServeDir::new(widget_dir).precompressed_br().precompressed_gzip());
    Router::new().route_service(&format!("/{LOADER}"), loader).fallback_service(hashed)
}

/// `Cache-Control: value` on a file served (200, 206) or confirmed unchanged (304); an error
/// (a 404 for a name of an older build) is not cached.
fn cache_control<B>(
    value: &'static str,
) -> SetResponseHeaderLayer<impl FnMut(&Response<B>) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, move |res: &Response<B>| {
        (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED)
            .then(|| HeaderValue::from_static(value))
    })
}

/// `Vary: accept-encoding`: the body depends on `Accept-Encoding` (brotli, gzip or none), so
/// a shared cache must keep one copy per encoding. tower-http's `ServeDir` sets it itself only
/// from 0.7.0 (https://github.com/tower-rs/tower-http/pull/692); `if_not_present` keeps this
/// harmless after that upgrade.
fn vary_accept_encoding() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(header::VARY, HeaderValue::from_static("accept-encoding"))
}

//! The merchant dashboard: server-rendered pages under `/dashboard`, behind the merchant's
//! login, in French and English, with no JavaScript and nothing loaded from elsewhere.
//!
//! - [`session`]: the login (the merchant secret key exchanged for an opaque session cookie),
//!   logout, and the CSRF token every POST form carries.
//! - [`pages`]: the handlers, thin: the overview (charts of the last 30 UTC days, read by
//!   [`crate::store::Store::overview`]), the payments table, a checkout's page (timeline with
//!   each change's cause, attempts, refunds, merchant events with their deliveries), and the
//!   actions, each behind a confirmation page: refund (full or partial, through
//!   [`crate::checkouts::Checkouts::refund`]), cancel an open checkout
//!   ([`crate::checkouts::Checkouts::merchant_cancel`]) and redeliver an event
//!   ([`crate::outbox::Outbox::redeliver`]).
//! - [`charts`]: the overview's SVG charts (plotters), each beside a table saying the same.
//! - [`i18n`]: every text, in both languages.
//!
//! Templates are askama's, in `server/templates/dashboard/` (compiled in, HTML-escaped). The
//! pages' Content-Security-Policy ([`CSP`]) loads nothing, allows the pages' own inline style
//! and inline SVG, posts forms only to this origin and lets no page frame them. Logins are
//! rate-limited per client address (`[limits] login_per_ip`, `routes::limits`).

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, SameSite};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::routes::{AppState, limits::RateLimits};

pub mod charts;
pub mod i18n;
pub mod pages;
pub mod session;

/// The dashboard's Content-Security-Policy: nothing loaded, the pages' own `<style>`, forms
/// sent only here, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes; `https` when browsers reach the verifier over HTTPS (the session
/// cookie is then `Secure`).
pub fn router(rate: &RateLimits, https: bool) -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(pages::overview))
        .route(
            "/dashboard/login",
            get(pages::login_page)
                .post(pages::login)
                .layer(rate.login())
                .layer(axum::middleware::map_response(pages::login_limited)),
        )
        .route("/dashboard/logout", post(pages::logout))
        .route("/dashboard/payments", get(pages::payments))
        .route("/dashboard/payments/{id}", get(pages::checkout))
        .route("/dashboard/payments/{id}/refund/confirm", post(pages::refund_confirm))
        .route("/dashboard/payments/{id}/refund", post(pages::refund))
        .route("/dashboard/payments/{id}/cancel/confirm", post(pages::cancel_confirm))
        .route("/dashboard/payments/{id}/cancel", post(pages::cancel))
        .route("/dashboard/events/{id}/redeliver/confirm", post(pages::redeliver_confirm))
        .route("/dashboard/events/{id}/redeliver", post(pages::redeliver))
        .layer(axum::middleware::from_fn(remember_lang))
        .layer(axum::Extension(session::Sessions::default()))
        .layer(axum::Extension(pages::Https(https)))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Keeps the language picked with the switch (`?lang=fr|en`) in a cookie for the next pages.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let picked = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")))
        .filter(|l| matches!(*l, "fr" | "en"))
        .map(str::to_owned);
    let mut response = next.run(req).await;
    if let Some(lang) = picked {
        let cookie = Cookie::build((i18n::LANG_COOKIE, lang))
            .path("/dashboard")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(time::Duration::days(365))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

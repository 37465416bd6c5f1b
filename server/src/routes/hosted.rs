//! The verifier's own pages around the widget: the hosted checkout page
//! `GET /pay/{checkout_id}` (the payment link `{public_url}/pay/{id}#{client_secret}` a merchant
//! sends by SMS or WhatsApp) and `GET /embed` (what the loader's iframe mode opens, for shops
//! whose Content-Security-Policy refuses WebAssembly).
//!
//! Both are static templates (`hosted/*.html`) that load the widget from `/widget/` and the
//! page's one script `/hosted/page.js`, which reads the client secret from the URL fragment
//! (never sent to the server, so never in a log or a `Referer`) and mounts the widget inline.
//! Their texts are the widget's own (fr/en); the pages add only a title. Each page is sent
//! with `Referrer-Policy: no-referrer` and a strict CSP: nothing but this origin, WebAssembly
//! compilation, and inline styles; `/embed` may be framed by the shops of `[public_api]
//! allowed_origins` (by any shop when none is set), `/pay` by none.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::AppState;
use crate::{config::Origin, error::AppError};

/// The pages' CSP, ending with the given `frame-ancestors` sources.
macro_rules! csp {
    ($ancestors:literal) => {
        concat!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; ",
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors ",
            $ancestors
        )
    };
}

/// `/embed`'s Content-Security-Policy when no shop origin is configured: any shop may frame it.
pub const EMBED_CSP: &str = csp!("*");
/// `/pay/{id}`'s Content-Security-Policy: nobody may frame it (it is a page of its own).
pub const PAY_CSP: &str = csp!("'none'");

const PAY_HTML: &str = include_str!("hosted/pay.html");
const EMBED_HTML: &str = include_str!("hosted/embed.html");
const UNKNOWN_HTML: &str = include_str!("hosted/unknown.html");
const PAGE_JS: &str = include_str!("hosted/page.js");

/// `/embed`'s Content-Security-Policy: only the shops of `origins` may frame it, any shop when
/// there is none.
pub fn embed_csp(origins: &[Origin]) -> String {
    if origins.is_empty() {
        return EMBED_CSP.to_owned();
    }
    let ancestors: Vec<&str> = origins.iter().map(Origin::as_str).collect();
    format!("{}{}", csp!(""), ancestors.join(" "))
}

/// The hosted pages' routes; `origins` are the shops that may frame `/embed`.
pub fn router(origins: &[Origin]) -> Router<AppState> {
    // An origin is a valid header value by construction; the fallback keeps `*`'s page working.
    let csp = HeaderValue::from_str(&embed_csp(origins)).unwrap_or(HeaderValue::from_static(EMBED_CSP));
    Router::new()
        .route("/pay/{checkout_id}", get(pay))
        .route("/embed", get(move || embed(csp.clone())))
        .route("/hosted/page.js", get(page_js))
}

/// The payment link's page, titled with the merchant's name; an unknown checkout is a 404 page.
async fn pay(State(state): State<AppState>, Path(checkout_id): Path<String>) -> Result<Response, AppError> {
    match state.checkouts.merchant_view(&checkout_id).await {
        Ok(checkout) => {
            let title = format!("{} · Paiement", state.checkouts.merchant_name());
            let html = PAY_HTML
                .replace("{{title}}", &escape(&title))
                .replace("{{checkout_id}}", &escape(&checkout.id));
            Ok(page(StatusCode::OK, html, HeaderValue::from_static(PAY_CSP)))
        }
        Err(AppError::NotFound) => {
            Ok(page(StatusCode::NOT_FOUND, UNKNOWN_HTML.to_owned(), HeaderValue::from_static(PAY_CSP)))
        }
        Err(e) => Err(e),
    }
}

/// The page the loader's iframe mode opens, with its CSP.
async fn embed(csp: HeaderValue) -> Response {
    page(StatusCode::OK, EMBED_HTML.to_owned(), csp)
}

async fn page_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        PAGE_JS,
    )
        .into_response()
}

fn page(status: StatusCode, html: String, csp: HeaderValue) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html,
    )
        .into_response()
}

/// HTML text escaping, for the merchant's name and the checkout id in the templates.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_merchant_name_stays_text() {
        assert_eq!(escape(r#"<b>"Wax" & Co's</b>"#), "&lt;b&gt;&quot;Wax&quot; &amp; Co&#39;s&lt;/b&gt;");
    }

    #[test]
    fn the_pages_allow_only_their_origin_and_wasm() {
        assert!(EMBED_CSP.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval';"));
        assert!(EMBED_CSP.ends_with("frame-ancestors *"));
        assert!(PAY_CSP.ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn the_embed_page_may_be_framed_by_the_configured_shops_only() {
        let origins: Vec<Origin> = ["https://shop.example", "http://127.0.0.1:8000"]
            .into_iter()
            .map(|o| Origin::try_from(o.to_owned()).unwrap())
            .collect();
        let csp = embed_csp(&origins);
        assert!(csp.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
        assert!(csp.ends_with("; frame-ancestors https://shop.example http://127.0.0.1:8000"), "{csp}");
        assert_eq!(embed_csp(&[]), EMBED_CSP);
    }

    #[test]
    fn the_templates_load_the_widget_and_no_inline_script() {
        for html in [PAY_HTML, EMBED_HTML] {
            assert!(html.contains(r#"<script src="/widget/checkout.js" defer></script>"#));
            assert!(html.contains(r#"<script src="/hosted/page.js" defer></script>"#));
            assert_eq!(html.matches("<script").count(), 2, "no inline script under this CSP");
            assert!(html.contains(r#"id="checkout""#));
        }
        assert!(!UNKNOWN_HTML.contains("<script"));
    }
}

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
//! compilation, and inline styles; `/embed` may be framed by any shop, `/pay` by none.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::AppState;
use crate::error::AppError;

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

/// `/embed`'s Content-Security-Policy: any shop may frame it.
pub const EMBED_CSP: &str = csp!("*");
/// `/pay/{id}`'s Content-Security-Policy: nobody may frame it (it is a page of its own).
pub const PAY_CSP: &str = csp!("'none'");

const PAY_HTML: &str = include_str!("hosted/pay.html");
const EMBED_HTML: &str = include_str!("hosted/embed.html");
const UNKNOWN_HTML: &str = include_str!("hosted/unknown.html");
const PAGE_JS: &str = include_str!("hosted/page.js");

/// The hosted pages' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{checkout_id}", get(pay))
        .route("/embed", get(embed))
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
            Ok(page(StatusCode::OK, html, PAY_CSP))
        }
        Err(AppError::NotFound) => Ok(page(StatusCode::NOT_FOUND, UNKNOWN_HTML.to_owned(), PAY_CSP)),
        Err(e) => Err(e),
    }
}

/// The page the loader's iframe mode opens.
async fn embed() -> Response {
    page(StatusCode::OK, EMBED_HTML.to_owned(), EMBED_CSP)
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

fn page(status: StatusCode, html: String, csp: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp)),
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

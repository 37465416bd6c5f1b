//! The public API the widget uses, authorised by the checkout's client secret alone: read what
//! is being paid, start the payment, cancel it while it waits for the customer, follow its
//! status (JSON or an SSE stream), and the QR code of the provider's page (SVG) for a customer
//! on a computer.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State},
    http::{Uri, header, request::Parts},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures_util::{Stream, StreamExt, future, stream};
use serde::Deserialize;
use shared::api::{PayRequest, PublicCheckout};
use shared::locale::Locale;
use shared::status::CheckoutStatus;

use super::{AppState, bearer};
use crate::{
    error::{AppError, AppJson},
    events::Full,
    qr,
};

/// The largest body `pay` reads (the whole API's limit is 64 KiB).
const PAY_BODY_LIMIT: usize = 4 * 1024;

/// The public API's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/public/checkouts/{id}", get(read))
        // A payment request is a method and a phone number: a few hundred bytes.
        .route("/v1/public/checkouts/{id}/pay", post(pay).layer(DefaultBodyLimit::max(PAY_BODY_LIMIT)))
        .route("/v1/public/checkouts/{id}/attempts/{attempt_id}/cancel", post(cancel))
        .route("/v1/public/checkouts/{id}/events", get(events))
        .route("/v1/public/checkouts/{id}/qr.svg", get(qr_svg))
}

/// The client secret, from `Authorization: Bearer …` or, for `EventSource` which cannot set
/// headers, the `client_secret` query parameter.
#[derive(Debug)]
pub struct ClientSecret(String);

/// `?lang=` of the QR code: the language of its `<title>` (French unless English).
#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

#[derive(Deserialize)]
struct SecretQuery {
    client_secret: Option<String>,
}

impl FromRequestParts<AppState> for ClientSecret {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        if let Some(secret) = bearer(parts) {
            return Ok(ClientSecret(secret.to_owned()));
        }
        let Query(q) = Query::<SecretQuery>::try_from_uri(&parts.uri).map_err(|_| AppError::Unauthorized)?;
        q.client_secret.map(ClientSecret).ok_or(AppError::Unauthorized)
    }
}

#[utoipa::path(get, path = "/v1/public/checkouts/{id}", tag = "public", security(("client_secret" = []), ("client_secret_query" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "What the widget shows: amount, methods, the latest attempt.", body = PublicCheckout)))]
async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientSecret(secret): ClientSecret,
) -> Result<Json<PublicCheckout>, AppError> {
    Ok(Json(state.checkouts.authorized_public_view(&id, &secret).await?))
}

#[utoipa::path(post, path = "/v1/public/checkouts/{id}/pay", tag = "public", security(("client_secret" = []), ("client_secret_query" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")), request_body = PayRequest,
    responses((status = 200, description = "The checkout with the new attempt (the provider was asked to charge the checkout's amount).", body = PublicCheckout)))]
async fn pay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientSecret(secret): ClientSecret,
    AppJson(req): AppJson<PayRequest>,
) -> Result<Json<PublicCheckout>, AppError> {
    let checkout = state.checkouts.authorize(&id, &secret).await?;
    Ok(Json(state.checkouts.pay(&checkout, req).await?))
}

#[utoipa::path(post, path = "/v1/public/checkouts/{id}/attempts/{attempt_id}/cancel", tag = "public", security(("client_secret" = []), ("client_secret_query" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`."),
        ("attempt_id" = String, Path, description = "The attempt waiting for the customer, `at_…` (the checkout's `attempt.id`).")),
    responses((status = 200, description = "The checkout with the attempt cancelled (`failed`, `CUSTOMER_CANCELLED`) and open for another try. No provider offers to cancel a pending payment, so the prompt may still reach the customer's phone: a confirmation the provider sends afterwards still pays the checkout. 409 `conflict` when the attempt already ended or was authorised (nothing changes).", body = PublicCheckout)))]
async fn cancel(
    State(state): State<AppState>,
    Path((id, attempt_id)): Path<(String, String)>,
    ClientSecret(secret): ClientSecret,
) -> Result<Json<PublicCheckout>, AppError> {
    let checkout = state.checkouts.authorize(&id, &secret).await?;
    Ok(Json(state.checkouts.cancel(&checkout, &attempt_id).await?))
}

/// The checkout's status as an SSE stream: `event: status` whose data is the `PublicCheckout`
/// JSON, first the state read after subscribing, then each change, read once for all of this
/// checkout's subscribers by the hub ([`crate::events`]); a comment every 15 s keeps proxies
/// from closing it. The stream ends after the first status that is final for the customer
/// (paid, expired, cancelled, refunded) and at the latest after `[public_api]
/// sse_max_lifetime_s` (the widget then reads the status and opens another). Over the hub's caps
/// the stream is refused with `503 unavailable` and `Retry-After`, and the widget polls.
#[utoipa::path(get, path = "/v1/public/checkouts/{id}/events", tag = "public", security(("client_secret" = []), ("client_secret_query" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "Server-sent events: `event: status` whose data is the `PublicCheckout` JSON, first the current state, then each change; a comment every 15 s; the stream ends after a status final for the customer and at the latest after `[public_api] sse_max_lifetime_s`; over the caps it is refused `503 unavailable` with `Retry-After`.", content_type = "text/event-stream", body = super::openapi::StatusEvent)))]
async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientSecret(secret): ClientSecret,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    state.checkouts.authorize(&id, &secret).await?;
    let hub = state.checkouts.events();
    // Subscribed before the first read, so that no change falls between the two.
    let mut subscription = hub.subscribe(&id, &state.checkouts).map_err(|full| {
        tracing::info!(reason = %full, "an SSE stream was refused");
        AppError::Unavailable {
            reason: match full {
                Full::Checkout => "too many status streams are open for this checkout",
                Full::Total => "too many status streams are open",
            },
            retry_after_s: STREAM_RETRY_AFTER_S,
        }
    })?;
    let first = subscription.snapshot().await.map_err(anyhow::Error::from)?;
    let views = Box::pin(stream::once(future::ready(first)).chain(subscription.updates()));
    // Each view goes out; after a final one the stream (and its subscription) ends at once,
    // without waiting for another change that may never come.
    let until_final = stream::unfold(Some(views), |views| async move {
        let mut views = views?;
        let view = views.next().await?;
        let more = (!is_final(&view)).then_some(views);
        Some((view, more))
    });
    let stream = until_final
        .take_until(tokio::time::sleep(hub.limits().max_lifetime))
        .map(|view| Ok(status_event(&view)));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `Retry-After` of a refused stream: about when the widget's polling would try again.
const STREAM_RETRY_AFTER_S: u32 = 5;

/// Whether a serialised `PublicCheckout` is in a status where nothing more is for the customer
/// to see (`CheckoutStatus::is_final_for_customer`); an unreadable one is not.
fn is_final(view: &str) -> bool {
    #[derive(Deserialize)]
    struct StatusOnly {
        status: CheckoutStatus,
    }
    serde_json::from_str::<StatusOnly>(view).is_ok_and(|v| v.status.is_final_for_customer())
}

/// The QR code of the latest live attempt's payment page, as `image/svg+xml`: only the link the
/// provider gave and the verifier stored, never anything the client sends.
#[utoipa::path(get, path = "/v1/public/checkouts/{id}/qr.svg", tag = "public", security(("client_secret" = []), ("client_secret_query" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`."),
        ("lang" = Option<String>, Query, nullable = false, description = "`en` for an English `<title>`; French otherwise.")),
    responses((status = 200, description = "The QR code of the latest live attempt's payment page.", content_type = "image/svg+xml", body = String)))]
async fn qr_svg(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    ClientSecret(secret): ClientSecret,
) -> Result<Response, AppError> {
    state.checkouts.authorize(&id, &secret).await?;
    let url = state.checkouts.live_payment_url(&id).await?;
    // An unreadable query only loses the language.
    let lang = Query::<LangQuery>::try_from_uri(&uri).ok().and_then(|Query(q)| q.lang);
    let title = match lang.as_deref().map_or(Locale::Fr, Locale::from_tag) {
        Locale::Fr => "Code QR de la page de paiement",
        Locale::En => "QR code of the payment page",
    };
    let svg = qr::svg(&url, title).ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
            // Opened on its own, the image may run nothing and load nothing.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        svg,
    )
        .into_response())
}

/// One `status` event; `view` is the `PublicCheckout` JSON, serialised once by the hub.
fn status_event(view: &str) -> Event {
    Event::default().event("status").data(view)
}

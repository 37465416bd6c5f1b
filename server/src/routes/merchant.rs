//! The merchant API, authenticated by the merchant's secret key: create a checkout, list them
//! (filtered, a page at a time), read one back (how a merchant's backend verifies a payment),
//! read its history, cancel it while it is open, refund it and read a refund, list its webhook
//! events and redeliver one. Every POST honours an `Idempotency-Key` header
//! ([`crate::idempotency`]).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::Serialize;
use shared::api::{Checkout, CheckoutList, CreateCheckout, CreateRefund, EventDelivery, Refund};

use super::{AppState, MerchantAuth};
use crate::{
    checkouts::{ListParams, rfc3339},
    error::{AppError, AppJson, AppQuery},
    outbox::Outbox,
};

/// The merchant API's routes, POSTs behind the idempotency guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/checkouts", post(create).get(list))
        .route("/v1/checkouts/{id}", get(read))
        .route("/v1/checkouts/{id}/cancel", post(cancel))
        .route("/v1/checkouts/{id}/history", get(history))
        .route("/v1/checkouts/{id}/refunds", post(create_refund).get(list_refunds))
        .route("/v1/checkouts/{id}/events", get(list_events))
        .route("/v1/refunds/{id}", get(read_refund))
        .route("/v1/events/{id}/redeliver", post(redeliver))
        .route_layer(axum::middleware::from_fn_with_state(state, crate::idempotency::guard))
}

#[utoipa::path(get, path = "/v1/checkouts/{id}/events", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "The checkout's webhook events with their deliveries, oldest first.", body = Vec<EventDelivery>)))]
async fn list_events(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventDelivery>>, AppError> {
    Ok(Json(Outbox::new(state.checkouts.store().clone()).events_of(&id).await?))
}

#[utoipa::path(post, path = "/v1/events/{id}/redeliver", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The event, `evt_…`."), ("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, description = "Makes a retry of this POST answer the first response instead of acting again (at most 255 characters; kept 48 h).")),
    responses((status = 202, description = "The event is queued for delivery again.", body = EventDelivery)))]
async fn redeliver(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<EventDelivery>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(Outbox::new(state.checkouts.store().clone()).redeliver(&id).await?)))
}

#[utoipa::path(post, path = "/v1/checkouts", tag = "merchant", security(("merchant_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, description = "Makes a retry of this POST answer the first response instead of acting again (at most 255 characters; kept 48 h).")), request_body = CreateCheckout,
    responses((status = 201, description = "The checkout, with its client secret and hosted payment link (returned only here).", body = Checkout)))]
async fn create(
    _: MerchantAuth,
    State(state): State<AppState>,
    AppJson(req): AppJson<CreateCheckout>,
) -> Result<(StatusCode, Json<Checkout>), AppError> {
    Ok((StatusCode::CREATED, Json(state.checkouts.create(req).await?)))
}

#[utoipa::path(get, path = "/v1/checkouts", tag = "merchant", security(("merchant_key" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of this verifier's checkouts (of its mode, test or live), newest first, each with its latest attempt; every filter given holds. `next_cursor` asks for the next page.", body = CheckoutList)))]
async fn list(
    _: MerchantAuth,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<CheckoutList>, AppError> {
    Ok(Json(state.checkouts.list(&params).await?))
}

#[utoipa::path(post, path = "/v1/checkouts/{id}/cancel", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`."), ("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, description = "Makes a retry of this POST answer the first response instead of acting again (at most 255 characters; kept 48 h).")),
    responses((status = 200, description = "The checkout, cancelled (by this call or an earlier one): no payment can start on it, and a `checkout.cancelled` event was sent. Only an open checkout can be cancelled: one with a payment under way, paid or expired is a 409 `conflict`.", body = Checkout)))]
async fn cancel(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Checkout>, AppError> {
    Ok(Json(state.checkouts.merchant_cancel(&id).await?))
}

#[utoipa::path(get, path = "/v1/refunds/{id}", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The refund, `rf_…`.")),
    responses((status = 200, description = "The refund, pending or final.", body = Refund)))]
async fn read_refund(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Refund>, AppError> {
    Ok(Json(state.checkouts.refund_by_id(&id).await?))
}

#[utoipa::path(get, path = "/v1/checkouts/{id}", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "The checkout and its attempts: `status` is `succeeded` only on the provider's word.", body = Checkout)))]
async fn read(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Checkout>, AppError> {
    Ok(Json(state.checkouts.merchant_view(&id).await?))
}

#[utoipa::path(post, path = "/v1/checkouts/{id}/refunds", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`."), ("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, description = "Makes a retry of this POST answer the first response instead of acting again (at most 255 characters; kept 48 h).")), request_body = CreateRefund,
    responses((status = 201, description = "The refund, pending or final.", body = Refund)))]
async fn create_refund(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    AppJson(req): AppJson<CreateRefund>,
) -> Result<(StatusCode, Json<Refund>), AppError> {
    // Checked by the idempotency guard before the handler runs.
    let key = headers.get(crate::idempotency::HEADER).and_then(|v| v.to_str().ok());
    Ok((StatusCode::CREATED, Json(state.checkouts.refund(&id, req, key).await?)))
}

#[utoipa::path(get, path = "/v1/checkouts/{id}/refunds", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "The checkout's refunds, oldest first.", body = Vec<Refund>)))]
async fn list_refunds(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Refund>>, AppError> {
    Ok(Json(state.checkouts.refunds(&id).await?))
}

/// One line of `GET /v1/checkouts/{id}/history`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct HistoryEntry {
    at: String,
    attempt_id: Option<String>,
    from: Option<String>,
    to: String,
    cause: String,
}

#[utoipa::path(get, path = "/v1/checkouts/{id}/history", tag = "merchant", security(("merchant_key" = [])),
    params(("id" = String, Path, description = "The checkout, `co_…`.")),
    responses((status = 200, description = "Every state change of the checkout and its attempts, oldest first.", body = Vec<HistoryEntry>)))]
async fn history(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, AppError> {
    let entries = state.checkouts.history(&id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|c| HistoryEntry {
                at: rfc3339(c.at),
                attempt_id: c.attempt_id,
                from: c.from,
                to: c.to,
                cause: c.cause,
            })
            .collect(),
    ))
}

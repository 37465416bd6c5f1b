//! The merchant API, authenticated by the merchant's secret key: create a checkout, read it
//! back (how a merchant's backend verifies a payment), read its history, refund it, list its
//! webhook events and redeliver one. Every POST honours an `Idempotency-Key` header
//! ([`crate::idempotency`]).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::Serialize;
use shared::api::{Checkout, CreateCheckout, CreateRefund, EventDelivery, Refund};

use super::{AppState, MerchantAuth};
use crate::{
    checkouts::rfc3339,
    error::{AppError, AppJson},
    outbox::Outbox,
};

/// The merchant API's routes, POSTs behind the idempotency guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/checkouts", post(create))
        .route("/v1/checkouts/{id}", get(read))
        .route("/v1/checkouts/{id}/history", get(history))
        .route("/v1/checkouts/{id}/refunds", post(create_refund).get(list_refunds))
        .route("/v1/checkouts/{id}/events", get(list_events))
        .route("/v1/events/{id}/redeliver", post(redeliver))
        .route_layer(axum::middleware::from_fn_with_state(state, crate::idempotency::guard))
}

async fn list_events(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventDelivery>>, AppError> {
    Ok(Json(Outbox::new(state.checkouts.store().clone()).events_of(&id).await?))
}

async fn redeliver(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<EventDelivery>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(Outbox::new(state.checkouts.store().clone()).redeliver(&id).await?)))
}

async fn create(
    _: MerchantAuth,
    State(state): State<AppState>,
    AppJson(req): AppJson<CreateCheckout>,
) -> Result<(StatusCode, Json<Checkout>), AppError> {
    Ok((StatusCode::CREATED, Json(state.checkouts.create(req).await?)))
}

async fn read(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Checkout>, AppError> {
    Ok(Json(state.checkouts.merchant_view(&id).await?))
}

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

async fn list_refunds(
    _: MerchantAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Refund>>, AppError> {
    Ok(Json(state.checkouts.refunds(&id).await?))
}

/// One line of `GET /v1/checkouts/{id}/history`.
#[derive(Debug, Serialize)]
struct HistoryEntry {
    at: String,
    attempt_id: Option<String>,
    from: Option<String>,
    to: String,
    cause: String,
}

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

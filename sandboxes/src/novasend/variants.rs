//! The webhook variants of [`super::VARIANTS`]: the body a webhook is sent with and the bytes
//! its signature covers, as the `variant` mode asks.

use serde_json::{Value, json};

use super::{Inner, routes::succeeded, wire::Payin};

/// The body to send and the bytes to sign for `payin`, whose record is `record`.
pub(super) fn webhook_body(inner: &Inner, payin: &Payin, record: Value) -> Option<(Vec<u8>, Vec<u8>)> {
    let compact = serde_json::to_string(&record).ok()?;
    let variant = |name: &str| inner.misbehave.variant(&compact, name);
    let final_event = if succeeded(payin) {
        Some("payin.confirmed")
    } else if payin.failure.is_some() {
        Some("payin.declined")
    } else {
        None
    };
    // A payin that ended has no page left to pay on: its record shows no `paymentUrl`, as in
    // the status example (`server/tests/fixtures/novasend/status_response.json`).
    let mut record = record;
    if final_event.is_some()
        && let Some(fields) = record.as_object_mut()
    {
        fields.remove("paymentUrl");
    }
    let mut body = match final_event {
        Some(event) if variant("wrapped_webhook") => json!({"event": event, "data": record}),
        _ => record,
    };
    if variant("event_id")
        && let Some(o) = body.as_object_mut()
    {
        // One id per event (the payin and the state it reached), whatever the copy.
        let state = serde_json::to_string(&payin.status).unwrap_or_default();
        let event_name =
            format!("{}:{state}:{}", payin.provider_reference(), final_event.unwrap_or("update"));
        o.insert(
            "eventId".into(),
            json!(format!("evt_{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, event_name.as_bytes()))),
        );
    }
    let signed = serde_json::to_vec(&body).ok()?;
    let sent =
        if variant("sign_reserialised") { serde_json::to_vec_pretty(&body).ok()? } else { signed.clone() };
    Some((sent, signed))
}

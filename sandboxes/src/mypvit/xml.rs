//! MyPVit's XML: its integration document v5.5 (https://docs.mypvit.pro/en/intro/integration-guide)
//! takes the REST and LINK bodies "application/json ou application/xml", and
//! `X-Callback-MediaType` asks for the final-status callback of a PAYMENT in `application/xml`
//! (JSON when absent).
//!
//! The document prints no XML example, so the sandbox's choices are said here: a request is
//! one root element (its name is not read) whose children are the JSON body's members, named
//! the same (`<amount>200</amount>`, `<reference>REF1</reference>`, …); `amount` is read as
//! the document's `double`, every other member as text, and an empty element as absent. A
//! callback is `<callback>` with the JSON callback's members as children, under the same names
//! and `callbackMediaType` `application/xml`. Answers stay JSON (the document prints them so,
//! and only names XML for inputs and callbacks). The merchant's acknowledgement of an XML
//! callback is read in either form.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde_json::Value;

use super::wire::{Callback, CallbackAck};

/// The header that chooses the callback's media type.
pub(super) const CALLBACK_MEDIA_TYPE_HEADER: &str = "x-callback-mediatype";
/// The XML media type.
pub(super) const XML: &str = "application/xml";

/// Whether a media type (a `Content-Type` or `X-Callback-MediaType` value) is XML.
pub(super) fn is_xml(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == XML || essence == "text/xml"
}

/// Whether the request asks for XML callbacks.
pub(super) fn wants_xml_callbacks(headers: &HeaderMap) -> bool {
    headers.get(CALLBACK_MEDIA_TYPE_HEADER).and_then(|v| v.to_str().ok()).is_some_and(is_xml)
}

/// An XML request body as the JSON value the JSON body would be; `None` when it is not XML of
/// that form.
pub(super) fn request_value(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    let members: BTreeMap<String, String> = quick_xml::de::from_str(text).ok()?;
    let object = members
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(name, v)| {
            let value =
                match (name.as_str(), v.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64)) {
                    ("amount", Some(n)) => Value::Number(n),
                    _ => Value::String(v),
                };
            (name, value)
        })
        .collect();
    Some(Value::Object(object))
}

/// The callback as XML.
pub(super) fn callback_body(callback: &Callback) -> Result<String, quick_xml::SeError> {
    quick_xml::se::to_string_with_root("callback", callback)
}

/// The merchant's acknowledgement, as JSON or as XML (`<…><responseCode>200</responseCode>
/// <transactionId>PAY…</transactionId></…>`).
pub(super) fn read_ack(body: &[u8]) -> Option<CallbackAck> {
    if let Ok(ack) = serde_json::from_slice(body) {
        return Some(ack);
    }
    let members: BTreeMap<String, String> = quick_xml::de::from_str(std::str::from_utf8(body).ok()?).ok()?;
    Some(CallbackAck {
        response_code: members.get("responseCode")?.trim().parse().ok()?,
        transaction_id: members.get("transactionId")?.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xml_request_reads_as_its_json_twin() {
        // The document's REST example (its JSON members, as XML children).
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<request>
  <agent>AGENT-1</agent>
  <amount>200</amount>
  <product>PRODUIT-1</product>
  <reference>REF08190271</reference>
  <service>RESTFUL</service>
  <callback_url_code>1B9LW</callback_url_code>
  <customer_account_number>066820866</customer_account_number>
  <merchant_operation_account_code>ACC_6661B5664CD2F</merchant_operation_account_code>
  <transaction_type>PAYMENT</transaction_type>
  <owner_charge>MERCHANT</owner_charge>
  <free_info></free_info>
</request>"#;
        let value = request_value(xml).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"agent": "AGENT-1", "amount": 200.0, "product": "PRODUIT-1",
                "reference": "REF08190271", "service": "RESTFUL", "callback_url_code": "1B9LW",
                "customer_account_number": "066820866",
                "merchant_operation_account_code": "ACC_6661B5664CD2F",
                "transaction_type": "PAYMENT", "owner_charge": "MERCHANT"})
        );
        assert_eq!(request_value(b"{\"amount\": 200}"), None);
        assert_eq!(request_value(b"<a><b>"), None);
    }

    #[test]
    fn media_types() {
        assert!(is_xml("application/xml"));
        assert!(is_xml("Application/XML; charset=utf-8"));
        assert!(is_xml("text/xml"));
        assert!(!is_xml("application/json"));
    }

    #[test]
    fn acknowledgements_in_either_form() {
        let expected = CallbackAck { response_code: 200, transaction_id: "PAY0601250139681".into() };
        // The document's example acknowledgement, then its XML twin.
        let json = br#"{ "responseCode": 200, "transactionId": "PAY0601250139681" }"#;
        assert_eq!(read_ack(json), Some(expected.clone()));
        let xml =
            b"<ack><responseCode>200</responseCode><transactionId>PAY0601250139681</transactionId></ack>";
        assert_eq!(read_ack(xml), Some(expected));
        assert_eq!(read_ack(b"ok"), None);
    }

    #[test]
    fn a_callback_writes_as_xml_with_the_json_names() {
        // The document's example callback, asked in XML.
        let json = r#"{"transactionId": "PAY0601250139681", "merchantReferenceId": "REF338717361",
            "status": "SUCCESS", "amount": 200.0, "customerID": "066820866", "fees": 5.0,
            "totalAmount": 205.0, "chargeOwner": "MERCHANT", "freeInfo": null,
            "transactionOperation": "PAYMENT", "code": 200, "callbackMediaType": "application/xml",
            "operator": "MOOV_MONEY"}"#;
        let callback: Callback = serde_json::from_str(json).unwrap();
        let xml = callback_body(&callback).unwrap();
        for part in [
            "<callback>",
            "<transactionId>PAY0601250139681</transactionId>",
            "<merchantReferenceId>REF338717361</merchantReferenceId>",
            "<status>SUCCESS</status>",
            "<amount>200</amount>",
            "<customerID>066820866</customerID>",
            "<code>200</code>",
            "<callbackMediaType>application/xml</callbackMediaType>",
            "<operator>MOOV_MONEY</operator>",
            "</callback>",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
    }
}

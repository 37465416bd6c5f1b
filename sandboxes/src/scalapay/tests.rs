//! The Scalapay sandbox's rules, checked directly: the documented order passes, each required
//! field and each value is checked, test cards and the Luhn check.

use serde_json::json;

use super::{checkout::*, validate::*, *};

fn order_body() -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../server/tests/fixtures/scalapay/order_request.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_documented_order_passes_and_each_required_field_is_checked() {
    let body = order_body();
    assert_eq!(check_order(&body, 2_400_000).unwrap(), euros::Cents(19_000));
    let required = [
        "/totalAmount",
        "/consumer/phoneNumber",
        "/consumer/givenNames",
        "/consumer/surname",
        "/consumer/email",
        "/items",
        "/items/0/name",
        "/items/0/category",
        "/items/0/sku",
        "/items/0/quantity",
        "/items/0/price",
        "/merchant/redirectConfirmUrl",
        "/merchant/redirectCancelUrl",
        "/shipping/phoneNumber",
        "/shipping/countryCode",
        "/shipping/name",
        "/shipping/postcode",
        "/shipping/suburb",
        "/shipping/line1",
        "/consumer",
        "/shipping",
        "/merchant",
    ];
    for pointer in required {
        let mut b = body.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() { &mut b } else { b.pointer_mut(parent).unwrap() };
        target.as_object_mut().unwrap().remove(key);
        let errors = check_order(&b, 2_400_000).unwrap_err();
        let path: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        assert!(
            errors.iter().any(|e| e.field == path && e.types == ["any.required"]),
            "{pointer}: {errors:?}"
        );
    }
}

#[test]
fn values_are_checked() {
    let body = order_body();
    let with = |pointer: &str, v: Value| {
        let mut b = body.clone();
        *b.pointer_mut(pointer).unwrap() = v;
        check_order(&b, 2_400_000).unwrap_err().into_iter().map(|e| e.types[0].clone()).collect::<Vec<_>>()
    };
    assert_eq!(with("/totalAmount/amount", json!("")), ["any.empty"]);
    assert_eq!(with("/totalAmount/amount", json!("190,00")), ["string.pattern.base"]);
    assert_eq!(with("/totalAmount/amount", json!("1.005")), ["string.pattern.base"]);
    assert_eq!(with("/totalAmount/amount", json!("40,70")), ["string.pattern.base"]);
    assert_eq!(with("/totalAmount/amount", json!("0.00")), ["string.pattern.base"]);
    assert_eq!(with("/totalAmount/amount", json!(190)), ["string.base"]);
    assert_eq!(with("/totalAmount/currency", json!("XOF")), ["any.only"]);
    assert_eq!(with("/consumer/email", json!("awa.example.com")), ["string.email"]);
    assert_eq!(with("/shipping/countryCode", json!("France")), ["string.pattern.base"]);
    assert_eq!(with("/items", json!([])), ["array.min"]);
    assert_eq!(with("/items/0/quantity", json!(0)), ["number.min"]);
    assert_eq!(with("/merchant/redirectConfirmUrl", json!("shop")), ["string.uri"]);
    assert_eq!(with("/orderExpiryMilliseconds", json!(2_400_001)), ["number.max"]);
    assert_eq!(with("/type", json!("kiosk")), ["any.only"]);
}

#[test]
fn cards_are_checked() {
    let today = time::macros::date!(2025 - 03 - 14);
    let form =
        |n: &str, e: &str, c: &str| CardForm { card_number: n.into(), expiry: e.into(), cvv: c.into() };
    for card in TEST_CARDS {
        let digits = check_card(&form(card.number, "12/30", "123"), today).unwrap();
        assert_eq!(card_outcome(&digits), card.outcome);
    }
    assert_eq!(card_outcome("4111111111111111"), CardOutcome::Refused);
    assert!(check_card(&form("4242 4242 4242 4241", "12/30", "123"), today).is_err());
    assert!(check_card(&form("4242424242424242", "02/25", "123"), today).is_err());
    assert!(check_card(&form("4242424242424242", "03/25", "1234"), today).is_ok());
    assert!(check_card(&form("4242424242424242", "13/30", "123"), today).is_err());
    assert!(check_card(&form("4242424242424242", "12/2030", "12"), today).is_err());
}

//! Reading the verifier's JSON bodies into the `shared::api` types, without shipping a JSON
//! library in the wasm: the browser's own `JSON.parse` builds the value, and this module walks
//! it field by field.
//!
//! Why not serde all the way: serde_json, then serde-wasm-bindgen, each cost the customer
//! 8 to 12 KB of gzip for three response types, which would put the widget over its size
//! budget. The wire contract still lives in `shared`: every enum is read by its own `parse`
//! (the inverse of the `as_str`/`code` its serde form uses, tested against serde in
//! `shared`); the struct literals below stop compiling when a field is added, and the host
//! tests round-trip every type through serde_json. (`parse` rather than serde:
//! each serde visitor, with its error messages, costs the download more than a lookup in `ALL`.)

use shared::api::{ApiError, ApiErrorBody, ApiErrorCode, MethodOption, PublicAttempt, PublicCheckout};
use shared::catalogue::{ErrorCode, SuggestedAction};
use shared::method::{PaymentMethod, Provider};
use shared::money::Currency;
use shared::phone::Country;
use shared::status::{AttemptStatus, CheckoutStatus};

/// A parsed JSON value: the browser's (`JsValue`) in wasm, serde_json's on the host.
pub(crate) trait Node: Sized {
    /// The member `key` of an object; `None` when absent or `null` (or not an object).
    fn field(&self, key: &str) -> Option<Self>;
    /// The value, if it is a string.
    fn string(&self) -> Option<String>;
    /// The value, if it is a number.
    fn number(&self) -> Option<f64>;
    /// The value, if it is a boolean.
    fn boolean(&self) -> Option<bool>;
    /// The items, if it is an array.
    fn list(&self) -> Option<Vec<Self>>;
}

/// Parses a JSON text.
#[cfg(target_arch = "wasm32")]
pub(crate) fn parse(text: &str) -> Option<wasm_bindgen::JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// Parses a JSON text.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok()
}

#[cfg(target_arch = "wasm32")]
impl Node for wasm_bindgen::JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        let v = js_sys::Reflect::get(self, &wasm_bindgen::JsValue::from_str(key)).ok()?;
        (!v.is_null() && !v.is_undefined()).then_some(v)
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn list(&self) -> Option<Vec<Self>> {
        js_sys::Array::is_array(self).then(|| js_sys::Array::from(self).iter().collect())
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Node for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null()).cloned()
    }
    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn list(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
}

/// An enum the wire names by a string.
trait Named: Sized {
    /// The variant `s` names.
    fn named(s: &str) -> Option<Self>;
}

/// Enums read by their own `parse`.
macro_rules! parsed {
    ($($t:ty => $parse:expr),* $(,)?) => {
        $(impl Named for $t {
            fn named(s: &str) -> Option<Self> {
                $parse(s)
            }
        })*
    };
}

parsed! {
    Currency => |s| Currency::parse(s).ok(),
    Country => Country::parse,
    CheckoutStatus => CheckoutStatus::parse,
    AttemptStatus => AttemptStatus::parse,
    PaymentMethod => PaymentMethod::parse,
    Provider => Provider::parse,
    ErrorCode => ErrorCode::parse,
    ApiErrorCode => ApiErrorCode::parse,
    SuggestedAction => SuggestedAction::parse,
}

/// A string naming an enum variant.
fn variant<T: Named>(n: &impl Node) -> Option<T> {
    T::named(&n.string()?)
}

/// A required string member.
fn text<N: Node>(n: &N, key: &str) -> Option<String> {
    n.field(key)?.string()
}

/// An optional member: absent or `null` is `Some(None)`, present but unreadable is `None`.
fn optional<N: Node, T>(n: &N, key: &str, read: impl Fn(&N) -> Option<T>) -> Option<Option<T>> {
    match n.field(key) {
        None => Some(None),
        Some(v) => read(&v).map(Some),
    }
}

/// A whole number that a JSON number holds exactly.
fn whole(n: &impl Node) -> Option<u64> {
    let x = n.number()?;
    (x >= 0.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_991.0).then_some(x as u64)
}

/// A `PublicCheckout` (the GET, the pay response and every status event).
pub(crate) fn checkout<N: Node>(n: &N) -> Option<PublicCheckout> {
    Some(PublicCheckout {
        id: text(n, "id")?,
        short_reference: text(n, "short_reference")?,
        merchant_name: text(n, "merchant_name")?,
        description: optional(n, "description", N::string)?,
        amount: whole(&n.field("amount")?)?,
        currency: variant(&n.field("currency")?)?,
        country: variant(&n.field("country")?)?,
        status: variant(&n.field("status")?)?,
        livemode: n.field("livemode")?.boolean()?,
        methods: n.field("methods")?.list()?.iter().map(method_option).collect::<Option<_>>()?,
        attempt: optional(n, "attempt", attempt)?,
        expires_at: text(n, "expires_at")?,
        return_url: optional(n, "return_url", N::string)?,
    })
}

fn method_option<N: Node>(n: &N) -> Option<MethodOption> {
    Some(MethodOption { method: variant(&n.field("method")?)?, provider: variant(&n.field("provider")?)? })
}

fn attempt<N: Node>(n: &N) -> Option<PublicAttempt> {
    Some(PublicAttempt {
        id: text(n, "id")?,
        method: variant(&n.field("method")?)?,
        provider: variant(&n.field("provider")?)?,
        status: variant(&n.field("status")?)?,
        failure: optional(n, "failure", variant)?,
        action: optional(n, "action", variant)?,
        payment_url: optional(n, "payment_url", N::string)?,
        expires_at: optional(n, "expires_at", N::string)?,
        phone: optional(n, "phone", N::string)?,
        provider_reference: optional(n, "provider_reference", N::string)?,
        finished_at: optional(n, "finished_at", N::string)?,
    })
}

/// An `ApiError` body.
pub(crate) fn api_error<N: Node>(n: &N) -> Option<ApiError> {
    let e = n.field("error")?;
    Some(ApiError {
        error: ApiErrorBody {
            code: variant(&e.field("code")?)?,
            message: text(&e, "message")?,
            field: optional(&e, "field", N::string)?,
            payment_error: optional(&e, "payment_error", variant)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: serde::Serialize>(v: &T) -> serde_json::Value {
        parse(&serde_json::to_string(v).unwrap()).unwrap()
    }

    #[test]
    fn every_checkout_shape_reads_back_as_serde_wrote_it() {
        let full = PublicCheckout {
            id: "co_abcdefghijklmnopqrstuvwx".into(),
            short_reference: "K7M2-9QXA".into(),
            merchant_name: "Boutique Awa".into(),
            description: Some("2 pagnes \"wax\"".into()),
            amount: 1_000_000_000_000,
            currency: Currency::Xaf,
            country: Country::Cm,
            status: CheckoutStatus::PartiallyRefunded,
            livemode: true,
            methods: vec![
                MethodOption { method: PaymentMethod::MtnMomo, provider: Provider::CaurisFlux },
                MethodOption { method: PaymentMethod::Card, provider: Provider::Scalapay },
            ],
            attempt: Some(PublicAttempt {
                id: "at_1".into(),
                method: PaymentMethod::MtnMomo,
                provider: Provider::CaurisFlux,
                status: AttemptStatus::AwaitingCustomer,
                failure: Some(ErrorCode::InsufficientFunds),
                action: Some(SuggestedAction::ChooseAnotherMethod),
                payment_url: Some("https://pay.example/s/1".into()),
                expires_at: Some("2025-12-31T23:32:00Z".into()),
                phone: Some("+225 07 •• •• •• 56".into()),
                provider_reference: Some("tr_1".into()),
                finished_at: Some("2026-01-01T00:00:00Z".into()),
            }),
            expires_at: "2026-01-01T00:00:00Z".into(),
            return_url: Some("https://shop.example/orders/1".into()),
        };
        assert_eq!(checkout(&round_trip(&full)), Some(full.clone()));
        let bare = PublicCheckout {
            description: None,
            methods: vec![],
            attempt: Some(PublicAttempt {
                failure: None,
                action: None,
                payment_url: None,
                expires_at: None,
                phone: None,
                provider_reference: None,
                finished_at: None,
                ..full.attempt.clone().unwrap()
            }),
            return_url: None,
            ..full.clone()
        };
        assert_eq!(checkout(&round_trip(&bare)), Some(bare.clone()));
        let none = PublicCheckout { attempt: None, livemode: false, ..bare };
        assert_eq!(checkout(&round_trip(&none)), Some(none));
    }

    #[test]
    fn malformed_bodies_are_refused_not_guessed() {
        for body in [
            r#"{}"#,
            r#"[]"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"XOF","country":"CI","status":"open","methods":[],"expires_at":"t"}"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"XOF","country":"CI","status":"open","livemode":"no","methods":[],"expires_at":"t"}"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1.5,"currency":"XOF","country":"CI","status":"open","livemode":false,"methods":[],"expires_at":"t"}"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":-1,"currency":"XOF","country":"CI","status":"open","livemode":false,"methods":[],"expires_at":"t"}"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"USD","country":"CI","status":"open","livemode":false,"methods":[],"expires_at":"t"}"#,
            r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"XOF","country":"CI","status":"open","livemode":false,"methods":[],"expires_at":"t","description":5}"#,
        ] {
            assert_eq!(parse(body).as_ref().and_then(checkout), None, "{body}");
        }
        let ok = r#"{"id":"co_x","short_reference":"K7M2-9QXA","merchant_name":"m","amount":1,"currency":"XOF","country":"CI","status":"open","livemode":false,"methods":[],"expires_at":"t","attempt":null,"new_field":1}"#;
        assert!(parse(ok).as_ref().and_then(checkout).is_some(), "null and unknown fields are fine");
    }

    #[test]
    fn api_errors_read_back() {
        let e = ApiError {
            error: ApiErrorBody {
                code: ApiErrorCode::PaymentFailed,
                message: "refused".into(),
                field: Some("phone".into()),
                payment_error: Some(ErrorCode::LimitExceeded),
            },
        };
        assert_eq!(api_error(&round_trip(&e)), Some(e));
        let body = r#"{"error":{"code":"invalid_phone_number","message":"...","field":"phone"}}"#;
        assert_eq!(
            parse(body).as_ref().and_then(api_error).map(|e| e.error.code),
            Some(ApiErrorCode::InvalidPhoneNumber)
        );
    }
}

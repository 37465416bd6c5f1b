//! The validation of `POST /v2/orders`, Joi style as Scalapay answers it
//! (https://developers.scalapay.com/reference/messages-validation): each field at fault with its
//! path, location and type (`any.required`, `string.pattern.base`, …).

use serde_json::Value;

use super::{
    answers::*,
    euros::{Cents, EUR},
    wire::FieldError,
};

#[derive(Debug, Default)]
pub(super) struct Check {
    pub(super) errors: Vec<FieldError>,
}

impl Check {
    pub(super) fn fail(&mut self, path: &[&str], message: String, kind: &str) {
        self.errors.push(field_error(path, "body", message, kind));
    }

    pub(super) fn label<'a>(path: &[&'a str]) -> &'a str {
        path.last().copied().unwrap_or("value")
    }

    pub(super) fn get<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
        path.iter().try_fold(root, |v, key| match v {
            Value::Object(map) => map.get(*key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// A required object.
    pub(super) fn object(&mut self, root: &Value, path: &[&str]) -> bool {
        match Self::get(root, path) {
            None | Some(Value::Null) => {
                self.fail(path, format!("\"{}\" is required", Self::label(path)), "any.required");
                false
            }
            Some(Value::Object(_)) => true,
            Some(_) => {
                self.fail(path, format!("\"{}\" must be of type object", Self::label(path)), "object.base");
                false
            }
        }
    }

    /// A string, required or not; returns it when present and valid.
    pub(super) fn string(&mut self, root: &Value, path: &[&str], required: bool) -> Option<String> {
        let label = Self::label(path);
        match Self::get(root, path) {
            None | Some(Value::Null) if required => {
                self.fail(path, format!("\"{label}\" is required"), "any.required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(path, format!("\"{label}\" is not allowed to be empty"), "any.empty");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(path, format!("\"{label}\" must be a string"), "string.base");
                None
            }
        }
    }

    /// A positive integer, required or not, at most `max`.
    pub(super) fn integer(
        &mut self,
        root: &Value,
        path: &[&str],
        required: bool,
        max: Option<u64>,
    ) -> Option<u64> {
        let label = Self::label(path);
        match Self::get(root, path) {
            None | Some(Value::Null) if required => {
                self.fail(path, format!("\"{label}\" is required"), "any.required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(0) | None => {
                    self.fail(path, format!("\"{label}\" must be greater than or equal to 1"), "number.min");
                    None
                }
                Some(v) if max.is_some_and(|m| v > m) => {
                    let m = max.unwrap_or_default();
                    self.fail(path, format!("\"{label}\" must be less than or equal to {m}"), "number.max");
                    None
                }
                Some(v) => Some(v),
            },
            Some(_) => {
                self.fail(path, format!("\"{label}\" must be a number"), "number.base");
                None
            }
        }
    }

    /// An amount object in euros, required or not: a positive amount with a dot and at most two
    /// decimals, refused otherwise with `string.pattern.base` ([`Cents::parse`]).
    pub(super) fn amount(&mut self, root: &Value, path: &[&str], required: bool) -> Option<Cents> {
        match Self::get(root, path) {
            None | Some(Value::Null) if !required => return None,
            _ => {}
        }
        if !self.object(root, path) {
            return None;
        }
        let amount_path = [path, &["amount"]].concat();
        let currency_path = [path, &["currency"]].concat();
        let amount = self.string(root, &amount_path, true);
        let currency = self.string(root, &currency_path, true);
        if let Some(c) = &currency
            && c != EUR
        {
            self.fail(&currency_path, "\"currency\" must be [EUR]".into(), "any.only");
            return None;
        }
        let amount = amount?;
        currency?;
        match Cents::parse(&amount) {
            Ok(cents) if cents > Cents(0) => Some(cents),
            _ => {
                self.fail(
                    &amount_path,
                    format!("\"amount\" with value \"{amount}\" fails to match the required pattern"),
                    "string.pattern.base",
                );
                None
            }
        }
    }

    pub(super) fn email(&mut self, root: &Value, path: &[&str]) {
        if let Some(e) = self.string(root, path, true) {
            let ok = e.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            }) && !e.contains(char::is_whitespace);
            if !ok {
                self.fail(path, format!("\"{}\" must be a valid email", Self::label(path)), "string.email");
            }
        }
    }

    pub(super) fn uri(&mut self, root: &Value, path: &[&str]) {
        if let Some(u) = self.string(root, path, true)
            && (!(u.starts_with("https://") || u.starts_with("http://")) || u.contains(char::is_whitespace))
        {
            self.fail(path, format!("\"{}\" must be a valid uri", Self::label(path)), "string.uri");
        }
    }

    pub(super) fn one_of(&mut self, root: &Value, path: &[&str], allowed: &[&str]) {
        if let Some(v) = self.string(root, path, false)
            && !allowed.contains(&v.as_str())
        {
            let list = allowed.join(", ");
            self.fail(path, format!("\"{}\" must be one of [{list}]", Self::label(path)), "any.only");
        }
    }
}

/// Checks a `POST /v2/orders` body as Scalapay documents it; the total when valid.
pub(super) fn check_order(body: &Value, max_expiry_ms: u64) -> Result<Cents, Vec<FieldError>> {
    let mut c = Check::default();
    if !body.is_object() {
        c.fail(&[], "\"value\" must be of type object".into(), "object.base");
        return Err(c.errors);
    }
    let total = c.amount(body, &["totalAmount"], true);
    if c.object(body, &["consumer"]) {
        for f in ["phoneNumber", "givenNames", "surname"] {
            c.string(body, &["consumer", f], true);
        }
        c.email(body, &["consumer", "email"]);
    }
    if c.object(body, &["shipping"]) {
        for f in ["phoneNumber", "name", "postcode", "suburb", "line1"] {
            c.string(body, &["shipping", f], true);
        }
        if let Some(cc) = c.string(body, &["shipping", "countryCode"], true)
            && (cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()))
        {
            c.fail(
                &["shipping", "countryCode"],
                format!("\"countryCode\" with value \"{cc}\" fails to match the required pattern"),
                "string.pattern.base",
            );
        }
    }
    match Check::get(body, &["billing"]) {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => c.fail(&["billing"], "\"billing\" must be of type object".into(), "object.base"),
    }
    match Check::get(body, &["items"]) {
        None | Some(Value::Null) => c.fail(&["items"], "\"items\" is required".into(), "any.required"),
        Some(Value::Array(items)) if items.is_empty() => {
            c.fail(&["items"], "\"items\" must contain at least 1 items".into(), "array.min")
        }
        Some(Value::Array(items)) => {
            for i in 0..items.len() {
                let index = i.to_string();
                let at = |f: &'static str| [String::from("items"), index.clone(), f.to_owned()];
                for f in ["name", "category", "sku"] {
                    let p = at(f);
                    c.string(body, &[p[0].as_str(), p[1].as_str(), p[2].as_str()], true);
                }
                let q = at("quantity");
                c.integer(body, &[q[0].as_str(), q[1].as_str(), q[2].as_str()], true, None);
                let p = at("price");
                c.amount(body, &[p[0].as_str(), p[1].as_str(), p[2].as_str()], true);
            }
        }
        Some(_) => c.fail(&["items"], "\"items\" must be an array".into(), "array.base"),
    }
    if c.object(body, &["merchant"]) {
        c.uri(body, &["merchant", "redirectConfirmUrl"]);
        c.uri(body, &["merchant", "redirectCancelUrl"]);
    }
    c.string(body, &["merchantReference"], false);
    c.amount(body, &["shippingAmount"], false);
    c.amount(body, &["taxAmount"], false);
    c.one_of(body, &["type"], &["online", "offline", "link"]);
    c.one_of(body, &["product"], &["pay-in-3", "pay-in-4", "later"]);
    c.integer(body, &["orderExpiryMilliseconds"], false, Some(max_expiry_ms));
    match (total, c.errors.is_empty()) {
        (Some(total), true) => Ok(total),
        _ => Err(c.errors),
    }
}

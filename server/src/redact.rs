//! What may be stored or logged of a provider's body: anything named like a secret is
//! replaced, and every phone number is masked (`+225 07 •• •• •• 56`,
//! [`shared::phone::PhoneNumber::masked`]).

/// A provider's body as the inbox and the refused-notice samples store it. JSON is walked:
/// values under a key naming a secret (MyPVit delivers its API keys on the same path as its
/// callbacks) become `[REDACTED]`, and phone numbers in strings, or written as JSON numbers,
/// are masked. Anything else is stored as text with its phone numbers masked.
pub fn stored_body(body: &[u8]) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k.to_ascii_lowercase().contains("secret") {
                        *v = serde_json::Value::String("[REDACTED]".into());
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(masked) = shared::phone::mask_phone_numbers(s) {
                    *s = masked;
                }
            }
            serde_json::Value::Number(n) => {
                let digits = n.to_string();
                if let std::borrow::Cow::Owned(masked) = shared::phone::mask_phone_numbers(&digits) {
                    *v = serde_json::Value::String(masked);
                }
            }
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => shared::phone::mask_phone_numbers(&String::from_utf8_lossy(body)).into_owned(),
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_notifications_keep_no_secret() {
        let body = br#"{"operation_account_code":"ACC_1","secret_key":"live-key-123","nested":[{"clientSecret":"x"}]}"#;
        let stored = stored_body(body);
        assert!(!stored.contains("live-key-123") && !stored.contains("\"x\""), "{stored}");
        assert!(stored.contains("ACC_1"));
        assert_eq!(stored_body(b"not json"), "not json");
    }

    #[test]
    fn secrets_are_redacted_and_phone_numbers_masked_wherever_they_are() {
        // A NovaSend-like payin session (fields as in tests/fixtures or the provider's pages:
        // `customerPhoneNumber`), a MyPVit key delivery, a number sent as a JSON number, a
        // form-encoded body.
        let body = br#"{"data":{"customerPhoneNumber":"2250707123456","amount":5000,
            "payer":[{"msisdn":"+24174123456"}]},"secret_key":"sk_live_x","tel":221771234567}"#;
        let stored: serde_json::Value = serde_json::from_str(&stored_body(body)).unwrap();
        assert_eq!(stored["data"]["customerPhoneNumber"], "+225 07 •• •• •• 56");
        assert_eq!(stored["data"]["amount"], 5000);
        assert_eq!(stored["data"]["payer"][0]["msisdn"], "+241 74 •• •• 56");
        assert_eq!(stored["secret_key"], "[REDACTED]");
        assert_eq!(stored["tel"], "+221 77 ••• •• 67");
        assert_eq!(stored_body(b"phone=0707123456&amount=100"), "phone=+225 07 •• •• •• 56&amount=100");
    }
}

//! Identifiers and secrets we mint: checkout ids, attempt ids, client secrets.

use rand::{Rng, distr::Alphanumeric};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

/// A new checkout id, `co_` and 24 random alphanumerics.
pub fn checkout_id() -> String {
    format!("co_{}", random(24))
}

/// A new attempt id, `at_` and 24 random alphanumerics.
pub fn attempt_id() -> String {
    format!("at_{}", random(24))
}

/// Whether `s` has the form of an attempt id ([`attempt_id`]'s).
pub fn is_attempt_id(s: &str) -> bool {
    s.strip_prefix("at_").is_some_and(|r| r.len() == 24 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A new refund id, `rf_` and 24 random alphanumerics.
pub fn refund_id() -> String {
    format!("rf_{}", random(24))
}

/// The refund id of a refund asked with an `Idempotency-Key`: `rf_` and the first 24 hex
/// digits of SHA-256(`{checkout_id}\n{key}`). A retry with the same key names the same refund,
/// so the provider (which gets it as reference and idempotency key) never makes a second one.
pub fn refund_id_for(checkout_id: &str, idempotency_key: &str) -> String {
    let digest = Sha256::digest(format!("{checkout_id}\n{idempotency_key}").as_bytes());
    let hex = hex::encode(digest);
    format!("rf_{}", &hex[..24])
}

/// Crockford's base32 alphabet (<https://www.crockford.com/base32.html>): digits and upper-case
/// letters without I, L, O and U, so that nothing read over the phone is mistaken for another.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The short reference of a checkout, `K7M2-9QXA`: the first 40 bits of SHA-256(`id`) as 8
/// Crockford base32 characters in two groups of four. Derived, never stored: the same id always
/// gives the same reference, which the merchant API and the webhooks show beside the id. Two
/// checkouts share one with a chance of about n²/2⁴¹ among n checkouts (one in 2 000 at
/// 30 000): the customer gives it with the amount and the date, and the merchant finds the
/// checkout among its own.
pub fn short_reference(checkout_id: &str) -> String {
    let digest = Sha256::digest(checkout_id.as_bytes());
    let bits = digest[..5].iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    let mut out = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let index = usize::try_from((bits >> (35 - 5 * i)) & 31).unwrap_or(0);
        out.push(char::from(CROCKFORD[index]));
    }
    out
}

/// A new event id for the merchant's webhooks, `evt_` and 24 random alphanumerics.
pub fn event_id() -> String {
    format!("evt_{}", random(24))
}

/// A new provider notification id, `wh_` and 24 random alphanumerics.
pub fn notification_id() -> String {
    format!("wh_{}", random(24))
}

/// A new client secret for a checkout: `{id}_secret_{32 random}`. Only its hash is stored.
pub fn client_secret(checkout_id: &str) -> String {
    format!("{checkout_id}_secret_{}", random(32))
}

/// The checkout id a client secret belongs to, if it has the right shape.
pub fn checkout_id_of_secret(secret: &str) -> Option<&str> {
    let (id, rest) = secret.split_once("_secret_")?;
    (id.starts_with("co_") && !rest.is_empty()).then_some(id)
}

/// The stored form of a secret: hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    hash_secret(presented).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_name_their_checkout_and_match_only_themselves() {
        let id = checkout_id();
        let secret = client_secret(&id);
        assert_eq!(checkout_id_of_secret(&secret), Some(id.as_str()));
        let stored = hash_secret(&secret);
        assert!(secret_matches(&secret, &stored));
        assert!(!secret_matches(&client_secret(&id), &stored));
        assert_eq!(checkout_id_of_secret("nonsense"), None);
        assert_eq!(checkout_id_of_secret("xx_1_secret_abc"), None);
    }

    #[test]
    fn a_short_reference_is_eight_unambiguous_characters_derived_from_the_id() {
        let id = "co_abcdefghijklmnopqrstuvwx";
        let short = short_reference(id);
        assert_eq!(short, short_reference(id), "derived, so always the same");
        assert_eq!(short.len(), 9);
        assert_eq!(short.as_bytes()[4], b'-');
        assert!(short.bytes().filter(|&b| b != b'-').all(|b| CROCKFORD.contains(&b)), "{short}");
        // Computed apart: the first 5 bytes of `printf %s co_abcdefghijklmnopqrstuvwx |
        // sha256sum` are 31 4c 6c c0 9b, in 5-bit groups 6 5 6 6 25 16 4 27.
        assert_eq!(short, "6566-SG4V");
        // Distinct ids, distinct references (10 000 ids, no collision expected at 40 bits).
        let all: std::collections::HashSet<_> =
            (0..10_000).map(|_| short_reference(&checkout_id())).collect();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn a_refund_id_is_derived_from_its_checkout_and_idempotency_key() {
        // printf 'co_1\nrefund-7' | openssl dgst -sha256
        // SHA2-256(stdin)= ce19c8fa6af7dc1b2eba39d862b73b278f26ebe8d48e556952b34d348f056076
        assert_eq!(refund_id_for("co_1", "refund-7"), "rf_ce19c8fa6af7dc1b2eba39d8");
        assert_ne!(refund_id_for("co_2", "refund-7"), refund_id_for("co_1", "refund-7"));
    }
}

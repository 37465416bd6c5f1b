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

/// A new refund id, `rf_` and 24 random alphanumerics.
pub fn refund_id() -> String {
    format!("rf_{}", random(24))
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
}

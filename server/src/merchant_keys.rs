//! Merchant API keys: `mk_test_…` in test mode, `mk_live_…` in live mode, at least
//! [`MIN_RANDOM_CHARS`] base62 characters after the prefix, stored as their SHA-256 only.
//!
//! Two sources are accepted at once, so that a rotation overlaps:
//! - `[merchant] secret_key` in the configuration (optional; checked at start for its prefix and
//!   strength by [`check`], through `Settings::validate`), for a deployment that keeps its key
//!   in a file or in `VERIFIER_MERCHANT_SECRET_KEY`;
//! - keys in the `merchant_keys` table (migration `0012_merchant_keys.sql`), made by
//!   `verifier keys create`, listed by `verifier keys list` (id, mode, last four characters,
//!   dates; never a full key) and revoked by `verifier keys revoke <id>`.
//!
//! A key is hashed with SHA-256, as GitHub and Stripe do for their high-entropy API tokens: a
//! key of 32 random base62 characters (190 bits) cannot be found from its hash, so no slow
//! password hash is needed. Hashes are compared in constant time.
//!
//! [`MerchantKeys::authenticate`] keeps the keys found in the database for
//! [`CACHE_TTL`] (5 s): a key revoked by `verifier keys revoke` (or by another verifier on the
//! same database) is refused within 5 s, and a key in use costs one database read per 5 s.
//! Unknown keys are never cached (a flood of wrong keys cannot evict the good ones).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::{Rng, distr::Alphanumeric};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    config::Mode,
    store::{MerchantKeyRecord, Store, StoreError},
};

/// The fewest random characters after the prefix.
pub const MIN_RANDOM_CHARS: usize = 32;
/// How many random characters `verifier keys create` draws (238 bits).
pub const NEW_KEY_RANDOM_CHARS: usize = 40;
/// How long a key read from the database is trusted before it is read again: the longest a
/// revoked key keeps working.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// The most keys cached at once; the cache is emptied when full.
const CACHE_MAX: usize = 1024;

/// The prefix of the merchant keys of a mode.
pub fn prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Test => "mk_test_",
        Mode::Live => "mk_live_",
    }
}

/// Why a merchant key is refused. Messages never hold the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// Empty or blank.
    #[error("it is empty")]
    Empty,
    /// A key of the other mode.
    #[error("it is a {key} key ({}…) but the verifier runs in {mode} mode: use a {} key", prefix(*key), prefix(*mode))]
    OtherMode {
        /// What its prefix says.
        key: Mode,
        /// The verifier's mode.
        mode: Mode,
    },
    /// No `mk_test_`/`mk_live_` prefix.
    #[error("it must start with {expected} (merchant keys are mk_test_… or mk_live_…)")]
    NoPrefix {
        /// The prefix of the verifier's mode.
        expected: &'static str,
    },
    /// Too few characters, or characters other than base62, after the prefix.
    #[error(
        "after its prefix it must have at least {MIN_RANDOM_CHARS} random characters among A-Z, a-z and 0-9 (make one with `verifier keys create`)"
    )]
    Weak,
}

/// Checks a key's prefix against `mode` and its strength.
pub fn check(key: &str, mode: Mode) -> Result<(), KeyProblem> {
    if key.trim().is_empty() {
        return Err(KeyProblem::Empty);
    }
    let other = match mode {
        Mode::Test => Mode::Live,
        Mode::Live => Mode::Test,
    };
    if key.starts_with(prefix(other)) {
        return Err(KeyProblem::OtherMode { key: other, mode });
    }
    let rest = key.strip_prefix(prefix(mode)).ok_or(KeyProblem::NoPrefix { expected: prefix(mode) })?;
    if rest.len() < MIN_RANDOM_CHARS || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyProblem::Weak);
    }
    Ok(())
}

/// A new key of `mode`: the prefix and [`NEW_KEY_RANDOM_CHARS`] random base62 characters.
pub fn generate(mode: Mode) -> String {
    let random: String =
        rand::rng().sample_iter(&Alphanumeric).take(NEW_KEY_RANDOM_CHARS).map(char::from).collect();
    format!("{}{random}", prefix(mode))
}

/// The stored form of a key: hex SHA-256.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new key id, `mkey_` and 16 random alphanumerics (not secret: shown by `keys list`).
pub fn new_id() -> String {
    let random: String = rand::rng().sample_iter(&Alphanumeric).take(16).map(char::from).collect();
    format!("mkey_{random}")
}

/// What `verifier keys list` shows of a key: its last four characters.
pub fn hint(key: &str) -> String {
    let start = key.len().saturating_sub(4);
    key.get(start..).unwrap_or_default().to_owned()
}

/// Creates and stores a new key of `mode`; returns its record and the key, to be shown once.
pub async fn create(store: &dyn Store, mode: Mode) -> Result<(MerchantKeyRecord, SecretString), StoreError> {
    let key = generate(mode);
    let record = MerchantKeyRecord {
        id: new_id(),
        mode,
        hint: hint(&key),
        hash: hash(&key),
        created_at: crate::checkouts::now(),
        revoked_at: None,
    };
    store.merchant_key_insert(&record).await?;
    Ok((record, key.into()))
}

/// The merchant keys a verifier accepts: the configured one, and the database's active keys of
/// its mode.
#[derive(Clone)]
pub struct MerchantKeys {
    mode: Mode,
    configured: Option<[u8; 32]>,
    store: Arc<dyn Store>,
    /// Hash of a key found active in the database → when it was read.
    cache: Arc<Mutex<HashMap<[u8; 32], Instant>>>,
}

impl std::fmt::Debug for MerchantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantKeys")
            .field("mode", &self.mode)
            .field("configured", &self.configured.is_some())
            .finish_non_exhaustive()
    }
}

impl MerchantKeys {
    /// The keys of a verifier of `mode`: `configured` (already checked by `Settings::validate`)
    /// and the store's.
    pub fn new(mode: Mode, configured: Option<&SecretString>, store: Arc<dyn Store>) -> MerchantKeys {
        let configured = configured.map(|k| Sha256::digest(k.expose_secret().as_bytes()).into());
        MerchantKeys { mode, configured, store, cache: Arc::default() }
    }

    /// Whether `presented` is an accepted key now. A database failure is an error (the caller
    /// answers 500), never an acceptance.
    pub async fn authenticate(&self, presented: &str) -> Result<bool, StoreError> {
        // A key of another form is never looked up.
        if check(presented, self.mode).is_err() {
            return Ok(false);
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        if self.configured.is_some_and(|c| bool::from(c.ct_eq(&digest))) {
            return Ok(true);
        }
        {
            let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.get(&digest).is_some_and(|read| read.elapsed() < CACHE_TTL) {
                return Ok(true);
            }
        }
        let found = self.store.merchant_key_active(&hex::encode(digest), self.mode).await?;
        // The index found the row by its hash; compare again in constant time all the same.
        let valid =
            found.is_some_and(|k| bool::from(k.hash.as_bytes().ct_eq(hex::encode(digest).as_bytes())));
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if valid {
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(digest, Instant::now());
        } else {
            cache.remove(&digest);
        }
        Ok(valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_strength_are_checked() {
        let good = "mk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh";
        assert_eq!(check(good, Mode::Test), Ok(()));
        assert_eq!(check("", Mode::Test), Err(KeyProblem::Empty));
        assert_eq!(check("   ", Mode::Live), Err(KeyProblem::Empty));
        assert_eq!(check("mk_test_short", Mode::Test), Err(KeyProblem::Weak));
        // 32 characters, one of them outside base62.
        assert_eq!(check("mk_test_4eC39HqLyjWDarjtT1zdp7dc-bCd", Mode::Test), Err(KeyProblem::Weak));
        assert_eq!(
            check("mk_live_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh", Mode::Test),
            Err(KeyProblem::OtherMode { key: Mode::Live, mode: Mode::Test })
        );
        assert_eq!(check(good, Mode::Live), Err(KeyProblem::OtherMode { key: Mode::Test, mode: Mode::Live }));
        // Stripe's and CaurisFlux's secret key form is not ours.
        assert_eq!(
            check("sk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh", Mode::Test),
            Err(KeyProblem::NoPrefix { expected: "mk_test_" })
        );
    }

    #[test]
    fn generated_keys_pass_and_differ() {
        let (a, b) = (generate(Mode::Live), generate(Mode::Live));
        assert_ne!(a, b);
        assert_eq!(check(&a, Mode::Live), Ok(()));
        assert_eq!(a.len(), "mk_live_".len() + NEW_KEY_RANDOM_CHARS);
        assert_eq!(hint("mk_test_abcdWXYZ"), "WXYZ");
    }

    #[test]
    fn the_stored_hash_is_sha256_hex() {
        // printf %s mk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh | openssl dgst -sha256
        assert_eq!(
            hash("mk_test_4eC39HqLyjWDarjtT1zdp7dcAbCdEfGh"),
            "715868088ad7d1445d6060d16dcf70f7299df10450d56ecfcf2a205c54e7df5e"
        );
    }
}

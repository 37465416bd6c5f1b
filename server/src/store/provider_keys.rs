//! Keys a provider hands out at run time (MyPVit's renewable `X-Secret`), shared by every
//! instance on one database, and the lease that lets one instance at a time renew one.
//!
//! A key is stored sealed (the caller seals and opens it; the store sees bytes), with when it
//! is due for renewal and a generation bumped at each key stored. Renewing takes the row's
//! lease with a conditional write (free, expired, or already the holder's); a delivered key is
//! stored only while some instance holds a live lease (a key delivery nobody asked for changes
//! nothing, as with one instance), by whichever instance received it. Implemented for SQLite
//! (`store/sqlite/provider_keys.rs`, migration `0015_provider_keys.sql`) and PostgreSQL
//! ([`postgres::PgProviderKeys`], migration `postgres/0100_provider_keys.sql`).

use async_trait::async_trait;

use super::StoreError;

#[path = "postgres/provider_keys.rs"]
pub mod postgres;

/// A stored key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key, sealed by its owner.
    pub sealed: Vec<u8>,
    /// When it is due for renewal, unix milliseconds.
    pub renew_at_ms: i64,
    /// Bumped at every key stored; 0 before the first.
    pub generation: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("sealed", &format_args!("{} bytes", self.sealed.len()))
            .field("renew_at_ms", &self.renew_at_ms)
            .field("generation", &self.generation)
            .finish()
    }
}

/// The shared keys, by name (`mypvit:{operation account}`). Each method is one atomic
/// statement.
#[async_trait]
pub trait ProviderKeys: Send + Sync + std::fmt::Debug {
    /// The key stored under `name`, if one was.
    async fn read(&self, name: &str) -> Result<Option<StoredKey>, StoreError>;

    /// Takes the renewal lease of `name` for `holder` until `until_ms`, if nobody holds it, its
    /// lease ended by `now_ms`, or `holder` holds it already. Whether it was taken: one
    /// holder at a time, however many instances ask at once.
    async fn try_lease_renewal(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a delivered key if a renewal lease of `name` is live at `now_ms` (whoever holds
    /// it: the delivery may reach another instance than the renewer); the new generation, or
    /// `None` when no renewal awaits a key (nothing changes). The last key stored wins.
    async fn store_delivered(
        &self,
        name: &str,
        sealed: &[u8],
        renew_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Ends `holder`'s lease of `name` (nothing if another holds it now).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// The statements, in the SQL both databases accept (numbered parameters: `$1`…), one line
/// each (SQLite's `every_hot_query_uses_an_index` reads them from this file).
pub(crate) mod sql {
    /// `$1` name.
    pub(crate) const READ: &str =
        "SELECT sealed, renew_at_ms, generation FROM provider_keys WHERE name = $1 AND sealed IS NOT NULL";
    /// `$1` name, `$2` holder, `$3` until, `$4` now.
    pub(crate) const LEASE: &str = "INSERT INTO provider_keys (name, generation, lease_holder, lease_until_ms) VALUES ($1, 0, $2, $3) ON CONFLICT (name) DO UPDATE SET lease_holder = excluded.lease_holder, lease_until_ms = excluded.lease_until_ms WHERE provider_keys.lease_holder IS NULL OR provider_keys.lease_until_ms <= $4 OR provider_keys.lease_holder = excluded.lease_holder";
    /// `$1` name, `$2` sealed, `$3` renew at, `$4` now.
    pub(crate) const STORE: &str = "UPDATE provider_keys SET sealed = $2, renew_at_ms = $3, generation = generation + 1 WHERE name = $1 AND lease_holder IS NOT NULL AND lease_until_ms > $4 RETURNING generation";
    /// `$1` name, `$2` holder.
    pub(crate) const RELEASE: &str = "UPDATE provider_keys SET lease_holder = NULL, lease_until_ms = NULL WHERE name = $1 AND lease_holder = $2";
}

#[cfg(test)]
pub(crate) mod tests {
    //! What every implementation must do, run by each backend's tests.

    use std::sync::Arc;

    use super::*;

    const NAME: &str = "mypvit:ACC_TEST";

    pub(crate) async fn lease_and_delivery(keys: &dyn ProviderKeys) {
        assert_eq!(keys.read(NAME).await.unwrap(), None);
        // Nobody renews: a delivery is ignored.
        assert_eq!(keys.store_delivered(NAME, b"forged", 9_000, 1_000).await.unwrap(), None);
        assert_eq!(keys.read(NAME).await.unwrap(), None);

        assert!(keys.try_lease_renewal(NAME, "a", 1_000, 5_000).await.unwrap());
        assert!(!keys.try_lease_renewal(NAME, "b", 2_000, 6_000).await.unwrap(), "A holds it");
        assert!(keys.try_lease_renewal(NAME, "a", 2_000, 6_000).await.unwrap(), "A may extend it");
        // A delivery during A's renewal, received by any instance, is stored; the last wins.
        assert_eq!(keys.store_delivered(NAME, b"k1", 9_000, 2_500).await.unwrap(), Some(1));
        assert_eq!(keys.store_delivered(NAME, b"k2", 9_500, 2_600).await.unwrap(), Some(2));
        let stored = keys.read(NAME).await.unwrap().unwrap();
        assert_eq!(stored, StoredKey { sealed: b"k2".to_vec(), renew_at_ms: 9_500, generation: 2 });

        // Only the holder releases it; after that, deliveries are ignored again.
        keys.release_lease(NAME, "b").await.unwrap();
        assert!(!keys.try_lease_renewal(NAME, "b", 3_000, 7_000).await.unwrap(), "still A's");
        keys.release_lease(NAME, "a").await.unwrap();
        assert_eq!(keys.store_delivered(NAME, b"late", 9_900, 3_100).await.unwrap(), None);
        assert_eq!(keys.read(NAME).await.unwrap().unwrap().generation, 2);

        // A lease whose holder died ends at its time: then another takes it.
        assert!(keys.try_lease_renewal(NAME, "b", 4_000, 8_000).await.unwrap());
        assert!(!keys.try_lease_renewal(NAME, "c", 7_999, 12_000).await.unwrap());
        assert!(keys.try_lease_renewal(NAME, "c", 8_000, 12_000).await.unwrap(), "B's lease ended");
        // A delivery after the lease's end is ignored too.
        assert_eq!(keys.store_delivered(NAME, b"late", 9_900, 12_000).await.unwrap(), None);
        // Another name is another row.
        assert_eq!(keys.read("mypvit:ACC_OTHER").await.unwrap(), None);
    }

    pub(crate) async fn one_lease_among_many(keys: Arc<dyn ProviderKeys>) {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let keys = Arc::clone(&keys);
                tokio::spawn(
                    async move { keys.try_lease_renewal(NAME, &format!("h{i}"), 1_000, 60_000).await },
                )
            })
            .collect();
        let mut taken = 0;
        for t in tasks {
            taken += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(taken, 1, "one holder among 16 asking at once");
    }
}

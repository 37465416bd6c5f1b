//! [`ProviderKeys`] in SQLite (migration `0015_provider_keys.sql`): reads on the reading
//! connections, writes through the one writer (so a lease is taken by one caller at a time, as
//! every write is serialised there).

use async_trait::async_trait;
use sqlx::Row;

use super::{Lane, SqliteStore, other};
use crate::store::{
    StoreError,
    provider_keys::{ProviderKeys, StoredKey, sql},
};

#[async_trait]
impl ProviderKeys for SqliteStore {
    async fn read(&self, name: &str) -> Result<Option<StoredKey>, StoreError> {
        let name = name.to_owned();
        self.read(move |db| {
            Box::pin(async move {
                let row = sqlx::query(sql::READ).bind(&name).fetch_optional(&mut *db).await.map_err(other)?;
                Ok(row.map(|r| StoredKey {
                    sealed: r.get("sealed"),
                    renew_at_ms: r.get::<Option<i64>, _>("renew_at_ms").unwrap_or(0),
                    generation: r.get("generation"),
                }))
            })
        })
        .await
    }

    async fn try_lease_renewal(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let done = sqlx::query(sql::LEASE)
                        .bind(&name)
                        .bind(&holder)
                        .bind(until_ms)
                        .bind(now_ms)
                        .execute(&mut *db)
                        .await
                        .map_err(other)?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    async fn store_delivered(
        &self,
        name: &str,
        sealed: &[u8],
        renew_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let (name, sealed) = (name.to_owned(), sealed.to_vec());
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    sqlx::query_scalar(sql::STORE)
                        .bind(&name)
                        .bind(&sealed)
                        .bind(renew_at_ms)
                        .bind(now_ms)
                        .fetch_optional(&mut *db)
                        .await
                        .map_err(other)
                })
            })
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .run(Lane::Normal, move |db| {
                Box::pin(async move {
                    sqlx::query(sql::RELEASE)
                        .bind(&name)
                        .bind(&holder)
                        .execute(&mut *db)
                        .await
                        .map_err(other)?;
                    Ok(())
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    //! The lease and the conditional store on a real SQLite database (in memory).

    use super::*;

    async fn store() -> SqliteStore {
        SqliteStore::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_key_only_while_a_renewal_awaits_it() {
        let s = store().await;
        crate::store::provider_keys::tests::lease_and_delivery(&s).await;
    }

    #[tokio::test]
    async fn of_many_asking_at_once_one_takes_the_lease() {
        let s = store().await;
        crate::store::provider_keys::tests::one_lease_among_many(std::sync::Arc::new(s)).await;
    }
}

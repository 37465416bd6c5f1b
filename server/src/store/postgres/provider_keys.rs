//! [`ProviderKeys`] in PostgreSQL over a [`PgPool`] (migration `postgres/0100_provider_keys.sql`):
//! each method is one statement; the lease is an `INSERT … ON CONFLICT DO UPDATE … WHERE`
//! (<https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT>), which locks the row
//! it updates, so of several instances asking at once one takes it.

use async_trait::async_trait;
use sqlx::{PgPool, Row};

use crate::store::{
    StoreError,
    provider_keys::{ProviderKeys, StoredKey, sql},
};

fn other(e: sqlx::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(e))
}

/// The shared keys in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgProviderKeys {
    pool: PgPool,
}

impl PgProviderKeys {
    /// Over `pool` (the store's).
    pub fn new(pool: PgPool) -> PgProviderKeys {
        PgProviderKeys { pool }
    }
}

#[async_trait]
impl ProviderKeys for PgProviderKeys {
    async fn read(&self, name: &str) -> Result<Option<StoredKey>, StoreError> {
        let row = sqlx::query(sql::READ).bind(name).fetch_optional(&self.pool).await.map_err(other)?;
        Ok(row.map(|r| StoredKey {
            sealed: r.get("sealed"),
            renew_at_ms: r.get::<Option<i64>, _>("renew_at_ms").unwrap_or(0),
            generation: r.get("generation"),
        }))
    }

    async fn try_lease_renewal(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::LEASE)
            .bind(name)
            .bind(holder)
            .bind(until_ms)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn store_delivered(
        &self,
        name: &str,
        sealed: &[u8],
        renew_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar(sql::STORE)
            .bind(name)
            .bind(sealed)
            .bind(renew_at_ms)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query(sql::RELEASE).bind(name).bind(holder).execute(&self.pool).await.map_err(other)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The same checks as SQLite's, on a fresh PostgreSQL database made from
    //! `TEST_DATABASE_URL` (skipped with a printed line without one), migrated as the store
    //! migrates it.

    use std::sync::Arc;

    use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

    use super::*;

    /// A new database (random name) beside `TEST_DATABASE_URL`'s, migrated; its test drops it.
    async fn fresh() -> Option<(PgPool, String, PgConnectOptions)> {
        let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) else {
            println!("skipped: TEST_DATABASE_URL names no PostgreSQL database");
            return None;
        };
        let admin: PgConnectOptions = url.parse().unwrap();
        let name = format!("provider_keys_{}", hex::encode(rand::random::<[u8; 6]>()));
        let mut conn = PgConnection::connect_with(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let pool = PgPool::connect_with(admin.clone().database(&name)).await.unwrap();
        sqlx::migrate!("./migrations/postgres").run(&pool).await.unwrap();
        Some((pool, name, admin))
    }

    async fn drop_database(pool: PgPool, name: &str, admin: &PgConnectOptions) {
        pool.close().await;
        let mut conn = PgConnection::connect_with(admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_key_only_while_a_renewal_awaits_it() {
        let Some((pool, name, admin)) = fresh().await else { return };
        crate::store::provider_keys::tests::lease_and_delivery(&PgProviderKeys::new(pool.clone())).await;
        drop_database(pool, &name, &admin).await;
    }

    #[tokio::test]
    async fn of_many_asking_at_once_one_takes_the_lease() {
        let Some((pool, name, admin)) = fresh().await else { return };
        crate::store::provider_keys::tests::one_lease_among_many(Arc::new(PgProviderKeys::new(pool.clone())))
            .await;
        drop_database(pool, &name, &admin).await;
    }
}

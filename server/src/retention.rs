//! The one purge loop: deletes (or clears) what `[retention]` says is kept no longer. Every
//! purge is a plain delete or update by age, so several verifiers on one database may run it
//! at once; each runs in batches small enough never to hold the writer long.

use std::{sync::Arc, time::Duration};

use crate::{
    checkouts::now_ms,
    config::RetentionSettings,
    store::{Store, StoreError},
};

/// Bodies cleared per write: a backlog is cleared over several short transactions.
const BODY_BATCH: u32 = 1_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Refused-notification samples deleted.
    pub refused_samples: u64,
    /// Notification bodies cleared.
    pub notification_bodies: u64,
    /// Idempotency keys deleted.
    pub idempotency_keys: u64,
}

/// Purges once, as of `now_ms`.
pub async fn purge(store: &dyn Store, r: &RetentionSettings, now_ms: i64) -> Result<Purged, StoreError> {
    let mut purged = Purged {
        refused_samples: store
            .purge_refused_samples(now_ms - i64::from(r.refused_samples_days) * DAY_MS)
            .await?,
        idempotency_keys: store
            .idempotency_purge(now_ms - i64::from(r.idempotency_keys_hours) * HOUR_MS)
            .await?,
        notification_bodies: 0,
    };
    let bodies_before = now_ms - i64::from(r.notification_bodies_days) * DAY_MS;
    loop {
        let n = store.purge_notification_bodies(bodies_before, BODY_BATCH).await?;
        purged.notification_bodies += n;
        if n < u64::from(BODY_BATCH) {
            break;
        }
    }
    Ok(purged)
}

/// Purges every `purge_every_seconds`, first at start; spawn it.
pub async fn run(store: Arc<dyn Store>, r: RetentionSettings, mut stop: crate::shutdown::Stop) {
    let every = Duration::from_secs(u64::from(r.purge_every_seconds.max(1)));
    while !stop.requested() {
        match purge(store.as_ref(), &r, now_ms()).await {
            Ok(p) if p == Purged::default() => {}
            Ok(p) => tracing::info!(
                refused_samples = p.refused_samples,
                notification_bodies = p.notification_bodies,
                idempotency_keys = p.idempotency_keys,
                "retention purge"
            ),
            Err(e) => tracing::error!(error = %e, "the retention purge failed"),
        }
        if stop.sleep(every).await {
            break;
        }
    }
}

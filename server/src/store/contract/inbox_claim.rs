//! The inbox claim's lease (`Store::inbox_claim`): its concurrency test, apart until the
//! claim is on every branch's trait.

use super::{Db, build::notification, now_ms, together};

/// Callers at once.
const N: usize = 16;
/// Stores (instances) open on the database.
const INSTANCES: usize = 2;

pub(super) async fn each_notification_is_claimed_by_exactly_one_worker(db: &Db) {
    let stores = db.instances(INSTANCES).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let n = notification(&format!("wh_{i}"), &format!("k{i}"), true);
        stores[0].inbox_insert(&n).await.unwrap();
        ids.push(n.id);
    }
    ids.sort();
    let now = now_ms() + 1_000;
    // N inbox workers claim one notification at a time until none is left unleased.
    let claims = together(&stores, N, move |_, s| async move {
        let mut mine = Vec::new();
        loop {
            let got = s.inbox_claim(now, 60_000, 1).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|n| n.id));
        }
    })
    .await;
    let mut claimed: Vec<String> = claims.into_iter().flatten().collect();
    claimed.sort();
    assert_eq!(claimed, ids, "each notification claimed by exactly one worker, none left");
    assert!(stores[1].inbox_claim(now, 60_000, 100).await.unwrap().is_empty(), "all leased");
    assert_eq!(
        stores[1].inbox_claim(now + 60_000, 60_000, 100).await.unwrap().len(),
        8,
        "claimed again once the lease ends"
    );
}

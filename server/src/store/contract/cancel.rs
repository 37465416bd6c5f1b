//! The merchant's cancellation of a checkout ([`crate::store::Store::cancel_checkout`]): only
//! an open one, once, with its history row and event, and never beside a payment starting at
//! the same moment; run on every backend by `contract!` (see the parent module).

use shared::{
    api::EventType,
    method::Provider,
    status::{AttemptStatus, CheckoutStatus},
};

use super::{
    Db,
    build::{attempt, checkout, paid_checkout, update},
    together,
};
use crate::store::{Cause, StoreError};

fn cancel() -> Cause {
    Cause::Api("cancel")
}

pub(super) async fn an_open_checkout_is_cancelled_once_with_its_event(db: &Db) {
    let s = db.store();
    let c = checkout("co_1", "order-1");
    s.insert_checkout(&c, &Cause::Api("create")).await.unwrap();

    let (after, cancelled) = s.cancel_checkout("co_1", &cancel()).await.unwrap().unwrap();
    assert!(cancelled);
    assert_eq!(after.status, CheckoutStatus::Cancelled);
    assert_eq!(s.checkout("co_1").await.unwrap().unwrap(), after, "the checkout as stored");
    let last = s.history("co_1").await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from.as_deref(), last.to.as_str(), last.cause.as_str()),
        (Some("open"), "cancelled", "api:cancel")
    );
    let kinds: Vec<_> = s.checkout_events("co_1").await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::CheckoutCancelled]);

    // Again: unchanged, nothing more written.
    let (again, cancelled) = s.cancel_checkout("co_1", &cancel()).await.unwrap().unwrap();
    assert!(!cancelled);
    assert_eq!(again.status, CheckoutStatus::Cancelled);
    assert_eq!(s.history("co_1").await.unwrap().len(), 2, "created, cancelled");
    assert_eq!(s.checkout_events("co_1").await.unwrap().len(), 1);
    assert_eq!(s.cancel_checkout("co_none", &cancel()).await.unwrap(), None);

    // No payment starts on it.
    let started = s.start_attempt(&attempt("at_1", "co_1"), 0, &Cause::Api("pay")).await;
    assert!(matches!(started, Err(StoreError::Conflict(_))), "{started:?}");
    assert_eq!(s.attempts("co_1").await.unwrap(), []);
}

pub(super) async fn only_an_open_checkout_is_cancelled(db: &Db) {
    let s = db.store();
    // Paying: an attempt is at the provider.
    s.insert_checkout(&checkout("co_1", "order-1"), &Cause::Api("create")).await.unwrap();
    s.start_attempt(&attempt("at_1", "co_1"), 0, &Cause::Api("pay")).await.unwrap();
    let history = s.history("co_1").await.unwrap();
    let (after, cancelled) = s.cancel_checkout("co_1", &cancel()).await.unwrap().unwrap();
    assert!(!cancelled);
    assert_eq!(after.status, CheckoutStatus::Processing);
    assert_eq!(s.history("co_1").await.unwrap(), history, "nothing written");
    // Once the attempt failed, the checkout is open again, and cancelled.
    let poll = Cause::Poll(Provider::NovaSend);
    s.update_attempt("at_1", &update(AttemptStatus::Failed), &poll).await.unwrap();
    let (after, cancelled) = s.cancel_checkout("co_1", &cancel()).await.unwrap().unwrap();
    assert!(cancelled);
    assert_eq!(after.status, CheckoutStatus::Cancelled);

    // Paid: nothing to cancel.
    paid_checkout(&*s, "co_2").await;
    let events = s.checkout_events("co_2").await.unwrap();
    let (after, cancelled) = s.cancel_checkout("co_2", &cancel()).await.unwrap().unwrap();
    assert!(!cancelled);
    assert_eq!(after.status, CheckoutStatus::Succeeded);
    assert_eq!(s.checkout_events("co_2").await.unwrap(), events, "no event");

    // Expired: nothing to cancel.
    let mut old = checkout("co_3", "order-3");
    old.expires_at = old.created_at - 1;
    s.insert_checkout(&old, &Cause::Api("create")).await.unwrap();
    s.expire_checkouts(old.created_at).await.unwrap();
    let (after, cancelled) = s.cancel_checkout("co_3", &cancel()).await.unwrap().unwrap();
    assert!(!cancelled);
    assert_eq!(after.status, CheckoutStatus::Expired);
}

pub(super) async fn a_cancellation_and_a_payment_at_once_never_both_happen(db: &Db) {
    let instances = db.instances(2).await;
    for round in 0..8 {
        let id = format!("co_{round}");
        instances[0]
            .insert_checkout(&checkout(&id, &format!("order-{round}")), &Cause::Api("create"))
            .await
            .unwrap();
        let ids = (id.clone(), format!("at_{round}"));
        let outcomes = together(&instances, 2, move |i, s| {
            let (id, attempt_id) = ids.clone();
            async move {
                if i == 0 {
                    s.cancel_checkout(&id, &cancel()).await.unwrap().unwrap().1
                } else {
                    s.start_attempt(&attempt(&attempt_id, &id), 0, &Cause::Api("pay")).await.is_ok()
                }
            }
        })
        .await;
        let (cancelled, paying) = (outcomes[0], outcomes[1]);
        assert!(cancelled != paying, "round {round}: cancelled {cancelled}, payment started {paying}");
        let stored = instances[1].checkout_with_attempts(&id).await.unwrap().unwrap();
        if cancelled {
            assert_eq!((stored.0.status, stored.1.len()), (CheckoutStatus::Cancelled, 0));
        } else {
            assert_eq!((stored.0.status, stored.1.len()), (CheckoutStatus::Processing, 1));
        }
    }
}

//! Merchant API keys over HTTP: keys made as `verifier keys create` makes them (on the same
//! database, through another connection's store) work beside the configured one, several at once;
//! a revoked key is refused within the cache's bound; a key of the other mode or another form
//! is refused.

use std::time::Duration;

use e2e::{MERCHANT_KEY, TestApp};
use serde_json::json;
use server::{config::Mode, merchant_keys};

async fn create_status(app: &TestApp, key: &str) -> u16 {
    let reference = format!("order-{}", uuid::Uuid::new_v4());
    app.create_checkout_raw(json!({"amount": 5000, "currency": "XOF", "reference": reference}), key).await.0
}

#[tokio::test(flavor = "multi_thread")]
async fn created_keys_work_together_and_a_revoked_one_is_refused_within_the_bound() {
    let app = TestApp::spawn().await;
    // Another connection to the verifier's database, as the `verifier keys` command opens.
    let store = app.store().await;
    let (first, first_key) = merchant_keys::create(&*store, Mode::Test).await.unwrap();
    let (_, second_key) = merchant_keys::create(&*store, Mode::Test).await.unwrap();
    use secrecy::ExposeSecret;
    let (first_key, second_key) =
        (first_key.expose_secret().to_owned(), second_key.expose_secret().to_owned());
    // The configured key and both stored keys, all at once (a rotation overlaps).
    for key in [MERCHANT_KEY, first_key.as_str(), second_key.as_str()] {
        assert_eq!(create_status(&app, key).await, 201, "{key:?}");
    }
    // Stored hashed: the list holds no key.
    let listed = store.merchant_keys().await.unwrap();
    assert_eq!(listed.len(), 2);
    let printed = format!("{listed:?}");
    assert!(!printed.contains(&first_key[8..]) && !printed.contains(&second_key[8..]), "{printed}");
    assert_eq!(listed[0].hint, first_key[first_key.len() - 4..]);

    // Revoked by another process: refused within the cache's bound, the others still work.
    let revoked_at = tokio::time::Instant::now();
    assert!(store.merchant_key_revoke(&first.id, server::checkouts::now()).await.unwrap());
    let bound = merchant_keys::CACHE_TTL + Duration::from_secs(2);
    loop {
        let status = create_status(&app, &first_key).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 201);
        assert!(
            revoked_at.elapsed() < bound,
            "still accepted {:?} after its revocation",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(create_status(&app, &second_key).await, 201);
    assert_eq!(create_status(&app, MERCHANT_KEY).await, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_of_the_other_mode_or_form_are_refused() {
    let app = TestApp::spawn().await;
    let store = app.store().await;
    // A live key stored in the database is not accepted by a test verifier.
    let (_, live) = merchant_keys::create(&*store, Mode::Live).await.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(create_status(&app, live.expose_secret()).await, 401);
    let swapped = MERCHANT_KEY.replacen("mk_test_", "mk_live_", 1);
    for key in
        [swapped.as_str(), "mk_wrong", "", "mk_test_e2e0123456789abcdefABCDEFGHIJKL", &MERCHANT_KEY[..20]]
    {
        assert_eq!(create_status(&app, key).await, 401, "{key:?}");
    }
}

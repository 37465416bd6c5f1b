//! The MyPVit adapter against the variants its sandbox can be switched to, end to end: the
//! parameter tables enforced (`strict_fields`: the adapter sends only the tables' fields, so
//! `operator_owner_charge` and no operator), a wrong key answered 403/3100 as the document's
//! error table gives it (`authentication_failure_status: 403`: the adapter renews and repeats),
//! and `AMBIGUOUS_TRANSACTION`, `API_MAINTENANCE_MODE`, `UNAVAILABLE_SERVICE` (the `refuse`
//! mode) read as "outcome unknown" or "provider unavailable", never as a customer's refusal or
//! a payment.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_adapters_requests_pass_a_sandbox_that_refuses_what_the_tables_do_not_have() {
    let h = Harness::start_with(|s, c, _| {
        c.strict_fields = true;
        s.operator_owner_charge = Some(ChargeOwner::Customer);
    })
    .await;
    let started =
        h.adapter.start(&payment("ref-strict", 500, "074416546", PaymentMethod::AirtelMoney)).await.unwrap();
    assert_eq!(started.status, AttemptStatus::AwaitingCustomer);
    assert_eq!(h.final_status("ref-strict").await.status, AttemptStatus::Succeeded);
    // The sandbox does refuse a field outside the tables, so the pass above means something.
    let key = h.secret_state().await.current_key.expect("a key was delivered");
    let refused: serde_json::Value = h
        .raw(reqwest::Method::POST, "/RST0TEST/rest", Some(&key))
        .json(&serde_json::json!({
            "amount": 500, "reference": "REFX1", "service": "RESTFUL", "callback_url_code": "CB001",
            "customer_account_number": "074416546", "merchant_operation_account_code": ACCOUNT,
            "transaction_type": "PAYMENT", "owner_charge": "CUSTOMER", "operator_code": "AIRTEL_MONEY"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "UNREADABLE_REQUEST_BODY", "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_authentication_failure_renews_the_key_and_repeats_the_call() {
    let h = Harness::start_with(|_, c, _| c.authentication_failure_status = 403).await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    h.revoke().await;
    // The sandbox now answers the old key 403 AUTHENTICATION_FAILED …
    let stale = h
        .raw(
            reqwest::Method::GET,
            &format!("/BAL0TEST/balance?accountOperationCode={ACCOUNT}"),
            Some("sk_old"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403);
    // … and the adapter renews once and repeats once.
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    let state = h.secret_state().await;
    assert_eq!((state.renewals, state.auth_refusals), (2, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_maintenance_and_unavailable_answers_take_nothing_and_pay_nothing() {
    let h = Harness::start().await;
    for code in ["AMBIGUOUS_TRANSACTION", "API_MAINTENANCE_MODE", "UNAVAILABLE_SERVICE"] {
        let set = h
            .http
            .post(format!("{}/_sandbox/misbehave", h.sandbox))
            .json(&serde_json::json!({"scope": "global", "modes": [{"refuse": code}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 200);
        let reference = format!("ref-{}", code.to_lowercase());
        // An ambiguous answer leaves the outcome unknown (the reconciler asks later); a provider
        // down takes nothing, so the attempt may end as "provider unavailable".
        match (
            code,
            h.adapter.start(&payment(&reference, 500, "074416546", PaymentMethod::AirtelMoney)).await,
        ) {
            (_, Err(ProviderError::Unavailable(_))) => {}
            (
                "API_MAINTENANCE_MODE" | "UNAVAILABLE_SERVICE",
                Err(ProviderError::Refused { code: c, provider_code }),
            ) if c == ErrorCode::ProviderUnavailable && provider_code == code => {}
            (_, other) => panic!("{code}: {other:?}"),
        }
    }
    let cleared = h.http.delete(format!("{}/_sandbox/misbehave", h.sandbox)).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(h.transactions().await.is_empty(), "nothing was taken while MyPVit refused");
}

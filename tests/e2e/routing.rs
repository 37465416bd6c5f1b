//! Two providers for one method, end to end: MTN MoMo in Côte d'Ivoire is carried by both
//! NovaSend and CaurisFlux, and the verifier chooses (`[routing]`). A provider down (its
//! sandbox answering 500, `POST /_sandbox/misbehave`) is skipped for the cool-down and the other
//! takes the payments; once it is back it gets its share again. A refusal certain to have
//! started nothing (CaurisFlux's `422 PROVIDER_ERROR`, "L'opérateur est momentanément
//! indisponible": <https://docs.caurisflux.com/guides/errors>) is tried once on the other
//! provider with no second prompt; a call that timed out after the provider took it is never
//! sent elsewhere. The sandboxes' own listings count what each provider received.

use std::time::Duration;

use e2e::{Options, TestApp};
use serde_json::{Value, json};
use server::routing::{RoutingRule, RoutingSettings};
use shared::{
    api::Checkout,
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    phone::Country,
    status::AttemptStatus,
};
use tokio::time::Instant;

/// An MTN number whose customer confirms, on either sandbox (NovaSend's `…0000001`,
/// CaurisFlux's `01`: the README's test numbers).
const CONFIRMS: &str = "05 00 00 00 01";

/// An MTN number with no trigger on either sandbox: the customer is prompted and does not
/// answer yet.
const WAITS: &str = "05 07 12 34 56";

fn secret(c: &Checkout) -> String {
    c.client_secret.clone().expect("create returns the client secret")
}

fn routing(cooldown_ms: u64, prefer: Option<Provider>, weights: &[(Provider, u32)]) -> RoutingSettings {
    RoutingSettings {
        cooldown_ms,
        window_ms: 60_000,
        rules: vec![RoutingRule {
            method: PaymentMethod::MtnMomo,
            country: Country::Ci,
            prefer,
            weights: weights.iter().copied().collect(),
        }],
    }
}

/// Pays a new checkout with MTN MoMo, naming no provider, as the widget does; returns the
/// checkout as the merchant then reads it.
async fn pay_new(app: &TestApp) -> Checkout {
    pay_new_with(app, CONFIRMS).await
}

async fn pay_new_with(app: &TestApp, phone: &str) -> Checkout {
    let c = app.create_checkout(2_000).await;
    let (status, body) = app.pay_raw(&c.id, &secret(&c), json!({"method": "mtn_momo", "phone": phone})).await;
    assert_eq!(status, 200, "{body}");
    app.merchant_checkout(&c.id).await
}

fn providers(c: &Checkout) -> Vec<Provider> {
    c.attempts.iter().map(|a| a.provider).collect()
}

async fn causes(app: &TestApp, id: &str) -> Vec<String> {
    app.history(id).await.iter().filter_map(|e| e["cause"].as_str().map(str::to_owned)).collect()
}

async fn counts(app: &TestApp) -> (usize, usize) {
    (app.sandbox_payins().await.unwrap().len(), app.caurisflux_payments().await.unwrap().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_down_is_skipped_and_gets_its_share_again_once_back() {
    let weights = [(Provider::NovaSend, 1), (Provider::CaurisFlux, 1)];
    let app = TestApp::spawn_with(Options {
        routing: routing(2_000, None, &weights),
        // Every payment is a CaurisFlux request: room for them above the documented 100 a minute.
        caurisflux_rate_per_minute: 10_000,
        caurisflux_rate_per_hour: 100_000,
        ..Options::default()
    })
    .await;
    app.misbehave(&app.novasend_url, json!({"scope": "global", "modes": ["error_500"]})).await;

    // The first payment goes to NovaSend (equal weights, configuration order breaks the tie):
    // its 500 leaves the outcome unknown, so the attempt stays pending there and is not sent
    // elsewhere, and NovaSend cools down.
    let first = pay_new(&app).await;
    assert_eq!(providers(&first), [Provider::NovaSend]);
    assert!(first.attempts[0].status.is_pending());
    // Meanwhile CaurisFlux takes every payment.
    for _ in 0..4 {
        let c = pay_new(&app).await;
        assert_eq!(providers(&c), [Provider::CaurisFlux], "NovaSend is cooling down");
        assert!(causes(&app, &c.id).await.contains(&"api:pay:route:cauris_flux:weighted".to_owned()));
    }
    assert_eq!(counts(&app).await, (0, 4), "the 500 did nothing at NovaSend");

    // NovaSend comes back: once its cool-down is over it gets payments again.
    app.behave(&app.novasend_url).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = pay_new(&app).await;
        if providers(&c) == [Provider::NovaSend] {
            break;
        }
        assert!(Instant::now() < deadline, "NovaSend never got a payment back");
    }
    let mut back = Vec::new();
    for _ in 0..8 {
        back.extend(providers(&pay_new(&app).await));
    }
    let to_novasend = back.iter().filter(|&&p| p == Provider::NovaSend).count();
    assert!((1..8).contains(&to_novasend), "both share the payments again: {back:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_before_anything_started_is_tried_once_on_the_other_provider() {
    let app = TestApp::spawn_with(Options {
        routing: routing(60_000, Some(Provider::CaurisFlux), &[]),
        ..Options::default()
    })
    .await;
    app.misbehave(&app.caurisflux_url, json!({"scope": "global", "modes": [{"refuse": "PROVIDER_ERROR"}]}))
        .await;

    let c = pay_new(&app).await;
    assert_eq!(providers(&c), [Provider::CaurisFlux, Provider::NovaSend]);
    let (refused, retried) = (&c.attempts[0], &c.attempts[1]);
    assert_eq!(
        (refused.status, refused.failure),
        (AttemptStatus::Failed, Some(ErrorCode::ProviderUnavailable))
    );
    assert!(retried.status.is_pending() || retried.status == AttemptStatus::Succeeded, "{retried:?}");
    // One prompt at most: CaurisFlux holds no payment, NovaSend one.
    assert_eq!(counts(&app).await, (1, 0));
    let first_causes = causes(&app, &c.id).await;
    assert!(first_causes.contains(&"api:pay:route:cauris_flux:preferred".to_owned()), "{first_causes:?}");
    assert!(
        first_causes.contains(&"api:pay:route:nova_send:failover_from:cauris_flux".to_owned()),
        "{first_causes:?}"
    );

    // CaurisFlux is now cooling down: the next payment goes straight to NovaSend.
    let next = pay_new(&app).await;
    assert_eq!(providers(&next), [Provider::NovaSend]);
    let next_causes = causes(&app, &next.id).await;
    assert!(
        next_causes.contains(&"api:pay:route:nova_send:cooling_down:cauris_flux".to_owned()),
        "{next_causes:?}"
    );
    assert_eq!(counts(&app).await, (2, 0));

    // A payer naming the provider is not routed elsewhere, even when it refuses.
    let named = app.create_checkout(2_000).await;
    let (status, body): (u16, Value) = app
        .pay_raw(
            &named.id,
            &secret(&named),
            json!({"provider": "cauris_flux", "method": "mtn_momo", "phone": CONFIRMS}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(providers(&app.merchant_checkout(&named.id).await), [Provider::CaurisFlux]);
    assert_eq!(counts(&app).await, (2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_after_sending_is_not_retried_elsewhere() {
    let app = TestApp::spawn_with(Options {
        routing: routing(60_000, Some(Provider::CaurisFlux), &[]),
        provider_timeout_ms: 1_000,
        ..Options::default()
    })
    .await;
    // CaurisFlux takes the payment (the customer is prompted), then its answer is late.
    app.misbehave(
        &app.caurisflux_url,
        json!({"scope": "global", "modes": [{"timeout_after_taking": 5_000}]}),
    )
    .await;

    // A number without a trigger: the customer has the prompt and has not answered.
    let c = pay_new_with(&app, WAITS).await;
    assert_eq!(providers(&c), [Provider::CaurisFlux], "never a second prompt elsewhere");
    assert!(
        c.attempts[0].status.is_pending(),
        "the outcome is unknown: reconciled, not failed: {:?}",
        c.attempts
    );
    assert_eq!(counts(&app).await, (0, 1));

    // The timeout counts against CaurisFlux: the next customer goes to NovaSend.
    let next = pay_new(&app).await;
    assert_eq!(providers(&next), [Provider::NovaSend]);
    assert_eq!(counts(&app).await, (1, 1));
}

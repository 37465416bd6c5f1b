//! The CaurisFlux adapter without a network: the seed's error table, statuses, webhook
//! signatures (the plugin's own test vector), the webhook secret check and the method table.
//! Its behaviour against the sandbox over HTTP is tested in `sandbox::caurisflux::tests`.

use axum::http::HeaderMap;
use shared::catalogue::SuggestedAction;

use super::wire::WebhookEvent;
use super::*;

const SECRET: &str = "whsec_test";
const PLUGIN_VECTOR: &[u8] =
    include_bytes!("../../../tests/fixtures/caurisflux/webhook_plugin_test_vector.json");

pub(crate) fn settings(base_url: &str, public_key: &str, secret_key: &str) -> Settings {
    Settings {
        mode: Mode::Test,
        allow_custom_host: false,
        base_url: base_url.into(),
        public_key: public_key.into(),
        secret_key: secret_key.to_owned().into(),
        webhook_secret: SECRET.to_owned().into(),
        timeout_ms: 5_000,
    }
}

fn adapter() -> CaurisFlux {
    CaurisFlux::new(&settings(SANDBOX_URL, "pk_test_abc", "sk_test_def")).unwrap()
}

fn xof(minor: u64) -> Money {
    Money::new(minor, Currency::Xof).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Refused(ErrorCode),
    Unavailable,
    Integration,
}

fn outcome(e: &ProviderError) -> Expect {
    match e {
        ProviderError::Refused { code, .. } => Expect::Refused(*code),
        ProviderError::Unavailable(_) => Expect::Unavailable,
        ProviderError::Integration(_) | ProviderError::Unsupported(_) => Expect::Integration,
    }
}

fn body(status: u16, message: &str, code: Option<&str>) -> Vec<u8> {
    let mut v = serde_json::json!({"statusCode": status, "message": message});
    if let Some(code) = code {
        v["error"] = code.into();
    }
    serde_json::to_vec(&v).unwrap()
}

/// The seed's named codes (`guides/errors`, seed 000), each with the HTTP status the sandbox
/// answers it with, a message (the seed's own where it gives one), the amount asked, and what
/// the adapter must make of it.
const SEED_CODES: &[(&str, u16, &str, u64, Expect)] = &[
    ("UNAUTHORIZED", 401, "Clé API manquante dans l'en-tête", 5000, Expect::Integration),
    ("FORBIDDEN", 403, "IP non autorisée", 5000, Expect::Integration),
    (
        "VALIDATION_ERROR",
        400,
        "Le montant doit être entre 100 et 5 000 000",
        50,
        Expect::Refused(ErrorCode::AmountTooLow),
    ),
    (
        "VALIDATION_ERROR",
        400,
        "Le montant doit être entre 100 et 5 000 000",
        6_000_000,
        Expect::Refused(ErrorCode::LimitExceeded),
    ),
    ("VALIDATION_ERROR", 400, "Devise non supportée", 5000, Expect::Refused(ErrorCode::MethodUnavailable)),
    (
        "VALIDATION_ERROR",
        400,
        "Format de numéro invalide",
        5000,
        Expect::Refused(ErrorCode::InvalidPhoneNumber),
    ),
    (
        "VALIDATION_ERROR",
        400,
        "Méthode de paiement invalide",
        5000,
        Expect::Refused(ErrorCode::MethodUnavailable),
    ),
    ("RATE_LIMIT_EXCEEDED", 429, "Trop de requêtes", 5000, Expect::Unavailable),
    (
        "DAILY_LIMIT_EXCEEDED",
        422,
        "Limite journalière atteinte",
        5000,
        Expect::Refused(ErrorCode::LimitExceeded),
    ),
    (
        "REFUND_NOT_ALLOWED",
        422,
        "Transaction non réussie",
        5000,
        Expect::Refused(ErrorCode::RefundNotAllowed),
    ),
    (
        "INVALID_REFUND_AMOUNT",
        422,
        "Montant de remboursement invalide",
        5000,
        Expect::Refused(ErrorCode::InvalidRefundAmount),
    ),
    ("PROVIDER_ERROR", 422, "Opérateur indisponible", 5000, Expect::Refused(ErrorCode::ProviderUnavailable)),
];

#[test]
fn every_named_code_of_the_seed_is_mapped() {
    // Every code the seed names, in its order (PROVIDER_ERROR is in its alerting advice).
    let named = "UNAUTHORIZED FORBIDDEN VALIDATION_ERROR RATE_LIMIT_EXCEEDED DAILY_LIMIT_EXCEEDED \
                 REFUND_NOT_ALLOWED INVALID_REFUND_AMOUNT PROVIDER_ERROR";
    for code in named.split_whitespace() {
        assert!(SEED_CODES.iter().any(|(c, ..)| *c == code), "{code} is not tested");
        assert!(
            ErrorCode::from_provider_code(Provider::CaurisFlux, code).is_some(),
            "{code} is not in the catalogue's CaurisFlux table"
        );
    }
    for &(code, status, message, amount, expected) in SEED_CODES {
        let got = classify_error(status, &body(status, message, Some(code)), Some(xof(amount)));
        assert_eq!(outcome(&got), expected, "{code} {message}");
    }
}

#[test]
fn every_http_code_of_the_seed_is_classified() {
    // "Codes HTTP": 200 is a success; the others, with bodies as they may come.
    for (status, message, expected) in [
        (400, "Montant invalide", Expect::Refused(ErrorCode::LimitExceeded)),
        (400, "Provider non disponible", Expect::Refused(ErrorCode::MethodUnavailable)),
        (401, "Unauthorized", Expect::Integration),
        (403, "Forbidden", Expect::Integration),
        (404, "Not Found", Expect::Integration),
        (422, "Erreur métier", Expect::Refused(ErrorCode::PaymentRefused)),
        (429, "Trop de requêtes", Expect::Unavailable),
        (500, "Internal server error", Expect::Unavailable),
    ] {
        let code = (status == 422).then_some("SOMETHING_NEW");
        let got = classify_error(status, &body(status, message, code), Some(xof(5000)));
        assert_eq!(outcome(&got), expected, "{status} {message}");
    }
    // Unreadable bodies: a 4xx is our problem, a 5xx the provider's.
    assert_eq!(outcome(&classify_error(400, b"<html>", None)), Expect::Integration);
    assert_eq!(outcome(&classify_error(502, b"<html>", None)), Expect::Unavailable);
}

#[test]
fn a_429_is_never_a_refusal() {
    for code in ["RATE_LIMIT_EXCEEDED", "DAILY_LIMIT_EXCEEDED", "PAYMENT_DECLINED", "VALIDATION_ERROR"] {
        let got = classify_error(429, &body(429, "x", Some(code)), Some(xof(5000)));
        assert_eq!(outcome(&got), Expect::Unavailable, "{code}");
    }
    assert_eq!(outcome(&classify_error(429, b"", None)), Expect::Unavailable);
}

#[test]
fn every_payment_error_of_the_seed_suggests_the_seeds_action() {
    // "Erreurs de paiement": documented by their action only; our names in PAYMENT_ERRORS.
    let seed_actions = [
        ("Informer le client de recharger son compte.", SuggestedAction::TopUp),
        ("Vérifier le numéro de téléphone.", SuggestedAction::CheckNumber),
        ("Proposer au client de réessayer.", SuggestedAction::Retry),
        ("Initier une nouvelle session de paiement.", SuggestedAction::StartNewPayment),
        ("Réessayer plus tard ou choisir une autre méthode.", SuggestedAction::RetryLater),
        ("Utiliser une autre méthode de paiement.", SuggestedAction::ChooseAnotherMethod),
    ];
    assert_eq!(PAYMENT_ERRORS.len(), seed_actions.len());
    for (action_text, action) in seed_actions {
        let (code, _) =
            PAYMENT_ERRORS.iter().find(|(_, a)| *a == action_text).expect("every action has a code");
        assert_eq!(catalogue_code(code).action(), action, "{code}");
        let refused = classify_error(422, &body(422, action_text, Some(code)), Some(xof(5000)));
        assert_eq!(outcome(&refused), Expect::Refused(catalogue_code(code)), "{code}");
    }
    assert_eq!(catalogue_code("insufficient_funds"), ErrorCode::InsufficientFunds, "case-insensitive");
    assert_eq!(catalogue_code("simulation"), ErrorCode::PaymentRefused, "unknown codes still fail");
}

#[test]
fn a_request_caurisflux_already_holds_is_asked_about_not_failed() {
    for code in ALREADY_KNOWN {
        assert_eq!(outcome(&classify_error(422, &body(422, "x", Some(code)), None)), Expect::Unavailable);
    }
}

fn payment(status: PaymentStatus) -> Payment {
    Payment {
        transaction_id: Some("TX1".into()),
        external_reference: Some("ours".into()),
        status: Some(status),
        ..Payment::default()
    }
}

#[test]
fn statuses_map_to_attempt_states() {
    let u = to_update(&payment(PaymentStatus::Pending));
    assert_eq!((u.status, u.failure), (AttemptStatus::AwaitingCustomer, None));
    assert_eq!(u.provider_reference.as_deref(), Some("TX1"));
    assert_eq!(to_update(&payment(PaymentStatus::Processing)).status, AttemptStatus::AwaitingCustomer);
    assert_eq!(to_update(&payment(PaymentStatus::Unknown)).status, AttemptStatus::AwaitingCustomer);
    assert_eq!(to_update(&payment(PaymentStatus::Success)).status, AttemptStatus::Succeeded);
    let u = to_update(&payment(PaymentStatus::Cancelled));
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)));
    let u = to_update(&payment(PaymentStatus::Expired));
    assert_eq!((u.status, u.failure), (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)));
    let mut failed = payment(PaymentStatus::Failed);
    assert_eq!(to_update(&failed).failure, Some(ErrorCode::PaymentRefused));
    failed.error_code = Some("INSUFFICIENT_FUNDS".into());
    assert_eq!(to_update(&failed).failure, Some(ErrorCode::InsufficientFunds));
    failed.error_code = None;
    failed.failure_reason = Some("INVALID_PHONE_NUMBER".into());
    assert_eq!(to_update(&failed).failure, Some(ErrorCode::InvalidPhoneNumber));
    // The plugin reads three names for the page.
    let mut p = payment(PaymentStatus::Pending);
    p.checkout_url = Some("https://pay.example/c".into());
    assert_eq!(to_update(&p).payment_url.as_deref(), Some("https://pay.example/c"));
}

fn notice<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> IncomingNotice<'a> {
    IncomingNotice { headers, body, peer: [127, 0, 0, 1].into(), path_token: None }
}

fn signed(secret: &str, ts: &str, body: &[u8], prefix: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(SIGNATURE_HEADER, format!("{prefix}{}", sign(secret, ts, body)).parse().unwrap());
    h.insert(TIMESTAMP_HEADER, ts.parse().unwrap());
    h
}

#[test]
fn the_plugins_signature_test_vector_verifies() {
    // WebhookSignatureTest::test_stripe_style_signature_timestamp_dot_body: the body, timestamp
    // and secret of the provider's own test.
    let settings = Settings {
        webhook_secret: "super_secret_key".to_owned().into(),
        ..settings(SANDBOX_URL, "pk_test_a", "sk_test_b")
    };
    let cf = CaurisFlux::new(&settings).unwrap();
    let ts = "1745923400";
    for prefix in ["", "sha256="] {
        let headers = signed("super_secret_key", ts, PLUGIN_VECTOR, prefix);
        // The signature holds; the body names no payment of ours, so it is unreadable to us.
        match cf.verify_at(&notice(&headers, PLUGIN_VECTOR), 1_745_923_400) {
            Err(WebhookError::Malformed(why)) => assert!(why.contains("externalReference"), "{why}"),
            other => panic!("expected a verified but unusable notice, got {other:?}"),
        }
    }
    // The legacy form (HMAC over the body alone) is refused: it could be replayed forever.
    let mut legacy = HeaderMap::new();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"super_secret_key").unwrap();
    mac.update(PLUGIN_VECTOR);
    legacy.insert(SIGNATURE_HEADER, hex::encode(mac.finalize().into_bytes()).parse().unwrap());
    assert!(matches!(
        cf.verify_at(&notice(&legacy, PLUGIN_VECTOR), 1_745_923_400),
        Err(WebhookError::BadSignature)
    ));
    legacy.insert(TIMESTAMP_HEADER, ts.parse().unwrap());
    assert!(matches!(
        cf.verify_at(&notice(&legacy, PLUGIN_VECTOR), 1_745_923_400),
        Err(WebhookError::BadSignature)
    ));
}

#[test]
fn signatures_timestamps_and_header_names() {
    let cf = adapter();
    let body = br#"{"event":"payment.success","data":{"transactionId":"TX9","externalReference":"ours","status":"success"}}"#;
    let now = 1_800_000_000;
    let ts = now.to_string();
    let headers = signed(SECRET, &ts, body, "sha256=");
    let v = cf.verify_at(&notice(&headers, body), now).unwrap();
    assert_eq!(v.reference, "ours");
    let u = v.update.unwrap();
    assert_eq!((u.status, u.provider_reference.as_deref()), (AttemptStatus::Succeeded, Some("TX9")));

    // Within ±300 s only.
    assert!(cf.verify_at(&notice(&headers, body), now + 300).is_ok());
    assert!(cf.verify_at(&notice(&headers, body), now - 300).is_ok());
    for off in [301, -301, 86_400] {
        assert!(matches!(cf.verify_at(&notice(&headers, body), now + off), Err(WebhookError::BadSignature)));
    }
    // Tampered body, other secret, another timestamp than the signed one, no signature.
    let mut tampered = body.to_vec();
    tampered[30] ^= 1;
    assert!(matches!(cf.verify_at(&notice(&headers, &tampered), now), Err(WebhookError::BadSignature)));
    let other = signed("not_the_secret", &ts, body, "");
    assert!(matches!(cf.verify_at(&notice(&other, body), now), Err(WebhookError::BadSignature)));
    let mut moved = headers.clone();
    moved.insert(TIMESTAMP_HEADER, (now + 1).to_string().parse().unwrap());
    assert!(matches!(cf.verify_at(&notice(&moved, body), now), Err(WebhookError::BadSignature)));
    let mut unsigned = headers.clone();
    unsigned.remove(SIGNATURE_HEADER);
    assert!(matches!(cf.verify_at(&notice(&unsigned, body), now), Err(WebhookError::BadSignature)));
    let mut garbage = headers.clone();
    garbage.insert(SIGNATURE_HEADER, "sha256=zz".parse().unwrap());
    assert!(matches!(cf.verify_at(&notice(&garbage, body), now), Err(WebhookError::BadSignature)));

    // The legacy header names are still read.
    let mut legacy = HeaderMap::new();
    legacy.insert(LEGACY_SIGNATURE_HEADER, sign(SECRET, &ts, body).parse().unwrap());
    legacy.insert(LEGACY_TIMESTAMP_HEADER, ts.parse().unwrap());
    assert!(cf.verify_at(&notice(&legacy, body), now).is_ok());

    // Signed but not JSON: malformed, not a bad signature.
    let junk = b"not json";
    let h = signed(SECRET, &ts, junk, "");
    assert!(matches!(cf.verify_at(&notice(&h, junk), now), Err(WebhookError::Malformed(_))));
}

#[test]
fn events_say_what_happened() {
    let event = |e: WebhookEvent, code: Option<&str>| {
        let mut data = payment(PaymentStatus::Unknown);
        data.error_code = code.map(str::to_owned);
        event_update(&WebhookBody { event: e, data })
    };
    let u = event(WebhookEvent::PaymentSuccess, None).unwrap();
    assert_eq!(u.status, AttemptStatus::Succeeded);
    assert_eq!(event(WebhookEvent::PaymentCompleted, None).unwrap().status, AttemptStatus::Succeeded);
    let u = event(WebhookEvent::PaymentFailed, Some("INSUFFICIENT_FUNDS")).unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::InsufficientFunds)));
    let u = event(WebhookEvent::PaymentFailed, None).unwrap();
    assert_eq!(u.failure, Some(ErrorCode::PaymentRefused));
    let u = event(WebhookEvent::PaymentCancelled, None).unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerCancelled)));
    let u = event(WebhookEvent::PaymentExpired, None).unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)));
    assert_eq!(event(WebhookEvent::RefundCompleted, None), None, "refunds make the verifier ask");
    assert_eq!(event(WebhookEvent::Unknown, None), None);
}

#[test]
fn an_empty_webhook_secret_refuses_to_start() {
    let no_secret =
        Settings { webhook_secret: " ".to_owned().into(), ..settings(SANDBOX_URL, "pk_test_a", "sk_test_b") };
    assert!(matches!(CaurisFlux::new(&no_secret), Err(ConfigError::NoWebhookSecret)));
}

#[test]
fn methods_follow_country_currency_and_limits() {
    let cf = adapter();
    use PaymentMethod::*;
    assert_eq!(cf.methods(Country::Ci, xof(5000)), vec![OrangeMoney, MtnMomo, MoovMoney, Wave, Card]);
    assert_eq!(cf.methods(Country::Sn, xof(5000)), vec![OrangeMoney, Wave, Card]);
    assert_eq!(cf.methods(Country::Bj, xof(100)), vec![MtnMomo, MoovMoney, Card]);
    assert_eq!(cf.methods(Country::Ne, xof(5_000_000)), vec![AirtelMoney, MoovMoney, Card]);
    let xaf = Money::new(5000, Currency::Xaf).unwrap();
    assert_eq!(cf.methods(Country::Cm, xaf), vec![OrangeMoney, MtnMomo, Card]);
    assert_eq!(cf.methods(Country::Ga, xaf), vec![AirtelMoney, MoovMoney, Card]);
    // The wrong zone's currency, a currency CaurisFlux does not take, a country it does not
    // serve, amounts out of 100–5 000 000.
    assert!(cf.methods(Country::Ci, xaf).is_empty());
    assert!(cf.methods(Country::Cm, xof(5000)).is_empty());
    assert!(cf.methods(Country::Ci, Money::new(5000, Currency::Eur).unwrap()).is_empty());
    assert!(cf.methods(Country::Gn, xof(5000)).is_empty());
    assert!(cf.methods(Country::Ci, xof(99)).is_empty());
    assert!(cf.methods(Country::Ci, xof(5_000_001)).is_empty());
    // Every operator offered has a code, and every served country a table row.
    for &(country, currency, operators) in COVERAGE {
        for m in cf.methods(country, Money::new(1000, currency).unwrap()) {
            if m != Card {
                assert!(operators.contains(&operator_of(m).unwrap()), "{country:?} {m:?}");
            }
        }
    }
}

#[tokio::test]
async fn refunds_are_unsupported_without_a_call() {
    // No refund API yet (docs guides/refunds); the base URL is unreachable on purpose.
    let cf = CaurisFlux::new(&settings("http://127.0.0.1:9/api/v1", "pk_test_a", "sk_test_b")).unwrap();
    let req = super::super::RefundRequest {
        refund_id: "rf_1".into(),
        payment_reference: "ours".into(),
        provider_reference: Some("TX1".into()),
        amount: xof(1000),
        paid: xof(5000),
        reason: None,
    };
    match cf.refund(&req).await {
        Err(ProviderError::Unsupported(why)) => assert!(why.contains("cauris_flux"), "{why}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn settings_debug_hides_the_secrets() {
    let s = settings(SANDBOX_URL, "pk_test_a", "sk_test_very_secret");
    let printed = format!("{s:?} {:?}", CaurisFlux::new(&s).unwrap());
    assert!(!printed.contains("sk_test_very_secret"), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");
}

//! The CaurisFlux adapter without a network: the errors guide's table
//! (`server/tests/fixtures/caurisflux/error_codes.tsv`), the three error shapes, statuses,
//! webhook signatures in every documented form (vectors computed with `openssl dgst`), the
//! webhook secret check and the method table.
//! Its behaviour over HTTP is tested in `tests/adapters/caurisflux.rs`.

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
        rate_per_minute: super::DEFAULT_RATE_PER_MINUTE,
        rate_per_hour: super::DEFAULT_RATE_PER_HOUR,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
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
        ProviderError::Unavailable(_) | ProviderError::BudgetSpent { .. } => Expect::Unavailable,
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

/// The errors guide's named codes (<https://docs.caurisflux.com/guides/errors>), each with an
/// HTTP status, a message (the guide's own where it gives one), the amount asked, and what the
/// adapter must make of it.
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
fn every_named_code_of_the_guide_is_mapped() {
    // Every code the guide names, in its order (PROVIDER_ERROR is in its alerting advice).
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
fn every_http_code_of_the_guide_is_classified() {
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
fn a_429_is_retry_later_unless_the_days_limit_is_reached() {
    for code in ["RATE_LIMIT_EXCEEDED", "PAYMENT_DECLINED", "VALIDATION_ERROR"] {
        let got = classify_error(429, &body(429, "x", Some(code)), Some(xof(5000)));
        assert_eq!(outcome(&got), Expect::Unavailable, "{code}");
    }
    assert_eq!(outcome(&classify_error(429, b"", None)), Expect::Unavailable);
    // DAILY_LIMIT_EXCEEDED: nothing more today, a refusal, not "retry later".
    let got = classify_error(429, &body(429, "x", Some("DAILY_LIMIT_EXCEEDED")), Some(xof(5000)));
    assert_eq!(outcome(&got), Expect::Refused(ErrorCode::LimitExceeded));
}

#[test]
fn every_code_of_the_guides_table_has_a_deliberate_class() {
    let table = include_str!("../../../tests/fixtures/caurisflux/error_codes.tsv");
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [code, status, _meaning, _source] = cols[..] else { panic!("bad row {line:?}") };
        rows += 1;
        if code.is_empty() {
            // An HTTP status of the "Codes HTTP" table, with the docs' NestJS body.
            let status: u16 = status.parse().unwrap();
            let got = outcome(&classify_error(status, &body(status, "m", None), Some(xof(5000))));
            let want = match status {
                400 | 422 => Expect::Refused(ErrorCode::MethodUnavailable),
                429 | 500 => Expect::Unavailable,
                _ => Expect::Integration,
            };
            assert_eq!(got, want, "{line}");
            continue;
        }
        assert!(
            ErrorCode::from_provider_code(Provider::CaurisFlux, code).is_some(),
            "{code} has no catalogue code"
        );
        assert!(SEED_CODES.iter().any(|(c, ..)| *c == code), "{code} has no expected class below");
    }
    assert_eq!(rows, 15);
}

#[test]
fn error_bodies_in_each_shape() {
    // `{error: "CODE"}` (the plugin reads a string `error`), `{statusCode, message}` (NestJS,
    // the docs' example), `{success: false, error: {code, message}}`.
    let shapes = [
        serde_json::json!({"error": "DAILY_LIMIT_EXCEEDED"}),
        serde_json::json!({"statusCode": 422, "message": "x", "error": "DAILY_LIMIT_EXCEEDED"}),
        serde_json::json!({"success": false, "error": {"code": "DAILY_LIMIT_EXCEEDED", "message": "Limite"}}),
    ];
    for shape in shapes {
        let got = classify_error(422, &serde_json::to_vec(&shape).unwrap(), Some(xof(5000)));
        assert_eq!(outcome(&got), Expect::Refused(ErrorCode::LimitExceeded), "{shape}");
    }
    // The docs' own example: NestJS, no code, a message about the amount.
    let example = include_bytes!("../../../tests/fixtures/caurisflux/error_amount.json");
    assert_eq!(
        outcome(&classify_error(400, example, Some(xof(50)))),
        Expect::Refused(ErrorCode::AmountTooLow)
    );
    let nested = serde_json::json!({"success": false, "error": {"code": "VALIDATION_ERROR",
        "message": "Format de numéro invalide"}});
    assert_eq!(
        outcome(&classify_error(400, &serde_json::to_vec(&nested).unwrap(), Some(xof(5000)))),
        Expect::Refused(ErrorCode::InvalidPhoneNumber)
    );
    let auth = serde_json::json!({"success": false, "error": {"code": "UNAUTHORIZED", "message": "Clé"}});
    assert_eq!(outcome(&classify_error(400, &serde_json::to_vec(&auth).unwrap(), None)), Expect::Integration);
}

#[test]
fn every_payment_error_of_the_guide_suggests_the_guides_action() {
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

/// The plugin's own test (`tests/unit/WebhookSignatureTest.php`): body, timestamp and secret.
const PLUGIN_SECRET: &str = "super_secret_key";
const PLUGIN_TS: &str = "1745923400";
const PLUGIN_NOW: i64 = 1_745_923_400;
/// `(printf '1745923400.'; cat server/tests/fixtures/caurisflux/webhook_plugin_test_vector.json) | openssl dgst -sha256 -hmac super_secret_key`
const VECTOR_TS_DOT_BODY: &str = "df2091f9eca9c3291204ca31ec28db02b1ae12405304b157c6b3d3f09feaa6d0";
/// `openssl dgst -sha256 -hmac super_secret_key server/tests/fixtures/caurisflux/webhook_plugin_test_vector.json`
const VECTOR_BODY: &str = "0eebfcddd355eb28fe61e0aa00a6443e0a2dc2895a40e846d0ca74fa6eff98ee";
/// `(printf '1745923400.'; cat server/tests/fixtures/caurisflux/webhook_admin_simulation.json) | openssl dgst -sha256 -hmac super_secret_key`
const SIMULATION_TS_DOT_BODY: &str = "482bcc8ce3417a35729847bce83d361d5015ae1e93a5c551a638cc8ecee880a0";
/// `openssl dgst -sha256 -hmac super_secret_key server/tests/fixtures/caurisflux/webhook_admin_simulation.json`
const SIMULATION_BODY: &str = "df917c84a045e6f1e05ed1baa1b42b295467bb43968651411857d13d7c495f6a";
const SIMULATION: &[u8] = include_bytes!("../../../tests/fixtures/caurisflux/webhook_admin_simulation.json");

fn plugin_adapter() -> CaurisFlux {
    let settings = Settings {
        webhook_secret: PLUGIN_SECRET.to_owned().into(),
        ..settings(SANDBOX_URL, "pk_test_a", "sk_test_b")
    };
    CaurisFlux::new(&settings).unwrap()
}

/// Headers carrying `signature` (with `prefix`) and, when given, `timestamp`, under the current
/// or the legacy names.
fn headers(signature: &str, prefix: &str, timestamp: Option<&str>, legacy: bool) -> HeaderMap {
    let (sig, ts) = if legacy {
        (LEGACY_SIGNATURE_HEADER, LEGACY_TIMESTAMP_HEADER)
    } else {
        (SIGNATURE_HEADER, TIMESTAMP_HEADER)
    };
    let mut h = HeaderMap::new();
    h.insert(sig, format!("{prefix}{signature}").parse().unwrap());
    if let Some(t) = timestamp {
        h.insert(ts, t.parse().unwrap());
    }
    h
}

#[test]
fn the_plugins_test_vector_verifies_in_every_documented_form() {
    let cf = plugin_adapter();
    for legacy in [false, true] {
        for prefix in ["", "sha256="] {
            for (signature, timestamp) in
                [(VECTOR_TS_DOT_BODY, Some(PLUGIN_TS)), (VECTOR_BODY, Some(PLUGIN_TS)), (VECTOR_BODY, None)]
            {
                let h = headers(signature, prefix, timestamp, legacy);
                // The signature holds; the body names no payment, so it is unreadable to us.
                match cf.verify_at(&notice(&h, PLUGIN_VECTOR), PLUGIN_NOW) {
                    Err(WebhookError::Malformed(why)) => assert!(why.contains("externalReference"), "{why}"),
                    other => panic!("{legacy} {prefix:?} {timestamp:?}: {other:?}"),
                }
            }
        }
    }
    // A "<timestamp>.<body>" signature needs its timestamp.
    let h = headers(VECTOR_TS_DOT_BODY, "", None, false);
    assert!(matches!(cf.verify_at(&notice(&h, PLUGIN_VECTOR), PLUGIN_NOW), Err(WebhookError::BadSignature)));
}

#[test]
fn a_simulated_event_is_read_in_both_signed_forms() {
    let cf = plugin_adapter();
    for (signature, timestamp) in [
        (SIMULATION_TS_DOT_BODY, Some(PLUGIN_TS)),
        (SIMULATION_BODY, Some(PLUGIN_TS)),
        (SIMULATION_BODY, None),
    ] {
        let h = headers(signature, "sha256=", timestamp, false);
        let v = cf.verify_at(&notice(&h, SIMULATION), PLUGIN_NOW).unwrap();
        assert_eq!(v.reference, "1234");
        let u = v.update.unwrap();
        assert_eq!(u.status, AttemptStatus::Failed);
        assert_eq!(u.provider_reference.as_deref(), Some("TEST_6f1c2d3e-0000-4000-8000-000000000001"));
    }
}

#[test]
fn timestamps_secrets_and_bodies_are_checked() {
    let cf = plugin_adapter();
    let h = headers(SIMULATION_TS_DOT_BODY, "", Some(PLUGIN_TS), false);
    // Within ±300 s only, whichever form is signed.
    assert!(cf.verify_at(&notice(&h, SIMULATION), PLUGIN_NOW + 300).is_ok());
    assert!(cf.verify_at(&notice(&h, SIMULATION), PLUGIN_NOW - 300).is_ok());
    for off in [301, -301, 86_400] {
        assert!(matches!(
            cf.verify_at(&notice(&h, SIMULATION), PLUGIN_NOW + off),
            Err(WebhookError::BadSignature)
        ));
        let body_only = headers(SIMULATION_BODY, "", Some(PLUGIN_TS), false);
        assert!(matches!(
            cf.verify_at(&notice(&body_only, SIMULATION), PLUGIN_NOW + off),
            Err(WebhookError::BadSignature)
        ));
    }
    // Another timestamp than the signed one, a tampered body, another secret, no signature,
    // a signature that is not hex, a timestamp that is not a number.
    let moved = headers(SIMULATION_TS_DOT_BODY, "", Some("1745923401"), false);
    assert!(matches!(cf.verify_at(&notice(&moved, SIMULATION), PLUGIN_NOW), Err(WebhookError::BadSignature)));
    let mut tampered = SIMULATION.to_vec();
    tampered[30] ^= 1;
    assert!(matches!(cf.verify_at(&notice(&h, &tampered), PLUGIN_NOW), Err(WebhookError::BadSignature)));
    assert!(matches!(
        adapter().verify_at(&notice(&h, SIMULATION), PLUGIN_NOW),
        Err(WebhookError::BadSignature)
    ));
    let mut unsigned = h.clone();
    unsigned.remove(SIGNATURE_HEADER);
    assert!(matches!(
        cf.verify_at(&notice(&unsigned, SIMULATION), PLUGIN_NOW),
        Err(WebhookError::BadSignature)
    ));
    let garbage = headers("zz", "sha256=", Some(PLUGIN_TS), false);
    assert!(matches!(
        cf.verify_at(&notice(&garbage, SIMULATION), PLUGIN_NOW),
        Err(WebhookError::BadSignature)
    ));
    let not_a_number = headers(SIMULATION_BODY, "", Some("soon"), false);
    assert!(matches!(
        cf.verify_at(&notice(&not_a_number, SIMULATION), PLUGIN_NOW),
        Err(WebhookError::BadSignature)
    ));
}

#[test]
fn the_inbox_deduplicates_on_the_delivery_id() {
    let cf = plugin_adapter();
    let mut h = headers(SIMULATION_BODY, "", None, false);
    assert_eq!(cf.event_id(&notice(&h, SIMULATION)), None);
    h.insert(DELIVERY_HEADER, "dlv_1".parse().unwrap());
    assert_eq!(cf.event_id(&notice(&h, SIMULATION)).as_deref(), Some("delivery:dlv_1"));
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

/// An adapter whose lists are these bodies of `GET /payments/providers` and
/// `GET /countries/active` (the shape of `listing`'s doc; the docs print none).
fn listed(providers: serde_json::Value, countries: serde_json::Value) -> CaurisFlux {
    let cf = adapter();
    let providers: Vec<listing::ListedProvider> =
        listing::parse_list(providers.to_string().as_bytes()).unwrap();
    let countries: Vec<listing::ActiveCountry> =
        listing::parse_list(countries.to_string().as_bytes()).unwrap();
    cf.catalogue.set(listing::Listing::from_lists(&providers, &countries));
    cf
}

#[test]
fn methods_are_what_caurisflux_lists_for_the_country_currency_and_limits() {
    use serde_json::json;
    let cf = listed(
        json!({"success": true, "data": [
            {"code": "wave", "countries": ["SN", "CI"]},
            {"code": "orange_money", "countries": ["SN", "CI", "CM", "GN"]},
            {"code": "mtn_momo", "countries": ["CI", "CM", "BJ"], "name": "MTN MoMo"},
            {"code": "moov_money", "countries": ["BJ", "NE"]},
            {"code": "airtel_money", "countries": ["NE"]},
            {"code": "free_money", "countries": ["SN"]},
            {"code": "m_pesa", "countries": ["KE"]}
        ]}),
        // Bare, as the payouts page prints its object: both forms are read.
        json!([{"code": "SN", "currency": "XOF"}, {"code": "CI", "currency": "XOF"},
               {"code": "BJ", "currency": "XOF"}, {"code": "NE", "currency": "XOF"},
               {"code": "CM", "currency": "XAF"}, {"code": "KE", "currency": "KES"},
               {"code": "ZZ", "currency": "XOF"}]),
    );
    use PaymentMethod::*;
    assert_eq!(cf.methods(Country::Ci, xof(5000)), vec![OrangeMoney, MtnMomo, Wave, Card]);
    assert_eq!(
        cf.methods(Country::Sn, xof(5000)),
        vec![OrangeMoney, Wave, Card],
        "free_money is none of ours"
    );
    assert_eq!(cf.methods(Country::Bj, xof(100)), vec![MtnMomo, MoovMoney, Card]);
    assert_eq!(cf.methods(Country::Ne, xof(5_000_000)), vec![MoovMoney, AirtelMoney, Card]);
    let xaf = Money::new(5000, Currency::Xaf).unwrap();
    assert_eq!(cf.methods(Country::Cm, xaf), vec![OrangeMoney, MtnMomo, Card]);
    // The wrong zone's currency, a currency CaurisFlux does not take, a country not active
    // (Guinée is listed by an operator only), amounts out of 100–5 000 000.
    assert!(cf.methods(Country::Ci, xaf).is_empty());
    assert!(cf.methods(Country::Cm, xof(5000)).is_empty());
    assert!(cf.methods(Country::Ci, Money::new(5000, Currency::Eur).unwrap()).is_empty());
    assert!(cf.methods(Country::Gn, xof(5000)).is_empty());
    assert!(cf.methods(Country::Ga, xaf).is_empty());
    assert!(cf.methods(Country::Ci, xof(99)).is_empty());
    assert!(cf.methods(Country::Ci, xof(5_000_001)).is_empty());
}

#[test]
fn nothing_is_offered_before_the_lists_were_read() {
    // No runtime here: no background read starts, and nothing is guessed.
    let cf = adapter();
    assert!(cf.methods(Country::Ci, xof(5000)).is_empty());
    assert!(cf.methods(Country::Sn, xof(5000)).is_empty());
}

#[tokio::test]
async fn a_start_for_an_operator_not_listed_is_refused_without_a_call() {
    // The base URL is unreachable: a call would be `Unavailable`, not a refusal.
    let cf = CaurisFlux::new(&settings("http://127.0.0.1:9/api/v1", "pk_test_a", "sk_test_b")).unwrap();
    let providers = [listing::ListedProvider { code: "orange_money".into(), countries: vec!["CI".into()] }];
    let countries = [listing::ActiveCountry { code: "CI".into(), currency: Some("XOF".into()) }];
    cf.catalogue.set(listing::Listing::from_lists(&providers, &countries));
    let req = StartPayment {
        reference: "ours".into(),
        money: xof(5000),
        phone: Some(shared::phone::PhoneNumber::parse_e164("+2250500000001").unwrap()),
        method: PaymentMethod::MtnMomo,
        country: Country::Ci,
        customer_name: "Awa".into(),
        customer: None,
        description: None,
        return_url: "http://shop.example/".into(),
        otp: None,
        callback_base: "http://verifier.example".into(),
    };
    match cf.start(&req).await {
        Err(ProviderError::Refused { code, .. }) => assert_eq!(code, ErrorCode::MethodUnavailable),
        other => panic!("expected a refusal, got {other:?}"),
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

#[test]
fn the_docs_initiate_response_is_a_payment_awaiting_the_customer() {
    let body = include_bytes!("../../../tests/fixtures/caurisflux/initiate_response.json");
    let u = to_update(&wire::parse_payment(body).unwrap());
    assert_eq!((u.status, u.failure), (AttemptStatus::AwaitingCustomer, None));
    assert_eq!(u.provider_reference.as_deref(), Some("TX000007272"));
    assert_eq!(u.payment_url.as_deref(), Some("https://pay.wave.com/..."));
    // The flat payout record of `payouts/get-status`: `completed` is final and paid.
    let body = include_bytes!("../../../tests/fixtures/caurisflux/payout_status.json");
    let u = to_update(&wire::parse_payment(body).unwrap());
    assert_eq!(
        (u.status, u.provider_reference.as_deref()),
        (AttemptStatus::Succeeded, Some("POMLWYG1W59FDCEA"))
    );
}

#[test]
fn the_payment_link_is_redirect_url_and_deep_links_are_ignored() {
    // The initiate page's own answer (its `redirectUrl` is Wave's https page), with the
    // `deepLinks` object that page lists among the answer's members (its members unpublished).
    let initiate = include_str!("../../../tests/fixtures/caurisflux/initiate_response.json");
    let mut value: serde_json::Value = serde_json::from_str(initiate).unwrap();
    value["data"]["deepLinks"] = serde_json::json!({"wave": "wave://pay/TX000007272"});
    let payment = wire::parse_payment(value.to_string().as_bytes()).unwrap();
    assert_eq!(to_update(&payment).payment_url.as_deref(), Some("https://pay.wave.com/..."));
    // Deep links alone are no payment link.
    value["data"].as_object_mut().unwrap().remove("redirectUrl");
    let payment = wire::parse_payment(value.to_string().as_bytes()).unwrap();
    assert_eq!(to_update(&payment).payment_url, None);
}

/// `openssl dgst -sha256 -hmac caurisflux_rotated_key server/tests/fixtures/caurisflux/webhook_admin_simulation.json`
const SIMULATION_BODY_ROTATED: &str = "cb54ce338575b211a9428403ed010e6ffd576aaecd3ff64861cf21cbfab9b6ea";

#[test]
fn during_a_secret_rotation_the_previous_secret_holds_until_its_deadline() {
    let until = time::OffsetDateTime::from_unix_timestamp(PLUGIN_NOW + 60).unwrap();
    let cf = CaurisFlux::new(&Settings {
        webhook_secret: "caurisflux_rotated_key".to_owned().into(),
        webhook_secret_previous: Some(PLUGIN_SECRET.to_owned().into()),
        webhook_secret_previous_until: Some(until),
        ..settings(SANDBOX_URL, "pk_test_a", "sk_test_b")
    })
    .unwrap();
    let old = headers(SIMULATION_BODY, "sha256=", None, false);
    let new = headers(SIMULATION_BODY_ROTATED, "sha256=", None, false);
    assert!(cf.verify_at(&notice(&new, SIMULATION), PLUGIN_NOW).is_ok(), "the new secret");
    assert!(cf.verify_at(&notice(&old, SIMULATION), PLUGIN_NOW + 59).is_ok(), "the previous one, in time");
    assert!(cf.verify_at(&notice(&new, SIMULATION), PLUGIN_NOW + 60).is_ok());
    assert!(matches!(
        cf.verify_at(&notice(&old, SIMULATION), PLUGIN_NOW + 60),
        Err(WebhookError::BadSignature)
    ));
    let open_ended = Settings {
        webhook_secret_previous: Some(PLUGIN_SECRET.to_owned().into()),
        ..settings(SANDBOX_URL, "pk_test_a", "sk_test_b")
    };
    let e = CaurisFlux::new(&open_ended).unwrap_err().to_string();
    assert!(e.contains("caurisflux.webhook_secret_previous_until"), "{e}");
}

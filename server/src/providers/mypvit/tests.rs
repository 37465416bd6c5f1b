//! The MyPVit adapter's tests: against the integration document's recorded examples and error
//! table (`server/tests/fixtures/mypvit/`). Against the sandbox over real HTTP: `tests/adapters/mypvit.rs`.

use axum::http::HeaderMap;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
    status::AttemptStatus,
};

use super::*;
use crate::providers::{IncomingNotice, PaymentProvider, ProviderError, StartPayment, WebhookError};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mypvit/", $name))
    };
}

const TOKEN: &str = "tok_test_0123456789";
const ACCOUNT: &str = "ACC_TEST0001";

fn settings(base_url: &str) -> Settings {
    Settings {
        mode: crate::config::Mode::Test,
        allow_custom_host: false,
        base_url: base_url.into(),
        url_codes: UrlCodes {
            renew_secret: "RNW0TEST".into(),
            rest: "RST0TEST".into(),
            status: "STS0TEST".into(),
        },
        operation_account_code: ACCOUNT.into(),
        password: "pw-test".to_owned().into(),
        reception_url_code: "RCPT1".into(),
        callback_url_code: "CB001".into(),
        webhook_token: TOKEN.to_owned().into(),
        allowed_ips: vec!["127.0.0.1".parse().unwrap()],
        owner_charge: ChargeOwner::Merchant,
        operator_owner_charge: None,
        timeout_ms: 5_000,
        renew_before_s: 300,
        secret_wait_ms: 3_000,
    }
}

fn ga(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number, Country::Ga).unwrap()
}

fn xaf(amount: u64) -> Money {
    Money::new(amount, Currency::Xaf).unwrap()
}

fn payment(reference: &str, amount: u64, number: &str, method: PaymentMethod) -> StartPayment {
    StartPayment {
        reference: reference.into(),
        money: xaf(amount),
        phone: Some(ga(number)),
        method,
        country: Country::Ga,
        customer_name: "Client".into(),
        customer: None,
        description: None,
        return_url: "http://127.0.0.1:9/back".into(),
        otp: None,
        callback_base: "http://127.0.0.1:9".into(),
    }
}

fn notice<'a>(
    headers: &'a HeaderMap,
    body: &'a [u8],
    peer: &str,
    token: Option<&'a str>,
) -> IncomingNotice<'a> {
    IncomingNotice { headers, body, peer: peer.parse().unwrap(), path_token: token }
}

// ---- Recorded examples -------------------------------------------------------------------

#[test]
fn every_error_of_the_seeds_table_is_classified_and_mapped() {
    let mut rows = 0;
    for line in fixture!("error_codes.tsv").lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [kind, http, code] = cols[..] else { panic!("bad row {line:?}") };
        let http: u16 = http.parse().unwrap();
        rows += 1;
        let class = error_class(kind).unwrap_or_else(|| panic!("{kind} has no class"));
        let catalogue = ErrorCode::from_provider_code(Provider::MyPvit, kind);
        let body = serde_json::json!({
            "date": "17112024-141750", "status_code": code.parse::<u32>().unwrap(),
            "error": kind, "message": "m", "path": "/X/rest"
        })
        .to_string();
        let got = classify_error(http, body.as_bytes());
        match class {
            ErrorClass::Customer | ErrorClass::Business => {
                let code = catalogue.unwrap_or_else(|| panic!("{kind} is not in the catalogue"));
                assert!(
                    matches!(&got, ProviderError::Refused { code: c, provider_code } if *c == code && provider_code == kind),
                    "{kind}: {got:?}"
                );
            }
            ErrorClass::Integration => {
                assert!(matches!(got, ProviderError::Integration(_)), "{kind}: {got:?}")
            }
            ErrorClass::Down => {
                assert_eq!(catalogue, Some(ErrorCode::ProviderUnavailable), "{kind}");
                assert!(
                    matches!(got, ProviderError::Refused { code: ErrorCode::ProviderUnavailable, .. }),
                    "{kind}: {got:?}"
                );
            }
            ErrorClass::Unknown | ErrorClass::Lookup => {
                assert!(matches!(got, ProviderError::Unavailable(_)), "{kind}: {got:?}");
            }
        }
    }
    assert_eq!(rows, 63, "the document's table has 63 rows");
}

#[test]
fn undocumented_errors_fall_back_on_the_http_status() {
    let body = br#"{"date":"","status_code":1,"error":"NEW_THING","message":"","path":""}"#;
    assert!(matches!(classify_error(503, body), ProviderError::Unavailable(_)));
    assert!(matches!(classify_error(401, body), ProviderError::Integration(_)));
    assert!(matches!(
        classify_error(400, body),
        ProviderError::Refused { code: ErrorCode::PaymentRefused, .. }
    ));
    assert!(matches!(classify_error(502, b"<html>"), ProviderError::Unavailable(_)));
    assert!(matches!(classify_error(400, b"<html>"), ProviderError::Integration(_)));
    let e: wire::ErrorBody = serde_json::from_str(fixture!("error_response.json")).unwrap();
    assert_eq!(error_class(&e.error), Some(ErrorClass::Integration));
}

#[test]
fn the_seeds_responses_become_attempt_updates() {
    let r: RestResponse = serde_json::from_str(fixture!("rest_payment_response.json")).unwrap();
    let u = update(r.status, r.reference_id);
    assert_eq!(u.status, AttemptStatus::AwaitingCustomer);
    assert_eq!(u.provider_reference.as_deref(), Some("PAY171124000170"));
    let s: StatusResponse = serde_json::from_str(fixture!("status_response.json")).unwrap();
    assert_eq!(attempt_status(s.status), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    let c: Callback = serde_json::from_str(fixture!("callback.json")).unwrap();
    assert_eq!(attempt_status(c.status), (AttemptStatus::Succeeded, None));
    assert_eq!(attempt_status(TransactionStatus::Ambiguous).0, AttemptStatus::AwaitingCustomer);
    assert_eq!(attempt_status(TransactionStatus::Unknown).0, AttemptStatus::AwaitingCustomer);
}

#[test]
fn the_request_sent_is_the_documents_payment_example() {
    // The example's own values as the inputs: its account, callback code, fee owners, number
    // and amount.
    let example: serde_json::Value = serde_json::from_str(fixture!("rest_payment_request.json")).unwrap();
    let text = |k: &str| example[k].as_str().unwrap().to_owned();
    let mut s = settings("http://127.0.0.1:9");
    s.operation_account_code = text("merchant_operation_account_code");
    s.callback_url_code = text("callback_url_code");
    s.owner_charge = serde_json::from_value(example["owner_charge"].clone()).unwrap();
    s.operator_owner_charge = Some(serde_json::from_value(example["owner_charge_operator"].clone()).unwrap());
    let adapter = MyPvit::new(&s).unwrap();
    let phone = ga(&text("customer_account_number"));
    let amount = Amount(example["amount"].as_u64().unwrap());
    let sent = adapter.rest_request("0b6d7a8e-6a51-4d4e-9d0a-3a2f4c1e9b77", amount, &phone);
    let mut sent = serde_json::to_value(&sent).unwrap();
    // Our reference is derived from the attempt's (15 characters at most, the table's limit).
    let reference = sent.as_object_mut().unwrap().remove("reference").unwrap();
    assert!(reference.as_str().unwrap().len() <= MAX_REFERENCE_LEN);
    let mut expected = example.clone();
    let expected = expected.as_object_mut().unwrap();
    expected.remove("reference");
    // The optional fields ("Obligatoire: Non" in the table) are not sent.
    for optional in ["agent", "product", "free_info"] {
        expected.remove(optional);
    }
    // Who pays the operator's fees goes under the parameter table's name, not the example's.
    let operator_fees = expected.remove("owner_charge_operator").unwrap();
    expected.insert("operator_owner_charge".into(), operator_fees);
    // JSON numbers compare as numbers: the example writes `200`, the adapter the table's
    // "double" `200.0`.
    assert_eq!(sent["amount"].as_f64(), expected["amount"].as_f64());
    assert_eq!(sent["amount"], serde_json::json!(200.0));
    sent["amount"] = expected["amount"].clone();
    assert_eq!(sent, serde_json::Value::Object(expected.clone()));
}

#[test]
fn an_authentication_failure_is_recognised_as_the_table_gives_it() {
    // "AUTHENTICATION_FAILED  Authenication failed  403  3100" (error_codes.tsv), and the v2
    // renew-secret page's 401.
    let row = fixture!("error_codes.tsv").lines().find(|l| l.starts_with("AUTHENTICATION_FAILED\t")).unwrap();
    let cols: Vec<&str> = row.split('\t').collect();
    let (status, code): (u16, u32) = (cols[1].parse().unwrap(), cols[2].parse().unwrap());
    assert_eq!((status, code), (403, 3100));
    let body = serde_json::json!({"date": "17112024-141750", "status_code": code, "error": cols[0],
        "message": "Authenication failed", "path": "/RST0TEST/rest"})
    .to_string();
    for status in [403, 401] {
        let reply = Reply { status: StatusCode::from_u16(status).unwrap(), body: body.clone().into() };
        assert!(reply.auth_refused(), "{status}");
        assert!(matches!(classify_error(status, body.as_bytes()), ProviderError::Integration(_)));
    }
    // A 403 of another type is no authentication failure.
    let blocked = body.replace("AUTHENTICATION_FAILED", "CUSTOMER_BLOCKED");
    let reply = Reply { status: StatusCode::FORBIDDEN, body: blocked.into() };
    assert!(!reply.auth_refused());
}

#[test]
fn references_are_short_stable_and_distinct() {
    let a = merchant_reference("0b6d7a8e-6a51-4d4e-9d0a-3a2f4c1e9b77");
    assert_eq!(a.len(), MAX_REFERENCE_LEN);
    assert!(a.starts_with("VF") && a.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(a, merchant_reference("0b6d7a8e-6a51-4d4e-9d0a-3a2f4c1e9b77"));
    assert_ne!(a, merchant_reference("0b6d7a8e-6a51-4d4e-9d0a-3a2f4c1e9b78"));
}

#[test]
fn numbers_and_operators() {
    assert_eq!(account_number(&ga("+241 66 82 08 66")), "066820866");
    assert_eq!(operator_of(&ga("074416546")), Some(Operator::AirtelMoney));
    assert_eq!(operator_of(&ga("076123456")), Some(Operator::AirtelMoney));
    assert_eq!(operator_of(&ga("077123456")), Some(Operator::AirtelMoney));
    assert_eq!(operator_of(&ga("062123456")), Some(Operator::MoovMoney));
    assert_eq!(operator_of(&ga("065123456")), Some(Operator::MoovMoney));
    assert_eq!(operator_of(&ga("066820866")), Some(Operator::MoovMoney));
    let ci = PhoneNumber::parse("0707123456", Country::Ci).unwrap();
    assert_eq!(operator_of(&ci), None);
}

#[test]
fn methods_for_gabon_above_150_xaf_only() {
    let adapter = MyPvit::new(&settings("http://127.0.0.1:9")).unwrap();
    assert_eq!(
        adapter.methods(Country::Ga, xaf(151)),
        vec![PaymentMethod::AirtelMoney, PaymentMethod::MoovMoney]
    );
    assert!(adapter.methods(Country::Ga, xaf(150)).is_empty());
    assert!(adapter.methods(Country::Cm, xaf(5000)).is_empty());
    assert!(adapter.methods(Country::Ga, Money::new(5000, Currency::Xof).unwrap()).is_empty());
}

#[tokio::test]
async fn what_cannot_be_paid_is_refused_before_any_call() {
    // The base URL leads nowhere: any call would fail as Unavailable, not Refused.
    let adapter = MyPvit::new(&settings("http://127.0.0.1:9")).unwrap();
    let mismatch = adapter.start(&payment("r1", 500, "066820866", PaymentMethod::AirtelMoney)).await;
    assert!(matches!(
        mismatch,
        Err(ProviderError::Refused { code: ErrorCode::InvalidPhoneNumber, ref provider_code }) if provider_code == "OPERATOR_MISMATCH"
    ));
    let low = adapter.start(&payment("r2", 150, "074416546", PaymentMethod::AirtelMoney)).await;
    assert!(matches!(low, Err(ProviderError::Refused { code: ErrorCode::AmountTooLow, .. })));
    let mut foreign = payment("r3", 500, "074416546", PaymentMethod::AirtelMoney);
    foreign.phone = Some(PhoneNumber::parse("0707123456", Country::Ci).unwrap());
    assert!(matches!(
        adapter.start(&foreign).await,
        Err(ProviderError::Refused { code: ErrorCode::InvalidPhoneNumber, .. })
    ));
    assert!(matches!(
        adapter.start(&payment("r4", 500, "074416546", PaymentMethod::Card)).await,
        Err(ProviderError::Unsupported(_))
    ));
    let refund = crate::providers::RefundRequest {
        refund_id: "rf".into(),
        payment_reference: "r".into(),
        provider_reference: None,
        amount: xaf(200),
        paid: xaf(500),
        reason: None,
    };
    assert!(matches!(adapter.refund(&refund).await, Err(ProviderError::Unsupported(_))));
}

#[test]
fn the_seeds_callback_is_acknowledged_and_only_triggers_a_fetch() {
    let adapter = MyPvit::new(&settings("http://127.0.0.1:9")).unwrap();
    let headers = HeaderMap::new();
    let body = fixture!("callback.json").as_bytes();
    let v = adapter.verify_notice(&notice(&headers, body, "127.0.0.1", Some(TOKEN))).unwrap();
    assert_eq!(v.reference, "PAY0601250139681");
    assert!(v.update.is_none(), "an unsigned callback is never applied as is");
    let expected: serde_json::Value = serde_json::from_str(fixture!("callback_ack.json")).unwrap();
    assert_eq!(v.ack, Some(expected));
    // IPv4-mapped IPv6 of an allowed address is the same sender.
    assert!(adapter.verify_notice(&notice(&headers, body, "::ffff:127.0.0.1", Some(TOKEN))).is_ok());
}

#[test]
fn callbacks_from_elsewhere_or_off_the_secret_path_are_refused() {
    let adapter = MyPvit::new(&settings("http://127.0.0.1:9")).unwrap();
    let headers = HeaderMap::new();
    let body = fixture!("callback.json").as_bytes();
    for (peer, token) in [
        ("127.0.0.1", None),
        ("127.0.0.1", Some("tok_test_012345678")),
        ("127.0.0.1", Some("tok_test_0123456789x")),
        ("127.0.0.1", Some("")),
        ("10.1.2.3", Some(TOKEN)),
        ("::1", Some(TOKEN)),
    ] {
        assert!(
            matches!(
                adapter.verify_notice(&notice(&headers, body, peer, token)),
                Err(WebhookError::BadSignature)
            ),
            "{peer} {token:?}"
        );
    }
    let garbage = adapter.verify_notice(&notice(&headers, b"{\"x\":1}", "127.0.0.1", Some(TOKEN)));
    assert!(matches!(garbage, Err(WebhookError::Malformed(_))));
}

#[test]
fn a_delivered_key_is_installed_for_our_account_only() {
    let mut s = settings("http://127.0.0.1:9");
    s.operation_account_code = "ACC_67117403BFFF3".into();
    let adapter = MyPvit::new(&s).unwrap();
    let headers = HeaderMap::new();
    let body = fixture!("secret_delivery.json").as_bytes();
    assert!(adapter.keys.fresh().is_none());
    // No renewal in flight: the delivery is ignored and no key is installed.
    let unasked = adapter.verify_notice(&notice(&headers, body, "127.0.0.1", Some(TOKEN)));
    assert!(matches!(unasked, Err(WebhookError::Malformed(_))), "{unasked:?}");
    assert!(adapter.keys.fresh().is_none() && adapter.keys.generation() == 0);
    // A renewal awaits it (as `renew` does while it asks MyPVit): taken.
    let awaiting =
        adapter.keys.await_delivery(std::time::Instant::now() + std::time::Duration::from_secs(10));
    let v = adapter.verify_notice(&notice(&headers, body, "127.0.0.1", Some(TOKEN))).unwrap();
    assert!(v.update.is_none() && v.ack.is_none());
    let (key, generation) = adapter.keys.fresh().expect("installed");
    assert_eq!(key.expose_secret(), "sk_live_9db0aa81-8a0b-45ed-ae50-d0ba81b60d16");
    assert_eq!(generation, 1);
    // Renewals racing at MyPVit deliver several keys during ours: the last one wins.
    let newer = fixture!("secret_delivery.json").replace("9db0aa81", "11111111");
    adapter.verify_notice(&notice(&headers, newer.as_bytes(), "127.0.0.1", Some(TOKEN))).unwrap();
    drop(awaiting);
    // The renewal ended (its guard dropped): a later delivery is ignored, the key stays.
    let again = fixture!("secret_delivery.json").replace("9db0aa81", "00000000");
    assert!(adapter.verify_notice(&notice(&headers, again.as_bytes(), "127.0.0.1", Some(TOKEN))).is_err());
    assert_eq!(
        adapter.keys.fresh().expect("kept").0.expose_secret(),
        "sk_live_11111111-8a0b-45ed-ae50-d0ba81b60d16"
    );
    // A renewal whose deadline passed awaits nothing either.
    let _stale = adapter.keys.await_delivery(std::time::Instant::now());
    assert!(adapter.verify_notice(&notice(&headers, again.as_bytes(), "127.0.0.1", Some(TOKEN))).is_err());
    drop(_stale);
    // From a stranger: refused, the key stays.
    let stranger = adapter.verify_notice(&notice(&headers, body, "10.0.0.1", Some(TOKEN)));
    assert!(matches!(stranger, Err(WebhookError::BadSignature)));
    let other = fixture!("secret_delivery.json").replace("ACC_67117403BFFF3", "ACC_OTHER");
    let other = adapter.verify_notice(&notice(&headers, other.as_bytes(), "127.0.0.1", Some(TOKEN)));
    assert!(matches!(other, Err(WebhookError::Malformed(_))));
    assert_eq!(adapter.keys.generation(), 2);
}

#[test]
fn configuration_reads_from_toml_and_secrets_from_the_environment() {
    let text = r#"
listen = "127.0.0.1:0"
database_url = "sqlite::memory:"
widget_dir = "target/widget"
[merchant]
name = "Boutique"
secret_key = "mk"
[checkout]
default_country = "GA"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
[mypvit]
mode = "live"
base_url = "https://api.mypvit.pro"
operation_account_code = "ACC_672CD66E148BD"
password = "pw_file"
reception_url_code = "T0FHF"
callback_url_code = "1B9LW"
webhook_token = "tok_file"
allowed_ips = ["203.0.113.7"]
owner_charge = "CUSTOMER"
timeout_ms = 30000
renew_before_s = 300
secret_wait_ms = 10000
[mypvit.url_codes]
renew_secret = "DVZ003S6T1X9UFYK"
rest = "YZKELHFNIIUNK3GI"
status = "02S57GKG1BQIE3RF"
"#;
    let s: crate::config::Settings = toml::from_str(text).unwrap();
    assert!(!format!("{s:?}").contains("pw_file"), "Debug hides the password");
    let s = crate::config::Settings::from_layers(
        text,
        [("VERIFIER_MYPVIT_PASSWORD", "pw_env"), ("VERIFIER_MYPVIT_WEBHOOK_TOKEN", "tok_env")],
    )
    .unwrap();
    let mp = s.mypvit.unwrap();
    assert_eq!(mp.password.expose_secret(), "pw_env");
    assert_eq!(mp.webhook_token.expose_secret(), "tok_env");
    assert_eq!(mp.owner_charge, ChargeOwner::Customer);
    assert_eq!(mp.url_codes.rest, "YZKELHFNIIUNK3GI");
    let typo = text.replace("renew_before_s", "renew_before");
    assert!(toml::from_str::<crate::config::Settings>(&typo).is_err());
    // The settings of the APIs the adapter no longer calls are refused by name, so that an old
    // configuration does not silently keep them.
    for (old, section) in [
        ("link = \"02S57GKG1BQIE3RF\"\n", "[mypvit.url_codes]\n"),
        ("balance = \"02S57GKG1BQIE3RF\"\n", "[mypvit.url_codes]\n"),
        ("kyc = \"HQHURF3MGPASWGTY\"\n", "[mypvit.url_codes]\n"),
        ("success_redirection_url_code = \"TKO7A\"\n", "[mypvit]\n"),
        ("failed_redirection_url_code = \"JDCEY\"\n", "[mypvit]\n"),
    ] {
        let key = old.split(' ').next().unwrap();
        let with_it = text.replace(section, &format!("{section}{old}"));
        let e = toml::from_str::<crate::config::Settings>(&with_it).unwrap_err().to_string();
        assert!(e.contains(&format!("unknown field `{key}`")), "{key}: {e}");
    }
}

#[test]
fn a_key_delivered_with_a_huge_lifetime_is_used_for_a_day_at_most() {
    // `expires_in` comes from a request body: u64::MAX once overflowed the clock (a panic).
    let keys = Keys::new();
    keys.install(SecretString::from("k1"), u64::MAX, 300);
    let (key, _) = keys.fresh().expect("the key is fresh");
    assert_eq!(key.expose_secret(), "k1");
    let renew_at = keys.lock().renew_at.expect("a renewal is planned");
    let day = std::time::Duration::from_secs(24 * 3600);
    assert!(renew_at <= std::time::Instant::now() + day, "renewed within a day");
    assert!(renew_at > std::time::Instant::now() + day / 2, "not renewed at once either");
}

// ---- The key shared by several instances --------------------------------------------------

mod shared_keys {
    //! Two adapters (two instances) sharing one store, against a stand-in for MyPVit's
    //! `renew-secret` and `status` that accepts only the last key it gave and counts renewals.

    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };

    use axum::{
        Router,
        extract::State,
        http::StatusCode,
        response::IntoResponse,
        routing::{get, post},
    };
    use tokio::sync::{Semaphore, watch};

    use super::*;
    use crate::store::{
        StoreError,
        provider_keys::{ProviderKeys, StoredKey},
        sqlite::SqliteStore,
    };

    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

    #[derive(Clone)]
    struct Fake {
        renewals: Arc<watch::Sender<usize>>,
        /// The key MyPVit accepts now (the last it gave).
        current: Arc<Mutex<String>>,
        /// Answers the key in the body (v2 docs) or only a message (the document: the key goes
        /// to the reception URL, which the test plays).
        in_body: Arc<AtomicBool>,
        /// Renewals are answered once a permit is given (none: at once).
        gate: Option<Arc<Semaphore>>,
    }

    async fn renew(State(f): State<Fake>) -> impl IntoResponse {
        let n = {
            let mut n = 0;
            f.renewals.send_modify(|r| {
                *r += 1;
                n = *r;
            });
            n
        };
        let key = format!("sk_live_{n:08}-8a0b-45ed-ae50-d0ba81b60d16");
        *f.current.lock().unwrap() = key.clone();
        if let Some(gate) = &f.gate {
            gate.acquire().await.unwrap().forget();
        }
        if f.in_body.load(Ordering::SeqCst) {
            axum::Json(serde_json::json!({ "secret": key, "expires_in": 3600 }))
        } else {
            axum::Json(
                serde_json::json!({ "status_code": "200", "message": "Secret key generated and sent successfully" }),
            )
        }
    }

    async fn status(State(f): State<Fake>, headers: HeaderMap) -> axum::response::Response {
        let presented = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if presented != *f.current.lock().unwrap() {
            let body = serde_json::json!({ "date": "x", "status_code": 401, "error": "AUTHENTICATION_FAILED", "message": "m", "path": "/" });
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        axum::Json(serde_json::json!({ "status": "PENDING", "amount": 200, "merchant_reference_id": "x" }))
            .into_response()
    }

    async fn fake(in_body: bool, gate: Option<Arc<Semaphore>>) -> (Fake, String) {
        let f = Fake {
            renewals: Arc::new(watch::Sender::new(0)),
            current: Arc::default(),
            in_body: Arc::new(AtomicBool::new(in_body)),
            gate,
        };
        let app = Router::new()
            .route("/RNW0TEST/renew-secret", post(renew))
            .route("/STS0TEST/status", get(status))
            .with_state(f.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (f, url)
    }

    impl Fake {
        fn renewals(&self) -> usize {
            *self.renewals.borrow()
        }
        async fn renewals_reach(&self, n: usize) {
            let mut rx = self.renewals.subscribe();
            tokio::time::timeout(DEADLINE, rx.wait_for(|r| *r >= n)).await.unwrap().unwrap();
        }
    }

    /// The store, reporting every lease asked for and whether it was taken.
    #[derive(Debug)]
    struct Leases {
        inner: SqliteStore,
        asked: watch::Sender<Vec<(String, bool)>>,
    }

    #[async_trait]
    impl ProviderKeys for Leases {
        async fn read(&self, name: &str) -> Result<Option<StoredKey>, StoreError> {
            self.inner.read(name).await
        }
        async fn try_lease_renewal(
            &self,
            name: &str,
            holder: &str,
            now: i64,
            until: i64,
        ) -> Result<bool, StoreError> {
            let taken = self.inner.try_lease_renewal(name, holder, now, until).await?;
            self.asked.send_modify(|a| a.push((holder.to_owned(), taken)));
            Ok(taken)
        }
        async fn store_delivered(
            &self,
            name: &str,
            sealed: &[u8],
            at: i64,
            now: i64,
        ) -> Result<Option<i64>, StoreError> {
            self.inner.store_delivered(name, sealed, at, now).await
        }
        async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
            self.inner.release_lease(name, holder).await
        }
    }

    async fn leases() -> Arc<Leases> {
        let inner = SqliteStore::connect("sqlite::memory:").await.unwrap();
        Arc::new(Leases { inner, asked: watch::Sender::new(Vec::new()) })
    }

    fn instance(url: &str, keys: &Arc<Leases>) -> MyPvit {
        let mut s = settings(url);
        s.operation_account_code = "ACC_67117403BFFF3".into();
        MyPvit::new(&s).unwrap().with_shared_keys(keys.clone())
    }

    fn holder(m: &MyPvit) -> String {
        m.shared.as_ref().unwrap().holder.clone()
    }

    #[tokio::test]
    async fn one_instance_renews_while_the_other_waits_and_both_use_its_key() {
        let gate = Arc::new(Semaphore::new(0));
        let (fake, url) = fake(true, Some(gate.clone())).await;
        let keys = leases().await;
        let (a, b) = (Arc::new(instance(&url, &keys)), Arc::new(instance(&url, &keys)));
        let renewing = tokio::spawn({
            let a = a.clone();
            async move { a.renew_now().await }
        });
        // A holds the lease, its renewal held at MyPVit; B is refused the lease and waits.
        fake.renewals_reach(1).await;
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.secret().await.map(|(k, _)| k.expose_secret().to_owned()) }
        });
        let mut asked = keys.asked.subscribe();
        let b_holder = holder(&b);
        tokio::time::timeout(DEADLINE, asked.wait_for(|a| a.iter().any(|(h, _)| *h == b_holder)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*keys.asked.borrow(), [(holder(&a), true), (b_holder, false)]);
        gate.add_permits(1);
        renewing.await.unwrap().unwrap();
        let b_key = tokio::time::timeout(DEADLINE, waiting).await.unwrap().unwrap().unwrap();
        let a_key = a.secret().await.unwrap().0;
        assert_eq!(a_key.expose_secret(), b_key, "B uses the key A got");
        assert_eq!(fake.renewals(), 1, "one renewal for two instances");
        // The key is sealed at rest.
        let stored = keys.inner.read("mypvit:ACC_67117403BFFF3").await.unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&stored.sealed).contains("sk_live"));
    }

    #[tokio::test]
    async fn an_instance_whose_key_was_revoked_by_the_others_renewal_takes_the_new_key_without_renewing() {
        let (fake, url) = fake(true, None).await;
        let keys = leases().await;
        let (a, b) = (instance(&url, &keys), instance(&url, &keys));
        a.renew_now().await.unwrap();
        // B reads A's key (and caches it); it works.
        assert!(b.fetch("ref-1", None).await.unwrap().is_some());
        assert_eq!(fake.renewals(), 1);
        // A renews again: MyPVit now refuses the key B cached.
        a.renew_now().await.unwrap();
        assert_eq!(fake.renewals(), 2);
        // B is refused, finds A's newer key in the store, and succeeds without renewing (a
        // renewal of its own would revoke A's key in turn).
        assert!(b.fetch("ref-1", None).await.unwrap().is_some());
        assert!(a.fetch("ref-1", None).await.unwrap().is_some());
        assert_eq!(fake.renewals(), 2);
    }

    #[tokio::test]
    async fn a_key_delivered_to_the_instance_that_did_not_ask_reaches_the_one_that_did() {
        let gate = Arc::new(Semaphore::new(0));
        let (fake, url) = fake(false, Some(gate.clone())).await;
        let keys = leases().await;
        let (a, b) = (Arc::new(instance(&url, &keys)), instance(&url, &keys));
        let headers = HeaderMap::new();
        let body = fixture!("secret_delivery.json").as_bytes();

        let renewing = tokio::spawn({
            let a = a.clone();
            async move { a.renew_now().await }
        });
        fake.renewals_reach(1).await;
        gate.add_permits(1);
        // MyPVit posts the key to the reception URL; the load balancer sends it to B.
        let v = b.verify_notice(&notice(&headers, body, "127.0.0.1", Some(TOKEN))).unwrap();
        assert!(v.update.is_none() && v.ack.is_none());
        tokio::time::timeout(DEADLINE, renewing).await.unwrap().unwrap().unwrap();
        assert_eq!(
            a.secret().await.unwrap().0.expose_secret(),
            "sk_live_9db0aa81-8a0b-45ed-ae50-d0ba81b60d16"
        );
        assert_eq!(
            b.secret().await.unwrap().0.expose_secret(),
            "sk_live_9db0aa81-8a0b-45ed-ae50-d0ba81b60d16"
        );
        // One renewal, one key stored (a delivery while no renewal awaits one is ignored by the
        // store: `store::provider_keys::tests::lease_and_delivery`).
        assert_eq!(fake.renewals(), 1);
        let generation = keys.inner.read("mypvit:ACC_67117403BFFF3").await.unwrap().unwrap().generation;
        assert_eq!(generation, 1);
    }
}

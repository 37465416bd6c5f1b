//! The MyPVit adapter against the MyPVit sandbox over real HTTP (sandbox and a stand-in for
//! the verifier's webhook route both on port 0), and the sandbox's answers to the requests and
//! error table of MyPVit's integration document (`server/tests/fixtures/mypvit/`).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex as StdMutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use sandboxes::mypvit::{Merchant, SandboxConfig, SecretState};
use server::{
    providers::{
        IncomingNotice, PaymentProvider, ProviderError, StartPayment, WebhookError,
        mypvit::{
            MyPvit, SECRET_HEADER, Settings, UrlCodes, merchant_reference,
            wire::{self, Amount, ChargeOwner, Operator, RestResponse, StatusResponse, TransactionStatus},
        },
    },
    store::AttemptUpdate,
};
use shared::{
    catalogue::ErrorCode,
    method::PaymentMethod,
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
    status::AttemptStatus,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/mypvit/", $name))
    };
}

mod variants;

const TOKEN: &str = "tok_test_0123456789";
const ACCOUNT: &str = "ACC_TEST0001";

/// The sandbox's account for the adapter's settings: its codes (and the sandbox's own for the
/// APIs the adapter does not call), `webhook_url` registered for both callbacks and keys, and
/// `return_url` for both redirections.
fn merchant_of(s: &Settings, webhook_url: &str, return_url: &str) -> Merchant {
    use secrecy::ExposeSecret;
    Merchant {
        operation_account_code: s.operation_account_code.clone(),
        password: s.password.expose_secret().to_owned(),
        url_codes: sandboxes::mypvit::UrlCodes {
            renew_secret: s.url_codes.renew_secret.clone(),
            rest: s.url_codes.rest.clone(),
            status: s.url_codes.status.clone(),
            link: "LNK0TEST".into(),
            balance: "BAL0TEST".into(),
            kyc: "KYC0TEST".into(),
        },
        reception_url_code: s.reception_url_code.clone(),
        callback_url_code: s.callback_url_code.clone(),
        success_redirection_url_code: Some("OK001".into()),
        failed_redirection_url_code: Some("KO001".into()),
        reception_url: webhook_url.to_owned(),
        callback_url: webhook_url.to_owned(),
        success_url: return_url.to_owned(),
        failed_url: return_url.to_owned(),
    }
}

#[test]
fn the_sandbox_answers_each_type_of_the_documents_table_with_its_status_and_code() {
    // The first row of the two types listed twice.
    for (kind, http, code, _) in sandboxes::mypvit::ERRORS {
        let first = fixture!("error_codes.tsv")
            .lines()
            .find(|l| l.split('\t').next() == Some(kind))
            .unwrap_or_else(|| panic!("{kind} is not in the document's table"));
        assert_eq!(first, format!("{kind}\t{http}\t{code}"));
    }
    let distinct: std::collections::HashSet<&str> = fixture!("error_codes.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(sandboxes::mypvit::ERRORS.len(), distinct.len(), "every type of the table");
    assert_eq!(distinct.len(), 61, "61 distinct types");
}

fn settings(base_url: &str) -> Settings {
    Settings {
        mode: server::config::Mode::Test,
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

fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        confirm_delay_ms: 100,
        secret_ttl_s: 3600,
        link_expire_after_ms: 60_000,
        ..SandboxConfig::default()
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

// ---- Against the sandbox, over HTTP --------------------------------------------------------

/// A sandbox, an adapter pointed at it, and a stand-in for the verifier's webhook route that
/// hands every notice to the adapter as `/webhooks/my_pvit/{token}` does.
struct Harness {
    adapter: Arc<MyPvit>,
    sandbox: String,
    _running: sandboxes::Running,
    notices: Arc<StdMutex<Vec<serde_json::Value>>>,
    take_all: Arc<std::sync::atomic::AtomicBool>,
    http: reqwest::Client,
}

#[derive(Clone)]
struct Receiver {
    adapter: Arc<MyPvit>,
    notices: Arc<StdMutex<Vec<serde_json::Value>>>,
    /// Answer 200 to every notice without the adapter (which takes a key delivery only during
    /// a renewal it asked for): for tests of the sandbox alone.
    take_all: Arc<std::sync::atomic::AtomicBool>,
}

async fn receive(
    State(r): State<Receiver>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<serde_json::Value>) {
    r.notices.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or_default());
    if r.take_all.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::OK, Json(serde_json::json!({"received": true})));
    }
    let notice = IncomingNotice { headers: &headers, body: &body, peer: peer.ip(), path_token: Some(&token) };
    match r.adapter.verify_notice(&notice) {
        Ok(v) => (StatusCode::OK, Json(v.ack.unwrap_or_else(|| serde_json::json!({"received": true})))),
        Err(WebhookError::BadSignature) => (StatusCode::UNAUTHORIZED, Json(serde_json::json!({}))),
        Err(WebhookError::Malformed(_)) => (StatusCode::BAD_REQUEST, Json(serde_json::json!({}))),
    }
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with(|_, _, _| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut Settings, &mut SandboxConfig, &mut Merchant)) -> Harness {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/hook/{TOKEN}", listener.local_addr().unwrap());
        let mut s = settings("http://unused.invalid");
        let mut config = sandbox_config();
        let mut merchant = merchant_of(&s, &hook, "http://127.0.0.1:9/returned");
        merchant.failed_url = "http://127.0.0.1:9/failed".into();
        tweak(&mut s, &mut config, &mut merchant);
        let sandbox = sandboxes::mypvit::start(config, merchant).await.unwrap();
        s.base_url = sandbox.base_url();
        let adapter = Arc::new(MyPvit::new(&s).unwrap());
        let notices = Arc::new(StdMutex::new(Vec::new()));
        let take_all = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = Router::new().route("/hook/{token}", post(receive)).with_state(Receiver {
            adapter: adapter.clone(),
            notices: notices.clone(),
            take_all: take_all.clone(),
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
        Harness {
            adapter,
            sandbox: sandbox.base_url(),
            _running: sandbox,
            notices,
            take_all,
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        }
    }

    async fn secret_state(&self) -> SecretState {
        self.http.get(format!("{}/_sandbox/secret", self.sandbox)).send().await.unwrap().json().await.unwrap()
    }

    async fn transactions(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!("{}/_sandbox/transactions", self.sandbox))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn revoke(&self) {
        let r = self.http.post(format!("{}/_sandbox/secret/revoke", self.sandbox)).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    /// Fetches until the attempt is final.
    async fn final_status(&self, reference: &str) -> AttemptUpdate {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let u = self.adapter.fetch(reference, None).await.unwrap().expect("MyPVit knows it");
            if !u.status.is_pending() || tokio::time::Instant::now() > deadline {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn raw(&self, method: reqwest::Method, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.sandbox));
        if let Some(k) = key {
            r = r.header(SECRET_HEADER, k);
        }
        r
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_up_to_1000_xaf_succeeds_with_a_callback_acknowledged() {
    let h = Harness::start().await;
    let started =
        h.adapter.start(&payment("ref-ok", 1000, "074416546", PaymentMethod::AirtelMoney)).await.unwrap();
    assert_eq!(started.status, AttemptStatus::AwaitingCustomer);
    let id = started.provider_reference.expect("MyPVit's id");
    assert!(id.starts_with("PAY") && id.len() == 15, "{id}");
    let done = h.final_status("ref-ok").await;
    assert_eq!((done.status, done.failure), (AttemptStatus::Succeeded, None));

    // The callback reached the adapter and was answered as the integration document requires.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let t = loop {
        let all = h.transactions().await;
        if all[0]["callback_acknowledged"] == true || tokio::time::Instant::now() > deadline {
            break all[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(t["callback_acknowledged"], true, "{t}");
    assert_eq!(t["callback_attempts"], 1);
    assert_eq!(t["amount"], 1000);
    assert_eq!(t["customer_account_number"], "074416546");
    assert_eq!(t["merchant_reference_id"], merchant_reference("ref-ok"));
    let notices = h.notices.lock().unwrap().clone();
    let callback = notices.iter().find(|n| n.get("transactionId").is_some()).expect("a callback");
    assert_eq!(callback["transactionId"], id.as_str());
    assert_eq!(callback["status"], "SUCCESS");
    assert_eq!(callback["amount"], serde_json::json!(1000.0));
    assert_eq!(callback["operator"], "AIRTEL_MONEY");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_above_1000_xaf_fails() {
    let h = Harness::start().await;
    let started =
        h.adapter.start(&payment("ref-ko", 1001, "066820866", PaymentMethod::MoovMoney)).await.unwrap();
    assert_eq!(started.status, AttemptStatus::AwaitingCustomer);
    let done = h.final_status("ref-ko").await;
    assert_eq!((done.status, done.failure), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    assert_eq!(h.transactions().await[0]["status"], "FAILED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_start_reads_the_first_payment_instead_of_charging_twice() {
    let h = Harness::start().await;
    let req = payment("ref-twice", 500, "074416546", PaymentMethod::AirtelMoney);
    h.adapter.start(&req).await.unwrap();
    let again = h.adapter.start(&req).await.unwrap();
    assert!(again.status == AttemptStatus::AwaitingCustomer || again.status == AttemptStatus::Succeeded);
    assert_eq!(h.transactions().await.len(), 1);
    assert_eq!(h.adapter.fetch("never-sent", None).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_test_numbers_are_refused_with_their_catalogue_codes() {
    let h = Harness::start().await;
    for (number, method, code, provider_code) in [
        ("077000090", PaymentMethod::AirtelMoney, ErrorCode::AccountUnavailable, "CUSTOMER_BLOCKED"),
        ("066000091", PaymentMethod::MoovMoney, ErrorCode::AccountUnavailable, "CUSTOMER_PIN_NOT_SET"),
        ("074000092", PaymentMethod::AirtelMoney, ErrorCode::InvalidPhoneNumber, "UNKNOWN_CUSTOMER"),
    ] {
        let got = h.adapter.start(&payment(number, 500, number, method)).await;
        assert!(
            matches!(&got, Err(ProviderError::Refused { code: c, provider_code: p }) if *c == code && p == provider_code),
            "{number}: {got:?}"
        );
    }
    assert!(h.transactions().await.is_empty(), "no transaction was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_is_renewed_once_on_a_refusal_and_the_call_repeated_once() {
    let h = Harness::start().await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    let first = h.secret_state().await;
    assert_eq!((first.renewals, first.auth_refusals), (1, 0));
    // The key is revoked behind our back (as if renewed elsewhere).
    h.revoke().await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    let after = h.secret_state().await;
    assert_eq!((after.renewals, after.auth_refusals), (2, 1));
    // The adapter holds the current key: another call is accepted without a refusal.
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    assert_eq!(h.secret_state().await.auth_refusals, after.auth_refusals);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refusals_share_one_renewal_and_the_newest_key_wins() {
    let h = Harness::start().await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    h.revoke().await;
    let calls = (0..12).map(|_| {
        let adapter = h.adapter.clone();
        tokio::spawn(async move { adapter.fetch("none", None).await })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap(), None);
    }
    let state = h.secret_state().await;
    assert_eq!(state.renewals, 2, "one renewal for all the refused calls");

    // Renewals that race at MyPVit (others renewing the same account's key while the adapter
    // renews too): each makes the previous key obsolete. The adapter takes the keys delivered
    // while a renewal of its own is in flight (the newest wins) and ignores the others (the
    // reception URL refuses them, which MyPVit's sandbox reports as a failed sending); a key
    // made obsolete meanwhile is refused once, renewed once, and the call goes through.
    let form = [("operationAccountCode", ACCOUNT), ("receptionUrlCode", "RCPT1"), ("password", "pw-test")];
    let outside = (0..6).map(|_| {
        let request = h.raw(reqwest::Method::POST, "/RNW0TEST/renew-secret", None).form(&form);
        tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
    });
    let ours = (0..3).map(|_| {
        let adapter = h.adapter.clone();
        tokio::spawn(async move { adapter.renew_now().await })
    });
    let (outside, ours) =
        tokio::join!(futures_util::future::join_all(outside), futures_util::future::join_all(ours));
    for r in outside {
        let status = r.unwrap().unwrap();
        assert!(status == 200 || status == 503, "taken, or refused outside our renewal: {status}");
    }
    for r in ours {
        r.unwrap().unwrap();
    }
    let state = h.secret_state().await;
    // Ours at least (MyPVit's sandbox counts a renewal once its key is delivered).
    assert!(state.renewals > 2, "{}", state.renewals);
    // The next call goes through, after at most one refusal and one renewal.
    let (refusals, renewals) = (state.auth_refusals, state.renewals);
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    let after = h.secret_state().await;
    assert!(after.auth_refusals <= refusals + 1 && after.renewals <= renewals + 1, "{after:?}");
    // And now the adapter holds MyPVit's current key: no refusal.
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    assert_eq!(h.secret_state().await.auth_refusals, after.auth_refusals);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_is_renewed_ahead_of_its_expiry() {
    let h = Harness::start_with(|s, c, _| {
        c.secret_ttl_s = 2;
        s.renew_before_s = 1;
    })
    .await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(h.adapter.fetch("none", None).await.unwrap(), None);
    let state = h.secret_state().await;
    assert_eq!((state.renewals, state.auth_refusals), (2, 0), "renewed before MyPVit refused it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_an_integration_error() {
    let h = Harness::start_with(|s, _, _| s.password = "wrong".to_owned().into()).await;
    assert!(matches!(h.adapter.fetch("none", None).await, Err(ProviderError::Integration(_))));
    let got = h.adapter.start(&payment("r", 500, "074416546", PaymentMethod::AirtelMoney)).await;
    assert!(matches!(got, Err(ProviderError::Integration(_))), "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_cannot_be_delivered_fails_the_payment_before_it_is_sent() {
    let h = Harness::start_with(|_, _, m| m.reception_url = "http://127.0.0.1:9/nowhere".into()).await;
    let got = h.adapter.start(&payment("r", 500, "074416546", PaymentMethod::AirtelMoney)).await;
    assert!(
        matches!(&got, Err(ProviderError::Refused { code: ErrorCode::ProviderUnavailable, provider_code }) if provider_code == "SECRET_UNAVAILABLE"),
        "{got:?}"
    );
    assert!(matches!(h.adapter.fetch("none", None).await, Err(ProviderError::Unavailable(_))));
    assert!(h.transactions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_takes_the_documents_requests_verbatim() {
    // The account, codes and password of the integration document's examples (`server/tests/fixtures/mypvit/`).
    let h = Harness::start_with(|s, _, m| {
        m.operation_account_code = "ACC_672CD66E148BD".into();
        m.reception_url_code = "T0FHF".into();
        m.password = "XXXXXXXXXXX".into();
        s.operation_account_code = "ACC_672CD66E148BD".into();
    })
    .await;
    // Renewed by hand, not by the adapter (which ignores a key no renewal of its own asked
    // for): the reception URL takes the delivery as the document describes it.
    h.take_all.store(true, std::sync::atomic::Ordering::SeqCst);
    let renewed = h
        .raw(reqwest::Method::POST, "/RNW0TEST/renew-secret", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fixture!("renew_secret_request.form").trim().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), 200);
    let body: serde_json::Value = renewed.json().await.unwrap();
    let seed: serde_json::Value = serde_json::from_str(fixture!("renew_secret_response.json")).unwrap();
    assert_eq!(body, seed);
    let delivered = h.notices.lock().unwrap().last().cloned().unwrap();
    assert_eq!(delivered["operation_account_code"], "ACC_672CD66E148BD");
    assert_eq!(delivered["expires_in"], 3600);
    let key = delivered["secret_key"].as_str().unwrap().to_owned();
    assert_eq!(h.secret_state().await.current_key.as_deref(), Some(key.as_str()));

    // The integration document's PAYMENT request, with the sandbox's account and callback code.
    let request = fixture!("rest_payment_request.json")
        .replace("ACC_6661B5664CD2F", "ACC_672CD66E148BD")
        .replace("1B9LW", "CB001");
    let r = h
        .raw(reqwest::Method::POST, "/RST0TEST/rest", Some(&key))
        .header("content-type", "application/json")
        .body(request.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: RestResponse = r.json().await.unwrap();
    assert_eq!(answer.status, TransactionStatus::Pending);
    assert_eq!(answer.operator, Some(Operator::MoovMoney));
    assert_eq!(answer.merchant_reference_id.as_deref(), Some("REF08190271"));
    // The integration document's status query form: by the merchant's reference.
    let status = h
        .raw(
            reqwest::Method::GET,
            "/STS0TEST/status?transactionId=REF08190271&accountOperationCode=ACC_672CD66E148BD&transactionOperation=PAYMENT",
            Some(&key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let status: StatusResponse = status.json().await.unwrap();
    assert_eq!(status.amount, Amount(200));
    // The same reference again.
    let again = h
        .raw(reqwest::Method::POST, "/RST0TEST/rest", Some(&key))
        .header("content-type", "application/json")
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let e: wire::ErrorBody = again.json().await.unwrap();
    assert_eq!(e.error, "TRANSACTION_REFERENCE_ALREADY_EXISTS");
    assert_eq!(e.message, "The reference [REF08190271] already exists");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_enforces_the_documented_rules_in_the_documents_error_shape() {
    let h = Harness::start().await;
    h.adapter.renew_now().await.unwrap();
    // The key the adapter received, as the sandbox holds it.
    let key = h.secret_state().await.current_key.expect("a key was delivered");
    let valid = serde_json::json!({
        "amount": 500, "reference": "REF1", "service": "RESTFUL", "callback_url_code": "CB001",
        "customer_account_number": "074416546", "merchant_operation_account_code": ACCOUNT,
        "transaction_type": "PAYMENT", "owner_charge": "CUSTOMER"
    });
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = valid.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(&str, Option<&str>, serde_json::Value, u16, &str)> = vec![
        ("/RST0TEST/rest", None, valid.clone(), 400, "MISSING_REQUEST_HEADER"),
        ("/RST0TEST/rest", Some("sk_wrong"), valid.clone(), 401, "AUTHENTICATION_FAILED"),
        ("/STS0TEST/rest", Some(&key), valid.clone(), 404, "API_NOT_FOUND"),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["amount"] = 150.into()),
            403,
            "TRANSACTION_AMOUNT_TOO_LOW",
        ),
        ("/RST0TEST/rest", Some(&key), with(&|v| v["amount"] = 200.5.into()), 422, "CONSTRAINT_VIOLATION"),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["reference"] = "REF_0123456789AB".into()),
            422,
            "CONSTRAINT_VIOLATION",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["free_info"] = "sixteen chars!!!".into()),
            422,
            "CONSTRAINT_VIOLATION",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["owner_charge"] = "NOBODY".into()),
            422,
            "CONSTRAINT_VIOLATION",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| {
                v.as_object_mut().unwrap().remove("reference");
            }),
            400,
            "MISSING_REQUEST_PARAM",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| {
                v.as_object_mut().unwrap().remove("callback_url_code");
            }),
            400,
            "MISSING_REQUEST_PARAM",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| {
                v.as_object_mut().unwrap().remove("transaction_type");
            }),
            400,
            "NULL_TRANSACTION_TYPE_IDENTIFIER",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["transaction_type"] = "REFUND".into()),
            404,
            "TRANSACTION_TYPE_NOT_FOUND",
        ),
        ("/RST0TEST/rest", Some(&key), with(&|v| v["service"] = "REST".into()), 404, "SERVICE_NOT_FOUND"),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["callback_url_code"] = "ZZZ".into()),
            400,
            "INVALID_CALLBACK_URL_CODE",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["merchant_operation_account_code"] = "ACC_X".into()),
            404,
            "OPERATION_ACCOUNT_NOT_FOUND",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["customer_account_number"] = "011234567".into()),
            400,
            "INVALID_PHONE_NUMBER",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["customer_account_number"] = "74416546".into()),
            400,
            "INVALID_PHONE_NUMBER",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["operator_code"] = "MOOV_MONEY".into()),
            400,
            "INVALID_PHONE_NUMBER",
        ),
        (
            "/RST0TEST/rest",
            Some(&key),
            with(&|v| v["operator_code"] = "ORANGE_MONEY".into()),
            404,
            "OPERATOR_NOT_FOUND",
        ),
    ];
    for (path, key, body, status, error) in cases {
        let r = h.raw(reqwest::Method::POST, path, key).json(&body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{error}: {body}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"], error, "{body}");
        assert!(e["status_code"].is_u64(), "the code is a number: {e}");
        assert_eq!(e["path"], path);
        assert_eq!(e["date"].as_str().unwrap().len(), "17112024-141750".len());
    }
    // XML is read (`mypvit_xml.rs`): an element without the members is refused as JSON's
    // would be, XML that is not well formed is unreadable; other media types are not taken.
    for (media, body, error) in [
        ("application/xml", "<x/>", "NULL_TRANSACTION_TYPE_IDENTIFIER"),
        ("application/xml", "<x><amount>", "UNREADABLE_REQUEST_BODY"),
        ("text/plain", "amount=200", "HTTP_MEDIA_TYPE_NOT_SUPPORTED"),
    ] {
        let r = h
            .raw(reqwest::Method::POST, "/RST0TEST/rest", Some(&key))
            .header("content-type", media)
            .body(body)
            .send()
            .await
            .unwrap();
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"], error, "{media} {body}");
    }
    // A missing query parameter is named.
    let r = h.raw(reqwest::Method::GET, "/BAL0TEST/balance", Some(&key)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["message"], "Your request is missing a required param: 'accountOperationCode'");
    // No refused request made a transaction (the status of a payment asked as a payout's:
    // `sandboxes/tests/mypvit_apis.rs`).
    assert!(h.transactions().await.is_empty(), "no refused request made a transaction");
}

//! The sandboxes' switches, seen on the wire: MyPVit's parameter tables enforced
//! (`strict_fields`) and its table's 403/3100 for a wrong key (`authentication_failure_status`);
//! the `variant` and `refuse` modes refusing names their provider does not have; and the
//! `no_lookup_by_reference` mode (a status lookup by the merchant's reference answers 404 while
//! the payment is still held, found by the provider's own id).

mod support;

use serde_json::{Value, json};
use support::{Receiver, renew_mypvit_key, set_modes};

const ACCOUNT: &str = "ACC_VARIANTS001";

async fn mypvit(config: sandboxes::mypvit::SandboxConfig) -> (sandboxes::Running, Receiver, String) {
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::mypvit::start(
        config,
        sandboxes::mypvit::Merchant::with_default_codes(
            ACCOUNT.into(),
            "pw".into(),
            format!("{}/mypvit", hooks.url),
            format!("{}/return", hooks.url),
        ),
    )
    .await
    .unwrap();
    let key = renew_mypvit_key(&sandbox.api_url(), ACCOUNT, "pw", &hooks).await;
    (sandbox, hooks, key)
}

fn rest_body(reference: &str) -> Value {
    json!({
        "amount": 500, "reference": reference, "service": "RESTFUL", "callback_url_code": "SBXCB",
        "customer_account_number": "074416546", "merchant_operation_account_code": ACCOUNT,
        "transaction_type": "PAYMENT", "owner_charge": "CUSTOMER"
    })
}

async fn post(url: String, key: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(url).header("X-Secret", key).json(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn mypvit_strict_fields_refuses_what_the_tables_do_not_have() {
    let (sandbox, _hooks, key) =
        mypvit(sandboxes::mypvit::SandboxConfig { strict_fields: true, ..Default::default() }).await;
    let rest = format!("{}/SBXREST/rest", sandbox.api_url());
    // The tables' own fields pass, `operator_owner_charge` included.
    let mut body = rest_body("REFSTRICT1");
    body["operator_owner_charge"] = json!("MERCHANT");
    body["free_info"] = json!("Info libre");
    let (status, answer) = post(rest.clone(), &key, &body).await;
    assert_eq!(status, 200, "{answer}");
    // The examples' `owner_charge_operator` and integrators' `operator_code` do not.
    for (field, value) in
        [("owner_charge_operator", json!("MERCHANT")), ("operator_code", json!("AIRTEL_MONEY"))]
    {
        let mut body = rest_body("REFSTRICT2");
        body[field] = value;
        let (status, answer) = post(rest.clone(), &key, &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("UNREADABLE_REQUEST_BODY")),
            "{field}: {answer}"
        );
        assert_eq!(answer["status_code"], 1010);
        assert!(answer["message"].as_str().unwrap().contains(field), "{answer}");
    }
    // `/link` also takes the two redirection codes.
    let link = json!({
        "amount": 500, "reference": "REFSTRICT3", "service": "WEB", "callback_url_code": "SBXCB",
        "customer_account_number": "074416546", "merchant_operation_account_code": ACCOUNT,
        "transaction_type": "PAYMENT", "owner_charge": "CUSTOMER",
        "success_redirection_url_code": "SBXOK", "failed_redirection_url_code": "SBXKO"
    });
    let (status, answer) = post(format!("{}/SBXLINK/link", sandbox.api_url()), &key, &link).await;
    assert_eq!(status, 200, "{answer}");

    // Off (the default), the document's own example key is taken.
    let (lenient, _h, key) = mypvit(sandboxes::mypvit::SandboxConfig::default()).await;
    let mut body = rest_body("REFLENIENT");
    body["owner_charge_operator"] = json!("MERCHANT");
    let (status, answer) = post(format!("{}/SBXREST/rest", lenient.api_url()), &key, &body).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn mypvit_answers_a_wrong_key_403_3100_as_its_table_does_when_asked() {
    for (configured, expected) in [(None, 401), (Some(403), 403)] {
        let mut config = sandboxes::mypvit::SandboxConfig::default();
        if let Some(status) = configured {
            config.authentication_failure_status = status;
        }
        let (sandbox, _hooks, _key) = mypvit(config).await;
        let (status, answer) =
            post(format!("{}/SBXREST/rest", sandbox.api_url()), "sk_wrong", &rest_body("REFAUTH1")).await;
        assert_eq!(status, expected, "{answer}");
        assert_eq!(answer["error"], "AUTHENTICATION_FAILED");
        assert_eq!(answer["status_code"], 3100);
    }
}

#[tokio::test]
async fn unknown_variants_and_refusals_are_refused_when_set() {
    let (sandbox, _hooks, _key) = mypvit(sandboxes::mypvit::SandboxConfig::default()).await;
    for modes in [json!([{"variant": "sign_body_only"}]), json!([{"refuse": "NO_SUCH_CODE"}])] {
        let r = reqwest::Client::new()
            .post(format!("{}/_sandbox/misbehave", sandbox.base_url()))
            .json(&json!({"scope": "global", "modes": modes}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{modes}");
    }
}

/// Waits until a status lookup answers `expected`.
async fn lookup(
    url: String,
    auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> (u16, Value) {
    let r = auth(reqwest::Client::new().get(url)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn no_lookup_by_reference_hides_a_held_payment_from_its_merchant_reference_only() {
    // CaurisFlux: `GET /payments/status/{id}` takes the transactionId or the externalReference.
    let hooks = Receiver::start().await;
    let cf = sandboxes::caurisflux::start(
        sandboxes::caurisflux::SandboxConfig::default(),
        sandboxes::caurisflux::Merchant {
            public_key: "pk_test_l".into(),
            secret_key: "sk_test_l".into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "whsec".into(),
        },
    )
    .await
    .unwrap();
    let key = |r: reqwest::RequestBuilder| r.header("X-API-Key", "pk_test_l:sk_test_l");
    let started: Value = key(reqwest::Client::new().post(format!("{}/payments/initiate", cf.api_url())))
        .json(&json!({"type": "direct", "amount": 5000, "currency": "XOF", "provider": "orange_money", "country": "CI",
                      "customerPhone": "+2250700000067", "externalReference": "order-lost-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tx = started["data"]["transactionId"].as_str().unwrap().to_owned();
    let by_reference = format!("{}/payments/status/order-lost-1", cf.api_url());
    let by_id = format!("{}/payments/status/{tx}", cf.api_url());
    assert_eq!(lookup(by_reference.clone(), key).await.0, 200);
    set_modes(&cf.base_url(), json!(["no_lookup_by_reference"])).await;
    let (status, body) = lookup(by_reference, key).await;
    assert_eq!((status, body["statusCode"].as_u64()), (404, Some(404)), "{body}");
    let (status, body) = lookup(by_id, key).await;
    assert_eq!((status, body["data"]["externalReference"].as_str()), (200, Some("order-lost-1")), "{body}");

    // NovaSend: `GET /v1/payin/{reference}` takes NovaSend's reference or the merchant's.
    let ns = sandboxes::novasend::start(
        sandboxes::novasend::SandboxConfig::default(),
        sandboxes::novasend::Merchant {
            api_key: "k".into(),
            api_client: "c".into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "whsec".into(),
        },
    )
    .await
    .unwrap();
    let basic = |r: reqwest::RequestBuilder| r.basic_auth("k", Some("c"));
    let created: Value = basic(reqwest::Client::new().post(format!("{}/v1/payin/sessions", ns.api_url())))
        .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"reference": "ord-lost-2", "amount": 300, "msisdn": "+2250702968786", "customerName": "Awa", "country": "CI"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let theirs = created["reference"].as_str().unwrap().to_owned();
    set_modes(&ns.base_url(), json!(["no_lookup_by_reference"])).await;
    let (status, body) = lookup(format!("{}/v1/payin/ord-lost-2", ns.api_url()), basic).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("transaction_does_not_exist")), "{body}");
    let (status, body) = lookup(format!("{}/v1/payin/{theirs}", ns.api_url()), basic).await;
    assert_eq!((status, body["customerReference"].as_str()), (200, Some("ord-lost-2")), "{body}");

    // MyPVit: `GET /{code}/status?transactionId=` takes its id or the merchant's reference.
    let (mp, _h, secret) = mypvit(sandboxes::mypvit::SandboxConfig::default()).await;
    let (status, answer) =
        post(format!("{}/SBXREST/rest", mp.api_url()), &secret, &rest_body("REFLOST3")).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["reference_id"].as_str().unwrap().to_owned();
    set_modes(&mp.base_url(), json!(["no_lookup_by_reference"])).await;
    let status_of = |tx: &str| {
        format!(
            "{}/SBXSTATUS/status?transactionId={tx}&accountOperationCode={ACCOUNT}&transactionOperation=PAYMENT",
            mp.api_url()
        )
    };
    let with_key = |r: reqwest::RequestBuilder| r.header("X-Secret", secret.as_str());
    let (status, body) = lookup(status_of("REFLOST3"), with_key).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("TRANSACTION_NOT_FOUND")), "{body}");
    let (status, body) = lookup(status_of(&id), with_key).await;
    assert_eq!((status, body["merchant_reference_id"].as_str()), (200, Some("REFLOST3")), "{body}");
}

//! Every error code of every provider's table is producible by its sandbox, over HTTP, with the
//! table's HTTP status and in the provider's error shape. The codes are read from the tables'
//! transcriptions, `server/tests/fixtures/<provider>/error_codes.tsv` (never from the
//! sandbox's own lists).
//!
//! Each code is driven by a documented trigger: a request that makes it (a missing header, a
//! wrong key, an amount out of range, a test number, an unknown id, a reused reference), or,
//! where no request sensibly makes it (a provider-side maintenance, an account setting), the
//! `refuse` misbehaviour mode (`POST /_sandbox/misbehave {"modes": [{"refuse": "CODE"}]}`,
//! documented in `sandboxes/src/misbehave.rs` and printed by `provider-sandbox test-numbers`).
//! Each test also counts the codes made by a request, so that a trigger lost shows.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};
use support::{ErrorRow, Receiver, clear_modes, error_table, renew_mypvit_key, set_modes};

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text}")))
}

/// Whether `status` is what `row` prints: the status, its class (`4XX`), or anything when the
/// table states none.
fn status_fits(row: &ErrorRow, status: u16) -> bool {
    match (row.exact_status(), row.status.as_bytes()) {
        (Some(s), _) => s == status,
        (None, [class, b'X', b'X']) => u16::from(class - b'0') == status / 100,
        _ => true,
    }
}

// ----- MyPVit: the integration document v5.5's "Code d'erreurs" table ------------------------

#[tokio::test]
async fn every_mypvit_code_is_producible_with_the_tables_status_and_code() {
    const ACCOUNT: &str = "ACC_ERRORS00001";
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::mypvit::start(
        // 403 for AUTHENTICATION_FAILED, as the table gives it.
        sandboxes::mypvit::SandboxConfig { authentication_failure_status: 403, ..Default::default() },
        sandboxes::mypvit::Merchant::with_default_codes(
            ACCOUNT.into(),
            "pw".into(),
            format!("{}/mypvit", hooks.url),
            format!("{}/return", hooks.url),
        ),
    )
    .await
    .unwrap();
    let api = sandbox.api_url();
    let key = renew_mypvit_key(&api, ACCOUNT, "pw", &hooks).await;
    let body = |reference: &str, amount: u64, number: &str| {
        json!({
            "amount": amount, "reference": reference, "service": "RESTFUL", "callback_url_code": "SBXCB",
            "customer_account_number": number, "merchant_operation_account_code": ACCOUNT,
            "transaction_type": "PAYMENT", "owner_charge": "CUSTOMER"
        })
    };
    // One transaction exists, for the reused-reference trigger.
    let (status, first) = answer(
        http()
            .post(format!("{api}/SBXREST/rest"))
            .header("X-Secret", &key)
            .json(&body("REFTAKEN", 500, "074416546"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{first}");

    let rows = error_table("mypvit");
    assert_eq!(rows.len(), 63, "the table's 63 rows");
    let mut by_request = 0;
    for (i, row) in rows.iter().enumerate() {
        let reference = format!("REFERR{i:03}");
        let rest = || http().post(format!("{api}/SBXREST/rest"));
        // A request that makes the code, where one does (the sandbox's module docs).
        let natural = match (row.code.as_str(), row.third.as_str()) {
            ("MISSING_REQUEST_HEADER", _) => Some(rest().json(&body(&reference, 500, "074416546"))),
            ("AUTHENTICATION_FAILED", _) => {
                Some(rest().header("X-Secret", "sk_wrong").json(&body(&reference, 500, "074416546")))
            }
            ("API_NOT_FOUND", _) => Some(
                http().post(format!("{api}/NOSUCHCODE/rest")).header("X-Secret", &key).json(&body(&reference, 500, "074416546")),
            ),
            ("UNREADABLE_REQUEST_BODY", _) => {
                Some(rest().header("X-Secret", &key).header("Content-Type", "application/json").body("{not json"))
            }
            ("MISSING_REQUEST_PARAM", _) => {
                let mut b = body(&reference, 500, "074416546");
                b.as_object_mut().unwrap().remove("reference");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("TRANSACTION_AMOUNT_TOO_LOW", _) => Some(rest().header("X-Secret", &key).json(&body(&reference, 150, "074416546"))),
            ("CUSTOMER_BLOCKED", _) => Some(rest().header("X-Secret", &key).json(&body(&reference, 500, "077000090"))),
            ("CUSTOMER_PIN_NOT_SET", "1005") => Some(rest().header("X-Secret", &key).json(&body(&reference, 500, "066000091"))),
            ("UNKNOWN_CUSTOMER", _) => Some(rest().header("X-Secret", &key).json(&body(&reference, 500, "074000092"))),
            ("TRANSACTION_REFERENCE_ALREADY_EXISTS", _) => {
                Some(rest().header("X-Secret", &key).json(&body("REFTAKEN", 500, "074416546")))
            }
            ("CONSTRAINT_VIOLATION", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["amount"] = json!(200.5);
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("NULL_TRANSACTION_TYPE_IDENTIFIER", "1006") => {
                let mut b = body(&reference, 500, "074416546");
                b.as_object_mut().unwrap().remove("transaction_type");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("TRANSACTION_TYPE_NOT_FOUND", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["transaction_type"] = json!("REFUND");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("SERVICE_NOT_FOUND", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["service"] = json!("REST");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("INVALID_CALLBACK_URL_CODE", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["callback_url_code"] = json!("ZZZ");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("OPERATION_ACCOUNT_NOT_FOUND", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["merchant_operation_account_code"] = json!("ACC_X");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("INVALID_PHONE_NUMBER", _) => Some(rest().header("X-Secret", &key).json(&body(&reference, 500, "011234567"))),
            ("HTTP_MEDIA_TYPE_NOT_SUPPORTED", _) => Some(
                rest().header("X-Secret", &key).header("Content-Type", "text/plain").body(body(&reference, 500, "074416546").to_string()),
            ),
            ("OPERATOR_NOT_FOUND", _) => {
                let mut b = body(&reference, 500, "074416546");
                b["operator_code"] = json!("NO_SUCH_MONEY");
                Some(rest().header("X-Secret", &key).json(&b))
            }
            ("TRANSACTION_NOT_FOUND", _) => Some(
                http()
                    .get(format!("{api}/SBXSTATUS/status?transactionId=PAY000&accountOperationCode={ACCOUNT}&transactionOperation=PAYMENT"))
                    .header("X-Secret", &key),
            ),
            _ => None,
        };
        let (status, error) = match natural {
            Some(request) => {
                by_request += 1;
                answer(request.send().await.unwrap()).await
            }
            None => {
                // By its application code, which also tells the rows of the types listed twice apart.
                set_modes(&sandbox.base_url(), json!([{"refuse": row.third}])).await;
                let answered = answer(
                    rest()
                        .header("X-Secret", &key)
                        .json(&body(&reference, 500, "074416546"))
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                clear_modes(&sandbox.base_url()).await;
                answered
            }
        };
        let what = format!("{} ({} / {}): {status} {error}", row.code, row.status, row.third);
        assert!(status_fits(row, status), "{what}");
        assert_eq!(error["error"], row.code, "{what}");
        assert_eq!(error["status_code"].to_string(), row.third, "{what}");
        for field in ["date", "message", "path"] {
            assert!(error[field].is_string(), "{what}: {field}");
        }
    }
    assert_eq!(by_request, 20, "the codes made by a request");
}

// ----- CaurisFlux: https://docs.caurisflux.com/guides/errors ---------------------------------

const CF_PK: &str = "pk_test_errors";
const CF_SK: &str = "sk_test_errors";

async fn caurisflux(config: sandboxes::caurisflux::SandboxConfig) -> (sandboxes::Running, Receiver) {
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::caurisflux::start(
        config,
        sandboxes::caurisflux::Merchant {
            public_key: CF_PK.into(),
            secret_key: CF_SK.into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "whsec".into(),
        },
    )
    .await
    .unwrap();
    (sandbox, hooks)
}

/// A direct push payment in Côte d'Ivoire, with the `payments/initiate` page's fields.
fn cf_payment(phone: &str, amount: u64, reference: &str) -> Value {
    json!({
        "type": "direct", "amount": amount, "currency": "XOF", "provider": "orange_money", "country": "CI",
        "customerPhone": phone, "externalReference": reference, "description": "Commande"
    })
}

#[tokio::test]
async fn every_caurisflux_code_and_status_is_producible() {
    let (sandbox, _hooks) = caurisflux(sandboxes::caurisflux::SandboxConfig::default()).await;
    // A whitelist that leaves the tests' address out, and a budget of one request a minute.
    let (walled, _h1) = caurisflux(sandboxes::caurisflux::SandboxConfig {
        allowed_ips: vec![IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))],
        ..Default::default()
    })
    .await;
    let (limited, _h2) =
        caurisflux(sandboxes::caurisflux::SandboxConfig { rate_per_minute: 1, ..Default::default() }).await;
    let initiate = |base: String, body: Value, key: Option<&str>| {
        let mut r = http()
            .post(format!("{base}/payments/initiate"))
            .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        if let Some(key) = key {
            r = r.header("X-API-Key", key);
        }
        r.send()
    };
    let keys = format!("{CF_PK}:{CF_SK}");
    let rows = error_table("caurisflux");
    let http_statuses: Vec<u16> =
        rows.iter().filter(|r| r.code.is_empty()).filter_map(ErrorRow::exact_status).collect();
    let mut by_request = 0;
    for (i, row) in rows.iter().enumerate() {
        let reference = format!("order-err-{i}");
        let good = cf_payment("+2250700000067", 5000, &reference);
        let natural = match (row.code.as_str(), row.exact_status()) {
            ("UNAUTHORIZED", _) | ("", Some(401)) => {
                Some(initiate(sandbox.api_url(), good.clone(), None).await)
            }
            ("FORBIDDEN", _) | ("", Some(403)) => {
                Some(initiate(walled.api_url(), good.clone(), Some(&keys)).await)
            }
            ("VALIDATION_ERROR", _) | ("", Some(400)) => Some(
                initiate(sandbox.api_url(), cf_payment("+2250700000067", 50, &reference), Some(&keys)).await,
            ),
            ("", Some(404)) => Some(
                http()
                    .get(format!("{}/payments/status/TXNOSUCH", sandbox.api_url()))
                    .header("X-API-Key", &keys)
                    .send()
                    .await,
            ),
            ("PROVIDER_ERROR", _) | ("", Some(422)) => Some(
                initiate(sandbox.api_url(), cf_payment("+2250700000007", 5000, &reference), Some(&keys))
                    .await,
            ),
            ("DAILY_LIMIT_EXCEEDED", _) => Some(
                initiate(sandbox.api_url(), cf_payment("+2250700000008", 5000, &reference), Some(&keys))
                    .await,
            ),
            ("RATE_LIMIT_EXCEEDED", _) | ("", Some(429)) => {
                let _spent = initiate(limited.api_url(), good.clone(), Some(&keys)).await.unwrap();
                Some(
                    initiate(
                        limited.api_url(),
                        cf_payment("+2250700000067", 5000, &format!("{reference}-b")),
                        Some(&keys),
                    )
                    .await,
                )
            }
            // The `10` trigger: the payment is recorded, the answer lost.
            ("", Some(500)) => Some(
                initiate(sandbox.api_url(), cf_payment("+2250700000010", 5000, &reference), Some(&keys))
                    .await,
            ),
            _ => None,
        };
        let response = match natural {
            Some(response) => {
                by_request += 1;
                response.unwrap()
            }
            None => {
                set_modes(&sandbox.base_url(), json!([{"refuse": row.code}])).await;
                let response = initiate(sandbox.api_url(), good.clone(), Some(&keys)).await.unwrap();
                clear_modes(&sandbox.base_url()).await;
                response
            }
        };
        let retry_after = response.headers().get("retry-after").is_some();
        let (status, error) = answer(response).await;
        let what = format!("{:?} ({}): {status} {error}", row.code, row.status);
        // NestJS's shape: `statusCode` and `message` always, the code in `error`.
        assert_eq!(error["statusCode"], status, "{what}");
        assert!(error["message"].is_string(), "{what}");
        if row.code.is_empty() {
            assert_eq!(Some(status), row.exact_status(), "{what}");
        } else {
            assert_eq!(error["error"], row.code, "{what}");
            assert!(http_statuses.contains(&status), "{what}: a status of the guide's table");
        }
        if status == 429 {
            assert!(retry_after, "{what}: Retry-After");
        }
    }
    assert_eq!(by_request, 13, "the codes and statuses made by a request");
}

// ----- NovaSend: https://docs.novasend.app/en/docs/integrations/errors ------------------------

#[tokio::test]
async fn every_novasend_code_is_producible_in_its_error_shape() {
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::novasend::start(
        sandboxes::novasend::SandboxConfig::default(),
        sandboxes::novasend::Merchant {
            api_key: "ns_key".into(),
            api_client: "ns_client".into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "whsec".into(),
        },
    )
    .await
    .unwrap();
    let api = sandbox.api_url();
    let session = |reference: &str, amount: u64| json!({"reference": reference, "amount": amount, "msisdn": "+2250702968786", "customerName": "Awa", "country": "CI"});
    let create = |body: Value, auth: bool| {
        let mut r = http()
            .post(format!("{api}/v1/payin/sessions"))
            .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        if auth {
            r = r.basic_auth("ns_key", Some("ns_client"));
        }
        r.send()
    };
    // A pending payin: not refundable yet, and its reference taken.
    let (status, pending) = answer(create(session("ord-taken", 300), true).await.unwrap()).await;
    assert_eq!(status, 201, "{pending}");
    let refund = json!({"amount": 300, "reason": "test", "externalReference": "rf-1"});

    let mut by_request = 0;
    for (i, row) in error_table("novasend").iter().enumerate() {
        let reference = format!("ord-err-{i}");
        let natural = match (row.code.as_str(), row.exact_status()) {
            ("Unauthorized", _) => Some(create(session(&reference, 300), false).await),
            ("Payment not found", _) => Some(
                http()
                    .post(format!("{api}/v1/payin/tr_nosuch/refund"))
                    .basic_auth("ns_key", Some("ns_client"))
                    .json(&refund)
                    .send()
                    .await,
            ),
            ("transaction_does_not_exist", _) => Some(
                http()
                    .get(format!("{api}/v1/payin/tr_nosuch"))
                    .basic_auth("ns_key", Some("ns_client"))
                    .send()
                    .await,
            ),
            ("transaction_not_refundable", _) | ("Refund not allowed", _) => Some(
                http()
                    .post(format!("{api}/v1/payin/ord-taken/refund"))
                    .basic_auth("ns_key", Some("ns_client"))
                    .json(&refund)
                    .send()
                    .await,
            ),
            ("transaction_is_already_processed", _) => Some(create(session("ord-taken", 300), true).await),
            ("Invalid amount", _) => Some(create(session(&reference, 10), true).await),
            ("transaction_greater_than_zero", _) => Some(create(session(&reference, 0), true).await),
            ("country_not_found", _) => {
                let mut b = session(&reference, 300);
                b["country"] = json!("FR");
                Some(create(b, true).await)
            }
            ("client_not_found", _) => {
                // A Cameroonian number for an Ivorian payin: no wallet there.
                let mut b = session(&reference, 300);
                b["msisdn"] = json!("+237650000001");
                Some(create(b, true).await)
            }
            ("", Some(500)) => None,
            _ => None,
        };
        let (status, error) = match natural {
            Some(response) => {
                by_request += 1;
                answer(response.unwrap()).await
            }
            None => {
                let key = if row.code.is_empty() { row.status.clone() } else { row.code.clone() };
                set_modes(&sandbox.base_url(), json!([{"refuse": key}])).await;
                let answered = answer(create(session(&reference, 300), true).await.unwrap()).await;
                clear_modes(&sandbox.base_url()).await;
                answered
            }
        };
        let what = format!("{:?} ({}): {status} {error}", row.code, row.status);
        assert!(status_fits(row, status), "{what}");
        assert!(status >= 400, "{what}");
        // `{code, message, statusCode}`; a label is the code or the message.
        assert_eq!(error["statusCode"], status, "{what}");
        assert!(error["message"].is_string(), "{what}");
        if !row.code.is_empty() {
            assert!(error["code"] == row.code.as_str() || error["message"] == row.code.as_str(), "{what}");
        }
    }
    assert_eq!(by_request, 10, "the codes made by a request");
}

// ----- Scalapay: its "Erreurs" page and published codes ---------------------------------------

#[tokio::test]
async fn every_scalapay_code_and_class_is_producible_in_its_error_shape() {
    let key = "qhtfs87hjnc12kkos";
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::scalapay::start(
        sandboxes::scalapay::SandboxConfig::default(),
        sandboxes::scalapay::Merchant { api_key: key.into(), webhook_url: format!("{}/hooks", hooks.url) },
    )
    .await
    .unwrap();
    let api = sandbox.api_url();
    let order = support::fixture("scalapay", "order_request.json");
    let create = |body: Value| http().post(format!("{api}/v2/orders")).bearer_auth(key).json(&body).send();
    let mut by_request = 0;
    for row in error_table("scalapay") {
        let natural = match (row.code.as_str(), row.status.as_str()) {
            ("", "2XX") => Some(create(order.clone()).await),
            ("api_validationerror", _) | ("", "4XX") => Some(create(json!({})).await),
            ("invalid_token", _) => {
                Some(http().get(format!("{api}/v2/payments/NOSUCHTOKEN")).bearer_auth(key).send().await)
            }
            ("order_amount_exceeds_maximum_limit", _) => {
                let mut big = order.clone();
                big["totalAmount"]["amount"] = json!("99999.00");
                big["items"][0]["price"]["amount"] = json!("99999.00");
                Some(create(big).await)
            }
            ("", "401") => Some(http().post(format!("{api}/v2/orders")).json(&order).send().await),
            _ => None,
        };
        let response = match natural {
            Some(response) => {
                by_request += 1;
                response.unwrap()
            }
            None => {
                let code = if row.code.is_empty() { "internal_server".to_owned() } else { row.code.clone() };
                set_modes(&sandbox.base_url(), json!([{"refuse": code}])).await;
                let response = create(order.clone()).await.unwrap();
                clear_modes(&sandbox.base_url()).await;
                response
            }
        };
        let (status, body) = answer(response).await;
        let what = format!("{:?} ({}): {status} {body}", row.code, row.status);
        assert!(status_fits(&row, status), "{what}");
        match (row.code.as_str(), status) {
            (_, 200..=299) => assert!(body["token"].is_string(), "{what}"),
            (_, 401) => assert_eq!(body, json!("Unauthorized"), "{what}"),
            (code, _) => {
                if !code.is_empty() {
                    assert_eq!(body["errorCode"], code, "{what}");
                }
                assert_eq!(body["httpStatusCode"], status, "{what}");
                assert!(body["errorId"].is_string() && body["errorCode"].is_string(), "{what}");
            }
        }
    }
    assert_eq!(by_request, 6, "the codes and classes made by a request");
}

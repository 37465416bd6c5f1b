//! The NovaSend adapter against NovaSend's own examples (`server/tests/fixtures/novasend/`,
//! sources in its `README.md`): the payin page's request and responses, the error tables, and
//! webhooks bare or wrapped, signed over the raw bytes or over the re-serialised JSON, with
//! vectors computed by `openssl dgst`, never by our own `sign()`.

use axum::http::HeaderMap;
use serde_json::Value;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/novasend/", $name))
    };
}

/// The webhook secret the signature vectors below were computed with.
const WEBHOOK_SECRET: &str = "whsec_novasend_fixture";

fn settings(account_id: Option<&str>) -> NovaSendSettings {
    NovaSendSettings {
        mode: crate::config::Mode::Test,
        allow_custom_host: false,
        base_url: "http://127.0.0.1:9".into(),
        api_key: "key".to_owned().into(),
        api_client: "client".to_owned().into(),
        webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        account_id: account_id.map(str::to_owned),
        timeout_ms: 1000,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        confirmation_window_s: None,
    }
}

fn adapter() -> NovaSend {
    NovaSend::new(&settings(None)).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A payin record: the payin page's session response with `changes` applied.
fn record(changes: &[(&str, Value)]) -> Payin {
    let mut v = json(fixture!("session_response.json"));
    for (key, value) in changes {
        v[*key] = value.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn notice<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> IncomingNotice<'a> {
    IncomingNotice { headers, body, peer: [127, 0, 0, 1].into(), path_token: None }
}

fn signed(signature: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    h
}

// ---- The payin page's examples -----------------------------------------------------------

#[test]
fn the_session_request_is_the_payin_pages_example() {
    // The example's own values as the inputs: reference, accountId (a setting), amount,
    // msisdn, customerName, country.
    let example = json(fixture!("session_request.json"));
    let text = |k: &str| example[k].as_str().unwrap().to_owned();
    let ns = NovaSend::new(&settings(Some(&text("accountId")))).unwrap();
    let country = Country::parse(&text("country")).unwrap();
    let phone = PhoneNumber::parse_e164(&text("msisdn")).unwrap();
    let req = StartPayment {
        reference: text("reference"),
        money: Money::new(example["amount"].as_u64().unwrap(), Currency::Xof).unwrap(),
        phone: Some(phone.clone()),
        method: PaymentMethod::MobileMoney,
        country,
        customer_name: text("customerName"),
        customer: None,
        description: None,
        return_url: "https://shop.example/return".into(),
        otp: None,
        callback_base: "https://pay.example".into(),
    };
    assert_eq!(serde_json::to_value(ns.session_request(&req, &phone)).unwrap(), example);
}

#[test]
fn the_session_response_is_a_payment_awaiting_the_customer() {
    let p: Payin = serde_json::from_str(fixture!("session_response.json")).unwrap();
    assert_eq!(p.merchant_reference(), "ef76fb64-af0b-4c37-8729-bf61d85721fd");
    let u = to_update(&p);
    assert_eq!((u.status, u.failure), (AttemptStatus::AwaitingCustomer, None));
    assert_eq!(u.provider_reference.as_deref(), Some("tr_fhchi842jyimwiugjgszcxvb8n"));
    assert_eq!(u.payment_url.as_deref(), Some("https://link.novasend.app/link/{shortCode}"));
}

#[test]
fn the_status_response_is_final_by_its_transaction() {
    // "Si status = processed et transaction.status = completed → Paiement réussi et confirmé."
    let p: Payin = serde_json::from_str(fixture!("status_response.json")).unwrap();
    assert_eq!(p.merchant_reference(), "55a4e677-5700-4ed0-9a2a-9300db894ddb");
    let u = to_update(&p);
    assert_eq!(u.status, AttemptStatus::Succeeded);
    assert_eq!(u.provider_reference.as_deref(), Some("mtr_fhscgaywizujwjyymlge1hncaq"));
    // "processed mais transaction.status = failed → refusé"; without a transaction, not yet.
    let mut v = json(fixture!("status_response.json"));
    v["transaction"]["status"] = "failed".into();
    let failed: Payin = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(to_update(&failed).status, AttemptStatus::Failed);
    for empty in [Value::Null, serde_json::json!({})] {
        v["transaction"] = empty;
        let waiting: Payin = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(to_update(&waiting).status, AttemptStatus::AwaitingCustomer, "{v}");
    }
}

#[test]
fn declined_and_expired_confirmations_are_not_valid() {
    // "Si confirmationStatus = declined ou expired, le paiement doit être considéré comme non
    // valide."
    let u = to_update(&record(&[("confirmationStatus", "declined".into())]));
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerDeclined)));
    let u = to_update(&record(&[("confirmationStatus", "expired".into())]));
    assert_eq!((u.status, u.failure), (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)));
    let u = to_update(&record(&[("status", "expired".into())]));
    assert_eq!(u.status, AttemptStatus::Expired);
    let u = to_update(&record(&[("status", "processed".into()), ("confirmationStatus", "accepted".into())]));
    assert_eq!(u.status, AttemptStatus::AwaitingCustomer, "processed alone is not the final word");
}

// ---- Errors --------------------------------------------------------------------------------

fn kind(e: &ProviderError) -> String {
    match e {
        ProviderError::Refused { code, .. } => format!("refused {code:?}"),
        ProviderError::Unavailable(_) => "unavailable".into(),
        ProviderError::Integration(_) => "integration".into(),
        ProviderError::Unsupported(_) => "unsupported".into(),
        ProviderError::BudgetSpent { .. } => "budget spent".into(),
    }
}

#[test]
fn the_error_example_parses_and_is_classified_by_its_status() {
    // `{ "code": "...", "message": "...", "statusCode": 400 }`: "..." is no documented code.
    let body = fixture!("error_body.json").as_bytes();
    match classify_error(Call::Payin, 400, body) {
        ProviderError::Refused { code: ErrorCode::PaymentRefused, provider_code } => {
            assert_eq!(provider_code, "...")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_code_of_the_error_tables_has_a_deliberate_class() {
    let mut rows = 0;
    for line in fixture!("error_codes.tsv").lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [code, status, _meaning, source] = cols[..] else { panic!("bad row {line:?}") };
        rows += 1;
        // Rows without a status follow the 403 group; the refund page's labels answer refunds.
        let status: u16 = status.parse().unwrap_or(403);
        let call = if source.contains("refund") { Call::Refund } else { Call::Payin };
        if code.is_empty() {
            assert_eq!(kind(&classify_error(call, status, b"{}")), "unavailable", "{line}");
            continue;
        }
        let class = error_class(code).unwrap_or_else(|| panic!("{code} has no class"));
        let body = serde_json::json!({"code": code, "message": "m", "statusCode": status}).to_string();
        let got = classify_error(call, status, body.as_bytes());
        let expected = match class {
            ErrorClass::Refused(c) => format!("refused {c:?}"),
            ErrorClass::Integration => "integration".into(),
            // A refund of a payment NovaSend does not know: our data is wrong.
            ErrorClass::NotFound if call == Call::Refund => "integration".into(),
            ErrorClass::AlreadyExists | ErrorClass::NotFound => "unavailable".into(),
        };
        assert_eq!(kind(&got), expected, "{code}");
        // The labels without a code name may come as the message.
        if code.contains(' ') {
            let label = serde_json::json!({"message": code, "statusCode": status}).to_string();
            assert_eq!(
                kind(&classify_error(call, status, label.as_bytes())),
                expected,
                "{code} as a message"
            );
        }
    }
    assert_eq!(rows, 24);
    // The classes the tables' codes must have.
    use ErrorCode::*;
    for (code, want) in [
        ("client_not_enough_cash", ErrorClass::Refused(InsufficientFunds)),
        ("transaction_not_refundable", ErrorClass::Refused(RefundNotAllowed)),
        ("transaction_already_refunded", ErrorClass::Refused(RefundNotAllowed)),
        ("transaction_otp_required", ErrorClass::Refused(OtpRequired)),
        ("client_not_found", ErrorClass::Refused(InvalidPhoneNumber)),
        ("client_kyc_not_approved", ErrorClass::Refused(AccountUnavailable)),
        ("Invalid amount", ErrorClass::Refused(LimitExceeded)),
        ("api_token_invalid", ErrorClass::Integration),
        ("Unauthorized", ErrorClass::Integration),
        ("transaction_is_already_processed", ErrorClass::AlreadyExists),
        ("transaction_does_not_exist", ErrorClass::NotFound),
    ] {
        assert_eq!(error_class(code), Some(want), "{code}");
    }
    assert_eq!(error_class("not_a_documented_code"), None);
}

#[test]
fn the_code_decides_before_the_http_status() {
    let body = |code: &str, status: u16| {
        serde_json::json!({"code": code, "message": "m", "statusCode": status}).to_string().into_bytes()
    };
    assert_eq!(
        kind(&classify_error(Call::Refund, 403, &body("transaction_not_refundable", 403))),
        "refused RefundNotAllowed"
    );
    assert_eq!(
        kind(&classify_error(Call::Payin, 403, &body("client_not_enough_cash", 403))),
        "refused InsufficientFunds"
    );
    assert_eq!(kind(&classify_error(Call::Payin, 400, &body("api_token_invalid", 400))), "integration");
    assert_eq!(
        kind(&classify_error(Call::Payin, 400, &body("transaction_otp_required", 400))),
        "refused OtpRequired"
    );
    // Without a documented code, the status (and the call) decide.
    assert_eq!(kind(&classify_error(Call::Payin, 403, &body("something_new", 403))), "integration");
    assert_eq!(
        kind(&classify_error(Call::Refund, 403, &body("something_new", 403))),
        "refused RefundNotAllowed"
    );
    assert_eq!(kind(&classify_error(Call::Refund, 409, b"{}")), "refused RefundNotAllowed");
    assert_eq!(kind(&classify_error(Call::Payin, 409, b"{}")), "unavailable");
    assert_eq!(
        kind(&classify_error(Call::Refund, 404, &body("transaction_does_not_exist", 404))),
        "integration"
    );
}

#[test]
fn error_bodies_with_any_subset_of_code_message_and_status_code() {
    let all =
        [("code", Value::from("client_not_found")), ("message", "m".into()), ("statusCode", 404.into())];
    for mask in 0..8u8 {
        let mut body = serde_json::Map::new();
        for (i, (k, v)) in all.iter().enumerate() {
            if mask & (1 << i) != 0 {
                body.insert((*k).to_owned(), v.clone());
            }
        }
        let bytes = serde_json::to_vec(&body).unwrap();
        let got = kind(&classify_error(Call::Payin, 404, &bytes));
        let want = if mask & 1 != 0 { "refused InvalidPhoneNumber" } else { "integration" };
        assert_eq!(got, want, "{body:?}");
        assert_eq!(
            kind(&classify_error(Call::Payin, 502, &bytes)),
            if mask & 1 != 0 { want } else { "unavailable" }
        );
        assert_eq!(
            kind(&classify_error(Call::Payin, 400, &bytes)),
            if mask & 1 != 0 { want } else { "refused PaymentRefused" },
            "{body:?}"
        );
    }
    // A statusCode given as text, and bodies that are not JSON objects.
    assert_eq!(
        kind(&classify_error(Call::Payin, 400, br#"{"code":"client_not_enough_cash","statusCode":"400"}"#)),
        "refused InsufficientFunds"
    );
    assert_eq!(kind(&classify_error(Call::Payin, 400, b"<html>")), "integration");
    // A message is text, not a code: only the tables' labels are read from it.
    assert_eq!(
        kind(&classify_error(Call::Payin, 400, br#"{"message":"client_not_enough_cash"}"#)),
        "refused PaymentRefused"
    );
    assert_eq!(kind(&classify_error(Call::Payin, 503, b"")), "unavailable");
}

// ---- Webhooks ------------------------------------------------------------------------------

/// `openssl dgst -sha256 -hmac whsec_novasend_fixture server/tests/fixtures/novasend/status_response.json`
/// → `9c2332f48611f8c3d402ff312e9d3b37a1abd73b0cabb72345b0c0b933d56713` (the raw bytes).
const STATUS_RAW: &str = "9c2332f48611f8c3d402ff312e9d3b37a1abd73b0cabb72345b0c0b933d56713";
/// `jq -cj . server/tests/fixtures/novasend/status_response.json | openssl dgst -sha256 -hmac whsec_novasend_fixture`
/// → `de4280437772765acf53d5a03cde1b46666e81a8e46395a53ef262b8c68bb876` (`JSON.stringify`).
const STATUS_STRINGIFIED: &str = "de4280437772765acf53d5a03cde1b46666e81a8e46395a53ef262b8c68bb876";
/// `openssl dgst -sha256 -hmac whsec_novasend_fixture server/tests/fixtures/novasend/webhook_payin_declined.json`
/// → `c9e19fce3fe530e38456765a1670c024ea9ec2b4692385ec4f1787f17def7469`.
const DECLINED_RAW: &str = "c9e19fce3fe530e38456765a1670c024ea9ec2b4692385ec4f1787f17def7469";
/// `jq -cj . server/tests/fixtures/novasend/webhook_payin_confirmed.json | openssl dgst -sha256 -hmac whsec_novasend_fixture`
/// → `10dfb4c41aafd2544555e98e7e5e7571b8f77cec08a25bc42b614abb6379efa4`.
const CONFIRMED_STRINGIFIED: &str = "10dfb4c41aafd2544555e98e7e5e7571b8f77cec08a25bc42b614abb6379efa4";

#[test]
fn a_bare_record_signed_over_its_raw_bytes_or_its_json_stringify() {
    let ns = adapter();
    let body = fixture!("status_response.json").as_bytes();
    for signature in [STATUS_RAW, STATUS_STRINGIFIED] {
        let headers = signed(signature);
        let v = ns.verify_notice(&notice(&headers, body)).unwrap();
        assert_eq!(v.reference, "55a4e677-5700-4ed0-9a2a-9300db894ddb");
        assert_eq!(v.update.unwrap().status, AttemptStatus::Succeeded);
    }
    // The other body's signature, a changed body, another secret, no signature.
    assert!(matches!(
        ns.verify_notice(&notice(&signed(DECLINED_RAW), body)),
        Err(WebhookError::BadSignature)
    ));
    let tampered = fixture!("status_response.json").replace("\"amount\": 300", "\"amount\": 3000");
    assert!(matches!(
        ns.verify_notice(&notice(&signed(STATUS_RAW), tampered.as_bytes())),
        Err(WebhookError::BadSignature)
    ));
    let other =
        NovaSend::new(&NovaSendSettings { webhook_secret: "other".to_owned().into(), ..settings(None) })
            .unwrap();
    assert!(matches!(
        other.verify_notice(&notice(&signed(STATUS_RAW), body)),
        Err(WebhookError::BadSignature)
    ));
    assert!(matches!(ns.verify_notice(&notice(&HeaderMap::new(), body)), Err(WebhookError::BadSignature)));
    assert!(matches!(ns.verify_notice(&notice(&signed("zz"), body)), Err(WebhookError::BadSignature)));
}

#[test]
fn wrapped_events_declined_and_confirmed() {
    let ns = adapter();
    let declined = fixture!("webhook_payin_declined.json").as_bytes();
    let v = ns.verify_notice(&notice(&signed(DECLINED_RAW), declined)).unwrap();
    assert_eq!(v.reference, "ef76fb64-af0b-4c37-8729-bf61d85721fd");
    let u = v.update.unwrap();
    assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::CustomerDeclined)));
    assert_eq!(u.provider_reference.as_deref(), Some("tr_fhchi842jyimwiugjgszcxvb8n"));

    let confirmed = fixture!("webhook_payin_confirmed.json").as_bytes();
    let v = ns.verify_notice(&notice(&signed(CONFIRMED_STRINGIFIED), confirmed)).unwrap();
    assert_eq!(v.reference, "55a4e677-5700-4ed0-9a2a-9300db894ddb");
    assert_eq!(
        v.update.unwrap().status,
        AttemptStatus::Succeeded,
        "confirmed, and the transaction completed"
    );

    // The names are read, and a declined event wins over a record still "processing".
    let (event, payin) = read_notice(declined).unwrap();
    assert_eq!(event.as_deref(), Some(EVENT_DECLINED));
    assert_eq!(to_update(&payin).status, AttemptStatus::Failed);
    let (event, _) = read_notice(confirmed).unwrap();
    assert_eq!(event.as_deref(), Some(EVENT_CONFIRMED));
    let (event, _) = read_notice(fixture!("status_response.json").as_bytes()).unwrap();
    assert_eq!(event, None, "a bare record");
}

#[test]
fn a_refused_orange_money_direct_payin_is_its_codes_fault_on_every_path() {
    // The documented declined event, verified as it arrives: for an Orange Money direct payin
    // the code was the customer's whole confirmation, so the refusal is the code's, also when
    // the notification comes before the creation's answer; other methods keep the decline.
    let ns = adapter();
    let declined = fixture!("webhook_payin_declined.json").as_bytes();
    let update = ns.verify_notice(&notice(&signed(DECLINED_RAW), declined)).unwrap().update.unwrap();
    let orange = ns.interpret(PaymentMethod::OrangeMoney, update.clone());
    assert_eq!((orange.status, orange.failure), (AttemptStatus::Failed, Some(ErrorCode::OtpRefused)));
    for method in [PaymentMethod::MtnMomo, PaymentMethod::MoovMoney, PaymentMethod::Wave] {
        let other = ns.interpret(method, update.clone());
        assert_eq!(other.failure, Some(ErrorCode::CustomerDeclined), "{method:?}");
    }
    // Insufficient funds keeps its meaning, and a success stays one.
    let funds = AttemptUpdate::new(AttemptStatus::Failed, Some(ErrorCode::InsufficientFunds));
    assert_eq!(ns.interpret(PaymentMethod::OrangeMoney, funds).failure, Some(ErrorCode::InsufficientFunds));
    let paid = AttemptUpdate::new(AttemptStatus::Succeeded, None);
    assert_eq!(ns.interpret(PaymentMethod::OrangeMoney, paid).status, AttemptStatus::Succeeded);
}

#[test]
fn the_event_id_deduplicates_when_present() {
    let ns = adapter();
    let headers = HeaderMap::new();
    let declined = fixture!("webhook_payin_declined.json").as_bytes();
    assert_eq!(
        ns.event_id(&notice(&headers, declined)).as_deref(),
        Some("event:evt_0f3b2a9c-5d1e-4c7a-9b2e-6a1d4f8c0e21")
    );
    let mut inside = json(fixture!("webhook_payin_declined.json"));
    let id = inside.as_object_mut().unwrap().remove("eventId").unwrap();
    inside["data"]["eventId"] = id;
    let inside = serde_json::to_vec(&inside).unwrap();
    assert_eq!(
        ns.event_id(&notice(&headers, &inside)).as_deref(),
        Some("event:evt_0f3b2a9c-5d1e-4c7a-9b2e-6a1d4f8c0e21")
    );
    assert_eq!(ns.event_id(&notice(&headers, fixture!("status_response.json").as_bytes())), None);
}

#[test]
fn a_direct_record_names_references_the_other_way_round() {
    // Direct records (providers' field list of the "Direct API" pages) carry NovaSend's id in
    // `id` and ours in `reference`.
    let p = record(&[
        ("id", "tr_8f2kq".into()),
        ("reference", "3b1f0e2e-8a55-4b8e-9d7a-4c1f2f0e9a10".into()),
        ("customerReference", Value::Null),
        ("status", "success".into()),
        ("isDirect", true.into()),
    ]);
    assert_eq!(p.provider_reference(), "tr_8f2kq");
    assert_eq!(p.merchant_reference(), "3b1f0e2e-8a55-4b8e-9d7a-4c1f2f0e9a10");
    assert_eq!(to_update(&p).status, AttemptStatus::Succeeded);
    let failed = record(&[("id", "tr_8f2kq".into()), ("status", "failed".into())]);
    assert_eq!(to_update(&failed).status, AttemptStatus::Failed);
}

/// `openssl dgst -sha256 -hmac whsec_novasend_rotated server/tests/fixtures/novasend/status_response.json`
/// → `5a3b67e7d64f50a344c78b9d815f4d8b58dd7fd8532a0676c4ddac0bed53921b`.
const STATUS_RAW_ROTATED: &str = "5a3b67e7d64f50a344c78b9d815f4d8b58dd7fd8532a0676c4ddac0bed53921b";

#[test]
fn during_a_secret_rotation_the_previous_secret_holds_until_its_deadline() {
    let body = fixture!("status_response.json").as_bytes();
    let rotated = |until: time::OffsetDateTime| {
        NovaSend::new(&NovaSendSettings {
            webhook_secret: "whsec_novasend_rotated".to_owned().into(),
            webhook_secret_previous: Some("whsec_novasend_fixture".to_owned().into()),
            webhook_secret_previous_until: Some(until),
            ..settings(None)
        })
        .unwrap()
    };
    let now = time::OffsetDateTime::now_utc();
    let during = rotated(now + time::Duration::hours(1));
    assert!(during.verify_notice(&notice(&signed(STATUS_RAW_ROTATED), body)).is_ok(), "the new secret");
    assert!(during.verify_notice(&notice(&signed(STATUS_RAW), body)).is_ok(), "the previous one, in time");
    let after = rotated(now - time::Duration::seconds(1));
    assert!(after.verify_notice(&notice(&signed(STATUS_RAW_ROTATED), body)).is_ok());
    assert!(matches!(
        after.verify_notice(&notice(&signed(STATUS_RAW), body)),
        Err(WebhookError::BadSignature)
    ));
    let open_ended = NovaSendSettings {
        webhook_secret_previous: Some("whsec_novasend_fixture".to_owned().into()),
        ..settings(None)
    };
    let e = NovaSend::new(&open_ended).unwrap_err().to_string();
    assert!(e.contains("novasend.webhook_secret_previous_until"), "{e}");
}

//! MyPVit's XML (integration document v5.5, https://docs.mypvit.pro/en/intro/integration-guide:
//! bodies "application/json ou application/xml", callbacks in XML when
//! `X-Callback-MediaType: application/xml`): the sandbox takes an XML request and answers its
//! callback in XML when asked; the adapter asks for JSON callbacks, and an XML callback it
//! cannot read is refused, never taken for a payment.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode, header},
    routing::post,
};
use sandboxes::mypvit::{Merchant, SandboxConfig, SecretState};
use server::providers::{
    IncomingNotice, PaymentProvider, StartPayment, WebhookError,
    mypvit::{MyPvit, SECRET_HEADER, Settings, UrlCodes, wire::ChargeOwner},
};
use shared::{
    method::PaymentMethod,
    money::{Currency, Money},
    phone::{Country, PhoneNumber},
};
use tokio::sync::mpsc;

const TOKEN: &str = "tok_test_xml_0123456789";

/// What reached the webhook route: its media type, its body, and the adapter's verdict
/// (`Some(has_update)` when verified, `None` when refused as unreadable).
type Received = (String, Bytes, Result<bool, String>);

#[derive(Clone)]
struct Hook {
    adapter: Arc<MyPvit>,
    tx: mpsc::UnboundedSender<Received>,
}

async fn receive(
    State(h): State<Hook>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let media =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let notice = IncomingNotice { headers: &headers, body: &body, peer: peer.ip(), path_token: Some(&token) };
    let verdict = h.adapter.verify_notice(&notice);
    let (status, answer) = match &verdict {
        Ok(v) => (StatusCode::OK, v.ack.clone().unwrap_or_default().to_string()),
        Err(WebhookError::Malformed(_)) => (StatusCode::BAD_REQUEST, "{}".to_owned()),
        Err(WebhookError::BadSignature) => (StatusCode::UNAUTHORIZED, "{}".to_owned()),
    };
    let _ = h.tx.send((media, body, verdict.map(|v| v.update.is_some()).map_err(|e| format!("{e:?}"))));
    (status, answer)
}

fn settings(base_url: String) -> Settings {
    Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url,
        url_codes: UrlCodes {
            renew_secret: "RNW0XML".into(),
            rest: "RST0XML".into(),
            status: "STS0XML".into(),
        },
        operation_account_code: "ACC_XML00001".into(),
        password: "pw-xml".to_owned().into(),
        reception_url_code: "RCPTX".into(),
        callback_url_code: "CBXML".into(),
        webhook_token: TOKEN.to_owned().into(),
        allowed_ips: vec!["127.0.0.1".parse().unwrap()],
        owner_charge: ChargeOwner::Merchant,
        operator_owner_charge: None,
        timeout_ms: 5_000,
        renew_before_s: 300,
        secret_wait_ms: 3_000,
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>, what: impl Fn(&Received) -> bool) -> Received {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let got = rx.recv().await.expect("the hook runs");
            if what(&got) {
                return got;
            }
        }
    })
    .await
    .expect("a notice within 10 s")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xml_request_is_taken_and_its_xml_callback_is_refused_by_the_adapter() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook/{TOKEN}", listener.local_addr().unwrap());
    let s = settings("http://unused.invalid".into());
    let merchant = Merchant {
        operation_account_code: s.operation_account_code.clone(),
        password: "pw-xml".into(),
        url_codes: sandboxes::mypvit::UrlCodes {
            renew_secret: s.url_codes.renew_secret.clone(),
            rest: s.url_codes.rest.clone(),
            status: s.url_codes.status.clone(),
            // The APIs the adapter does not call: the sandbox's own codes.
            link: "LNK0XML".into(),
            balance: "BAL0XML".into(),
            kyc: "KYC0XML".into(),
        },
        reception_url_code: s.reception_url_code.clone(),
        callback_url_code: s.callback_url_code.clone(),
        success_redirection_url_code: None,
        failed_redirection_url_code: None,
        reception_url: hook_url.clone(),
        callback_url: hook_url,
        success_url: "http://127.0.0.1:9/ok".into(),
        failed_url: "http://127.0.0.1:9/ko".into(),
    };
    let config = SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        confirm_delay_ms: 100,
        secret_ttl_s: 3600,
        link_expire_after_ms: 60_000,
        strict_fields: true,
        ..SandboxConfig::default()
    };
    let sandbox = sandboxes::mypvit::start(config, merchant).await.unwrap();
    let adapter = Arc::new(MyPvit::new(&settings(sandbox.base_url())).unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app =
        Router::new().route("/hook/{token}", post(receive)).with_state(Hook { adapter: adapter.clone(), tx });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });

    // The adapter's own payment: it asks for a JSON callback, and reads it.
    let start = StartPayment {
        reference: "xml-ours".into(),
        money: Money::new(500, Currency::Xaf).unwrap(),
        phone: Some(PhoneNumber::parse("074416546", Country::Ga).unwrap()),
        method: PaymentMethod::AirtelMoney,
        country: Country::Ga,
        customer_name: "Client".into(),
        customer: None,
        description: None,
        return_url: "http://127.0.0.1:9/back".into(),
        otp: None,
        callback_base: "http://127.0.0.1:9".into(),
    };
    let ours = adapter.start(&start).await.unwrap().provider_reference.unwrap();
    let (media, body, verdict) =
        next(&mut rx, |(_, b, _)| b.windows(ours.len()).any(|w| w == ours.as_bytes())).await;
    assert!(media.starts_with("application/json"), "{media}");
    let callback: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(callback["callbackMediaType"], "application/json");
    assert_eq!(verdict, Ok(false), "read, and the status is fetched rather than trusted");

    // An XML request asking for an XML callback (the document's REST example's members).
    let http = reqwest::Client::new();
    let state: SecretState = http
        .get(format!("{}/_sandbox/secret", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = state.current_key.expect("the adapter's key");
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<request>
  <agent>AGENT-1</agent>
  <amount>200</amount>
  <product>PRODUIT-1</product>
  <reference>REFXML0001</reference>
  <service>RESTFUL</service>
  <callback_url_code>CBXML</callback_url_code>
  <customer_account_number>074416546</customer_account_number>
  <merchant_operation_account_code>ACC_XML00001</merchant_operation_account_code>
  <transaction_type>PAYMENT</transaction_type>
  <owner_charge>MERCHANT</owner_charge>
</request>"#;
    let r = http
        .post(format!("{}/RST0XML/rest", sandbox.base_url()))
        .header(SECRET_HEADER, &key)
        .header(header::CONTENT_TYPE, "application/xml")
        .header("X-Callback-MediaType", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (answer["status"].as_str(), answer["merchant_reference_id"].as_str()),
        (Some("PENDING"), Some("REFXML0001"))
    );
    let id = answer["reference_id"].as_str().unwrap().to_owned();

    // Its callback comes in XML; the adapter, which asked for JSON, refuses it unread.
    let (media, body, verdict) =
        next(&mut rx, |(_, b, _)| b.windows(id.len()).any(|w| w == id.as_bytes())).await;
    assert_eq!(media, "application/xml");
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.starts_with("<callback>") && text.contains("<status>SUCCESS</status>"), "{text}");
    assert!(text.contains("<callbackMediaType>application/xml</callbackMediaType>"), "{text}");
    assert!(matches!(verdict, Err(ref e) if e.contains("Malformed")), "{verdict:?}");

    // The sandbox recorded which transaction asked for what.
    let all: Vec<serde_json::Value> = http
        .get(format!("{}/_sandbox/transactions", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let xml_one = all.iter().find(|t| t["reference_id"] == id.as_str()).unwrap();
    assert_eq!(
        (xml_one["callback_xml"].as_bool(), xml_one["callback_acknowledged"].as_bool()),
        (Some(true), Some(false))
    );
    let json_one = all.iter().find(|t| t["reference_id"] == ours.as_str()).unwrap();
    assert_eq!(json_one["callback_xml"], false);
}

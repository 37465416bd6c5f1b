//! Each sandbox against its provider's documented examples (`server/tests/fixtures/<provider>/`,
//! read from the files; each folder's README says where every file comes from): the sandbox,
//! started through the library on a free port, accepts every request fixture sent as the
//! provider documents it, and its answers have exactly the fields and JSON types of the
//! matching response fixture (values may differ).
//!
//! Where an example's own credentials or account codes cannot work against a sandbox, the
//! sandbox's are substituted; each substitution is said where it is made.

mod support;

use serde_json::{Value, json};
use support::{Receiver, assert_shape, assert_shape_beyond, eventually, fixture, fixture_text};

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text}")))
}

// ----- NovaSend (https://docs.novasend.app/payin.en) -------------------------------------------

#[tokio::test]
async fn novasend_accepts_the_documented_session_and_answers_in_the_documented_shape() {
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::novasend::start(
        sandboxes::novasend::SandboxConfig { confirm_delay_ms: 50, ..Default::default() },
        sandboxes::novasend::Merchant {
            api_key: "ns_key".into(),
            api_client: "ns_client".into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "whsec_novasend_fixture".into(),
        },
    )
    .await
    .unwrap();
    let base = sandbox.api_url();
    // The example's body as printed (its `{{$randomUUID}}` placeholder is a valid string);
    // the Basic credentials and the idempotency key are the sandbox account's.
    let body = fixture_text("novasend", "session_request.json");
    let (status, session) = json_of(
        http()
            .post(format!("{base}/v1/payin/sessions"))
            .basic_auth("ns_key", Some("ns_client"))
            .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {session}");
    assert_shape("novasend", "session_response.json", &session);

    // The customer accepts on the payment page; the status then reads as the example's
    // processed payin.
    let page = session["paymentUrl"].as_str().unwrap().to_owned();
    let accepted = http().post(format!("{page}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection(), "{}", accepted.status());
    let reference = session["reference"].as_str().unwrap().to_owned();
    let done = eventually("the payin to be processed", || {
        let url = format!("{base}/v1/payin/{reference}");
        async move {
            let (_, v) =
                json_of(http().get(url).basic_auth("ns_key", Some("ns_client")).send().await.unwrap()).await;
            (v["status"] == "processed").then_some(v)
        }
    })
    .await;
    assert_shape("novasend", "status_response.json", &done);
    // The webhook, by default the bare record (the webhook page's sample is the record itself).
    let (_, hook) = hooks.wait_for(|_, body| body.contains(&reference) && body.contains("processed")).await;
    assert_shape("novasend", "status_response.json", &serde_json::from_str(&hook).unwrap());

    // Wrapped (`{event, data}`, the payin page's event names; `webhook_payin_confirmed.json`).
    support::set_modes(&sandbox.base_url(), json!([{"variant": "wrapped_webhook"}])).await;
    let mut body: Value = fixture("novasend", "session_request.json");
    body["reference"] = json!("second-session");
    let (_, second) = json_of(
        http()
            .post(format!("{base}/v1/payin/sessions"))
            .basic_auth("ns_key", Some("ns_client"))
            .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let page = second["paymentUrl"].as_str().unwrap().to_owned();
    http().post(format!("{page}/accept")).send().await.unwrap();
    let theirs = second["reference"].as_str().unwrap().to_owned();
    let (_, hook) =
        hooks.wait_for(|_, body| body.contains(&theirs) && body.contains("payin.confirmed")).await;
    assert_shape("novasend", "webhook_payin_confirmed.json", &serde_json::from_str(&hook).unwrap());
    support::clear_modes(&sandbox.base_url()).await;

    // An error, in the documented `{code, message, statusCode}` shape.
    let (status, error) = json_of(
        http()
            .get(format!("{base}/v1/payin/tr_unknown"))
            .basic_auth("ns_key", Some("ns_client"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_shape("novasend", "error_body.json", &error);
}

// ----- CaurisFlux (https://docs.caurisflux.com/api-reference/payments/initiate) ---------------

#[tokio::test]
async fn caurisflux_answers_an_initiation_and_an_error_in_the_documented_shape() {
    let hooks = Receiver::start().await;
    let sandbox = sandboxes::caurisflux::start(
        sandboxes::caurisflux::SandboxConfig::default(),
        sandboxes::caurisflux::Merchant {
            public_key: "pk_test_fx".into(),
            secret_key: "sk_test_fx".into(),
            webhook_url: format!("{}/hooks", hooks.url),
            webhook_secret: "super_secret_key".into(),
        },
    )
    .await
    .unwrap();
    let base = sandbox.api_url();
    // The docs print no request example (the fixtures' README): this body has the fields of
    // the `payments/initiate` page, for the response example's Wave payment of 5000 XOF.
    let request = json!({
        "type": "direct",
        "country": "SN",
        "amount": 5000,
        "currency": "XOF",
        "provider": "wave",
        "customerPhone": "+221771234567",
        "externalReference": "order-fixture-1",
        "description": "Commande",
        "callbackUrl": format!("{}/hooks", hooks.url),
        "returnUrl": "https://shop.example.com/done"
    });
    let send = |body: Value| {
        http()
            .post(format!("{base}/payments/initiate"))
            .header("X-API-Key", "pk_test_fx:sk_test_fx")
            .header("X-Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
    };
    let (status, answer) = json_of(send(request.clone()).await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    // The same page lists `expiresAt` and `deepLinks` (an object) beside its example's fields.
    assert_shape_beyond(
        "caurisflux",
        "initiate_response.json",
        &answer,
        &["$.data.expiresAt", "$.data.deepLinks"],
    );

    let mut small = request;
    small["amount"] = json!(50);
    small["externalReference"] = json!("order-fixture-2");
    let (status, error) = json_of(send(small).await.unwrap()).await;
    assert_eq!(status, 400);
    // The guide's example shows `statusCode` and `message` (and elides the rest with `...`):
    // those two at least, with their types.
    let expected = fixture("caurisflux", "error_amount.json");
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(support::shape_differences(value, &error[key]), Vec::<String>::new(), "{key} in {error}");
    }
}

// ----- MyPVit (the provider's integration document v5.5; see the fixtures' README) ------------

struct MyPvit {
    sandbox: sandboxes::Running,
    hooks: Receiver,
    key: String,
}

const ACCOUNT: &str = "ACC_FIXTURE0001";

async fn mypvit() -> MyPvit {
    let hooks = Receiver::start().await;
    let merchant = sandboxes::mypvit::Merchant::with_default_codes(
        ACCOUNT.into(),
        "mp_fixture_password".into(),
        format!("{}/mypvit", hooks.url),
        format!("{}/return", hooks.url),
    );
    let sandbox = sandboxes::mypvit::start(
        sandboxes::mypvit::SandboxConfig { confirm_delay_ms: 50, ..Default::default() },
        merchant,
    )
    .await
    .unwrap();
    // The example's form, with the sandbox account's code, reception code and password in
    // place of the example's (`ACC_672CD66E148BD`, `T0FHF`, `XXXXXXXXXXX`).
    let form = fixture_text("mypvit", "renew_secret_request.form")
        .trim()
        .replace("ACC_672CD66E148BD", ACCOUNT)
        .replace("T0FHF", "SBXRC")
        .replace("XXXXXXXXXXX", "mp_fixture_password");
    let (status, answer) = json_of(
        http()
            .post(format!("{}/SBXRENEW/renew-secret", sandbox.api_url()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_shape("mypvit", "renew_secret_response.json", &answer);
    let (_, delivery) = hooks.wait_for(|_, body| body.contains("secret_key")).await;
    let delivery: Value = serde_json::from_str(&delivery).unwrap();
    assert_shape("mypvit", "secret_delivery.json", &delivery);
    let key = delivery["secret_key"].as_str().unwrap().to_owned();
    MyPvit { sandbox, hooks, key }
}

/// A request fixture with the sandbox account's codes in place of the example's
/// (`ACC_6661B5664CD2F`, callback `1B9LW`, redirections `TKO7A` / `JDCEY`), and a fresh
/// reference (the examples reuse theirs).
fn mypvit_request(file: &str, reference: &str) -> Value {
    let mut body = fixture("mypvit", file);
    let o = body.as_object_mut().unwrap();
    o.insert("merchant_operation_account_code".into(), json!(ACCOUNT));
    o.insert("reference".into(), json!(reference));
    for (key, code) in [
        ("callback_url_code", "SBXCB"),
        ("success_redirection_url_code", "SBXOK"),
        ("failed_redirection_url_code", "SBXKO"),
    ] {
        if o.contains_key(key) {
            o.insert(key.into(), json!(code));
        }
    }
    body
}

impl MyPvit {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        json_of(
            http()
                .post(format!("{}{path}", self.sandbox.api_url()))
                .header("X-Secret", &self.key)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        json_of(
            http()
                .get(format!("{}{path_and_query}", self.sandbox.api_url()))
                .header("X-Secret", &self.key)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn mypvit_accepts_the_documented_rest_payment_and_answers_in_the_documented_shapes() {
    let m = mypvit().await;
    let (status, answer) =
        m.post("/SBXREST/rest", &mypvit_request("rest_payment_request.json", "REFFX0001")).await;
    assert_eq!(status, 200, "{answer}");
    assert_shape("mypvit", "rest_payment_response.json", &answer);
    let id = answer["reference_id"].as_str().unwrap().to_owned();

    // The callback, once the customer answered; then the status.
    let (_, callback) = m.hooks.wait_for(|p, body| p == "/mypvit" && body.contains(&id)).await;
    assert_shape("mypvit", "callback.json", &serde_json::from_str(&callback).unwrap());
    let (status, answer) = m
        .get(&format!(
            "/SBXSTATUS/status?transactionId={id}&accountOperationCode={ACCOUNT}&transactionOperation=PAYMENT"
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_shape("mypvit", "status_response.json", &answer);

    let (status, answer) = m.get(&format!("/SBXBALANCE/balance?accountOperationCode={ACCOUNT}")).await;
    assert_eq!(status, 200, "{answer}");
    assert_shape("mypvit", "balance_response.json", &answer);
    let (status, answer) = m.get("/SBXKYC/kyc?customerAccountNumber=066820866").await;
    assert_eq!(status, 200, "{answer}");
    assert_shape("mypvit", "kyc_response.json", &answer);

    // An error: the example's own, a balance asked without `accountOperationCode`.
    let (status, answer) = m.get("/SBXBALANCE/balance").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "MISSING_REQUEST_PARAM");
    assert_shape("mypvit", "error_response.json", &answer);
}

#[tokio::test]
async fn mypvit_accepts_the_documented_link_requests() {
    let m = mypvit().await;
    for (i, file) in
        ["link_request_web.json", "link_request_visa.json", "link_request_restlink.json"].iter().enumerate()
    {
        let mut body = mypvit_request(file, &format!("REFLNK00{i}"));
        // The VISA example's keys lost their underscores in the document's extraction
        // (`"callback url code"`; the fixtures' README): the names of the document's table are
        // sent, with the sandbox's codes.
        let o = body.as_object_mut().unwrap();
        for (garbled, name, code) in [
            ("callback url code", "callback_url_code", "SBXCB"),
            ("failed redirection url code", "failed_redirection_url_code", "SBXKO"),
            ("success redirection url code", "success_redirection_url_code", "SBXOK"),
        ] {
            if o.remove(garbled).is_some() {
                o.insert(name.into(), json!(code));
            }
        }
        let (status, answer) = m.post("/SBXLINK/link", &body).await;
        assert_eq!(status, 200, "{file}: {answer}");
        assert_shape("mypvit", "link_response.json", &answer);
    }
}

// ----- Scalapay (https://developers.scalapay.com/reference) -----------------------------------

#[tokio::test]
async fn scalapay_accepts_the_documented_order_and_answers_each_operation_in_the_documented_shape() {
    let hooks = Receiver::start().await;
    let key = "qhtfs87hjnc12kkos"; // Scalapay's published sandbox key (the fixtures' README)
    let sandbox = sandboxes::scalapay::start(
        sandboxes::scalapay::SandboxConfig::default(),
        sandboxes::scalapay::Merchant { api_key: key.into(), webhook_url: format!("{}/hooks", hooks.url) },
    )
    .await
    .unwrap();
    let base = sandbox.api_url();
    // Every difference of every answer, reported together.
    let mut differences: Vec<String> = Vec::new();
    let mut check = |file: &str, expected: Value, actual: &Value| {
        for d in support::shape_differences(&expected, actual) {
            differences.push(format!("{file}: {d}"));
        }
    };
    let post = |path: String, body: String| {
        http()
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let get = |path: String| http().get(format!("{base}{path}")).bearer_auth(key).send();

    // Two orders from the documented request: one goes delay → capture → refund, one is voided.
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (status, order) =
            json_of(post("/v2/orders".into(), fixture_text("scalapay", "order_request.json")).await.unwrap())
                .await;
        assert_eq!(status, 200, "{order}");
        // The reference's "Create order" answer is `{token, expires, checkoutUrl}`
        // (https://developers.scalapay.com/reference/post_v2-orders); the printed example has
        // no `expires`.
        assert_shape_beyond("scalapay", "order_created_docs.json", &order, &["$.expires"]);
        // The customer pays with the reference's first test card.
        let paid = http()
            .post(order["checkoutUrl"].as_str().unwrap())
            .form(&[("card_number", "5200 8282 8282 8210"), ("expiry", "12/39"), ("cvv", "123")])
            .send()
            .await
            .unwrap();
        assert!(paid.status().is_redirection(), "{}", paid.status());
        tokens.push(order["token"].as_str().unwrap().to_owned());
    }
    let (a, b) = (&tokens[0], &tokens[1]);
    // The webhooks of the first order: `created`, then `authorized` once paid (the webhook data
    // model, https://developers.scalapay.com/reference/wehook-data-model).
    // `orderDetails` echoes the order: the constructed example's order had no `shipping` nor
    // `merchant`, which the documented order request requires and which the payment's
    // `orderDetails` also echoes (`payment_charged.json`), so those two are taken from there.
    let mut created = fixture("scalapay", "webhook_created.json");
    let charged_order = fixture("scalapay", "payment_charged.json")["orderDetails"].clone();
    for part in ["shipping", "merchant"] {
        created["orderDetails"][part] = charged_order[part].clone();
    }
    created["orderDetails"]["shipping"].as_object_mut().unwrap().remove("geoCode");
    let authorized = fixture("scalapay", "webhook_authorized.json");
    for (status, expected) in [("\"created\"", created), ("\"authorized\"", authorized)] {
        let (_, hook) = hooks.wait_for(|_, body| body.contains(a.as_str()) && body.contains(status)).await;
        check(status, expected, &serde_json::from_str(&hook).unwrap());
    }

    let (status, delayed) = json_of(
        post(format!("/v2/payments/{a}/delay"), fixture_text("scalapay", "delay_request.json"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{delayed}");
    check("delay.json", fixture("scalapay", "delay.json"), &delayed);
    let (status, captured) = json_of(
        post(
            "/v2/payments/capture".into(),
            json!({"token": a, "merchantReference": "order-7731"}).to_string(),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{captured}");
    check("capture.json", fixture("scalapay", "capture.json"), &captured);
    let refund =
        json!({"refundAmount": {"amount": "40.00", "currency": "EUR"}, "merchantRefundReference": "rf-0001"});
    let (status, refunded) =
        json_of(post(format!("/v2/payments/{a}/refund"), refund.to_string()).await.unwrap()).await;
    assert_eq!(status, 200, "{refunded}");
    check("refund.json", fixture("scalapay", "refund.json"), &refunded);
    let (status, details) = json_of(get(format!("/v2/payments/{a}")).await.unwrap()).await;
    assert_eq!(status, 200, "{details}");
    // The example's order carried an item `brand` and `subcategory` and a shipping `geoCode`,
    // optional fields Scalapay echoes when the order sends them; the documented order request
    // has none, so they are left out of the comparison.
    let mut charged = fixture("scalapay", "payment_charged.json");
    for (parent, field) in [
        ("/orderDetails/items/0", "brand"),
        ("/orderDetails/items/0", "subcategory"),
        ("/orderDetails/shipping", "geoCode"),
    ] {
        if let Some(o) = charged.pointer_mut(parent).and_then(Value::as_object_mut) {
            o.remove(field);
        }
    }
    check("payment_charged.json", charged, &details);

    let (status, voided) = json_of(
        post(format!("/v2/payments/{b}/void"), json!({"merchantReference": "order-7731"}).to_string())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{voided}");
    check("void.json", fixture("scalapay", "void.json"), &voided);

    let (status, references) =
        json_of(get("/v2/payments/references?merchantOrderReference=order-7731".into()).await.unwrap()).await;
    assert_eq!(status, 200, "{references}");
    check("references.json", fixture("scalapay", "references.json"), &references);

    // Errors: an unknown token, and a request without credentials (the bare string).
    let (status, error) = json_of(get("/v2/payments/NOSUCHTOKEN".into()).await.unwrap()).await;
    assert!(status >= 400, "{error}");
    check("error_invalid_token.json", fixture("scalapay", "error_invalid_token.json"), &error);
    let (status, error) = json_of(http().get(format!("{base}/v2/payments/{a}")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    check("error_unauthorized.json", fixture("scalapay", "error_unauthorized.json"), &error);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

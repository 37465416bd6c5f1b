//! The MyPVit sandbox's APIs that the verifier's adapter does not call (payouts by
//! GIVE_CHANGE, payment links, KYC, the operation account's balance), over raw HTTP: the
//! rules the sandbox's module documentation states for them (its test rule of at most
//! 1000 XAF, its test numbers, its fees and opening balance), so that merchants' own code and
//! the demo can rely on them. The shapes of these answers against MyPVit's integration
//! document's examples are checked in `fixtures.rs`.

mod support;

use serde_json::{Value, json};
use support::{Receiver, eventually, renew_mypvit_key};

const ACCOUNT: &str = "ACC_APIS00000001";
const PASSWORD: &str = "mp_apis_password";

/// A MyPVit sandbox with its default codes, a key, and where its keys, callbacks and
/// redirections go.
struct Mp {
    sandbox: sandboxes::Running,
    _hooks: Receiver,
    key: String,
    http: reqwest::Client,
    return_url: String,
}

impl Mp {
    async fn start(config: sandboxes::mypvit::SandboxConfig) -> Mp {
        let hooks = Receiver::start().await;
        let return_url = format!("{}/return", hooks.url);
        let merchant = sandboxes::mypvit::Merchant::with_default_codes(
            ACCOUNT.into(),
            PASSWORD.into(),
            format!("{}/mypvit", hooks.url),
            return_url.clone(),
        );
        let sandbox = sandboxes::mypvit::start(config, merchant).await.unwrap();
        let key = renew_mypvit_key(&sandbox.api_url(), ACCOUNT, PASSWORD, &hooks).await;
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Mp { sandbox, _hooks: hooks, key, http, return_url }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.header("X-Secret", &self.key).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text}")))
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path_and_query}", self.sandbox.api_url()))).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.sandbox.api_url())).json(body)).await
    }

    async fn balance(&self) -> Value {
        let (status, answer) = self.get(&format!("/SBXBALANCE/balance?accountOperationCode={ACCOUNT}")).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["merchant_operation_account_code"], ACCOUNT);
        answer["balance"].clone()
    }

    /// The status of our `reference` of kind `operation`, once it is not PENDING.
    async fn final_status(&self, reference: &str, operation: &str) -> Value {
        eventually(reference, || async {
            let (status, answer) = self.status(reference, operation).await;
            (status == 200 && answer["status"] != "PENDING").then_some(answer)
        })
        .await
    }

    async fn status(&self, reference: &str, operation: &str) -> (u16, Value) {
        self.get(&format!(
            "/SBXSTATUS/status?transactionId={reference}&accountOperationCode={ACCOUNT}&transactionOperation={operation}"
        ))
        .await
    }
}

fn config() -> sandboxes::mypvit::SandboxConfig {
    sandboxes::mypvit::SandboxConfig { confirm_delay_ms: 50, ..Default::default() }
}

/// A `/rest` body of the integration document's parameter table; the merchant pays PVit's fees.
fn rest(kind: &str, reference: &str, amount: u64, number: &str) -> Value {
    let mut body = json!({
        "amount": amount, "reference": reference, "service": "RESTFUL",
        "customer_account_number": number, "merchant_operation_account_code": ACCOUNT,
        "transaction_type": kind, "owner_charge": "MERCHANT"
    });
    if kind == "PAYMENT" {
        body["callback_url_code"] = json!("SBXCB");
    }
    body
}

/// A `/link` body; WEB and VISA_MASTERCARD links carry the registered redirection codes.
fn link(service: &str, reference: &str, amount: u64, number: &str) -> Value {
    let mut body = json!({
        "amount": amount, "reference": reference, "service": service, "callback_url_code": "SBXCB",
        "customer_account_number": number, "merchant_operation_account_code": ACCOUNT,
        "transaction_type": "PAYMENT", "owner_charge": "MERCHANT"
    });
    if service != "RESTLINK" {
        body["success_redirection_url_code"] = json!("SBXOK");
        body["failed_redirection_url_code"] = json!("SBXKO");
    }
    body
}

#[tokio::test]
async fn kyc_names_the_holders_of_the_test_numbers() {
    let m = Mp::start(config()).await;
    for (number, name, active) in [
        ("077000001", "Aïcha Nguema", true),
        ("066000001", "Paul Ondo", true),
        ("062123456", "Client Sandbox", true),
        ("077000090", "Client Bloqué", false),
    ] {
        let (status, answer) = m.get(&format!("/SBXKYC/kyc?customerAccountNumber={number}")).await;
        assert_eq!(status, 200, "{number}: {answer}");
        assert_eq!(answer["full_name"], name, "{number}");
        assert_eq!(answer["is_active"], active, "{number}");
        assert_eq!(answer["customer_account_number"], number);
    }
    let (status, answer) = m.get("/SBXKYC/kyc?customerAccountNumber=074000092").await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("UNKNOWN_CUSTOMER")), "{answer}");
}

#[tokio::test]
async fn payments_and_payouts_move_the_operation_accounts_balance_with_their_fees() {
    let m = Mp::start(config()).await;
    assert_eq!(m.balance().await, json!(5000.0), "the opening balance");
    // A payment of at most 1000 succeeds: the merchant's 2.5 % (25 on 1000) is kept.
    let (status, answer) = m.post("/SBXREST/rest", &rest("PAYMENT", "PAYOK", 1000, "074416546")).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("PENDING")), "{answer}");
    assert_eq!(m.final_status("PAYOK", "PAYMENT").await["status"], "SUCCESS");
    assert_eq!(m.balance().await, json!(5975.0));
    // Above 1000 it fails, and nothing moves.
    m.post("/SBXREST/rest", &rest("PAYMENT", "PAYKO", 1001, "066820866")).await;
    assert_eq!(m.final_status("PAYKO", "PAYMENT").await["status"], "FAILED");
    assert_eq!(m.balance().await, json!(5975.0));
    // A payment's status asked as a payout's is not found.
    let (status, answer) = m.status("PAYOK", "GIVE_CHANGE").await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("TRANSACTION_NOT_FOUND")), "{answer}");

    // GIVE_CHANGE is synchronous: 400 and the merchant's 10 of fees leave at once.
    let payout = rest("GIVE_CHANGE", "GC1", 400, "074416546");
    let (status, answer) = m.post("/SBXREST/rest", &payout).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("SUCCESS")), "{answer}");
    assert!(answer["reference_id"].as_str().unwrap().starts_with("GCH"), "{answer}");
    assert_eq!(m.balance().await, json!(5565.0));
    // The same reference again pays nothing twice.
    let (status, answer) = m.post("/SBXREST/rest", &payout).await;
    assert_eq!((status, answer["error"].as_str()), (409, Some("TRANSACTION_REFERENCE_ALREADY_EXISTS")));
    assert_eq!(m.balance().await, json!(5565.0));
    assert_eq!(m.status("GC1", "GIVE_CHANGE").await.1["status"], "SUCCESS");
    assert_eq!(m.status("GC-NONE", "GIVE_CHANGE").await.0, 404);
    // Above 1000: fails by the test rule.
    let (_, answer) = m.post("/SBXREST/rest", &rest("GIVE_CHANGE", "GC2", 1500, "066820866")).await;
    assert_eq!(answer["status"], "FAILED", "{answer}");
    assert_eq!(m.balance().await, json!(5565.0));
    // More than the account holds: refused.
    let (status, answer) = m.post("/SBXREST/rest", &rest("GIVE_CHANGE", "GC3", 900_000, "066820866")).await;
    assert_eq!((status, answer["error"].as_str()), (402, Some("OPERATION_ACCOUNT_INSUFFICIENT_BALANCE")));
}

#[tokio::test]
async fn a_web_link_pays_on_its_page_once() {
    let m = Mp::start(config()).await;
    let (status, answer) = m.post("/SBXLINK/link", &link("WEB", "LINK1", 700, "074416546")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["merchant_reference_id"], "LINK1");
    let url = answer["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/transaction-link/", m.sandbox.api_url())) && url.ends_with("/payment")
    );
    let page = m.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("700 XAF"), "{page}");
    let paid = m.http.post(&url).send().await.unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(paid.headers()["location"], m.return_url.as_str());
    let again = m.http.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "TRANSACTION_LINK_USED");
    assert_eq!(m.final_status("LINK1", "PAYMENT").await["status"], "SUCCESS");
}

#[tokio::test]
async fn a_restlink_pushes_the_prompt_when_opened_and_unused_links_expire() {
    let m = Mp::start(sandboxes::mypvit::SandboxConfig { link_expire_after_ms: 400, ..config() }).await;
    let (status, answer) = m.post("/SBXLINK/link", &link("RESTLINK", "LINK2", 300, "066820866")).await;
    assert_eq!(status, 200, "{answer}");
    let opened = m.http.get(answer["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("066820866"));
    assert_eq!(m.final_status("LINK2", "PAYMENT").await["status"], "SUCCESS");

    let (_, answer) = m.post("/SBXLINK/link", &link("RESTLINK", "LINK3", 300, "066820866")).await;
    assert_eq!(m.final_status("LINK3", "PAYMENT").await["status"], "FAILED");
    let late = m.http.get(answer["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(late.status(), 410);
}

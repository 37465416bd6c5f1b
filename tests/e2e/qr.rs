//! The QR code of the provider's page (`GET /v1/public/checkouts/{id}/qr.svg`): the SVG of the
//! link the verifier stored for the live attempt, for the client secret only, and a 404 when
//! there is no such link.

use std::time::Duration;

use e2e::TestApp;
use serde_json::json;
use shared::status::CheckoutStatus;

const WAIT: Duration = Duration::from_secs(15);

/// `GET …/qr.svg` (plus `query`) with `secret` as the bearer: status, content type, body.
async fn get_qr(app: &TestApp, id: &str, secret: &str, query: &str) -> (u16, String, String) {
    let r = app
        .http
        .get(format!("{}/v1/public/checkouts/{id}/qr.svg{query}", app.url))
        .bearer_auth(secret)
        .send()
        .await
        .expect("verifier reachable");
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wave_link_is_drawn_as_a_qr_code_for_the_client_secret_only() {
    let app = TestApp::spawn().await;
    let c = app.create_checkout(3000).await;
    let secret = c.client_secret.clone().unwrap();

    // No attempt yet: nothing to draw.
    let (status, kind, body) = get_qr(&app, &c.id, &secret, "").await;
    assert_eq!(status, 404, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"]["code"], "not_found");

    let (status, body) =
        app.pay_raw(&c.id, &secret, json!({"method": "wave", "phone": "07 07 12 34 56"})).await;
    assert_eq!(status, 200, "{body}");
    let url = body["attempt"]["payment_url"].as_str().expect("Wave gives a link").to_owned();

    // The SVG of exactly the stored link, titled in the language asked for.
    let (status, kind, svg) = get_qr(&app, &c.id, &secret, "").await;
    assert_eq!(status, 200, "{svg}");
    assert_eq!(kind, "image/svg+xml");
    assert_eq!(Some(svg.clone()), server::qr::svg(&url, "Code QR de la page de paiement"));
    assert!(svg.starts_with("<svg ") && svg.contains("<path d=\"M0 0h7v1H0z"), "{svg}");
    let (_, _, english) = get_qr(&app, &c.id, &secret, "?lang=en").await;
    assert!(english.contains("<title>QR code of the payment page</title>"), "{english}");
    // Whatever the client adds to the query, the code is of the stored link.
    let (_, _, other) = get_qr(&app, &c.id, &secret, "?url=https%3A%2F%2Fevil.example&lang=fr").await;
    assert_eq!(other, svg);

    // A wrong secret (well-formed, for this checkout id) is refused like on the other routes.
    let wrong = format!("{}_secret_{}", c.id, "A".repeat(32));
    let (status, kind, body) = get_qr(&app, &c.id, &wrong, "").await;
    assert_eq!(status, 401, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"]["code"], "unauthorized");
    let (status, _, _) = get_qr(&app, &c.id, "nonsense", "").await;
    assert_eq!(status, 401);

    // Paid: the attempt is no longer live, and its link no longer drawn.
    let accepted = app.http.post(format!("{url}/accept")).send().await.unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection());
    app.wait_for(&c.id, WAIT, |c| c.status == CheckoutStatus::Succeeded).await;
    let (status, _, body) = get_qr(&app, &c.id, &secret, "").await;
    assert_eq!(status, 404, "{body}");
}

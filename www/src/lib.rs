//! The demo shop: a small merchant web shop with its own backend, selling through the
//! verifier exactly as a real merchant would.
//!
//! Its backend holds the merchant's secret key and sets every price (the browser only names a
//! product). It creates a checkout on the verifier, renders the order page with the widget's
//! one script tag, and shows an order as paid only after asking the verifier itself
//! (`GET /v1/checkouts/{id}`), never because the customer came back to a page.
//!
//! It also receives the verifier's webhooks (`POST /webhooks/verifier`), verified with the
//! reference Standard Webhooks crate (`standardwebhooks`) as any merchant would, deduplicated on
//! `webhook-id`, and lists them on the order's status page. A webhook is a signal to look: the
//! status page still asks the verifier.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::Arc,
};

use anyhow::Context;
use axum::{
    Form, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use shared::{
    api::{Checkout, CreateCheckout, Customer, EventType, WebhookEvent},
    locale::Locale,
    money::{Currency, Money},
    status::CheckoutStatus,
};
use tokio::{net::TcpListener, sync::RwLock};

/// How the shop runs.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// Where the shop listens.
    pub listen: SocketAddr,
    /// The verifier's base URL (server-to-server, and for the widget's script tag).
    pub verifier_url: String,
    /// The merchant's secret key on the verifier. Never sent to a browser.
    pub merchant_key: String,
    /// How customers reach this shop (for return links from providers' pages); by default
    /// `http://` and the bound address.
    pub public_url: Option<String>,
    /// The verifier's Standard Webhooks secret (`whsec_…`); without it, webhooks are refused.
    pub webhook_secret: Option<String>,
}

/// A product on sale; its price is set here, on the server.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// URL-safe id.
    pub id: &'static str,
    /// Name in French and English.
    pub name: (&'static str, &'static str),
    /// Price in minor units of `currency`.
    pub price: u64,
    /// The currency it is sold in.
    pub currency: Currency,
}

/// The catalogue.
pub const PRODUCTS: &[Product] = &[
    Product {
        id: "pagne",
        name: ("Pagne wax 6 yards", "Wax print, 6 yards"),
        price: 5000,
        currency: Currency::Xof,
    },
    Product {
        id: "attieke", name: ("Attiéké, 1 kg", "Attiéké, 1 kg"), price: 1500, currency: Currency::Xof
    },
    Product {
        id: "cafe",
        name: ("Café Touba, 250 g", "Touba coffee, 250 g"),
        price: 2500,
        currency: Currency::Xof,
    },
    // Sold in Gabon in XAF: Airtel Money and Moov Money through MyPVit (up to 1 000 XAF
    // succeeds in its sandbox, above fails, as MyPVit documents).
    Product {
        id: "manioc",
        name: ("Bâtons de manioc (Libreville)", "Cassava sticks (Libreville)"),
        price: 800,
        currency: Currency::Xaf,
    },
    // Sold in euros to a customer in France: card and pay-later through Scalapay.
    Product {
        id: "sac",
        name: ("Sac en raphia (livré en France)", "Raffia bag (shipped to France)"),
        price: 4500,
        currency: Currency::Eur,
    },
];

#[derive(Debug, Clone)]
struct Order {
    product: Product,
    checkout_id: String,
    client_secret: String,
    /// The verifier's webhooks about this order, in arrival order.
    notices: Vec<EventType>,
}

/// The reference library's verifier (it has no `Debug`).
struct Verifier(standardwebhooks::Webhook);

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier([REDACTED])")
    }
}

#[derive(Debug)]
struct Shop {
    config: ShopConfig,
    public_url: String,
    http: reqwest::Client,
    orders: RwLock<HashMap<String, Order>>,
    webhooks: Option<Verifier>,
    seen_webhooks: RwLock<HashSet<String>>,
}

/// A running shop.
#[derive(Debug)]
pub struct DemoShop {
    addr: SocketAddr,
}

impl DemoShop {
    /// Binds and serves in the background.
    pub async fn start(config: ShopConfig) -> anyhow::Result<DemoShop> {
        let listener = TcpListener::bind(config.listen).await.context("failed to bind the shop")?;
        let addr = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let app = router(config, public_url)?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the demo shop stopped");
            }
        });
        Ok(DemoShop { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn router(config: ShopConfig, public_url: String) -> anyhow::Result<Router> {
    let webhooks = match &config.webhook_secret {
        Some(secret) => Some(Verifier(
            standardwebhooks::Webhook::new(secret)
                .context("the webhook secret is not base64 after whsec_")?,
        )),
        None => None,
    };
    let shop = Arc::new(Shop {
        config,
        public_url,
        http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?,
        orders: RwLock::new(HashMap::new()),
        webhooks,
        seen_webhooks: RwLock::new(HashSet::new()),
    });
    Ok(Router::new()
        .route("/", get(home))
        .route("/orders", post(buy))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/status", get(order_status))
        .route("/webhooks/verifier", post(verifier_webhook))
        .with_state(shop))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn locale(q: &LangQuery) -> Locale {
    q.lang.as_deref().map(Locale::from_tag).unwrap_or_default()
}

fn name(p: &Product, l: Locale) -> &'static str {
    match l {
        Locale::Fr => p.name.0,
        Locale::En => p.name.1,
    }
}

fn price(p: &Product, l: Locale) -> String {
    Money::new(p.price, p.currency).map(|m| m.display(l)).unwrap_or_default()
}

fn page(l: Locale, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang={lang}><head><meta charset=utf-8>
<meta name=viewport content='width=device-width,initial-scale=1'><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:.75em auto;padding:0 1em;color:#222}}
h1{{margin:.3em 0}}
.product{{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ddd;padding:.6em 0}}
button{{font-size:1em;padding:.4em 1em}}</style></head>
<body><header><a href='/?lang={lang}'>Boutique Démo</a> · <a href='?lang=fr'>FR</a> | <a href='?lang=en'>EN</a></header>
<h1>{title}</h1>{body}</body></html>",
        lang = l.code()
    ))
}

async fn home(Query(q): Query<LangQuery>) -> Html<String> {
    let l = locale(&q);
    let items: String = PRODUCTS
        .iter()
        .map(|p| {
            format!(
                "<div class=product><span>{} — <b>{}</b></span>
<form method=post action='/orders?lang={}'><input type=hidden name=product value={}>
<button type=submit id='buy-{}'>{}</button></form></div>",
                name(p, l),
                price(p, l),
                l.code(),
                p.id,
                p.id,
                if l == Locale::Fr { "Acheter" } else { "Buy" }
            )
        })
        .collect();
    page(l, if l == Locale::Fr { "Nos produits" } else { "Our products" }, &items)
}

#[derive(Deserialize)]
struct BuyForm {
    product: String,
}

async fn buy(
    State(shop): State<Arc<Shop>>,
    Query(q): Query<LangQuery>,
    Form(form): Form<BuyForm>,
) -> Response {
    let Some(product) = PRODUCTS.iter().find(|p| p.id == form.product).copied() else {
        return (StatusCode::NOT_FOUND, "no such product").into_response();
    };
    let order_id = uuid::Uuid::new_v4().simple().to_string();
    let return_url = format!("{}/orders/{order_id}?lang={}", shop.public_url, locale(&q).code());
    // A real shop knows its customer from the order form; the demo uses a sample customer for
    // the providers that need one (Scalapay).
    let customer = (product.currency == Currency::Eur).then(|| Customer {
        given_names: Some("Aminata".into()),
        surname: Some("Diallo".into()),
        email: Some("aminata.diallo@example.com".into()),
        phone: Some("+33612345678".into()),
    });
    let req = CreateCheckout {
        amount: product.price,
        currency: product.currency,
        reference: format!("order-{order_id}"),
        description: Some(name(&product, locale(&q)).to_owned()),
        country: (product.currency == Currency::Xaf).then_some(shared::phone::Country::Ga),
        return_url: Some(return_url),
        customer,
    };
    let created = shop
        .http
        .post(format!("{}/v1/checkouts", shop.config.verifier_url))
        .bearer_auth(&shop.config.merchant_key)
        // One key per order: a retried request gets the same checkout back.
        .header("Idempotency-Key", format!("create-{order_id}"))
        .json(&req)
        .send()
        .await;
    let checkout: Checkout = match created {
        Ok(r) if r.status().is_success() => match r.json().await {
            Ok(c) => c,
            Err(e) => {
                return (StatusCode::BAD_GATEWAY, format!("verifier answer unreadable: {e}")).into_response();
            }
        },
        Ok(r) => {
            return (StatusCode::BAD_GATEWAY, format!("verifier refused: {}", r.status())).into_response();
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("verifier unreachable: {e}")).into_response(),
    };
    let Some(client_secret) = checkout.client_secret.clone() else {
        return (StatusCode::BAD_GATEWAY, "verifier gave no client secret").into_response();
    };
    shop.orders.write().await.insert(
        order_id.clone(),
        Order { product, checkout_id: checkout.id, client_secret, notices: Vec::new() },
    );
    Redirect::to(&format!("/orders/{order_id}?lang={}", locale(&q).code())).into_response()
}

async fn order_page(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let l = locale(&q);
    let Some(order) = shop.orders.read().await.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    };
    let body = format!(
        // The loader fetches the widget's glue and wasm without credentials (CORS), which a
        // browser sends over a connection of its own: `preconnect … crossorigin` opens it while
        // the loader itself downloads.
        "<link rel=preconnect href='{verifier}' crossorigin>
<p>{} {} — <b>{}</b></p>
<div id=pay></div>
<script src='{verifier}/widget/checkout.js' data-client-secret='{secret}' data-target='#pay' data-locale='{lang}' async></script>
<p><a id=check href='/orders/{id}/status?lang={lang}'>{}</a></p>",
        // French puts a (narrow no-break) space before a colon; English does not.
        if l == Locale::Fr { "Commande\u{202f}:" } else { "Order:" },
        name(&order.product, l),
        price(&order.product, l),
        if l == Locale::Fr { "Vérifier le paiement auprès du serveur" } else { "Check the payment with the server" },
        verifier = shop.config.verifier_url,
        secret = order.client_secret,
        lang = l.code(),
    );
    page(l, if l == Locale::Fr { "Paiement" } else { "Payment" }, &body).into_response()
}

async fn order_status(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let l = locale(&q);
    let Some(order) = shop.orders.read().await.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    };
    let verified = shop
        .http
        .get(format!("{}/v1/checkouts/{}", shop.config.verifier_url, order.checkout_id))
        .bearer_auth(&shop.config.merchant_key)
        .send()
        .await;
    let checkout: Checkout = match verified {
        Ok(r) if r.status().is_success() => match r.json().await {
            Ok(c) => c,
            Err(e) => {
                return (StatusCode::BAD_GATEWAY, format!("verifier answer unreadable: {e}")).into_response();
            }
        },
        Ok(r) => {
            return (StatusCode::BAD_GATEWAY, format!("verifier refused: {}", r.status())).into_response();
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("verifier unreachable: {e}")).into_response(),
    };
    let text = order_status_text(checkout.status, checkout.amount == order.product.price, l);
    // The verifier's event names are for the shop's backend, not its customers: kept in a data
    // attribute (read by the tests), never shown.
    let notices: Vec<&str> = order.notices.iter().map(|n| n.as_str()).collect();
    let body = format!(
        "<p id=order-status data-status='{}'>{text}</p><div id=notices hidden data-notices='{}'></div>",
        checkout.status.as_str(),
        notices.join(" "),
    );
    page(l, if l == Locale::Fr { "État de la commande" } else { "Order status" }, &body).into_response()
}

/// What the order's status page tells the customer: only a payment kept in full (and of the
/// order's amount) means the order ships; a refunded one does not, though money was taken once
/// (`CheckoutStatus::is_paid` counts it).
fn order_status_text(status: CheckoutStatus, amount_matches: bool, l: Locale) -> &'static str {
    let fr = l == Locale::Fr;
    match status {
        CheckoutStatus::Succeeded if amount_matches => {
            if fr {
                "Payée : la commande peut être expédiée."
            } else {
                "Paid: the order can ship."
            }
        }
        CheckoutStatus::PartiallyRefunded if amount_matches => {
            if fr {
                "Payée, remboursée en partie : le reste de la commande peut être expédié."
            } else {
                "Paid, partly refunded: the rest of the order can ship."
            }
        }
        CheckoutStatus::Refunded => {
            if fr {
                "Remboursée : la commande ne sera pas expédiée."
            } else {
                "Refunded: the order will not ship."
            }
        }
        CheckoutStatus::Expired | CheckoutStatus::Cancelled => {
            if fr {
                "Non payée : le paiement n'a pas abouti."
            } else {
                "Not paid: the payment did not go through."
            }
        }
        _ => {
            if fr {
                "Pas encore payée."
            } else {
                "Not paid yet."
            }
        }
    }
}

/// `POST /webhooks/verifier`: the verifier's events, verified with the reference library.
async fn verifier_webhook(State(shop): State<Arc<Shop>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(Verifier(webhook)) = &shop.webhooks else { return StatusCode::NOT_FOUND };
    if let Err(e) = webhook.verify(&body, &headers) {
        tracing::warn!(error = %e, "refused a webhook that does not verify");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<WebhookEvent>(&body) else { return StatusCode::BAD_REQUEST };
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    // At least once: the same id may come again; act once.
    if !shop.seen_webhooks.write().await.insert(id) {
        return StatusCode::OK;
    }
    let mut orders = shop.orders.write().await;
    if let Some(order) = orders.values_mut().find(|o| o.checkout_id == event.data.checkout.id) {
        order.notices.push(event.kind);
    }
    StatusCode::OK
}

#[cfg(test)]
mod tests {
    use shared::{locale::Locale, status::CheckoutStatus};

    use super::order_status_text;

    #[test]
    fn only_a_payment_kept_in_full_ships() {
        let ships = |status, amount_matches| {
            order_status_text(status, amount_matches, Locale::Fr).contains("peut être expédiée")
        };
        assert!(ships(CheckoutStatus::Succeeded, true));
        assert!(!ships(CheckoutStatus::Succeeded, false), "another amount");
        assert!(!ships(CheckoutStatus::Refunded, true), "refunded in full");
        assert!(!ships(CheckoutStatus::Processing, true));
        assert!(!ships(CheckoutStatus::Expired, true));
        assert_eq!(
            order_status_text(CheckoutStatus::Refunded, true, Locale::En),
            "Refunded: the order will not ship."
        );
    }
}

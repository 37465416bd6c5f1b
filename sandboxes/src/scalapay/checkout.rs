//! The customer's card page at each order's `checkoutUrl`, standing in for Scalapay's portal:
//! the documented test cards decide the outcome.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{answers::*, webhooks::*, wire::OrderStatus, *};

/// What the card form posts.
#[derive(Debug, Deserialize)]
pub(super) struct CardForm {
    /// The card number, spaces allowed.
    #[serde(default)]
    pub card_number: String,
    /// `MM/YY` or `MM/YYYY`.
    #[serde(default)]
    pub expiry: String,
    /// 3 or 4 digits.
    #[serde(default)]
    pub cvv: String,
}

pub(super) fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Why a card form is refused, in the page's words.
pub(super) fn check_card(form: &CardForm, today: time::Date) -> Result<String, &'static str> {
    let digits: String = form.card_number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || !luhn(&digits) {
        return Err("Numéro de carte invalide.");
    }
    let (month, year) = form.expiry.trim().split_once('/').ok_or("Date d'expiration invalide (MM/AA).")?;
    let month: u8 = month.trim().parse().map_err(|_| "Date d'expiration invalide (MM/AA).")?;
    let year: i32 = match year.trim() {
        y if y.len() == 2 => {
            y.parse::<i32>().map(|y| 2000 + y).map_err(|_| "Date d'expiration invalide (MM/AA).")?
        }
        y if y.len() == 4 => y.parse().map_err(|_| "Date d'expiration invalide (MM/AA).")?,
        _ => return Err("Date d'expiration invalide (MM/AA)."),
    };
    if !(1..=12).contains(&month) {
        return Err("Date d'expiration invalide (MM/AA).");
    }
    if (year, month) < (today.year(), u8::from(today.month())) {
        return Err("Cette carte a expiré.");
    }
    let cvv = form.cvv.trim();
    if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Cryptogramme (CVV) invalide.");
    }
    Ok(digits)
}

pub(super) fn html(status: StatusCode, title: &str, inner: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
             <title>Scalapay (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
             <h1>Scalapay — sandbox</h1><h2>{title}</h2>{inner}</body></html>"
        )),
    )
        .into_response()
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn card_page(o: &Order, error: Option<&str>) -> Response {
    // The page speaks French, as the other sandboxes' pages do.
    let amount = escape(&o.total.french());
    let what = o.request.items.first().map(|i| escape(&i.name)).unwrap_or_default();
    if o.status != OrderStatus::Created {
        let text = match o.status {
            OrderStatus::Authorized | OrderStatus::Charged => {
                "Paiement autorisé. Vous pouvez fermer cette page."
            }
            OrderStatus::Expired if o.feedback.is_some() => "Paiement refusé.",
            _ => "Cette commande n'est plus payable.",
        };
        let status = if o.status == OrderStatus::Authorized || o.status == OrderStatus::Charged {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        return html(status, &amount, &format!("<p id=done>{text}</p>"));
    }
    let token = escape(&o.token);
    let error =
        error.map(|e| format!("<p id=error style='color:#b00'>{}</p>", escape(e))).unwrap_or_default();
    html(
        if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY },
        &amount,
        &format!(
            "<p>{what} — payez en plusieurs fois.</p>{error}
             <form method=post action='/checkout/{token}'>
               <label>Numéro de carte <input name=card_number autocomplete=cc-number inputmode=numeric required></label><br>
               <label>Expiration (MM/AA) <input name=expiry autocomplete=cc-exp required></label><br>
               <label>CVV <input name=cvv autocomplete=cc-csc inputmode=numeric required></label><br>
               <button id=pay>Payer</button>
             </form>
             <form method=post action='/checkout/{token}/cancel'><button id=cancel>Annuler</button></form>"
        ),
    )
}

pub(super) fn unknown_order() -> Response {
    html(StatusCode::NOT_FOUND, "Commande inconnue", "<p>Ce lien ne correspond à aucune commande.</p>")
}

pub(super) async fn page(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    lapse(&inner, &token, Deadline::Order);
    match lock(&inner).orders.get(&token) {
        Some(o) => card_page(o, None),
        None => unknown_order(),
    }
}

pub(super) async fn pay(
    State(inner): State<Shared>,
    Path(token): Path<String>,
    Form(form): Form<CardForm>,
) -> Response {
    // A deadline whose timer has not fired yet still counts.
    lapse(&inner, &token, Deadline::Order);
    let (redirect, hook) = {
        let mut book = lock(&inner);
        let Some(o) = book.orders.get_mut(&token) else { return unknown_order() };
        if o.status != OrderStatus::Created {
            return card_page(o, None);
        }
        let digits = match check_card(&form, now().date()) {
            Ok(d) => d,
            Err(why) => return card_page(o, Some(why)),
        };
        match card_outcome(&digits) {
            CardOutcome::Authorises => {
                o.status = OrderStatus::Authorized;
                (o.request.merchant.redirect_confirm_url.clone(), o.webhook(OrderStatus::Authorized, false))
            }
            CardOutcome::Refused => {
                o.status = OrderStatus::Expired;
                o.feedback = Some(REFUSAL_FEEDBACK.into());
                (o.request.merchant.redirect_cancel_url.clone(), o.webhook(OrderStatus::Expired, false))
            }
        }
    };
    send_webhook(&inner, hook);
    Redirect::to(&redirect).into_response()
}

pub(super) async fn cancel(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    match lock(&inner).orders.get(&token) {
        Some(o) => Redirect::to(&o.request.merchant.redirect_cancel_url).into_response(),
        None => unknown_order(),
    }
}

//! What the end screens (paid, failed, expired, cancelled, refunded, under review) leave the
//! customer with: the checkout's short reference, to keep and to read over the phone; a receipt
//! of what was paid or tried (amount, method and masked number, when, the provider's
//! transaction id); and the way back to the merchant's page.
//!
//! The reference never breaks inside itself (`.ckw-ref`: `white-space: nowrap`): on a narrow
//! screen the line wraps before it.

use shared::locale::Locale;
use yew::{Html, html};

use super::waiting::safe_url;
use crate::i18n::Text;

/// What [`outcome`] shows.
#[derive(Debug)]
pub(crate) struct OutcomeProps<'a> {
    /// The customer's language.
    pub(crate) locale: Locale,
    /// The checkout's short reference, `K7M2-9QXA`.
    pub(crate) reference: &'a str,
    /// The receipt: the amount, the method, when, the provider's transaction id, each shown
    /// when known.
    pub(crate) rows: [Option<String>; 4],
    /// The merchant's page to go back to; only an `http(s)` URL becomes a link.
    pub(crate) return_url: Option<&'a str>,
}

/// One row of the receipt, if its value is known.
fn row(label: &'static str, value: Option<String>) -> Html {
    match value {
        Some(value) => html! { <div><dt>{ label }</dt><dd>{ value }</dd></div> },
        None => Html::default(),
    }
}

/// The reference, the receipt and the "return to the shop" link.
pub(crate) fn outcome(p: OutcomeProps<'_>) -> Html {
    let locale = p.locale;
    let back = p.return_url.filter(|u| safe_url(u));
    let [amount, method, when, transaction] = p.rows;
    html! {
        <div class="ckw-outcome">
            <p class="ckw-ref-line">
                { Text::Reference.get(locale) }{ " " }
                <span class="ckw-ref" translate="no">{ p.reference }</span>
            </p>
            <dl class="ckw-receipt">
                { row(Text::Amount.get(locale), amount) }
                { row(Text::MethodLegend.get(locale), method) }
                { row(Text::When.get(locale), when) }
                { row(Text::TransactionId.get(locale), transaction) }
            </dl>
            if let Some(url) = back {
                // The merchant's page replaces the one the widget is in (the iframe's parent too).
                <a class="ckw-return" href={url.to_owned()} target="_top">{ Text::ReturnToShop.get(locale) }</a>
            }
        </div>
    }
}

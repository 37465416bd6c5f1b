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
    /// The receipt's rows: what each says, and its value.
    pub(crate) rows: Vec<(Text, String)>,
    /// The merchant's page to go back to; only an `http(s)` URL becomes a link.
    pub(crate) return_url: Option<&'a str>,
}

/// The reference, the receipt and the "return to the shop" link.
pub(crate) fn outcome(p: OutcomeProps<'_>) -> Html {
    let locale = p.locale;
    let back = p.return_url.filter(|u| safe_url(u));
    html! {
        <div class="ckw-outcome">
            <p class="ckw-ref-line">
                { Text::Reference.get(locale) }{ " " }
                <span class="ckw-ref" translate="no">{ p.reference }</span>
            </p>
            if !p.rows.is_empty() {
                <dl class="ckw-receipt">
                    { for p.rows.into_iter().map(|(label, value)| html! {
                        <div><dt>{ label.get(locale) }</dt><dd>{ value }</dd></div>
                    }) }
                </dl>
            }
            if let Some(url) = back {
                // The merchant's page replaces the one the widget is in (the iframe's parent too).
                <a class="ckw-return" href={url.to_owned()} target="_top">{ Text::ReturnToShop.get(locale) }</a>
            }
        </div>
    }
}

//! What the end screens (paid, failed, expired, cancelled, refunded, under review) leave the
//! customer with: the checkout's short reference, to keep and to read over the phone; a receipt
//! of what was paid or tried (amount, method and masked number, when, the provider's
//! transaction id); and the way back to the merchant's page.
//!
//! The reference never breaks inside itself (`.ckw-ref`: `white-space: nowrap`): on a narrow
//! screen the line wraps before it.

use shared::locale::Locale;
use yew::{AttrValue, Html};

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

/// The reference, the receipt and the "return to the shop" link: static markup, given to the
/// browser's parser as one string (`Html::from_html_unchecked`, every value escaped), which
/// costs the download less than building each element in code; nothing in it listens.
pub(crate) fn outcome(p: OutcomeProps<'_>) -> Html {
    let locale = p.locale;
    let mut h = String::from(r#"<div class="ckw-outcome"><p class="ckw-ref-line">"#);
    h.push_str(Text::Reference.get(locale));
    h.push_str(r#" <span class="ckw-ref" translate="no">"#);
    crate::escape(p.reference, &mut h);
    h.push_str(r#"</span></p><dl class="ckw-receipt">"#);
    let [amount, method, when, transaction] = p.rows;
    let rows = [
        (Text::Amount, amount),
        (Text::MethodLegend, method),
        (Text::When, when),
        (Text::TransactionId, transaction),
    ];
    for (label, value) in rows {
        if let Some(value) = value {
            h.push_str("<div><dt>");
            h.push_str(label.get(locale));
            h.push_str("</dt><dd>");
            crate::escape(&value, &mut h);
            h.push_str("</dd></div>");
        }
    }
    h.push_str("</dl>");
    // The merchant's page replaces the one the widget is in (the iframe's parent too).
    if let Some(url) = p.return_url.filter(|u| safe_url(u)) {
        h.push_str(r#"<a class="ckw-return" target="_top" href=""#);
        crate::escape(url, &mut h);
        h.push_str(r#"">"#);
        h.push_str(Text::ReturnToShop.get(locale));
        h.push_str("</a>");
    }
    h.push_str("</div>");
    Html::from_html_unchecked(AttrValue::from(h))
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_from_the_network_are_escaped() {
        let mut out = String::new();
        crate::escape(r#"<img src=x onerror="a&b">"#, &mut out);
        assert_eq!(out, "&lt;img src=x onerror=&quot;a&amp;b&quot;&gt;");
    }
}

//! What is being paid, and to whom: merchant name, description and amount.

use yew::{AttrValue, Html};

/// What [`summary`] shows.
#[derive(Debug)]
pub(crate) struct SummaryProps<'a> {
    /// The merchant's name.
    pub(crate) merchant: &'a str,
    /// What is being paid, if the merchant said.
    pub(crate) description: Option<&'a str>,
    /// The amount, formatted for the customer's locale.
    pub(crate) amount: &'a str,
}

/// The checkout's header.
pub(crate) fn summary(p: SummaryProps<'_>) -> Html {
    // Static markup, given to the browser's parser as one string (every value escaped).
    let mut h = String::from(r#"<header class="ckw-head"><p class="ckw-merchant">"#);
    crate::escape(p.merchant, &mut h);
    if let Some(d) = p.description {
        h.push_str(r#"</p><p class="ckw-desc">"#);
        crate::escape(d, &mut h);
    }
    h.push_str(r#"</p><p class="ckw-amount">"#);
    crate::escape(p.amount, &mut h);
    h.push_str("</p></header>");
    Html::from_html_unchecked(AttrValue::from(h))
}

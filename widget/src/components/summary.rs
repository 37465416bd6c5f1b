//! What is being paid, and to whom: merchant name, description and amount.

use yew::{Html, html};

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
    html! {
        <header class="ckw-head">
            <p class="ckw-merchant">{ p.merchant }</p>
            if let Some(d) = p.description {
                <p class="ckw-desc">{ d }</p>
            }
            <p class="ckw-amount">{ p.amount }</p>
        </header>
    }
}

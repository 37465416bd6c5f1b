//! The end screen of a payment: the reference the customer keeps.

use shared::locale::Locale;
use yew::{Html, html};

use crate::i18n::Text;

/// The attempt id, selectable in one tap. ("Paid" itself is the live status line.)
pub(crate) fn paid(locale: Locale, reference: Option<&str>) -> Html {
    html! {
        if let Some(reference) = reference {
            <p class="ckw-ref-line">
                { Text::Reference.get(locale) }{ " " }
                <code class="ckw-ref">{ reference }</code>
            </p>
        }
    }
}

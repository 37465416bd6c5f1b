//! The waiting screen: confirm on the phone, or on the provider's page when it gives one.

use shared::locale::Locale;
use yew::{Html, html};

use crate::i18n::Text;

/// Only `http(s)` links are shown: a `javascript:` URL must never become a link.
pub(crate) fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The instruction, and the provider's page (if any) as a link opening in a new tab.
pub(crate) fn waiting(locale: Locale, payment_url: Option<&str>) -> Html {
    html! {
        <div class="ckw-waiting">
            <p class="ckw-title">{ Text::ConfirmOnPhone.get(locale) }</p>
            if let Some(url) = payment_url.filter(|u| safe_url(u)) {
                <a class="ckw-link" href={url.to_owned()} target="_blank" rel="noopener noreferrer">
                    { Text::OpenPaymentPage.get(locale) }
                </a>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_followed() {
        assert!(safe_url("https://pay.example/s/1"));
        assert!(safe_url("HTTP://pay.example"));
        assert!(!safe_url("javascript:alert(1)"));
        assert!(!safe_url(" JavaScript:alert(1)"));
        assert!(!safe_url("data:text/html,x"));
    }
}

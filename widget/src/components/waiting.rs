//! The waiting screen: exactly what to do on the phone (approve the operator's prompt, or the
//! code to dial when it does not appear), or the provider's page to open (a link, and its QR
//! code for a customer on a computer), with the time left.
//!
//! The QR code is an empty `.ckw-qr` box here: the verifier draws the SVG, and `App` fetches it
//! into the box once it is rendered, unless the box is hidden (touch screens, by the
//! stylesheet: there, the link itself is the way).

use shared::locale::Locale;
use yew::{Html, html};

use crate::i18n::Text;

/// Only `http(s)` links are shown: a `javascript:` URL must never become a link.
pub(crate) fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// What [`waiting`] shows.
#[derive(Debug)]
pub(crate) struct WaitingProps<'a> {
    /// The customer's language.
    pub(crate) locale: Locale,
    /// Card and pay-later: everything happens on the provider's page, not the phone.
    pub(crate) on_page: bool,
    /// The provider's page, if it gave one.
    pub(crate) payment_url: Option<&'a str>,
    /// The operator's menu to dial when the prompt does not appear, if known.
    pub(crate) fallback: Option<String>,
    /// The time left, `m:ss`, once the clock ticked.
    pub(crate) countdown: Option<String>,
}

/// The instruction, the fallback code or the link and QR code, and the countdown.
pub(crate) fn waiting(p: WaitingProps<'_>) -> Html {
    let locale = p.locale;
    let url = p.payment_url.filter(|u| safe_url(u));
    let title = if p.on_page { Text::FinishOnPage } else { Text::ConfirmOnPhone };
    html! {
        <div class="ckw-waiting">
            <p class="ckw-title" tabindex="-1">{ title.get(locale) }</p>
            if url.is_none() && !p.on_page {
                <p class="ckw-hint">{ Text::ApproveWithPin.get(locale) }</p>
            }
            if let Some(code) = p.fallback {
                <p class="ckw-hint ckw-fallback">
                    { Text::NoPrompt.get(locale) }{ " " }<code class="ckw-ussd">{ code }</code>
                </p>
            }
            if let Some(url) = url {
                <a class="ckw-link" href={url.to_owned()} target="_blank" rel="noopener noreferrer">
                    { Text::OpenPaymentPage.get(locale) }
                </a>
                <div class="ckw-qr-box">
                    <div class="ckw-qr"></div>
                    <p class="ckw-hint">{ Text::ScanQr.get(locale) }</p>
                </div>
            }
            if let Some(left) = p.countdown {
                <p class="ckw-countdown" role="timer">
                    { Text::TimeLeft.get(locale) }{ " " }<span>{ left }</span>
                </p>
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

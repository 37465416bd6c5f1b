//! The waiting screen: exactly what to do, by how the payment is confirmed, with the time left
//! and a way out.
//!
//! - A **link** payment (Wave, mobile money on the provider's page, card and pay-later:
//!   `shared::ussd::is_link_payment`) has one main action, the provider's page, as a button
//!   like the Pay button, and its QR code for a customer on a computer. No operator menu: none
//!   finds such a payment.
//! - A **push** payment (an operator's wallet) says to approve the operator's prompt, and gives
//!   that operator's own menu for when it does not appear (`shared::ussd::waiting_fallback`); a
//!   page the provider also gave stays available as a plain link.
//! - A payment made with a **one-time code** the customer generated (NovaSend's Orange Money)
//!   has no prompt and no menu: the screen says the operator is checking the code.
//! - Every waiting screen offers "Change number" (payments to a phone) and "Cancel", which end
//!   the attempt at the verifier before the form comes back, so that two prompts are never live.
//!
//! The QR code is an empty `.ckw-qr` box here: the verifier draws the SVG, and `App` fetches it
//! into the box once it is rendered, unless the box is hidden (touch screens, by the
//! stylesheet: there, the link itself is the way).

use shared::locale::Locale;
use yew::{Callback, Html, html};

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
    /// The provider's page is the payment's main action (a link payment).
    pub(crate) link_first: bool,
    /// Paid with a one-time code the customer generated (NovaSend's Orange Money): no prompt
    /// comes, the operator checks the code.
    pub(crate) with_code: bool,
    /// The provider's page, if it gave one.
    pub(crate) payment_url: Option<&'a str>,
    /// The operator's menu to dial when the prompt does not appear, if known.
    pub(crate) fallback: Option<String>,
    /// The time left, `m:ss`, once the clock ticked.
    pub(crate) countdown: Option<String>,
    /// Why the last cancellation did not go through.
    pub(crate) error: Option<&'static str>,
    /// A cancellation is in flight: the buttons wait.
    pub(crate) cancelling: bool,
    /// "Change number" (`true`, shown unless `on_page`) or "Cancel" (`false`).
    pub(crate) on_cancel: Callback<bool>,
}

/// The instruction, the page or the fallback code, the countdown, and the way out.
pub(crate) fn waiting(p: WaitingProps<'_>) -> Html {
    let locale = p.locale;
    let url = p.payment_url.filter(|u| safe_url(u));
    let title = if p.on_page {
        Text::FinishOnPage
    } else if p.with_code {
        Text::CheckingCode
    } else {
        Text::ConfirmOnPhone
    };
    let busy = if p.cancelling { "true" } else { "false" };
    let button = |edit: bool, action: &'static str, text: Text| {
        let on_cancel = p.on_cancel.clone();
        html! {
            <button type="button" class="ckw-secondary" data-action={action} disabled={p.cancelling}
                aria-busy={busy} onclick={move |_| on_cancel.emit(edit)}>
                { text.get(locale) }
            </button>
        }
    };
    html! {
        <div class="ckw-waiting">
            <p class="ckw-title" tabindex="-1">{ title.get(locale) }</p>
            if !p.link_first && !p.on_page && !p.with_code {
                <p class="ckw-hint">{ Text::ApproveWithPin.get(locale) }</p>
            }
            if let Some(code) = p.fallback {
                <p class="ckw-hint ckw-fallback">
                    { Text::NoPrompt.get(locale) }{ " " }<code class="ckw-ussd">{ code }</code>
                </p>
            }
            if let Some(url) = url {
                if p.link_first {
                    // A link payment's page is its main button.
                    <a class="ckw-pay ckw-link ckw-open" href={url.to_owned()} target="_blank" rel="noopener noreferrer">
                        { Text::OpenPaymentPage.get(locale) }
                    </a>
                    <div class="ckw-qr-box">
                        <div class="ckw-qr"></div>
                        <p class="ckw-hint">{ Text::ScanQr.get(locale) }</p>
                    </div>
                } else {
                    // Beside a push, a plain link.
                    <a class="ckw-link" href={url.to_owned()} target="_blank" rel="noopener noreferrer">
                        { Text::OpenPaymentPage.get(locale) }
                    </a>
                }
            }
            if let Some(left) = p.countdown {
                <p class="ckw-countdown" role="timer">
                    { Text::TimeLeft.get(locale) }{ " " }<span>{ left }</span>
                </p>
            }
            if let Some(error) = p.error {
                <p class="ckw-error" role="alert">{ error }</p>
            }
            <div class="ckw-actions">
                if !p.on_page {
                    { button(true, "change-number", Text::ChangeNumber) }
                }
                { button(false, "cancel", Text::CancelPayment) }
            </div>
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

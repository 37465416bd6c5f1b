//! Small inline SVG marks: each payment method drawn with its operator's colours and initials
//! (no logo file, nothing of a trademark beyond colours and initials), and the lock of the
//! trust line.
//!
//! Each mark is one static string given to the browser's parser (`Html::from_html_unchecked`),
//! cheaper in the customer's download than building the same elements in code; nothing in it
//! comes from the network. The text's font and anchoring are the stylesheet's (`.ckw-mark
//! text`), so each string only says what differs.

use shared::method::PaymentMethod;
use yew::{AttrValue, Html};

/// The drawing inside a 40×26 mark, per method (`pay_later`: the card method of a pay-later
/// provider). Colours: Orange's orange, MTN's yellow, Moov Africa's blue with its orange band,
/// Wave's light blue, Airtel's red; a neutral card and phone; a soft pink for instalments.
fn drawing(method: PaymentMethod, pay_later: bool) -> &'static str {
    match (method, pay_later) {
        (PaymentMethod::OrangeMoney, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#ff7900"/><text x="20" y="18">OM</text>"##
        }
        (PaymentMethod::MtnMomo, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#ffcb05"/><text x="20" y="17.5" font-size="10">MoMo</text>"##
        }
        (PaymentMethod::MoovMoney, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#0a5ca8"/><rect y="20" width="40" height="6" fill="#f7931e"/><text x="20" y="15.5" font-size="10" fill="#fff">Moov</text>"##
        }
        (PaymentMethod::Wave, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#1dc8f2"/><text x="20" y="18.5" fill="#0b2540">W</text>"##
        }
        (PaymentMethod::AirtelMoney, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#d6001c"/><text x="20" y="18.5" fill="#fff">A</text>"##
        }
        (PaymentMethod::Card, true) => {
            r##"<rect width="40" height="26" rx="4" fill="#ffc8d8"/><text x="20" y="18">3×</text>"##
        }
        (PaymentMethod::Card, false) => {
            r##"<rect width="40" height="26" rx="4" fill="#5b6270"/><rect y="6" width="40" height="5" fill="#23262d"/><rect x="5" y="15" width="9" height="6" rx="1" fill="#e2c77a"/>"##
        }
        (PaymentMethod::MobileMoney, _) => {
            r##"<rect width="40" height="26" rx="4" fill="#e3e6eb"/><rect x="14" y="3" width="12" height="20" rx="2" fill="none" stroke="#3a3f47" stroke-width="2"/><circle cx="20" cy="19" r="1.3" fill="#3a3f47"/>"##
        }
    }
}

/// The method's mark, named `label` for assistive technologies (`role="img"`).
pub(crate) fn method_mark(method: PaymentMethod, pay_later: bool, label: &str) -> Html {
    Html::from_html_unchecked(AttrValue::from(crate::cat(&[
        r#"<svg class="ckw-mark" viewBox="0 0 40 26" role="img" aria-label=""#,
        label,
        r#"">"#,
        drawing(method, pay_later),
        "</svg>",
    ])))
}

/// The trust line: a closed padlock, decorative (the words beside it say it), then `text`
/// ("paid to" the merchant), escaped.
pub(crate) fn trust_line(text: &str) -> Html {
    let mut h = String::from(
        r#"<p class="ckw-trust"><svg class="ckw-lock" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z"/></svg>"#,
    );
    crate::escape(text, &mut h);
    h.push_str("</p>");
    Html::from_html_unchecked(AttrValue::from(h))
}

//! The root component: owns the [`State`], runs the requests the state asks for (load, pay,
//! live status, the clock) in effects, tells the host page what happened (`checkout:*` events,
//! through the loader), and lays out the current screen.
//!
//! Layout, stable across screens so that the live region persists and is announced:
//! `.ckw` root (with `data-checkout-status`, `data-attempt-status`, `data-screen`) >
//! summary, the screen's main part, `.ckw-status` (`aria-live="polite"`), the screen's follow-up
//! (on the end screens: the reference, the receipt and the way back to the shop), and the trust
//! line (a lock, "paid to" the merchant).
//! When the screen changes after the first one, focus moves to its heading (or, back on the
//! form, to its first field). The parts are drawn by the view functions of the sibling modules.

use std::time::Duration;

use std::pin::pin;

use futures::future::{abortable, select};
use shared::api::{PublicAttempt, PublicCheckout};
use shared::catalogue::{ErrorCode, SuggestedAction};
use shared::locale::Locale;
use shared::method::PaymentMethod;
use shared::money::Money;
use shared::status::AttemptStatus;
use shared::ussd;
use wasm_bindgen::{JsCast, JsValue};
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::{Callback, Html, Properties, function_component, html, use_effect_with, use_mut_ref, use_reducer};

use super::marks::trust_line;
use super::outcome::{OutcomeProps, outcome};
use super::pay_form::{PayFormProps, pay_form};
use super::retry::retry;
use super::summary::{SummaryProps, summary};
use super::waiting::{WaitingProps, safe_url, waiting};
use crate::api::{Client, event_detail, qr_data_url};
use crate::i18n::{self, Text};
use crate::state::{Action, Memo, OtpProblem, Pay, Problem, Screen, State, rfc3339_ms};

/// Props of [`App`], given by `mount`.
#[derive(Debug, PartialEq, Properties)]
pub(crate) struct AppProps {
    /// The API client; `None` when the client secret is malformed.
    pub(crate) client: Option<Client>,
    /// The customer's language.
    pub(crate) locale: Locale,
    /// Prefix of element ids, unique on the page.
    pub(crate) uid: String,
    /// What the previous page of this tab remembered about this checkout.
    pub(crate) memo: Memo,
    /// The element the widget renders into (inside the shadow root): where focus is moved.
    pub(crate) root: web_sys::Element,
    /// Tells the loader: `("checkout:…", detail JSON)` to dispatch on the host element, or
    /// `("memo", text)` to keep in sessionStorage.
    pub(crate) notify: Callback<(&'static str, String)>,
}

/// Milliseconds since the epoch, from the browser's clock.
fn now_ms() -> u64 {
    web_sys::js_sys::Date::now() as u64
}

/// An RFC 3339 time as the customer's browser writes dates in their language and time zone
/// ("7 déc. 2026, 15:04"), by `Date.prototype.toLocaleString`.
fn local_time(rfc3339: &str, locale: Locale) -> Option<String> {
    use web_sys::js_sys::{Date, Object, Reflect};
    let ms = rfc3339_ms(rfc3339)?;
    let options = Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    Date::new(&JsValue::from_f64(ms as f64)).to_locale_string(locale.code(), &options).as_string()
}

/// Focuses `el` if it is an HTML element.
fn focus(el: Option<web_sys::Element>) {
    if let Some(el) = el.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
    }
}

/// The widget.
#[function_component]
pub(crate) fn App(props: &AppProps) -> Html {
    let state = {
        let (locale, valid, memo) = (props.locale, props.client.is_some(), props.memo.clone());
        use_reducer(move || State::new(locale, valid).restored(memo))
    };

    // Load (and reload) the checkout.
    {
        let (client, dispatcher) = (props.client.clone(), state.dispatcher());
        use_effect_with(state.load_seq, move |_| {
            if let Some(client) = client {
                spawn_local(async move {
                    dispatcher.dispatch(match client.checkout().await {
                        Ok(c) => Action::Loaded(c),
                        Err(p) => Action::LoadFailed(p),
                    });
                });
            }
        });
    }

    // Send the request the reducer asked for, once each: the payment, or the cancellation of
    // the attempt waiting for the customer. One effect for both: each hook and each future
    // costs the customer's download.
    {
        let (client, dispatcher) = (props.client.clone(), state.dispatcher());
        use_effect_with(state.request(), move |request| {
            if let (Some(client), Some((_, path, body, cancel))) = (client, request.clone()) {
                spawn_local(async move {
                    dispatcher.dispatch(match (client.post(&path, body).await, cancel) {
                        (Ok(c), false) => Action::PayAccepted(c),
                        (Err(f), false) => Action::PayFailed(f),
                        (Ok(c), true) => Action::Cancelled(c),
                        (Err(f), true) => Action::CancelFailed(f),
                    });
                });
            }
        });
    }

    // Follow the attempt under way, and run the clock for its countdown; the clean-up closes
    // the stream or stops polling, and stops the clock.
    {
        let (client, dispatcher) = (props.client.clone(), state.dispatcher());
        use_effect_with(state.live_attempt(), move |live| {
            let mut stop = None;
            if let (Some(client), Some(_)) = (client, live) {
                let updates = dispatcher.clone();
                let clock = async move {
                    loop {
                        dispatcher.dispatch(Action::Tick(now_ms()));
                        sleep(Duration::from_secs(1)).await;
                    }
                };
                let (task, handle) = abortable(async move {
                    let watch = client.watch(|c| updates.dispatch(Action::Update(c)));
                    select(pin!(watch), pin!(clock)).await;
                });
                spawn_local(async move {
                    let _ = task.await;
                });
                stop = Some(handle);
            }
            move || {
                if let Some(handle) = stop {
                    handle.abort();
                }
            }
        });
    }

    // Tell the host page: ready once the checkout is known, then each milestone once; keep
    // the memo; and move the focus when the screen changes, never on the first screen (the
    // page's focus is the merchant's until the customer acts in the widget). One effect,
    // comparing with what was done before: each hook costs the customer's download.
    {
        let done = use_mut_ref(|| (false, None, Memo::default(), ""));
        let (notify, detail, root, edit_number) =
            (props.notify.clone(), state.loaded().map(event_detail), props.root.clone(), state.edit_number);
        let now = (detail.is_some(), state.event(), state.memo(), state.screen().name());
        use_effect_with(now, move |now| {
            let mut before = done.borrow_mut();
            if let Some(detail) = detail {
                if now.0 && !before.0 {
                    notify.emit(("checkout:ready", detail.clone()));
                }
                if let Some((kind, _)) = now.1.as_ref().filter(|_| now.1 != before.1) {
                    notify.emit((kind.name(), detail));
                }
            }
            if now.2 != before.2 {
                notify.emit(("memo", now.2.encode()));
            }
            if !matches!(before.3, "" | "loading") && before.3 != now.3 {
                let pick = |sel: &str| root.query_selector(sel).ok().flatten();
                focus(match now.3 {
                    // "Change number": on the number, to edit it.
                    "form" if edit_number => pick(".ckw-form input[name=phone]"),
                    "form" => pick(".ckw-form input:checked").or_else(|| pick(".ckw-form input")),
                    "code_refused" => pick(".ckw-form input[name=otp]"),
                    "waiting" => pick(".ckw-title"),
                    _ => pick(".ckw-status"),
                });
            }
            *before = now.clone();
        });
    }

    // The QR code of the provider's page, drawn by the verifier, as an image in the `.ckw-qr`
    // box the waiting screen left empty (Yew leaves a childless element's content alone). Not fetched
    // when the box is hidden (a touch screen), nor again while the link stays the same.
    {
        let (client, root, locale) = (props.client.clone(), props.root.clone(), state.locale);
        let url = match state.screen() {
            Screen::Waiting(a) => a.payment_url.clone().filter(|u| safe_url(u)),
            _ => None,
        };
        use_effect_with(url, move |url| {
            if let (Some(client), Some(_)) = (client, url) {
                let qr_box = move || root.query_selector(".ckw-qr").ok().flatten();
                if qr_box().is_some_and(|b| b.client_width() > 0) {
                    spawn_local(async move {
                        if let (Some(svg), Some(b)) = (client.qr_svg(locale).await, qr_box()) {
                            show_qr(&b, &svg, Text::QrAlt.get(locale));
                        }
                    });
                }
            }
        });
    }

    let locale = state.locale;
    let dispatch = {
        let state = state.clone();
        Callback::from(move |a: Action| state.dispatch(a))
    };
    let checkout = state.loaded();
    let attempt = checkout.and_then(|c| c.attempt.as_ref());
    let screen = state.screen();
    let amount = checkout.map_or_else(String::new, |c| {
        Money::new(c.amount, c.currency)
            .map(|m| m.display(locale))
            .unwrap_or_else(|_| format!("{} {}", c.amount, c.currency))
    });
    let head = checkout.map(|c| {
        summary(SummaryProps {
            merchant: &c.merchant_name,
            description: c.description.as_deref(),
            amount: &amount,
        })
    });

    // (main part, live status text, follow-up)
    let none = Html::default;
    let (main, status, follow): (Html, &str, Html) = match (screen, checkout) {
        (Screen::Unavailable(p), _) => {
            let again = (p == Problem::Unreachable)
                .then(|| retry(None, Text::TryAgain.get(locale), dispatch.reform(|()| Action::Reload)));
            (none(), i18n::problem(p, locale), again.unwrap_or_default())
        }
        (Screen::Loading, _) | (_, None) => (none(), Text::Loading.get(locale), none()),
        (Screen::Form | Screen::CodeRefused(_), Some(c)) => {
            let sending = state.pay != Pay::Idle;
            // After a refused code, the code field says so until a new one is typed.
            let refused = matches!(screen, Screen::CodeRefused(_)) && state.otp.is_empty();
            let otp_error = state.otp_error.or(refused.then_some(OtpProblem::Refused));
            let mismatch = state.mismatch();
            let otp_code = ussd::orange_otp(c.country).map(|u| u.dial(c.amount, locale));
            let form = pay_form(PayFormProps {
                uid: &props.uid,
                locale,
                methods: &state.method_options(),
                method: state.method,
                phone: &state.phone,
                network: state
                    .phone_network()
                    .and_then(|n| n.name())
                    .map(|n| crate::cat(&[Text::Network.get(locale), " ", n])),
                phone_error: state
                    .phone_error
                    .as_ref()
                    .map(|p| i18n::phone_problem(p, c.country, locale))
                    .or_else(|| mismatch.map(|m| i18n::mismatch(m, locale))),
                otp: state.needs_otp().then(|| {
                    (
                        state.otp.as_str(),
                        i18n::otp_hint(otp_code.as_deref(), locale),
                        otp_error.map(|p| i18n::otp_problem(p, locale)),
                    )
                }),
                form_error: state.form_error.map(|p| i18n::problem(p, locale)),
                pay_label: i18n::pay_label(&amount, locale),
                sending,
                on_action: &dispatch,
                country: c.country,
            });
            (form, if sending { Text::Sending.get(locale) } else { "" }, none())
        }
        (Screen::Waiting(a), Some(c)) => {
            let has_link = a.payment_url.as_deref().is_some_and(safe_url);
            let main = waiting(WaitingProps {
                locale,
                on_page: a.method == PaymentMethod::Card,
                link_first: ussd::is_link_payment(a.method, has_link),
                payment_url: a.payment_url.as_deref(),
                with_code: a.provider.needs_otp(a.method),
                fallback: ussd::waiting_fallback(
                    c.country,
                    a.provider,
                    a.method,
                    state.attempt_network,
                    has_link,
                )
                .map(|u| u.dial(c.amount, locale)),
                countdown: state.remaining_secs().map(i18n::countdown),
                error: state.form_error.map(|p| i18n::problem(p, locale)),
                cancelling: state.cancel.is_some(),
                on_cancel: dispatch.reform(Action::Cancel),
            });
            (main, i18n::attempt_status(a.status, locale), none())
        }
        (Screen::Paid(a), Some(c)) => {
            let mut rows = a.map(|a| attempt_rows(a, locale)).unwrap_or_default();
            rows[0] = Some(amount.clone());
            (none(), Text::Paid.get(locale), end(c, rows, locale))
        }
        (Screen::Refunded, Some(c)) => (none(), Text::Refunded.get(locale), end(c, NO_ROWS, locale)),
        (Screen::Failed(a), Some(c)) => {
            let code = a.failure.unwrap_or(if a.status == AttemptStatus::Expired {
                ErrorCode::SessionExpired
            } else {
                ErrorCode::PaymentRefused
            });
            let action = a.action.unwrap_or(code.action());
            let label = if action == SuggestedAction::ChooseAnotherMethod && state.methods().len() > 1 {
                Text::ChooseAnother
            } else {
                Text::TryAgain
            };
            let again =
                retry(Some(action.message(locale)), label.get(locale), dispatch.reform(|()| Action::Retry));
            let rows = attempt_rows(a, locale);
            (none(), code.message(locale), html! { <>{ again }{ end(c, rows, locale) }</> })
        }
        (Screen::Closed(s), Some(c)) => (none(), i18n::closed(s, locale), end(c, NO_ROWS, locale)),
        (Screen::Review, Some(c)) => (
            none(),
            Text::UnderReview.get(locale),
            html! { <><p>{ SuggestedAction::ContactSupport.message(locale) }</p>{ end(c, NO_ROWS, locale) }</> },
        ),
    };

    html! {
        <div
            class="ckw"
            lang={locale.code()}
            data-checkout-status={checkout.map_or("", |c| c.status.as_str())}
            data-attempt-status={attempt.map_or("", |a| a.status.as_str())}
            data-screen={screen.name()}
        >
            { head }
            { main }
            <p class="ckw-status" role="status" aria-live="polite" tabindex="-1">{ status }</p>
            { follow }
            if let Some(c) = checkout {
                { trust_line(&i18n::secure(&c.merchant_name, locale)) }
            }
        </div>
    }
}

/// A receipt with nothing to show.
const NO_ROWS: [Option<String>; 4] = [None, None, None, None];

/// The end screens' follow-up: the short reference, the receipt's `rows` (see
/// [`OutcomeProps::rows`]), and the way back to the merchant's page.
fn end(c: &PublicCheckout, rows: [Option<String>; 4], locale: Locale) -> Html {
    outcome(OutcomeProps { locale, reference: &c.short_reference, rows, return_url: c.return_url.as_deref() })
}

/// The receipt's rows about an ended attempt (no amount): the method (as its provider names
/// it) with the masked number, when it ended, and the provider's transaction id.
fn attempt_rows(a: &PublicAttempt, locale: Locale) -> [Option<String>; 4] {
    let mut method = a.method.label_by(a.provider, locale).to_owned();
    if let Some(phone) = &a.phone {
        method.push_str(" · ");
        method.push_str(phone);
    }
    [
        None,
        Some(method),
        a.finished_at.as_deref().and_then(|t| local_time(t, locale)),
        a.provider_reference.clone(),
    ]
}

/// Puts the QR code's SVG in `qr_box` as `<img src="data:image/svg+xml,…" alt=…>`: never as
/// markup inserted into the merchant's page, where an SVG could carry script or styles.
fn show_qr(qr_box: &web_sys::Element, svg: &str, alt: &str) {
    let Some(img) = qr_box.owner_document().and_then(|d| d.create_element("img").ok()) else { return };
    if img.set_attribute("src", &qr_data_url(svg)).is_ok() && img.set_attribute("alt", alt).is_ok() {
        qr_box.set_text_content(None);
        let _ = qr_box.append_child(&img);
    }
}

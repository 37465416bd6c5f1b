//! The root component: owns the [`State`], runs the requests the state asks for (load, pay,
//! live status) in effects, and lays out the current screen.
//!
//! Layout, stable across screens so that the live region persists and is announced:
//! `.ckw` root (with `data-checkout-status`, `data-attempt-status`, `data-screen`) >
//! summary, the screen's main part, `.ckw-status` (`aria-live="polite"`), the screen's follow-up.
//! The parts are drawn by the view functions of the sibling modules.

use futures::future::abortable;
use shared::catalogue::ErrorCode;
use shared::locale::Locale;
use shared::money::Money;
use shared::status::AttemptStatus;
use yew::platform::spawn_local;
use yew::{Callback, Html, Properties, function_component, html, use_effect_with, use_reducer};

use super::paid::paid;
use super::pay_form::{PayFormProps, pay_form};
use super::retry::retry;
use super::summary::{SummaryProps, summary};
use super::waiting::waiting;
use crate::api::Client;
use crate::i18n::{self, Text};
use crate::state::{Action, Pay, Problem, Screen, State};

/// Props of [`App`], given by `mount`.
#[derive(Debug, PartialEq, Properties)]
pub(crate) struct AppProps {
    /// The API client; `None` when the client secret is malformed.
    pub(crate) client: Option<Client>,
    /// The customer's language.
    pub(crate) locale: Locale,
    /// Prefix of element ids, unique on the page.
    pub(crate) uid: String,
}

/// The widget.
#[function_component]
pub(crate) fn App(props: &AppProps) -> Html {
    let state = {
        let (locale, valid) = (props.locale, props.client.is_some());
        use_reducer(move || State::new(locale, valid))
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

    // Send the pay request the reducer accepted (once per submit).
    {
        let (client, dispatcher) = (props.client.clone(), state.dispatcher());
        use_effect_with(state.sending(), move |sending| {
            if let (Some(client), Some((_, request))) = (client, sending.clone()) {
                spawn_local(async move {
                    dispatcher.dispatch(match client.pay(&request).await {
                        Ok(c) => Action::PayAccepted(c),
                        Err(f) => Action::PayFailed(f),
                    });
                });
            }
        });
    }

    // Follow the attempt under way; the clean-up closes the stream or stops polling.
    {
        let (client, dispatcher) = (props.client.clone(), state.dispatcher());
        use_effect_with(state.live_attempt(), move |live| {
            let mut stop = None;
            if let (Some(client), Some(_)) = (client, live) {
                let (task, handle) = abortable(async move {
                    client.watch(|c| dispatcher.dispatch(Action::Update(c))).await;
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
    let (main, status, follow): (Html, &str, Html) = match screen {
        Screen::Loading => (none(), Text::Loading.get(locale), none()),
        Screen::Unavailable(p) => {
            let again = (p == Problem::Unreachable)
                .then(|| retry(None, Text::TryAgain.get(locale), dispatch.reform(|()| Action::Reload)));
            (none(), i18n::problem(p, locale), again.unwrap_or_default())
        }
        Screen::Form => {
            let sending = state.pay != Pay::Idle;
            let form = pay_form(PayFormProps {
                uid: &props.uid,
                locale,
                methods: &state.methods(),
                method: state.method,
                phone: &state.phone,
                phone_error: state.phone_error.as_ref().map(|p| i18n::phone_problem(p, locale)),
                form_error: state.form_error.map(|p| i18n::problem(p, locale)),
                pay_label: i18n::pay_label(&amount, locale),
                sending,
                on_action: &dispatch,
            });
            (form, if sending { Text::Sending.get(locale) } else { "" }, none())
        }
        Screen::Waiting(a) => {
            (waiting(locale, a.payment_url.as_deref()), i18n::attempt_status(a.status, locale), none())
        }
        Screen::Paid(a) => (none(), Text::Paid.get(locale), paid(locale, a.map(|a| a.id.as_str()))),
        Screen::Refunded => (none(), Text::Refunded.get(locale), none()),
        Screen::Failed(a) => {
            let code = a.failure.unwrap_or(if a.status == AttemptStatus::Expired {
                ErrorCode::SessionExpired
            } else {
                ErrorCode::PaymentRefused
            });
            let action = a.action.unwrap_or(code.action());
            let again = retry(
                Some(action.message(locale)),
                Text::TryAgain.get(locale),
                dispatch.reform(|()| Action::Retry),
            );
            (none(), code.message(locale), again)
        }
        Screen::Closed(s) => (none(), i18n::closed(s, locale), none()),
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
            <p class="ckw-status" role="status" aria-live="polite">{ status }</p>
            { follow }
        </div>
    }
}

//! The payment form: method choice, phone number (with the network it belongs to), the
//! one-time code when the method needs one, and the pay button.

use shared::api::MethodOption;
use shared::locale::Locale;
use shared::method::PaymentMethod;
use shared::phone::Country;
use yew::{Callback, Html, SubmitEvent, html};

use super::field::{FieldProps, field};
use super::method_choice::{MethodChoiceProps, method_choice};
use crate::i18n::Text;
use crate::state::Action;

/// What [`pay_form`] shows.
#[derive(Debug)]
pub(crate) struct PayFormProps<'a> {
    /// Prefix of the form's ids, unique on the page.
    pub(crate) uid: &'a str,
    /// The customer's language.
    pub(crate) locale: Locale,
    /// The methods offered, each once, with the provider that names it.
    pub(crate) methods: &'a [MethodOption],
    /// The chosen one.
    pub(crate) method: Option<PaymentMethod>,
    /// The phone number as typed.
    pub(crate) phone: &'a str,
    /// The network recognised from the number, in words.
    pub(crate) network: Option<String>,
    /// Why the phone number is refused, or why it does not fit the method.
    pub(crate) phone_error: Option<String>,
    /// The one-time code field, when the method needs one: the code typed, how to get one,
    /// and why it is refused.
    pub(crate) otp: Option<(&'a str, String, Option<&'static str>)>,
    /// A problem with the whole form.
    pub(crate) form_error: Option<&'static str>,
    /// The pay button's text, with the amount.
    pub(crate) pay_label: String,
    /// Whether the pay request is in flight (the button is disabled).
    pub(crate) sending: bool,
    /// Every change and the submit go to the reducer.
    pub(crate) on_action: &'a Callback<Action>,
    /// The checkout's country: the phone field's dialling code and example.
    pub(crate) country: Country,
}

/// The form. Submitting it only asks the reducer, which validates before anything is sent.
pub(crate) fn pay_form(p: PayFormProps<'_>) -> Html {
    let on_action = p.on_action;
    let onsubmit = on_action.reform(|e: SubmitEvent| {
        e.prevent_default();
        Action::Submit
    });
    let needs_phone = p.method.is_none_or(PaymentMethod::needs_phone);
    html! {
        <form class="ckw-form" {onsubmit} novalidate=true>
            { method_choice(MethodChoiceProps {
                methods: p.methods,
                selected: p.method,
                locale: p.locale,
                on_choose: on_action.reform(Action::ChooseMethod),
            }) }
            if needs_phone {
                { field(FieldProps {
                    id: crate::cat(&[p.uid, "-phone"]),
                    name: "phone",
                    kind: "tel",
                    inputmode: "tel",
                    autocomplete: "tel",
                    label: Text::PhoneLabel.get(p.locale),
                    value: p.phone,
                    prefix: Some(crate::cat(&["+", p.country.plan().calling_code])),
                    placeholder: Some(p.country.plan().example_national()),
                    hint: None,
                    note: p.network,
                    error: p.phone_error,
                    on_input: on_action.reform(|(text, at_end)| {
                        if at_end { Action::PhoneInput(text) } else { Action::PhoneEdit(text) }
                    }),
                    on_blur: on_action.reform(|()| Action::PhoneBlur),
                }) }
            }
            if let Some((otp, hint, error)) = p.otp {
                { field(FieldProps {
                    id: crate::cat(&[p.uid, "-otp"]),
                    name: "otp",
                    kind: "text",
                    inputmode: "numeric",
                    autocomplete: "one-time-code",
                    label: Text::OtpLabel.get(p.locale),
                    value: otp,
                    prefix: None,
                    placeholder: None,
                    hint: Some(hint),
                    note: None,
                    error: error.map(str::to_owned),
                    on_input: on_action.reform(|(text, _)| Action::OtpInput(text)),
                    on_blur: Callback::noop(),
                }) }
            }
            if let Some(error) = p.form_error {
                <p class="ckw-error" role="alert">{ error }</p>
            }
            <button
                type="submit"
                class="ckw-pay"
                disabled={p.sending}
                aria-busy={if p.sending { "true" } else { "false" }}
            >
                { p.pay_label }
            </button>
        </form>
    }
}

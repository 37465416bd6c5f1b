//! The phone number field, its label and its error.

use web_sys::HtmlInputElement;
use yew::{Callback, Html, InputEvent, TargetCast, html};

/// What [`phone_field`] shows.
#[derive(Debug)]
pub(crate) struct PhoneFieldProps<'a> {
    /// The input's id, unique on the page.
    pub(crate) id: String,
    /// The label.
    pub(crate) label: &'static str,
    /// What the customer typed.
    pub(crate) value: &'a str,
    /// Why it is refused, in words.
    pub(crate) error: Option<String>,
    /// Called with the field's text on every keystroke.
    pub(crate) on_input: Callback<String>,
    /// Called when the field loses focus.
    pub(crate) on_blur: Callback<()>,
}

/// `<input type="tel" name="phone">` with its `<label>`; an error is an alert tied to the field.
pub(crate) fn phone_field(p: PhoneFieldProps<'_>) -> Html {
    let error_id = format!("{}-error", p.id);
    let (on_input, on_blur) = (p.on_input, p.on_blur);
    html! {
        <div class="ckw-field">
            <label class="ckw-label" for={p.id.clone()}>{ p.label }</label>
            <input
                id={p.id}
                class="ckw-input"
                type="tel"
                name="phone"
                inputmode="tel"
                autocomplete="tel"
                value={p.value.to_owned()}
                aria-invalid={if p.error.is_some() { "true" } else { "false" }}
                aria-describedby={p.error.as_ref().map(|_| error_id.clone())}
                oninput={move |e: InputEvent| {
                    on_input.emit(e.target_unchecked_into::<HtmlInputElement>().value());
                }}
                onblur={move |_| on_blur.emit(())}
            />
            if let Some(error) = p.error {
                <p id={error_id} class="ckw-error" role="alert">{ error }</p>
            }
        </div>
    }
}

//! A labelled text field with its hint and its error: the phone number (with its country's
//! dialling code as a fixed prefix and an example as placeholder) and the one-time code.

use web_sys::HtmlInputElement;
use yew::{Callback, Html, InputEvent, TargetCast, html};

/// What [`field`] shows.
#[derive(Debug)]
pub(crate) struct FieldProps<'a> {
    /// The input's id, unique on the page.
    pub(crate) id: String,
    /// The input's `name` (a test hook: `phone`, `otp`).
    pub(crate) name: &'static str,
    /// `tel` or `text`.
    pub(crate) kind: &'static str,
    /// `tel` or `numeric`.
    pub(crate) inputmode: &'static str,
    /// `tel` or `one-time-code`.
    pub(crate) autocomplete: &'static str,
    /// The label.
    pub(crate) label: &'static str,
    /// What the customer typed.
    pub(crate) value: &'a str,
    /// A fixed text before the field, not part of the value (the country's `+225`), if any.
    pub(crate) prefix: Option<String>,
    /// An example of what to type, shown while the field is empty, if any.
    pub(crate) placeholder: Option<String>,
    /// Help under the field (how to get the code), if any.
    pub(crate) hint: Option<String>,
    /// Something recognised from the value (the network), if any: `.ckw-network`.
    pub(crate) note: Option<String>,
    /// Why it is refused, in words.
    pub(crate) error: Option<String>,
    /// Called with the field's text, and whether the caret was at its end.
    pub(crate) on_input: Callback<(String, bool)>,
    /// Called when the field loses focus.
    pub(crate) on_blur: Callback<()>,
}

/// `<input>` with its `<label>`; the prefix, the hint and the error are tied to it by
/// `aria-describedby`, the error is an alert.
pub(crate) fn field(p: FieldProps<'_>) -> Html {
    let id = |part: &str| crate::cat(&[p.id.as_str(), part]);
    let (hint_id, error_id, prefix_id) = (id("-hint"), id("-error"), id("-prefix"));
    // Pushed one by one: `join` would cost the download more than these lines.
    let mut described = String::new();
    for (shown, id) in
        [(p.prefix.is_some(), &prefix_id), (p.hint.is_some(), &hint_id), (p.error.is_some(), &error_id)]
    {
        if shown {
            if !described.is_empty() {
                described.push(' ');
            }
            described.push_str(id);
        }
    }
    let described = (!described.is_empty()).then_some(described);
    let (on_input, on_blur) = (p.on_input, p.on_blur);
    html! {
        <div class="ckw-field">
            <label class="ckw-label" for={p.id.clone()}>{ p.label }</label>
            if let Some(hint) = p.hint {
                <p id={hint_id} class="ckw-hint">{ hint }</p>
            }
            <div class="ckw-box">
                if let Some(prefix) = p.prefix {
                    <span id={prefix_id} class="ckw-prefix">{ prefix }</span>
                }
                <input
                    id={p.id}
                    class="ckw-input"
                    type={p.kind}
                    name={p.name}
                    inputmode={p.inputmode}
                    autocomplete={p.autocomplete}
                    value={p.value.to_owned()}
                    placeholder={p.placeholder}
                    aria-invalid={if p.error.is_some() { "true" } else { "false" }}
                    aria-describedby={described}
                    oninput={move |e: InputEvent| {
                        let input = e.target_unchecked_into::<HtmlInputElement>();
                        let value = input.value();
                        let at_end = input.selection_start().ok().flatten().is_none_or(|c| c as usize >= value.encode_utf16().count());
                        on_input.emit((value, at_end));
                    }}
                    onblur={move |_| on_blur.emit(())}
                />
            </div>
            if let Some(note) = p.note {
                <p class="ckw-network">{ note }</p>
            }
            if let Some(error) = p.error {
                <p id={error_id} class="ckw-error" role="alert">{ error }</p>
            }
        </div>
    }
}

//! The choice of payment method: one radio button per method offered (`name="method"`; radio
//! groups are scoped by their form, so two widgets on a page do not interfere).

use shared::locale::Locale;
use shared::method::PaymentMethod;
use yew::{Callback, Html, html};

use crate::i18n::Text;

/// What [`method_choice`] shows.
#[derive(Debug)]
pub(crate) struct MethodChoiceProps<'a> {
    /// The methods offered, each once.
    pub(crate) methods: &'a [PaymentMethod],
    /// The chosen one (checked).
    pub(crate) selected: Option<PaymentMethod>,
    /// The customer's language.
    pub(crate) locale: Locale,
    /// Called with the method picked.
    pub(crate) on_choose: Callback<PaymentMethod>,
}

/// Radio buttons in a fieldset with a legend.
pub(crate) fn method_choice(p: MethodChoiceProps<'_>) -> Html {
    html! {
        <fieldset class="ckw-methods">
            <legend class="ckw-label">{ Text::MethodLegend.get(p.locale) }</legend>
            { for p.methods.iter().map(|&m| {
                let on_choose = p.on_choose.clone();
                html! {
                    <label class="ckw-method" key={m.as_str()}>
                        <input
                            type="radio"
                            name="method"
                            value={m.as_str()}
                            checked={p.selected == Some(m)}
                            onchange={move |_| on_choose.emit(m)}
                        />
                        { m.label(p.locale) }
                    </label>
                }
            }) }
        </fieldset>
    }
}

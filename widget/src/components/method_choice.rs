//! The choice of payment method: one radio button per method offered (`name="method"`; radio
//! groups are scoped by their form, so two widgets on a page do not interfere), each with its
//! mark (`marks`) and named by its provider where that matters (a pay-later provider's card
//! method is pay-later).

use shared::api::MethodOption;
use shared::locale::Locale;
use shared::method::PaymentMethod;
use yew::{Callback, Html, html};

use super::marks::method_mark;
use crate::i18n::Text;

/// What [`method_choice`] shows.
#[derive(Debug)]
pub(crate) struct MethodChoiceProps<'a> {
    /// The methods offered, each once, with the provider that names it.
    pub(crate) methods: &'a [MethodOption],
    /// The chosen one (checked).
    pub(crate) selected: Option<PaymentMethod>,
    /// The customer's language.
    pub(crate) locale: Locale,
    /// Called with the method picked.
    pub(crate) on_choose: Callback<PaymentMethod>,
}

/// Radio buttons in a fieldset with a legend. The mark carries the method's name for assistive
/// technologies; the visible name beside it is not read twice.
pub(crate) fn method_choice(p: MethodChoiceProps<'_>) -> Html {
    html! {
        <fieldset class="ckw-methods">
            <legend class="ckw-label">{ Text::MethodLegend.get(p.locale) }</legend>
            { for p.methods.iter().map(|o| {
                let (m, on_choose) = (o.method, p.on_choose.clone());
                let label = m.label_by(o.provider, p.locale);
                html! {
                    <label class="ckw-method" key={m.as_str()}>
                        <input
                            type="radio"
                            name="method"
                            value={m.as_str()}
                            checked={p.selected == Some(m)}
                            onchange={move |_| on_choose.emit(m)}
                        />
                        { method_mark(m, o.provider.pays_later(), label) }
                        <span aria-hidden="true">{ label }</span>
                    </label>
                }
            }) }
        </fieldset>
    }
}

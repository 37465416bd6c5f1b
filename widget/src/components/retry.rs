//! What to do after a failure: a hint (the catalogue's suggested action) and a button.

use yew::{Callback, Html, html};

/// The hint, if any, and the "Try again" button labelled `label`.
pub(crate) fn retry(hint: Option<&'static str>, label: &'static str, on_retry: Callback<()>) -> Html {
    html! {
        <div class="ckw-retry-box">
            if let Some(hint) = hint {
                <p class="ckw-hint">{ hint }</p>
            }
            <button type="button" class="ckw-retry" onclick={move |_| on_retry.emit(())}>
                { label }
            </button>
        </div>
    }
}

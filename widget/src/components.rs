//! The widget's components, one per file. `App` is the one Yew function component: it owns the
//! state and the hooks. The others are view functions (`fn(Props) -> Html`) rendering a part
//! of the state and reporting the customer's actions through callbacks: each
//! `#[function_component]` would add about 3 KB of Yew's per-component machinery to the wasm
//! the customer downloads, for memoisation this widget does not need.

pub(crate) mod app;
pub(crate) mod field;
pub(crate) mod marks;
pub(crate) mod method_choice;
pub(crate) mod outcome;
pub(crate) mod pay_form;
pub(crate) mod retry;
pub(crate) mod summary;
pub(crate) mod waiting;

//! The checkout widget: a Yew application compiled to wasm32 and mounted by
//! `widget/loader/checkout.js` (one script tag) into an element of the merchant's page.
//!
//! It never replaces the page and never renders into `<body>`: [`mount`] appends a child
//! `<div class="ckw-mount">` to the merchant's element and renders there, and adds one
//! `<style id="ckw-style">` whose rules all start with `.ckw`.
//!
//! Code map: `state` (the pure reducer, tested natively), `api` (HTTP and server-sent events),
//! `wire` (reading the JSON bodies), `i18n` (every UI string in fr and en), `components` (one
//! per file).

mod api;
mod components;
mod i18n;
mod state;
mod wire;

use std::sync::atomic::{AtomicU32, Ordering};

use shared::locale::Locale;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::api::Client;
use crate::components::app::{App, AppProps};

/// The widget's rules, every selector scoped under `.ckw`.
const STYLE: &str = include_str!("style.css");
/// The id of the one `<style>` element, however many widgets the page mounts.
const STYLE_ID: &str = "ckw-style";

/// Numbers each mounted widget, so that element ids stay unique on the page.
static NEXT_UID: AtomicU32 = AtomicU32::new(0);

/// Mounts a widget inside `host` for the checkout of `client_secret`, talking to the API at
/// `api_base`, in the language of the BCP 47 tag `locale` (French unless it is English).
///
/// A malformed client secret still mounts, showing that the link is invalid. Errors are
/// returned to the caller (the loader logs them), never panicked.
#[wasm_bindgen]
pub fn mount(
    host: web_sys::Element,
    client_secret: &str,
    api_base: &str,
    locale: &str,
) -> Result<(), JsValue> {
    let document = host
        .owner_document()
        .ok_or_else(|| JsValue::from_str("checkout: the target element has no document"))?;
    if document.get_element_by_id(STYLE_ID).is_none() {
        let style = document.create_element("style")?;
        style.set_id(STYLE_ID);
        style.set_text_content(Some(STYLE));
        match document.head() {
            Some(head) => head.append_child(&style)?,
            None => host.append_child(&style)?,
        };
    }
    let root = document.create_element("div")?;
    root.set_class_name("ckw-mount");
    host.append_child(&root)?;
    let props = AppProps {
        client: Client::new(api_base, client_secret),
        locale: Locale::from_tag(locale),
        uid: format!("ckw{}", NEXT_UID.fetch_add(1, Ordering::Relaxed)),
    };
    yew::Renderer::<App>::with_root_and_props(root, props).render();
    Ok(())
}

//! The checkout widget: a Yew application compiled to wasm32 and mounted by
//! `widget/loader/checkout.js` (one script tag, or `window.CheckoutWidget.mount`).
//!
//! The loader creates `<div class="ckw-mount">` in the merchant's element, attaches an open
//! shadow root to it and gives [`mount`] a `<div>` inside that shadow root: the widget renders
//! there, with its `<style>` next to it in the same shadow root, so the page's CSS and the
//! widget's never meet (only inherited properties cross; `.ckw` resets them, and the theme's
//! custom properties `--ckw-color`, `--ckw-radius`, `--ckw-font` cross on purpose).
//!
//! Code map: `state` (the pure reducer, tested natively), `api` (HTTP and server-sent events),
//! `wire` (reading the JSON bodies), `i18n` (every UI string in fr and en), `components` (one
//! per file).

mod api;
mod components;
mod i18n;
mod state;
mod wire;

use std::cell::RefCell;

use shared::locale::Locale;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::js_sys::Function;
use yew::{AppHandle, Callback};

use crate::api::Client;
use crate::components::app::{App, AppProps};
use crate::state::Memo;

/// The widget's rules, every selector scoped under `.ckw` (and inside the shadow root).
const STYLE: &str = include_str!("style.css");

thread_local! {
    /// The mounted widgets, by the number [`mount`] returned.
    static MOUNTED: RefCell<Vec<(u32, AppHandle<App>)>> = const { RefCell::new(Vec::new()) };
    /// The next number: also makes element ids unique.
    static NEXT: RefCell<u32> = const { RefCell::new(0) };
}

/// Mounts a widget into `root` (an element inside a shadow root) for the checkout of
/// `client_secret`, talking to the API at `api_base`, in the language of the BCP 47 tag
/// `locale` (French unless it is English). `memo` is what sessionStorage kept for this
/// checkout; `notify(name, data)` is called with `checkout:*` event names and their detail as
/// JSON, and with `"memo"` and the text to keep. Returns the number to give [`unmount`].
///
/// A malformed client secret still mounts, showing that the link is invalid. Errors are
/// returned to the caller (the loader logs them), never panicked.
#[wasm_bindgen]
pub fn mount(
    root: web_sys::Element,
    client_secret: &str,
    api_base: &str,
    locale: &str,
    memo: &str,
    notify: Function,
) -> Result<u32, JsValue> {
    let document = root
        .owner_document()
        .ok_or_else(|| JsValue::from_str("checkout: the target element has no document"))?;
    let parent = root.parent_node().ok_or_else(|| JsValue::from_str("checkout: the root has no parent"))?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLE));
    parent.insert_before(&style, Some(&root))?;
    let id = NEXT.with(|n| {
        let mut n = n.borrow_mut();
        *n = n.wrapping_add(1);
        *n
    });
    let props = AppProps {
        root: root.clone(),
        client: Client::new(api_base, client_secret),
        locale: Locale::from_tag(locale),
        uid: format!("ckw{id}"),
        memo: Memo::decode(memo),
        notify: Callback::from(move |(name, data): (&'static str, String)| {
            let _ = notify.call2(&JsValue::NULL, &JsValue::from_str(name), &JsValue::from_str(&data));
        }),
    };
    let handle = yew::Renderer::<App>::with_root_and_props(root, props).render();
    MOUNTED.with(|m| m.borrow_mut().push((id, handle)));
    Ok(id)
}

/// Stops the widget `id` returned by [`mount`]: its requests, live stream and clock end, and
/// its elements are removed. An unknown id does nothing.
#[wasm_bindgen]
pub fn unmount(id: u32) {
    let handle = MOUNTED.with(|m| {
        let mut m = m.borrow_mut();
        let i = m.iter().position(|(n, _)| *n == id)?;
        Some(m.swap_remove(i).1)
    });
    if let Some(handle) = handle {
        handle.destroy();
    }
}

/// Joins `parts` into one string: `concat`'s work without its generic copy loops, which cost
/// the customer's download about 1 KB.
pub(crate) fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Writes `s` into `out` as HTML text or a double-quoted attribute value, `&`, `<`, `>` and
/// `"` escaped: for the parts of the widget given to the browser's parser as one string
/// (`Html::from_html_unchecked`, cheaper in the download than building each element in code),
/// whose values come from the network (merchant name, references, URLs).
pub(crate) fn escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// The allocator: a free list, far smaller in the download than std's dlmalloc, and enough for
/// a widget that allocates little. (The lock is an uncontended flag: the wasm has one thread.)
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

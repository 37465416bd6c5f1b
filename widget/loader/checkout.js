/*! checkout.js: mounts the checkout widget from one script tag.
 *
 * <div id="pay"></div>
 * <script src="https://verifier.example/widget/checkout.js" data-client-secret="co_…_secret_…"
 *         data-target="#pay" data-locale="fr" async></script>
 *
 * data-locale is optional (default: the browser's language); data-api overrides the API base
 * (default: the origin this script is served from). widget.js and widget_bg.wasm are loaded
 * from next to this file. Pages that create the element later call
 * window.CheckoutWidget.mount(element or selector, {clientSecret, locale, api}).
 * The widget renders into a new <div class="ckw-mount"> inside the element; nothing else on
 * the page is touched.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var src = script.src;
  var loading;

  function load() {
    if (!loading) {
      loading = import(new URL("widget.js", src).href).then(function (m) {
        return m.default({ module_or_path: new URL("widget_bg.wasm", src).href }).then(function () {
          return m;
        });
      });
      // A failed download may be retried by the next mount.
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  function mount(el, opts) {
    opts = opts || {};
    try {
      if (typeof el === "string") el = document.querySelector(el);
    } catch (e) {
      el = null;
    }
    if (!el || el === document.body || el === document.documentElement) {
      return Promise.reject(new Error("checkout: no target element to mount into"));
    }
    var api = String(opts.api || new URL(src).origin).replace(/\/+$/, "");
    var locale = opts.locale || navigator.language || "";
    return load().then(function (m) {
      m.mount(el, String(opts.clientSecret || ""), api, String(locale));
    });
  }

  window.CheckoutWidget = window.CheckoutWidget || { mount: mount };

  var data = script.dataset;
  if (!data.clientSecret) return;
  function start() {
    mount(data.target || "", { clientSecret: data.clientSecret, locale: data.locale, api: data.api })
      .catch(function (e) { console.error(e); });
  }
  // An async script may run before the target element is parsed.
  var found = false;
  try { found = !!(data.target && document.querySelector(data.target)); } catch (e) { /* bad selector: reported by mount */ }
  if (!found && document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

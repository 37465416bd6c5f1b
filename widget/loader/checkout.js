/*! checkout.js: mounts the checkout widget from one script tag.
 *
 * <div id="pay"></div>
 * <script src="https://verifier.example/widget/checkout.js" data-client-secret="co_…_secret_…"
 *         data-target="#pay" async></script>
 *
 * Optional: data-locale (default: the browser's language), data-api (default: the origin this
 * script is served from), data-mode ("inline", the default, or "iframe"), data-theme-color,
 * data-theme-radius, data-theme-font (the CSS custom properties --ckw-color, --ckw-radius,
 * --ckw-font). The widget's glue and wasm (content-hashed names, written in below by
 * `cargo xtask build-widget`) are loaded from next to this file, both downloads at once.
 *
 * Pages that build themselves later call
 *   CheckoutWidget.mount(elementOrSelector, {clientSecret, locale, api, mode, theme: {color, radius, font}})
 * which resolves to a handle {unmount()}; CheckoutWidget.unmount(elementOrSelector) does the
 * same. Mounting again on an element replaces its widget.
 *
 * Inline, the widget renders in an open shadow root of a new <div class="ckw-mount"> inside
 * the element; nothing else on the page is touched. The element receives CustomEvents
 * (bubbles, composed): checkout:ready, checkout:submitted, checkout:succeeded,
 * checkout:failed, checkout:expired, checkout:closed, with detail {checkoutId, status,
 * attemptId?, method?, reference?, failure?}.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var src = script.src;
  var loading;
  var NAMES = /^checkout:(ready|submitted|succeeded|failed|expired|closed)$/;
  var PROPS = { color: "--ckw-color", radius: "--ckw-radius", font: "--ckw-font" };

  // `cargo xtask build-widget` writes the content-hashed names of the glue and the wasm here.
  var GLUE = "widget.js";
  var WASM = "widget_bg.wasm";

  function load() {
    if (!loading) {
      // The wasm's download starts now, beside the glue's, not once the glue has arrived.
      var wasm = fetch(new URL(WASM, src).href);
      wasm.catch(function () { /* reported through the glue's init below */ });
      loading = import(new URL(GLUE, src).href).then(function (m) {
        return m.default({ module_or_path: wasm }).then(function () {
          return m;
        });
      });
      // A failed download may be retried by the next mount.
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  function element(el) {
    try {
      if (typeof el === "string") el = document.querySelector(el);
    } catch (e) {
      el = null;
    }
    return el && el !== document.body && el !== document.documentElement && el.nodeType === 1 ? el : null;
  }

  function fire(el, name, detail) {
    el.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail: detail }));
  }

  function checkoutId(secret) {
    var m = /^(co_[A-Za-z0-9]{24})_secret_/.exec(secret);
    return m ? m[1] : "";
  }

  // sessionStorage may be absent or refuse (privacy modes, sandboxed frames): then nothing is kept.
  function store(key, value) {
    try {
      if (value === undefined) return window.sessionStorage.getItem(key) || "";
      window.sessionStorage.setItem(key, value);
    } catch (e) { /* not kept */ }
    return "";
  }

  function unmount(el) {
    el = element(el);
    var w = el && el.__ckw;
    if (!w) return;
    el.__ckw = null;
    w.stop();
    if (w.box.parentNode) w.box.parentNode.removeChild(w.box);
    fire(el, "checkout:closed", { checkoutId: w.id, status: w.status });
  }

  function iframe(el, box, secret, api, locale, theme) {
    var q = "locale=" + encodeURIComponent(locale);
    for (var k in PROPS) if (theme[k]) q += "&theme-" + k + "=" + encodeURIComponent(theme[k]);
    var frame = document.createElement("iframe");
    frame.src = api + "/embed?" + q + "#" + secret;
    frame.title = /^en/i.test(locale) ? "Payment" : "Paiement";
    frame.style.cssText = "border:0;width:100%;height:30rem";
    frame.setAttribute("allow", "clipboard-write");
    box.appendChild(frame);
    var origin = new URL(api).origin;
    function onMessage(e) {
      var d = e.data;
      if (e.origin !== origin || e.source !== frame.contentWindow || !d || d.source !== "checkout-widget") return;
      if (d.type === "resize" && d.height > 0) frame.style.height = Math.ceil(d.height) + "px";
      else if (NAMES.test(d.type) && d.type !== "checkout:closed") {
        if (d.detail && d.detail.status) el.__ckw.status = d.detail.status;
        fire(el, d.type, d.detail || {});
      }
    }
    window.addEventListener("message", onMessage);
    return function () { window.removeEventListener("message", onMessage); };
  }

  function mount(target, opts) {
    opts = opts || {};
    var el = element(target);
    if (!el) return Promise.reject(new Error("checkout: no target element to mount into"));
    unmount(el);
    var secret = String(opts.clientSecret || "");
    var id = checkoutId(secret);
    var api = String(opts.api || new URL(src).origin).replace(/\/+$/, "");
    var locale = String(opts.locale || navigator.language || "");
    var theme = opts.theme || {};
    var box = document.createElement("div");
    box.className = "ckw-mount";
    for (var k in PROPS) if (theme[k]) box.style.setProperty(PROPS[k], String(theme[k]));
    var w = { box: box, id: id, status: "", stop: function () {} };
    var handle = { unmount: function () { if (el.__ckw === w) unmount(el); } };
    el.__ckw = w;
    el.appendChild(box);
    if (opts.mode === "iframe") {
      w.stop = iframe(el, box, secret, api, locale, theme);
      return Promise.resolve(handle);
    }
    var root = document.createElement("div");
    box.attachShadow({ mode: "open" }).appendChild(root);
    var key = "ckw:" + id;
    return load().then(function (m) {
      if (el.__ckw !== w) return handle; // unmounted or replaced while loading
      var n = m.mount(root, secret, api, locale, id ? store(key) : "", function (name, data) {
        if (name === "memo") {
          if (id) store(key, data);
        } else if (NAMES.test(name) && el.__ckw === w) {
          var detail = JSON.parse(data);
          w.status = detail.status;
          fire(el, name, detail);
        }
      });
      w.stop = function () { m.unmount(n); };
      return handle;
    });
  }

  window.CheckoutWidget = window.CheckoutWidget || { mount: mount, unmount: unmount };

  var data = script.dataset;
  if (!data.clientSecret) return;
  // Inline, the widget's code is needed whatever the page does next: fetch it while the page
  // is still being parsed.
  if (data.mode !== "iframe") load().catch(function () { /* retried and reported by mount */ });
  function start() {
    mount(data.target || "", {
      clientSecret: data.clientSecret,
      locale: data.locale,
      api: data.api,
      mode: data.mode,
      theme: { color: data.themeColor, radius: data.themeRadius, font: data.themeFont }
    }).catch(function (e) { console.error(e); });
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

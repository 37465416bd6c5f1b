/*! page.js: the verifier's own pages around the widget, on a strict CSP (no inline script).
 *
 * /pay/{checkout_id}#{client_secret}  the hosted checkout page (a payment link);
 * /embed?locale=…&theme_color=…#{client_secret}  the page the loader's iframe mode opens.
 *
 * Both mount the widget inline (window.CheckoutWidget from /widget/checkout.js) on this
 * origin. The embed page also forwards the widget's checkout:* events to the parent window as
 * {source: "checkout-widget", type, detail} and its height as {type: "resize", height}. No
 * message carries the client secret, so they are posted to any parent origin.
 */
(function () {
  "use strict";
  var body = document.body;
  var host = document.getElementById("checkout");
  var page = body.getAttribute("data-page");
  var query = new URLSearchParams(location.search);
  var secret = "";
  try {
    secret = decodeURIComponent(location.hash.slice(1));
  } catch (e) {
    secret = "";
  }
  // A payment link whose secret is for another checkout is as invalid as a missing one.
  var id = body.getAttribute("data-checkout");
  if (id && secret.indexOf(id + "_secret_") !== 0) secret = "";

  function pick(names) {
    for (var i = 0; i < names.length; i++) {
      var v = query.get(names[i]);
      if (v) return v;
    }
    return undefined;
  }
  var locale = pick(["locale", "lang"]) || navigator.language || "";
  if (/^en\b/i.test(locale)) document.documentElement.lang = "en";
  var theme = {
    color: pick(["theme_color", "theme-color", "themeColor", "color"]),
    radius: pick(["theme_radius", "theme-radius", "themeRadius", "radius"]),
    font: pick(["theme_font", "theme-font", "themeFont", "font"])
  };

  if (page === "embed" && window.parent !== window) {
    var post = function (message) {
      message.source = "checkout-widget";
      window.parent.postMessage(message, "*");
    };
    ["ready", "submitted", "succeeded", "failed", "expired", "closed"].forEach(function (name) {
      host.addEventListener("checkout:" + name, function (e) {
        if (e.target !== host) return;
        post({ type: "checkout:" + name, detail: e.detail || null });
      });
    });
    var last = -1;
    var resize = function () {
      var height = Math.ceil(body.getBoundingClientRect().height);
      if (height !== last) {
        last = height;
        post({ type: "resize", height: height });
      }
    };
    if (window.ResizeObserver) new ResizeObserver(resize).observe(body);
    else window.addEventListener("load", resize);
  }

  if (!window.CheckoutWidget) return;
  window.CheckoutWidget.mount(host, {
    clientSecret: secret,
    locale: locale,
    api: location.origin,
    mode: "inline",
    theme: theme
  }).catch(function (e) { console.error(e); });
})();

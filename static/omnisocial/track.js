/*!
 * OmniSocial storefront snippet: carries the social click into checkout.
 *
 * Include it on every store page:
 *   <script src="https://YOUR-OMNISOCIAL-HOST/static/omnisocial/track.js" defer></script>
 * Optional attributes on the script tag:
 *   data-days="30"          how long the click is kept (first-party cookie lifetime, days)
 *   data-platform="shopify" force "shopify", "woocommerce" or "custom" instead of detecting it
 *
 * On a landing URL with utm_* or osc_click it keeps them in a first-party cookie. Then it writes
 * them into the checkout: Shopify cart attributes (POST /cart/update.js, they arrive in the
 * order's note_attributes), WooCommerce hidden checkout fields (saved as _osc_* order meta), and
 * any <input name="osc_*"> a custom checkout has. window.OmniSocial.attribution() returns them.
 * No dependencies; the only request it makes is to the store's own cart endpoint.
 */
(function () {
  "use strict";
  var KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
  var COOKIE = "_osc";
  var VISITOR_COOKIE = "_osc_vid";
  var MAX_CLICKS = 5;
  var script = document.currentScript || document.querySelector("script[src*='omnisocial/track.js']");
  var days = parseInt((script && script.getAttribute("data-days")) || "30", 10) || 30;

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function writeCookie(name, value, maxDays) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(value) + "; Max-Age=" + maxDays * 86400 +
      "; Path=/; SameSite=Lax" + secure;
  }

  function load() {
    try { return JSON.parse(readCookie(COOKIE) || "{}") || {}; } catch (e) { return {}; }
  }

  function visitorId() {
    var id = readCookie(VISITOR_COOKIE);
    if (!id || !/^[a-f0-9]{32}$/.test(id)) {
      var bytes = new Uint8Array(16);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    writeCookie(VISITOR_COOKIE, id, 400);
    return id;
  }

  // A landing with campaign parameters replaces the kept UTMs (the latest social click wins, as
  // in last-click analytics); click ids accumulate so every click of the journey reaches the order.
  function capture(state) {
    var params = new URLSearchParams(location.search);
    var click = params.get("osc_click");
    var hasUtm = KEYS.some(function (key) { return params.get(key); });
    if (!click && !hasUtm) return state;
    var next = { clicks: (state.clicks || []).slice() };
    if (hasUtm) {
      KEYS.forEach(function (key) { if (params.get(key)) next[key] = params.get(key).slice(0, 200); });
    } else {
      KEYS.forEach(function (key) { if (state[key]) next[key] = state[key]; });
    }
    if (click && /^[A-Za-z0-9_-]{6,32}$/.test(click) && next.clicks.indexOf(click) < 0) {
      next.clicks.push(click);
      next.clicks = next.clicks.slice(-MAX_CLICKS);
    }
    next.landing = (location.pathname + location.search).slice(0, 500);
    next.at = new Date().toISOString();
    writeCookie(COOKIE, JSON.stringify(next), days);
    return next;
  }

  function attributes(state, visitor) {
    var out = {};
    KEYS.forEach(function (key) { if (state[key]) out[key] = state[key]; });
    if (state.clicks && state.clicks.length) {
      out.osc_click = state.clicks[state.clicks.length - 1];
      out.osc_clicks = state.clicks.join(",");
    }
    if (state.landing) out.osc_landing = state.landing;
    out.osc_visitor = visitor;
    return out;
  }

  function platform() {
    var forced = script && script.getAttribute("data-platform");
    if (forced) return forced;
    if (window.Shopify && window.Shopify.shop) return "shopify";
    if (document.querySelector("form.woocommerce-checkout, body.woocommerce, body.woocommerce-page")) return "woocommerce";
    return "custom";
  }

  // Shopify: cart attributes become the order's note_attributes. Written once per change, so a
  // browsing session does not post on every page.
  function writeShopify(attrs) {
    var signature = JSON.stringify(attrs);
    try { if (sessionStorage.getItem("_osc_written") === signature) return; } catch (e) { /* private mode */ }
    var root = (window.Shopify && window.Shopify.routes && window.Shopify.routes.root) || "/";
    fetch(root + "cart/update.js", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ attributes: attrs })
    }).then(function (response) {
      if (response.ok) { try { sessionStorage.setItem("_osc_written", signature); } catch (e) { /* ignore */ } }
    }).catch(function () { /* the next page view tries again */ });
  }

  // WooCommerce and custom checkouts: hidden fields in the checkout form (WooCommerce stores
  // them as _osc_* order meta, see docs/storefront.md), and any osc_* inputs already present.
  function fillForms(attrs) {
    var woo = document.querySelector("form.woocommerce-checkout, form[name=checkout]");
    Object.keys(attrs).forEach(function (key) {
      if (woo) {
        var name = "_osc_" + key.replace(/^osc_/, "");
        var input = woo.querySelector("input[name='" + name + "']");
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          woo.appendChild(input);
        }
        input.value = attrs[key];
      }
      Array.prototype.forEach.call(document.querySelectorAll("input[name='" + key + "']"), function (input) {
        input.value = attrs[key];
      });
    });
  }

  var state = capture(load());
  var attrs = attributes(state, visitorId());
  window.OmniSocial = { attribution: function () { return attributes(load(), readCookie(VISITOR_COOKIE)); } };
  var kind = platform();
  var hasSignal = attrs.osc_click || KEYS.some(function (key) { return attrs[key]; });
  if (kind === "shopify" && hasSignal) writeShopify(attrs);
  function fill() { if (hasSignal) fillForms(attrs); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill); else fill();
  // WooCommerce re-renders parts of the checkout; fill again when it does.
  if (window.jQuery) window.jQuery(document.body).on("updated_checkout", fill);
})();

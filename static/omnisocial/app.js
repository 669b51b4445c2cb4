// On a phone the navigation folds behind a Menu button (without scripts it stays open).
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  var bar = toggle.closest(".topbar");
  var open = bar.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});

// Copy buttons: <button data-copy="text">. Falls back to selecting the text when the
// clipboard is unavailable (plain http, older browsers).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }
});

// Filter selects marked data-autosubmit apply at once (the Apply button stays for keyboards and
// for the date fields).
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// Buttons marked data-confirm="question" ask before their form is sent.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
});

// A bar of a chart marked data-receipts opens the receipts of its day (and platform): the orders
// and refunds behind that bar, which add up to it. Charts are drawn once the document is parsed
// (plotly.js is deferred), so this binds after them.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-receipts]").forEach(function (box) {
    var chart = box.querySelector(".plotly-graph-div");
    if (!chart || !chart.on) return;
    var base = box.getAttribute("data-receipts");
    chart.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (!point) return;
      var day = String(point.x).slice(0, 10);
      var url = base + (base.indexOf("?") >= 0 ? "&" : "?") + "from=" + day + "&to=" + day;
      if (point.customdata) url += "&platform=" + encodeURIComponent(point.customdata);
      window.location.assign(url);
    });
  });
});

// Post pickers (Coupons, KPIs): the select lists the recent posts; the search box beside it,
// <input data-post-search="<url>" data-for="<select id>">, asks the post search for older ones
// and adds the matches as options in a "Found" group at the top of the select. Without scripts
// the box stays hidden and the form works with the recent posts.
(function () {
  var DELAY_MS = 250;

  function foundGroup(select) {
    var group = select.querySelector("optgroup[data-found]");
    if (!group) {
      group = document.createElement("optgroup");
      group.label = "Found";
      group.setAttribute("data-found", "");
      select.insertBefore(group, select.firstChild);
    }
    return group;
  }

  function show(select, status, query, results) {
    var group = foundGroup(select);
    // Earlier matches go unless chosen: a choice is never dropped by a new search.
    Array.prototype.slice.call(group.children).forEach(function (option) {
      if (!option.selected) option.remove();
    });
    var listed = {};
    Array.prototype.forEach.call(select.options, function (option) { listed[option.value] = true; });
    var added = 0;
    results.forEach(function (post) {
      var value = String(post.id);
      if (listed[value]) return;
      group.appendChild(new Option(post.label, value));
      listed[value] = true;
      added += 1;
    });
    if (!group.children.length) group.remove();
    status.textContent = results.length
      ? results.length + (results.length === 1 ? " post matches" : " posts match") + " “" + query + "”" +
        (added ? ": added at the top of the list." : ", already listed.")
      : "No post matches “" + query + "”.";
  }

  function bind(input) {
    var select = document.getElementById(input.getAttribute("data-for"));
    if (!select) return;
    var status = input.nextElementSibling;
    var timer = null;
    var asked = "";
    var search = function () {
      var query = input.value.trim();
      if (query === asked) return;
      asked = query;
      if (query.length < 2) {
        status.textContent = "";
        return;
      }
      var url = input.getAttribute("data-post-search") + "?q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.detail || "The search failed.");
            return body;
          });
        })
        .then(function (body) {
          if (input.value.trim() === query) show(select, status, query, body.results);
        })
        .catch(function (error) {
          status.textContent = error.message;
        });
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
    // Enter searches at once rather than sending the form half filled.
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      clearTimeout(timer);
      search();
    });
    input.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-post-search]").forEach(bind);
  });
})();

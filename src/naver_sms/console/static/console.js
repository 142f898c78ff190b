// The live preview: as the owner types, the server renders the text for a sample booking (in the sandbox)
// and answers its EUC-KR bytes and SMS/LMS type. What comes back is shown as text, never as markup.
"use strict";
(function () {
  function csrfToken(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }
  function wire(area) {
    var form = area.form;
    var timer = null;
    function show(answer) {
      form.querySelector(".bytes").textContent = String(answer.bytes);
      form.querySelector(".type").textContent = answer.type;
      form.querySelector(".limit").textContent = String(answer.limit);
      form.querySelector("pre.preview").textContent = answer.text;
      var error = form.querySelector(".preview-error");
      error.textContent = answer.error || "";
      error.hidden = !answer.error;
    }
    function ask() {
      fetch(area.dataset.preview, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(form) },
        body: JSON.stringify({ template: area.dataset.template, store: area.dataset.store, text: area.value }),
      })
        .then(function (r) { return r.json(); })
        .then(show)
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(ask, 200);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview]").forEach(wire);
  });
})();

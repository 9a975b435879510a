// Keyboard focus after htmx swaps the customer record: the first field with an error, else
// the error summary, else the first field of an edit form, else the message, else the current
// tab, so keyboard users never have to start again from the top of the page.
document.addEventListener("htmx:afterSettle", function (event) {
  var record = document.getElementById("record");
  if (!record || !(event.target === record || record.contains(event.target))) return;
  var target =
    record.querySelector(".has-error input, .has-error select, .has-error textarea") ||
    record.querySelector("#form-errors") ||
    record.querySelector(".register form input:not([type=hidden]), .register form select") ||
    record.querySelector(".messages") ||
    record.querySelector(".subtabs [aria-current=page]") ||
    record.querySelector(".tabs [aria-current=page]");
  if (!target) return;
  if (!target.matches("input, select, textarea, a, button")) target.setAttribute("tabindex", "-1");
  target.focus();
});

// A boosted click inside the record whose answer is another kind of page (the log-in page
// after the session ended, a "not allowed" page) is shown as that page, not swapped away.
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  var body = event.detail.xhr.responseText || "";
  if (target && target.id === "record" && body.indexOf('id="record"') === -1) {
    event.detail.shouldSwap = false;
    window.location.href = event.detail.xhr.responseURL || window.location.href;
  }
});

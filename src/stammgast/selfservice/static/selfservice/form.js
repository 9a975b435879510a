// A form marked data-keep-disabled keeps its submit button disabled until every required
// field is valid by the browser's own checks; the server checks everything again.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-keep-disabled]")) {
    const button = form.querySelector("button[type=submit]");
    if (!button) continue;
    const update = () => { button.disabled = !form.checkValidity(); };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }
});

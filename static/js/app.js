// Small behaviours htmx does not cover. No inline scripts: the CSP forbids them.

// Ask before a destructive form is sent (forms marked data-confirm="Question?").
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

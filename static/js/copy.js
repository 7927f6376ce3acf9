// Copy buttons (data-copy="<id of a field>"): a real <button>, so Enter and Space work as a click.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!(field instanceof HTMLInputElement)) return;
  const status = document.getElementById(button.getAttribute("aria-describedby") || "");
  field.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    // Without the clipboard API (plain http), the text stays selected for Ctrl+C.
  }
  if (status) status.textContent = copied ? "Copied." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
});

// Autosave for lay panel forms: nothing typed may be lost.
//
// Every change is kept at once in this browser (localStorage), then sent to the server a moment
// after typing stops, when a box loses focus, and when the page is hidden or closed. If the server
// cannot be reached the text stays on the device and is sent again later; on the next visit, text
// that never reached the server is put back into the form and sent.

const TYPING_PAUSE_MS = 800;
const RETRY_MS = 5000;

function storageKey(url) {
  return `triangulate:lay-draft:${url}`;
}

function readLocal(url) {
  try {
    return JSON.parse(window.localStorage.getItem(storageKey(url)) || "null");
  } catch {
    return null;
  }
}

function writeLocal(url, fields, dirty) {
  try {
    window.localStorage.setItem(storageKey(url), JSON.stringify({ fields, dirty, at: Date.now() }));
  } catch {
    // Storage may be full or disabled (private browsing); the server copy still works.
  }
}

function fieldValues(form) {
  const values = {};
  for (const element of form.querySelectorAll("input[name], textarea[name]")) {
    values[element.name] = element.value;
  }
  return values;
}

function setupAutosave(form) {
  const url = form.dataset.autosave;
  const status = form.querySelector("[data-save-status]");
  let timer = null;
  let retry = null;
  let saving = false;
  let again = false;

  const say = (text) => {
    if (status) status.textContent = text;
  };

  const local = readLocal(url);
  if (local && local.dirty) {
    // Text typed here that never reached the server: put it back, then send it.
    for (const [name, value] of Object.entries(local.fields)) {
      const element = form.elements.namedItem(name);
      if (element && "value" in element) element.value = value;
    }
    say("Your unsaved text was brought back. Saving…");
    queueMicrotask(() => save());
  }

  async function save() {
    clearTimeout(timer);
    if (saving) {
      again = true;
      return;
    }
    saving = true;
    const fields = fieldValues(form);
    try {
      const response = await fetch(url, {
        method: "POST",
        body: new URLSearchParams(fields),
        credentials: "omit",
        headers: { Accept: "application/json" },
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok && body.saved) {
        const current = fieldValues(form);
        const unchanged = JSON.stringify(current) === JSON.stringify(fields);
        writeLocal(url, current, !unchanged);
        say(`Saved at ${body.saved_label}.`);
        clearTimeout(retry);
      } else if (response.status >= 500) {
        // The server or its database is down for a moment (a 503 says which): keep trying.
        say(`${body.error || "Not saved: the server is not answering just now."} Your text is kept on this device and will be sent again shortly.`);
        clearTimeout(retry);
        retry = setTimeout(save, RETRY_MS);
      } else {
        say(body.error || "Not saved. Your text is kept on this device.");
      }
    } catch {
      say("Not saved to the server yet: no connection. Your text is kept on this device and will be sent when the connection is back.");
      clearTimeout(retry);
      retry = setTimeout(save, RETRY_MS);
    } finally {
      saving = false;
      if (again) {
        again = false;
        save();
      }
    }
  }

  form.addEventListener("input", () => {
    writeLocal(url, fieldValues(form), true);
    say("Saving…");
    clearTimeout(timer);
    timer = setTimeout(save, TYPING_PAUSE_MS);
  });
  form.addEventListener("focusout", () => {
    const local = readLocal(url);
    if (local && local.dirty) save();
  });
  window.addEventListener("online", () => {
    const local = readLocal(url);
    if (local && local.dirty) save();
  });
  const sendNow = () => {
    const local = readLocal(url);
    if (local && local.dirty && navigator.sendBeacon) {
      navigator.sendBeacon(url, new URLSearchParams(fieldValues(form)));
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") sendNow();
  });
  window.addEventListener("pagehide", sendNow);
  form.addEventListener("submit", () => writeLocal(url, fieldValues(form), true));
}

for (const form of document.querySelectorAll("form[data-autosave]")) setupAutosave(form);

for (const marker of document.querySelectorAll("[data-clear-draft]")) {
  try {
    window.localStorage.removeItem(storageKey(marker.dataset.clearDraft));
  } catch {
    // Nothing to clear.
  }
}

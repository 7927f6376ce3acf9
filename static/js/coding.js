// The coding page: text selection to code-point offsets, applying codes by click or shortcut,
// and editing excerpts, with the server answering each change with only the stretch of text it
// touched. Offsets sent to the server are Unicode code points of the stored text; the browser's
// own offsets are UTF-16 units, converted here.

const text = document.getElementById("fieldnote-text");
const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
const announce = (message) => {
  const live = document.getElementById("coding-announce");
  if (live) live.textContent = message;
};
const codePoints = (string) => {
  let count = 0;
  for (const _ of string) count += 1;
  return count;
};

// --- offsets --------------------------------------------------------------------------------

function runOf(node) {
  const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  return element ? element.closest("#fieldnote-text > [data-s]") : null;
}

function textNodes(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  return nodes;
}

// The code-point offset in the stored text of a DOM boundary point (node, UTF-16 offset).
function cpOffset(node, offset) {
  if (node === text) {
    const run = text.children[offset];
    return run ? Number(run.dataset.s) : Number(text.dataset.length);
  }
  const run = runOf(node);
  if (!run) return null;
  let total = Number(run.dataset.s);
  if (node.nodeType !== Node.TEXT_NODE) {
    // A boundary between child nodes: count the text of the children before it.
    const before = Array.from(node.childNodes).slice(0, offset);
    for (const child of before) total += codePoints(child.textContent);
    for (const t of textNodes(run)) {
      if (node.contains(t)) break;
      total += codePoints(t.data);
    }
    return total;
  }
  for (const t of textNodes(run)) {
    if (t === node) return total + codePoints(t.data.slice(0, offset));
    total += codePoints(t.data);
  }
  return null;
}

// The DOM boundary point of a code-point offset, for selecting text the page asks for.
function domPoint(target) {
  const runs = Array.from(text.children);
  for (const run of runs) {
    let position = Number(run.dataset.s);
    for (const t of textNodes(run)) {
      const length = codePoints(t.data);
      if (target <= position + length) {
        let units = 0;
        let seen = 0;
        for (const character of t.data) {
          if (seen === target - position) break;
          units += character.length;
          seen += 1;
        }
        return [t, units];
      }
      position += length;
    }
  }
  const last = textNodes(text).pop();
  return last ? [last, last.data.length] : [text, 0];
}

function currentSelection() {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) return null;
  const start = cpOffset(range.startContainer, range.startOffset);
  const end = cpOffset(range.endContainer, range.endOffset);
  if (start === null || end === null || end <= start) return null;
  return { start, end, text: range.toString() };
}

function select(start, end) {
  const range = document.createRange();
  range.setStart(...domPoint(start));
  range.setEnd(...domPoint(end));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  range.startContainer.parentElement?.scrollIntoView({ block: "center" });
}

// --- talking to the server --------------------------------------------------------------------

async function post(url, fields) {
  const body = new URLSearchParams(fields);
  for (const part of (text.dataset.view || "").split("&")) {
    const [key, value] = part.split("=");
    if (key) body.append(key, value || "");
  }
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch {
    response = null;
  }
  if (!response) {
    // The selection, the ticked codes and any memo stay as they were, to try again.
    const message = "The server could not be reached; nothing was saved. Try again in a moment.";
    announce(message);
    window.alert(message);
    return null;
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = { error: `The server answered ${response.status}; nothing was changed.` };
  }
  if (!response.ok) {
    announce(answer.error || "The change was not saved.");
    window.alert(answer.error || "The change was not saved.");
    return null;
  }
  return answer;
}

// Puts the server's re-rendered stretch [from, to) in place of the runs that covered it.
function applyAnswer(answer) {
  const from = answer.from;
  const to = answer.to;
  const old = Array.from(text.children).filter((run) => {
    const s = Number(run.dataset.s);
    return s >= from && s < to;
  });
  const next = Array.from(text.children).find((run) => Number(run.dataset.s) >= to) || null;
  const template = document.createElement("template");
  template.innerHTML = answer.runs;
  text.insertBefore(template.content, next);
  for (const run of old) run.remove();
  const list = document.getElementById("excerpt-list");
  const existing = document.getElementById(`excerpt-${answer.excerpt}`);
  if (existing) existing.remove();
  if (answer.entry) {
    const holder = document.createElement("template");
    holder.innerHTML = answer.entry.trim();
    const entry = holder.content.firstElementChild;
    const after = Array.from(list.children).find((li) => Number(li.dataset.s) > Number(entry.dataset.s));
    list.insertBefore(entry, after || null);
  }
  document.getElementById("excerpt-count").textContent = `(${list.children.length})`;
}

// --- the picker -------------------------------------------------------------------------------

const picker = document.getElementById("picker");
const applyButton = document.getElementById("apply-codes");
const status = document.getElementById("selection-status");
let lastSelection = null;

function chosenCodes() {
  return Array.from(picker.querySelectorAll("input[name=codes]:checked")).map((input) => input.value);
}

function showSelection() {
  const selection = currentSelection();
  if (selection) lastSelection = selection;
  if (!picker) return;
  if (lastSelection) {
    const preview = lastSelection.text.length > 60 ? `${lastSelection.text.slice(0, 60)}…` : lastSelection.text;
    status.textContent = `Selected “${preview}” (${lastSelection.start}–${lastSelection.end}).`;
  }
  applyButton.disabled = !(lastSelection && chosenCodes().length);
}

async function applyCodes(codes) {
  if (!lastSelection || !codes.length) return;
  const fields = [["start", lastSelection.start], ["end", lastSelection.end]];
  for (const code of codes) fields.push(["codes", code]);
  const answer = await post(text.dataset.create, fields);
  if (!answer) return;
  applyAnswer(answer);
  for (const input of picker.querySelectorAll("input[name=codes]:checked")) input.checked = false;
  window.getSelection()?.removeAllRanges();
  announce(`Coded ${lastSelection.end - lastSelection.start} characters.`);
  lastSelection = null;
  status.textContent = "Coded. Select more text to go on.";
  applyButton.disabled = true;
}

if (picker) {
  document.addEventListener("selectionchange", () => window.requestAnimationFrame(showSelection));
  picker.addEventListener("change", showSelection);
  applyButton.addEventListener("click", () => applyCodes(chosenCodes()));
  const search = document.getElementById("code-search-box");
  search.addEventListener("input", () => {
    const query = search.value.trim().toLowerCase();
    for (const item of picker.querySelectorAll("#code-choices li")) {
      item.hidden = query !== "" && !item.dataset.name.includes(query);
    }
  });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const first = Array.from(picker.querySelectorAll("#code-choices li")).find((item) => !item.hidden);
    if (first) applyCodes([first.querySelector("input").value]);
  });
  // A code's shortcut applies it to the selection, unless the person is typing in a field.
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select")) return;
    if (!currentSelection()) return;
    const input = picker.querySelector(`input[name=codes][data-shortcut="${CSS.escape(event.key.toLowerCase())}"]`);
    if (!input) return;
    event.preventDefault();
    lastSelection = currentSelection();
    applyCodes([input.value]);
  });
}

const excerptUrl = (entry) => `/projects/${text.dataset.project}/excerpts/${entry.id.replace("excerpt-", "")}/`;

// Keyboard selection without a mouse: type words of the passage, Enter selects the next match.
const findForm = document.getElementById("find-form");
let findFrom = 0;
findForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  // Compared code point by code point, so that offsets stay those of the stored text.
  const needle = Array.from(document.getElementById("find-text").value.trim()).map((c) => c.toLowerCase());
  if (!needle.length) return;
  const haystack = Array.from(text.textContent);
  const matchAt = (index) =>
    needle.every((character, offset) => haystack[index + offset].toLowerCase() === character);
  let found = -1;
  for (let pass = 0; pass < 2 && found < 0; pass += 1) {
    for (let index = pass ? 0 : findFrom; index <= haystack.length - needle.length; index += 1) {
      if (matchAt(index)) {
        found = index;
        break;
      }
    }
  }
  if (found < 0) {
    status.textContent = "No passage matches those words.";
    return;
  }
  findFrom = found + 1;
  select(found, found + needle.length);
  lastSelection = currentSelection();
  showSelection();
});

// --- one excerpt ------------------------------------------------------------------------------

const panelHolder = document.getElementById("excerpt-panel");

function highlight(id) {
  for (const run of text.querySelectorAll(".hl")) run.classList.remove("hl");
  if (!id) return;
  for (const run of text.querySelectorAll(".x")) {
    if (run.dataset.x.split(" ").includes(String(id))) run.classList.add("hl");
  }
}

async function openExcerpt(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    announce("That excerpt could not be opened.");
    return;
  }
  panelHolder.innerHTML = await response.text();
  const panel = panelHolder.querySelector(".excerpt-panel");
  highlight(panel.dataset.excerpt);
  panel.querySelector("h2").setAttribute("tabindex", "-1");
  panel.querySelector("h2").focus();
}

function wordEdge(position, step) {
  // The stored text, as code points, from the runs.
  const characters = Array.from(text.textContent);
  let index = position;
  const isSpace = (c) => c === undefined || /\s/u.test(c);
  if (step < 0) {
    index -= 1;
    while (index > 0 && isSpace(characters[index - 1])) index -= 1;
    while (index > 0 && !isSpace(characters[index - 1])) index -= 1;
  } else {
    while (index < characters.length && isSpace(characters[index])) index += 1;
    while (index < characters.length && !isSpace(characters[index])) index += 1;
  }
  return Math.max(0, Math.min(characters.length, index));
}

async function change(panel, fields) {
  const answer = await post(panel.dataset.change, [["revision", panel.dataset.revision], ...fields]);
  if (!answer) return;
  applyAnswer(answer);
  const entry = document.getElementById(`excerpt-${answer.excerpt}`);
  if (entry) openExcerpt(excerptUrl(entry));
  announce("Saved.");
}

panelHolder?.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-action=save]");
  if (!form) return;
  event.preventDefault();
  const panel = form.closest(".excerpt-panel");
  const fields = [["set_codes", "1"], ["memo", form.memo.value], ["unsure", form.unsure.checked ? "1" : "0"]];
  for (const input of form.querySelectorAll("input[name=codes]:checked")) fields.push(["codes", input.value]);
  change(panel, fields);
});

panelHolder?.addEventListener("click", async (event) => {
  const panel = event.target.closest(".excerpt-panel");
  if (!panel) return;
  const nudge = event.target.closest("[data-nudge]");
  if (nudge) {
    let start = Number(panel.dataset.start);
    let end = Number(panel.dataset.end);
    if (nudge.dataset.nudge === "start") start = wordEdge(start, Number(nudge.dataset.step));
    else end = wordEdge(end, Number(nudge.dataset.step));
    if (end > start) change(panel, [["start", start], ["end", end]]);
    return;
  }
  if (event.target.closest("[data-action=use-selection]")) {
    const selection = currentSelection() || lastSelection;
    if (selection) change(panel, [["start", selection.start], ["end", selection.end]]);
    else announce("Select the new extent in the text first.");
    return;
  }
  if (event.target.closest("[data-action=delete]")) {
    const answer = await post(panel.dataset.delete, [["revision", panel.dataset.revision]]);
    if (!answer) return;
    applyAnswer(answer);
    highlight(null);
    const undoUrl = `/projects/${text.dataset.project}/excerpt-events/${answer.undo}/undo/`;
    panelHolder.innerHTML = `<p class="notice" role="status">Excerpt deleted. <button type="button" class="link" data-undo="${undoUrl}">Undo</button></p>`;
    panelHolder.querySelector("[data-undo]").focus();
    return;
  }
});

panelHolder?.addEventListener("click", async (event) => {
  const undoButton = event.target.closest("[data-undo]");
  if (!undoButton) return;
  const answer = await post(undoButton.dataset.undo, []);
  if (!answer) return;
  applyAnswer(answer);
  const entry = document.getElementById(`excerpt-${answer.excerpt}`);
  if (entry) openExcerpt(excerptUrl(entry));
  else panelHolder.innerHTML = "";
  announce("Undone.");
});

document.getElementById("excerpt-list")?.addEventListener("click", (event) => {
  const button = event.target.closest("#excerpt-list button");
  if (button) openExcerpt(excerptUrl(button.closest("li")));
});

text?.addEventListener("click", () => {
  if (currentSelection()) return;
  const run = runOf(window.getSelection()?.anchorNode || text);
  if (!run || !run.dataset.x) return;
  const id = run.dataset.x.split(" ").pop();
  const entry = document.getElementById(`excerpt-${id}`);
  if (entry) openExcerpt(excerptUrl(entry));
});

// Links from search results (?select=start-end) and retrieval (#excerpt-id).
const wanted = new URLSearchParams(window.location.search).get("select");
if (text && wanted && /^\d+-\d+$/.test(wanted)) {
  const [start, end] = wanted.split("-").map(Number);
  if (end > start) select(start, end);
  showSelection();
}
const hash = window.location.hash.match(/^#excerpt-(\d+)$/);
if (hash) {
  const entry = document.getElementById(`excerpt-${hash[1]}`);
  if (entry) {
    const first = Array.from(text.querySelectorAll(".x")).find((run) => run.dataset.x.split(" ").includes(hash[1]));
    first?.scrollIntoView({ block: "center" });
    openExcerpt(excerptUrl(entry));
  }
}

// Labels in the margin, level with the first line of each excerpt; when several start close
// together they stack downwards, and a label pushed too far from its passage is left out (the
// list on the right has every excerpt). Mouse only: the list is the accessible way to the same
// excerpts, so the labels are hidden from assistive technology.
const margin = document.getElementById("margin-labels");
function layoutMargin() {
  if (!margin) return;
  margin.replaceChildren();
  if (window.matchMedia("(max-width: 75rem)").matches) return;
  const origin = text.getBoundingClientRect().top;
  const places = [];
  for (const entry of document.querySelectorAll("#excerpt-list > li")) {
    const id = entry.id.replace("excerpt-", "");
    const run = text.querySelector(`[data-x~="${id}"]`);
    if (run) places.push([entry, run.getBoundingClientRect().top - origin]);
  }
  let bottom = 0;
  const labels = document.createDocumentFragment();
  for (const [entry, wanted] of places) {
    const top = Math.max(wanted, bottom);
    if (top - wanted > 120) continue;
    bottom = top + 22;
    const label = document.createElement("button");
    label.type = "button";
    label.tabIndex = -1;
    label.className = "mlabel";
    label.innerHTML = entry.querySelector("button").innerHTML;
    label.dataset.entry = entry.id;
    label.style.top = `${top}px`;
    labels.append(label);
  }
  margin.append(labels);
}
let marginTimer = null;
const relayout = () => {
  clearTimeout(marginTimer);
  marginTimer = setTimeout(layoutMargin, 150);
};
if (text) {
  window.addEventListener("resize", relayout);
  new MutationObserver(relayout).observe(document.getElementById("excerpt-list"), { childList: true });
  relayout();
}
margin?.addEventListener("click", (event) => {
  const label = event.target.closest(".mlabel");
  if (label) openExcerpt(excerptUrl(document.getElementById(label.dataset.entry)));
});

// Tests and people using the console can read the offsets the page would send.
window.triangulateSelection = currentSelection;
window.triangulateSelect = select;

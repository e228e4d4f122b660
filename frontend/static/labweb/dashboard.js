// The front page: every rig, live. Two views of the same entries: the fleet table (one row per rig, the rigs that
// need attention first; a rig's card opens under its row) and the cards (every rig's card). The view and the
// table's filters are kept in the URL; a lab of a dozen rigs or more starts with the table.

import { onAlerts } from "./alerts.js";
import { renderCard } from "./cards.js";
import { fleetTable } from "./fleet.js";
import { LiveLink } from "./live.js";
import { canDo, multiSpoolPanel } from "./multispool.js";
import { commandReplies } from "./commands.js";

const TABLE_FROM = 12; // rigs from which the page starts with the table
const grid = document.getElementById("rig-grid");
const empty = document.getElementById("rig-empty");
const summary = document.getElementById("rig-summary");
const template = document.getElementById("rig-card-template");
const fleetBox = document.getElementById("fleet");
const viewButtons = document.querySelectorAll("[data-view]");
const isOperator = grid.dataset.operator === "true";

const rigs = new Map(); // name -> {entry, card, preview, reply, open}
let view = new URLSearchParams(location.search).get("view") || "";
// The several-rigs panel gets the entries and a way to send; it never reads the cards. In the table view its rigs
// are ticked in the table's first column.
const panel = isOperator ? multiSpoolPanel(fleetBox, {
  send: (rig, action, params, done) => sendCommand(rig, action, params, done),
  onSelection: () => fleet.selectionChanged(),
}) : null;
const selection = panel ? { selected: panel.selected, choose: panel.choose, can: canDo } : null;
const fleet = fleetTable(fleetBox, { onDetails: showDetails, selection });

function item(name) {
  let found = rigs.get(name);
  if (!found) {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.rig = name;
    found = { entry: null, card, preview: null, reply: null, open: false };
    rigs.set(name, found);
    onScreen.observe(card);
    const names = [...rigs.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const next = names[names.indexOf(name) + 1];
    if (view === "cards") grid.insertBefore(card, next ? rigs.get(next).card : null);
  }
  return found;
}

// Two hundred rigs at 5 Hz send a thousand changes a second: a card is drawn only where it can be seen (every card
// in the card view, opened ones in the table view, and of those only the ones on screen), at most once per
// animation frame. A card that scrolls into view is drawn then.
const inView = new Set();
const onScreen = new IntersectionObserver((seen) => {
  for (const { target, isIntersecting } of seen) {
    const found = rigs.get(target.dataset.rig);
    if (!found) continue;
    if (isIntersecting) { inView.add(found); dirty.add(found); } else inView.delete(found);
  }
  scheduleDraw();
}, { rootMargin: "400px 0px" });
const dirty = new Set();
let drawScheduled = false;

function shown(found) {
  return (view === "cards" || found.open) && inView.has(found);
}

function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    for (const found of dirty) if (found.entry && shown(found)) draw(found);
    dirty.clear();
  });
}

function upsert(entry) {
  const found = item(entry.rig);
  found.entry = entry;
  fleet.update(entry);
  if (shown(found)) { dirty.add(found); scheduleDraw(); }
}

function draw(found) {
  renderCard(found, { isOperator, send: sendCommand });
}

function showDetails(name, open) {
  const found = rigs.get(name);
  found.open = open;
  if (view === "table") fleet.attach(name, open ? found.card : null);
  if (open) draw(found); // at once: the person who clicked is looking at it
}

function setView(next) {
  view = next;
  const query = new URLSearchParams(location.search);
  query.set("view", view);
  history.replaceState(null, "", `?${query}`);
  for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  fleetBox.hidden = view !== "table";
  grid.hidden = view !== "cards";
  if (panel) panel.inTable(view === "table");
  if (view === "cards") {
    for (const name of [...rigs.keys()].sort()) {
      const found = rigs.get(name);
      fleet.attach(name, null);
      grid.append(found.card);
      dirty.add(found);
    }
  } else {
    for (const [name, found] of rigs) {
      found.card.remove();
      if (found.open) fleet.attach(name, found.card);
    }
  }
  scheduleDraw();
}

for (const button of viewButtons) button.addEventListener("click", () => setView(button.dataset.view));

function refreshSummary() {
  const all = [...rigs.values()].filter((i) => i.entry);
  const online = all.filter((i) => i.entry.online).length;
  summary.textContent = `${online} of ${all.length} online`;
  empty.hidden = all.length > 0;
  if (panel) panel.update(all.map((i) => i.entry));
}

// Commands from the cards and the panel, and the rigs' answers, told on the rig's card.
const commands = commandReplies({ link: () => link, item: (rig) => rigs.get(rig), draw: (found) => shown(found) && draw(found) });
const sendCommand = commands.send;
const onCommandUpdate = commands.update;

const link = new LiveLink("/ws/dashboard/", {
  onState(state) {
    document.body.classList.toggle("stale", state !== "up");
  },
  onSnapshot(message) {
    const names = new Set(message.rigs.map((r) => r.rig));
    for (const [name, found] of rigs) {
      if (!names.has(name)) { found.card.remove(); fleet.remove(name); rigs.delete(name); }
    }
    if (!view) setView(message.rigs.length >= TABLE_FROM ? "table" : "cards");
    message.rigs.forEach(upsert);
    refreshSummary();
  },
  onFrame(message) {
    message.rigs.forEach(upsert);
    for (const preview of message.previews || []) {
      const found = rigs.get(preview.rig);
      if (found) { found.preview = preview; dirty.add(found); }
    }
    (message.commands || []).forEach(onCommandUpdate);
    scheduleDraw();
    refreshSummary();
  },
  onCommand(message, callback) {
    if (callback) callback(message);
  },
});

if (view) setView(view);
link.start();
window.labwebLink = link; // a handle for the browser console and the browser tests; no module reads it
// "Last seen" and offline ages move even when nothing arrives; so do the alerts on the cards.
function redrawShown() {
  for (const found of inView) dirty.add(found);
  scheduleDraw();
}
setInterval(redrawShown, 1000);
onAlerts(redrawShown);

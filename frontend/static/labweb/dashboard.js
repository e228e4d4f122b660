// The front page: one live card per rig, updated from the live link without reloading.

import { LiveLink } from "./live.js";
import { renderCard } from "./cards.js";
import { multiSpoolPanel } from "./multispool.js";
import { stateLook } from "./vocabulary.js";

const grid = document.getElementById("rig-grid");
const empty = document.getElementById("rig-empty");
const summary = document.getElementById("rig-summary");
const template = document.getElementById("rig-card-template");
const isOperator = grid.dataset.operator === "true";

const rigs = new Map(); // name -> {entry, card, history}
// The several-rigs panel gets the entries and a way to send; it never reads the cards.
const panel = isOperator ? multiSpoolPanel(grid, { send: (rig, action, params, done) => sendCommand(rig, action, params, done) }) : null;

function card(name) {
  let item = rigs.get(name);
  if (!item) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.rig = name;
    item = { entry: null, card: node, history: [], preview: null, reply: null };
    rigs.set(name, item);
    const names = [...rigs.keys()].sort();
    const next = names[names.indexOf(name) + 1];
    grid.insertBefore(node, next ? rigs.get(next).card : null);
  }
  return item;
}

function upsert(entry) {
  const item = card(entry.rig);
  item.entry = entry;
  const spool = entry.spool;
  if (spool && spool.fps !== undefined) {
    item.history.push({ t: Date.now() / 1000, fps: spool.fps || 0, mbps: spool.mb_s_in || 0 });
    const cutoff = Date.now() / 1000 - 300;
    while (item.history.length && item.history[0].t < cutoff) item.history.shift();
  }
  draw(item);
}

function draw(item) {
  renderCard(item, { isOperator, send: sendCommand });
}

function refreshSummary() {
  const all = [...rigs.values()].filter((i) => i.entry);
  const online = all.filter((i) => i.entry.online).length;
  summary.textContent = `${online} of ${all.length} online`;
  empty.hidden = all.length > 0;
  if (panel) panel.update(all.map((i) => i.entry));
}

function sendCommand(rig, action, params, done) {
  const item = rigs.get(rig);
  item.reply = { text: `${action}: sending…`, error: false };
  draw(item);
  link.command(rig, action, params, (message) => {
    const command = message.command;
    if (done) done(message.error);
    if (message.error) item.reply = { text: `${action}: ${message.error}`, error: true };
    else item.reply = { text: `${action}: sent`, error: false, id: command && command.id };
    draw(item);
  });
}

// What a command's answer means, in words: "done" is said only of what is done (a copy is queued, not done).
function answered(command) {
  const result = command.result || {};
  if (command.state !== "succeeded") {
    const look = stateLook("command_states", command.state);
    return `${command.action}: ${look.label.toLowerCase()}${command.error ? ` (${command.error})` : ""}`;
  }
  switch (command.action) {
    case "transfer.run": {
      const queued = result.queued || [];
      return queued.length ? `Copy queued: ${queued.join(", ")}` : "Copy: those sessions are already queued";
    }
    case "transfer.verify": return `Re-verified ${result.exp_ref || ""}: ${result.ok ? "all files good" : "problems found"}`;
    case "spool.start": return `Spooling to ${(result.file || "").split(/[\\/]/).pop()}`;
    case "spool.stop": return `Series ended: ${result.frames ?? "?"} frames${result.dropped ? `, ${result.dropped} dropped` : ""}`;
    case "preview.request": return result.checked ? "Camera checked: the frame is below" : "Preview refreshed";
    case "session.start": return `Leading session ${result.exp_ref || ""}`;
    case "session.stop": return `Session ${result.exp_ref || ""} stopped`;
    case "session.interrupt": return `Session ${result.exp_ref || ""} interrupted`;
    default: return `${command.action}: done`;
  }
}

function onCommandUpdate(command) {
  const item = rigs.get(command.rig);
  if (!item) return;
  item.reply = { text: answered(command), error: ["failed", "refused", "unanswered"].includes(command.state) };
  draw(item);
}

const link = new LiveLink("/ws/dashboard/", {
  onState(state) {
    grid.classList.toggle("stale", state !== "up");
  },
  onSnapshot(message) {
    const names = new Set(message.rigs.map((r) => r.rig));
    for (const [name, item] of rigs) {
      if (!names.has(name)) { item.card.remove(); rigs.delete(name); }
    }
    message.rigs.forEach(upsert);
    refreshSummary();
  },
  onFrame(message) {
    message.rigs.forEach(upsert);
    for (const preview of message.previews || []) {
      const item = rigs.get(preview.rig);
      if (item) { item.preview = preview; draw(item); }
    }
    (message.commands || []).forEach(onCommandUpdate);
    refreshSummary();
  },
  onCommand(message, callback) {
    if (callback) callback(message);
  },
});

link.start();
window.labwebLink = link; // a handle for the browser console and the browser tests; no module reads it
// "Last seen" and offline ages move even when nothing arrives.
setInterval(() => rigs.forEach((item) => item.entry && draw(item)), 1000);

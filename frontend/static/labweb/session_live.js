// The session page, live: its state, where its data are, and each rig's part, redrawn from the entries the
// dashboard sends whenever the session's records change (labweb/records/live.py builds them).

import { exactTime } from "./format.js";
import { LiveLink } from "./live.js";

const table = document.getElementById("participants");
const expRef = table && table.dataset.expRef;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function badge(text, colour, cls = "") {
  return el("span", { class: `badge ${cls} ${colour}`.trim() }, text);
}


function role(part) {
  const words = [];
  if (part.is_main) words.push("leads");
  if (part.is_main_sync) words.push("clock (main sync)");
  return words.length ? document.createTextNode(words.join(", ")) : el("span", { class: "muted" }, "—");
}

function lastCopy(transfer) {
  const cell = el("td", { class: "last-copy" });
  if (!transfer) { cell.append(el("span", { class: "muted" }, "not copied yet")); return cell; }
  const link = el("a", { href: `/transfers/${transfer.id}/` });
  link.append(badge(transfer.label, transfer.colour));
  cell.append(link);
  if (transfer.error) cell.append(" ", el("span", { class: "small error" }, transfer.error));
  return cell;
}

function row(part) {
  const tr = el("tr", { "data-rig": part.rig });
  const name = el("td");
  name.append(el("a", { href: `/rigs/${encodeURIComponent(part.rig)}/` }, part.rig));
  const state = el("td");
  state.append(badge(part.label, part.colour, "rig-state"));
  const copy = el("td");
  const copyText = part.copy_state === null ? part.copy_label : `${part.copy_state} · ${part.copy_label}`;
  copy.append(badge(copyText, part.copy_colour, "copy-state"));
  const roleCell = el("td", { class: "rig-role" });
  roleCell.append(role(part));
  tr.append(name, el("td", {}, part.kind), roleCell, state, copy, lastCopy(part.transfer));
  return tr;
}

// The story is told on the server (labweb/records/story.py); when the session changes, fetch it again, at most
// once a second, so a page left open reads to the end without a reload.
const story = document.getElementById("story");
let storyTimer = null;

function refreshStory() {
  if (!story || storyTimer) return;
  storyTimer = setTimeout(async () => {
    storyTimer = null;
    try {
      const response = await fetch(story.dataset.url, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      story.innerHTML = await response.text();
      const count = document.getElementById("event-count");
      if (count && response.headers.get("X-Event-Count")) count.textContent = response.headers.get("X-Event-Count");
    } catch (error) { /* the next change tries again; the live link shows whether the dashboard is reachable */ }
  }, 1000);
}

function show(entry) {
  if (entry.exp_ref !== expRef) return;
  refreshStory();
  const state = document.getElementById("session-state");
  state.textContent = entry.label;
  state.className = `badge ${entry.colour}`;
  const data = document.getElementById("session-data");
  data.textContent = entry.data.label;
  data.className = `badge ${entry.data.colour}`;
  const error = document.getElementById("session-error");
  error.textContent = entry.error || "";
  error.hidden = !entry.error;
  document.getElementById("session-started").textContent = exactTime(entry.started_at);
  document.getElementById("session-ended").textContent = exactTime(entry.ended_at);
  const controls = document.getElementById("session-controls");
  if (controls) controls.hidden = !entry.active;
  table.tBodies[0].replaceChildren(...entry.rigs.map(row));
  table.hidden = entry.rigs.length === 0;
  document.getElementById("no-participants").hidden = entry.rigs.length > 0;
}

if (table) {
  const link = new LiveLink("/ws/dashboard/", {
    onSnapshot() {},
    onFrame(message) { (message.sessions || []).forEach(show); },
    onSessions(sessions) { sessions.forEach(show); },
    onCommand() {},
  });
  link.start();
  link.watchSession(expRef);
}

// Start or stop spooling on several rigs at once, with the series settings (compression, max frames, preflight).
//
// The cards already know which rigs can start: a card offers "Start spooling" only when its rig is online, has
// the spool.start capability and is idle (and "Stop spooling" while it spools). This panel reads that from the
// cards and sends through the dashboard's live link; each command's outcome, a preflight refusal included, then
// shows on the rig's own card like any other command's.

import { vocabulary } from "./vocabulary.js";

const COMPRESSIONS = vocabulary.compressions || [];
const PREFLIGHT = [["abort", "abort if it may not fit"], ["warn", "warn and start"], ["skip", "skip the check"]];

const grid = document.getElementById("rig-grid");
if (grid && grid.dataset.operator === "true") setup();

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function select(name, options) {
  const node = el("select", { name });
  for (const [value, label] of options) node.append(el("option", { value }, label));
  return node;
}

function setup() {
  const selected = new Set();
  let listKey = "";

  const panel = el("section", { class: "panel multispool", id: "multispool" });
  const rigList = el("div", { class: "multispool-rigs" });
  const compression = select("compression", COMPRESSIONS.map((c) => [c, c]));
  const maxFrames = el("input", { type: "number", name: "max_frames", min: "1", step: "1", placeholder: "no limit" });
  const preflight = select("preflight", PREFLIGHT);
  const start = el("button", { type: "button", class: "primary multispool-start" }, "Start spooling on selected");
  const stop = el("button", { type: "button", class: "danger multispool-stop" }, "Stop selected");
  const status = el("div", { class: "multispool-status small muted" });
  const label = (text, control) => { const node = el("label", {}, text); node.append(control); return node; };
  const settings = el("div", { class: "multispool-settings" });
  settings.append(label("Compression", compression), label("Max frames", maxFrames), label("Preflight", preflight),
    start, stop);
  panel.append(el("h2", {}, "Spool on several rigs"), rigList, settings, status);
  grid.before(panel);

  // Which online rigs can start (idle) or stop (spooling), from the cards as they are drawn now.
  function rigsOnCards() {
    const rigs = [];
    for (const card of grid.querySelectorAll(".rig-card[data-online='true']")) {
      const can = card.querySelector(".start-spool") ? "start" : card.querySelector(".stop-spool") ? "stop" : null;
      if (can) rigs.push({ rig: card.dataset.rig, can });
    }
    return rigs.sort((a, b) => a.rig.localeCompare(b.rig));
  }

  function refresh() {
    const rigs = rigsOnCards();
    const names = new Set(rigs.map((r) => r.rig));
    for (const name of [...selected]) if (!names.has(name)) selected.delete(name);
    const key = JSON.stringify(rigs);
    if (key !== listKey) { // rebuilt only on change, so a click on a checkbox is never lost to a redraw
      listKey = key;
      rigList.replaceChildren();
      if (!rigs.length) rigList.append(el("span", { class: "muted" }, "No online rig can spool right now."));
      for (const { rig, can } of rigs) {
        const box = el("input", { type: "checkbox", value: rig, "data-can": can });
        box.checked = selected.has(rig);
        box.addEventListener("change", () => { if (box.checked) selected.add(rig); else selected.delete(rig); buttons(); });
        const item = el("label", { class: `multispool-rig ${can === "stop" ? "spooling" : ""}` });
        item.append(box, ` ${rig}`);
        if (can === "stop") item.append(el("span", { class: "muted" }, " (spooling)"));
        rigList.append(item);
      }
    }
    buttons();
  }

  function chosen(can) {
    return rigsOnCards().filter((r) => r.can === can && selected.has(r.rig)).map((r) => r.rig);
  }

  function buttons() {
    start.disabled = chosen("start").length === 0;
    stop.disabled = chosen("stop").length === 0;
  }

  function send(rigs, action, params) {
    const link = window.labwebLink;
    const outcomes = new Map(rigs.map((rig) => [rig, "sending…"]));
    const show = () => {
      status.textContent = `${action}: ` + [...outcomes].map(([rig, text]) => `${rig} ${text}`).join(", ");
    };
    show();
    for (const rig of rigs) {
      if (!link) { outcomes.set(rig, "not sent: the live link is not ready"); continue; }
      link.command(rig, action, params, (message) => {
        // The agent's answer (done, or why not) arrives later on the rig's card.
        outcomes.set(rig, message.error ? `refused: ${message.error}` : "sent");
        show();
      });
    }
    show();
  }

  start.addEventListener("click", () => {
    const params = { compression: compression.value, preflight: preflight.value };
    const frames = parseInt(maxFrames.value, 10);
    if (maxFrames.value !== "") {
      if (!(frames > 0)) { status.textContent = "Max frames must be a whole number above 0, or empty for no limit."; return; }
      params.max_frames = frames;
    }
    send(chosen("start"), "spool.start", params);
  });
  stop.addEventListener("click", () => send(chosen("stop"), "spool.stop", {}));

  let pending = null;
  new MutationObserver(() => {
    // Cards redraw many times a second; look again at most every 200 ms.
    if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 200);
  }).observe(grid, { childList: true, subtree: true });
  refresh();
}

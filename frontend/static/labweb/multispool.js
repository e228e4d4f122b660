// Start or stop spooling on several rigs at once, with the series settings (compression, max frames, preflight).
//
// The front page hands this panel the rigs' live entries (`update`) and a way to send a command (`send`); a rig
// can start when it is online, has the spool.start capability and is not spooling, and stop while it spools.
// Each command's outcome, a preflight refusal included, then shows on the rig's own card like any other.
//
// Rigs are ticked in the panel's own list (the card view) or in the fleet table's first column (the table view,
// where a list of hundreds of names would bury the page): both read and write the one selection here.

import { vocabulary } from "./vocabulary.js";

const PREFLIGHT = [["abort", "abort if it may not fit"], ["warn", "warn and start"], ["skip", "skip the check"]];

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

// What a rig can do from this panel now: "start", "stop", or null.
export function canDo(entry) {
  if (!entry.online) return null;
  const can = new Set(entry.capabilities || []);
  const spooling = Boolean(entry.spool && entry.spool.active);
  if (spooling && can.has("spool.stop")) return "stop";
  if (!spooling && can.has("spool.start")) return "start";
  return null;
}

export function multiSpoolPanel(before, { send, onSelection = () => {} }) {
  const selected = new Set();
  let rigs = [];
  let listKey = "";
  let tableView = false;

  const panel = el("section", { class: "panel multispool", id: "multispool" });
  const rigList = el("div", { class: "multispool-rigs" });
  const compression = select("compression", (vocabulary.compressions || []).map((c) => [c, c]));
  const maxFrames = el("input", { type: "number", name: "max_frames", min: "1", step: "1", placeholder: "no limit" });
  const preflight = select("preflight", PREFLIGHT);
  const start = el("button", { type: "button", class: "primary multispool-start" }, "Start spooling on selected");
  const stop = el("button", { type: "button", class: "danger multispool-stop" }, "Stop selected");
  const status = el("div", { class: "multispool-status small muted", role: "status" });
  const label = (text, control) => { const node = el("label", {}, text); node.append(control); return node; };
  const settings = el("div", { class: "multispool-settings" });
  settings.append(label("Compression", compression), label("Max frames", maxFrames), label("Preflight", preflight),
    start, stop);
  const tableNote = el("div", { class: "multispool-selected small", role: "status" });
  panel.append(el("h2", {}, "Spool on several rigs"), rigList, tableNote, settings, status);
  before.before(panel);

  function chosen(can) {
    return rigs.filter((r) => r.can === can && selected.has(r.rig)).map((r) => r.rig);
  }

  function buttons() {
    const starting = chosen("start");
    const stopping = chosen("stop");
    start.disabled = starting.length === 0;
    stop.disabled = stopping.length === 0;
    start.textContent = starting.length > 1 ? `Start spooling on ${starting.length} rigs` : "Start spooling on selected";
    stop.textContent = stopping.length > 1 ? `Stop ${stopping.length} rigs` : "Stop selected";
    const names = [...selected].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    tableNote.textContent = names.length
      ? `Selected: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` and ${names.length - 8} more` : ""}`
      : "Tick rigs in the table's first column (the box in its heading ticks every rig shown).";
  }

  function choose(rig, on) {
    if (on && rigs.some((r) => r.rig === rig)) selected.add(rig); else selected.delete(rig);
    buttons();
  }

  function redraw() {
    const key = JSON.stringify(rigs);
    if (key === listKey) return; // rebuilt only on change, so a click on a checkbox is never lost to a redraw
    listKey = key;
    rigList.replaceChildren();
    if (!rigs.length) rigList.append(el("span", { class: "muted" }, "No online rig can spool right now."));
    for (const { rig, can } of rigs) {
      const box = el("input", { type: "checkbox", value: rig, "data-can": can });
      box.checked = selected.has(rig);
      box.addEventListener("change", () => { choose(rig, box.checked); onSelection(); });
      const item = el("label", { class: `multispool-rig ${can === "stop" ? "spooling" : ""}` });
      item.append(box, ` ${rig}`);
      if (can === "stop") item.append(el("span", { class: "muted" }, " (spooling)"));
      rigList.append(item);
    }
  }

  // After a start or stop, the rigs just sent to are unticked: a second click must not send it again.
  function sendTo(targets, action, params) {
    const outcomes = new Map(targets.map((rig) => [rig, "sending…"]));
    const show = () => { status.textContent = `${action}: ` + [...outcomes].map(([rig, text]) => `${rig} ${text}`).join(", "); };
    for (const rig of targets) {
      selected.delete(rig);
      send(rig, action, params, (error) => { outcomes.set(rig, error ? `refused: ${error}` : "sent"); show(); });
    }
    listKey = "";
    redraw();
    buttons();
    onSelection();
    show();
  }

  start.addEventListener("click", () => {
    const params = { compression: compression.value, preflight: preflight.value };
    const frames = parseInt(maxFrames.value, 10);
    if (maxFrames.value !== "") {
      if (!(frames > 0)) { status.textContent = "Max frames must be a whole number above 0, or empty for no limit."; return; }
      params.max_frames = frames;
    }
    sendTo(chosen("start"), "spool.start", params);
  });
  stop.addEventListener("click", () => sendTo(chosen("stop"), "spool.stop", {}));

  return {
    // The rigs' latest entries, whenever they change.
    update(entries) {
      rigs = entries.map((e) => ({ rig: e.rig, can: canDo(e) })).filter((r) => r.can)
        .sort((a, b) => a.rig.localeCompare(b.rig, undefined, { numeric: true }));
      const names = new Set(rigs.map((r) => r.rig));
      const before = selected.size;
      for (const name of [...selected]) if (!names.has(name)) selected.delete(name);
      if (!tableView) redraw();
      buttons();
      if (selected.size !== before) onSelection();
    },
    selected: (rig) => selected.has(rig),
    choose,
    // The table view ticks rigs in the table: the panel then names the selection instead of listing every rig.
    inTable(on) {
      tableView = on;
      rigList.hidden = on;
      tableNote.hidden = !on;
      listKey = "";
      if (!on) redraw();
      buttons();
    },
  };
}

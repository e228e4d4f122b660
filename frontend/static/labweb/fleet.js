// The fleet at a glance: one row per rig, the rigs that need attention first, sortable and filterable, with the
// filters kept in the page's URL (so a view can be bookmarked or sent). The front page hands it the rigs' entries
// (`update`); a row's "Details" button asks the page to show that rig's card (`onDetails`). For operators, the
// first column ticks rigs for the several-rigs spool panel (`selection`: the panel's selected/choose/can).
//
// Built for hundreds of rigs at several updates a second: rows are made once, cells are written only when their
// text changes, at most once per animation frame, and the order is recomputed at most once a second (a table
// that reshuffles under the pointer cannot be read or clicked).

import { bytes, duration, number } from "./format.js";
import { alertsOf } from "./alerts.js";
import { warningsOf } from "./cards.js";
import { stateLook } from "./vocabulary.js";

const REORDER_MS = 1000;
const LOW_DISK_BYTES = 20e9;
const COLUMNS = [
  ["rig", "Rig"], ["kind", "Kind"], ["location", "Room"], ["state", "State"], ["session", "Session"],
  ["fps", "Frames/s"], ["dropped", "Dropped"], ["disk", "Disk free"], ["copy", "Copies"], ["problems", "Needs attention"],
];

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// What needs a person's attention on this rig, in words (empty when all is well).
export function problemsOf(entry) {
  const problems = [];
  if (entry.out_of_service) return problems; // a planned absence: nothing to chase
  if (!entry.online) problems.push("offline");
  const spool = entry.spool || {};
  if (spool.dropped) problems.push(`${spool.dropped} frames dropped`);
  if (spool.state === "failed") problems.push(`series failed${spool.error ? `: ${spool.error}` : ""}`);
  const disk = entry.disk || {};
  if (disk.free !== undefined && disk.free < LOW_DISK_BYTES) problems.push(`disk low (${bytes(disk.free)} free)`);
  const latest = ((entry.transfer || {}).recent || [])[0];
  if (latest && latest.outcome === "failed") problems.push(`copy of ${latest.exp_ref} failed`);
  problems.push(...warningsOf(entry).map((w) => w.split(":")[0]));
  for (const alert of alertsOf(entry.rig)) {
    if (!problems.some((p) => alert.title.toLowerCase().includes(p.split(" ")[0]))) problems.push(alert.title);
  }
  return problems;
}

function copyText(entry) {
  const transfer = entry.transfer || {};
  if (transfer.active) {
    const done = transfer.bytes_total ? Math.round((100 * transfer.bytes_done) / transfer.bytes_total) : 0;
    return `copying ${done}%${transfer.queued ? `, ${transfer.queued} waiting` : ""}`;
  }
  const latest = (transfer.recent || [])[0];
  return latest ? `${latest.outcome} ${latest.exp_ref}` : "–";
}

// The row's cells as [text, sort key, css class]; the state cell keeps its word beside its colour.
function cells(entry) {
  const spool = entry.spool || {};
  const session = entry.session || {};
  const disk = entry.disk || {};
  const state = entry.online ? entry.state || "idle" : "offline";
  const problems = problemsOf(entry);
  const free = disk.free === undefined ? "–" : bytes(disk.free);
  const full = spool.seconds_to_full ? ` · full in ${duration(spool.seconds_to_full)}` : "";
  return {
    rig: [entry.rig, entry.rig],
    kind: [entry.kind || "–", entry.kind || ""],
    location: [entry.location || "–", entry.location || "~"],
    state: [stateLook("rig_states", state).label, state, `state ${stateLook("rig_states", state).colour}`],
    session: [session.active ? session.exp_ref || session.main_exp_ref || "starting" : "–", session.exp_ref || ""],
    fps: [spool.active ? number(spool.fps, 1) : "–", spool.active ? spool.fps : -1, "num"],
    dropped: [spool.file ? number(spool.dropped) : "–", spool.dropped || 0, spool.dropped ? "num error" : "num"],
    disk: [`${free}${full}`, disk.free ?? Infinity, disk.free < LOW_DISK_BYTES ? "error" : ""],
    copy: [copyText(entry), copyText(entry)],
    problems: [problems.join("; ") || "–", problems.length, problems.length ? "problems error" : "problems"],
  };
}

// Attention first: offline and failing rigs, then rigs doing something, then the idle ones; by name within.
function attention(entry) {
  if (entry.out_of_service) return 4;
  if (problemsOf(entry).length) return 0;
  const state = entry.online ? entry.state || "idle" : "offline";
  return state === "idle" ? 2 : 1;
}

function fromUrl() {
  const query = new URLSearchParams(location.search);
  return { kind: query.get("kind") || "", state: query.get("state") || "", location: query.get("location") || "",
    problems: query.get("problems") === "1", search: query.get("q") || "", sort: query.get("sort") || "" };
}

function toUrl(filters) {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries({ kind: filters.kind, state: filters.state, location: filters.location,
    problems: filters.problems ? "1" : "", q: filters.search, sort: filters.sort })) {
    if (value) query.set(key, value); else query.delete(key);
  }
  const search = query.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

export function fleetTable(container, { onDetails, selection = null }) {
  const filters = fromUrl();
  const rows = new Map(); // rig -> {tr, tds, entry, details}
  const dirty = new Set();
  let lastOrder = 0;
  let lastSequence = []; // the rows in the order they were last put in the table
  let scheduled = false;

  const controls = el("form", { class: "filters fleet-filters", role: "search", "aria-label": "Filter the rigs" });
  const search = el("input", { type: "search", name: "q", placeholder: "name", "aria-label": "Rig name" });
  search.value = filters.search;
  const choice = (name, label) => {
    const select = el("select", { name, "aria-label": label });
    const wrap = el("label", {}, label);
    wrap.append(select);
    return [wrap, select];
  };
  const [kindLabel, kind] = choice("kind", "Kind");
  const [stateLabel, state] = choice("state", "State");
  const [locationLabel, room] = choice("location", "Room");
  const problemsLabel = el("label", { class: "inline-check" });
  const problemsBox = el("input", { type: "checkbox", name: "problems" });
  problemsBox.checked = filters.problems;
  problemsLabel.append(problemsBox, " needs attention");
  const count = el("span", { class: "muted fleet-count", role: "status" });
  controls.append(search, kindLabel, stateLabel, locationLabel, problemsLabel, count);
  controls.addEventListener("submit", (event) => event.preventDefault());

  const table = el("table", { class: "list fleet", id: "fleet-table" });
  const head = el("tr");
  let selectShown = null;
  if (selection) {
    const th = el("th", { scope: "col", class: "select" });
    selectShown = el("input", { type: "checkbox", class: "select-shown", "aria-label": "Select every rig shown that can spool or stop" });
    selectShown.addEventListener("change", () => {
      for (const item of rows.values()) {
        if (!item.tr.hidden && selection.can(item.entry)) selection.choose(item.entry.rig, selectShown.checked);
      }
      selectionChanged();
    });
    th.append(selectShown);
    head.append(th);
  }
  for (const [key, label] of COLUMNS) {
    const th = el("th", { scope: "col", "data-column": key });
    const button = el("button", { type: "button", class: "link sort" }, label);
    button.addEventListener("click", () => {
      filters.sort = filters.sort === key ? `-${key}` : key;
      changed();
    });
    th.append(button);
    head.append(th);
  }
  head.append(el("th", { scope: "col" }, ""));
  head.lastChild.append(el("span", { class: "visually-hidden" }, "Details"));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  container.append(controls, table);

  function changed() {
    filters.search = search.value.trim();
    filters.kind = kind.value;
    filters.state = state.value;
    filters.location = room.value;
    filters.problems = problemsBox.checked;
    toUrl(filters);
    lastOrder = 0;
    schedule();
  }
  for (const control of [search, kind, state, room, problemsBox]) control.addEventListener("input", changed);

  function row(entry) {
    let item = rows.get(entry.rig);
    if (!item) {
      const tr = el("tr", { "data-rig": entry.rig });
      const tds = {};
      let box = null;
      if (selection) {
        box = el("input", { type: "checkbox", class: "select-rig", "aria-label": `Select ${entry.rig}` });
        box.addEventListener("change", () => {
          selection.choose(entry.rig, box.checked);
          selectionChanged();
        });
        const td = el("td", { class: "select" });
        td.append(box);
        tr.append(td);
      }
      for (const [key] of COLUMNS) {
        tds[key] = el("td", { "data-column": key });
        tr.append(tds[key]);
      }
      tds.rig.replaceChildren(el("a", { href: `/rigs/${encodeURIComponent(entry.rig)}/` }, entry.rig));
      const toggle = el("button", { type: "button", class: "details", "aria-expanded": "false" }, "Details");
      toggle.addEventListener("click", () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        onDetails(entry.rig, open, tr);
      });
      const last = el("td");
      last.append(toggle);
      tr.append(last);
      item = { tr, tds, entry, box };
      rows.set(entry.rig, item);
    }
    return item;
  }

  function draw(item) {
    const values = cells(item.entry);
    for (const [key, [text, , cls]] of Object.entries(values)) {
      if (key === "rig") continue;
      const td = item.tds[key];
      if (td.textContent !== String(text)) td.textContent = text;
      const className = cls || "";
      if (td.className !== className) td.className = className;
    }
    item.tr.dataset.problems = String(values.problems[1]);
    if (item.box) drawBox(item);
  }

  // A rig's tick box: enabled while it can start or stop spooling, ticked while selected.
  function drawBox(item) {
    const can = selection.can(item.entry);
    item.box.disabled = !can;
    item.box.checked = Boolean(can) && selection.selected(item.entry.rig);
    const why = can === "stop" ? "spooling: can be stopped" : can === "start" ? "can start spooling" : "cannot spool now";
    if (item.box.title !== why) item.box.title = why;
  }

  function selectionChanged() {
    for (const item of rows.values()) if (item.box) drawBox(item);
    if (selectShown) {
      const able = [...rows.values()].filter((i) => !i.tr.hidden && selection.can(i.entry));
      selectShown.checked = able.length > 0 && able.every((i) => selection.selected(i.entry.rig));
    }
  }

  function visible(entry) {
    const values = cells(entry);
    if (filters.search && !entry.rig.toLowerCase().includes(filters.search.toLowerCase())) return false;
    if (filters.kind && entry.kind !== filters.kind) return false;
    if (filters.state && values.state[1] !== filters.state) return false;
    if (filters.location && (entry.location || "") !== filters.location) return false;
    if (filters.problems && !values.problems[1]) return false;
    return true;
  }

  // Sort keys are computed once per row (not once per comparison), and rows are moved only when the order or the
  // filter changed: moving two hundred rows every second costs the browser a full layout of the table.
  function order() {
    const key = filters.sort.replace(/^-/, "");
    const sign = filters.sort.startsWith("-") ? -1 : 1;
    const keyed = [...rows.values()].map((item) => ({ item, rank: key ? cells(item.entry)[key][1] : attention(item.entry) }));
    keyed.sort((a, b) => {
      const x = a.rank;
      const y = b.rank;
      const order = typeof x === "string" ? x.localeCompare(y, undefined, { numeric: true }) : x - y;
      if (order) return key ? sign * order : order;
      return a.item.entry.rig.localeCompare(b.item.entry.rig, undefined, { numeric: true });
    });
    const body = table.tBodies[0];
    let shown = 0;
    const sequence = keyed.map(({ item }) => item);
    const moved = sequence.length !== lastSequence.length || sequence.some((item, i) => item !== lastSequence[i]);
    for (const item of sequence) {
      const show = visible(item.entry);
      if (item.tr.hidden === show) item.tr.hidden = !show;
      shown += show ? 1 : 0;
      if (moved) {
        body.append(item.tr);
        if (item.details) item.tr.after(item.details);
      }
    }
    lastSequence = sequence;
    for (const th of head.querySelectorAll("th[data-column]")) {
      const column = th.dataset.column;
      const sorted = column === key ? (sign > 0 ? "ascending" : "descending") : "none";
      if (th.getAttribute("aria-sort") !== sorted) th.setAttribute("aria-sort", sorted);
    }
    const words = `${shown} of ${sequence.length} rigs shown${filters.sort ? "" : ", those needing attention first"}`;
    if (count.textContent !== words) count.textContent = words;
  }

  function options(select, values, current, all) {
    const key = JSON.stringify(values);
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    select.replaceChildren(el("option", { value: "" }, all), ...values.map(([value, label]) => {
      const option = el("option", { value }, label);
      option.selected = value === current;
      return option;
    }));
  }

  function flush() {
    scheduled = false;
    for (const name of dirty) draw(rows.get(name));
    dirty.clear();
    const entries = [...rows.values()].map((i) => i.entry);
    options(kind, [...new Set(entries.map((e) => e.kind).filter(Boolean))].sort().map((k) => [k, k]), filters.kind, "any kind");
    options(state, [...new Set(entries.map((e) => (e.online ? e.state || "idle" : "offline")))].sort()
      .map((s) => [s, stateLook("rig_states", s).label]), filters.state, "any state");
    options(room, [...new Set(entries.map((e) => e.location).filter(Boolean))].sort().map((r) => [r, r]), filters.location, "any room");
    if (Date.now() - lastOrder >= REORDER_MS) {
      lastOrder = Date.now();
      order();
    }
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }

  // Redraw every row once a second anyway: ages and alerts move without a frame.
  setInterval(() => { rows.forEach((item, name) => dirty.add(name)); schedule(); }, REORDER_MS);

  return {
    update(entry) {
      row(entry).entry = entry;
      dirty.add(entry.rig);
      schedule();
    },
    // The selection changed elsewhere (the panel sent its commands and unticked the rigs).
    selectionChanged,
    remove(name) {
      const item = rows.get(name);
      if (item) { item.tr.remove(); if (item.details) item.details.remove(); rows.delete(name); }
    },
    // The page puts a rig's card under its row (or takes it away).
    attach(name, node) {
      const item = rows.get(name);
      if (!item) return;
      if (item.details) item.details.remove();
      item.details = null;
      if (node) {
        const tr = el("tr", { class: "fleet-details" });
        const td = el("td", { colspan: String(COLUMNS.length + (selection ? 2 : 1)) });
        td.append(node);
        tr.append(td);
        item.details = tr;
        item.tr.after(tr);
      }
    },
  };
}

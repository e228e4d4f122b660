// Draws one rig card from the rig's latest entry (rig, online, kind, state, disk, spool, transfer, session, task):
// the parts' typed statuses of rigs/messages.py, as the agent reports them.

import { ago, bytes, duration, number } from "./format.js";
import { stateLook, vocabulary } from "./vocabulary.js";
import { cardAlerts } from "./alerts.js";
import { rateChart } from "./charts.js";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function facts(pairs) {
  const dl = el("dl", { class: "facts" });
  for (const [label, value, cls] of pairs) {
    dl.append(el("dt", {}, label), el("dd", cls ? { class: cls } : {}, value));
  }
  return dl;
}

function meter(fraction, cls) {
  const bar = el("div", { class: `meter ${cls || ""}` });
  const fill = el("span");
  fill.style.width = `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`;
  bar.append(fill);
  return bar;
}

// Why a series ended, in words (the spooler's reason codes).
const ENDED = { requested: "stopped on request (an operator, a script or its session)", max_frames: "reached its frame limit", end_of_source: "the camera ran out of frames",
  disk_full: "the disk filled up", error: "an error", agent_restart: "its agent restarted" };

function spoolPart(spool, entry) {
  const part = el("section", { class: "part spool" });
  part.append(el("h3", {}, spool.active ? "Spooling" : "Last series"));
  const queue = spool.queue_fill ?? 0;
  const rows = [
    ["File", spool.file ? spool.file.split(/[\\/]/).pop() : "–", "spool-file"],
    ["Frames", number(spool.frames), "spool-frames"],
    ["Rate", `${number(spool.fps, 1)} frames/s`, "spool-fps"],
    ["In / to disk", `${number(spool.mb_s_in, 1)} / ${number(spool.mb_s_disk, 1)} MB/s`],
    ["Compression", `${number(spool.ratio, 2)}×`],
    ["Dropped", number(spool.dropped), spool.dropped ? "spool-dropped error" : "spool-dropped"],
  ];
  if (spool.active) rows.push(["Buffer", `${number(queue * 100)}% full`, "spool-queue"], ["Disk full in", duration(spool.seconds_to_full)]);
  else if (spool.reason) rows.push(["Ended", ENDED[spool.reason] || spool.reason, "spool-ended"]);
  part.append(facts(rows));
  if (spool.active) part.append(meter(queue, queue > 0.8 ? "full" : queue > 0.5 ? "warn" : ""));
  if (spool.error) part.append(el("div", { class: "error" }, spool.error));
  part.append(rateChart(entry)); // from the server's history, so it survives a reload (charts.js)
  return part;
}

function transferPart(transfer) {
  const part = el("section", { class: `part transfer ${transfer.active ? "active" : "idle"}` });
  if (transfer.active) {
    part.append(el("h3", {}, `Copying ${transfer.exp_ref || ""}`));
    const fraction = transfer.bytes_total ? transfer.bytes_done / transfer.bytes_total : 0;
    const rows = [
      ["Done", `${bytes(transfer.bytes_done)} of ${bytes(transfer.bytes_total)}`, "transfer-bytes"],
      ["Files", `${number(transfer.files_done)} of ${number(transfer.files_total)}`, "transfer-files"],
      ["Rate", `${bytes(transfer.rate)}/s`, "transfer-rate"],
      ["ETA", duration(transfer.eta), "transfer-eta"],
    ];
    if (transfer.current) rows.push(["Now", transfer.current.split("/").pop(), "transfer-current"]);
    if (transfer.queued) rows.push(["Queued", `${number(transfer.queued)} more`, "transfer-queued"]);
    part.append(meter(fraction), facts(rows));
  } else {
    part.append(el("h3", {}, "Latest copies"));
  }
  // Every recent outcome, newest first: a failure never hides the success before it (or the other way round).
  const list = el("ul", { class: "transfer-recent" });
  for (const copy of transfer.recent || []) {
    const item = el("li", { class: `transfer-outcome ${copy.outcome}`, "data-exp-ref": copy.exp_ref });
    item.append(el("span", { class: copy.outcome === "failed" ? "error" : "" }, copy.outcome), ` ${copy.exp_ref} · ${bytes(copy.bytes)} · ${ago(copy.ended)}`);
    if (copy.error) item.append(el("div", { class: "error small transfer-error" }, copy.error));
    list.append(item);
  }
  if (list.children.length) part.append(list);
  return part;
}

function sessionPart(session) {
  const part = el("section", { class: "part session" });
  const exp_ref = session.exp_ref || session.main_exp_ref;
  const title = el("h3", {}, "Session ");
  if (exp_ref) title.append(el("a", { href: `/sessions/${encodeURIComponent(exp_ref)}/` }, exp_ref));
  const rows = [["This rig", session.state === "idle" ? "–" : session.state, "session-state"]];
  if (session.main) rows.push(["Leads", session.main_exp_ref || "starting…"]);
  part.append(title, facts(rows));
  return part;
}

function taskPart(task) {
  const part = el("section", { class: "part task" });
  part.append(el("h3", {}, "Task"), facts([["Protocol", task.protocol], ["Trials", number(task.trials), "task-trials"],
    ["Running for", duration(task.elapsed_s)]]));
  return part;
}

// What the rig itself flags: echo packets it refused from peers it does not know, events the dashboard refused.
export function warningsOf(entry) {
  const warnings = [];
  const refused = (entry.session || {}).echo_refused;
  if (refused && refused.refused) {
    warnings.push(`Refused ${refused.refused} echo packet${refused.refused === 1 ? "" : "s"} from unknown peers` +
      (refused.last_peer ? ` (latest ${refused.last_peer})` : "") + ": add them to echo_allow in its rig.yaml if they are yours");
  }
  if (entry.quarantined) {
    warnings.push(`${entry.quarantined} event${entry.quarantined === 1 ? "" : "s"} the dashboard refused are kept on the rig (see its log)`);
  }
  return warnings;
}

// A few words on what the rig is doing, beside its state.
function activityOf(entry) {
  const session = entry.session || {};
  if (session.active) return session.exp_ref || session.main_exp_ref || "";
  if (entry.spool && entry.spool.active && entry.spool.file) return entry.spool.file.split(/[\\/]/).pop();
  if (entry.transfer && entry.transfer.active) return entry.transfer.exp_ref || "";
  return "";
}

function actions(entry, { isOperator, send }) {
  const box = el("div", { class: "actions" });
  if (!isOperator || !entry.online) return box;
  const can = new Set(entry.capabilities || []);
  const spooling = entry.spool && entry.spool.active;
  if (can.has("spool.start") && !spooling) {
    const select = el("select", { class: "compression", "aria-label": `Compression for ${entry.rig}`, title: "Compression" });
    for (const c of vocabulary.compressions || []) select.append(el("option", { value: c }, c));
    const start = el("button", { class: "primary start-spool" }, "Start spooling");
    start.addEventListener("click", () => send(entry.rig, "spool.start", { compression: select.value }));
    box.append(select, start);
  }
  if (can.has("preview.request") && !spooling) {
    const check = el("button", { class: "check-camera", title: "One frame from the camera, nothing recorded" }, "Check camera");
    check.addEventListener("click", () => send(entry.rig, "preview.request", {}));
    box.append(check);
  }
  if (can.has("spool.stop") && spooling) {
    const stop = el("button", { class: "danger stop-spool" }, "Stop spooling");
    stop.addEventListener("click", () => send(entry.rig, "spool.stop", {}));
    box.append(stop);
  }
  if (can.has("transfer.run") && !(entry.transfer && entry.transfer.active)) {
    const copy = el("button", { class: "run-transfer" }, "Copy to server");
    copy.addEventListener("click", () => send(entry.rig, "transfer.run", {}));
    box.append(copy);
  }
  return box;
}

export function renderCard(item, options) {
  const { entry, card } = item;
  const online = Boolean(entry.online);
  card.className = `rig-card ${online ? "online" : "offline"}`;
  card.dataset.online = String(online);
  const name = card.querySelector(".name");
  if (name.dataset.rig !== entry.rig) { // once per card: a link rebuilt every second would swallow clicks
    name.dataset.rig = entry.rig;
    name.replaceChildren(el("a", { href: `/rigs/${encodeURIComponent(entry.rig)}/`, class: "rig-link",
      title: `${entry.rig}: spool history, commands and events` }, entry.rig));
  }
  const badge = card.querySelector(".online-badge");
  badge.textContent = online ? "online" : "offline";
  badge.className = `badge online-badge ${online ? "green" : "red"}`;
  card.querySelector(".kind").textContent = [entry.kind, entry.hostname, entry.version && `v${entry.version}`].filter(Boolean).join(" · ");
  const state = online ? entry.state || "idle" : "offline";
  const look = stateLook("rig_states", state);
  const stateBadge = card.querySelector(".state-badge");
  stateBadge.textContent = look.label;
  stateBadge.dataset.state = state;
  stateBadge.className = `badge state-badge ${look.colour}`;
  card.querySelector(".activity").textContent = online ? activityOf(entry) : "";
  cardAlerts(card, entry.rig); // the rig's open alerts (alerts.js)
  card.querySelector(".last-seen").textContent = ago(entry.last_seen);
  const disk = entry.disk;
  const used = disk && disk.total ? 1 - disk.free / disk.total : 0;
  // The bar draws the used part; the words say both, so nobody reads the bar as what is left.
  card.querySelector(".disk-text").textContent = disk ? `${bytes(disk.free)} free of ${bytes(disk.total)} (${Math.round(used * 100)}% used)` : "–";
  const diskMeter = card.querySelector(".disk-meter");
  diskMeter.className = `meter disk-meter ${used > 0.95 ? "full" : used > 0.85 ? "warn" : ""}`;
  diskMeter.firstElementChild.style.width = `${used * 100}%`;

  const parts = card.querySelector(".parts");
  parts.replaceChildren();
  for (const warning of warningsOf(entry)) parts.append(el("div", { class: "warning small" }, warning));
  if (entry.session && entry.session.active) parts.append(sessionPart(entry.session));
  if (entry.task && entry.task.active) parts.append(taskPart(entry.task));
  if (entry.spool && (entry.spool.active || entry.spool.file)) parts.append(spoolPart(entry.spool, entry));
  if (entry.transfer) parts.append(transferPart(entry.transfer));
  if (item.preview && online) {
    const img = el("img", { class: "preview", alt: `latest frame of ${entry.rig}`, width: String(item.preview.width), height: String(item.preview.height) });
    img.src = `data:image/png;base64,${item.preview.png}`;
    parts.append(img);
  }
  // Rebuilt only when what it offers changes, so a half-made choice in a select survives live updates.
  const actionsKey = JSON.stringify([online, entry.capabilities, Boolean(entry.spool && entry.spool.active),
    Boolean(entry.transfer && entry.transfer.active)]);
  if (item.actionsKey !== actionsKey) {
    item.actionsKey = actionsKey;
    card.querySelector(".actions").replaceWith(actions(entry, options));
  }
  const reply = card.querySelector(".reply");
  reply.textContent = item.reply ? item.reply.text : "";
  reply.className = `reply ${item.reply && item.reply.error ? "error" : "muted"}`;
}

// The rig page, live: the rig's card (state, running series, copies, session, disk) kept current over the same
// socket as the front page, its online badge, the running series' row in the spool history, and its history charts.

import { rigCharts } from "./charts.js";
import { renderCard } from "./cards.js";
import { commandReplies } from "./commands.js";
import { number } from "./format.js";
import { LiveLink } from "./live.js";

const box = document.getElementById("rig-live");
const name = box.dataset.rig;
const isOperator = box.dataset.operator === "true";
const item = { entry: null, card: document.getElementById("rig-card-template").content.firstElementChild.cloneNode(true),
  preview: null, reply: null, open: true };
item.card.dataset.rig = name;
const onlineBadge = document.querySelector(".rig-online");

function draw() {
  if (!item.entry) return;
  if (!item.card.isConnected) box.replaceChildren(item.card);
  renderCard(item, { isOperator, send: commands.send });
  const online = Boolean(item.entry.online);
  onlineBadge.textContent = online ? "online" : "offline";
  onlineBadge.className = `badge ${online ? "green" : "red"} rig-online`;
  runningRow(item.entry.spool || {});
}

// The history's row of the series being written counts its frames as they come (the table was drawn at load).
function runningRow(spool) {
  if (!spool.active || !spool.file) return;
  for (const row of document.querySelectorAll("tr.spool-run[data-outcome='running']")) {
    if (row.dataset.file !== spool.file) continue;
    row.querySelector(".run-frames").textContent = number(spool.frames);
    const dropped = row.querySelector(".run-dropped");
    dropped.textContent = number(spool.dropped);
    dropped.classList.toggle("error", Boolean(spool.dropped));
  }
}

const commands = commandReplies({ link: () => link, item: (rig) => (rig === name ? item : null), draw });

const link = new LiveLink("/ws/dashboard/", {
  onState(state) {
    document.body.classList.toggle("stale", state !== "up");
  },
  onSnapshot(message) {
    item.entry = message.rigs.find((entry) => entry.rig === name) || item.entry;
    draw();
    (message.commands || []).forEach(commands.update);
  },
  onFrame(message) {
    const entry = message.rigs.find((e) => e.rig === name);
    if (entry) item.entry = entry;
    const preview = (message.previews || []).find((p) => p.rig === name);
    if (preview) item.preview = preview;
    (message.commands || []).forEach(commands.update);
    if (entry || preview) draw();
  },
  onCommand(message, callback) {
    if (callback) callback(message);
  },
});
link.start();
window.labwebLink = link; // a handle for the browser console and the browser tests; no module reads it
setInterval(draw, 1000); // "last seen" and ages move even when nothing arrives

const charts = document.querySelector(".rig-charts");
if (charts) rigCharts(charts);

// The session page: each taking-part rig's live lifecycle state, from the same live link as the rigs page.

import { LiveLink } from "./live.js";

const table = document.getElementById("participants");
const expRef = table && table.dataset.expRef;
const COLOURS = { initialized: "blue", running: "green", stopped: "teal", interrupted: "orange", idle: "grey", offline: "red" };

function show(entry) {
  const row = table.querySelector(`tr[data-rig="${CSS.escape(entry.rig)}"]`);
  if (!row) return;
  const live = row.querySelector(".rig-live");
  if (!entry.online) { live.textContent = "offline"; return; }
  const session = entry.session || {};
  if (session.exp_ref !== expRef) { live.textContent = ""; return; }
  const badge = row.querySelector(".rig-state");
  badge.textContent = session.state;
  badge.className = `badge rig-state ${COLOURS[session.state] || "blue"}`;
  live.textContent = "live";
}

if (table) {
  const link = new LiveLink("/ws/dashboard/", {
    onState(state) {
      const indicator = document.getElementById("live-indicator");
      if (indicator) indicator.className = `live-indicator ${state}`;
    },
    onSnapshot(message) { message.rigs.forEach(show); },
    onFrame(message) { message.rigs.forEach(show); },
    onCommand() {},
  });
  link.start();
}

// The active alerts on every page: the count in the navigation bar, and each rig card's own alerts.
// Polled from /alerts/active.json (alerts open within a check or two; the live link carries rig state, not alerts).

const POLL_MS = 5000;
const state = { alerts: [], failing: [], listeners: new Set() };

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawCount() {
  const badge = document.getElementById("alert-count");
  if (!badge) return;
  badge.textContent = String(state.alerts.length);
  badge.dataset.count = String(state.alerts.length);
  badge.className = `badge ${state.alerts.length ? "red" : "grey"}`;
  const link = document.getElementById("nav-alerts");
  if (link) link.title = state.failing.length ? `Notifications failing: ${state.failing.map((d) => d.name).join(", ")}` : "";
}

async function poll() {
  try {
    const response = await fetch("/alerts/active.json", { credentials: "same-origin" });
    if (response.ok) {
      const data = await response.json();
      state.alerts = data.alerts || [];
      state.failing = data.destinations_failing || [];
      drawCount();
      state.listeners.forEach((listener) => listener());
    }
  } catch (error) {
    // The dashboard is away (restarting): the next poll tries again.
  }
}

// Call `listener` whenever the alerts are fetched again (the front page redraws its cards).
export function onAlerts(listener) {
  state.listeners.add(listener);
}

// A rig card's alerts: one line each (rule and what), linking to the alert page; nothing when the rig has none.
export function cardAlerts(card, rig) {
  let box = card.querySelector(".card-alerts");
  const mine = state.alerts.filter((a) => a.rig === rig);
  const key = JSON.stringify(mine.map((a) => [a.id, a.title, a.state]));
  if (box && box.dataset.key === key) return;
  if (!box) {
    box = el("ul", "card-alerts");
    card.querySelector(".state-line").after(box);
  }
  box.dataset.key = key;
  box.dataset.count = String(mine.length);
  box.replaceChildren(...mine.map((alert) => {
    const item = el("li", `card-alert ${alert.state}`);
    item.dataset.kind = alert.kind;
    const link = el("a", "", alert.title);
    link.href = `/alerts/?alert=${alert.id}#alert-${alert.id}`;
    item.append(el("span", `badge ${alert.colour}`, alert.label), " ", link);
    return item;
  }));
  box.hidden = mine.length === 0;
}

poll();
setInterval(poll, POLL_MS);

// The active alerts of one rig (the fleet table lists them among what needs attention).
export function alertsOf(rig) {
  return state.alerts.filter((a) => a.rig === rig);
}

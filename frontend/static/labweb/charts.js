// Charts of the rigs' history, drawn with uPlot (bundled in static/vendor, never a CDN) from the server's history
// (labweb.history): the card's rate chart, which survives a reload, and the rig page's charts over an hour,
// a day or a week.

import uPlot from "../vendor/uplot/uPlot.esm.js";

// Series colours (legends are written in them: each passes WCAG AA on white, like labweb.css's palette).
const COLOURS = { fps: "#1f56b8", mb: "#0e6f6f", disk: "#157a42", forecast: "#b42323", queue: "#9a5b00",
  drops: "#b42323", online: "rgba(21,122,66,0.25)", copy: "#6d28d9" };
const CARD_MINUTES = 15;
const CARD_REFRESH_MS = 30000;
const CARD_REDRAW_MS = 2000;

function css() {
  if (document.getElementById("uplot-css")) return;
  const link = document.createElement("link");
  link.id = "uplot-css";
  link.rel = "stylesheet";
  link.href = new URL("../vendor/uplot/uPlot.min.css", import.meta.url).href;
  document.head.append(link);
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Tick labels with as many decimals as the tick spacing needs (0.5 steps show "0.5", 10 steps show "10").
const fixed = (digits) => (u, values) => {
  const step = values.length > 1 ? Math.abs(values[1] - values[0]) : 1;
  const need = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
  return values.map((v) => (v === null || v === undefined ? "" : v.toFixed(Math.max(digits, need))));
};

// Breaks lines where the rig sent nothing (offline): a null between two points further apart than one bucket.
export function withGaps(t, columns, width) {
  const out = { t: [], ...Object.fromEntries(Object.keys(columns).map((k) => [k, []])) };
  t.forEach((time, i) => {
    if (i > 0 && time - t[i - 1] > width * 1.5) {
      out.t.push(t[i - 1] + width);
      for (const k of Object.keys(columns)) out[k].push(null);
    }
    out.t.push(time);
    for (const k of Object.keys(columns)) out[k].push(columns[k][i]);
  });
  return out;
}

// -- the card's rate chart ------------------------------------------------------------------------------------------
const recent = { rigs: {}, loaded: 0, loading: null };
const cardCharts = new Map(); // rig -> {node, chart, drawn, live: [{t, fps, mb}]}

async function loadRecent() {
  if (recent.loading) return recent.loading;
  recent.loading = fetch(`/history/recent.json?minutes=${CARD_MINUTES}`, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : { rigs: {} }))
    .then((data) => { recent.rigs = data.rigs || {}; recent.loaded = Date.now(); })
    .catch(() => {})
    .finally(() => { recent.loading = null; });
  return recent.loading;
}

function cardData(rig, item) {
  const server = recent.rigs[rig] || { t: [], fps: [], mb_s: [] };
  item.node.dataset.serverPoints = String(server.t.length);
  const last = server.t.length ? server.t[server.t.length - 1] : -Infinity;
  // Live samples after the server's last interval keep the chart moving between two loads of the history.
  const live = item.live.filter((p) => p.t > last + 10);
  const t = [...server.t, ...live.map((p) => p.t)];
  const data = withGaps(t, { fps: [...server.fps, ...live.map((p) => p.fps)], mb: [...server.mb_s, ...live.map((p) => p.mb)] }, 10);
  const now = Date.now() / 1000;
  return { data: [data.t, data.fps, data.mb], min: now - CARD_MINUTES * 60, max: now };
}

function cardChart(node, width) {
  return new uPlot({
    width, height: 110, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: true }, fps: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] }, mb: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [
      { size: 24, font: "10px sans-serif", space: 60 },
      { scale: "fps", label: "frames/s", labelSize: 14, labelFont: "10px sans-serif", font: "10px sans-serif", size: 34, values: fixed(0), stroke: COLOURS.fps },
      { scale: "mb", side: 1, label: "MB/s", labelSize: 14, labelFont: "10px sans-serif", font: "10px sans-serif", size: 34, values: fixed(0), stroke: COLOURS.mb, grid: { show: false } },
    ],
    series: [{}, { label: "frames/s", scale: "fps", stroke: COLOURS.fps, width: 1.5 },
      { label: "MB/s", scale: "mb", stroke: COLOURS.mb, width: 1.5, dash: [4, 3] }],
  }, [[], [], []], node);
}

// The chart node of a rig's card: the same node (and uPlot) every time, so redrawing the card every frame is cheap.
export function rateChart(entry) {
  css();
  let item = cardCharts.get(entry.rig);
  if (!item) {
    const node = el("div", "rate-chart");
    node.dataset.rig = entry.rig;
    node.title = `frames/s and MB/s to disk over the last ${CARD_MINUTES} minutes (from the dashboard's history)`;
    const legend = el("div", "chart-legend small");
    const key = (text, colour, dashed) => {
      const span = el("span", "", `${dashed ? "╌" : "—"} ${text}`);
      span.style.color = colour;
      return span;
    };
    legend.append(key("frames/s", COLOURS.fps, false), " ", key("MB/s to disk", COLOURS.mb, true), ` · last ${CARD_MINUTES} min`);
    node.append(legend);
    item = { node, chart: null, drawn: 0, live: [] };
    cardCharts.set(entry.rig, item);
  }
  const spool = entry.spool || {};
  const now = Date.now() / 1000;
  if (entry.online && (!item.live.length || now - item.live[item.live.length - 1].t >= 1)) {
    item.live.push({ t: now, fps: spool.active ? spool.fps || 0 : 0, mb: spool.active ? spool.mb_s_disk || 0 : 0 });
    while (item.live.length && item.live[0].t < now - CARD_MINUTES * 60) item.live.shift();
  }
  if (Date.now() - recent.loaded > CARD_REFRESH_MS) loadRecent().then(() => { item.drawn = 0; });
  if (Date.now() - item.drawn >= CARD_REDRAW_MS) {
    item.drawn = Date.now();
    requestAnimationFrame(() => {
      const { data, min, max } = cardData(entry.rig, item);
      if (!item.chart) item.chart = cardChart(item.node, 270);
      item.chart.batch(() => {
        item.chart.setData(data, false);
        item.chart.setScale("x", { min, max });
      });
      item.node.dataset.points = String(data[0].length);
    });
  }
  return item.node;
}

// -- the rig page ---------------------------------------------------------------------------------------------------
function bytesGB(n) { return n === null || n === undefined ? null : n / 1e9; }

function hours(seconds) {
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function pageChart(node, { title, scales, axes, series, data, min, max }) {
  node.replaceChildren(el("h3", "chart-title", title));
  const holder = el("div");
  node.append(holder);
  const width = Math.max(400, node.clientWidth || 900);
  const chart = new uPlot({ width, height: 200, scales: { x: { time: true, range: () => [min, max] }, ...scales }, axes, series }, data, holder);
  node.dataset.points = String(data[0].filter((_, i) => data[1][i] !== null && data[1][i] !== undefined).length);
  return chart;
}

function axis(scale, label, stroke, side = 3, digits = 0) {
  return { scale, label, side, stroke, values: fixed(digits), size: 50, grid: { show: side === 3 } };
}

function drawRigCharts(root, history) {
  const { t } = history;
  const cols = withGaps(t, { fps: history.fps, mb: history.mb_s, free: history.disk_free.map(bytesGB),
    queue: history.queue_max.map((q) => (q === null ? null : q * 100)), drops: history.drops, online: history.online,
    copy: history.copy_rate.map((r) => (r === null ? null : r / 1e6)) }, history.width);
  const min = history.since;
  let max = history.until;
  const zero = { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] };
  const charts = root.querySelector(".charts");
  charts.replaceChildren();
  const box = (name) => { const node = el("div", `chart chart-${name}`); node.dataset.chart = name; charts.append(node); return node; };

  pageChart(box("rates"), { title: "Frames/s and MB/s to disk", min, max, data: [cols.t, cols.fps, cols.mb],
    scales: { fps: zero, mb: zero },
    axes: [{}, axis("fps", "frames/s", COLOURS.fps), axis("mb", "MB/s", COLOURS.mb, 1, 1)],
    series: [{}, { label: "frames/s", scale: "fps", stroke: COLOURS.fps, value: (u, v) => (v === null ? "–" : v.toFixed(1)) },
      { label: "MB/s", scale: "mb", stroke: COLOURS.mb, value: (u, v) => (v === null ? "–" : v.toFixed(1)) }] });

  // Disk free, and a dashed line down to zero where the disk will be full at the current rate.
  const forecast = history.disk_full;
  const diskX = [...cols.t];
  const free = [...cols.free];
  const line = cols.t.map(() => null);
  let note = "Not filling up.";
  if (forecast) {
    const lastT = Math.max(history.until, cols.t.length ? cols.t[cols.t.length - 1] : history.until);
    const horizon = history.until + (history.until - history.since) * 0.25;
    const end = Math.min(forecast.at, horizon);
    diskX.push(lastT, end);
    free.push(null, null);
    line.push(forecast.free / 1e9, Math.max(0, (forecast.free - forecast.rate * (end - lastT)) / 1e9));
    max = Math.max(max, end);
    note = `Full in ${hours(forecast.at - Date.now() / 1000)} (${new Date(forecast.at * 1000).toLocaleString()}) at ${(forecast.rate / 1e6).toFixed(1)} MB/s (${forecast.basis === "spooler" ? "the spooler's rate" : "the trend of the last 15 min"}).`;
  }
  const disk = box("disk");
  pageChart(disk, { title: "Disk free (GB)", min, max, data: [diskX, free, line], scales: { gb: zero },
    axes: [{}, axis("gb", "GB free", COLOURS.disk, 3, 1)],
    series: [{}, { label: "free GB", scale: "gb", stroke: COLOURS.disk, fill: "rgba(31,157,85,0.08)", value: (u, v) => (v === null ? "–" : v.toFixed(1)) },
      { label: "full at this rate", scale: "gb", stroke: COLOURS.forecast, dash: [6, 4], value: (u, v) => (v === null ? "–" : v.toFixed(1)) }] });
  disk.append(el("div", `muted small disk-forecast${forecast ? " error" : ""}`, note));
  max = history.until;

  pageChart(box("queue"), { title: "Queue fill and dropped frames", min, max, data: [cols.t, cols.queue, cols.drops],
    scales: { pct: { range: [0, 100] }, n: zero },
    axes: [{}, axis("pct", "queue %", COLOURS.queue), axis("n", "frames dropped", COLOURS.drops, 1)],
    series: [{}, { label: "queue %", scale: "pct", stroke: COLOURS.queue },
      { label: "dropped", scale: "n", stroke: COLOURS.drops, fill: "rgba(214,69,69,0.4)", paths: uPlot.paths.bars({ size: [0.9, 8] }) }] });

  const copies = box("online");
  pageChart(copies, { title: "Online and copies", min, max, data: [cols.t, cols.online, cols.copy],
    scales: { on: { range: [0, 1] }, mb: zero },
    axes: [{}, axis("on", "online", "#1f9d55", 3, 1), axis("mb", "copy MB/s", COLOURS.copy, 1, 1)],
    series: [{}, { label: "online", scale: "on", stroke: COLOURS.disk, fill: COLOURS.online, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: "copy MB/s", scale: "mb", stroke: COLOURS.copy }] });
  const list = el("ul", "copies-list small");
  for (const copy of history.copies) {
    const when = copy.start ? new Date(copy.start * 1000).toLocaleString() : "?";
    const row = el("li", `copy ${copy.outcome}`, `${when} · ${copy.exp_ref || "?"} · ${copy.outcome}${copy.error ? `: ${copy.error}` : ""}`);
    if (copy.outcome === "failed") row.classList.add("error");
    list.append(row);
  }
  copies.append(list.children.length ? list : el("div", "muted small", "No copy in this period."));
}

export async function rigCharts(root) {
  css();
  const rig = root.dataset.rig;
  const buttons = root.querySelectorAll("button[data-range]");
  async function show(range) {
    buttons.forEach((b) => b.classList.toggle("primary", b.dataset.range === range));
    const response = await fetch(`/rigs/${encodeURIComponent(rig)}/history.json?range=${range}`, { credentials: "same-origin" });
    if (!response.ok) { root.querySelector(".charts").textContent = "The history could not be loaded."; return; }
    const history = await response.json();
    drawRigCharts(root, history);
    root.dataset.range = range;
    root.dataset.loaded = "true";
  }
  buttons.forEach((b) => b.addEventListener("click", () => show(b.dataset.range)));
  await show(root.dataset.range || "hour");
}

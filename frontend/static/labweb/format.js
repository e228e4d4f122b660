// Small formatting helpers for numbers people read at a glance. Sizes are decimal SI (1 MB = 1,000,000 bytes),
// as the server's pages write them (labweb/live/templatetags/labweb_format.py); times are in the dashboard's zone.

import { vocabulary } from "./vocabulary.js";

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function ago(epochSeconds) {
  if (!epochSeconds) return "never";
  const s = Math.max(0, Date.now() / 1000 - epochSeconds);
  if (s < 2) return "just now";
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return exactTime(epochSeconds);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function number(n, digits = 0) {
  return n === null || n === undefined ? "–" : Number(n).toFixed(digits);
}

// "2026-12-06 17:47:58 UTC": an epoch time in the dashboard's time zone, with the zone.
export function exactTime(epochSeconds) {
  if (!epochSeconds) return "—";
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: vocabulary.time_zone || "UTC", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
  }).formatToParts(new Date(epochSeconds * 1000));
  const part = (type) => (parts.find((p) => p.type === type) || {}).value || "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}:${part("second")} ${part("timeZoneName")}`;
}

// Keep every <time class="relative"> of the page current (the server wrote it; a page stays open for hours).
export function keepRelativeTimes(root = document) {
  const refresh = () => root.querySelectorAll("time.relative[data-epoch]").forEach((node) => {
    node.textContent = ago(Number(node.dataset.epoch));
  });
  refresh();
  return setInterval(refresh, 30_000);
}

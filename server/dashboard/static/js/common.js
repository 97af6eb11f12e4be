// Pieces several pages share: buildings in scope, badges, severities, rule ids.

import { api } from "./api.js";
import { h } from "./dom.js";
import { t, tid } from "./i18n.js";

export const SEVERITIES = ["critical", "major", "warning", "info"];
// Plain symbols every font has (no emoji font on many kiosks and servers).
export const SEVERITY_ICON = { critical: "✖", major: "▲", warning: "!", info: "i" };
export const RULES = [
  "door_forced", "door_held_open", "door_not_used", "tailgating", "denied_burst_gate",
  "denied_burst_credential", "qr_replay", "anti_passback", "late_return", "not_returned",
  "not_seen", "room_over_capacity", "activity_room_misuse", "power_over_limit",
  "appliance_step", "smoke", "temperature_high", "duty_missed_checkin", "duty_coverage_gap",
  "device_offline", "outbox_near_full", "clock_skew",
];

export async function scopedBuildings(signal) {
  return api("/buildings", { signal });
}

/** A severity shown by icon, text and colour together (colour is never the only signal). */
export function severityBadge(severity) {
  return h(
    "span",
    { class: `badge sev-${severity}` },
    h("span", { "aria-hidden": "true", text: SEVERITY_ICON[severity] || "•" }),
    " ",
    tid("severity", severity),
  );
}

const STATUS_ICON = { online: "●", offline: "○", unknown: "?" };

export function deviceStatusBadge(status) {
  return h(
    "span",
    { class: `badge dev-${status}` },
    h("span", { "aria-hidden": "true", text: STATUS_ICON[status] || "?" }),
    " ",
    tid("deviceStatus", status),
  );
}

/** A table from column headings and rows of cells. */
export function table(caption, headings, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs,
      h("caption", { text: caption }),
      h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
    ),
  );
}

export function emptyNote(key) {
  return h("p", { class: "empty", text: t(key) });
}

/**
 * Run async `fn` now and every `ms` until `signal` aborts. A failure is shown in
 * `problem` (an element) and retried at the next tick; leaving the page is not a failure.
 */
export function every(ms, signal, fn, problem) {
  const run = async () => {
    if (signal.aborted) return;
    try {
      await fn();
      if (problem) problem.textContent = "";
    } catch (error) {
      if (signal.aborted) return;
      console.error(error);
      if (problem) problem.textContent = t("app.loadFailed", { reason: error.message });
    }
  };
  run();
  const timer = setInterval(run, ms);
  signal.addEventListener("abort", () => clearInterval(timer));
}

/** An element for a page's load errors (role=alert). */
export function problemLine() {
  return h("p", { class: "error", role: "alert" });
}

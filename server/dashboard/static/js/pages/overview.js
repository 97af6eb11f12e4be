// Campus overview: one card per building in the viewer's scope.

import { api, allPages } from "../api.js";
import { h, replace } from "../dom.js";
import { fmtTime, t, tid } from "../i18n.js";
import { SEVERITIES, SEVERITY_ICON, deviceStatusBadge, every, problemLine } from "../common.js";

async function alertCounts() {
  // Open alerts by building and severity, from the alerts API; null when it cannot be read.
  try {
    const items = await allPages("/alerts", { status: "active", limit: 50 });
    const counts = {};
    for (const a of items) {
      const key = a.building || "";
      counts[key] = counts[key] || Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
      counts[key][a.severity] = (counts[key][a.severity] || 0) + 1;
    }
    return counts;
  } catch (error) {
    return null;
  }
}

function dutyLine(b) {
  if (b.duty_gap) {
    const who = b.on_duty.length ? t("overview.notCheckedIn", { who: b.on_duty.join(", ") }) : t("overview.nobodyRostered");
    return h("p", { class: "duty gap" }, h("span", { "aria-hidden": "true", text: "⚠ " }), `${t("overview.dutyGap")}: ${who}`);
  }
  return h("p", { class: "duty ok" }, h("span", { "aria-hidden": "true", text: "✓ " }), t("overview.onDuty", { who: b.checked_in.join(", ") }));
}

function alertLine(counts, b) {
  if (counts === null) return h("p", { class: "alerts-unknown", text: t("overview.alertsUnavailable") });
  const mine = counts[b.id] || {};
  return h(
    "ul",
    { class: "sev-counts", "aria-label": t("overview.openAlerts") },
    SEVERITIES.map((s) =>
      h("li", { class: `badge sev-${s}${mine[s] ? "" : " zero"}` },
        h("span", { "aria-hidden": "true", text: `${SEVERITY_ICON[s]} ` }), `${tid("severity", s)} ${mine[s] || 0}`)),
  );
}

function card(b, counts) {
  return h(
    "article",
    { class: "card building-card", "aria-labelledby": `b-${b.id}`, dataset: { building: b.id } },
    h("h3", { id: `b-${b.id}` }, h("a", { href: `#/building/${encodeURIComponent(b.id)}`, text: b.name })),
    h("p", { class: "inside" }, h("strong", { class: "big", text: String(b.inside) }), ` ${t("overview.inside")}`),
    dutyLine(b),
    h("p", { class: "devices" + (b.devices_offline ? " warn" : "") },
      t("overview.devicesOffline", { n: b.devices_offline, total: b.devices_total })),
    h("ul", { class: "gates", "aria-label": t("overview.gates") },
      b.gates.map((g) => h("li", {}, h("span", { class: "gate-id", text: g.place || g.id }), " ", deviceStatusBadge(g.status),
        g.last_command ? h("span", { class: "last-cmd", text: ` ${tid("command", g.last_command)}: ${tid("commandStatus", g.last_command_status)}` }) : null))),
    alertLine(counts, b),
  );
}

export async function render(root, { signal }) {
  const stamp = h("span", { class: "as-of", role: "status" });
  const grid = h("div", { id: "overview-grid", class: "grid" });
  const problem = problemLine();
  replace(root, h("div", { class: "page-head" }, h("h2", { text: t("nav.overview") }), stamp), problem, grid);
  every(15000, signal, async () => {
    const [data, counts] = await Promise.all([api("/dashboard/overview", { signal }), alertCounts()]);
    if (signal.aborted) return;
    replace(grid, data.buildings.map((b) => card(b, counts)));
    if (data.buildings.length === 0) grid.append(h("p", { class: "empty", text: t("common.noBuildings") }));
    stamp.textContent = t("common.asOf", { time: fmtTime(data.as_of) });
    grid.dataset.loaded = "true";
  }, problem);
}

// Devices: status, last seen, versions, outbox depth, clock offset.

import { api } from "../api.js";
import { h, labelledSelect, replace } from "../dom.js";
import { fmtDateTime, t, tid } from "../i18n.js";
import { deviceStatusBadge, emptyNote, every, problemLine, table } from "../common.js";

export async function render(root, { signal }) {
  let filter = "";
  let devices = [];
  const body = h("section", { id: "devices", class: "card" });
  const problem = problemLine();
  replace(
    root,
    h("div", { class: "page-head" },
      h("h2", { text: t("nav.devices") }),
      labelledSelect("device-status", t("devices.filter"),
        [["", t("common.all")], ...["online", "offline", "unknown"].map((s) => [s, tid("deviceStatus", s)])], "",
        (v) => { filter = v; draw(); })),
    problem,
    body,
  );
  function draw() {
    const rows = devices.filter((d) => !filter || d.status === filter);
    replace(body, rows.length === 0 ? emptyNote("devices.none") :
      table(t("devices.caption", { n: rows.length }),
        [t("devices.id"), t("common.building"), t("devices.kind"), t("devices.place"), t("devices.status"), t("devices.lastSeen"),
          t("devices.software"), t("devices.config"), t("devices.allowlist"), t("devices.outbox"), t("devices.clock")],
        rows.map((d) => [d.id, d.building_id, tid("deviceKind", d.kind), d.room_id || d.place || "—", deviceStatusBadge(d.status),
          fmtDateTime(d.last_seen_at), d.software_version || "—", d.config_version || "—",
          d.allowlist_version ?? "—", d.outbox_depth ?? "—",
          d.clock_offset_ms === null ? "—" : `${d.clock_offset_ms} ms`]),
        { id: "device-table" }));
  }
  every(15000, signal, async () => {
    devices = await api("/devices", { signal });
    draw();
  }, problem);
}

// Duty: today's roster, check-ins and room visits, late or missed shifts.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { fmtShort, fmtTime, localMidnight, t, tid } from "../i18n.js";
import { emptyNote, every, problemLine, table } from "../common.js";

const STATE_ICON = { upcoming: "…", due: "◷", on_time: "✓", late: "⚠", missed: "✖" };
const MIN_VISITS = 10;

export async function render(root, { signal }) {
  const roster = h("section", { id: "roster", class: "card" });
  const checks = h("section", { id: "checks", class: "card" });
  const problem = problemLine();
  replace(root, h("div", { class: "page-head" }, h("h2", { text: t("nav.duty") })), problem, roster, checks);
  every(30000, signal, async () => {
    const [shifts, rows] = await Promise.all([
      api("/dashboard/duty", { signal }),
      api("/duty/checks", { params: { since: localMidnight().toISOString(), limit: 200 }, signal }),
    ]);
    replace(roster, shifts.length === 0 ? [h("h3", { text: t("duty.roster") }), emptyNote("duty.noShifts")] :
      table(t("duty.roster"),
        [t("common.building"), t("duty.person"), t("duty.shift"), t("duty.checkIn"), t("duty.checkOut"), t("duty.visits"), t("duty.state")],
        shifts.map((s) => [
          s.building_id,
          s.person_id,
          `${fmtShort(s.starts_at)} – ${fmtShort(s.ends_at)}`,
          s.checked_in_at ? fmtTime(s.checked_in_at) : "—",
          s.checked_out_at ? fmtTime(s.checked_out_at) : "—",
          h("span", { class: s.room_visits >= MIN_VISITS ? "ok" : "warn", text: `${s.room_visits}/${MIN_VISITS}` }),
          h("span", { class: `badge shift-${s.state}`, dataset: { state: s.state } },
            h("span", { "aria-hidden": "true", text: `${STATE_ICON[s.state]} ` }), tid("shift", s.state)),
        ]),
        { id: "roster-table" }));
    replace(checks, rows.length === 0 ? [h("h3", { text: t("duty.checks") }), emptyNote("duty.noChecks")] :
      table(t("duty.checks"), [t("common.time"), t("common.building"), t("duty.person"), t("duty.action"), t("duty.room")],
        rows.map((c) => [fmtTime(c.ts), c.building_id, c.person_id, tid("dutyAction", c.action), c.room_id || "—"])));
  }, problem);
}

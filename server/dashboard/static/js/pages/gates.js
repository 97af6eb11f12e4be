// Gates: entries/exits per hour (today, last 7 days), recent decisions, remote commands.

import { api, ApiError } from "../api.js";
import { h, labelledSelect, replace } from "../dom.js";
import { fmtDay, fmtHour, fmtTime, localMidnight, t, tid } from "../i18n.js";
import { deviceStatusBadge, emptyNote, every, problemLine, scopedBuildings, table } from "../common.js";
import { barChart, legend, lineChart } from "../charts.js";

const ACTIONS = ["unlock", "lock", "lockdown", "fire_release"];
const POLL_MS = 500;

function hourlySeries(rows, start, hours) {
  const entries = new Array(hours).fill(0);
  const exits = new Array(hours).fill(0);
  for (const r of rows) {
    const i = Math.floor((new Date(r.hour).getTime() - start.getTime()) / 3600000);
    if (i >= 0 && i < hours) {
      entries[i] += r.entries;
      exits[i] += r.exits;
    }
  }
  return { entries, exits };
}

export async function render(root, { user, args, signal }) {
  const buildings = await scopedBuildings(signal);
  if (buildings.length === 0) {
    replace(root, emptyNote("common.noBuildings"));
    return;
  }
  const current = buildings.find((b) => b.id === args[0]) || buildings[0];
  const mayCommand = user.role === "security" || user.role === "admin";
  const today = h("section", { id: "chart-today", class: "card" });
  const week = h("section", { id: "chart-week", class: "card" });
  const decisions = h("section", { id: "decisions", class: "card" });
  const commands = h("section", { id: "commands", class: "card", hidden: !mayCommand });
  const problem = problemLine();
  replace(
    root,
    h("div", { class: "page-head" },
      h("h2", { text: `${t("nav.gates")}: ${current.name}` }),
      labelledSelect("gates-building", t("common.building"), buildings.map((b) => [b.id, b.name]), current.id,
        (v) => { location.hash = `#/gates/${encodeURIComponent(v)}`; })),
    problem,
    commands,
    today,
    week,
    decisions,
  );

  async function drawCharts() {
    const now = new Date();
    const midnight = localMidnight(now);
    const weekStart = localMidnight(now, 6);
    const rows = await api("/dashboard/gate-flows/hourly", {
      params: { building: current.id, since: weekStart.toISOString(), until: now.toISOString() },
      signal,
    });
    const d = hourlySeries(rows, midnight, 24);
    const hours = [...Array(24).keys()].map((i) => fmtHour(new Date(midnight.getTime() + i * 3600000)));
    const series = [
      { name: t("gates.entries"), cls: "s-in", values: d.entries },
      { name: t("gates.exits"), cls: "s-out", values: d.exits },
    ];
    const totalIn = d.entries.reduce((a, b) => a + b, 0);
    const totalOut = d.exits.reduce((a, b) => a + b, 0);
    replace(today,
      h("h3", { text: t("gates.today") }),
      barChart({ title: t("gates.today"), labels: hours, series, labelEvery: 2 }),
      legend(series),
      h("p", { id: "today-totals", text: t("gates.totals", { entries: totalIn, exits: totalOut }) }));
    const w = hourlySeries(rows, weekStart, 24 * 7);
    const labels = [...Array(24 * 7).keys()].map((i) => {
      const at = new Date(weekStart.getTime() + i * 3600000);
      return i % 24 === 0 ? fmtDay(at) : "";
    });
    const weekSeries = [
      { name: t("gates.entries"), cls: "s-in", values: w.entries },
      { name: t("gates.exits"), cls: "s-out", values: w.exits },
    ];
    replace(week,
      h("h3", { text: t("gates.week") }),
      lineChart({ title: t("gates.week"), labels, series: weekSeries, labelEvery: 24 }),
      legend(weekSeries),
      h("p", { text: t("gates.totals", { entries: w.entries.reduce((a, b) => a + b, 0), exits: w.exits.reduce((a, b) => a + b, 0) }) }));
  }

  async function drawDecisions() {
    const rows = await api("/dashboard/decisions", { params: { building: current.id, limit: 30 }, signal });
    replace(decisions,
      table(
        t("gates.recent"),
        [t("common.time"), t("gates.gate"), t("gates.direction"), t("gates.decision"), t("gates.reason"), t("gates.person")],
        rows.map((r) => [
          fmtTime(r.ts),
          r.device_id,
          tid("direction", r.direction),
          h("span", { class: `badge dec-${r.decision}` }, h("span", { "aria-hidden": "true", text: r.decision === "granted" ? "✓ " : "✗ " }), tid("decision", r.decision)),
          tid("reason", r.reason),
          r.name ? `${r.name} (${r.person_id})` : r.person_id || "—",
        ]),
        { id: "decision-table" },
      ));
  }

  async function drawCommands() {
    const gates = (await api("/devices", { params: { building: current.id }, signal })).filter((d) => d.kind === "gate");
    replace(commands,
      h("h3", { text: t("gates.commands") }),
      gates.length === 0 ? emptyNote("gates.noGates") : null,
      gates.map((g) => {
        const result = h("p", { class: "cmd-result", id: `cmd-result-${g.id}`, role: "status", "aria-live": "polite" });
        return h("div", { class: "gate-row", dataset: { device: g.id } },
          h("span", { class: "gate-id", text: `${g.place || ""} ${g.id}` }), " ", deviceStatusBadge(g.status),
          h("div", { class: "buttons", role: "group", "aria-label": t("gates.commandsFor", { gate: g.id }) },
            ACTIONS.map((action) => h("button", {
              type: "button",
              class: `cmd cmd-${action}`,
              dataset: { action },
              "aria-label": `${tid("command", action)} — ${g.id}`,
              text: tid("command", action),
              onclick: () => confirmCommand(g, action, result),
            }))),
          result);
      }));
  }

  function confirmCommand(gate, action, result) {
    const dialog = h("dialog", { class: "card", id: "confirm-dialog", "aria-labelledby": "confirm-title" });
    dialog.append(
      h("h3", { id: "confirm-title", text: t("gates.confirmTitle") }),
      h("p", { text: t(`gates.confirm.${action}`, { gate: gate.id }) }),
      h("div", { class: "buttons" },
        h("button", { type: "button", id: "confirm-yes", class: "primary danger", text: t("common.confirm"),
          onclick: () => { dialog.close(); dialog.remove(); send(gate, action, result); } }),
        h("button", { type: "button", id: "confirm-no", text: t("common.cancel"),
          onclick: () => { dialog.close(); dialog.remove(); } })),
    );
    root.append(dialog);
    dialog.showModal();
    dialog.querySelector("#confirm-no").focus();
  }

  async function send(gate, action, result) {
    result.dataset.status = "sending";
    result.textContent = t("gates.sending");
    let command;
    try {
      command = await api(`/devices/${encodeURIComponent(gate.id)}/commands`, {
        method: "POST",
        body: action === "unlock" ? { action, duration_s: 5 } : { action },
        signal,
      });
    } catch (error) {
      result.dataset.status = "error";
      result.textContent = t("gates.sendFailed", { reason: error instanceof ApiError ? error.detail : error.message });
      return;
    }
    const show = (c) => {
      result.dataset.status = c.status;
      const text = c.status === "pending"
        ? t("gates.pending", { action: tid("command", c.action) })
        : t("gates.acked", { action: tid("command", c.action), status: tid("commandStatus", c.status), time: fmtTime(c.acked_at) });
      result.textContent = c.ack_detail ? `${text} (${c.ack_detail})` : text;
    };
    show(command);
    const deadline = new Date(command.expires_at).getTime() + 5000;
    while (command.status === "pending" && !signal.aborted && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      command = await api(`/devices/${encodeURIComponent(gate.id)}/commands/${command.id}`, { signal });
      show(command);
    }
    if (command.status === "pending") {
      result.dataset.status = "no-ack";
      result.textContent = t("gates.noAck");
    }
  }

  if (mayCommand) await drawCommands();
  every(30000, signal, async () => {
    await Promise.all([drawCharts(), drawDecisions()]);
    root.dataset.loaded = "true";
  }, problem);
}

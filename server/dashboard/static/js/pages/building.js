// Building view: floors as a grid of rooms, coloured by occupancy or by power against the maximum.

import { api } from "../api.js";
import { h, labelledSelect, replace } from "../dom.js";
import { fmtHour, fmtShort, fmtTime, t, tid } from "../i18n.js";
import { emptyNote, every, problemLine, scopedBuildings } from "../common.js";
import { legend, lineChart } from "../charts.js";

//: Shown as "hot" from this temperature on (the alert rules decide alerts; this is display only).
const HOT_C = 45;

function occupancyClass(room) {
  if (room.occupancy === null) return "occ-none";
  if (room.occupancy === 0) return "occ-0";
  const share = room.occupancy / Math.max(1, room.capacity);
  if (share > 1) return "occ-over";
  return share >= 0.75 ? "occ-high" : "occ-low";
}

function powerClass(room) {
  if (room.power_w === null) return "pw-none";
  const share = room.power_w / Math.max(1, room.max_power_w);
  if (share > 1) return "pw-over";
  if (share >= 0.8) return "pw-high";
  return share >= 0.4 ? "pw-mid" : "pw-low";
}

function roomCell(room, mode, onOpen) {
  const hot = room.temperature_c !== null && room.temperature_c >= HOT_C;
  const states = [];
  if (room.smoke) states.push(h("span", { class: "flag smoke", text: `⚠ ${t("building.smoke")}` }));
  if (hot) states.push(h("span", { class: "flag hot", text: `⚠ ${t("building.hot")}` }));
  if (room.power_w !== null && room.power_w > room.max_power_w) {
    states.push(h("span", { class: "flag over", text: `⚠ ${t("building.overPower")}` }));
  }
  const cls = mode === "power" ? powerClass(room) : occupancyClass(room);
  const occupancy = room.occupancy === null ? "—" : `${room.occupancy}/${room.capacity}`;
  const power = room.power_w === null ? "—" : `${Math.round(room.power_w)}/${Math.round(room.max_power_w)} W`;
  const temp = room.temperature_c === null ? "—" : `${room.temperature_c.toFixed(1)} °C`;
  return h(
    "button",
    {
      type: "button",
      class: `room ${cls}${room.smoke ? " alarm" : ""}`,
      dataset: { room: room.id },
      "aria-label": t("building.roomLabel", { number: room.number, occupancy, power, temp }) +
        (states.length ? ` — ${states.map((s) => s.textContent).join(", ")}` : ""),
      onclick: () => onOpen(room),
    },
    h("span", { class: "room-number", text: room.number }),
    h("span", { class: "room-kind", text: tid("roomKind", room.kind) }),
    h("span", { text: `${t("building.people")} ${occupancy}` }),
    h("span", { text: `${t("building.power")} ${power}` }),
    h("span", { text: `${t("building.temp")} ${temp}` }),
    states,
  );
}

export async function render(root, { args, signal }) {
  const buildings = await scopedBuildings(signal);
  if (buildings.length === 0) {
    replace(root, emptyNote("common.noBuildings"));
    return;
  }
  const current = buildings.find((b) => b.id === args[0]) || buildings[0];
  let mode = "occupancy";
  let floors = [];
  const grid = h("div", { id: "floors", class: "floors" });
  const detail = h("section", { id: "room-detail", class: "card detail", hidden: true, "aria-live": "polite" });
  const stamp = h("span", { class: "as-of", role: "status" });
  const problem = problemLine();
  const modeGroup = h(
    "fieldset",
    { class: "mode" },
    h("legend", { text: t("building.colourBy") }),
    ["occupancy", "power"].map((m) =>
      h("label", {},
        h("input", { type: "radio", name: "mode", value: m, checked: m === mode,
          onchange: () => { mode = m; draw(); } }),
        ` ${t(`building.mode.${m}`)}`)),
  );
  replace(
    root,
    h("div", { class: "page-head" },
      h("h2", { text: `${t("nav.building")}: ${current.name}` }),
      labelledSelect("building-select", t("common.building"), buildings.map((b) => [b.id, b.name]), current.id,
        (v) => { location.hash = `#/building/${encodeURIComponent(v)}`; }),
      stamp),
    problem,
    modeGroup,
    h("p", { class: "hint", text: t(`building.legend.${mode}`) }),
    grid,
    detail,
  );

  function draw() {
    root.querySelector(".hint").textContent = t(`building.legend.${mode}`);
    replace(
      grid,
      [...floors].reverse().map((f) =>
        h("section", { class: "floor", "aria-label": f.name || String(f.level) },
          h("h3", { class: "floor-name", text: f.name || t("building.level", { level: f.level }) }),
          h("div", { class: "rooms" }, f.rooms.map((r) => roomCell(r, mode, openRoom))))),
    );
  }

  async function openRoom(room) {
    detail.hidden = false;
    replace(detail, h("p", { text: t("common.loading") }));
    const until = new Date();
    const since = new Date(until.getTime() - 24 * 3600 * 1000);
    const minutes = await api("/charts/rooms", {
      params: { building: current.id, room: room.id, since: since.toISOString(), until: until.toISOString() },
      signal,
    });
    // Hourly maxima over the last day (the API gives minutes).
    const hours = [];
    for (let i = 0; i < 24; i += 1) hours.push(new Date(since.getTime() + i * 3600 * 1000));
    const occ = hours.map(() => null);
    const power = hours.map(() => null);
    for (const m of minutes) {
      const i = Math.floor((new Date(m.minute).getTime() - since.getTime()) / 3600000);
      if (i < 0 || i >= 24) continue;
      occ[i] = Math.max(occ[i] ?? 0, m.occupancy_max);
      power[i] = Math.max(power[i] ?? 0, m.power_w_max);
    }
    const powerSeries = [{ name: t("building.powerMax"), cls: "s-power", values: power }];
    const occSeries = [{ name: t("building.occupancyMax"), cls: "s-occ", values: occ }];
    replace(
      detail,
      h("h3", { id: "room-detail-title", text: t("building.lastDay", { number: room.number }) }),
      minutes.length === 0 ? emptyNote("building.noHistory") : null,
      lineChart({ title: t("building.powerMax"), labels: hours.map(fmtHour), series: powerSeries, limit: room.max_power_w, labelEvery: 3 }),
      legend([...powerSeries, { name: t("building.maxPower", { w: Math.round(room.max_power_w) }), cls: "s-limit" }]),
      lineChart({ title: t("building.occupancyMax"), labels: hours.map(fmtHour), series: occSeries, limit: room.capacity, labelEvery: 3 }),
      legend(occSeries),
      h("p", { text: t("building.latest", { time: room.ts ? fmtShort(room.ts) : "—" }) }),
      h("button", { type: "button", text: t("common.close"), onclick: () => { detail.hidden = true; } }),
    );
  }

  every(15000, signal, async () => {
    floors = await api(`/dashboard/buildings/${encodeURIComponent(current.id)}/rooms`, { signal });
    if (signal.aborted) return;
    draw();
    stamp.textContent = t("common.asOf", { time: fmtTime(new Date()) });
    grid.dataset.loaded = "true";
  }, problem);
}

// Alerts: the live list (SSE read with fetch streaming), ordered by severity then age.

import { api, allPages, ApiError } from "../api.js";
import { h, labelledSelect, replace } from "../dom.js";
import { currentLang, fmtDateTime, fmtTime, t, tid } from "../i18n.js";
import { stream } from "../sse.js";
import { RULES, SEVERITIES, scopedBuildings, severityBadge } from "../common.js";

const RANK = { critical: 0, major: 1, warning: 2, info: 3 };
const ACTIVE = new Set(["open", "acknowledged"]);

export function compareAlerts(a, b) {
  return (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9) || a.first_seen.localeCompare(b.first_seen) || a.id.localeCompare(b.id);
}

export async function render(root, { user, signal }) {
  const alerts = new Map();
  const filters = { status: "active", severity: "", building: "", rule: "" };
  let ready = false;
  let focusedId = null;

  const state = h("span", { id: "stream-state", class: "stream-state", role: "status", text: t("alerts.connecting") });
  const count = h("span", { id: "alert-count", class: "count", "aria-live": "polite" });
  const list = h("ol", { id: "alert-list", class: "alert-list", "aria-label": t("alerts.listLabel") });
  const detail = h("section", { id: "alert-detail", class: "card detail", "aria-live": "polite", hidden: true });
  const problem = h("p", { class: "error", role: "alert" });
  const buildings = await scopedBuildings(signal).catch(() => []);

  const filterBar = h(
    "div",
    { class: "filters", role: "group", "aria-label": t("alerts.filters") },
    labelledSelect("f-status", t("alerts.filter.status"),
      ["active", "open", "acknowledged", "resolved"].map((s) => [s, tid("alertStatus", s)]), filters.status,
      (v) => { filters.status = v; reload(); }),
    labelledSelect("f-severity", t("alerts.filter.severity"),
      [["", t("common.all")], ...SEVERITIES.map((s) => [s, tid("severity", s)])], "",
      (v) => { filters.severity = v; draw(); }),
    labelledSelect("f-building", t("alerts.filter.building"),
      [["", t("common.all")], ...buildings.map((b) => [b.id, b.name])], "",
      (v) => { filters.building = v; draw(); }),
    labelledSelect("f-rule", t("alerts.filter.rule"),
      [["", t("common.all")], ...RULES.map((r) => [r, tid("rule", r)])], "",
      (v) => { filters.rule = v; draw(); }),
  );

  replace(
    root,
    h("div", { class: "page-head" }, h("h2", { text: t("nav.alerts") }), count, state),
    filterBar,
    problem,
    h("div", { class: "split" }, list, detail),
  );

  function visible() {
    return [...alerts.values()]
      .filter((a) => (filters.status === "active" ? ACTIVE.has(a.status) : a.status === filters.status))
      .filter((a) => !filters.severity || a.severity === filters.severity)
      .filter((a) => !filters.building || a.building === filters.building)
      .filter((a) => !filters.rule || a.rule === filters.rule)
      .sort(compareAlerts);
  }

  function place(a) {
    return [a.building, a.floor && t("alerts.floor", { floor: a.floor }), a.room].filter(Boolean).join(" · ") || a.subject;
  }

  function levelText(a) {
    const now = tid("level", a.level);
    return a.start_level && a.start_level !== a.level ? `${tid("level", a.start_level)} → ${now}` : now;
  }

  function item(a, index) {
    const title = h("span", { class: "alert-title", text: tid("rule", a.rule) });
    const meta = h(
      "div",
      { class: "alert-meta" },
      severityBadge(a.severity),
      h("span", { class: "level", text: `${t("alerts.level")}: ${levelText(a)}` }),
      a.delayed ? h("span", { class: "badge delayed", text: `◷ ${t("alerts.delayed")}` }) : null,
      h("span", { class: "badge status-" + a.status, text: tid("alertStatus", a.status) }),
      h("span", { class: "times", text: t("alerts.counts", { count: a.count, last: fmtTime(a.last_seen) }) }),
      a.assignee ? h("span", { text: t("alerts.assignee", { who: a.assignee }) }) : null,
    );
    const actions = h("div", { class: "alert-actions" });
    if (a.status === "open") {
      actions.append(h("button", { type: "button", class: "ack", onclick: () => act(a, "acknowledge", { note: null }),
        text: t("alerts.ack"), "aria-label": `${t("alerts.ack")}: ${tid("rule", a.rule)} ${place(a)}` }));
    }
    if (a.status !== "resolved") {
      actions.append(
        h("button", { type: "button", class: "assign", onclick: () => openForm(a, "assign"),
          text: t("alerts.assign"), "aria-label": `${t("alerts.assign")}: ${tid("rule", a.rule)} ${place(a)}` }),
        h("button", { type: "button", class: "resolve", onclick: () => openForm(a, "resolve"),
          text: t("alerts.resolve"), "aria-label": `${t("alerts.resolve")}: ${tid("rule", a.rule)} ${place(a)}` }),
      );
    }
    const li = h(
      "li",
      {
        class: `alert sev-${a.severity}`,
        tabindex: (focusedId ? a.id === focusedId : index === 0) ? "0" : "-1",
        dataset: { id: a.id, severity: a.severity, status: a.status },
        "aria-label": `${tid("severity", a.severity)} ${tid("rule", a.rule)} ${place(a)} ${tid("alertStatus", a.status)}`,
      },
      h("div", { class: "alert-line" }, title, h("span", { class: "place", text: place(a) })),
      // The English one-liner only in English; the subject (ids, no names) in every language.
      h("div", { class: "message", text: currentLang() === "en" ? `${a.message} (${a.subject})` : a.subject }),
      meta,
      actions,
    );
    li.addEventListener("focus", () => { focusedId = a.id; });
    return li;
  }

  function draw() {
    const rows = visible();
    const hadFocus = list.contains(document.activeElement) ? document.activeElement : null;
    const focusedButtonClass = hadFocus && hadFocus.tagName === "BUTTON" ? hadFocus.className : null;
    if (focusedId && !rows.some((a) => a.id === focusedId)) focusedId = null;
    replace(list, rows.map(item));
    if (rows.length === 0) list.append(h("li", { class: "empty", text: t("alerts.none") }));
    count.textContent = t("alerts.total", { n: rows.length });
    if (hadFocus && focusedId) {
      const li = list.querySelector(`li[data-id="${CSS.escape(focusedId)}"]`);
      const button = focusedButtonClass && li && li.querySelector(`button.${focusedButtonClass.split(" ")[0]}`);
      (button || li)?.focus();
    }
  }

  // Keyboard: arrows/Home/End move between alerts (roving tabindex), Enter opens the details.
  list.addEventListener("keydown", (event) => {
    const li = event.target.closest("li.alert");
    if (!li) return;
    const items = [...list.querySelectorAll("li.alert")];
    const i = items.indexOf(li);
    let next = null;
    if (event.key === "ArrowDown") next = items[Math.min(i + 1, items.length - 1)];
    else if (event.key === "ArrowUp") next = items[Math.max(i - 1, 0)];
    else if (event.key === "Home") next = items[0];
    else if (event.key === "End") next = items[items.length - 1];
    else if (event.key === "Enter" && event.target === li) {
      event.preventDefault();
      showDetail(li.dataset.id);
      return;
    } else return;
    event.preventDefault();
    for (const other of items) other.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  list.addEventListener("click", (event) => {
    const li = event.target.closest("li.alert");
    if (li && !event.target.closest("button")) showDetail(li.dataset.id);
  });

  async function showDetail(id) {
    detail.hidden = false;
    replace(detail, h("p", { text: t("common.loading") }));
    try {
      const a = await api(`/alerts/${encodeURIComponent(id)}`, { signal });
      replace(
        detail,
        h("h3", { id: "detail-title", text: `${tid("rule", a.rule)} — ${place(a)}` }),
        h("p", { text: currentLang() === "en" ? a.message : a.subject }),
        h("dl", {},
          h("dt", { text: t("alerts.firstSeen") }), h("dd", { text: fmtDateTime(a.first_seen) }),
          h("dt", { text: t("alerts.lastSeen") }), h("dd", { text: fmtDateTime(a.last_seen) }),
          h("dt", { text: t("alerts.level") }), h("dd", { text: levelText(a) }),
          h("dt", { text: t("alerts.note") }), h("dd", { text: a.note || "—" })),
        h("h4", { text: t("alerts.history") }),
        h("ol", { class: "history" }, (a.history || []).map((e) =>
          h("li", { text: `${fmtDateTime(e.at)} · ${tid("alertAction", e.action)} · ${e.by || ""} ${e.note || ""}` }))),
        h("button", { type: "button", onclick: () => { detail.hidden = true; list.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.focus(); }, text: t("common.close") }),
      );
    } catch (error) {
      replace(detail, h("p", { class: "error", text: error.message }));
    }
  }

  function openForm(a, action) {
    const inputId = `form-${action}`;
    const dialog = h("dialog", { class: "card", "aria-labelledby": `${inputId}-title` });
    const input = action === "assign"
      ? h("input", { id: inputId, name: "value", required: true, value: String(user.id) })
      : h("textarea", { id: inputId, name: "value", required: true, rows: "3" });
    const form = h(
      "form",
      {
        method: "dialog",
        onsubmit: async (event) => {
          event.preventDefault();
          const value = input.value.trim();
          if (!value) return;
          dialog.close();
          dialog.remove();
          await act(a, action, action === "assign" ? { assignee: value } : { note: value });
        },
      },
      h("h3", { id: `${inputId}-title`, text: `${t(`alerts.${action}`)}: ${tid("rule", a.rule)}` }),
      h("label", { for: inputId, text: t(action === "assign" ? "alerts.assigneeLabel" : "alerts.noteLabel") }),
      input,
      h("div", { class: "buttons" },
        h("button", { type: "submit", class: "primary", text: t("common.confirm") }),
        h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); }, text: t("common.cancel") })),
    );
    dialog.append(form);
    root.append(dialog);
    dialog.showModal();
    input.focus();
  }

  async function act(a, action, body) {
    problem.textContent = "";
    try {
      const updated = await api(`/alerts/${encodeURIComponent(a.id)}/${action}`, { method: "POST", body, signal });
      upsert(updated, false);
    } catch (error) {
      problem.textContent = t("alerts.actionFailed", { reason: error instanceof ApiError ? error.detail : error.message });
    }
  }

  function upsert(a, live) {
    const known = alerts.get(a.id);
    alerts.set(a.id, a);
    if (live && ready && !known && a.severity === "critical" && a.status === "open") cue(a);
    draw();
  }

  function cue(a) {
    const banner = document.getElementById("cue");
    banner.textContent = `⚠ ${t("alerts.newCritical")}: ${tid("rule", a.rule)} — ${place(a)}`;
    banner.hidden = false;
    banner.classList.remove("flash");
    void banner.offsetWidth; // restart the animation
    banner.classList.add("flash");
    beep();
    setTimeout(() => { banner.hidden = true; }, 15000);
  }

  async function reload() {
    problem.textContent = "";
    const status = filters.status;
    try {
      const items = await allPages("/alerts", { status, limit: 50 });
      for (const key of [...alerts.keys()]) {
        const a = alerts.get(key);
        if (status === "active" ? ACTIVE.has(a.status) : a.status === status) alerts.delete(key);
      }
      for (const a of items) alerts.set(a.id, a);
      ready = true;
      draw();
    } catch (error) {
      problem.textContent = t("alerts.loadFailed", { reason: error instanceof ApiError ? `${error.status} ${error.detail}` : error.message });
    }
  }

  stream("/alerts/stream", {
    signal,
    onOpen: reload, // after a reconnect the list is rebuilt, then changes apply on top
    onEvent: (event, data) => {
      if (event !== "alert") return;
      try {
        upsert(JSON.parse(data), true);
      } catch (error) {
        console.warn("bad alert event", error);
      }
    },
    onState: (s) => {
      state.textContent = t(`alerts.stream.${s}`);
      state.dataset.state = s;
    },
  });
  draw();
  return () => { document.getElementById("cue").hidden = true; };
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.1;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch (error) {
    console.warn("no sound cue", error);
  }
}

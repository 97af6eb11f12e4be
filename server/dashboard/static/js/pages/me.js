// The viewer's own records: their dynamic QR code (refreshed before it expires) and access history.

import { api, ApiError } from "../api.js";
import { h, replace } from "../dom.js";
import { fmtDateTime, fmtTime, t, tid } from "../i18n.js";
import { emptyNote, table } from "../common.js";

//: Refresh this long before the token's validity ends (and at least every 30 s).
const MARGIN_MS = 10000;
const MAX_INTERVAL_MS = 30000;

export async function render(root, { signal }) {
  const qrBox = h("section", { id: "qr", class: "card qr-card", "aria-labelledby": "qr-title" });
  const history = h("section", { id: "history", class: "card" });
  replace(root, h("div", { class: "page-head" }, h("h2", { text: t("nav.me") })), qrBox, history);
  let timer = null;
  let countdown = null;

  async function refreshQr() {
    let qr;
    try {
      qr = await api("/dashboard/me/qr", { signal });
    } catch (error) {
      if (signal.aborted) return;
      replace(qrBox, h("h3", { id: "qr-title", text: t("me.qr") }),
        h("p", { class: "error", text: t("me.noQr", { reason: error instanceof ApiError ? error.detail : error.message }) }));
      return;
    }
    const doc = new DOMParser().parseFromString(qr.svg, "image/svg+xml");
    const image = document.importNode(doc.documentElement, true);
    image.setAttribute("role", "img");
    image.setAttribute("aria-label", t("me.qrLabel"));
    image.classList.add("qr-image");
    const until = new Date(qr.valid_until).getTime();
    const left = h("p", { id: "qr-valid", role: "status" });
    const tick = () => {
      const s = Math.max(0, Math.round((until - Date.now()) / 1000));
      left.textContent = t("me.validFor", { s, time: fmtTime(qr.valid_until) });
    };
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    replace(qrBox, h("h3", { id: "qr-title", text: t("me.qr") }), image, left, h("p", { class: "hint", text: t("me.qrHint") }));
    qrBox.dataset.validUntil = qr.valid_until;
    const wait = Math.max(1000, Math.min(MAX_INTERVAL_MS, until - Date.now() - MARGIN_MS));
    timer = setTimeout(refreshQr, wait);
  }

  signal.addEventListener("abort", () => { clearTimeout(timer); clearInterval(countdown); });
  await refreshQr();
  try {
    const rows = await api("/me/access-events", { params: { limit: 100 }, signal });
    replace(history, rows.length === 0 ? [h("h3", { text: t("me.history") }), emptyNote("me.noHistory")] :
      table(t("me.history"), [t("common.time"), t("common.building"), t("gates.gate"), t("gates.direction"), t("gates.decision"), t("gates.reason")],
        rows.map((r) => [fmtDateTime(r.ts), r.building_id, r.device_id, tid("direction", r.direction),
          tid("decision", r.decision), tid("reason", r.reason)]),
        { id: "history-table" }));
  } catch (error) {
    replace(history, h("p", { class: "error", text: error instanceof ApiError && error.status === 404 ? t("me.noPerson") : error.message }));
  }
}

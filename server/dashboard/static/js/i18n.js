// Message catalogues (one JSON file per language) and local-time formatting.

const LANG_KEY = "dorm.lang";
export const LANGUAGES = ["zh-CN", "en"];
const DEFAULT_LANG = "zh-CN";

let lang = DEFAULT_LANG;
let messages = {};
let fallback = {};
let timeZone = undefined; // the campus time zone once known; the browser's until then

export function currentLang() {
  return lang;
}

export function savedLang() {
  const saved = localStorage.getItem(LANG_KEY);
  return LANGUAGES.includes(saved) ? saved : DEFAULT_LANG;
}

async function fetchCatalogue(name) {
  const response = await fetch(`/i18n/${name}.json`);
  if (!response.ok) throw new Error(`no catalogue for ${name}`);
  return response.json();
}

export async function setLang(next) {
  if (!LANGUAGES.includes(next)) next = DEFAULT_LANG;
  messages = await fetchCatalogue(next);
  if (next !== "en" && Object.keys(fallback).length === 0) fallback = await fetchCatalogue("en");
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next;
  translateStatic(document);
}

export function setTimeZone(zone) {
  timeZone = zone || undefined;
}

export function campusTimeZone() {
  return timeZone;
}

/** t("alerts.total", {n: 3}) → the message with {n} replaced; the key if none. */
export function t(key, params = {}) {
  const text = messages[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** The translated value of an enumerated id (rule, reason, status...) or the id itself. */
export function tid(group, id) {
  if (id === null || id === undefined) return "—";
  const key = `${group}.${id}`;
  const text = messages[key] ?? fallback[key];
  return text ?? String(id);
}

/** Fill [data-i18n] text and [data-i18n-label] aria-labels under root. */
export function translateStatic(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  document.title = t("app.title");
}

function format(iso, options) {
  if (!iso) return "—";
  const date = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang, { timeZone, hour12: false, ...options }).format(date);
}

export const fmtDateTime = (iso) =>
  format(iso, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
export const fmtTime = (iso) => format(iso, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
export const fmtShort = (iso) => format(iso, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
export const fmtHour = (iso) => format(iso, { hour: "2-digit" });
export const fmtDay = (iso) => format(iso, { month: "2-digit", day: "2-digit", weekday: "short" });

/** Midnight of the campus-local day containing `date`, `daysBack` days earlier, as a Date. */
export function localMidnight(date = new Date(), daysBack = 0) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(date).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  const offsetMs = asUtc - Math.floor(date.getTime() / 1000) * 1000; // local minus UTC
  const midnightLocal = Date.UTC(+parts.year, +parts.month - 1, +parts.day - daysBack);
  return new Date(midnightLocal - offsetMs);
}

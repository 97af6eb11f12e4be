// The REST API with the bearer token kept in sessionStorage (no cookies: no CSRF surface).

const TOKEN_KEY = "dorm.token";
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

function detailOf(body) {
  if (!body) return "";
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  return JSON.stringify(body);
}

/** Call `path` under /api/v1; JSON in and out. A 401 logs the viewer out. */
export async function api(path, { method = "GET", body, params, signal } = {}) {
  let url = API + path;
  if (params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") query.set(k, v);
    }
    const text = query.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const headers = authHeaders({ Accept: "application/json" });
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let payload = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) payload = await response.json();
  if (!response.ok) {
    if (response.status === 401) {
      setToken(null);
      window.dispatchEvent(new Event("dorm:logout"));
    }
    throw new ApiError(response.status, detailOf(payload) || response.statusText);
  }
  return payload;
}

export async function login(username, password) {
  const form = new URLSearchParams({ username, password });
  const response = await fetch(`${API}/login/access-token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, detailOf(payload));
  setToken(payload.access_token);
}

/** Every page of a cursor-paginated list (``items`` + ``next_cursor``), up to maxPages. */
export async function allPages(path, params, maxPages = 20) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const result = await api(path, { params: { ...params, cursor } });
    items.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return items;
}

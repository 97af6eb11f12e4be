// The dashboard shell: login, navigation by role, hash routes, language switch.

import { api, login, setToken, token, ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { savedLang, setLang, setTimeZone, t } from "./i18n.js";
import * as alerts from "./pages/alerts.js";
import * as building from "./pages/building.js";
import * as devices from "./pages/devices.js";
import * as duty from "./pages/duty.js";
import * as gates from "./pages/gates.js";
import * as me from "./pages/me.js";
import * as overview from "./pages/overview.js";

const STAFF = ["counselor", "security", "admin"];

// What each role may open; the API scopes the data, the UI hides what a role cannot use.
const PAGES = [
  { id: "alerts", page: alerts, roles: STAFF },
  { id: "overview", page: overview, roles: STAFF },
  { id: "building", page: building, roles: STAFF },
  { id: "gates", page: gates, roles: STAFF },
  { id: "duty", page: duty, roles: ["counselor", "admin"] },
  { id: "devices", page: devices, roles: STAFF },
  { id: "me", page: me, roles: ["student", "counselor", "security", "admin"], needsPerson: true },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let user = null;
let leavePage = null;
let pageController = null;

function allowedPages() {
  if (!user) return [];
  return PAGES.filter((p) => p.roles.includes(user.role) && (!p.needsPerson || user.person_id));
}

function currentRoute() {
  const [id, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { id, args: rest.map(decodeURIComponent) };
}

let navKey = "";

function renderNav() {
  // Rebuilt only when the viewer or the language changes, so focus stays on a link.
  const route = currentRoute();
  const pages = allowedPages();
  const key = `${user ? user.id : ""}|${document.documentElement.lang}|${pages.map((p) => p.id).join()}`;
  if (key !== navKey) {
    navKey = key;
    replace(
      nav,
      h("ul", {}, pages.map((p) => h("li", {}, h("a", { href: `#/${p.id}`, id: `nav-${p.id}`, text: t(`nav.${p.id}`) })))),
    );
  }
  for (const link of nav.querySelectorAll("a")) {
    if (link.id === `nav-${route.id}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const who = document.getElementById("whoami");
  who.textContent = user ? t("app.signedInAs", { role: t(`role.${user.role}`) }) : "";
  document.getElementById("logout").hidden = !user;
}

function stopPage() {
  if (pageController) pageController.abort();
  pageController = null;
  if (leavePage) leavePage();
  leavePage = null;
}

let routeSeq = 0;

async function route() {
  const seq = ++routeSeq; // a later route() supersedes this one after any await
  stopPage();
  if (!token()) {
    user = null;
    renderNav();
    renderLogin();
    return;
  }
  if (!user) {
    try {
      user = await api("/me");
      const campus = await api("/dashboard/campus").catch(() => null);
      if (campus) setTimeZone(campus.timezone);
    } catch (error) {
      if (seq !== routeSeq) return;
      setToken(null);
      user = null;
      renderNav();
      renderLogin(error instanceof ApiError ? error.detail : String(error));
      return;
    }
  }
  if (seq !== routeSeq) return;
  const pages = allowedPages();
  const { id, args } = currentRoute();
  const entry = pages.find((p) => p.id === id);
  renderNav();
  if (!entry) {
    if (pages.length === 0) {
      replace(main, h("p", { class: "empty", text: t("app.nothingForRole") }));
      return;
    }
    location.replace(`#/${pages[0].id}`);
    return;
  }
  // Routes can overlap (a hash change while a page still loads): each one only
  // touches the page while its own controller is live.
  stopPage();
  const controller = new AbortController();
  pageController = controller;
  replace(main);
  try {
    const leave = (await entry.page.render(main, { user, args, signal: controller.signal })) || null;
    if (controller.signal.aborted) {
      if (leave) leave();
    } else {
      leavePage = leave;
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    replace(main, h("p", { class: "error", role: "alert", text: t("app.loadFailed", { reason: error.message }) }));
  }
}

function renderLogin(problem) {
  const error = h("p", { id: "login-error", class: "error", role: "alert", text: problem || "" });
  const form = h(
    "form",
    {
      class: "login card",
      "aria-labelledby": "login-title",
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        error.textContent = "";
        try {
          await login(String(data.get("username")), String(data.get("password")));
          user = null;
          if (!location.hash || location.hash === "#/") await route();
          else await route();
        } catch (e) {
          error.textContent = e instanceof ApiError && e.status === 400 ? t("login.failed") : String(e.message);
        }
      },
    },
    h("h2", { id: "login-title", text: t("login.title") }),
    h("label", { for: "username", text: t("login.username") }),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password", text: t("login.password") }),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", id: "login-submit", text: t("login.submit") }),
    error,
  );
  replace(main, form);
}

async function start() {
  const select = document.getElementById("lang");
  await setLang(savedLang());
  select.value = savedLang();
  select.addEventListener("change", async () => {
    await setLang(select.value);
    await route();
  });
  document.getElementById("logout").addEventListener("click", () => {
    setToken(null);
    user = null;
    location.hash = "";
    route();
  });
  window.addEventListener("dorm:logout", () => {
    user = null;
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();

// The front end's entry point: path routing (History API), navigation by role, language switch.
import { post, patch, setCsrf } from "./api.js";
import { h, clear } from "./dom.js";
import { t, lang, setLang } from "./i18n.js";
import { session, loadSession, nav, link, clearNotice, showError, heading, forgetPendingBooking } from "./state.js";
import { homeView, practitionerView } from "./public.js";
import { loginView, registerView, verifyEmailView, forgotView, resetView } from "./auth.js";
import { accountView } from "./patient.js";
import { proView } from "./pro.js";
import { adminView } from "./admin.js";

const routes = [
  [/^\/$/, homeView],
  [/^\/practitioners\/([0-9a-f-]{36})$/, practitionerView],
  [/^\/login$/, loginView],
  [/^\/register$/, registerView],
  [/^\/verify-email$/, verifyEmailView],
  [/^\/forgot-password$/, forgotView],
  [/^\/reset-password$/, resetView],
  [/^\/account(?:\/([a-z-]+))?$/, accountView],
  [/^\/pro(?:\/([a-z-]+))?$/, proView],
  [/^\/admin(?:\/([a-z-]+))?$/, adminView],
];

const HOME_BY_ROLE = { patient: "/account", practitioner: "/pro", admin: "/admin" };

export function homeFor(account) {
  return (account && HOME_BY_ROLE[account.role]) || "/";
}

function renderNav() {
  const items = [];
  const here = window.location.pathname;
  const item = (href, text) =>
    h("li", {}, link(href, text, { "aria-current": here === href ? "page" : undefined }));
  items.push(item("/", t("nav.search")));
  const account = session.account;
  if (account) {
    if (account.role === "patient") {
      items.push(item("/account", t("nav.appointments")));
      items.push(item("/account/privacy", t("nav.privacy")));
      items.push(item("/account/security", t("nav.security")));
    } else if (account.role === "practitioner") {
      items.push(item("/pro", t("nav.practice")));
      items.push(item("/pro/agenda", t("nav.agenda")));
      items.push(item("/pro/hours", t("nav.hours")));
      items.push(item("/pro/absences", t("nav.absences")));
      items.push(item("/pro/reasons", t("nav.reasons")));
      items.push(item("/account/security", t("nav.security")));
    } else if (account.role === "admin") {
      items.push(item("/admin", t("nav.admin")));
      items.push(item("/admin/clients", t("nav.clients")));
      items.push(item("/account/security", t("nav.security")));
    }
    items.push(
      h("li", {}, h("button", { type: "button", class: "link-button", id: "logout", on: { click: logout } }, t("nav.logout"))),
    );
  } else {
    items.push(item("/login", t("nav.login")));
    items.push(item("/register", t("nav.register")));
  }
  const navEl = document.getElementById("nav");
  navEl.setAttribute("aria-label", t("nav.label"));
  clear(navEl, h("ul", {}, items));
}

async function logout() {
  try {
    await post("/api/v1/auth/logout");
  } catch (error) {
    showError(error);
  }
  setCsrf(null);
  session.account = null;
  forgetPendingBooking();
  go("/");
}

/** On a phone the navigation folds behind one button, so the header stays one line high. */
function setMenu(open) {
  document.querySelector("header.site").classList.toggle("menu-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
}

function renderChrome() {
  document.documentElement.lang = lang();
  const other = lang() === "fr" ? "en" : "fr";
  const switcher = document.getElementById("lang-switch");
  switcher.textContent = other === "en" ? "English" : "Français";
  switcher.lang = other;
  document.getElementById("skip-link").textContent = t("nav.skip");
  document.getElementById("menu-toggle").textContent = t("nav.menu");
  document.getElementById("footer-charter").textContent = t("footer.charter");
  document.getElementById("footer-charter").href = `/charter?lang=${lang()}`;
  document.getElementById("footer-transparency").textContent = t("footer.transparency");
  document.getElementById("footer-transparency").href = `/transparency?lang=${lang()}`;
  document.getElementById("footer-tagline").textContent = t("footer.tagline");
  renderNav();
}

let firstRender = true;

export async function render() {
  renderChrome();
  const main = document.getElementById("main");
  const path = window.location.pathname.replace(/\/+$/, "") || "/";
  let view = null;
  let match = null;
  for (const [pattern, candidate] of routes) {
    match = path.match(pattern);
    if (match) {
      view = candidate;
      break;
    }
  }
  clear(main);
  if (!view) {
    main.append(heading(t("notfound.title")), h("p", {}, t("notfound.text")), h("p", {}, link("/", t("nav.search"))));
    document.title = `${t("notfound.title")} — erdv`;
    return;
  }
  try {
    await view(main, match[1]);
  } catch (error) {
    showError(error);
  }
  const title = main.querySelector("h1");
  document.title = title ? `${title.textContent} — erdv` : "erdv";
  if (!firstRender && title) title.focus();
  firstRender = false;
}

export function go(path, { replace = false } = {}) {
  clearNotice();
  setMenu(false);
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  return render();
}
nav.go = go;
nav.homeFor = homeFor;
nav.refreshNav = renderNav;

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-link]");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(anchor.getAttribute("href"));
});

window.addEventListener("popstate", () => render());

document.getElementById("menu-toggle").addEventListener("click", (event) => {
  setMenu(event.currentTarget.getAttribute("aria-expanded") !== "true");
});

document.getElementById("lang-switch").addEventListener("click", async () => {
  setLang(lang() === "fr" ? "en" : "fr");
  await render();
  // a signed-in person's mails follow the language they read the site in
  if (session.account) {
    try {
      await patch("/api/v1/me", { language: lang() });
    } catch (error) {
      showError(error);
    }
  }
});

await loadSession();
await render();

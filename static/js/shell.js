// The page shell, written once here: skip link, header (brand, menu button, navigation by role,
// language switch), the message region, <main>, footer. index.html is an empty body; every text comes
// from t(), so switching the language re-renders the shell like any view.
import { post, setCsrf } from "./api.js";
import { h, clear } from "./dom.js";
import { t, lang, otherLang } from "./i18n.js";
import { session, nav, showError, forgetPendingBooking } from "./state.js";
import { link } from "./widgets.js";

/** Names, not texts: the same in every language. */
export const BRAND = "erdv";
const API_DOCUMENT = "API (OpenAPI)";

const NAV_BY_ROLE = {
  patient: [["/account", "nav.appointments"], ["/account/privacy", "nav.privacy"], ["/account/security", "nav.security"]],
  practitioner: [
    ["/pro", "nav.practice"], ["/pro/agenda", "nav.agenda"], ["/pro/hours", "nav.hours"], ["/pro/places", "nav.places"], ["/pro/absences", "nav.absences"],
    ["/pro/reasons", "nav.reasons"], ["/pro/team", "nav.team"], ["/account/security", "nav.security"],
  ],
  secretary: [["/desk", "nav.desk"], ["/account/security", "nav.security"]],
  admin: [["/admin", "nav.admin"], ["/admin/clients", "nav.clients"], ["/account/security", "nav.security"]],
};
const VISITOR_NAV = [["/login", "nav.login"], ["/register", "nav.register"]];

// built once: the live region must exist before a message is put in it; <main> holds the first
// view, and each render puts a fresh copy of it in its place (app.js `render`)
const skip = h("a", { class: "skip", href: "#main", id: "skip-link" });
const header = h("header", { class: "site" });
const notice = h("div", { id: "notice", class: "notice", role: "status", "aria-live": "polite", "aria-atomic": "true" });
export const main = h("main", { id: "main", tabindex: "-1" });
const footer = h("footer", { class: "site" });

/** Put the shell in the empty body; `onLanguage(code)` runs when the reader switches language. */
export function mountShell({ onLanguage }) {
  document.body.append(skip, header, notice, main, footer);
  header.addEventListener("click", (event) => {
    if (event.target.closest("#menu-toggle")) setMenu(!header.classList.contains("menu-open"));
    else if (event.target.closest("#lang-switch")) onLanguage(otherLang());
    else if (event.target.closest("#logout")) logout();
  });
}

/**
 * Write the shell's texts and the navigation for whoever is signed in, in the current language; the
 * navigation waits (`withNav: false`) until the session is known, so a visitor's links never flash.
 */
export function renderShell({ withNav = true } = {}) {
  document.documentElement.lang = lang();
  clear(skip, t("nav.skip"));
  const open = header.classList.contains("menu-open");
  clear(header,
    h("p", { class: "brand" }, link("/", BRAND)),
    h("button", { type: "button", id: "menu-toggle", class: "menu-toggle secondary", "aria-expanded": String(open), "aria-controls": "nav" }, t("nav.menu")),
    h("nav", { id: "nav", "aria-label": t("nav.label") }, withNav ? h("ul", {}, navItems()) : null),
    h("button", { type: "button", id: "lang-switch", class: "link-button", lang: otherLang() }, t("lang.other")));
  clear(footer,
    h("ul", {},
      h("li", {}, h("a", { href: `/charter?lang=${lang()}`, id: "footer-charter" }, t("footer.charter"))),
      h("li", {}, h("a", { href: `/transparency?lang=${lang()}`, id: "footer-transparency" }, t("footer.transparency"))),
      h("li", {}, h("a", { href: "/openapi.json", id: "footer-api" }, API_DOCUMENT))),
    h("p", { id: "footer-tagline" }, t("footer.tagline")));
}

function navItems() {
  const here = window.location.pathname;
  const item = ([href, key]) => h("li", {}, link(href, t(key), { "aria-current": here === href ? "page" : undefined }));
  const account = session.account;
  if (!account) return [["/", "nav.search"], ...VISITOR_NAV].map(item);
  return [
    ...[["/", "nav.search"], ...(NAV_BY_ROLE[account.role] || [])].map(item),
    h("li", {}, h("button", { type: "button", class: "link-button", id: "logout" }, t("nav.logout"))),
  ];
}

/** On a phone the navigation folds behind one button, so the header stays one line high. */
export function setMenu(open) {
  header.classList.toggle("menu-open", open);
  header.querySelector("#menu-toggle")?.setAttribute("aria-expanded", String(open));
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
  nav.go("/");
}

// The front end's entry point: path routing (History API), each signed-in route behind the one role
// gate, and the language switch. The shell around the views is shell.js.
import { patch, post, setCsrf } from "./api.js";
import { h } from "./dom.js";
import { t, lang, setLang } from "./i18n.js";
import { session, loadSession, nav, clearNotice, showError } from "./state.js";
import { heading, link, loading } from "./widgets.js";
import { requireRole } from "./gate.js";
import { BRAND, main, mountShell, renderShell, setMenu } from "./shell.js";
import { homeView, practitionerView } from "./public.js";
import { loginView, registerView, verifyEmailView, confirmEmailView, forgotView, resetView } from "./auth.js";
import { appointmentsView, privacyView, securityView } from "./patient.js";
import { practiceView, agendaView, hoursView, absencesView, reasonsView } from "./pro.js";
import { dashboardView, clientsView } from "./admin.js";
import { teamView, invitationView, deskView, practiceDeskView } from "./desk.js";
import { waitlistView } from "./waitlist.js";
import { placesView } from "./places.js";

const PATIENT = ["patient"];
const PRACTITIONER = ["practitioner"];
const ADMIN = ["admin"];
const SECRETARY = ["secretary"];
const ANY_ACCOUNT = ["patient", "practitioner", "secretary", "admin"];

const routes = [
  [/^\/$/, homeView],
  [/^\/practitioners\/([0-9a-f-]{36})$/, practitionerView],
  [/^\/login$/, loginView],
  [/^\/register$/, registerView],
  [/^\/verify-email$/, verifyEmailView],
  [/^\/confirm-email$/, confirmEmailView],
  [/^\/forgot-password$/, forgotView],
  [/^\/reset-password$/, resetView],
  [/^\/account$/, requireRole(PATIENT, appointmentsView)],
  [/^\/waitlist\/([0-9a-f-]{36})$/, requireRole(PATIENT, waitlistView)],
  [/^\/account\/privacy$/, requireRole(PATIENT, privacyView)],
  [/^\/account\/security$/, requireRole(ANY_ACCOUNT, securityView)],
  [/^\/pro$/, requireRole(PRACTITIONER, practiceView)],
  [/^\/pro\/agenda$/, requireRole(PRACTITIONER, agendaView)],
  [/^\/pro\/hours$/, requireRole(PRACTITIONER, hoursView)],
  [/^\/pro\/absences$/, requireRole(PRACTITIONER, absencesView)],
  [/^\/pro\/places$/, requireRole(PRACTITIONER, placesView)],
  [/^\/pro\/reasons$/, requireRole(PRACTITIONER, reasonsView)],
  [/^\/pro\/team$/, requireRole(PRACTITIONER, teamView)],
  [/^\/invitations\/([A-Za-z0-9_-]+)$/, invitationView],
  [/^\/desk$/, requireRole(SECRETARY, deskView)],
  [/^\/desk\/([0-9a-f-]{36})$/, requireRole(SECRETARY, practiceDeskView)],
  [/^\/admin$/, requireRole(ADMIN, dashboardView)],
  [/^\/admin\/clients$/, requireRole(ADMIN, clientsView)],
];

function pendingSignIn() {
  const cancel = h("button", { type: "button", class: "secondary", id: "pending-cancel", on: { click: async () => {
    try {
      await post("/api/v1/auth/logout");
    } catch (error) {
      showError(error);
      return;
    }
    setCsrf(null);
    session.pending = null;
    await go(window.location.pathname + window.location.search, { replace: true });
  } } }, t("pending.cancel"));
  return h("section", { class: "confirm pending-sign-in", id: "pending-sign-in", "aria-labelledby": "pending-title" },
    h("p", { id: "pending-title" }, h("strong", {}, t("pending.title"))), h("p", {}, t("pending.text")),
    h("p", { class: "actions" }, link("/login", t("pending.finish"), { class: "button", id: "pending-finish" }), " ", cancel));
}

function notFoundView(target) {
  target.append(heading(t("notfound.title")), h("p", {}, t("notfound.text")), h("p", {}, link("/", t("nav.search"))));
}

let firstRender = true;
let shown = main;

export async function render() {
  renderShell();
  const path = window.location.pathname.replace(/\/+$/, "") || "/";
  let view = notFoundView;
  let match = [];
  for (const [pattern, candidate] of routes) {
    const found = path.match(pattern);
    if (found) {
      [view, match] = [candidate, found];
      break;
    }
  }
  // Each render writes into a <main> of its own, put in place of the one shown: a render still
  // waiting for the server when the next one starts (a link clicked twice, a sign-in landing
  // while the person already clicks on) then fills an element that is no longer in the page,
  // rather than appending a second copy of its sections beside the newer render's.
  const target = shown.cloneNode(false);
  shown.replaceWith(target);
  shown = target;
  // a sign-in left at its second factor: every API call but the sign-in's answers mfa_required
  // until it is finished or cancelled, so each page says so first, with both ways out
  if (session.pending && path !== "/login") target.append(pendingSignIn());
  try {
    await view(target, match[1]);
  } catch (error) {
    // the pending sign-in's panel already says why the page is empty
    const pendingSaysIt = session.pending && error.code === "mfa_required";
    if (target === shown && !pendingSaysIt) showError(error);
  }
  if (target !== shown) return;
  const title = target.querySelector("h1");
  document.title = title ? `${title.textContent} — ${BRAND}` : BRAND;
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

async function switchLanguage(code) {
  setLang(code);
  await render();
  // a signed-in person's mails follow the language they read the site in
  if (session.account) {
    try {
      await patch("/api/v1/me", { language: lang() });
    } catch (error) {
      showError(error);
    }
  }
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-link]");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(anchor.getAttribute("href"));
});

window.addEventListener("popstate", () => render());

mountShell({ onLanguage: switchLanguage });
renderShell({ withNav: false });
main.append(loading());
await loadSession();
await render();

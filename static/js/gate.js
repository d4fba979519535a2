// The one role gate: every signed-in view is wrapped once, at its route in app.js, with the roles that
// may see it. The server decides what each account may read or change; this only chooses what to show.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { session } from "./state.js";
import { heading, link } from "./widgets.js";

const HOME_BY_ROLE = { patient: "/account", practitioner: "/pro", secretary: "/desk", admin: "/admin" };

/** Where an account starts: its own space, or the search for a visitor. */
export function homeFor(account) {
  return (account && HOME_BY_ROLE[account.role]) || "/";
}

/**
 * `view(main, ...)` for the accounts whose role is in `roles`; a visitor is asked to sign in, and
 * another account is sent to its own space.
 */
export function requireRole(roles, view) {
  return (main, ...args) => {
    const account = session.account;
    if (!account) {
      // only a patient comes back to the page asked for after signing in (auth.js, finishLogin)
      if (roles.includes("patient")) sessionStorage.setItem("erdv.after_login", window.location.pathname);
      main.append(heading(t("signin.required")), h("p", {}, link("/login", t("nav.login"), { class: "button" })));
      return undefined;
    }
    if (!roles.includes(account.role)) {
      main.append(heading(t("signin.wrong_role")), h("p", {}, link(homeFor(account), t("login.continue"))));
      return undefined;
    }
    return view(main, ...args);
  };
}

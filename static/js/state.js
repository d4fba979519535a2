// Shared state and helpers every view uses: the session, messages, navigation, formatting.
import { get, post, Problem, setCsrf } from "./api.js";
import { h, clear, field } from "./dom.js";
import { t, lang } from "./i18n.js";

export const session = { account: null, reauthenticatedAt: null };

export async function loadSession() {
  try {
    const info = await get("/api/v1/auth/session");
    session.account = info.account;
    session.reauthenticatedAt = info.reauthenticated_at;
    setCsrf(info.csrf_token);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    session.account = null;
  }
  return session.account;
}

// ---- messages, announced by the aria-live region -------------------------------------------------

export function notify(text, kind = "info") {
  const region = document.getElementById("notice");
  // emptied first so that the same message twice is announced twice
  clear(region);
  region.className = `notice ${kind}`;
  window.setTimeout(() => clear(region, h("p", {}, text)), 30);
}

export function clearNotice() {
  const region = document.getElementById("notice");
  clear(region);
  region.className = "notice";
}

/** A problem document as a clear sentence: the code's own message, else the server's detail. */
export function problemText(error) {
  if (!(error instanceof Problem)) return t("err.unexpected");
  const known = t(`err.${error.code}`, null);
  let text = known || error.body.detail || error.body.title || t("err.unexpected");
  if (Array.isArray(error.body.errors) && error.body.errors.length) {
    const fields = error.body.errors.map((e) => `${e.field}: ${e.message}`).join(" ; ");
    text = `${text} (${fields})`;
  }
  if (Array.isArray(error.body.missing) && error.body.missing.length && !known) {
    text = `${text} (${error.body.missing.join(", ")})`;
  }
  return text;
}

export function showError(error) {
  if (!(error instanceof Problem)) console.warn(error);
  notify(problemText(error), "error");
}

/**
 * Before something that cannot be retried after a 403 (a download the browser makes itself): ask for
 * password and code unless the last re-authentication still has a minute left. The server counts.
 */
export async function ensureRecentReauth() {
  const info = await get("/api/v1/auth/session");
  setCsrf(info.csrf_token);
  if (info.reauth_seconds_left >= 60) return true;
  return reauthDialog();
}

/** Run an action; on 403 reauth_required ask for password and code, then run it once more. */
export async function withReauth(action) {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof Problem) || error.code !== "reauth_required") throw error;
    const done = await reauthDialog();
    if (!done) throw error;
    return await action();
  }
}

export function reauthDialog() {
  return new Promise((resolve) => {
    const password = field(t("auth.password"), { type: "password", autocomplete: "current-password", required: true });
    const code = field(t("auth.code"), { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "[0-9]{6}", maxlength: 6 });
    const error = h("p", { class: "error-text", role: "alert" });
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "reauth-title" });
    const cancel = h("button", { type: "button", class: "secondary", on: { click: () => { dialog.close(); } } }, t("common.cancel"));
    const form = h(
      "form",
      {
        on: {
          submit: async (event) => {
            event.preventDefault();
            try {
              // re-authentication rotates the session: its new CSRF token comes back in the body
              const done = await post("/api/v1/auth/reauth", { password: password.input.value, code: code.input.value.trim() }, { Prefer: "return=representation" });
              setCsrf(done.csrf_token);
              session.reauthenticatedAt = done.reauthenticated_at;
              dialog.returnValue = "ok";
              dialog.close();
            } catch (failure) {
              clear(error, problemText(failure));
            }
          },
        },
      },
      h("h2", { id: "reauth-title" }, t("reauth.title")),
      h("p", {}, t("reauth.intro")),
      password.wrap,
      code.wrap,
      error,
      h("div", { class: "actions" }, h("button", { type: "submit" }, t("reauth.confirm")), cancel),
    );
    dialog.append(form);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.append(dialog);
    dialog.showModal();
    password.input.focus();
  });
}

// ---- navigation (set by app.js) ------------------------------------------------------------------

export const nav = { go: (path) => window.location.assign(path) };

export function link(href, text, attrs = {}) {
  return h("a", { href, "data-link": true, ...attrs }, text);
}

// ---- formatting ----------------------------------------------------------------------------------

const locale = () => (lang() === "en" ? "en-GB" : "fr-FR");

export function fmtDateTime(iso, timeZone) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "full", timeStyle: "short", timeZone }).format(new Date(iso));
}
export function fmtDay(iso, timeZone) {
  return new Intl.DateTimeFormat(locale(), { weekday: "long", day: "numeric", month: "long", timeZone }).format(new Date(iso));
}
export function fmtTime(iso, timeZone) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}
export function fmtShort(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}
/** The calendar day of an instant in a zone, as YYYY-MM-DD (for grouping). */
export function dayKey(iso, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone }).format(new Date(iso));
}

export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}

export function loading() {
  return h("p", { class: "muted" }, t("common.loading"));
}

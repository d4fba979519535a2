// Shared state every view uses: the session, a booking kept through sign-in, messages, re-authentication,
// navigation. Dates are in format.js, page parts in widgets.js.
import { get, post, Problem, setCsrf } from "./api.js";
import { h, clear, field } from "./dom.js";
import { t } from "./i18n.js";
import { isCancelled, passkeysSupported, reauthWithPasskey } from "./passkeys.js";

/** ``pending``: the second-factor step ("mfa" or "mfa_setup") of a sign-in left half-way. */
export const session = { account: null, reauthenticatedAt: null, pending: null };

/** Who is signed in: the probe answers 200 either way, so a visitor's browser logs no error. */
export async function loadSession() {
  try {
    const probe = await get("/api/v1/auth/session/probe");
    const info = probe.session;
    session.account = info ? info.account : null;
    session.reauthenticatedAt = info ? info.reauthenticated_at : null;
    session.pending = probe.pending ? probe.pending.next : null;
    setCsrf(info ? info.csrf_token : probe.pending ? probe.pending.csrf_token : null);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    session.account = null;
    session.pending = null;
  }
  return session.account;
}

// ---- a booking started before signing in ----------------------------------------------------------

const PENDING_KEY = "erdv.pending_booking";
const PENDING_TTL_MS = 60 * 60 * 1000;

/**
 * The slot a visitor chose before signing in or up, kept in this browser for an hour so that the
 * sign-in (or the e-mail check of a new account, often in another tab) leads back to it. Only ids
 * and a time: no name, no visit reason label.
 */
export function keepPendingBooking(practitionerId, reasonId, start) {
  try {
    localStorage.setItem(PENDING_KEY, JSON.stringify({ practitionerId, reasonId, start, savedAt: Date.now() }));
  } catch {
    /* storage off: the patient picks the slot again */
  }
}

/** The pending booking's address (its page with the slot chosen), or null; forgotten once read. */
export function takePendingBooking() {
  let pending = null;
  try {
    pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "null");
    localStorage.removeItem(PENDING_KEY);
  } catch {
    return null;
  }
  if (!pending || Date.now() - pending.savedAt > PENDING_TTL_MS) return null;
  if (!/^[0-9a-f-]{36}$/.test(pending.practitionerId) || !/^[0-9a-f-]{36}$/.test(pending.reasonId)) return null;
  const params = new URLSearchParams({ slot: pending.start, reason: pending.reasonId });
  return `/practitioners/${pending.practitionerId}?${params}`;
}

export function forgetPendingBooking() {
  try {
    localStorage.removeItem(PENDING_KEY);
  } catch {
    /* nothing kept */
  }
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

/**
 * A problem document as a clear sentence in the reader's language: the code's own message, then
 * each invalid field by its label and what is wrong with it (the API's messages are English, its
 * codes and types are what we translate).
 */
export function problemText(error) {
  if (!(error instanceof Problem)) return t("err.unexpected");
  const known = t(`err.${error.code}`, null);
  let text = known || t("err.unexpected");
  if (Array.isArray(error.body.errors) && error.body.errors.length) {
    const fields = error.body.errors.map((e) => {
      const name = String(e.field || "").split(".").pop();
      const label = t(`field.${name}`, null) || name;
      const what = t(`verr.${e.type}`, null) || t("verr.value_error");
      return t("common.pair", { label, value: what });
    });
    text = `${text} ${fields.join(" ; ")}.`;
  }
  if (Array.isArray(error.body.missing) && error.body.missing.length && !known) {
    text = `${text} (${error.body.missing.map((m) => t(`missing.${m}`, m)).join(", ")})`;
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

/**
 * An export is a plain download: the browser fetches it itself, so a 403 reauth_required would be
 * saved as the file instead of being answered. Exports stay behind a recent re-authentication
 * (SECURITY.md, ASVS V7.5.3), so the link asks for one first when the last is too old, then lets the
 * browser download.
 */
export function exportLink(href, file, label) {
  return h("a", { href, "data-base": href, download: file, on: { click: async (event) => {
    const anchor = event.currentTarget;
    if (anchor.dataset.ready === "1") {
      delete anchor.dataset.ready;
      return;
    }
    event.preventDefault();
    try {
      if (!(await ensureRecentReauth())) return;
      anchor.dataset.ready = "1";
      anchor.click();
    } catch (error) { showError(error); }
  } } }, label);
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
    // re-authentication rotates the session: its new CSRF token comes back in the body
    const confirmed = (done) => {
      setCsrf(done.csrf_token);
      session.reauthenticatedAt = done.reauthenticated_at;
      dialog.returnValue = "ok";
      dialog.close();
    };
    // a passkey proves as much as the password and a code (user verification): offered when the
    // browser can use one and the account has one
    const viaPasskey = h("p", { hidden: true },
      h("span", {}, t("mfa.passkey_intro")), " ",
      h("button", { type: "button", class: "secondary", id: "reauth-passkey", on: { click: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          confirmed(await reauthWithPasskey());
        } catch (failure) {
          clear(error, isCancelled(failure) ? t("passkeys.cancelled") : problemText(failure));
        } finally {
          button.disabled = false;
        }
      } } }, t("mfa.use_passkey")));
    if (passkeysSupported()) {
      get("/api/v1/me/passkeys").then((passkeys) => { viaPasskey.hidden = passkeys.length === 0; }, () => {});
    }
    const form = h(
      "form",
      {
        on: {
          submit: async (event) => {
            event.preventDefault();
            try {
              confirmed(await post("/api/v1/auth/reauth", { password: password.input.value, code: code.input.value.trim() }, { Prefer: "return=representation" }));
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
      viaPasskey,
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

// Sign-up and sign-in: register, email verification, login, TOTP enrolment, recovery codes,
// second-factor entry (a code, a recovery code or a passkey), sign-in with a passkey, forgotten and
// reset password.
import { post, setCsrf } from "./api.js";
import { h, clear, field, checkbox, base64Utf8 } from "./dom.js";
import { t, lang } from "./i18n.js";
import { session, loadSession, nav, notify, showError, takePendingBooking, forgetPendingBooking } from "./state.js";
import { heading, link, empty, form } from "./widgets.js";
import { homeFor } from "./gate.js";
import { passkeysSupported, passkeyButton, signInWithPasskey, passkeySecondFactor } from "./passkeys.js";

export async function registerView(main) {
  main.append(heading(t("register.title")), h("p", {}, t("register.intro")));
  const roleName = "role";
  const asPatient = h("input", { type: "radio", name: roleName, id: "role-patient", value: "patient", checked: true });
  const asPro = h("input", { type: "radio", name: roleName, id: "role-practitioner", value: "practitioner" });
  const name = field(t("register.full_name"), { autocomplete: "name", required: true, maxlength: 200 });
  const email = field(t("auth.email"), { type: "email", autocomplete: "email", required: true });
  const password = field(t("auth.password"), { type: "password", autocomplete: "new-password", required: true, minlength: 12 }, t("register.password_hint"));
  const phone = field(t("register.phone"), { type: "tel", autocomplete: "tel" }, t("register.phone_hint"));
  const rpps = field(t("register.rpps"), { inputmode: "numeric", pattern: "[0-9]{11}", maxlength: 11 }, t("register.rpps_hint"));
  rpps.wrap.hidden = true;
  const toggle = () => {
    rpps.wrap.hidden = !asPro.checked;
    rpps.input.required = asPro.checked;
  };
  asPatient.addEventListener("change", toggle);
  asPro.addEventListener("change", toggle);
  const done = h("div");
  main.append(
    form(
      async () => {
        const body = {
          email: email.input.value.trim(),
          password: password.input.value,
          full_name: name.input.value.trim(),
          role: asPro.checked ? "practitioner" : "patient",
          // the account's mails come in the language of this form
          language: lang(),
        };
        if (phone.input.value.trim()) body.phone = phone.input.value.trim();
        if (asPro.checked) body.rpps = rpps.input.value.trim();
        await post("/api/v1/auth/register", body);
        clear(main, heading(t("register.check_title")), h("p", {}, t("register.check_text", { email: body.email })));
        main.querySelector("h1").focus();
        notify(t("register.check_title"), "success");
      },
      h("fieldset", {}, h("legend", {}, t("register.role")),
        h("div", { class: "check" }, asPatient, h("label", { for: "role-patient" }, t("register.as_patient"))),
        h("div", { class: "check" }, asPro, h("label", { for: "role-practitioner" }, t("register.as_practitioner")))),
      name.wrap, email.wrap, password.wrap, phone.wrap, rpps.wrap,
      h("button", { type: "submit" }, t("register.submit")),
    ),
    done,
    h("p", {}, t("register.have_account"), " ", link("/login", t("nav.login"))),
  );
}

function fragmentToken() {
  return new URLSearchParams(window.location.hash.slice(1)).get("token");
}

/**
 * A page a mailed link opens (`/verify-email#token=…`, `/confirm-email#token=…`): the token leaves
 * the address bar at once (no history entry, no copy-paste leak), then goes to `endpoint`.
 */
async function mailedLinkPage(main, { title, path, endpoint, done, after }) {
  main.append(heading(t(title)));
  const token = fragmentToken();
  window.history.replaceState(null, "", path);
  if (!token) {
    main.append(empty(t("verify.missing")));
    return;
  }
  const status = h("p", {}, t("common.loading"));
  main.append(status);
  try {
    await post(endpoint, { token });
    clear(status, t(done));
    if (after) main.append(after());
    notify(t(done), "success");
  } catch (error) {
    clear(status, t("verify.failed"));
    showError(error);
  }
}

export function verifyEmailView(main) {
  return mailedLinkPage(main, {
    title: "verify.title", path: "/verify-email", endpoint: "/api/v1/auth/verify-email", done: "verify.done",
    after: () => h("p", {}, link("/login", t("nav.login"), { class: "button" })),
  });
}

/** The link mailed to a new address (a change asked from the profile): it becomes the account's. */
export function confirmEmailView(main) {
  return mailedLinkPage(main, {
    title: "confirm.title", path: "/confirm-email", endpoint: "/api/v1/auth/confirm-email", done: "confirm.done",
  });
}

const AFTER_LOGIN_OAUTH = "erdv.after_login_oauth";

/**
 * The OAuth consent page sends a visitor here with ?next=/oauth/authorize?...; only that path of this
 * origin is accepted as a place to return to (no open redirect).
 */
function oauthReturn(value) {
  if (!value) return null;
  try {
    const url = new URL(value, window.location.origin);
    if (url.origin !== window.location.origin || url.pathname !== "/oauth/authorize") return null;
    return `${url.pathname}${url.search}`;
  } catch {
    return null;
  }
}

export async function loginView(main) {
  const next = oauthReturn(new URLSearchParams(window.location.search).get("next"));
  // a sign-in started without the consent page behind it returns to the usual home
  if (next) sessionStorage.setItem(AFTER_LOGIN_OAUTH, next);
  else sessionStorage.removeItem(AFTER_LOGIN_OAUTH);
  if (session.account) {
    const target = next && session.account.role === "patient" ? h("a", { href: next }, t("login.continue")) : link(homeFor(session.account), t("login.continue"));
    main.append(heading(t("login.title")), h("p", {}, t("login.already")), h("p", {}, target));
    return;
  }
  // a sign-in left at its second factor (another page opened, the tab reloaded): go on from there
  if (session.pending === "mfa_setup") return enrolStep(main);
  if (session.pending === "mfa") return codeStep(main);
  main.append(heading(t("login.title")));
  if (next) main.append(empty(t("login.oauth_return"), { id: "oauth-return" }));
  const email = field(t("auth.email"), { type: "email", autocomplete: "username", required: true });
  const password = field(t("auth.password"), { type: "password", autocomplete: "current-password", required: true });
  main.append(
    form(
      async () => {
        const step = await post("/api/v1/auth/login", { email: email.input.value.trim(), password: password.input.value });
        setCsrf(step.csrf_token);
        session.pending = step.next;
        if (step.next === "mfa_setup") await enrolStep(main);
        else codeStep(main);
      },
      email.wrap, password.wrap,
      h("button", { type: "submit" }, t("login.submit")),
    ),
    // a discoverable passkey, user verified: the whole sign-in without password (docs/api.md)
    passkeysSupported() ? h("div", { class: "passkey-login" }, h("p", { class: "muted" }, t("login.or")),
      passkeyButton(t("login.passkey"), { id: "passkey-sign-in" }, async () => {
        const done = await signInWithPasskey();
        setCsrf(done.csrf_token);
        await finishLogin();
      })) : null,
    h("p", {}, link("/forgot-password", t("login.forgot"))),
    h("p", {}, t("login.no_account"), " ", link("/register", t("nav.register"))),
  );
}

async function finishLogin() {
  await loadSession();
  const oauth = oauthReturn(sessionStorage.getItem(AFTER_LOGIN_OAUTH));
  sessionStorage.removeItem(AFTER_LOGIN_OAUTH);
  if (oauth && session.account.role === "patient") {
    // the consent page is server-rendered: a full page load
    window.location.assign(oauth);
    return;
  }
  const back = sessionStorage.getItem("erdv.after_login");
  sessionStorage.removeItem("erdv.after_login");
  // a slot chosen before signing in (or up): back to its confirmation
  const pending = session.account.role === "patient" ? takePendingBooking() : (forgetPendingBooking(), null);
  await nav.go(pending || (back && session.account.role === "patient" ? back : homeFor(session.account)));
  notify(t("login.welcome", { name: session.account.full_name }), "success");
}

function codeStep(main) {
  clear(main, heading(t("mfa.title")), h("p", {}, t("mfa.intro")));
  const code = field(t("auth.code"), { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "[0-9]{6}", maxlength: 6, id: "mfa-code" });
  const recovery = field(t("mfa.recovery"), { autocomplete: "off", id: "mfa-recovery" }, t("mfa.recovery_hint"));
  const details = h("details", {}, h("summary", {}, t("mfa.use_recovery")), recovery.wrap);
  main.append(
    form(
      async () => {
        const body = recovery.input.value.trim() ? { recovery_code: recovery.input.value.trim() } : { code: code.input.value.trim() };
        const done = await post("/api/v1/auth/mfa/verify", body);
        setCsrf(done.csrf_token);
        await finishLogin();
      },
      code.wrap, details,
      h("button", { type: "submit" }, t("mfa.submit")),
    ),
    // instead of the code: a passkey of this account (the API answers no_passkey if it has none)
    passkeysSupported() ? h("div", { class: "passkey-login" }, h("p", {}, t("mfa.passkey_intro")),
      passkeyButton(t("mfa.use_passkey"), { id: "mfa-passkey" }, async () => {
        const done = await passkeySecondFactor();
        setCsrf(done.csrf_token);
        await finishLogin();
      })) : null,
  );
  code.input.addEventListener("input", () => { code.input.required = !recovery.input.value; });
  recovery.input.addEventListener("input", () => { code.input.required = !recovery.input.value; });
  main.querySelector("h1").focus();
}

async function enrolStep(main) {
  const setup = await post("/api/v1/auth/mfa/totp/setup");
  clear(main, heading(t("enrol.title")), h("p", {}, t("enrol.intro")));
  // our own API's SVG, shown as an image: no markup from a response is ever put in the page
  const qr = h("img", { class: "qr", src: `data:image/svg+xml;base64,${base64Utf8(setup.qr_svg)}`, alt: t("enrol.qr_alt"), width: 200, height: 200 });
  const secret = h("code", { id: "totp-secret", class: "secret" }, setup.secret);
  const copy = h("button", {
    type: "button",
    class: "secondary",
    on: {
      click: async () => {
        try {
          await navigator.clipboard.writeText(setup.secret);
          notify(t("enrol.copied"), "success");
        } catch {
          notify(t("enrol.copy_failed"), "error");
        }
      },
    },
  }, t("enrol.copy"));
  const code = field(t("auth.code"), { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "[0-9]{6}", maxlength: 6, id: "enrol-code" });
  main.append(
    h("div", { class: "enrol" }, qr, h("div", {}, h("p", {}, t("enrol.secret_label")), h("p", {}, secret, " ", copy))),
    form(
      async () => {
        const done = await post("/api/v1/auth/mfa/totp/activate", { code: code.input.value.trim() });
        setCsrf(done.csrf_token);
        recoveryStep(main, done.recovery_codes);
      },
      code.wrap,
      h("button", { type: "submit" }, t("enrol.submit")),
    ),
  );
  main.querySelector("h1").focus();
}

function recoveryStep(main, codes) {
  clear(main, heading(t("recovery.title")), h("p", {}, t("recovery.intro")));
  const saved = checkbox(t("recovery.saved"), { id: "recovery-saved" });
  const next = h("button", { type: "button", id: "recovery-continue", disabled: true, on: { click: () => finishLogin() } }, t("recovery.continue"));
  saved.input.addEventListener("change", () => { next.disabled = !saved.input.checked; });
  main.append(h("ol", { class: "codes", id: "recovery-codes" }, codes.map((c) => h("li", {}, h("code", {}, c)))), saved.wrap, h("p", {}, next));
  main.querySelector("h1").focus();
  notify(t("enrol.done"), "success");
}

export async function forgotView(main) {
  main.append(heading(t("forgot.title")), h("p", {}, t("forgot.intro")));
  const email = field(t("auth.email"), { type: "email", autocomplete: "email", required: true });
  main.append(form(async () => {
    await post("/api/v1/auth/password/forgot", { email: email.input.value.trim() });
    clear(main, heading(t("forgot.title")), h("p", {}, t("forgot.sent")));
    notify(t("forgot.sent"), "success");
  }, email.wrap, h("button", { type: "submit" }, t("forgot.submit"))));
}

export async function resetView(main) {
  // kept in memory only: the fragment leaves the address bar at once
  const token = fragmentToken();
  window.history.replaceState(null, "", "/reset-password");
  main.append(heading(t("reset.title")));
  if (!token) {
    main.append(empty(t("reset.missing")), h("p", {}, link("/forgot-password", t("login.forgot"))));
    return;
  }
  const password = field(t("reset.new_password"), { type: "password", autocomplete: "new-password", required: true, minlength: 12 }, t("register.password_hint"));
  const code = field(t("auth.code"), { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6 }, t("reset.code_hint"));
  const recovery = field(t("mfa.recovery"), { autocomplete: "off" });
  main.append(
    h("p", {}, t("reset.intro")),
    form(async () => {
      const body = { token, new_password: password.input.value };
      if (recovery.input.value.trim()) body.recovery_code = recovery.input.value.trim();
      else body.code = code.input.value.trim();
      await post("/api/v1/auth/password/reset", body);
      await nav.go("/login");
      notify(t("reset.done"), "success");
    }, password.wrap, code.wrap, h("details", {}, h("summary", {}, t("mfa.use_recovery")), recovery.wrap), h("button", { type: "submit" }, t("reset.submit"))),
  );
}

// Passkeys (WebAuthn): the browser side of the ceremonies, and the security page's list.
// The API sends WebAuthn's JSON forms (binary members in base64url) and takes them back
// (docs/api.md "Passkeys"). PublicKeyCredential.parseCreationOptionsFromJSON and toJSON() are not in
// every browser yet, so the few binary members are converted here by hand.
import { get, post, patch, del } from "./api.js";
import { h, field } from "./dom.js";
import { t } from "./i18n.js";
import { nav, notify, showError, withReauth } from "./state.js";
import { fmtShort } from "./format.js";
import { section, cards } from "./widgets.js";

export function passkeysSupported() {
  return Boolean(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create);
}

function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptors = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

function common(credential) {
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || null,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
  };
}

/** A cancelled or timed-out prompt is not an error worth a red message: say so and stop. */
class Cancelled extends Error {}

async function browserCall(call) {
  try {
    return await call();
  } catch (error) {
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) throw new Cancelled();
    throw error;
  }
}

/** navigator.credentials.create() with the API's creation options: the RegistrationResponseJSON. */
export async function createPasskey(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  };
  const credential = await browserCall(() => navigator.credentials.create({ publicKey }));
  const response = credential.response;
  return {
    ...common(credential),
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    },
  };
}

/** navigator.credentials.get() with the API's request options: the AuthenticationResponseJSON. */
export async function getPasskey(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  };
  const credential = await browserCall(() => navigator.credentials.get({ publicKey }));
  const response = credential.response;
  return {
    ...common(credential),
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    },
  };
}

/**
 * A button that runs a passkey ceremony: disabled meanwhile, a cancelled prompt told plainly, any
 * problem shown in the notice region.
 */
export function passkeyButton(label, attrs, run) {
  const button = h("button", { type: "button", class: "secondary", ...attrs, on: { click: async () => {
    button.disabled = true;
    try {
      await run();
    } catch (error) {
      if (error instanceof Cancelled) notify(t("passkeys.cancelled"), "info");
      else showError(error);
    } finally {
      if (button.isConnected) button.disabled = false;
    }
  } } }, label);
  return button;
}

/** Sign in without password: a discoverable passkey, user verified (a full session). */
export async function signInWithPasskey() {
  const options = await post("/api/v1/auth/passkey/options");
  return post("/api/v1/auth/passkey", { credential: await getPasskey(options) });
}

/** Re-authentication with a passkey instead of the password and a code: /reauth's answer. */
export async function reauthWithPasskey() {
  const options = await post("/api/v1/auth/reauth/passkey/options");
  return post("/api/v1/auth/reauth/passkey", { credential: await getPasskey(options) }, { Prefer: "return=representation" });
}

/** Whether a ceremony ended because the person dismissed the browser's prompt. */
export function isCancelled(error) {
  return error instanceof Cancelled;
}

/** The second factor after the password, with a passkey instead of a code. */
export async function passkeySecondFactor() {
  const options = await post("/api/v1/auth/mfa/passkey/options");
  return post("/api/v1/auth/mfa/passkey", { credential: await getPasskey(options) });
}

function reload() {
  return nav.go("/account/security", { replace: true });
}

function passkeyCard(passkey) {
  const name = field(t("passkeys.name"), { required: true, maxlength: 64, value: passkey.name, id: `passkey-name-${passkey.id}` });
  const rename = h("form", { hidden: true, on: { submit: async (event) => {
    event.preventDefault();
    try {
      await patch(`/api/v1/me/passkeys/${passkey.id}`, { name: name.input.value });
      await reload();
      notify(t("passkeys.renamed"), "success");
    } catch (error) { showError(error); }
  } } }, name.wrap, h("button", { type: "submit" }, t("common.save")));
  const used = passkey.last_used_at ? `${t("passkeys.last_used")} ${fmtShort(passkey.last_used_at)}` : t("passkeys.never_used");
  return h("li", { class: "card", "data-passkey": passkey.id },
    h("h3", {}, passkey.name),
    h("p", {}, `${t("passkeys.created")} ${fmtShort(passkey.created_at)} · ${used}`),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", "aria-expanded": "false", on: { click: (event) => {
        rename.hidden = !rename.hidden;
        event.currentTarget.setAttribute("aria-expanded", String(!rename.hidden));
        if (!rename.hidden) name.input.focus();
      } } }, t("passkeys.rename")),
      h("button", { type: "button", class: "danger", on: { click: async () => {
        try {
          await withReauth(() => del(`/api/v1/me/passkeys/${passkey.id}`));
          await reload();
          notify(t("passkeys.removed"), "success");
        } catch (error) { showError(error); }
      } } }, t("passkeys.remove"))),
    rename);
}

/** The security page's passkeys: the list (rename, remove) and "Add a passkey". */
export async function passkeySection() {
  const passkeys = await get("/api/v1/me/passkeys");
  const body = [h("p", {}, t("passkeys.intro")), cards(passkeys, passkeyCard, t("passkeys.empty"), { id: "passkey-list" })];
  if (!passkeysSupported()) {
    body.push(h("p", { class: "muted" }, t("passkeys.unsupported")));
  } else {
    const name = field(t("passkeys.name"), { maxlength: 64, id: "new-passkey-name" }, t("passkeys.name_hint"));
    const add = passkeyButton(t("passkeys.add"), { id: "add-passkey", class: null }, async () => {
      // registering an authenticator needs a recent re-authentication (docs/security.md "MFA")
      const options = await withReauth(() => post("/api/v1/auth/passkeys/options"));
      const credential = await createPasskey(options);
      const body = { credential };
      if (name.input.value.trim()) body.name = name.input.value.trim();
      await post("/api/v1/auth/passkeys", body);
      await reload();
      notify(t("passkeys.added"), "success");
    });
    body.push(name.wrap, h("p", {}, add));
  }
  return section({ heading: "passkeys-title", title: t("passkeys.title"), id: "passkeys" }, ...body);
}

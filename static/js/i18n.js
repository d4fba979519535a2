// The one way a text reaches the page: t("key") from lang/fr.js or lang/en.js. French is the default,
// English on request; the choice is remembered in this browser, and in the account when signed in (its
// mails follow it). Even the language's punctuation ("common.pair") and its date locale ("lang.locale",
// for Intl) come from the dictionaries, so no view ever branches on the language itself.
import { FR } from "./lang/fr.js";
import { EN } from "./lang/en.js";

const DICTIONARIES = { fr: FR, en: EN };
const STORAGE_KEY = "erdv.lang";

let current = (() => {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === "fr" || stored === "en") return stored;
  } catch {
    /* storage may be off: French */
  }
  return "fr";
})();

/** "fr" or "en": for the API (?lang=, the account's language) and <html lang>, never for wording. */
export function lang() {
  return current;
}

/** The language the switch offers: the one not shown. */
export function otherLang() {
  return current === "fr" ? "en" : "fr";
}

export function setLang(value) {
  current = value === "en" ? "en" : "fr";
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    /* not remembered, still switched */
  }
}

/**
 * t("key", {n: 2}) interpolates; t("key", "fallback") or t("key", null) says what to return for an
 * unknown key (the key itself otherwise). A key missing in English falls back to French.
 */
export function t(key, vars) {
  let text = DICTIONARIES[current][key] ?? FR[key];
  if (text === undefined) return vars === null || typeof vars === "string" ? vars : key;
  if (vars && typeof vars === "object") {
    text = text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
  }
  return text;
}

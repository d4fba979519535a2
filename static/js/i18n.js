// French by default, English on request; the choice is remembered in this browser, and in the
// account when signed in (its mails follow it).
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

export function lang() {
  return current;
}

/** The colon before a value, as each language sets it ("Ville : Lyon", "City: Lyon"). */
export function colon() {
  return current === "fr" ? "\u00a0: " : ": ";
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
 * unknown key (the key itself otherwise).
 */
export function t(key, vars) {
  let text = DICTIONARIES[current][key] ?? FR[key];
  if (text === undefined) return vars === null || typeof vars === "string" ? vars : key;
  if (vars && typeof vars === "object") {
    text = text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
  }
  return text;
}

// The page parts every view is built from, so that one kind of thing looks and reads the same
// everywhere: a page title, a titled section, a table, a list of cards, an empty-state line, a form.
// (The slot picker, bigger, is in slotpicker.js.)
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { showError } from "./state.js";

/** The page's one <h1>; focusable, so that after a navigation focus lands on it (app.js). */
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}

export function loading() {
  return h("p", { class: "muted" }, t("common.loading"));
}

/** A link the router follows without reloading the page (app.js listens for data-link). */
export function link(href, text, attrs = {}) {
  return h("a", { href, "data-link": true, ...attrs }, text);
}

/** What a list says when it has nothing to show. */
export function empty(text, attrs = {}) {
  return h("p", { class: "empty", ...attrs }, text);
}

/**
 * A titled part of a page: the <section> is named by its own <h2> (aria-labelledby), so each one is a
 * region a screen reader can list. `heading` is the heading's id; other attributes go on the section.
 */
export function section({ heading: id, title, level = 2, ...attrs }, ...children) {
  return h("section", { "aria-labelledby": id, ...attrs }, h(`h${level}`, { id }, title), ...children);
}

/** A table with column headers (wrapped so a narrow screen scrolls it, not the page); `emptyText` instead when there are no rows. */
export function table(headers, rows, emptyText) {
  if (emptyText !== undefined && rows.length === 0) return empty(emptyText);
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
}

/** A list of cards, one <li class="card"> per item from `card(item)`; `emptyText` when there is none. */
export function cards(items, card, emptyText, attrs = {}) {
  if (emptyText !== undefined && items.length === 0) return empty(emptyText);
  return h("ul", { class: "cards", ...attrs }, items.map(card));
}

/**
 * A form whose submit runs `onSubmit` with its button disabled meanwhile (no double booking or double
 * save), any problem shown in the notice region.
 */
export function form(onSubmit, ...children) {
  return h("form", { on: { submit: async (event) => {
    event.preventDefault();
    const button = event.target.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await onSubmit();
    } catch (error) {
      showError(error);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  } } }, ...children);
}

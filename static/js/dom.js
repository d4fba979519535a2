// Building the page without markup strings: every text goes in as a text node, so nothing that comes
// from the API can ever be parsed as HTML (and the CSP forbids inline script and style anyway).

/** h("p", {class: "x", on: {click: fn}}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "text") {
      el.textContent = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, attrs = {}, hint) {
  const id = attrs.id || uid();
  const hintId = hint ? `${id}-hint` : undefined;
  const tag = attrs.tag || "input";
  const { tag: _tag, options, ...rest } = attrs;
  const input = h(tag, { id, name: rest.name || id, "aria-describedby": hintId, ...rest });
  if (tag === "select" && options) {
    for (const [value, text] of options) input.append(h("option", { value }, text));
  }
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    input,
  );
  return { wrap, input };
}

/** A checkbox with its label after it. */
export function checkbox(label, attrs = {}) {
  const id = attrs.id || uid();
  const input = h("input", { type: "checkbox", id, ...attrs });
  return { wrap: h("div", { class: "check" }, input, h("label", { for: id }, label)), input };
}

export function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

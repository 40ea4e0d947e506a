// Building DOM nodes without innerHTML: every string from the API becomes a text node, so a
// device called "<img onerror=...>" is shown as those characters and never runs.

export const SVG_NS = "http://www.w3.org/2000/svg";

function apply(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      node.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(node.style, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("button", {class: "x", onclick: f}, "text", otherNode). */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element, same calling convention as h(). */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A labelled <select> whose value is read by the caller; "" means "all". */
export function selectBox(label, testid, options, value, onchange) {
  const id = `sel-${testid}`;
  const select = h(
    "select",
    { id, "data-testid": testid, onchange: (e) => onchange(e.target.value) },
    h("option", { value: "" }, "All"),
    options.map((o) => h("option", { value: o, selected: o === value }, o)),
  );
  return h("div", { class: "field" }, h("label", { for: id }, label), select);
}

/** A message in place of content that could not be loaded, said in words. */
export function problem(error) {
  const text =
    error && error.status === 403
      ? `Your role may not see this (${error.message}).`
      : `Could not load this: ${error && error.message ? error.message : error}`;
  return h("p", { class: "problem", role: "status" }, text);
}

export function loading(what = "Loading…") {
  return h("p", { class: "muted" }, what);
}

/** Copy text to the clipboard, falling back to selecting it when the API is unavailable. */
export async function copyText(text, fallbackInput) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackInput) {
      fallbackInput.select();
      return document.execCommand && document.execCommand("copy");
    }
    return false;
  }
}

// Building the page: elements made with text nodes only (no data ever goes through innerHTML),
// form fields that always carry a label, and the shared pieces every page uses.

import { describeError } from "./api.js";
import { t } from "./i18n.js";

/** h("button", {type: "button", onclick: f, class: "primary"}, "text", child, ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value") {
      el.value = value;
    } else if (name === "checked" || name === "selected" || name === "disabled") {
      el[name] = Boolean(value);
      if (value) el.setAttribute(name, "");
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children to `el`: strings as text, arrays flattened, null and false left out. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldSeq = 0;

/** A labelled form control: {label, name, type, value, required, options, hint, ...attrs}.
 *  `options` makes a <select> ([value, label] pairs); type "textarea" a <textarea>;
 *  type "checkbox" puts the label after the box. Returns the wrapper; the control is
 *  `wrapper.control`. */
export function field({ label, name, type = "text", options, hint, ...attrs }) {
  const id = `f${++fieldSeq}-${name}`;
  const hintId = hint ? `${id}-hint` : null;
  let control;
  const common = { id, name, "aria-describedby": hintId, ...attrs };
  if (options) {
    control = h(
      "select",
      common,
      options.map(([value, text]) =>
        h("option", { value, selected: String(value) === String(attrs.value ?? "") }, text),
      ),
    );
    if (attrs.value !== undefined) control.value = attrs.value;
  } else if (type === "textarea") {
    control = h("textarea", { rows: 4, ...common });
  } else {
    control = h("input", { type, ...common });
  }
  const labelEl = h("label", { for: id }, label);
  const hintEl = hint ? h("small", { id: hintId, class: "hint" }, hint) : null;
  const wrapper =
    type === "checkbox"
      ? h("div", { class: "field check" }, control, labelEl, hintEl)
      : h("div", { class: "field" }, labelEl, control, hintEl);
  wrapper.control = control;
  return wrapper;
}

/** The values of a form's named controls (checkboxes as booleans). */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.value;
  }
  return out;
}

/** An API error (or any error) as words: the kind's title, what happened, and each field. */
export function errorBox(error) {
  const { title, detail, fields } = describeError(error);
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, title),
    detail ? h("p", {}, detail) : null,
    fields.length ? h("ul", {}, fields.map((f) => h("li", {}, f))) : null,
  );
}

/** Run `work` for a form or button: disabled while it runs, its error shown in `where`. */
export async function busy(button, where, work) {
  if (where) where.replaceChildren();
  const buttons = button ? [button] : [];
  buttons.forEach((b) => (b.disabled = true));
  button?.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (error) {
    if (where) where.replaceChildren(errorBox(error));
    else toast(describeError(error).title, "error");
    return undefined;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    button?.removeAttribute("aria-busy");
  }
}

export function toast(text, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.replaceChildren(h("p", { class: `toast ${kind}` }, text));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.replaceChildren(), 6000);
}

/** A titled section. */
export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

/** A two-column list of facts: [[term, value], ...]; null values are left out. */
export function facts(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows
      .filter((row) => row && row[1] !== null && row[1] !== undefined)
      .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

/**
 * A table: `columns` are [heading, class?] pairs, `rows` are {cells, attrs} with one cell per
 * column. Each cell carries its column's heading (data-label), which a phone shows beside the
 * value once the rows stack.
 */
export function table({ caption, columns, rows, attrs = {}, foot = null }) {
  const heading = (c) => (Array.isArray(c) ? c : [c, null]);
  return h(
    "table",
    attrs,
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: heading(c)[1] }, heading(c)[0])))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          row.attrs || {},
          row.cells.map((cell, i) => {
            const [label, cls] = heading(columns[i]);
            return h("td", { class: cls, dataset: { label } }, cell);
          }),
        ),
      ),
    ),
    foot,
  );
}

export function pageTitle(text, ...extra) {
  return h("h1", { tabindex: "-1", id: "page-title" }, text, ...extra);
}

export function loading() {
  return h("p", { class: "muted", role: "status" }, t("common.loading"));
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

/** A form that calls `onsubmit(values, form)` with its submit button kept busy. */
export function form(attrs, children, onsubmit) {
  const errors = h("div", { class: "form-errors" });
  const el = h("form", { novalidate: false, ...attrs }, children, errors);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = event.submitter || el.querySelector("button[type=submit]");
    await busy(submit, errors, () => onsubmit(values(el), el, event.submitter));
  });
  el.errors = errors;
  return el;
}

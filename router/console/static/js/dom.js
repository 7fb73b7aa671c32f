// Building the page: every value goes in as text (textContent / attributes), never as markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

// A value as table text: lists joined, objects as compact JSON, nothing as a dash.
export function text(value) {
  if (value === undefined || value === null || value === "") return "-";
  if (Array.isArray(value)) return value.map(text).join(", ") || "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function when(value) {
  if (!value) return "-";
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? String(value) : moment.toISOString().replace(".000Z", "Z");
}

// columns: [{title, value: row => text|Node}]
export function table(rows, columns, { empty = "Nothing to show." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const head = h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column.title)));
  const body = rows.map((row) =>
    h("tr", {}, columns.map((column) => h("td", {}, cellOf(column.value(row))))),
  );
  return h("table", { class: "grid" }, h("thead", {}, head), h("tbody", {}, body));
}

function cellOf(value) {
  return value instanceof Node ? value : text(value);
}

export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

export function input(name, attrs = {}) {
  return h("input", { name, type: "text", autocomplete: "off", ...attrs });
}

export function select(name, options, attrs = {}) {
  return h(
    "select",
    { name, ...attrs },
    options.map(([value, label]) => h("option", { value }, label)),
  );
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, label);
}

export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) values[name] = String(value).trim();
  return values;
}

// A form that calls `submit(values)` and shows what went wrong in its own status line.
export function form(attrs, controls, submitLabel, submit) {
  const status = h("p", { class: "status", role: "status" });
  const element = h("form", { ...attrs, novalidate: true }, controls, h("button", { type: "submit" }, submitLabel), status);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    await guarded(status, () => submit(formValues(element), element));
  });
  return element;
}

// Run `work`; an error shows its detail (the problem's `detail` for API errors) in `status`.
export async function guarded(status, work) {
  status.classList.remove("error");
  status.textContent = "";
  try {
    await work();
  } catch (error) {
    status.classList.add("error");
    status.textContent = error && error.detail ? error.detail : String(error && error.message ? error.message : error);
  }
}

// DOM helpers. Everything the console shows is built with createElement and
// text nodes: no HTML string is ever parsed, so data cannot become markup.
// (The page's Content-Security-Policy also enforces Trusted Types: an
// assignment to innerHTML would throw.)

// h creates an element. props: "class", "dataset", "value", "checked",
// "href" (checked by safeHref), "on<event>" listeners, other attributes.
// Children are nodes, strings (text), arrays of them, or null/false.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = v;
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value") {
      el.value = v;
    } else if (k === "checked" || k === "disabled" || k === "hidden" || k === "required") {
      el[k] = Boolean(v);
    } else if (k === "href") {
      el.setAttribute("href", safeHref(v));
    } else if (k === "style" || k.startsWith("on") || k === "srcdoc") {
      throw new Error(`h: refusing to set ${k}`);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// safeHref returns url when it is a console route or an http(s) URL, else
// "#": data never becomes a javascript: link.
export function safeHref(url) {
  const s = String(url);
  if (s.startsWith("#/")) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === "http:" || u.protocol === "https:") return u.href;
  } catch {
    // not a URL
  }
  return "#";
}

// replace puts children in place of el's content.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let uid = 0;
// id returns a document-unique id for label/control pairs.
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// field returns a labelled control: a wrapper holding a label, the control,
// an optional hint and a message area for validation errors (linked with
// aria-describedby).
export function field(label, control, hint) {
  if (!control.id) control.id = id("f");
  const msg = h("p", { class: "field-error", id: control.id + "-err", "aria-live": "polite" });
  const described = [msg.id];
  let hintEl = null;
  if (hint) {
    hintEl = h("p", { class: "hint", id: control.id + "-hint" }, hint);
    described.unshift(hintEl.id);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  const wrap = h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl, msg);
  return {
    el: wrap,
    control,
    setError(text) {
      msg.textContent = text || "";
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    },
  };
}

// Status is a page's message area: a polite live region for progress and
// success, and an alert for errors.
export class Status {
  constructor() {
    this.info = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.err = h("p", { class: "error", role: "alert" });
    this.el = h("div", { class: "messages" }, this.info, this.err);
  }
  busy(text) {
    this.err.textContent = "";
    this.info.textContent = text;
    this.info.classList.add("busy");
  }
  ok(text) {
    this.err.textContent = "";
    this.info.textContent = text;
    this.info.classList.remove("busy");
  }
  error(e) {
    this.info.textContent = "";
    this.info.classList.remove("busy");
    this.err.textContent = e instanceof Error ? e.message : String(e);
  }
  clear() {
    this.ok("");
  }
}

// busy runs fn with button disabled and labelled text, reporting progress
// and errors on status; it returns fn's result, or undefined on error.
export async function busy(button, text, status, fn) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  button.setAttribute("aria-busy", "true");
  if (status) status.busy(text);
  try {
    const r = await fn();
    return r;
  } catch (e) {
    if (status) status.error(e);
    else throw e;
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = label;
    button.removeAttribute("aria-busy");
  }
}

// when formats an ISO time for people, "" for nothing.
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

// timeEl returns a <time> element for an ISO time.
export function timeEl(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  return h("time", { datetime: String(iso) }, when(iso));
}

// copyButton copies text() to the clipboard when pressed.
export function copyButton(label, text, status) {
  const b = h("button", { type: "button", class: "secondary" }, label);
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      status.ok("Copied to the clipboard.");
    } catch {
      status.error("The browser did not allow copying: select the text and copy it by hand.");
    }
  });
  return b;
}

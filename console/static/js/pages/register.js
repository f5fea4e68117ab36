// Registration: on a server with open registration (GET /admin/register
// answers {"open": true}) anyone may create a pod here. The new pod's owner
// key is shown once, with a clear "save it now", and the user signs in with
// it from the same page. Shown only when no one is signed in.

import { ApiError, getConfig, request, sendJSON } from "../api.js";
import { Status, busy, copyButton, field, h, replace } from "../dom.js";

const podNameRE = /^[a-z0-9][a-z0-9-]{0,62}$/;

// registerURL is the server's registration endpoint.
function registerURL() {
  return getConfig().baseURL + "/admin/register";
}

// registrationOpen reports whether the server lets anyone create a pod. A
// server that does not answer (an older one, say) is taken as closed.
export async function registrationOpen(signal) {
  try {
    const res = await request(registerURL(), { signal, headers: { Accept: "application/json" } });
    const json = await res.json();
    return Boolean(json && json.open === true);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    return false;
  }
}

// podNameError checks a new pod's name as far as the console can (the
// server also refuses reserved names).
export function podNameError(name) {
  if (name === "") return "Enter a name for the pod.";
  if (!podNameRE.test(name)) return "Use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit.";
  return "";
}

// registerPage shows the "Create a pod" form in main. signIn(root, key)
// signs in with the new pod's key (it throws an ApiError on failure);
// signal is aborted when the user leaves the page.
export function registerPage({ main, signIn, signal }) {
  document.title = "Create a pod · podserver console";
  const status = new Status();
  const nameIn = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true, maxlength: "63", placeholder: "alice" });
  const nameF = field("Pod name", nameIn, "1-63 characters of a-z, 0-9 and '-'. It becomes part of the pod's address and WebID, and cannot be changed.");
  const submit = h("button", { type: "submit" }, "Create pod");
  const back = h("a", { href: "#/" }, "Back to sign in");
  const form = h("form", { class: "card narrow", id: "register-form", "aria-labelledby": "register-title", novalidate: true },
    h("h1", { id: "register-title" }, "Create a pod"),
    h("p", { class: "intro" }, "Anyone may create a pod on this server. You get the pod's owner key once: it is the only way to manage the pod."),
    nameF.el, h("div", { class: "actions" }, submit, back), status.el);
  replace(main, h("p", { class: "status busy", role: "status" }, "Checking whether this server takes registrations…"));

  nameIn.addEventListener("input", () => nameF.setError(nameIn.value ? podNameError(nameIn.value.trim()) : ""));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = nameIn.value.trim();
    const err = podNameError(name);
    nameF.setError(err);
    if (err) return;
    busy(submit, "Creating…", status, async () => {
      let pod;
      try {
        const res = await sendJSON("POST", registerURL(), { name }, { ctype: "application/json", headers: { Accept: "application/json" } });
        pod = await res.json();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 400 || e.status === 409) {
          nameF.setError(e.status === 409 ? `The name ${name} is taken: choose another.` : e.message);
          nameIn.focus();
        }
        if (e.status === 403) throw new ApiError(403, `This server does not take registrations now (${e.message}).`);
        if (e.status === 429) throw new ApiError(429, `Too many new pods from here: ${e.message}.`);
        throw e;
      }
      showKey(pod);
    });
  });

  // showKey shows the new pod's owner key, once, and the way in.
  function showKey(pod) {
    document.title = `Pod ${pod.name} created · podserver console`;
    const s = new Status();
    const saved = h("input", { type: "checkbox", id: "register-saved" });
    const go = h("button", { type: "button", disabled: true }, `Sign in to ${pod.name}`);
    saved.addEventListener("change", () => {
      go.disabled = !saved.checked;
    });
    const card = h("section", { class: "card narrow once", id: "register-done", "aria-labelledby": "register-done-title" },
      h("h1", { id: "register-done-title" }, `Pod ${pod.name} created`),
      h("dl", { class: "facts" },
        h("dt", {}, "Address"), h("dd", {}, h("code", {}, pod.root)),
        h("dt", {}, "WebID"), h("dd", {}, h("code", {}, pod.webId))),
      h("h2", {}, "Save your owner key now"),
      h("p", { class: "warning", role: "alert" }, "This is the pod's owner key. It is shown only this once: the server keeps only a hash of it and cannot show it again or recover it. Without it nobody can manage this pod. Copy it into a password manager now."),
      h("p", {}, h("code", { class: "secret", id: "register-key" }, pod.ownerKey)),
      h("div", { class: "actions" }, copyButton("Copy key", () => pod.ownerKey, s)),
      h("div", { class: "check" }, saved, h("label", { for: saved.id }, "I have saved the owner key")),
      h("div", { class: "actions" }, go),
      s.el);
    go.addEventListener("click", () => busy(go, "Signing in…", s, () => signIn(pod.root, pod.ownerKey)));
    replace(main, card);
    card.querySelector("button").focus();
  }

  (async () => {
    let open;
    try {
      open = await registrationOpen(signal);
    } catch {
      return; // the user went elsewhere meanwhile
    }
    if (signal.aborted) return;
    if (!open) {
      replace(main, h("section", { class: "card narrow", id: "register-closed" },
        h("h1", {}, "Create a pod"),
        h("p", {}, "This server does not take registrations: ask its operator for a pod."),
        h("div", { class: "actions" }, h("a", { href: "#/" }, "Back to sign in"))));
      return;
    }
    replace(main, form);
    nameIn.focus();
  })();
}

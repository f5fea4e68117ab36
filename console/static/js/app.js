// The console's shell: sign in and out, the navigation, and the hash
// router that shows one page at a time in <main>.

import { ApiError, getConfig, getSession, loadConfig, podRoot, request, setSession } from "./api.js";
import { Status, busy, field, h, replace } from "./dom.js";
import { accessPage } from "./pages/access.js";
import { appsPage } from "./pages/apps.js";
import { clientsPage } from "./pages/clients.js";
import { inboxPage } from "./pages/inbox.js";
import { keysPage } from "./pages/keys.js";
import { outboxPage } from "./pages/outbox.js";
import { passwordPage } from "./pages/password.js";
import { permissionsPage } from "./pages/permissions.js";
import { podPage } from "./pages/pod.js";
import { registerPage, registrationOpen } from "./pages/register.js";

const pages = {
  pod: podPage,
  permissions: permissionsPage,
  access: accessPage,
  keys: keysPage,
  apps: appsPage,
  clients: clientsPage,
  password: passwordPage,
  inbox: inboxPage,
  outbox: outboxPage,
};

const main = document.getElementById("main-content");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

// current is the shown page's cleanup (pages stop long-polls in it).
let current = { stop() {} };

// route parses location.hash: "#/name?query" -> {name, params}.
function route() {
  const hash = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [name, query] = hash.split("?");
  return { name: name || "pod", params: new URLSearchParams(query || "") };
}

// notice is shown once on the sign-in form (e.g. why the session ended).
let notice = "";

function show(focusMain) {
  const s = getSession();
  current.stop();
  current = { stop() {} };
  nav.hidden = !s;
  who.hidden = !s;
  const r = route();
  const ctl = new AbortController();
  current = { stop: () => ctl.abort() };
  if (!s) {
    if (r.name === "register") registerPage({ main, signIn: registeredSignIn, signal: ctl.signal });
    else signInPage(ctl.signal);
    if (focusMain) main.focus({ preventScroll: true });
    return;
  }
  document.getElementById("who-pod").textContent = s.pod;
  const page = pages[r.name] || podPage;
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.route === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren();
  try {
    page({ main, session: s, params: r.params, signal: ctl.signal });
  } catch (e) {
    replace(main, h("p", { class: "error", role: "alert" }, `This page failed: ${e.message}`));
  }
  // After a navigation, start reading (and tabbing) at the new page.
  if (focusMain) main.focus({ preventScroll: true });
}

// signInWith checks that secret is the owner key of the pod at root and,
// if it is, starts the session. It throws an ApiError saying what is wrong.
async function signInWith(root, secret) {
  try {
    // The key API needs Control of the pod: only its owner key has it.
    await request(root + "settings/keys/", { key: secret, headers: { Accept: "application/json" } });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) throw new ApiError(401, `This key is not valid here (${e.message}).`);
    if (e.status === 403) throw new ApiError(403, "This key is valid but is not this pod's owner key: the console needs the owner key.");
    if (e.status === 404) throw new ApiError(404, `No pod at ${root} (${e.message}).`);
    throw e;
  }
  const podName = root.replace(/\/$/, "").split("/").pop().split(".")[0];
  const label = getConfig().podNaming === "subdomain" ? new URL(root).hostname.split(".")[0] : podName;
  setSession({ pod: label, root, webid: root + "profile/card#me", key: secret });
}

// registeredSignIn signs in with a pod just registered and shows its page.
async function registeredSignIn(root, secret) {
  await signInWith(root, secret);
  // The hashchange shows the pod page.
  if (location.hash === "#/pod") show(true);
  else location.hash = "#/pod";
}

// offerRegistration adds "Create a pod" under the sign-in form when the
// server has open registration; form.dataset.registration says what the
// server answered ("open" or "closed").
async function offerRegistration(form, signal) {
  let open;
  try {
    open = await registrationOpen(signal);
  } catch {
    return; // left the page
  }
  if (signal.aborted) return;
  form.dataset.registration = open ? "open" : "closed";
  if (!open) return;
  form.after(h("section", { class: "card narrow", id: "register-offer", "aria-labelledby": "register-offer-title" },
    h("h2", { id: "register-offer-title" }, "No pod yet?"),
    h("p", {}, "This server lets anyone create a pod."),
    h("div", { class: "actions" }, h("a", { href: "#/register", class: "button" }, "Create a pod"))));
}

function signInPage(signal) {
  document.title = "Sign in · podserver console";
  const status = new Status();
  const podInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true, placeholder: "alice" });
  // No name attribute: the key is never part of a form submission.
  const keyInput = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const pod = field("Pod name or URL", podInput, "The pod you own, e.g. alice, or its URL.");
  const key = field("Owner key", keyInput, "Kept in this browser tab only (sessionStorage) and sent as x-api-key; never stored in a cookie or URL.");
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card narrow", "aria-labelledby": "signin-title", novalidate: true },
    h("h1", { id: "signin-title" }, "Sign in to your pod"),
    pod.el, key.el, h("div", { class: "actions" }, submit), status.el);
  if (notice) status.error(notice);
  notice = "";
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    pod.setError("");
    key.setError("");
    const name = podInput.value.trim();
    const secret = keyInput.value.trim();
    if (!name) return pod.setError("Enter the pod's name or URL.");
    if (!secret) return key.setError("Paste the pod's owner key.");
    let root;
    try {
      root = podRoot(name);
    } catch (e) {
      return pod.setError(e.message);
    }
    await busy(submit, "Signing in…", status, async () => {
      await signInWith(root, secret);
      keyInput.value = "";
      if (!location.hash.startsWith("#/") || route().name === "register") location.hash = "#/pod";
      show();
    });
  });
  replace(main, form);
  podInput.focus();
  offerRegistration(form, signal);
}

document.getElementById("signout").addEventListener("click", () => {
  setSession(null);
  // Drop the route without a hashchange: show() draws the sign-in form.
  history.replaceState(null, "", location.pathname);
  show();
});

window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/") || location.hash === "") show(true);
});

window.addEventListener("console:keyrejected", () => {
  if (!getSession()) return;
  setSession(null);
  notice = "The server no longer accepts this key (was it revoked?): sign in again.";
  show();
});

async function start() {
  try {
    await loadConfig();
  } catch (e) {
    replace(main, h("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  show();
}

start();

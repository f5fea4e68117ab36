// Keys page: the pod's API keys (app, created, last used); create an app
// key (its secret is shown once, with a copy button) and revoke one. Owner
// keys are made and revoked with the CLI only.

import { getJSON, request, sendJSON } from "../api.js";
import { Status, busy, copyButton, field, h, replace, timeEl } from "../dom.js";

const appNameRE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function appNameError(name) {
  if (name === "") return "Enter the name of the app the key is for.";
  if (name === "owner") return '"owner" is reserved for owner keys.';
  if (!appNameRE.test(name)) return "Use 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.";
  return "";
}

export function keysPage({ main, session, signal }) {
  document.title = `Keys · ${session.pod} · podserver console`;
  const url = session.root + "settings/keys/";
  const status = new Status();
  const listArea = h("div", { class: "table-wrap" });
  const created = h("div", {});
  const appIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", placeholder: "my-app", maxlength: "63" });
  const appF = field("App name", appIn, "The app the key identifies; its requests act as this pod's WebID, without Control.");
  const createBtn = h("button", { type: "submit" }, "Create key");
  const form = h("form", { class: "card", "aria-labelledby": "new-key-title", novalidate: true },
    h("h2", { id: "new-key-title" }, "New app key"), appF.el, h("div", { class: "actions" }, createBtn));
  main.append(
    h("h1", {}, "Keys"),
    h("p", { class: "intro" }, "API keys act for this pod: an app key authenticates an app as this pod's WebID (without Control); the owner key has full control. The server stores only hashes of keys: a key's secret is shown once, when it is made."),
    status.el, created, form, listArea);

  appIn.addEventListener("input", () => appF.setError(appIn.value ? appNameError(appIn.value.trim()) : ""));

  // load lists the keys; done is the message to show after.
  async function load(done) {
    status.busy("Loading the keys…");
    try {
      const { json } = await getJSON(url, { signal, headers: { Accept: "application/json" } });
      status.ok(done || "");
      render(json.keys || []);
    } catch (e) {
      if (!signal.aborted) status.error(e);
    }
  }

  function render(keys) {
    const rows = keys.map((k) => {
      const actions = h("td", { class: "row-actions" });
      if (k.owner) {
        actions.append(h("span", { class: "muted" }, "revoke with the CLI"));
      } else {
        const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke the key of ${k.app}` }, "Revoke");
        revoke.addEventListener("click", () => confirmRevoke(k, actions, revoke));
        actions.append(revoke);
      }
      return h("tr", { dataset: { key: k.id } },
        h("td", {}, h("strong", {}, k.app), k.owner ? h("span", { class: "badge" }, "owner") : null),
        h("td", { "data-label": "Key id" }, h("code", {}, k.id)),
        h("td", { "data-label": "Created" }, timeEl(k.created)),
        h("td", { "data-label": "Last used" }, timeEl(k.lastUsed)),
        actions);
    });
    replace(listArea, h("table", { class: "data", id: "keys-table" },
      h("caption", {}, `${keys.length} key${keys.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "App"), h("th", { scope: "col" }, "Key id"), h("th", { scope: "col" }, "Created"),
        h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, rows)));
  }

  function confirmRevoke(k, cell, revoke) {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, revoke");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    replace(cell, h("span", { class: "confirm" }, `Revoke ${k.app}'s key? Its app stops working at once.`), yes, no);
    yes.focus();
    no.addEventListener("click", () => {
      replace(cell, revoke);
      revoke.focus();
    });
    yes.addEventListener("click", () => busy(yes, "Revoking…", status, async () => {
      await request(url + encodeURIComponent(k.id), { method: "DELETE", signal });
      await load(`Revoked the key of ${k.app}.`);
      appIn.focus();
    }));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const app = appIn.value.trim();
    const err = appNameError(app);
    appF.setError(err);
    if (err) return;
    busy(createBtn, "Creating…", status, async () => {
      const res = await sendJSON("POST", url, { app }, { ctype: "application/json", signal });
      const k = await res.json();
      appIn.value = "";
      const s = new Status();
      replace(created, h("section", { class: "card once", "aria-labelledby": "key-once-title" },
        h("h2", { id: "key-once-title" }, `Key for ${k.app}`),
        h("p", {}, "Copy the key now: it is shown only this once."),
        h("p", {}, h("code", { class: "secret", id: "new-key-secret" }, k.key)),
        h("div", { class: "actions" }, copyButton("Copy key", () => k.key, s),
          h("button", { type: "button", class: "secondary", onclick: () => created.replaceChildren() }, "Done")),
        s.el));
      await load(`Created a key for ${k.app}.`);
      created.querySelector("button").focus();
    });
  });

  load();
}

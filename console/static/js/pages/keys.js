// Keys page: the pod's API keys (app, created, last used); create an app
// key or another owner key (its secret is shown once, with a copy button)
// and revoke one. The server refuses to revoke the pod's last owner key
// (409): the page shows its message, so the owner is never locked out.

import { ApiError, getJSON, request, sendJSON } from "../api.js";
import { Status, busy, copyButton, field, h, replace, timeEl } from "../dom.js";

const appNameRE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function appNameError(name) {
  if (name === "") return "Enter the name of the app the key is for.";
  if (name === "owner") return '"owner" is reserved for owner keys.';
  if (!appNameRE.test(name)) return "Use 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.";
  return "";
}

// ownerLabelError checks an owner key's optional label ("" is "owner").
export function ownerLabelError(label) {
  if (label === "" || appNameRE.test(label)) return "";
  return "Use 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit; or leave it empty.";
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
  const labelIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", placeholder: "laptop", maxlength: "63" });
  const labelF = field("Owner key label (optional)", labelIn, "A name for where this key will live, e.g. laptop or backup; empty means \"owner\".");
  const ownerBtn = h("button", { type: "submit" }, "Create owner key");
  const ownerForm = h("form", { class: "card", id: "new-owner-key", "aria-labelledby": "new-owner-key-title", novalidate: true },
    h("h2", { id: "new-owner-key-title" }, "New owner key"),
    h("p", { class: "hint" }, "An owner key has full control of this pod, as the key you signed in with does. Keep a second one somewhere safe: the pod's last owner key cannot be revoked, and a lost one cannot be recovered."),
    labelF.el, h("div", { class: "actions" }, ownerBtn));
  const reloadBtn = h("button", { type: "button", class: "secondary", id: "keys-reload" }, "Reload");
  main.append(
    h("h1", {}, "Keys"),
    h("p", { class: "intro" }, "API keys act for this pod: an app key authenticates an app as this pod's WebID (without Control); an owner key has full control. The server stores only hashes of keys: a key's secret is shown once, when it is made."),
    status.el, created, form, ownerForm, h("div", { class: "actions" }, reloadBtn), listArea);

  appIn.addEventListener("input", () => appF.setError(appIn.value ? appNameError(appIn.value.trim()) : ""));
  labelIn.addEventListener("input", () => labelF.setError(ownerLabelError(labelIn.value.trim())));
  reloadBtn.addEventListener("click", () => load());

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

  // describe names a key for people: "crm's key", "the owner key laptop".
  function describe(k) {
    return k.owner ? `the owner key ${k.app === "owner" ? k.id : k.app}` : `the key of ${k.app}`;
  }

  function render(keys) {
    const owners = keys.filter((k) => k.owner).length;
    const rows = keys.map((k) => {
      const actions = h("td", { class: "row-actions" });
      const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${describe(k)}` }, "Revoke");
      revoke.addEventListener("click", () => confirmRevoke(k, actions, revoke, owners));
      actions.append(revoke);
      return h("tr", { dataset: { key: k.id, owner: k.owner ? "true" : "false" } },
        h("td", {}, h("strong", {}, k.app), k.owner ? h("span", { class: "badge" }, "owner") : null),
        h("td", { "data-label": "Key id" }, h("code", {}, k.id)),
        h("td", { "data-label": "Created", class: "key-created" }, timeEl(k.created)),
        h("td", { "data-label": "Last used", class: "key-used" }, timeEl(k.lastUsed)),
        actions);
    });
    const n = `${keys.length} key${keys.length === 1 ? "" : "s"}`;
    replace(listArea, h("table", { class: "data", id: "keys-table" },
      h("caption", {}, `${n}, ${owners} of them owner key${owners === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "App"), h("th", { scope: "col" }, "Key id"), h("th", { scope: "col" }, "Created"),
        h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, rows)));
  }

  function confirmRevoke(k, cell, revoke, owners) {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, revoke");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    let question = `Revoke ${k.app}'s key? Its app stops working at once.`;
    if (k.owner) {
      question = owners > 1
        ? "Revoke this owner key? Whoever holds it loses control of the pod at once; if it is the key you signed in with, you are signed out."
        : "Revoke this owner key? It is the pod's only one: the server will refuse.";
    }
    replace(cell, h("span", { class: "confirm" }, question), yes, no);
    yes.focus();
    const keep = () => {
      replace(cell, revoke);
      revoke.focus();
    };
    no.addEventListener("click", keep);
    yes.addEventListener("click", () => busy(yes, "Revoking…", status, async () => {
      try {
        await request(url + encodeURIComponent(k.id), { method: "DELETE", signal });
      } catch (e) {
        // 409: the pod's last owner key. Keep the row as it was; the
        // server's message says why.
        if (e instanceof ApiError && e.status === 409) keep();
        throw e;
      }
      await load(`Revoked ${describe(k)}.`);
      appIn.focus();
    }));
  }

  // showOnce shows a new key's secret, the only time it can be seen.
  function showOnce(title, warning, k) {
    const s = new Status();
    replace(created, h("section", { class: "card once", "aria-labelledby": "key-once-title" },
      h("h2", { id: "key-once-title" }, title),
      h("p", {}, warning),
      h("p", {}, h("code", { class: "secret", id: "new-key-secret" }, k.key)),
      h("div", { class: "actions" }, copyButton("Copy key", () => k.key, s),
        h("button", { type: "button", class: "secondary", onclick: () => created.replaceChildren() }, "Done")),
      s.el));
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
      showOnce(`Key for ${k.app}`, "Copy the key now: it is shown only this once.", k);
      await load(`Created a key for ${k.app}.`);
      created.querySelector("button").focus();
    });
  });

  ownerForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const label = labelIn.value.trim();
    const err = ownerLabelError(label);
    labelF.setError(err);
    if (err) return;
    const body = label ? { owner: true, app: label } : { owner: true };
    busy(ownerBtn, "Creating…", status, async () => {
      const res = await sendJSON("POST", url, body, { ctype: "application/json", signal });
      const k = await res.json();
      labelIn.value = "";
      showOnce(`New owner key ${k.app === "owner" ? k.id : k.app}`,
        "Save this owner key now, somewhere safe (a password manager): it is shown only this once and has full control of the pod.", k);
      created.querySelector("section").dataset.key = k.id;
      await load(`Created an owner key (${k.id}).`);
      created.querySelector("button").focus();
    });
  });

  load();
}

// Clients page: client credentials for scripts and servers that log in
// with Solid-OIDC (the client_credentials grant) and act as this pod's
// WebID. Create one (its secret is shown once, with a copy button), see
// each one's creation and last use, and delete one: every token issued to
// it stops working at once.

import { getConfig, getJSON, request, sendJSON } from "../api.js";
import { Status, busy, copyButton, field, h, replace, timeEl } from "../dom.js";

export const maxClientName = 100;

// clientNameError checks a new client's name; "" when fine.
export function clientNameError(name) {
  if (name === "") return "Enter a name that says what the credentials are for.";
  if ([...name].length > maxClientName) return `Use at most ${maxClientName} characters.`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return "Use no control characters.";
  return "";
}

// issuerURL is the identity provider's issuer: the server's base URL with
// a trailing slash.
export function issuerURL() {
  return getConfig().baseURL.replace(/\/*$/, "/");
}

export function clientsPage({ main, session, signal }) {
  document.title = `Clients · ${session.pod} · podserver console`;
  const url = session.root + "settings/clients/";
  const status = new Status();
  const listArea = h("div", { class: "table-wrap" });
  const created = h("div", {});
  const nameIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", placeholder: "nightly backup", maxlength: String(maxClientName) });
  const nameF = field("Name", nameIn, "What the credentials are for; it is shown here and in the server's logs.");
  const createBtn = h("button", { type: "submit" }, "Create client");
  const form = h("form", { class: "card", "aria-labelledby": "new-client-title", novalidate: true },
    h("h2", { id: "new-client-title" }, "New client credentials"), nameF.el, h("div", { class: "actions" }, createBtn));
  const reloadBtn = h("button", { type: "button", class: "secondary", id: "clients-reload" }, "Reload");
  main.append(
    h("h1", {}, "Clients"),
    h("p", { class: "intro" },
      "Client credentials let a script or a server log in with Solid-OIDC (grant type client_credentials, DPoP-bound tokens) at the issuer ",
      h("code", { id: "clients-issuer" }, issuerURL()),
      " and act as this pod's WebID, without Control. The server stores only a hash of each secret: it is shown once, when the client is made."),
    status.el, created, form, h("div", { class: "actions" }, reloadBtn), listArea);

  nameIn.addEventListener("input", () => nameF.setError(nameIn.value ? clientNameError(nameIn.value.trim()) : ""));
  reloadBtn.addEventListener("click", () => load());

  // load lists the clients; done is the message to show after.
  async function load(done) {
    status.busy("Loading the clients…");
    try {
      const { json } = await getJSON(url, { signal, headers: { Accept: "application/json" } });
      status.ok(done || "");
      render(json.clients || []);
    } catch (e) {
      if (!signal.aborted) status.error(e);
    }
  }

  function render(clients) {
    if (clients.length === 0) {
      replace(listArea, h("p", { class: "empty", id: "clients-empty" }, "No client credentials yet."));
      return;
    }
    const rows = clients.map((c) => {
      const actions = h("td", { class: "row-actions" });
      const del = h("button", { type: "button", class: "danger", "aria-label": `Delete the client ${c.name || c.id}` }, "Delete");
      del.addEventListener("click", () => confirmDelete(c, actions, del));
      actions.append(del);
      return h("tr", { dataset: { client: c.id } },
        h("td", {}, h("strong", {}, c.name || "")),
        h("td", { "data-label": "Client id", class: "url" }, h("code", {}, c.id)),
        h("td", { "data-label": "Created" }, timeEl(c.created)),
        h("td", { "data-label": "Last used", class: "client-used" }, timeEl(c.lastUsed)),
        actions);
    });
    replace(listArea, h("table", { class: "data", id: "clients-table" },
      h("caption", {}, `${clients.length} client${clients.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Client id"), h("th", { scope: "col" }, "Created"),
        h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, rows)));
  }

  function confirmDelete(c, cell, del) {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, delete");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    replace(cell, h("span", { class: "confirm" }, `Delete ${c.name || c.id}? Whatever uses it is signed out at once.`), yes, no);
    yes.focus();
    no.addEventListener("click", () => {
      replace(cell, del);
      del.focus();
    });
    yes.addEventListener("click", () => busy(yes, "Deleting…", status, async () => {
      await request(c.url || url + encodeURIComponent(c.id), { method: "DELETE", signal });
      await load(`Deleted the client ${c.name || c.id}: its tokens no longer work.`);
      nameIn.focus();
    }));
  }

  // showOnce shows a new client's credentials, the only time the secret
  // can be seen.
  function showOnce(c) {
    const s = new Status();
    replace(created, h("section", { class: "card once", "aria-labelledby": "client-once-title", dataset: { client: c.id } },
      h("h2", { id: "client-once-title" }, `Credentials for ${c.name}`),
      h("p", {}, "Copy the secret now: it is shown only this once."),
      h("dl", { class: "facts" },
        h("dt", {}, "Issuer"), h("dd", {}, h("code", {}, issuerURL())),
        h("dt", {}, "Client id"), h("dd", {}, h("code", { id: "new-client-id" }, c.id)),
        h("dt", {}, "Secret"), h("dd", {}, h("code", { class: "secret", id: "new-client-secret" }, c.secret)),
        h("dt", {}, "WebID"), h("dd", {}, h("code", {}, c.webid || session.webid))),
      h("div", { class: "actions" }, copyButton("Copy secret", () => c.secret, s),
        copyButton("Copy client id", () => c.id, s),
        h("button", { type: "button", class: "secondary", onclick: () => created.replaceChildren() }, "Done")),
      s.el));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = nameIn.value.trim();
    const err = clientNameError(name);
    nameF.setError(err);
    if (err) return;
    busy(createBtn, "Creating…", status, async () => {
      const res = await sendJSON("POST", url, { name }, { ctype: "application/json", signal });
      const c = await res.json();
      nameIn.value = "";
      showOnce(c);
      await load(`Created the client ${c.name}.`);
      created.querySelector("button").focus();
    });
  });

  load();
}

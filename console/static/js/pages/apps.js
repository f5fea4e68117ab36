// Apps page: the Solid apps the owner allowed on the identity provider's
// consent screen (one row per app: its name, client id, scopes, when it was
// allowed and last used), and revoking one: the consent is withdrawn and
// every access and refresh token the app holds for this pod's WebID stops
// working at once. The app has to ask again (login and consent) to return.

import { getJSON, request } from "../api.js";
import { Status, busy, h, replace, safeHref, timeEl } from "../dom.js";

// appLabel names an app for people: its registered name, else its client id.
export function appLabel(a) {
  return a.name || a.clientId || a.id;
}

export function appsPage({ main, session, signal }) {
  document.title = `Apps · ${session.pod} · podserver console`;
  const url = session.root + "settings/apps/";
  const status = new Status();
  const listArea = h("div", { class: "table-wrap" });
  const reloadBtn = h("button", { type: "button", class: "secondary", id: "apps-reload" }, "Reload");
  main.append(
    h("h1", {}, "Apps"),
    h("p", { class: "intro" }, "Solid apps you allowed to act as this pod's WebID when you logged in to them (Solid-OIDC). An app gets what the pod's access control grants the WebID. Revoking an app signs it out at once: its tokens stop working, and it has to ask you again."),
    status.el, h("div", { class: "actions" }, reloadBtn), listArea);
  reloadBtn.addEventListener("click", () => load());

  // load lists the apps; done is the message to show after.
  async function load(done) {
    status.busy("Loading the apps…");
    try {
      const { json } = await getJSON(url, { signal, headers: { Accept: "application/json" } });
      status.ok(done || "");
      render(json.apps || []);
    } catch (e) {
      if (!signal.aborted) status.error(e);
    }
  }

  function render(apps) {
    if (apps.length === 0) {
      replace(listArea, h("p", { class: "empty", id: "apps-empty" }, "No app has been allowed to log in as this pod's WebID."));
      return;
    }
    const rows = apps.map((a) => {
      const actions = h("td", { class: "row-actions" });
      const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${appLabel(a)}` }, "Revoke");
      revoke.addEventListener("click", () => confirmRevoke(a, actions, revoke));
      actions.append(revoke);
      const name = a.clientUri
        ? h("a", { href: safeHref(a.clientUri), rel: "noopener noreferrer", target: "_blank" }, appLabel(a))
        : h("strong", {}, appLabel(a));
      return h("tr", { dataset: { app: a.id, clientId: a.clientId || "" } },
        h("td", {}, name),
        h("td", { "data-label": "Client id", class: "url" }, h("code", {}, a.clientId || "")),
        h("td", { "data-label": "Scopes" }, (a.scopes || []).map((s) => h("span", { class: "badge" }, s))),
        h("td", { "data-label": "Allowed" }, timeEl(a.created)),
        h("td", { "data-label": "Last used", class: "app-used" }, timeEl(a.lastUsed)),
        actions);
    });
    replace(listArea, h("table", { class: "data", id: "apps-table" },
      h("caption", {}, `${apps.length} app${apps.length === 1 ? "" : "s"} allowed`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "App"), h("th", { scope: "col" }, "Client id"), h("th", { scope: "col" }, "Scopes"),
        h("th", { scope: "col" }, "Allowed"), h("th", { scope: "col" }, "Last used"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, rows)));
  }

  function confirmRevoke(a, cell, revoke) {
    const yes = h("button", { type: "button", class: "danger" }, "Yes, revoke");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    replace(cell, h("span", { class: "confirm" }, `Revoke ${appLabel(a)}? It is signed out at once.`), yes, no);
    yes.focus();
    no.addEventListener("click", () => {
      replace(cell, revoke);
      revoke.focus();
    });
    yes.addEventListener("click", () => busy(yes, "Revoking…", status, async () => {
      await request(a.url || url + encodeURIComponent(a.id), { method: "DELETE", signal });
      await load(`Revoked ${appLabel(a)}: its tokens no longer work.`);
      reloadBtn.focus();
    }));
  }

  load();
}

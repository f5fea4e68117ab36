// Pod page: WebID, storage root, inbox size, events published, and links to
// the other pages.

import { countMembers, getJSON } from "../api.js";
import { Status, h } from "../dom.js";

function countText(c) {
  return c.more ? `more than ${c.count.toLocaleString()}` : c.count.toLocaleString();
}

export function podPage({ main, session, signal }) {
  document.title = `${session.pod} · podserver console`;
  const status = new Status();
  const inboxCount = h("dd", {}, "counting…");
  const publishedCount = h("dd", {}, "counting…");
  const subsCount = h("dd", {}, "reading…");
  const keysCount = h("dd", {}, "reading…");
  const link = (href, text) => h("a", { href }, text);
  main.append(
    h("h1", {}, `Pod ${session.pod}`),
    status.el,
    h("section", { class: "card", "aria-labelledby": "pod-facts" },
      h("h2", { id: "pod-facts" }, "Facts"),
      h("dl", { class: "facts" },
        h("dt", {}, "WebID"), h("dd", {}, h("a", { href: session.webid, class: "url" }, session.webid)),
        h("dt", {}, "Storage root"), h("dd", {}, h("a", { href: session.root, class: "url" }, session.root)),
        h("dt", {}, "Inbox items"), inboxCount,
        h("dt", {}, "Events published"), publishedCount,
        h("dt", {}, "Permission items"), subsCount,
        h("dt", {}, "API keys"), keysCount)),
    h("section", { class: "card", "aria-labelledby": "pod-links" },
      h("h2", { id: "pod-links" }, "Manage"),
      h("ul", { class: "links" },
        h("li", {}, link("#/permissions", "Permissions"), " — who may publish which topics to this pod, and who subscribes"),
        h("li", {}, link("#/access", "Access control"), " — who may read and write resources and containers"),
        h("li", {}, link("#/keys", "Keys"), " — API keys of the apps that act for this pod"),
        h("li", {}, link("#/apps", "Apps"), " — Solid apps you allowed to log in as this pod's WebID"),
        h("li", {}, link("#/clients", "Clients"), " — client credentials for scripts that log in with Solid-OIDC"),
        h("li", {}, link("#/password", "Password"), " — the password of the login page Solid apps send you to"),
        h("li", {}, link("#/inbox", "Inbox"), " — events delivered to this pod, live"),
        h("li", {}, link("#/outbox", "Outbox"), " — deliveries this pod sends"))),
  );
  const fill = async (el, fn) => {
    try {
      el.textContent = await fn();
    } catch (e) {
      if (signal.aborted) return;
      el.textContent = "—";
      status.error(e);
    }
  };
  fill(inboxCount, async () => countText(await countMembers(session.root + "inbox/")));
  fill(publishedCount, async () => countText(await countMembers(session.root + "publish/")));
  fill(subsCount, async () => {
    const { json } = await getJSON(session.root + "settings/subscriptions", { signal });
    const items = json.items || [];
    const pubs = items.filter((i) => (i.publishes || []).length).length;
    const subs = items.filter((i) => (i.subscribes || []).length).length;
    return `${items.length} (${pubs} publishing, ${subs} subscribing)`;
  });
  fill(keysCount, async () => {
    const { json } = await getJSON(session.root + "settings/keys/", { signal, headers: { Accept: "application/json" } });
    return String((json.keys || []).length);
  });
}

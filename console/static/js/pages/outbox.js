// Outbox page: this pod's delivery records (outbox/), when there are any.

import { getJSON } from "../api.js";
import { Status, h, replace, when } from "../dom.js";

function str(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function outboxPage({ main, session, signal }) {
  document.title = `Outbox · ${session.pod} · podserver console`;
  const outbox = session.root + "outbox/";
  const status = new Status();
  const area = h("div", { class: "table-wrap" });
  main.append(
    h("h1", {}, "Outbox"),
    h("p", { class: "intro" }, "Deliveries this pod sends to other inboxes and webhooks: per target status, attempts, the last error, and dead letters (",
      h("a", { class: "url", href: outbox }, "outbox/"), ")."),
    status.el, area);

  (async () => {
    status.busy("Loading the outbox…");
    try {
      const { json } = await getJSON(outbox + "?limit=100", { signal });
      const members = json.contains || [];
      status.clear();
      if (members.length === 0) {
        replace(area, h("p", { class: "empty" }, "No delivery records: every delivery so far was made at once, or none was needed."));
        return;
      }
      // The listing carries the records themselves ("items", in the order
      // of "contains").
      const items = json.items || [];
      const records = members.map((u, i) => items[i] ? { url: u, rec: items[i] } : { url: u, err: "not in the listing" });
      replace(area, h("table", { class: "data", id: "outbox-table" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Target"), h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "Next attempt"), h("th", { scope: "col" }, "Last error"))),
        h("tbody", {}, records.map(({ url, rec, err }) => h("tr", {},
          h("td", { class: "url", "data-label": "Event" }, str(rec ? rec.eventId || rec.event : url)),
          h("td", { class: "url", "data-label": "Target" }, rec ? str(rec.target) : ""),
          h("td", { "data-label": "Status" }, rec ? h("span", { class: "badge " + (rec.status === "failed" ? "bad" : rec.status === "delivered" ? "ok" : "") }, str(rec.status)) : err),
          h("td", { "data-label": "Attempts" }, rec ? str(rec.attempts) : ""),
          h("td", { "data-label": "Next attempt" }, rec && rec.status === "pending" ? when(str(rec.due)) : ""),
          h("td", { "data-label": "Last error" }, rec ? str(rec.lastError) : ""))))));
      if (json.next) area.append(h("p", { class: "muted" }, "Only the first 100 records are shown."));
    } catch (e) {
      if (!signal.aborted) status.error(e);
    }
  })();
}

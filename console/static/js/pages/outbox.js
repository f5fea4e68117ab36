// Outbox page: this pod's delivery records (outbox/), newest first and
// live (a long-poll: the listing's ETag with If-None-Match and wait), with
// filters by status and by target (kept in the page's address), Retry of
// a failed delivery, "Retry now" of a pending one, and replay of an event
// to one of its targets.

import { ApiError, request, sendJSON } from "../api.js";
import { podOfWebID } from "../agents.js";
import { Status, busy, field, h, id, replace, when } from "../dom.js";

const LIMIT = 100;
const WAIT = 25; // seconds a long-poll waits

function str(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => {
    clearTimeout(t);
    resolve();
  }, { once: true });
});

// targetLabel names a target for people: a pod of this server by name.
function targetLabel(t) {
  const pod = podOfWebID(t);
  if (pod) return `${pod} (${t})`;
  const m = /^(.*)\/inbox\/$/.exec(t);
  if (m && podOfWebID(m[1] + "/profile/card#me")) return `${podOfWebID(m[1] + "/profile/card#me")}'s inbox`;
  return t;
}

// replayEvent replays event ev to target from the outbox at outbox; it
// returns the text to tell the owner.
export async function replayEvent(outbox, ev, target, signal) {
  const res = await sendJSON("POST", outbox, { event: ev, target }, { ctype: "application/json", signal, headers: { Accept: "application/json" } });
  const body = await res.json();
  if (res.status === 200) return `Not replayed: ${targetLabel(str(body.target))} already holds this event (one copy per event).`;
  return `Replayed: delivery ${body.seq} to ${targetLabel(str(body.target))} is queued.`;
}

export function outboxPage({ main, session, params, signal }) {
  document.title = `Outbox · ${session.pod} · podserver console`;
  const outbox = session.root + "outbox/";
  const status = new Status();
  const live = h("p", { class: "live", id: "outbox-live", role: "status" }, "Connecting…");
  const area = h("div", { class: "table-wrap" });
  const wantStatus = params.get("status") || "";
  const wantTarget = params.get("target") || "";

  // Filters: applied by changing the address, so they survive a reload.
  const statusSel = h("select", {},
    [["", "All"], ["pending", "Pending"], ["failed", "Failed"], ["delivered", "Delivered"]].map(([v, label]) =>
      h("option", { value: v, selected: v === wantStatus }, label)));
  statusSel.value = wantStatus;
  const listId = id("targets");
  const targets = h("datalist", { id: listId });
  const targetIn = h("input", { type: "text", inputmode: "url", spellcheck: "false", autocomplete: "off", list: listId, value: wantTarget, placeholder: "https://hooks.example/cb" });
  const statusF = field("Status", statusSel);
  const targetF = field("Target", targetIn, "A webhook URL, a WebID, or a pod inbox URL; empty for every target.");
  const applyBtn = h("button", { type: "submit" }, "Filter");
  const clearBtn = h("button", { type: "button", class: "secondary", hidden: !wantStatus && !wantTarget }, "Show all");
  const filters = h("form", { class: "card filters", id: "outbox-filters", novalidate: true, "aria-label": "Filter the outbox" },
    h("div", { class: "grid2" }, statusF.el, targetF.el), targets, h("div", { class: "actions" }, applyBtn, clearBtn));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (statusSel.value) q.set("status", statusSel.value);
    if (targetIn.value.trim()) q.set("target", targetIn.value.trim());
    const s = q.toString();
    location.hash = "#/outbox" + (s ? "?" + s : "");
  });
  clearBtn.addEventListener("click", () => {
    location.hash = "#/outbox";
  });

  // Replay any event of this pod (or addressed to it) to one of its targets.
  const evIn = h("input", { type: "text", inputmode: "url", spellcheck: "false", autocomplete: "off", placeholder: session.root + "publish/…" });
  const toIn = h("input", { type: "text", inputmode: "url", spellcheck: "false", autocomplete: "off", placeholder: "https://hooks.example/cb" });
  const evF = field("Event (URL or id)", evIn);
  const toF = field("Replay to (target)", toIn, "The recipient's or source's WebID, a subscriber's WebID or inbox URL, or a subscription's webhook URL.");
  const replayBtn = h("button", { type: "submit" }, "Replay");
  const replayStatus = new Status();
  const replayForm = h("form", { class: "card", id: "replay-form", novalidate: true, "aria-labelledby": "replay-title" },
    h("h2", { id: "replay-title" }, "Replay an event"),
    h("div", { class: "grid2" }, evF.el, toF.el), h("div", { class: "actions" }, replayBtn), replayStatus.el);
  replayForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    evF.setError(evIn.value.trim() ? "" : "Give the event's URL or id.");
    toF.setError(toIn.value.trim() ? "" : "Give the target to replay it to.");
    if (!evIn.value.trim() || !toIn.value.trim()) return;
    busy(replayBtn, "Replaying…", replayStatus, async () => {
      replayStatus.ok(await replayEvent(outbox, evIn.value.trim(), toIn.value.trim(), signal));
    });
  });

  main.append(
    h("h1", {}, "Outbox"),
    h("p", { class: "intro" }, "Deliveries this pod sends to other inboxes and webhooks, newest first: per target status, attempts, the last error, and dead letters (",
      h("a", { class: "url", href: outbox }, "outbox/"), "). A failed delivery waits for its next attempt (hours, after a few failures): Retry now makes it at once. Changes appear here as they happen."),
    live, filters, status.el, area, replayForm);

  const seen = new Set();

  function actionsFor(rec) {
    const out = [];
    const seq = String(rec.seq);
    if (rec.status === "failed" || rec.status === "pending") {
      const label = rec.status === "failed" ? "Retry" : "Retry now";
      const b = h("button", { type: "button", class: rec.status === "failed" ? "" : "secondary", "aria-label": `${label}: delivery ${seq}` }, label);
      b.addEventListener("click", () => busy(b, "Retrying…", status, async () => {
        try {
          await request(rec.id, { method: "POST", signal, headers: { Accept: "application/json" } });
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) throw new ApiError(409, `Delivery ${seq} was not retried: ${e.message}`);
          throw e;
        }
        status.ok(rec.status === "failed"
          ? `Delivery ${seq} is pending again: its first new attempt is made now.`
          : `Delivery ${seq} is due now: its next attempt is made at once.`);
      }));
      out.push(b);
    }
    if (rec.status === "failed" || rec.status === "delivered") {
      const b = h("button", { type: "button", class: "secondary", "aria-label": `Replay: event of delivery ${seq} to its target` }, "Replay");
      b.addEventListener("click", () => busy(b, "Replaying…", status, async () => {
        status.ok(await replayEvent(outbox, rec.eventId, rec.target, signal));
      }));
      out.push(b);
    }
    return out;
  }

  function render(json) {
    const items = json.items || [];
    for (const r of items) {
      if (r.target && !seen.has(r.target)) {
        seen.add(r.target);
        targets.append(h("option", { value: r.target }));
      }
    }
    if (items.length === 0) {
      replace(area, h("p", { class: "empty", id: "outbox-empty" }, wantStatus || wantTarget
        ? "No delivery records match these filters."
        : "No delivery records: every delivery so far was made at once, or none was needed."));
      return;
    }
    replace(area, h("table", { class: "data", id: "outbox-table" },
      h("caption", {}, `${items.length}${json.next ? "+" : ""} record${items.length === 1 ? "" : "s"}${wantStatus ? `, ${wantStatus}` : ""}${wantTarget ? `, to ${targetLabel(wantTarget)}` : ""}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Target"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "Next attempt or delivered"), h("th", { scope: "col" }, "Last error"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, items.map((rec) => h("tr", { dataset: { seq: String(rec.seq), status: str(rec.status) } },
        h("td", { class: "url", "data-label": "Event" }, str(rec.eventId)),
        h("td", { class: "url", "data-label": "Target" }, targetLabel(str(rec.target))),
        h("td", { "data-label": "Status" }, h("span", { class: "badge " + (rec.status === "failed" ? "bad" : rec.status === "delivered" ? "ok" : "") }, str(rec.status))),
        h("td", { "data-label": "Attempts" }, str(rec.attempts)),
        h("td", { "data-label": "Next attempt or delivered" }, rec.status === "pending" ? when(str(rec.due)) : rec.status === "delivered" ? when(str(rec.delivered)) : ""),
        h("td", { "data-label": "Last error" }, str(rec.lastError) + (rec.lastStatus && rec.lastError ? ` (HTTP ${rec.lastStatus})` : "")),
        h("td", { class: "row-actions" }, actionsFor(rec)))))));
    if (json.next) area.append(h("p", { class: "muted" }, `Only the newest ${LIMIT} records are shown.`));
  }

  const q = new URLSearchParams({ order: "newest", limit: String(LIMIT) });
  if (wantStatus) q.set("status", wantStatus);
  if (wantTarget) q.set("target", wantTarget);
  const listURL = outbox + "?" + q.toString();

  // follow keeps the table current: each long-poll answers when the
  // listing differs from the one shown (by its ETag), or 304 after WAIT s.
  async function follow() {
    let etag = "";
    let backoff = 1000;
    let first = true;
    while (!signal.aborted) {
      try {
        const headers = { Accept: "application/json" };
        let u = listURL;
        if (etag) {
          headers["If-None-Match"] = etag;
          u += `&wait=${WAIT}`;
        }
        const pending = request(u, { signal, headers });
        if (!first) {
          live.textContent = "Live: changes appear here as they happen.";
          live.className = "live on";
        }
        const res = await pending;
        if (res.status !== 304) {
          render(await res.json());
          etag = res.headers.get("ETag") || "";
        }
        if (first) {
          status.clear();
          first = false;
        }
        backoff = 1000;
      } catch (e) {
        if (signal.aborted || e.name === "AbortError") return;
        if (first) status.error(e);
        live.textContent = `Live updates interrupted (${e.message}); retrying in ${Math.round(backoff / 1000)} s.`;
        live.className = "live off";
        if (e instanceof ApiError && (e.status === 400 || e.status === 401 || e.status === 403)) {
          live.textContent = "Not live.";
          return;
        }
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30000);
      }
    }
  }

  status.busy("Loading the outbox…");
  follow();
}

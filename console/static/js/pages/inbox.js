// Inbox page: the newest items, live (long-poll), paging back to older
// ones, an item's full JSON-LD, and delete. Item content is untrusted: it
// is shown as text only.

import { ApiError, getJSON, request } from "../api.js";
import { podOfWebID } from "../agents.js";
import { Status, busy, h, replace, when } from "../dom.js";

const PAGE = 25;
const WAIT = 25; // seconds a long-poll waits
const MAX_SCAN_PAGES = 10; // id pages one look back may read
const FAR_FUTURE_MS = 4102444800000; // 2100-01-01: later than any arrival

// str shows any JSON value as text.
function str(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function clip(s, n) {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

// nameOf returns an item's name (its listing cursor) from its URL.
function nameOf(url) {
  return String(url).split("/").pop();
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => {
    clearTimeout(t);
    resolve();
  }, { once: true });
});

export function inboxPage({ main, session, signal }) {
  document.title = `Inbox · ${session.pod} · podserver console`;
  const inbox = session.root + "inbox/";
  const status = new Status();
  const live = h("p", { class: "live", id: "live-state", role: "status" }, "Connecting…");
  const list = h("ol", { class: "items", id: "inbox-items", "aria-label": "Inbox items, newest first" });
  const empty = h("p", { class: "empty", hidden: true }, "The inbox is empty. New items appear here as they arrive.");
  const olderBtn = h("button", { type: "button", class: "secondary", hidden: true }, "Load older items");
  const panel = h("section", { class: "card item-view", id: "item-view", hidden: true, "aria-labelledby": "item-title", tabindex: "-1" });
  main.append(
    h("h1", {}, "Inbox"),
    h("p", { class: "intro" }, "Events delivered to ", h("a", { class: "url", href: inbox }, inbox), ", newest first. New arrivals appear at the top without reloading."),
    live, status.el,
    h("div", { class: "inbox-layout" },
      h("div", {}, empty, list, h("div", { class: "actions" }, olderBtn)),
      panel));

  const shown = new Map(); // name -> <li>

  function row(it) {
    const name = nameOf(it.url);
    const data = it.data && typeof it.data === "object" ? it.data : null;
    const from = str(it.agent);
    const view = h("button", { type: "button", class: "secondary", "aria-label": `View item ${name}` }, "View");
    const del = h("button", { type: "button", class: "danger", "aria-label": `Delete item ${name}` }, "Delete");
    view.addEventListener("click", () => openItem(it.url, view));
    del.addEventListener("click", () => busy(del, "Deleting…", status, () => deleteItem(it.url)));
    const li = h("li", { class: "item", dataset: { name } },
      h("div", { class: "item-head" },
        h("code", { class: "topic" }, str(it.topic) || "(no topic)"),
        data && data.type ? h("span", { class: "badge" }, str(data.type)) : null),
      h("p", { class: "meta" },
        from ? `from ${podOfWebID(from) || from}` : "",
        it.source ? ` · source ${podOfWebID(str(it.source)) || str(it.source)}` : "",
        it.instrument ? ` via ${str(it.instrument)}` : "",
        it.received_at ? ` · ${when(str(it.received_at))}` : ""),
      h("p", { class: "summary" }, clip(str(it.data), 240)),
      h("div", { class: "actions" }, view, del));
    return li;
  }

  function setEmpty() {
    empty.hidden = shown.size > 0;
  }

  function addNewest(items) {
    for (const it of items) {
      const name = nameOf(it.url);
      if (shown.has(name)) continue;
      const li = row(it);
      li.classList.add("new");
      shown.set(name, li);
      list.prepend(li);
    }
    setEmpty();
  }

  function addOlder(items) {
    for (const it of items.slice().reverse()) {
      const name = nameOf(it.url);
      if (shown.has(name)) continue;
      const li = row(it);
      shown.set(name, li);
      list.append(li);
    }
    setEmpty();
  }

  async function deleteItem(url) {
    await request(url, { method: "DELETE", signal });
    const name = nameOf(url);
    const li = shown.get(name);
    if (li) li.remove();
    shown.delete(name);
    if (panel.dataset.url === url) panel.hidden = true;
    setEmpty();
    status.ok(`Deleted item ${name}.`);
  }

  async function openItem(url, from) {
    panel.hidden = false;
    panel.dataset.url = url;
    replace(panel, h("h2", { id: "item-title" }, `Item ${nameOf(url)}`), h("p", { class: "status busy", role: "status" }, "Loading…"));
    panel.focus();
    try {
      const { json } = await getJSON(url, { signal });
      const close = h("button", { type: "button", class: "secondary" }, "Close");
      const del = h("button", { type: "button", class: "danger" }, "Delete");
      const st = new Status();
      close.addEventListener("click", () => {
        panel.hidden = true;
        if (from && from.isConnected) from.focus();
      });
      del.addEventListener("click", () => busy(del, "Deleting…", st, () => deleteItem(url)));
      replace(panel,
        h("h2", { id: "item-title" }, `Item ${nameOf(url)}`),
        h("p", { class: "url" }, url),
        h("pre", { class: "json", id: "item-json", tabindex: "0", "aria-label": "The item's JSON-LD" }, JSON.stringify(json, null, 2)),
        h("div", { class: "actions" }, close, del), st.el);
    } catch (e) {
      if (!signal.aborted) replace(panel, h("h2", { id: "item-title" }, `Item ${nameOf(url)}`), h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  // History: items older than `boundary`, newest first, found by looking
  // back over ever longer spans of arrival time (the listing runs oldest
  // first; by=timestamp finds where a span starts).
  let boundary = "";
  let pending = []; // names older than boundary not shown yet, ascending
  let windowStart = null; // ms; every item since then is in pending or shown
  let span = 10 * 60 * 1000;
  let exhausted = false;
  let first = ""; // the oldest item's name when the page opened

  // scanIds lists the names of items that arrived at or after fromMs and
  // come before stop; complete is false when there were too many to read.
  async function scanIds(fromMs, stop) {
    const ids = [];
    let q = `?by=timestamp&from=${Math.floor(fromMs)}&format=ids&limit=1000`;
    for (let i = 0; i < MAX_SCAN_PAGES; i++) {
      const { json } = await getJSON(inbox + q, { signal });
      const got = (json.contains || []).map(nameOf);
      for (const n of got) {
        if (n >= stop) return { ids, complete: true };
        ids.push(n);
      }
      if (got.length < 1000) return { ids, complete: true };
      q = `?from=${json.next}&format=ids&limit=1000`;
    }
    return { ids, complete: false };
  }

  async function loadOlder() {
    while (pending.length < PAGE && !exhausted) {
      if ((pending.length ? pending[0] : boundary) <= first) {
        exhausted = true; // the oldest item is shown or pending
        break;
      }
      const start = Math.max(0, (windowStart === null ? Date.now() : windowStart) - span);
      const stop = pending.length ? pending[0] : boundary;
      const r = await scanIds(start, stop);
      if (!r.complete && span > 1000) {
        span = Math.max(1000, span / 8);
        continue;
      }
      pending = r.ids.concat(pending);
      windowStart = start;
      if (start === 0) exhausted = true;
      span *= 6;
    }
    const take = pending.splice(Math.max(0, pending.length - PAGE));
    if (take.length) {
      const { json } = await getJSON(`${inbox}?from=${take[0]}&limit=${take.length}`, { signal });
      const want = new Set(take);
      addOlder((json.contains || []).filter((it) => want.has(nameOf(it.url))));
      boundary = take[0];
    }
    olderBtn.hidden = exhausted && pending.length === 0;
  }

  async function follow(cursor) {
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        const pending = getJSON(`${inbox}?from=${cursor}&wait=${WAIT}&limit=100`, { signal });
        live.textContent = "Live: new items appear here as they arrive.";
        live.className = "live on";
        const { json } = await pending;
        addNewest(json.contains || []);
        cursor = json.next || cursor;
        backoff = 1000;
      } catch (e) {
        if (signal.aborted || e.name === "AbortError") return;
        live.textContent = `Live updates interrupted (${e.message}); retrying in ${Math.round(backoff / 1000)} s.`;
        live.className = "live off";
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return;
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30000);
      }
    }
  }

  olderBtn.addEventListener("click", () => busy(olderBtn, "Loading…", status, async () => {
    await loadOlder();
    status.clear();
  }));

  (async () => {
    status.busy("Loading the newest items…");
    try {
      // The cursor past every item now: live updates start there, history
      // ends there.
      const { json } = await getJSON(`${inbox}?by=timestamp&from=${FAR_FUTURE_MS}&format=ids&limit=1`, { signal });
      boundary = json.next;
      follow(json.next);
      const head = await getJSON(`${inbox}?format=ids&limit=1`, { signal });
      first = head.json.contains && head.json.contains.length ? nameOf(head.json.contains[0]) : boundary;
      await loadOlder();
      status.clear();
      setEmpty();
    } catch (e) {
      if (!signal.aborted) {
        status.error(e);
        live.textContent = "Not live.";
        live.className = "live off";
      }
    }
  })();
}

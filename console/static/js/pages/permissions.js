// Permissions page: the pod's settings/subscriptions as a table (who may
// publish which topics to this pod; who subscribes to which topics, and
// where copies go), with add, edit and remove. Every change is saved at
// once with a PUT of the whole document (If-Match the version shown), and
// the server's error text is shown when it refuses.

import { ApiError, getJSON, request, sendJSON } from "../api.js";
import { isAbsoluteHTTP, podOfWebID, webIDOfPod } from "../agents.js";
import { Status, busy, copyButton, field, h, id, replace, when } from "../dom.js";
import { patternError, splitPatterns, topicError, topicMatches } from "../topics.js";

const contextURI = "https://w3id.org/podserver/v1";

// podName is a pod's name, as the agent of an item: a pod of this server.
const podName = /^[a-z0-9][a-z0-9-]{0,62}$/;

// newSecret returns a fresh Standard Webhooks signing secret.
function newSecret() {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return "whsec_" + btoa(String.fromCharCode(...b));
}

// agentCell shows an agent: a pod of this server by name, with its WebID.
function agentCell(agent) {
  const pod = podOfWebID(agent);
  return h("td", { class: "agent", "data-label": "Agent" },
    pod ? h("strong", {}, pod) : null,
    h("span", { class: pod ? "url muted" : "url" }, agent));
}

function topicList(list) {
  if (!list || list.length === 0) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "topics" }, list.map((t) => h("li", {}, h("code", {}, t))));
}

export function permissionsPage({ main, session, signal }) {
  document.title = `Permissions · ${session.pod} · podserver console`;
  const url = session.root + "settings/subscriptions";
  const status = new Status();
  const tableArea = h("div", { class: "table-wrap" });
  const logArea = h("section", { class: "card", id: "delivery-log", "aria-labelledby": "log-title", hidden: true });
  const editorArea = h("div", {});
  const secretArea = h("div", {});
  const addButton = h("button", { type: "button" }, "Add a permission or subscription");
  const reloadButton = h("button", { type: "button", class: "secondary" }, "Reload");
  let state = { doc: null, etag: "", exists: true };

  main.append(
    h("h1", {}, "Permissions"),
    h("p", { class: "intro" }, "Who may publish which topics to this pod, and who gets a copy of which events (",
      h("a", { href: url, class: "url" }, "settings/subscriptions"),
      "). Topics are {domain}/{topic}#{action}; a permission also covers a topic's actions (realestate/contact covers realestate/contact#add), realestate/* covers a whole domain, * covers everything."),
    status.el,
    h("div", { class: "actions" }, addButton, reloadButton),
    secretArea,
    editorArea,
    tableArea,
    logArea,
    checkTool(() => state.doc),
  );

  async function load() {
    status.busy("Loading the permissions…");
    try {
      const { json, res } = await getJSON(url, { signal });
      state = { doc: json, etag: res.headers.get("ETag") || "", exists: true };
      status.clear();
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status === 404) {
        state = { doc: { "@context": contextURI, version: "1", items: [] }, etag: "", exists: false };
        status.ok("This pod has no settings/subscriptions yet: nothing may be published to it. Add a permission to create it.");
      } else {
        status.error(e);
        return;
      }
    }
    renderTable();
  }

  // save PUTs doc; on success it becomes the state. It throws ApiErrors.
  async function save(doc, what) {
    const headers = {};
    if (state.exists && state.etag) headers["If-Match"] = state.etag;
    else headers["If-None-Match"] = "*";
    const ctype = doc["@context"] ? "application/ld+json" : "application/json";
    let res;
    try {
      res = await sendJSON("PUT", url, doc, { headers, ctype, signal });
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        throw new ApiError(412, "The settings changed since this page loaded them (someone else saved). Reload and make the change again.");
      }
      if (e instanceof ApiError && e.status === 400) throw new ApiError(400, `The server refused the change: ${e.message}`);
      throw e;
    }
    state = { doc, etag: res.headers.get("ETag") || "", exists: true };
    status.ok(what);
    renderTable();
  }

  function renderTable() {
    const items = (state.doc && state.doc.items) || [];
    if (items.length === 0) {
      replace(tableArea, h("p", { class: "empty" }, "No permissions and no subscriptions: nobody may publish to this pod."));
      return;
    }
    const rows = items.map((it, i) => {
      const actions = h("td", { class: "row-actions" });
      const edit = h("button", { type: "button", class: "secondary", "aria-label": `Edit item ${i + 1} (${podOfWebID(it.agent) || it.agent})` }, "Edit");
      const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove item ${i + 1} (${podOfWebID(it.agent) || it.agent})` }, "Remove");
      edit.addEventListener("click", () => openEditor(i));
      remove.addEventListener("click", () => confirmRemove(i, actions, edit, remove));
      actions.append(edit, remove);
      let delivery = h("span", { class: "muted" }, "—");
      if ((it.subscribes || []).length) {
        delivery = it.target
          ? h("span", {}, "webhook ", h("span", { class: "url" }, it.target), it.secret ? h("span", { class: "muted" }, " (signed; secret hidden)") : null)
          : h("span", {}, "the agent's pod inbox");
      }
      return h("tr", { dataset: { index: String(i) } },
        agentCell(it.agent),
        h("td", { "data-label": "May publish" }, topicList(it.publishes)),
        h("td", { "data-label": "Subscribes to" }, topicList(it.subscribes)),
        h("td", { "data-label": "Copies go to" }, delivery),
        actions);
    });
    replace(tableArea, h("table", { class: "data", id: "permissions-table" },
      h("caption", {}, `${items.length} item${items.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Agent"),
        h("th", { scope: "col" }, "May publish to this pod"),
        h("th", { scope: "col" }, "Subscribes to"),
        h("th", { scope: "col" }, "Copies go to"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, rows)));
    renderLog(items);
  }

  // renderLog shows, for each subscription, the last deliveries this pod's
  // settings routed to it (its outbox holds them): their status, attempts
  // and errors.
  let logRun = 0;
  async function renderLog(items) {
    const run = ++logRun;
    const subs = items.filter((it) => (it.subscribes || []).length);
    logArea.hidden = subs.length === 0;
    if (subs.length === 0) return;
    const title = h("h2", { id: "log-title" }, "Delivery log");
    const intro = h("p", { class: "hint" }, "The last deliveries of copies to each subscriber (from this pod's outbox). Copies to this server's inboxes are made at once while publishing and are listed only when they were held back or queued.");
    replace(logArea, title, intro, h("p", { class: "status busy", role: "status" }, "Loading the deliveries…"));
    const blocks = [];
    for (const it of subs) {
      const target = it.target || it.agent;
      const who = podOfWebID(it.agent) || it.agent;
      const all = "#/outbox?" + new URLSearchParams({ target }).toString();
      let body;
      try {
        const { json } = await getJSON(session.root + "outbox/?" + new URLSearchParams({ target, order: "newest", limit: "5" }).toString(), { signal, headers: { Accept: "application/json" } });
        const recs = json.items || [];
        const lastErr = recs.find((r) => r.lastError);
        body = recs.length === 0
          ? h("p", { class: "muted" }, "No deliveries recorded.")
          : [
            h("ul", { class: "log" }, recs.map((r) => h("li", {},
              h("span", { class: "badge " + (r.status === "failed" ? "bad" : r.status === "delivered" ? "ok" : "") }, r.status),
              ` ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}`,
              r.status === "delivered" ? ` · delivered ${when(r.delivered)}` : r.status === "pending" ? ` · next ${when(r.due)}` : "",
              h("span", { class: "url muted" }, r.eventId)))),
            lastErr ? h("p", { class: "error-text" }, `Last error: ${lastErr.lastError}${lastErr.lastStatus ? ` (HTTP ${lastErr.lastStatus})` : ""}`) : null,
            json.next ? h("p", {}, h("a", { href: all }, "All deliveries in the outbox")) : null,
          ];
      } catch (e) {
        if (signal.aborted) return;
        body = h("p", { class: "error" }, e.message);
      }
      blocks.push(h("div", { class: "log-entry", dataset: { target } },
        h("h3", {}, `${who}: `, it.target ? ["webhook ", h("span", { class: "url" }, it.target)] : "the agent's inbox"),
        body,
        h("p", {}, h("a", { href: all }, "Open in the outbox"))));
    }
    if (run === logRun) replace(logArea, title, intro, blocks);
  }

  function confirmRemove(i, cell, edit, remove) {
    const it = state.doc.items[i];
    const yes = h("button", { type: "button", class: "danger" }, "Yes, remove");
    const no = h("button", { type: "button", class: "secondary" }, "Keep");
    const q = h("span", { class: "confirm" }, `Remove ${podOfWebID(it.agent) || it.agent}'s item?`);
    replace(cell, q, yes, no);
    yes.focus();
    no.addEventListener("click", () => {
      replace(cell, edit, remove);
      remove.focus();
    });
    yes.addEventListener("click", () => busy(yes, "Removing…", status, async () => {
      const doc = structuredClone(state.doc);
      doc.items.splice(i, 1);
      await save(doc, "Removed. The change applies to the next publish.");
      addButton.focus();
    }));
  }

  // openEditor shows the form for item i (or a new item when i < 0).
  function openEditor(i) {
    secretArea.replaceChildren();
    const orig = i >= 0 ? state.doc.items[i] : null;
    const formStatus = new Status();
    const agentIn = h("input", { type: "text", inputmode: "url", required: true, spellcheck: "false", autocomplete: "off", value: orig ? orig.agent : "", placeholder: "producer, or https://example.com/profile/card#me" });
    const pubIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", value: orig ? (orig.publishes || []).join(", ") : "", placeholder: "realestate/contact" });
    const subIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", value: orig ? (orig.subscribes || []).join(", ") : "", placeholder: "realestate/contact#add" });
    const targetIn = h("input", { type: "url", spellcheck: "false", autocomplete: "off", value: orig && orig.target ? orig.target : "", placeholder: "https://hooks.example/callback" });
    const radioName = id("delivery");
    const toInbox = h("input", { type: "radio", name: radioName, id: id("r"), checked: !(orig && orig.target) });
    const toHook = h("input", { type: "radio", name: radioName, id: id("r"), checked: Boolean(orig && orig.target) });
    const rotate = h("input", { type: "checkbox", id: id("c") });
    const agentF = field("Agent (WebID)", agentIn, "The agent's WebID (https://host/producer/profile/card#me), or the name of a pod of this server (producer).");
    const pubF = field("May publish these topics to this pod", pubIn, "Topic patterns separated by commas or spaces; leave empty for none.");
    const subF = field("Gets a copy of events with these topics", subIn, "Topic patterns; leave empty for none.");
    const targetF = field("Webhook URL", targetIn, "Copies are POSTed here as signed CloudEvents.");
    const rotateRow = orig && orig.secret
      ? h("div", { class: "check" }, rotate, h("label", { for: rotate.id }, "Make a new signing secret (the old one stops working)"))
      : null;
    const hookFields = h("div", { class: "indent" }, targetF.el, rotateRow);
    const saveBtn = h("button", { type: "submit" }, i >= 0 ? "Save changes" : "Add");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const title = id("ed");
    const form = h("form", { class: "card editor", "aria-labelledby": title, novalidate: true },
      h("h2", { id: title }, i >= 0 ? `Edit item ${i + 1}` : "Add a permission or subscription"),
      agentF.el, pubF.el, subF.el,
      h("fieldset", {},
        h("legend", {}, "Copies of subscribed events go to"),
        h("div", { class: "check" }, toInbox, h("label", { for: toInbox.id }, "the agent's pod inbox")),
        h("div", { class: "check" }, toHook, h("label", { for: toHook.id }, "a webhook")),
        hookFields),
      h("div", { class: "actions" }, saveBtn, cancel),
      formStatus.el);

    // check validates the form as the owner types; it returns the item, or
    // null while something is wrong.
    const check = () => {
      let ok = true;
      let agent = agentIn.value.trim();
      if (podName.test(agent)) agent = webIDOfPod(agent);
      if (agent === "") {
        agentF.setError(agentIn.dataset.touched ? "Enter the agent's WebID, or a pod name of this server." : "");
        ok = false;
      } else if (!isAbsoluteHTTP(agent)) {
        agentF.setError("The agent must be a pod name of this server (a-z, 0-9, '-') or an absolute http(s) URL (a WebID).");
        ok = false;
      } else agentF.setError("");
      const pubs = splitPatterns(pubIn.value);
      const subs = splitPatterns(subIn.value);
      const pubErr = pubs.map(patternError).filter(Boolean);
      const subErr = subs.map(patternError).filter(Boolean);
      pubF.setError(pubErr.join("; "));
      subF.setError(subErr.join("; "));
      if (pubErr.length || subErr.length) ok = false;
      if (pubs.length === 0 && subs.length === 0) {
        formStatus.error(pubIn.dataset.touched || subIn.dataset.touched ? "Give at least one topic to publish or to subscribe to." : "");
        ok = false;
      } else formStatus.clear();
      hookFields.hidden = !toHook.checked;
      const target = targetIn.value.trim();
      if (toHook.checked) {
        if (!isAbsoluteHTTP(target)) {
          targetF.setError(target || targetIn.dataset.touched ? "The webhook must be an absolute http(s) URL." : "");
          ok = false;
        } else targetF.setError("");
      }
      if (!ok) return null;
      const item = { ...(orig || { type: "Subscription" }), agent };
      delete item.publishes;
      delete item.subscribes;
      delete item.target;
      delete item.secret;
      if (pubs.length) item.publishes = pubs;
      if (subs.length) item.subscribes = subs;
      if (toHook.checked && subs.length) {
        item.target = target;
        const keep = orig && orig.secret && orig.target && !rotate.checked;
        item.secret = keep ? orig.secret : newSecret();
      }
      return item;
    };
    for (const el of [agentIn, pubIn, subIn, targetIn, toInbox, toHook, rotate]) {
      el.addEventListener("input", () => {
        el.dataset.touched = "1";
        check();
      });
      el.addEventListener("change", check);
    }
    cancel.addEventListener("click", () => {
      editorArea.replaceChildren();
      addButton.focus();
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      for (const el of [agentIn, pubIn, subIn, targetIn]) el.dataset.touched = "1";
      const item = check();
      if (!item) {
        formStatus.error(formStatus.err.textContent || "Fix the fields marked above first.");
        return;
      }
      busy(saveBtn, "Saving…", formStatus, async () => {
        const named = agentIn.value.trim();
        if (podName.test(named)) {
          // A pod name: the pod must exist here.
          try {
            await request(item.agent.replace(/#.*$/, ""), { method: "HEAD", signal });
          } catch (e) {
            if (e instanceof ApiError && e.status === 404) {
              agentF.setError(`There is no pod named ${named} on this server.`);
              throw new ApiError(404, `Not saved: there is no pod named ${named} on this server.`);
            }
            // Any other answer (a profile not readable with this key) says
            // the pod exists; only an unreachable server stops the save.
            if (!(e instanceof ApiError) || e.status === 0) throw e;
          }
        }
        const doc = structuredClone(state.doc);
        doc.items = doc.items || [];
        if (i >= 0) doc.items[i] = item;
        else doc.items.push(item);
        await save(doc, i >= 0 ? "Saved. The change applies to the next publish." : "Added. The change applies to the next publish.");
        editorArea.replaceChildren();
        if (item.secret && (!orig || orig.secret !== item.secret)) showSecret(item.secret);
        addButton.focus();
      });
    });
    replace(editorArea, form);
    check();
    agentIn.focus();
  }

  function showSecret(secret) {
    const s = new Status();
    replace(secretArea, h("section", { class: "card once", "aria-labelledby": "secret-title" },
      h("h2", { id: "secret-title" }, "Webhook signing secret"),
      h("p", {}, "Give this secret to the webhook's owner now: the console does not show it again."),
      h("p", {}, h("code", { class: "secret", id: "webhook-secret" }, secret)),
      h("div", { class: "actions" }, copyButton("Copy secret", () => secret, s),
        h("button", { type: "button", class: "secondary", onclick: () => secretArea.replaceChildren() }, "Done")),
      s.el));
  }

  addButton.addEventListener("click", () => openEditor(-1));
  reloadButton.addEventListener("click", () => busy(reloadButton, "Reloading…", null, load));
  load();
}

// checkTool answers "may this agent publish this topic here, and who gets
// a copy?" against the settings shown, the way the server decides.
function checkTool(getDoc) {
  const agentIn = h("input", { type: "url", spellcheck: "false", autocomplete: "off", placeholder: "https://host/producer/profile/card#me" });
  const topicIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", placeholder: "realestate/contact#add" });
  const agentF = field("Publishing agent (WebID)", agentIn);
  const topicF = field("Event topic", topicIn);
  const out = h("div", { class: "check-result", "aria-live": "polite" });
  const run = () => {
    const doc = getDoc();
    const agent = agentIn.value.trim();
    const topic = topicIn.value.trim();
    out.replaceChildren();
    if (!doc || !topic) return;
    const err = topicError(topic);
    topicF.setError(err);
    if (err) return;
    const items = doc.items || [];
    if (agent) {
      const hit = items.find((it) => it.agent === agent && (it.publishes || []).some((p) => topicMatches(p, topic)));
      out.append(h("p", { class: hit ? "yes" : "no" }, hit
        ? `Allowed: ${podOfWebID(agent) || agent} may publish ${topic} to this pod.`
        : `Denied: no item lets ${podOfWebID(agent) || agent} publish ${topic} to this pod (the publish gets a 403).`));
    }
    const subs = items.filter((it) => (it.subscribes || []).some((p) => topicMatches(p, topic)));
    out.append(h("p", {}, subs.length
      ? `Copies go to: ${subs.map((it) => (podOfWebID(it.agent) || it.agent) + (it.target ? ` (webhook ${it.target})` : " (inbox)")).join(", ")}.`
      : "No subscriber gets a copy of this topic."));
  };
  agentIn.addEventListener("input", run);
  topicIn.addEventListener("input", run);
  return h("section", { class: "card", "aria-labelledby": "check-title" },
    h("h2", { id: "check-title" }, "Check a topic"),
    h("div", { class: "grid2" }, agentF.el, topicF.el),
    out);
}

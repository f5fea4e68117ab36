// Access control page: pick a resource or container, see its effective ACL
// (its own, or the one it inherits from the nearest ancestor container that
// has one, saying which), and edit authorizations: agents, agent classes,
// origins, clients (acl:client: the Solid-OIDC apps a rule is limited to);
// Read, Write, Append, Control; this resource and/or its children.
// The editor refuses to save a document that takes Control away from the
// owner (the server would still let the owner key in, but nothing else).

import { ApiError, getJSON, link, request, sendJSON } from "../api.js";
import { isAbsoluteHTTP, podOfWebID } from "../agents.js";
import {
  AUTHENTICATED, FOAF_AGENT, MODES, ancestors, buildDocument, ownerKeepsControl, parseNTriples, parseRules,
} from "../acl.js";
import { Status, busy, field, h, id, replace } from "../dom.js";

const NT = "application/n-triples";

// readACL GETs an ACL document; it returns {rules, etag} or null when the
// document does not exist.
async function readACL(url, signal) {
  try {
    const res = await request(url, { signal, headers: { Accept: NT } });
    return { rules: parseRules(parseNTriples(await res.text())), etag: res.headers.get("ETag") || "" };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

// matchTags is an If-Match value for a document read as N-Triples: the tag
// of that representation and the tag of the stored one, which the server
// compares writes with (it names converted representations "<tag>-nt").
function matchTags(etag) {
  const stored = etag.replace(/-nt"$/, '"');
  return stored === etag ? etag : `${etag}, ${stored}`;
}

function who(r) {
  const parts = [];
  for (const c of r.classes) {
    if (c === FOAF_AGENT) parts.push("everyone");
    else if (c === AUTHENTICATED) parts.push("any signed-in agent");
    else parts.push(c);
  }
  for (const a of r.agents) parts.push(podOfWebID(a) ? `${podOfWebID(a)} (${a})` : a);
  for (const g of r.groups) parts.push(`group ${g}`);
  let s = parts.join(", ") || "nobody";
  if (r.origins.length) s += ` — from apps at ${r.origins.join(", ")}`;
  if (r.clients.length) s += ` — only through the apps (client ids) ${r.clients.join(", ")}`;
  return s;
}

function relPath(url, root) {
  return url.startsWith(root) ? url.slice(root.length) : url;
}

export function accessPage({ main, session, params, signal }) {
  document.title = `Access control · ${session.pod} · podserver console`;
  const root = session.root;
  const status = new Status();
  const pathIn = h("input", { type: "text", spellcheck: "false", autocomplete: "off", value: params.get("path") || "" });
  const pathF = field("Resource or container (path in the pod; end containers with /)", pathIn, `Relative to ${root}; empty for the pod root.`);
  const showBtn = h("button", { type: "submit" }, "Show access");
  const picker = h("form", { class: "card picker", novalidate: true, "aria-label": "Pick a resource" }, pathF.el, h("div", { class: "actions" }, showBtn));
  const browser = h("nav", { class: "card browser", "aria-labelledby": "browse-title" });
  const effective = h("section", { class: "card", "aria-labelledby": "effective-title" });
  const editor = h("div", {});
  main.append(
    h("h1", {}, "Access control"),
    h("p", { class: "intro" }, "Every resource is governed by its own ACL document if it has one, else by the acl:default rules of the nearest container above it that has one. Owner keys always keep full control of this pod."),
    status.el, picker, effective, editor, browser);

  picker.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = pathIn.value.trim().replace(/^\/+/, "");
    location.hash = "#/access?path=" + encodeURIComponent(p);
  });

  async function showBrowser(container) {
    const up = container === root ? null : ancestors(container, root)[0];
    const title = h("h2", { id: "browse-title" }, `Contents of ${relPath(container, root) || "the pod root"}`);
    replace(browser, title, h("p", { class: "status busy", role: "status" }, "Listing…"));
    try {
      const { json } = await getJSON(container + "?limit=200", { signal });
      const items = (json.contains || []).map((u) => {
        const rel = relPath(u, root);
        return h("li", {}, h("a", { href: "#/access?path=" + encodeURIComponent(rel) }, rel.slice(relPath(container, root).length) || rel));
      });
      replace(browser, title, h("ul", { class: "members" },
        up !== null ? h("li", {}, h("a", { href: "#/access?path=" + encodeURIComponent(relPath(up, root)) }, "↑ up to " + (relPath(up, root) || "the pod root"))) : null,
        items.length ? items : h("li", { class: "muted" }, "(empty)"),
        json.next ? h("li", { class: "muted" }, "… more members are not listed") : null));
    } catch (e) {
      if (!signal.aborted) replace(browser, title, h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  // load shows the access of the resource in the address; done, when
  // given, is the outcome of the change that led here, told once the page
  // shows the new state.
  async function load(done) {
    const path = (params.get("path") || "").replace(/^\/+/, "");
    const url = root + path;
    const isContainer = url.endsWith("/");
    replace(effective, h("h2", { id: "effective-title" }, "Effective ACL"));
    editor.replaceChildren();
    if (path.endsWith(".acl")) {
      effective.append(h("p", {}, "This is an ACL document: it is governed by Control of the resource it belongs to. Pick that resource instead."));
      return;
    }
    showBrowser(isContainer ? url : ancestors(url, root)[0] || root);
    status.busy(`Reading the access of ${path || "the pod root"}…`);
    try {
      let res;
      try {
        res = await request(url, { method: "HEAD", signal });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) throw new ApiError(404, `There is no resource at ${url}.`);
        throw e;
      }
      const aclURL = link(res, "acl") || url + ".acl";
      const own = await readACL(aclURL, signal);
      let source = { aclURL, own: true, container: "" };
      let doc = own;
      if (!own) {
        // The nearest ancestor container with an ACL document governs.
        for (const c of ancestors(url, root)) {
          const d = await readACL(c + ".acl", signal);
          if (d) {
            source = { aclURL: c + ".acl", own: false, container: c };
            doc = d;
            break;
          }
        }
      }
      if (done) {
        status.ok(done);
        status.el.scrollIntoView({ block: "nearest" });
      } else status.clear();
      if (!doc) {
        effective.append(h("p", { class: "error" }, "No ACL governs this resource: only the owner key can use it."));
        editor.append(ownEditor({ url, aclURL, isContainer, rules: [], etag: "", exists: false }));
        return;
      }
      const applicable = doc.rules.filter((r) => (source.own ? r.accessTo.includes(url) : r.defaults.includes(source.container)));
      effective.append(
        h("p", { class: "source", id: "acl-source" }, source.own
          ? ["This resource has its own ACL: ", h("a", { class: "url", href: source.aclURL }, relPath(source.aclURL, root))]
          : ["Inherited from ", h("strong", {}, relPath(source.container, root) || "the pod root"),
            " (the acl:default rules of ", h("a", { class: "url", href: source.aclURL }, relPath(source.aclURL, root)), "): this resource has no ACL of its own."]),
        rulesTable(applicable, url, source),
      );
      if (source.own) {
        editor.append(ownEditor({ url, aclURL, isContainer, rules: doc.rules, etag: doc.etag, exists: true }));
      } else {
        const give = h("button", { type: "button" }, "Give this resource its own ACL");
        give.addEventListener("click", () => {
          // Start from what applies now, as rules of its own.
          const rules = applicable.map((r) => ({
            ...r, id: "", modes: new Set(r.modes), accessTo: [url], defaults: isContainer ? [url] : [],
            agents: [...r.agents], classes: [...r.classes], origins: [...r.origins], clients: [...r.clients], groups: [...r.groups],
          }));
          replace(editor, ownEditor({ url, aclURL, isContainer, rules, etag: "", exists: false }));
        });
        editor.append(h("div", { class: "actions" }, give));
      }
    } catch (e) {
      if (!signal.aborted) status.error(e);
    }
  }

  function rulesTable(rules, url, source) {
    if (rules.length === 0) return h("p", { class: "empty" }, "No rule grants access to this resource: only the owner key can use it.");
    return h("div", { class: "table-wrap" }, h("table", { class: "data", id: "acl-effective" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "May"), h("th", { scope: "col" }, "Applies to"))),
      h("tbody", {}, rules.map((r) => h("tr", {},
        h("td", { "data-label": "Who" }, who(r)),
        h("td", { "data-label": "May" }, MODES.filter((m) => r.modes.has(m)).join(", ") || "nothing"),
        h("td", { "data-label": "Applies to" }, source.own
          ? [r.accessTo.includes(url) ? "this resource" : null, r.defaults.includes(url) ? (r.accessTo.includes(url) ? " and its children" : "its children") : null]
          : "this resource (inherited)"))))));
  }

  // ownEditor edits a resource's own ACL document.
  function ownEditor({ url, aclURL, isContainer, rules, etag, exists }) {
    const st = new Status();
    const list = h("div", { class: "rules" });
    let drafts = rules.map((r) => ({ ...r, modes: new Set(r.modes) }));
    const saveBtn = h("button", { type: "submit" }, exists ? "Save ACL" : "Create this ACL");
    const addBtn = h("button", { type: "button", class: "secondary" }, "Add a rule");
    const delBtn = exists && url !== root ? h("button", { type: "button", class: "danger" }, "Delete this ACL (inherit again)") : null;
    const fixBtn = h("button", { type: "button", class: "secondary", hidden: true }, "Give me Control back");
    const title = h("h2", { id: "editor-title" }, exists ? "Edit this resource's ACL" : "New ACL for this resource");
    const form = h("form", { class: "card editor", "aria-labelledby": "editor-title", novalidate: true },
      title,
      h("p", { class: "hint", id: "acl-where" }, exists
        ? ["Stored at ", h("span", { class: "url" }, aclURL), ". Changes apply once saved."]
        : ["Not saved yet: ", h("strong", {}, "Create this ACL"), " stores it at ", h("span", { class: "url" }, aclURL), "; until then the inherited rules apply."]),
      list,
      h("div", { class: "actions" }, addBtn),
      h("div", { class: "actions" }, saveBtn, fixBtn, delBtn),
      st.el);

    const render = () => {
      replace(list, drafts.map((r, i) => ruleEditor(r, i)));
    };

    function ruleEditor(r, i) {
      const agentsIn = h("textarea", { rows: "2", spellcheck: "false", autocomplete: "off" });
      agentsIn.value = r.agents.join("\n");
      const originsIn = h("textarea", { rows: "1", spellcheck: "false", autocomplete: "off" });
      originsIn.value = r.origins.join("\n");
      const agentsF = field("Agents (WebIDs, one per line)", agentsIn);
      const originsF = field("Only from apps at these origins (optional, one per line)", originsIn);
      const clientsIn = h("textarea", { rows: "1", spellcheck: "false", autocomplete: "off" });
      clientsIn.value = r.clients.join("\n");
      const clientsF = field("Only through these apps (Solid-OIDC client ids, optional, one per line)", clientsIn,
        "An app's Client ID Document URL, or the id its identity provider gave it. Requests through other apps, and with API keys, do not get this rule.");
      const checkbox = (label, checked, onchange) => {
        const c = h("input", { type: "checkbox", id: id("c"), checked });
        c.addEventListener("change", () => onchange(c.checked));
        return h("div", { class: "check" }, c, h("label", { for: c.id }, label));
      };
      const toggle = (arr, v, on) => {
        const k = arr.indexOf(v);
        if (on && k < 0) arr.push(v);
        if (!on && k >= 0) arr.splice(k, 1);
      };
      agentsIn.addEventListener("input", () => {
        r.agents = agentsIn.value.split(/\s+/).filter(Boolean);
        const bad = r.agents.filter((a) => !isAbsoluteHTTP(a));
        agentsF.setError(bad.length ? `Not an absolute http(s) URL: ${bad.join(", ")}` : "");
      });
      originsIn.addEventListener("input", () => {
        r.origins = originsIn.value.split(/\s+/).filter(Boolean);
        const bad = r.origins.filter((o) => !isAbsoluteHTTP(o));
        originsF.setError(bad.length ? `Not an origin such as https://app.example: ${bad.join(", ")}` : "");
      });
      clientsIn.addEventListener("input", () => {
        r.clients = clientsIn.value.split(/\s+/).filter(Boolean);
      });
      const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove rule ${i + 1}` }, "Remove rule");
      remove.addEventListener("click", () => {
        drafts.splice(i, 1);
        render();
        addBtn.focus();
      });
      return h("fieldset", { class: "rule", dataset: { rule: String(i) } },
        h("legend", {}, `Rule ${i + 1}`),
        agentsF.el,
        h("div", { class: "checks" },
          checkbox("Everyone (foaf:Agent, also anonymous)", r.classes.includes(FOAF_AGENT), (on) => toggle(r.classes, FOAF_AGENT, on)),
          checkbox("Any signed-in agent (acl:AuthenticatedAgent)", r.classes.includes(AUTHENTICATED), (on) => toggle(r.classes, AUTHENTICATED, on))),
        originsF.el,
        clientsF.el,
        h("fieldset", { class: "inline" }, h("legend", {}, "May"),
          MODES.map((m) => checkbox(m, r.modes.has(m), (on) => (on ? r.modes.add(m) : r.modes.delete(m))))),
        h("fieldset", { class: "inline" }, h("legend", {}, "Applies to"),
          checkbox("this resource", r.accessTo.includes(url), (on) => toggle(r.accessTo, url, on)),
          isContainer ? checkbox("its children (what has no ACL of its own)", r.defaults.includes(url), (on) => toggle(r.defaults, url, on)) : null),
        h("div", { class: "actions" }, remove));
    }

    addBtn.addEventListener("click", () => {
      drafts.push({ id: "", agents: [], classes: [], origins: [], clients: [], accessTo: [url], defaults: isContainer ? [url] : [], modes: new Set(["Read"]), groups: [] });
      render();
      const last = list.lastElementChild;
      if (last) last.querySelector("textarea").focus();
    });

    fixBtn.addEventListener("click", () => {
      drafts.unshift({ id: "", agents: [session.webid], classes: [], origins: [], clients: [], accessTo: [url], defaults: isContainer ? [url] : [], modes: new Set(MODES), groups: [] });
      fixBtn.hidden = true;
      st.clear();
      render();
    });

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      fixBtn.hidden = true;
      for (const [i, r] of drafts.entries()) {
        const n = i + 1;
        if (r.agents.some((a) => !isAbsoluteHTTP(a))) return st.error(`Rule ${n}: every agent must be an absolute http(s) URL (a WebID).`);
        if (r.origins.some((o) => !isAbsoluteHTTP(o))) return st.error(`Rule ${n}: every origin must be like https://app.example.`);
        if (r.agents.length + r.classes.length + r.groups.length === 0) return st.error(`Rule ${n}: say who it is for (an agent, or everyone / any signed-in agent), or remove it.`);
        if (r.modes.size === 0) return st.error(`Rule ${n}: tick at least one of Read, Write, Append, Control, or remove it.`);
        if (r.accessTo.length + r.defaults.length === 0) return st.error(`Rule ${n}: it applies to nothing: tick this resource${isContainer ? " or its children" : ""}.`);
      }
      const keep = ownerKeepsControl(drafts, url, session.webid);
      if (!keep.self || !keep.kids) {
        fixBtn.hidden = false;
        return st.error(`Not saved: this would take Control of ${keep.self ? "this container's children" : "this resource"} away from you (${session.webid}). Keep a rule that gives your WebID Control of it${isContainer ? " and of its children" : ""}.`);
      }
      busy(saveBtn, "Saving…", st, async () => {
        const doc = buildDocument(drafts, aclURL, root);
        const headers = exists ? { "If-Match": matchTags(etag) } : { "If-None-Match": "*" };
        try {
          await sendJSON("PUT", aclURL, doc, { headers, signal });
        } catch (e) {
          if (e instanceof ApiError && e.status === 412) throw new ApiError(412, "The ACL changed since this page read it. Reload the page and make the change again.");
          throw e;
        }
        const rel = relPath(url, root) || "the pod root";
        load(exists
          ? `ACL saved: the rules of ${rel} are stored at ${aclURL} and apply now.`
          : `ACL created: ${rel} now has its own ACL, stored at ${aclURL}; it no longer inherits.`);
      });
    });

    if (delBtn) {
      delBtn.addEventListener("click", () => busy(delBtn, "Deleting…", st, async () => {
        await request(aclURL, { method: "DELETE", headers: { "If-Match": matchTags(etag) }, signal });
        load("ACL deleted: the resource inherits its access again.");
      }));
    }
    render();
    return form;
  }

  load();
}

// Web Access Control documents: reading them (as N-Triples, which the
// server produces from any stored form, with absolute IRIs), the rules they
// hold, and writing them back as JSON-LD with a small explicit context.

export const ACL = "http://www.w3.org/ns/auth/acl#";
export const FOAF_AGENT = "http://xmlns.com/foaf/0.1/Agent";
export const AUTHENTICATED = ACL + "AuthenticatedAgent";
const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

export const MODES = ["Read", "Write", "Append", "Control"];

// unescapeIRI decodes N-Triples \u and \U escapes.
function unescape(s) {
  return s.replace(/\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|\\(.)/g, (m, u4, u8, c) => {
    if (u4) return String.fromCodePoint(parseInt(u4, 16));
    if (u8) return String.fromCodePoint(parseInt(u8, 16));
    return { t: "\t", n: "\n", r: "\r", b: "\b", f: "\f" }[c] ?? c;
  });
}

const termRE = /\s*(?:<([^>]*)>|_:(\S+)|"((?:[^"\\]|\\.)*)"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?)/y;

// parseNTriples returns [{s, p, o}] with terms {iri}, {blank} or {literal}.
export function parseNTriples(text) {
  const out = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const terms = [];
    termRE.lastIndex = 0;
    let pos = 0;
    for (let k = 0; k < 3; k++) {
      termRE.lastIndex = pos;
      const m = termRE.exec(line);
      if (!m) throw new Error(`cannot read this N-Triples line: ${line}`);
      pos = termRE.lastIndex;
      if (m[1] !== undefined) terms.push({ iri: unescape(m[1]) });
      else if (m[2] !== undefined) terms.push({ blank: m[2] });
      else terms.push({ literal: unescape(m[3]) });
    }
    out.push({ s: terms[0], p: terms[1], o: terms[2] });
  }
  return out;
}

const key = (t) => (t.iri !== undefined ? t.iri : t.blank !== undefined ? "_:" + t.blank : null);

// parseRules returns the acl:Authorization rules of a document's triples:
// {id, agents, classes, origins, clients, accessTo, defaults, groups,
// modes: Set of names}. clients are acl:client ids: IRIs, or string
// literals (opaque ids an identity provider registered).
export function parseRules(triples) {
  const rules = new Map();
  for (const t of triples) {
    if (t.p.iri === RDF_TYPE && t.o.iri === ACL + "Authorization") {
      const id = key(t.s);
      if (id && !rules.has(id)) {
        rules.set(id, { id, agents: [], classes: [], origins: [], clients: [], accessTo: [], defaults: [], modes: new Set(), groups: [] });
      }
    }
  }
  const lists = {
    agent: "agents", agentClass: "classes", origin: "origins", accessTo: "accessTo",
    default: "defaults", defaultForNew: "defaults", agentGroup: "groups",
  };
  for (const t of triples) {
    const r = rules.get(key(t.s));
    if (!r || !t.p.iri || !t.p.iri.startsWith(ACL)) continue;
    const name = t.p.iri.slice(ACL.length);
    if (name === "client") {
      const c = t.o.iri !== undefined ? t.o.iri : t.o.literal;
      if (c && !r.clients.includes(c)) r.clients.push(c);
      continue;
    }
    if (t.o.iri === undefined) continue;
    if (name === "mode") {
      if (t.o.iri.startsWith(ACL)) {
        const m = t.o.iri.slice(ACL.length);
        if (MODES.includes(m)) r.modes.add(m);
      }
    } else if (lists[name] && !r[lists[name]].includes(t.o.iri)) {
      r[lists[name]].push(t.o.iri);
    }
  }
  // The server's N-Triples come in its own order: the rules are shown in
  // the order of their ids (rule-2 before rule-10), which buildDocument
  // numbers in the editor's order.
  return [...rules.values()].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

// relativeTo writes iri relative to the document at base when both are in
// the same pod (so a stored ACL stays right if the server's base URL
// changes), else absolute.
export function relativeTo(base, iri, root) {
  if (!iri.startsWith(root) || !base.startsWith(root)) return iri;
  const baseDir = base.slice(0, base.lastIndexOf("/") + 1).slice(root.length).split("/").filter(Boolean);
  const target = iri.slice(root.length);
  const hashAt = target.indexOf("#");
  const pathPart = hashAt >= 0 ? target.slice(0, hashAt) : target;
  const frag = hashAt >= 0 ? target.slice(hashAt) : "";
  const segs = pathPart.split("/");
  const file = segs.pop(); // "" for a container
  let common = 0;
  while (common < baseDir.length && common < segs.length && baseDir[common] === segs[common]) common++;
  const up = baseDir.length - common;
  let rel = "../".repeat(up) + segs.slice(common).map((s) => s + "/").join("") + file;
  if (rel === "") rel = "./";
  else if (rel.startsWith("#") || rel.includes(":") && !rel.startsWith(".")) rel = "./" + rel;
  return rel + frag;
}

// clientTerm writes a client id as the server does: an absolute IRI as an
// IRI, anything else (an opaque id) as a string.
export function clientTerm(c) {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(c) ? { "@id": c } : c;
}

// buildDocument returns the JSON-LD ACL document holding rules, for the
// ACL at aclURL in the pod at root.
export function buildDocument(rules, aclURL, root) {
  const ref = (iri) => ({ "@id": relativeTo(aclURL, iri, root) });
  // Rules are numbered in the order given, so that they read back in it
  // (parseRules) and two rules never share an id.
  const graph = rules.map((r, i) => {
    const node = { "@id": `#rule-${i + 1}`, "@type": "acl:Authorization" };
    if (r.agents.length) node["acl:agent"] = r.agents.map(ref);
    if (r.classes.length) node["acl:agentClass"] = r.classes.map((c) => ({ "@id": c }));
    if (r.groups.length) node["acl:agentGroup"] = r.groups.map(ref);
    if (r.origins.length) node["acl:origin"] = r.origins.map((o) => ({ "@id": o }));
    if (r.clients.length) node["acl:client"] = r.clients.map(clientTerm);
    if (r.accessTo.length) node["acl:accessTo"] = r.accessTo.map(ref);
    if (r.defaults.length) node["acl:default"] = r.defaults.map(ref);
    node["acl:mode"] = MODES.filter((m) => r.modes.has(m)).map((m) => ({ "@id": "acl:" + m }));
    return node;
  });
  return {
    "@context": { acl: ACL, foaf: "http://xmlns.com/foaf/0.1/" },
    "@graph": graph,
  };
}

// ownerKeepsControl reports whether rules still give the owner (webid)
// Control of url, and for a container of its children too.
export function ownerKeepsControl(rules, url, webid) {
  const forOwner = (r) => r.modes.has("Control") && (r.agents.includes(webid) || r.classes.includes(FOAF_AGENT) || r.classes.includes(AUTHENTICATED));
  const self = rules.some((r) => forOwner(r) && r.accessTo.includes(url));
  const kids = !url.endsWith("/") || rules.some((r) => forOwner(r) && r.defaults.includes(url));
  return { self, kids };
}

// ancestors returns the containers above url in the pod at root, nearest
// first, ending with root.
export function ancestors(url, root) {
  const out = [];
  let u = url;
  while (u !== root && u.length > root.length) {
    u = u.endsWith("/") ? u.slice(0, -1) : u;
    u = u.slice(0, u.lastIndexOf("/") + 1);
    out.push(u);
  }
  return out;
}

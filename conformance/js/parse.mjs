// parse.mjs CONTENT-TYPE BASE-URL [CONTEXT-URL] < body
//
// Parses an RDF document with an independent processor, as a Solid client
// would, and prints its graph as N-Quads: Turtle (text/turtle, N-Triples)
// with N3.js, JSON-LD (application/ld+json, application/json) with
// jsonld.js, whose remote contexts are fetched over HTTP (and only so: a
// context that cannot be fetched is an error, as for any client). For
// plain JSON, CONTEXT-URL is the context a Link header
// (rel="http://www.w3.org/ns/json-ld#context") named.
import jsonld from "jsonld";
import N3 from "n3";

const [contentType, base, linkContext] = process.argv.slice(2);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const text = Buffer.concat(chunks).toString("utf8");
const type = (contentType || "").split(";")[0].trim().toLowerCase();

async function loader(url) {
  const res = await fetch(url, { headers: { Accept: "application/ld+json, application/json" }, redirect: "follow" });
  if (!res.ok) throw new Error(`fetch ${url}: ${res.status}`);
  return { contextUrl: null, documentUrl: res.url, document: await res.json() };
}

try {
  let out;
  if (type === "application/ld+json" || type === "application/json") {
    const opts = { base, format: "application/n-quads", documentLoader: loader, safe: false };
    if (linkContext) opts.expandContext = linkContext;
    out = await jsonld.toRDF(JSON.parse(text), opts);
  } else if (type === "text/turtle" || type === "application/n-triples" || type === "application/n-quads" || type === "text/n3") {
    const quads = new N3.Parser({ baseIRI: base, format: type }).parse(text);
    out = new N3.Writer({ format: "application/n-quads" }).quadsToString(quads);
  } else {
    throw new Error(`unsupported content type ${contentType}`);
  }
  process.stdout.write(out);
} catch (e) {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
}

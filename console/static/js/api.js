// The console's HTTP client. It talks to the pod API only, sends the owner
// key as x-api-key to this server's origins and nowhere else, never uses
// cookies, and turns the server's {"error": "..."} bodies into ApiErrors
// whose message is the server's text.

const sessionKey = "podserver.console.session";

let config = null; // {baseURL, podNaming}
let session = null; // {pod, root, webid, key}

// ApiError is a failed request; message is what to show the owner.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

// loadConfig reads the server's description (base URL, pod naming).
export async function loadConfig() {
  const res = await fetch("config.json", { cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new ApiError(res.status, "Could not read the console's configuration");
  config = await res.json();
  return config;
}

export function getConfig() {
  return config;
}

// podRoot returns the root URL of a pod given by name or URL.
export function podRoot(nameOrURL) {
  const s = nameOrURL.trim();
  if (/^https?:\/\//i.test(s)) {
    const u = new URL(s);
    let p = u.pathname;
    if (config.podNaming !== "subdomain") {
      const first = p.split("/").filter(Boolean)[0];
      p = first ? `/${first}/` : "/";
    } else {
      p = "/";
    }
    return u.origin + p;
  }
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(s)) {
    throw new ApiError(0, "A pod name is 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit; or paste the pod's URL.");
  }
  const base = new URL(config.baseURL);
  if (config.podNaming === "subdomain") return `${base.protocol}//${s}.${base.host}/`;
  return `${base.origin}/${s}/`;
}

// isOurs reports whether url is on this server (where the key may go).
function isOurs(url) {
  let u;
  try {
    u = new URL(url, location.href);
  } catch {
    return false;
  }
  if (u.origin === location.origin) return true;
  const base = new URL(config.baseURL);
  if (u.origin === base.origin) return true;
  return config.podNaming === "subdomain" && u.protocol === base.protocol && u.host.endsWith("." + base.host);
}

export function getSession() {
  if (session) return session;
  try {
    const s = JSON.parse(sessionStorage.getItem(sessionKey) || "null");
    if (s && s.key && s.root) session = s;
  } catch {
    session = null;
  }
  return session;
}

export function setSession(s) {
  session = s;
  if (s) sessionStorage.setItem(sessionKey, JSON.stringify(s));
  else sessionStorage.removeItem(sessionKey);
}

// request sends an HTTP request with the session's key. It resolves to the
// Response when the status is 2xx (or 304), and rejects with an ApiError
// otherwise, or when the server cannot be reached. opts: method, headers,
// body, signal, key (overrides the session's).
export async function request(url, opts = {}) {
  const headers = new Headers(opts.headers || {});
  const key = opts.key || (session && session.key);
  if (key && isOurs(url)) headers.set("x-api-key", key);
  if (!headers.has("Accept")) headers.set("Accept", "application/ld+json");
  let res;
  try {
    res = await fetch(url, {
      method: opts.method || "GET",
      headers,
      body: opts.body,
      signal: opts.signal,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, `Could not reach the server: ${e.message}`);
  }
  if (res.ok || res.status === 304) return res;
  if (res.status === 401 && !opts.key && session) {
    // The session's key stopped working (revoked with the CLI?).
    window.dispatchEvent(new CustomEvent("console:keyrejected"));
  }
  let msg = "";
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") msg = body.error;
  } catch {
    // not a JSON error body
  }
  throw new ApiError(res.status, msg || `The server answered ${res.status} ${res.statusText}`);
}

// getJSON GETs url as JSON-LD (or JSON) and returns {json, res}.
export async function getJSON(url, opts = {}) {
  const res = await request(url, opts);
  return { json: await res.json(), res };
}

// sendJSON sends value as JSON with method (PUT, POST) and returns the
// Response. ctype defaults to application/ld+json.
export function sendJSON(method, url, value, opts = {}) {
  const headers = new Headers(opts.headers || {});
  headers.set("Content-Type", opts.ctype || "application/ld+json");
  return request(url, { ...opts, method, headers, body: JSON.stringify(value, null, 2) + "\n" });
}

// links parses Link headers into [{url, rel}].
export function links(res) {
  const out = [];
  const v = res.headers.get("Link") || "";
  const re = /<([^>]*)>\s*((?:;\s*[^;,]+)*)/g;
  let m;
  while ((m = re.exec(v)) !== null) {
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2]);
    if (rel) for (const r of rel[1].trim().split(/\s+/)) out.push({ url: m[1], rel: r });
  }
  return out;
}

// link returns the URL of the first Link with rel, or "".
export function link(res, rel) {
  const l = links(res).find((x) => x.rel === rel);
  return l ? new URL(l.url, res.url).href : "";
}

// countMembers counts a listing's members by following its pages, up to
// maxPages pages of 1000; it returns {count, more} (more: stopped early).
// kind "inbox" lists with ?format=ids; containers list "contains".
export async function countMembers(url, maxPages = 5) {
  let next = url + (url.includes("?") ? "&" : "?") + "limit=1000" + (url.endsWith("inbox/") ? "&format=ids" : "");
  let count = 0;
  for (let i = 0; i < maxPages; i++) {
    const { json, res } = await getJSON(next);
    count += (json.contains || []).length;
    const n = link(res, "next");
    if (!n) return { count, more: false };
    next = n;
  }
  return { count, more: true };
}

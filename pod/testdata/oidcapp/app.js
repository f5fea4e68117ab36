// A Solid-OIDC browser app without a library or a build step, for
// podserver's browser test: discovery, a client (dynamic registration, or
// this app's Client ID Document), the authorization code flow with PKCE
// (S256), DPoP (RFC 9449) with an ES256 key made by WebCrypto (the private
// key cannot be exported; it is kept in IndexedDB across the redirects),
// ID token checks (signature by the issuer's JWKS, iss, aud, nonce, exp),
// reads and writes with `Authorization: DPoP` and a fresh proof per
// request (htm, htu, iat, jti, ath), refresh, and logout by revocation or
// by the end-session endpoint.
//
// Every step's result is an <li data-step=NAME data-status=STATUS> in
// #log, so a test (or a person) reads what happened from the page.

const $ = (id) => document.getElementById(id);
const pendingKey = "oidcapp.pending";
const sessionKey = "oidcapp.session";
const logoutKey = "oidcapp.logout";
const scope = "openid webid offline_access";

// record shows one step's result (replacing an earlier one of that step).
function record(step, status, text) {
  let li = document.querySelector(`#log li[data-step="${step}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.step = step;
    $("log").append(li);
  }
  li.dataset.status = String(status);
  li.textContent = `${step}: ${status}${text ? " " + text : ""}`;
  const body = document.createElement("pre");
  body.className = "body";
  body.textContent = text || "";
  li.append(body);
  li.dataset.body = text || "";
}

function fail(step, e) {
  record(step, "error", e && e.message ? e.message : String(e));
  $("error").textContent = `${step}: ${e && e.message ? e.message : e}`;
}

// --- encodings and hashes -------------------------------------------------

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlDecode(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const utf8 = (s) => new TextEncoder().encode(s);
const sha256 = async (s) => new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(s)));
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

// decodeJWT returns a JWT's header and payload (not verified).
function decodeJWT(jwt) {
  const [h, p] = jwt.split(".");
  return { header: JSON.parse(new TextDecoder().decode(b64urlDecode(h))), payload: JSON.parse(new TextDecoder().decode(b64urlDecode(p))) };
}

// --- the DPoP key, kept in IndexedDB ---------------------------------------

function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open("oidcapp", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("keys");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function idbDo(mode, fn) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("keys", mode);
    const req = fn(tx.objectStore("keys"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

// newDPoPKey makes and stores a fresh ES256 key pair (private key not
// extractable).
async function newDPoPKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  await idbDo("readwrite", (s) => s.put(pair, "dpop"));
  return pair;
}

async function dpopKey() {
  const pair = await idbDo("readonly", (s) => s.get("dpop"));
  if (!pair) throw new Error("no DPoP key: log in first");
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of an EC public JWK.
async function thumbprint(jwk) {
  return b64url(await sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })));
}

async function signJWT(header, payload, privateKey) {
  const input = `${b64url(utf8(JSON.stringify(header)))}.${b64url(utf8(JSON.stringify(payload)))}`;
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, utf8(input));
  return `${input}.${b64url(sig)}`;
}

// proof returns a DPoP proof for one request; ath binds it to the access
// token when there is one.
async function proof(method, url, accessToken, nonce) {
  const { privateKey, jwk } = await dpopKey();
  const u = new URL(url);
  u.search = "";
  u.hash = "";
  const payload = { htm: method, htu: u.href, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() };
  if (accessToken) payload.ath = b64url(await sha256(accessToken));
  if (nonce) payload.nonce = nonce;
  return signJWT({ typ: "dpop+jwt", alg: "ES256", jwk }, payload, privateKey);
}

// dpopFetch sends a request with a fresh DPoP proof (and the access token
// when given), once more with the server's nonce if it asks for one.
async function dpopFetch(method, url, { token, headers = {}, body } = {}) {
  let nonce;
  for (let i = 0; ; i++) {
    const h = new Headers(headers);
    h.set("DPoP", await proof(method, url, token, nonce));
    if (token) h.set("Authorization", `DPoP ${token}`);
    const res = await fetch(url, { method, headers: h, body, credentials: "omit", cache: "no-store" });
    const next = res.headers.get("DPoP-Nonce");
    if (i === 0 && next && (res.status === 400 || res.status === 401)) {
      nonce = next;
      continue;
    }
    return res;
  }
}

// --- discovery, client, login ---------------------------------------------

async function discover(issuer) {
  const url = issuer.replace(/\/*$/, "/") + ".well-known/openid-configuration";
  const res = await fetch(url, { credentials: "omit" });
  if (!res.ok) throw new Error(`discovery ${url}: ${res.status}`);
  const config = await res.json();
  for (const k of ["authorization_endpoint", "token_endpoint", "jwks_uri"]) {
    if (!config[k]) throw new Error(`discovery has no ${k}`);
  }
  if (!(config.code_challenge_methods_supported || []).includes("S256")) throw new Error("the issuer does not support PKCE S256");
  return config;
}

const redirectURI = () => location.origin + "/";

async function client(config, kind) {
  if (kind === "document") return location.origin + "/clientid.jsonld";
  if (!config.registration_endpoint) throw new Error("the issuer has no registration endpoint");
  const res = await fetch(config.registration_endpoint, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      client_name: "Solid-OIDC test app",
      client_uri: location.origin + "/",
      application_type: "web",
      redirect_uris: [redirectURI()],
      post_logout_redirect_uris: [redirectURI()],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope,
    }),
  });
  const text = await res.text();
  if (res.status !== 201 && res.status !== 200) throw new Error(`registration: ${res.status} ${text}`);
  return JSON.parse(text).client_id;
}

async function login() {
  const issuer = $("issuer").value.trim();
  const config = await discover(issuer);
  record("discovery", "ok", config.issuer);
  const clientId = await client(config, $("client").value);
  record("client", "ok", clientId);
  await newDPoPKey();
  const verifier = random(32);
  const pending = {
    issuer, config, clientId, verifier, state: random(16), nonce: random(16),
    readURL: $("read-url").value.trim(), writeURL: $("write-url").value.trim(), kind: $("client").value,
  };
  sessionStorage.setItem(pendingKey, JSON.stringify(pending));
  const u = new URL(config.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectURI(), scope,
    state: pending.state, nonce: pending.nonce,
    code_challenge: b64url(await sha256(verifier)), code_challenge_method: "S256",
  }).toString();
  location.assign(u.href);
}

// verifyIDToken checks an ID token's signature with the issuer's JWKS and
// its claims; it returns the payload.
async function verifyIDToken(idToken, p) {
  const { header, payload } = decodeJWT(idToken);
  if (header.alg !== "ES256") throw new Error(`ID token alg ${header.alg}: this app checks ES256 only`);
  const res = await fetch(p.config.jwks_uri, { credentials: "omit" });
  const { keys } = await res.json();
  const jwk = keys.find((k) => (!header.kid || k.kid === header.kid) && k.kty === "EC");
  if (!jwk) throw new Error(`no key ${header.kid} in the issuer's JWKS`);
  const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const [h, pl, sig] = idToken.split(".");
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64urlDecode(sig), utf8(`${h}.${pl}`));
  if (!ok) throw new Error("the ID token's signature is wrong");
  if (payload.iss !== p.config.issuer) throw new Error(`ID token iss ${payload.iss}, want ${p.config.issuer}`);
  const aud = [].concat(payload.aud);
  if (!aud.includes(p.clientId)) throw new Error(`ID token aud ${aud} lacks ${p.clientId}`);
  if (payload.nonce !== p.nonce) throw new Error("ID token nonce differs");
  if (payload.exp * 1000 < Date.now()) throw new Error("ID token expired");
  if (!payload.webid) throw new Error("ID token has no webid claim");
  return payload;
}

async function finishLogin(params) {
  const p = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
  sessionStorage.removeItem(pendingKey);
  history.replaceState(null, "", location.pathname);
  if (!p) throw new Error("no login in progress");
  // The log of the steps before the redirect went with that page.
  record("discovery", "ok", p.config.issuer);
  record("client", "ok", p.clientId);
  if (params.get("state") !== p.state) throw new Error("state differs");
  if (params.get("error")) throw new Error(`${params.get("error")}: ${params.get("error_description") || ""}`);
  const res = await dpopFetch("POST", p.config.token_endpoint, {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectURI(),
      client_id: p.clientId, code_verifier: p.verifier,
    }),
  });
  const tok = await res.json();
  if (!res.ok) throw new Error(`token: ${res.status} ${tok.error}: ${tok.error_description || ""}`);
  if (String(tok.token_type).toLowerCase() !== "dpop") throw new Error(`token_type ${tok.token_type}, want DPoP`);
  const id = await verifyIDToken(tok.id_token, p);
  const at = decodeJWT(tok.access_token).payload;
  const jkt = await thumbprint((await dpopKey()).jwk);
  if (!at.cnf || at.cnf.jkt !== jkt) throw new Error("the access token is not bound to this app's DPoP key");
  const s = {
    issuer: p.issuer, config: p.config, clientId: p.clientId, webid: id.webid, readURL: p.readURL, writeURL: p.writeURL,
    accessToken: tok.access_token, refreshToken: tok.refresh_token || "", idToken: tok.id_token,
  };
  sessionStorage.setItem(sessionKey, JSON.stringify(s));
  record("login", "ok", id.webid);
  return s;
}

// --- using the session ----------------------------------------------------

const session = () => JSON.parse(sessionStorage.getItem(sessionKey) || "null");

async function read(step, token) {
  const s = session();
  const res = await dpopFetch("GET", s.readURL, { token: token || s.accessToken, headers: { Accept: "text/plain" } });
  const text = await res.text();
  record(step, res.status, res.ok ? text : `${res.headers.get("WWW-Authenticate") || ""} ${text}`);
}

async function write() {
  const s = session();
  const body = `written by the Solid-OIDC test app ${random(9)}\n`;
  const res = await dpopFetch("PUT", s.writeURL, { token: s.accessToken, headers: { "Content-Type": "text/plain" }, body });
  record("write", res.status, res.ok ? body : await res.text());
  const back = await dpopFetch("GET", s.writeURL, { token: s.accessToken, headers: { Accept: "text/plain" } });
  record("readback", back.status, await back.text());
}

async function refresh() {
  const s = session();
  const res = await dpopFetch("POST", s.config.token_endpoint, {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: s.refreshToken, client_id: s.clientId }),
  });
  const tok = await res.json();
  if (!res.ok) return record("refresh", res.status, `${tok.error}: ${tok.error_description || ""}`);
  const rotated = tok.refresh_token && tok.refresh_token !== s.refreshToken;
  s.previousAccessToken = s.accessToken;
  s.accessToken = tok.access_token;
  s.refreshToken = tok.refresh_token || s.refreshToken;
  sessionStorage.setItem(sessionKey, JSON.stringify(s));
  record("refresh", res.status, rotated ? "rotated" : "not rotated");
}

async function revoke() {
  const s = session();
  if (!s.config.revocation_endpoint) throw new Error("the issuer has no revocation endpoint");
  const statuses = [];
  for (const [token, hint] of [[s.accessToken, "access_token"], [s.refreshToken, "refresh_token"]]) {
    if (!token) continue;
    const res = await fetch(s.config.revocation_endpoint, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: hint, client_id: s.clientId }),
    });
    statuses.push(res.status);
  }
  record("revoke", statuses.every((st) => st === 200) ? 200 : statuses.join(","), "");
}

function endSession() {
  const s = session();
  if (!s.config.end_session_endpoint) throw new Error("the issuer has no end_session_endpoint");
  const state = random(16);
  sessionStorage.setItem(logoutKey, state);
  const u = new URL(s.config.end_session_endpoint);
  u.search = new URLSearchParams({
    id_token_hint: s.idToken, client_id: s.clientId, post_logout_redirect_uri: redirectURI(), state,
  }).toString();
  location.assign(u.href);
}

// --- wiring ----------------------------------------------------------------

function showSession(s) {
  $("session").hidden = !s;
  if (!s) return;
  $("webid").textContent = s.webid;
  $("client-id").textContent = s.clientId;
}

function on(id, step, fn) {
  $(id).addEventListener("click", async () => {
    $("error").textContent = "";
    try {
      await fn();
    } catch (e) {
      fail(step, e);
    }
  });
}

async function start() {
  const params = new URLSearchParams(location.search);
  $("issuer").value = params.get("issuer") || "";
  $("read-url").value = params.get("read") || "";
  $("write-url").value = params.get("write") || "";
  if (params.get("client")) $("client").value = params.get("client");
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("error").textContent = "";
    try {
      await login();
    } catch (e) {
      fail("login", e);
    }
  });
  on("read", "read", () => read("read"));
  on("write", "write", write);
  on("refresh", "refresh", refresh);
  on("revoke", "revoke", revoke);
  on("end-session", "end-session", endSession);
  on("retry", "retry", () => read("retry"));
  try {
    if (params.has("code") || params.has("error")) {
      showSession(await finishLogin(params));
    } else if (sessionStorage.getItem(logoutKey)) {
      const want = sessionStorage.getItem(logoutKey);
      sessionStorage.removeItem(logoutKey);
      history.replaceState(null, "", location.pathname);
      record("end-session", params.get("state") === want ? "ok" : "state differs", "");
      showSession(session());
    } else {
      showSession(session());
    }
  } catch (e) {
    fail("login", e);
  }
  document.body.dataset.ready = "true";
}

start();

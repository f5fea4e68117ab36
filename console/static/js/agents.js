// Names for agents: the WebIDs of pods on this server are shown with the
// pod's name.

import { getConfig } from "./api.js";

// podOfWebID returns the name of the pod on this server whose owner has
// WebID w, or "".
export function podOfWebID(w) {
  const cfg = getConfig();
  let u;
  try {
    u = new URL(w);
  } catch {
    return "";
  }
  if (u.hash !== "#me" || !u.pathname.endsWith("/profile/card")) return "";
  const base = new URL(cfg.baseURL);
  if (cfg.podNaming === "subdomain") {
    if (u.protocol !== base.protocol || !u.host.endsWith("." + base.host) || u.pathname !== "/profile/card") return "";
    return u.host.slice(0, -(base.host.length + 1));
  }
  if (u.origin !== base.origin) return "";
  const parts = u.pathname.split("/");
  return parts.length === 4 ? parts[1] : "";
}

// webIDOfPod returns the WebID of the owner of pod name on this server.
export function webIDOfPod(name) {
  const cfg = getConfig();
  const base = new URL(cfg.baseURL);
  if (cfg.podNaming === "subdomain") return `${base.protocol}//${name}.${base.host}/profile/card#me`;
  return `${base.origin}/${name}/profile/card#me`;
}

// isAbsoluteHTTP mirrors the server's check of agents and targets: an
// absolute http(s) URL with a host and no white space.
export function isAbsoluteHTTP(s) {
  if (/\s/.test(s)) return false;
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
  } catch {
    return false;
  }
}

// Logs in to a Solid-OIDC identity provider with client credentials and
// DPoP, using Inrupt's solid-client-authn-node from the npm registry, then
// reads one resource and writes another with session.fetch, as a script or
// server acting for a WebID would.
//
// Input (environment): OIDC_ISSUER, CLIENT_ID, CLIENT_SECRET, READ_URL,
// WRITE_URL, WRITE_BODY (text/plain). Output (stdout): one JSON object
// {webId, isLoggedIn, read: {status, body}, write: {status}, loggedOut}.
// Errors (a refused login, say) go to stderr with exit status 1.

import { Session } from "@inrupt/solid-client-authn-node";

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

async function main() {
  const session = new Session();
  await session.login({
    oidcIssuer: need("OIDC_ISSUER"),
    clientId: need("CLIENT_ID"),
    clientSecret: need("CLIENT_SECRET"),
    tokenType: "DPoP",
  });
  const out = { webId: session.info.webId, isLoggedIn: session.info.isLoggedIn };

  const read = await session.fetch(need("READ_URL"), { headers: { Accept: "text/plain" } });
  out.read = { status: read.status, body: await read.text() };

  const write = await session.fetch(need("WRITE_URL"), {
    method: "PUT",
    headers: { "Content-Type": "text/plain" },
    body: need("WRITE_BODY"),
  });
  await write.arrayBuffer();
  out.write = { status: write.status };

  await session.logout({ logoutType: "app" });
  out.loggedOut = !session.info.isLoggedIn;
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`oidcnode: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});

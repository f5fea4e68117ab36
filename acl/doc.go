// Package acl decides who may do what: API keys, Web Access Control and topic
// permissions.
//
// It holds three independent parts:
//
//   - Keys: API keys, hashed with SHA-256 at rest under the store prefixes
//     store.PrefixKey and store.PrefixPodKey, which belong to this package.
//   - Evaluator: Web Access Control over absolute resource URLs, reading ACL
//     documents through a Locator and caching what it parsed.
//   - Subscriptions: the topic permissions of a pod's settings/subscriptions
//     document (DESIGN section 3).
//
// # Restricting authorizations to clients: acl:client
//
// A Solid-OIDC request names two parties: the agent (the token's WebID)
// and the client, the app acting for it (the token's client_id: the URL of
// a Client ID Document, or an id the agent's identity provider
// registered). An authorization may list clients with acl:client; it then
// applies only to requests whose client id is one of them:
//
//	<#diary> a acl:Authorization;
//	    acl:agent <https://alice.example/profile/card#me>;
//	    acl:client <https://diary.example/id>, "opaque-registered-id";
//	    acl:accessTo <diary/>; acl:default <diary/>;
//	    acl:mode acl:Read, acl:Write.
//
// The rules, and why:
//
//   - The name. Web Access Control has no standard client term yet. The
//     proposals for it (WAC issue 81 "Client identification", WAC pull
//     request 133, Community Solid Server pull request 1537) all call it
//     acl:client, parallel to acl:agent, and Access Control Policies,
//     which CSS and Inrupt's ESS implement, call the same check acp:client
//     (the client matcher). acl:origin is not reused: it is about the
//     browser's Origin header and is skipped when the request has none,
//     so a token replayed from a server would pass it; a client id is
//     asserted inside the signed token. acl:trustedApp (NSS 5) is a list of
//     origins in the owner's profile, not a rule of an ACL.
//   - Every listed condition must hold: the agent rules (acl:agent,
//     acl:agentClass, acl:agentGroup), the origin rule and the client
//     rule, as ACP's allOf of an agent and a client matcher. Several
//     clients in one authorization are alternatives.
//   - An authorization without acl:client applies whatever the client, so
//     every ACL written before keeps its meaning (WAC as CSS and NSS apply
//     it ignores client ids; ACP's acp:PublicClient is the same). There is
//     no acl:clientClass: no client restriction already means every client.
//   - A request without a client id (an API key, an HTTP signature, an
//     anonymous request) never satisfies a client-restricted authorization:
//     "only through this app" must not be met by a credential that names
//     no app. An API key's app name is a label the owner chose, not a
//     client id, and is not compared.
//   - Client ids are compared exactly, as OAuth compares them. A value is
//     an IRI or a plain string literal (an opaque registered id; as a
//     Turtle IRI it would resolve against the ACL's URL). The Solid-OIDC
//     public client id (solid:PublicOidcClient) is matched like any other:
//     listing it admits every app that logs in without identifying itself.
//   - The client id is what the agent's identity provider asserts, trusted
//     as far as it is trusted for the WebID.
//   - WAC-Allow's public modes are an anonymous request's, without a
//     client, so client-restricted authorizations count for the user only.
//   - The Evaluator caches parsed documents, never decisions, so the client
//     is not part of any cache key.
//
// The caches of Keys and Evaluator follow the store's change feed through
// a store.Watch, so a change applies to the next request whoever wrote it.
//
// Client-facing error messages are named values in errors.go.
//
// This package may import podserver/store and podserver/rdf only. It must not
// import ldp, publish, inbox, deliver, pod or cmd.
package acl

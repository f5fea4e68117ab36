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
// The caches of Keys and Evaluator follow the store's change feed through
// a store.Watch, so a change applies to the next request whoever wrote it.
//
// Client-facing error messages are named values in errors.go.
//
// This package may import podserver/store and podserver/rdf only. It must not
// import ldp, publish, inbox, deliver, pod or cmd.
package acl

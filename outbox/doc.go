// Package outbox serves a pod's outbox/ (DESIGN sections 1 and 2): the
// owner's view of the deliveries the pod owns on the delivery queue
// (pending ones, dead letters and recently delivered ones), filtered by
// status and by target, live (a long-poll on the listing's ETag, woken by
// the store's change feed: Observe); the retry of a dead letter, and of a
// pending delivery now rather than when its schedule says; the delivery
// status of one event (GET outbox/?event=), and the replay of an event to
// one of the pod's own targets (POST outbox/).
//
// It reads and changes records only through package deliver, and computes
// an event's targets as publishing does (publish.Service.Targets and
// Forwards), so its answers follow the same rules as delivery itself.
//
// The package is a handler, not wiring: the pod server routes requests for
// <pod>/outbox/ and reads of <pod>/publish/{id} to it, after it has
// resolved and authenticated the request (an *ldp.Request).
//
// Imports: deliver, publish, inbox, ldp, apierr and store; never pod or
// cmd.
package outbox

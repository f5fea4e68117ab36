// Package inbox holds pod inboxes (Linked Data Notifications inboxes, LDP
// basic containers): storing event copies exactly once per event id, listing
// them in arrival order with cursors that survive deletes and restarts,
// waking long-polling readers within milliseconds of an arrival, and the
// HTTP handlers for GET and POST on a pod's inbox/.
//
// # Items
//
// An item is an ordinary LDP resource (media type application/ld+json), so
// GET, HEAD and DELETE of inbox/{item} are served by the generic LDP
// handler. The server names items itself: the name is the item's store
// sequence number as 16 lower-case hex digits, so names sort in arrival
// order and one ordered scan over the inbox's resource records lists the
// items with their bodies. That name is also the listing cursor: ?from=NAME
// lists from that item on, whether or not it still exists.
//
// # Keys
//
// Besides the LDP records (owned by ldp), this package owns:
//
//	store.PrefixInboxDedup + inbox path + 0x00 + event id -> item path
//
// written in the same transaction as the item, so an inbox holds at most one
// copy per event id whatever route the event took, across restarts. The
// entry outlives a DELETE of the item on purpose: a deleted copy is not
// delivered again.
//
// This package may import ldp, acl, rdf, apierr and store. It must not import
// publish, deliver, pod or cmd.
package inbox

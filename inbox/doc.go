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
// # Items are stored as sent
//
// A notification POSTed to an inbox (inbox.Handler.Receive, or signed by
// another server, publish.Service.ReceiveRemote) is stored byte for byte as
// its sender sent it, so GET on the item gives the sender's graph: JSON-LD,
// or Turtle, N-Triples or N-Quads in their own media type (AcceptPost),
// which the listing shows converted to JSON-LD. Who sent
// it (the sender's WebID and app, a Sender) is recorded beside the item,
// never in it, and shown by the listing. Copies the server writes itself
// (publish's copies of an event) hold the server's fields as their own
// statements. Items stored before this (their bodies hold "agent" and
// "instrument") are read and listed as before.
//
// # Listing (GET inbox/)
//
//	{"@context": "<server>/ns/v1/listing", "id": "<pod>/inbox/",
//	 "type": ["ldp:Container", "ldp:BasicContainer", "ldp:Resource"],
//	 "contains": [{"url": "<pod>/inbox/<item>", "id": "<event URL>", ...copy}, ...],
//	 "next": "<cursor>"}
//
// The one listing is both the app-facing JSON and correct RDF: under its
// context (rdf.ListingContextDocument) an entry's "url" is its @id, so the
// entry's data hangs off the item's IRI, "id" stays the event's id (an
// app's key to de-duplicate) as pod:event, and the inbox node gets exactly
// one ldp:contains per item. An item that is not plain JSON under
// podserver's context (it has a context or JSON-LD keywords of its own,
// a relative "id", or a "url") is listed wrapped, as {"url", "agent",
// "instrument", "received_at", "notification": <the item as sent, a JSON
// literal>}. See entry.go for the rules.
//
// Oldest first. "url" is the item's own URL, for GET and DELETE. The query:
//
//   - limit=N: 1 to 1000 items (default 50).
//   - from=CURSOR: start at that item (or the first after it, when it was
//     deleted). CURSOR is a page's "next" or an item name.
//   - by=timestamp&from=MS (Unix milliseconds) or by=datetime&from=TIME
//     (RFC 3339): start at the first item that arrived in this inbox at or
//     after that time (a binary search; arrival times never decrease in
//     arrival order).
//   - format=ids: "contains" lists item URLs only.
//   - wait=N: when nothing is there (from the cursor on), wait up to N
//     seconds (at most 60) for an arrival; an empty page when none came.
//
// "next" is always present: the cursor after the last item of the page (or
// the cursor the page started from, when it is empty), so a reader can keep
// polling from it. The Link rel="next" header is sent only when more items
// exist already. Reading needs Read on the inbox; agents without it get the
// 401 or 403 and no content. An entry shows an item's content only to an
// agent that may read the item (GET it): others get {"url": item} only,
// as format=ids and the LDP listing name it (Handler.readable decides,
// once per page for the items that inherit the inbox's acl:default, one
// by one for items with an ACL of their own). The page carries the LDP
// headers of the inbox (Config.Headers) and an ETag of its bytes. Other
// media types (Turtle) get the generic LDP container listing, all items
// unless ?limit= pages it.
//
// # Keys
//
// Items are LDP records (owned by ldp) named by their sequence number
// (ldp.SeqName), written with ldp.AppendSeqMember: an inbox is a
// sequence-named container, listed by a scan of its records in arrival
// order, with no membership keys (items stored before that change still
// have theirs, which are harmless and go with the item). The copies the
// server writes (no Sender) hold their body by reference
// (ldp.AppendSeqMemberShared): an event's body is stored once whatever its
// fan-out, resolved on every read (GET, the listing: ldp.ReadChildren),
// and deleted with the last item referencing it (DELETE of an item, or of
// its pod). Items stored as sent keep their body inline, as did every item
// stored before; those are read as ever, and an item the event comes to
// again is converted (ldp.ShareBody). Besides them, this package owns:
//
//	store.PrefixEventCopies + event id -> (uvarint len(inbox), inbox, item seq (8))...
//
// one entry per event listing every inbox that holds a copy and its item,
// written in the same transaction as the items (a publish writes it once,
// whatever its fan-out: AppendAll), so an inbox holds at most one copy per
// event id whatever route the event took, across restarts. The entry
// outlives a DELETE of the item on purpose: a deleted copy is not delivered
// again. Data written before this entry existed has one key per copy
// instead (store.PrefixInboxDedup + inbox path + 0x00 + event id -> item
// path), which is still read, never written.
//
// This package may import ldp, acl, rdf, apierr and store. It must not import
// publish, deliver, pod or cmd.
package inbox

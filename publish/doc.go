// Package publish serves POST <pod>/publish/ (DESIGN sections 2 and 4):
// it authenticates and validates events, authorizes them against the
// recipient's and source's settings/subscriptions, and stores each event
// together with its inbox copies (or, when held back, its delivery records)
// in one durable transaction before answering.
//
// # The contract
//
//   - Credentials: x-api-key, or Authorization: Basic with the key as the
//     password. None: 401 {"error":"No API key provided"}; unknown: 401.
//     Only a key of the pod itself (an app key or its owner key) publishes
//     to its publish/ (403 otherwise). The event's agent is the pod's WebID,
//     its instrument the app the key names.
//   - Body: one event object, or an array of 1 to 100 (all stored, or none).
//     Content-Type application/json or application/ld+json (415 otherwise).
//     Every rule has its own 400 message (errors.go); with an array body the
//     message starts with "events[i]: ". The 403 keeps the seed's exact text,
//     "Not authorized to publish to <webid> on topic <topic>".
//   - Targets: recipient and source are WebIDs of pods on this server or,
//     with Config.Remote, on other servers (400 MsgNotLocal otherwise).
//     A local one must allow the publishing pod the topic (a "publishes"
//     item; deny by default). The event goes to the recipient's and the
//     source's inboxes and to the pod inbox of every "subscribes" item of
//     theirs that matches the topic; an inbox gets one copy however many
//     routes lead to it. With Config.Remote, a remote recipient or source,
//     a subscriber agent on another server (deliver.KindLDN) and a
//     subscription item whose target is not a pod inbox of this server
//     (deliver.KindWebhook) become delivery records, carried out by the
//     queue with retries: an LDN POST signed with the owning pod's key
//     (the receiving server checks its own settings, see ReceiveRemote),
//     or a CloudEvent signed per Standard Webhooks (webhook.go). Without
//     Config.Remote they are skipped.
//   - Ownership: a delivery belongs to the pod whose settings caused it
//     (Target.Via, Target.Owner): the publisher owns the deliveries to the
//     recipient and source; a party owns the subscriber copies, remote
//     subscribers and webhooks its settings/subscriptions route, so they
//     are listed, retried and replayed in its outbox/, and a remote one is
//     signed with its key (it forwards the copy). The same holds for a
//     copy received from another server (ReceiveRemote).
//   - Copies: an event copy delivered to an inbox, signed by another
//     server or POSTed with a key, needs the permission of copies.go
//     (CheckCopy; the seed's 403 otherwise).
//   - Answer: 201, Location: the event's URL (<pod>/publish/{id}), body
//     {"id": URL} for an object body, {"id": first URL, "ids": [URL, ...]}
//     for an array. A client id (a UUID) makes the publish idempotent: the
//     same id with the same JSON (whitespace aside) again answers 200 with
//     the same Location and stores nothing; with another body, 409. With
//     ?wait=N (seconds, at most 60) the answer waits until every held-back
//     delivery was tried once (or N passed) and adds per-target results:
//     "deliveries": [{"target": inbox URL, "status": "delivered" |
//     "duplicate" | "pending" | "failed", "error"?}] (for an array, "events":
//     [{"id", "deliveries"}]).
//   - Stored form (the resource and every copy): {"id", "agent",
//     "instrument", "received_at", "correlationId" (defaults to the id),
//     then the client's fields as sent}; client values of the server fields
//     are dropped.
//   - Limits: settings/publish of the publishing pod, e.g. {"maxDataBytes":
//     256, "dataKeys": "snake_case"}; by default data may hold 64 KiB.
//
// # Hot path
//
// No JSON-LD processing for plain JSON: the body is checked with json.Valid
// and walked with a small scanner (jsonscan.go) that never builds a decoded
// tree; only an event whose text contains `"@` is expanded with json-gold to
// validate it (see Decode). The stored JSON is assembled from the raw bytes
// of the client's members. Parsed settings are cached per pod by document
// version (settings.go), so a settings change applies to the next publish
// without invalidation hooks. The write transaction does no reads for an
// event with a server-made id: its copies cannot exist yet, and the inbox/
// and publish/ containers of a pod cannot be deleted.
//
// This package may import inbox, deliver, ldp, acl, rdf, apierr and store.
// It must not import pod or cmd.
package publish

// Package notify is podserver's Solid Notifications server (Solid
// Notifications Protocol 0.3): discovery through the storage description,
// subscriptions to notification channels, and the channel types
// WebSocketChannel2023, StreamingHTTPChannel2023, WebhookChannel2023 and
// LDNChannel2023, plus the legacy solid-0.1 WebSocket protocol
// (Updates-Via; auth, sub, unsub, ack, pub, err): anonymous for publicly
// readable resources, or as the agent of the API key an "auth" message
// presents.
//
// # Endpoints (relative to a pod root)
//
//	.well-known/solid             storage description: a subscription service per channel type
//	.notifications/               GET: the channels the requester (agent and client) made on this pod
//	.notifications/{service}/     GET: the subscription service; POST: subscribe
//	                              ({service} is websocket, streaming-http, webhook or ldn)
//	.notifications/channels/{id}  GET, DELETE: one channel (its creator only: the same agent and client)
//	.notifications/ws/{id}        receiveFrom of a WebSocketChannel2023 (a capability URL)
//	.notifications/stream/{id}    receiveFrom of a StreamingHTTPChannel2023 (a capability URL)
//
// and, at the server level (the origin root, in either pod naming):
//
//	/.well-known/solid            server description: every pod's storage
//	                              (pim:storage), a pim:Storage with its
//	                              solid:storageDescription and solid:owner
//	/.notifications/solid-0.1     the legacy WebSocket that the Updates-Via
//	                              header of every pod response names
//
// The server description is JSON-LD with an inline context (nothing to
// fetch), or Turtle, N-Triples or N-Quads on request. Every pod
// response also links the storage description (Link rel
// http://www.w3.org/ns/solid/terms#storageDescription). Descriptions are
// JSON-LD with the context https://www.w3.org/ns/solid/notification/v1,
// or Turtle, N-Triples or N-Quads on request.
//
// # Subscriptions
//
// A subscription request is a JSON-LD POST (ParseRequest): 415 for another
// media type or an unknown profile, 422 for a body that describes no
// channel (an unknown JSON-LD context, type, topic outside the pod, ...),
// 401/403 without Read on the topic (and, for an LDN channel into an inbox
// of this server, without Append on it). Webhook and LDN channels need an
// authenticated subscriber. The response (200) is the channel description;
// a webhook channel's carries, once, the secret its requests are signed
// with. Channels are stored, survive restarts, and end at endAt (at most
// Config.MaxLifetime, 30 days by default; for a Solid-OIDC token of another
// issuer, at most the token's exp), when deleted by their creator, or when
// the credential that made them no longer works: a revoked API key, or a
// token of this server whose client, app (consent), session or grant was
// withdrawn (Host.CredentialActive). That is checked when a connection
// opens, before every notification (once per credential and change), in
// the sweep once a minute, and at once when the change feed reports an API
// key deleted or the server calls Recheck. An agent has at most
// Config.MaxPushChannelsPerAgent webhook and LDN channels per pod (1,000).
//
// Features: startAt and endAt bound when notifications go out; rate holds
// notifications back so that at most one goes out per period, and the
// latest one held back goes out when the period ends; state: a receiver
// that connects (or a push channel when it is made) whose last known state
// of the topic differs from the current one gets an Update (or Delete) at
// once; accept picks JSON-LD (default), Turtle, N-Triples or N-Quads.
//
// # Notifications
//
// ActivityStreams Create, Update and Delete on a resource; Add and Remove,
// with target, on its container; with id (urn:uuid), object, published and
// state: the topic's ETag as a GET of it answers. For Create and Update of
// a resource that is its new ETag; for Add and Remove (and changes of a
// container itself) the container's, the ETag of its JSON-LD listing when
// that carries one (Host.ContainerETag), else its record's; a Delete has
// none. The state feature compares the same values. An inbox arrival is an
// Add to inbox/.
//
// # Legacy solid-0.1
//
// One WebSocket per server (LegacyPath, subprotocol solid-0.1). The server
// greets with "protocol solid-0.1"; then, one text message each:
//
//	auth <credential>   -> ack auth <WebID> | err auth <reason>
//	sub <url>           -> ack <url> | err <url> <reason>
//	unsub <url>         (no answer)
//	                    <- pub <url>  (the resource, or a member of the container, changed)
//
// The credential is an API key (an access token once Solid-OIDC is built).
// A connection is anonymous until an auth succeeds, and again after one
// fails; five failed auths close it (1008). Read is checked on "sub" with
// the connection's agent then, and before every "pub" (with the key still
// existing), so revoked access or a revoked key stops the pubs silently. A
// refused sub is "err <url> forbidden" whether or not the resource exists.
//
// # Data flow
//
// The store reports every durable write of a resource record to OnChange,
// on the store's writer goroutine. OnChange never blocks: it keeps the
// changes some channel or legacy subscriber watches (a map lookup per
// change) and appends them to an in-memory queue (bounded; beyond it
// changes are counted and dropped, never waited for). One dispatcher
// goroutine drains the queue in commit order. For each change it finds the
// channels on the resource and on its container, checks Read access to the
// topic with each channel's stored principal (one check per distinct
// principal and topic), applies the features, and hands the message on:
//
//   - to live connections (WebSocket, streaming HTTP): each connection has
//     a bounded queue (Config.ConnQueue messages, 64 by default); a
//     connection that falls further behind is dropped (WebSocket close
//     1013), never waited for. An idle WebSocket connection costs one
//     goroutine (its reader, started fresh so its stack stays small) and
//     small buffers; a writer goroutine exists only while messages are
//     queued. At most Config.MaxConnsPerChannel connections share a
//     receiveFrom URL; a new one closes the oldest.
//   - to push channels (webhook, LDN) through the server's durable
//     delivery queue (package deliver), as records of deliver.KindPush
//     offered without blocking (push.go). Their policy there: retried on
//     DefaultRetry (or Config.Retry) with the queue's jitter and its one
//     rule for answers (408, 429, 5xx retried, honouring Retry-After;
//     other 4xx end it), at most 1000 waiting per channel (more are
//     dropped), and dropped, not kept as dead letters, when they fail for
//     good. They survive restarts. The POSTs of a channel the topic's pod
//     made itself (one of its keys, or its WebID logged in) are signed by
//     that pod (HTTP Message Signatures, through Host.SignRequest), which
//     its description names as sender; anyone else's go unsigned, so that
//     the pod vouches for no request a third party aimed. Webhook POSTs
//     are also signed with the channel's secret (Standard Webhooks,
//     package webhook). An LDN channel whose sendTo is an inbox of this
//     server appends to it in-process, the copy naming the channel's
//     creator as agent; items written that way are not notified to push
//     channels, so channels cannot feed each other in a loop.
//
// Read access, and the creator's credential, are checked again before
// every notification, so revoking either stops delivery.
//
// # Keys (prefix owned by this package, see store/keyspace.go)
//
//	store.PrefixChannel + "c" + channel id -> channel record (JSON)
//
// Channels are loaded into memory at start; the store is written when a
// channel is made or removed. Push notifications are the delivery queue's
// records; those an older version queued under store.PrefixChannel + "q"
// are moved onto it at start.
//
// # Lock order
//
// Notifier.mu, then channel.mu, then a connection's mu (and a Message's).
// Notifier.mu is never held across a store call: OnChange takes it on the
// store's writer goroutine. A channel's mu is held across one store read,
// the state snapshot a connection joins with (join); nothing that the
// store's writer goroutine runs takes it.
//
// The load test of this package's WebSocket subscribers is
// bench.RunNotifyLoad (cmd/notifybench, `podserver bench notify`).
//
// This package may import deliver, webhook, ldp, acl, rdf, store and
// apierr. It must not import pod or cmd.
package notify

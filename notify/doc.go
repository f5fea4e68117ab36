// Package notify is podserver's Solid Notifications server (Solid
// Notifications Protocol 0.3): discovery through the storage description,
// subscriptions to notification channels, and the channel types
// WebSocketChannel2023, StreamingHTTPChannel2023, WebhookChannel2023 and
// LDNChannel2023, plus the legacy solid-0.1 WebSocket protocol
// (Updates-Via; sub, ack, pub).
//
// # Endpoints (relative to a pod root)
//
//	.well-known/solid             storage description: a subscription service per channel type
//	.notifications/               GET: the channels the requesting agent made on this pod
//	.notifications/{service}/     GET: the subscription service; POST: subscribe
//	                              ({service} is websocket, streaming-http, webhook or ldn)
//	.notifications/channels/{id}  GET, DELETE: one channel (its creator only)
//	.notifications/ws/{id}        receiveFrom of a WebSocketChannel2023 (a capability URL)
//	.notifications/stream/{id}    receiveFrom of a StreamingHTTPChannel2023 (a capability URL)
//
// and, at the server level, /.notifications/solid-0.1: the legacy WebSocket,
// named by the Updates-Via header of every LDP response.
//
// # Data flow
//
// The store reports every durable write of a resource record to OnChange,
// on the store's writer goroutine. OnChange never blocks: it keeps the
// changes some channel or legacy subscriber watches (a map lookup per
// change) and appends them to an in-memory queue. One dispatcher goroutine
// drains the queue in commit order. For each change it finds the channels
// on the resource (Create, Update, Delete) and on its container (Add,
// Remove, with target), checks Read access to the topic with each channel's
// stored principal (one check per distinct principal and topic), applies
// the startAt, endAt and rate features, and hands the message on:
//
//   - to live connections (WebSocket, streaming HTTP): each connection has
//     a bounded queue (Config.ConnQueue messages); a connection whose queue
//     is full is dropped, never waited for. An idle WebSocket connection
//     costs one goroutine (its reader); a writer goroutine exists only while
//     messages are queued.
//   - to push channels (webhook, LDN) through the Outbox: a durable retry
//     queue (see outbox.go) that records each delivery under
//     store.PrefixChannel before the first attempt and retries with backoff
//     across restarts. It stands behind the Outbox interface so that it can
//     move onto the deliver package's queue later.
//
// # Keys (prefix owned by this package, see store/keyspace.go)
//
//	store.PrefixChannel + "c" + channel id -> channel record (JSON)
//	store.PrefixChannel + "q" + seq (8)     -> pending push delivery (JSON)
//
// Channels are loaded into memory at start; the store is written when a
// channel is made or removed and for push deliveries only.
//
// # Lock order
//
// Notifier.mu, then channel.mu, then a connection's mu. The dispatcher
// never holds Notifier.mu while it sends.
//
// This package may import ldp, acl, rdf, store and apierr. It must not
// import pod or cmd.
package notify

package outbox

import (
	"bytes"
	"sync/atomic"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/podurl"
	"podserver/publish"
	"podserver/store"
)

// Config configures a Handler.
type Config struct {
	// Store holds the pods, their events and the delivery records.
	Store store.Store
	// Queue is the delivery queue whose records the outbox lists, retries
	// and adds to.
	Queue *deliver.Queue
	// URLs maps between the server's pods and their URLs.
	URLs podurl.Scheme
	// Publish computes an event's targets as publishing does.
	Publish *publish.Service
	// Stopping, when closed, ends long-polls of the listing early (server
	// shutdown): they answer with what they have.
	Stopping <-chan struct{}
}

// Handler serves the outbox/ of every pod of a server.
type Handler struct {
	st    store.Store
	queue *deliver.Queue
	urls  podurl.Scheme
	pub   *publish.Service
	// stopping: see Config.Stopping.
	stopping <-chan struct{}
	// changed wakes the listings long-polling a pod's outbox (by pod
	// name) when one of its records changes (Observe).
	changed *inbox.Notifier
	// polling counts the long-polls waiting for a change (for tests).
	polling atomic.Int64
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	return &Handler{st: cfg.Store, queue: cfg.Queue, urls: cfg.URLs, pub: cfg.Publish, stopping: cfg.Stopping, changed: inbox.NewNotifier()}
}

// Observe takes a batch of durable changes from the store's change feed
// and wakes the long-polls of the outboxes whose records changed (keys
// under store.PrefixOutbox, which the feed must watch). It is cheap and
// never blocks: it runs on the store's writer goroutine.
func (h *Handler) Observe(changes []store.Change) {
	last := ""
	for _, c := range changes {
		k, ok := bytes.CutPrefix(c.Key, []byte(store.PrefixOutbox))
		if !ok {
			continue
		}
		pod, _, ok := bytes.Cut(k, []byte{0})
		if !ok || string(pod) == last {
			continue
		}
		last = string(pod)
		h.changed.Notify(last)
	}
}

// WakeAll ends every long-poll's wait, for when changes may have been
// missed (the change feed was reset): each looks at its outbox again.
func (h *Handler) WakeAll() { h.changed.NotifyAll() }

package outbox

import (
	"podserver/deliver"
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
}

// Handler serves the outbox/ of every pod of a server.
type Handler struct {
	st    store.Store
	queue *deliver.Queue
	urls  podurl.Scheme
	pub   *publish.Service
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	return &Handler{st: cfg.Store, queue: cfg.Queue, urls: cfg.URLs, pub: cfg.Publish}
}

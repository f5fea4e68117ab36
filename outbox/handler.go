package outbox

import (
	"podserver/deliver"
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
	// Pods maps pod names to URLs and back.
	Pods publish.Pods
	// Publish computes an event's targets as publishing does.
	Publish *publish.Service
}

// Handler serves the outbox/ of every pod of a server.
type Handler struct {
	st    store.Store
	queue *deliver.Queue
	pods  publish.Pods
	pub   *publish.Service
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	return &Handler{st: cfg.Store, queue: cfg.Queue, pods: cfg.Pods, pub: cfg.Publish}
}

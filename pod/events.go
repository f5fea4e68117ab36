package pod

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/outbox"
	"podserver/publish"
	"podserver/remote"
	"podserver/store"
)

// Route labels of the event paths, for logs and metrics.
const (
	routePublish = "publish"
	routeInbox   = "inbox"
)

// events wires publishing, inboxes, the delivery queue, the outbox and
// delivery between servers (remote) into the server.
type events struct {
	s       *Server
	queue   *deliver.Queue
	inboxes *inbox.Inboxes
	inbox   *inbox.Handler
	pub     *publish.Service
	outbox  *outbox.Handler
	remote  *remote.Remote
	// client makes the outbound requests of deliveries and profile
	// fetches.
	client *http.Client

	// stopping is closed when the HTTP server begins to shut down, so
	// long-polls answer at once instead of holding Shutdown up.
	stopping     chan struct{}
	stopOnce     sync.Once
	registerOnce sync.Once
}

func newEvents(s *Server, queue *deliver.Queue) (*events, error) {
	e := &events{
		s:        s,
		queue:    queue,
		inboxes:  s.inboxes,
		stopping: make(chan struct{}),
		client:   s.outboundClient(),
	}
	e.inbox = inbox.NewHandler(inbox.Config{
		Store:        s.st,
		Inboxes:      e.inboxes,
		URLs:         s.urls,
		Authorize:    s.ldp.Authorize,
		Headers:      s.ldp.ReadHeaders,
		Logger:       s.log,
		MaxBodyBytes: s.opts.MaxBodyBytes,
		Stopping:     e.stopping,
		RDF:          s.rdfReader,
		// An event copy POSTed with a key needs the permission a signed
		// one from another server needs (e.pub is set below, before the
		// server serves requests).
		CheckCopy: func(ctx context.Context, pod, agent string, body []byte) error {
			return e.pub.CheckCopy(ctx, pod, agent, body)
		},
	})
	e.pub = publish.New(publish.Config{
		FanoutThreshold:  s.opts.FanoutThreshold,
		FanoutBatch:      s.opts.FanoutBatch,
		FanoutLag:        s.opts.FanoutLag,
		FanoutMaxPending: s.opts.FanoutMaxPending,
		OnFanoutWritten:  s.metrics.fanoutWritten,
		OnBacklogFull:    s.metrics.backlogFull.Inc,
		Store:            s.st,
		URLs:             s.urls,
		Inboxes:          e.inboxes,
		Queue:            e.queue,
		Logger:           s.log,
		MaxBodyBytes:     s.opts.MaxBodyBytes,
		// Delivery to other servers: signed LDN through the durable queue.
		// Private and loopback targets are refused at dial time unless
		// Options.AllowPrivateTargets.
		Remote:   true,
		Client:   e.client,
		Watch:    s.settings,
		InboxACL: inboxACL{s},
	})
	registerFanoutPending(s.reg, e.pub)
	e.remote = remote.New(remote.Config{
		Store:         s.st,
		Client:        e.client,
		Logger:        s.log,
		SigningKey:    s.SigningKey,
		URLs:          s.urls,
		Authorize:     s.ldp.Authorize,
		Publish:       e.pub,
		MaxBodyBytes:  s.opts.MaxBodyBytes,
		SignerKeyWait: s.opts.SignerKeyWait,
	})
	e.outbox = outbox.New(outbox.Config{Store: s.st, Queue: e.queue, URLs: s.urls, Publish: e.pub, Stopping: e.stopping})
	e.queue.HandleRemote(deliver.KindLDN, e.remote.DeliverLDN)
	e.queue.Start()
	return e, nil
}

// route serves the requests that publish/ and inbox/ handle themselves. It
// reports false for requests the generic LDP handler serves: OPTIONS, reads
// of publish/ and of single items, DELETE of items, and ACL documents.
// The inbox/ and publish/ containers themselves cannot be deleted, and their
// members are created only by the server, which lets the hot path skip
// existence checks (see inbox.Copy).
func (e *events) route(c *gin.Context, r *ldp.Request) (bool, error) {
	_, rel := ldp.SplitStoragePath(r.Target.Path)
	m := c.Request.Method
	switch {
	case ldp.IsACL(r.Target.Path):
		return false, nil
	case rel == "publish/":
		switch m {
		case http.MethodPost:
			c.Set("route", routePublish)
			return true, e.pub.Publish(c, r)
		case http.MethodDelete:
			return true, errKeepPublish
		}
	case rel == "inbox/":
		switch m {
		case http.MethodGet, http.MethodHead:
			if inbox.Accepts(c.Request) {
				e.watchShutdown()
				c.Set("route", routeInbox)
				return true, e.inbox.List(c, r)
			}
		case http.MethodPost:
			c.Set("route", routeInbox)
			if c.GetHeader("Signature-Input") != "" || c.GetHeader("Signature") != "" {
				return true, e.remote.Receive(c, r)
			}
			return true, e.inbox.Receive(c, r)
		case http.MethodDelete:
			return true, errKeepInbox
		}
	case strings.HasPrefix(rel, "outbox/"):
		e.watchShutdown()
		return true, e.outbox.Serve(c, r, rel)
	case strings.HasPrefix(rel, "publish/"):
		if isWrite(m) {
			return true, errPublishWrite
		}
		outbox.LinkEventStatus(c, r, rel)
	case strings.HasPrefix(rel, "inbox/"):
		if isWrite(m) {
			return true, errInboxWrite
		}
	}
	return false, nil
}

// headers sets the LDP response headers of the event paths: a POST to
// inbox/ takes the notification types inbox.AcceptPost lists, not any.
func (e *events) headers(c *gin.Context, p string) {
	if _, rel := ldp.SplitStoragePath(p); rel == "inbox/" {
		c.Header("Accept-Post", inbox.AcceptPost)
	}
}

// isWrite reports whether m creates or changes a resource (DELETE aside).
func isWrite(m string) bool {
	return m == http.MethodPut || m == http.MethodPost || m == http.MethodPatch
}

// watchShutdown arranges, once the HTTP server runs, for long-polls to end
// when it starts shutting down.
func (e *events) watchShutdown() {
	e.registerOnce.Do(func() {
		e.s.mu.Lock()
		srv := e.s.srv
		e.s.mu.Unlock()
		if srv != nil {
			srv.RegisterOnShutdown(e.stop)
		}
	})
}

func (e *events) stop() { e.stopOnce.Do(func() { close(e.stopping) }) }

// close stops background work.
func (e *events) close() {
	e.stop()
	e.queue.Close()
	// Idle outbound connections would otherwise hold other servers'
	// graceful shutdowns up (a connection that never sent a request
	// counts as active for a while).
	e.client.CloseIdleConnections()
}

// newQueue returns the server's delivery queue: retries on
// Options.RetrySchedule, attempts bounded by Options.DeliveryTimeout and
// Options.DeliveryPerHost, outcomes and depth in the server's metrics.
func (s *Server) newQueue() *deliver.Queue {
	q := deliver.New(deliver.Config{
		Store:          s.st,
		Logger:         s.log,
		Schedule:       s.opts.RetrySchedule,
		AttemptTimeout: s.opts.DeliveryTimeout,
		Lease:          s.opts.DeliveryLease,
		Node:           s.opts.Node,
		PerHost:        s.opts.DeliveryPerHost,
		OnAttempt:      s.metrics.deliveryAttempt,
	})
	registerQueueDepth(s.reg, q)
	return q
}

// observe pokes the delivery queue when another node wrote one of its
// records, so that a record it enqueued or released is attempted here
// without waiting for the queue's rescan, and wakes the outbox listings
// long-polling for changes of outbox records.
func (e *events) observe(changes []store.Change) {
	e.outbox.Observe(changes)
	for _, c := range changes {
		if c.Remote && bytes.HasPrefix(c.Key, []byte(store.PrefixDelivery)) {
			e.queue.Poke()
			return
		}
	}
}

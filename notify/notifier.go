package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"podserver/acl"
	"podserver/deliver"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/store"
)

// Host is what the notifier needs from the server that embeds it.
type Host interface {
	// Authorize returns nil when r's principal has mode need on storage
	// path p of r.Target's pod, or the 401/403 to answer.
	Authorize(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error
	// Authenticate returns the principal of a credential a client presents
	// outside HTTP headers (the solid-0.1 "auth" message): today an API
	// key. An unknown, malformed or revoked one is an error wrapping
	// acl.ErrInvalidKey.
	Authenticate(ctx context.Context, credential string) (ldp.Principal, error)
	// CredentialActive reports whether the credential of pr, a channel's
	// creator, still works (true for anonymous principals and for
	// credentials the server cannot check later, whose Expires bounds
	// the channel): an API key that was revoked, or a Solid-OIDC grant
	// (pr.Grant) whose app, client or session was withdrawn, ends the
	// channels made with it.
	CredentialActive(ctx context.Context, pr ldp.Principal) (bool, error)
	// ContainerETag returns the ETag a GET of container p (a storage
	// path) answers by default: the state of a container topic. ok is
	// false when that answer carries none (a long listing, an inbox).
	ContainerETag(ctx context.Context, p string) (etag string, ok bool, err error)
	// SignRequest signs an outgoing POST of a push channel as pod (HTTP
	// Message Signatures with the pod's key); body is what it sends. Only
	// channels the pod itself made are signed (see pushTarget).
	SignRequest(ctx context.Context, pod string, req *http.Request, body []byte) error
	// AppendInbox stores body as a new item of the inbox at storage path
	// inbox, once per id. When an item is added, committed is called with
	// its path once it is durable, before the store reports the write.
	AppendInbox(ctx context.Context, inbox, id string, body []byte, committed func(item string)) error
}

// Config configures a Notifier.
type Config struct {
	Store store.Store
	Host  Host
	// URLs maps between the server's pods and their URLs.
	URLs podurl.Scheme
	// Queue is the server's durable delivery queue: push notifications
	// are its records of deliver.KindPush. New registers their handler and
	// policy, so it is called before Queue.Start; whoever owns the queue
	// closes it after the notifier (Close stores the notifications handed
	// to it).
	Queue  *deliver.Queue
	Logger *slog.Logger
	// Client posts to webhooks and remote LDN inboxes (default: 10 s
	// timeout, no redirects).
	Client *http.Client
	// MaxChannelsPerAgent bounds the channels one agent may have (default
	// 25,000; anonymous subscribers share one allowance).
	MaxChannelsPerAgent int
	// MaxPushChannelsPerAgent bounds the webhook and LDN channels one
	// agent may have on one pod (default 1,000): each sends a POST to a
	// URL of the agent's choosing on every change of its topic.
	MaxPushChannelsPerAgent int
	// MaxLifetime bounds a channel's life; a channel without endAt ends
	// then (default 30 days).
	MaxLifetime time.Duration
	// ConnQueue bounds the messages queued for one connection (default
	// 64); a connection that falls further behind is dropped.
	ConnQueue int
	// MaxConnsPerChannel bounds simultaneous connections to one
	// receiveFrom URL (default 4); a new one closes the oldest.
	MaxConnsPerChannel int
	// Retry is the wait after each failed push attempt (default
	// DefaultRetry); after the last, the notification is dropped.
	Retry []time.Duration
}

// Limits.
const (
	// maxQueuedEvents bounds the changes waiting for the dispatcher; beyond
	// it changes are dropped (and counted) rather than held: the writer
	// goroutine must never wait.
	maxQueuedEvents = 1 << 20
	// maxLegacySubs bounds the subscriptions of one solid-0.1 connection.
	maxLegacySubs = 1000
)

// event is a change of a watched resource.
type event struct {
	kind ldp.ChangeKind
	path string
	etag string
	at   time.Time
	// remote is true when another node committed the change: that node
	// queues its push notifications, this one only tells its own
	// connections.
	remote bool
}

// Notifier is the Solid Notifications server of one podserver.
type Notifier struct {
	cfg    Config
	host   Host
	log    *slog.Logger
	pushes *deliver.Queue

	mu       sync.RWMutex
	channels map[string]*channel
	byTopic  map[string][]*channel // storage path -> channels (copy on write)
	legacy   map[string][]*legacyConn
	perAgent map[string]int
	// pushPerAgent counts push channels by pod and agent (pushQuotaKey).
	pushPerAgent map[string]int

	qmu     sync.Mutex
	queue   []event
	dropped int
	wake    chan struct{}
	// recheck wakes the sweeper (Recheck).
	recheck chan struct{}

	smu      sync.Mutex
	suppress map[string]time.Time // inbox items written by LDN channels, when

	ctx         context.Context
	cancel      context.CancelFunc
	streamsDone chan struct{}
	streamsOnce sync.Once
	wg          sync.WaitGroup // the dispatcher and the sweeper
	conns       sync.WaitGroup // WebSocket connections' goroutines
}

// New loads the channels from the store, hands push notifications to the
// delivery queue, and starts the dispatcher and the expiry sweeper.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil || cfg.Host == nil || cfg.Queue == nil {
		return nil, errors.New("notify: Config needs Store, Host and Queue")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxChannelsPerAgent <= 0 {
		cfg.MaxChannelsPerAgent = 25000
	}
	if cfg.MaxPushChannelsPerAgent <= 0 {
		cfg.MaxPushChannelsPerAgent = 1000
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 30 * 24 * time.Hour
	}
	if cfg.ConnQueue <= 0 {
		cfg.ConnQueue = 64
	}
	if cfg.MaxConnsPerChannel <= 0 {
		cfg.MaxConnsPerChannel = 4
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	n := &Notifier{
		cfg: cfg, host: cfg.Host, log: cfg.Logger, pushes: cfg.Queue,
		channels:     make(map[string]*channel),
		byTopic:      make(map[string][]*channel),
		legacy:       make(map[string][]*legacyConn),
		perAgent:     make(map[string]int),
		pushPerAgent: make(map[string]int),
		wake:         make(chan struct{}, 1),
		recheck:      make(chan struct{}, 1),
		suppress:     make(map[string]time.Time),
		streamsDone:  make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.load(); err != nil {
		return nil, err
	}
	n.pushes.SetPolicy(deliver.KindPush, pushPolicy(cfg.Retry))
	n.pushes.HandleRemote(deliver.KindPush, n.attemptPush)
	if err := n.adoptLegacyPushes(context.Background()); err != nil {
		return nil, err
	}
	n.wg.Add(2)
	go n.run()
	go n.sweep()
	return n, nil
}

// load reads the stored channels.
func (n *Notifier) load() error {
	return n.cfg.Store.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan(channelPrefix, nil, false, func(k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil {
				n.log.Warn("skipping unreadable notification channel", "key", string(k), "err", err)
				return nil
			}
			n.addLocked(newChannel(r))
			return nil
		})
	})
}

// addLocked indexes ch; n.mu is held (or n is not shared yet).
func (n *Notifier) addLocked(ch *channel) {
	n.channels[ch.rec.ID] = ch
	n.byTopic[ch.rec.Path] = append(slices.Clip(n.byTopic[ch.rec.Path]), ch)
	n.perAgent[ch.rec.Agent]++
	if isPush(ch.rec.Type) {
		n.pushPerAgent[ch.rec.pushQuotaKey()]++
	}
}

// Close stops the notifier: it closes every connection (WebSockets with
// 1001 going away, waiting up to a second for the close handshakes) and
// stops the dispatcher. Push notifications handed to the delivery queue
// are stored when the queue closes, after the notifier.
func (n *Notifier) Close() {
	n.CloseStreams()
	n.mu.Lock()
	var sinks []sink
	for _, ch := range n.channels {
		sinks = append(sinks, ch.close()...)
	}
	for _, ls := range n.legacy {
		for _, l := range ls {
			sinks = append(sinks, l)
		}
	}
	n.mu.Unlock()
	for _, s := range sinks {
		s.drop("server shutting down")
	}
	done := make(chan struct{})
	go func() {
		n.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	n.cancel()
	n.wg.Wait()
	n.conns.Wait()
}

// CloseStreams ends the streaming HTTP responses, so that an HTTP server's
// graceful shutdown need not wait for them. Register it with
// http.Server.RegisterOnShutdown.
func (n *Notifier) CloseStreams() {
	n.streamsOnce.Do(func() { close(n.streamsDone) })
}

// close marks ch closed and returns its sinks.
func (ch *channel) close() []sink {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.closed = true
	if ch.timer != nil {
		ch.timer.Stop()
		ch.timer = nil
	}
	s := ch.sinks
	ch.sinks = nil
	return s
}

// OnChange receives the store's durable writes and keeps those of resource
// records (store.PrefixResource). It runs on the store's writer goroutine
// and never blocks: it keeps the changes someone watches and queues them
// for the dispatcher.
func (n *Notifier) OnChange(changes []store.Change) {
	n.followChannels(changes)
	n.followKeys(changes)
	var evs []event
	now := time.Now()
	n.mu.RLock()
	watching := len(n.byTopic) > 0 || len(n.legacy) > 0
	for i := range changes {
		if !watching {
			break
		}
		c := &changes[i]
		if len(c.Key) <= len(store.PrefixResource) || !bytes.HasPrefix(c.Key, []byte(store.PrefixResource)) {
			continue // not a resource record (the feed also carries others)
		}
		p := string(c.Key[len(store.PrefixResource):])
		if !n.watchedLocked(p) {
			continue
		}
		ch, m, err := ldp.ResourceChange(*c)
		if err != nil {
			continue
		}
		at := now
		if ch.Kind != ldp.Deleted {
			at = m.Modified
		}
		evs = append(evs, event{kind: ch.Kind, path: p, etag: ch.ETag, at: at, remote: c.Remote})
	}
	n.mu.RUnlock()
	if len(evs) == 0 {
		return
	}
	n.qmu.Lock()
	if len(n.queue)+len(evs) > maxQueuedEvents {
		n.dropped += len(evs)
		n.qmu.Unlock()
		n.log.Error("notification queue full: changes dropped", "dropped", len(evs))
		return
	}
	n.queue = append(n.queue, evs...)
	n.qmu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// followKeys asks the sweeper to look for channels made with a revoked
// API key when the feed reports an API key record deleted (by this node
// or another), so that their connections close at once.
func (n *Notifier) followKeys(changes []store.Change) {
	for i := range changes {
		if changes[i].Deleted && bytes.HasPrefix(changes[i].Key, []byte(store.PrefixKey)) {
			n.Recheck()
			return
		}
	}
}

// watchedLocked reports whether a change of p concerns a channel or a
// legacy subscription: of p itself or of its container.
func (n *Notifier) watchedLocked(p string) bool {
	if len(n.byTopic[p]) > 0 || len(n.legacy[p]) > 0 {
		return true
	}
	if ldp.IsRoot(p) {
		return false
	}
	parent := ldp.Parent(p)
	return len(n.byTopic[parent]) > 0 || len(n.legacy[parent]) > 0
}

// Stats are the notifier's counters, for metrics.
type Stats struct {
	// Channels is the number of channels.
	Channels int
	// DroppedChanges counts changes not notified because the dispatcher's
	// queue was full.
	DroppedChanges int
}

// Stats returns the notifier's counters.
func (n *Notifier) Stats() Stats {
	n.mu.RLock()
	ch := len(n.channels)
	n.mu.RUnlock()
	n.qmu.Lock()
	defer n.qmu.Unlock()
	return Stats{Channels: ch, DroppedChanges: n.dropped}
}

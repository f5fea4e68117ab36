package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/store"
)

// Host is what the notifier needs from the server that embeds it.
type Host interface {
	// BaseURL is the server's base URL without a trailing slash.
	BaseURL() string
	// PodRoot returns the root URL of pod, ending in "/".
	PodRoot(pod string) string
	// PodOfURL maps an absolute URL on this server to its pod and
	// pod-relative path; ok is false for any other URL.
	PodOfURL(u string) (pod, rel string, ok bool)
	// Authorize returns nil when r's principal has mode need on storage
	// path p of r.Target's pod, or the 401/403 to answer.
	Authorize(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error
	// KeyActive reports whether the API key with id keyID of pod still
	// exists: channels end when the key that made them is revoked.
	KeyActive(ctx context.Context, pod, keyID string) (bool, error)
	// AppendInbox stores body as a new item of the inbox at storage path
	// inbox, once per id. When an item is added, committed is called with
	// its path once it is durable, before the store reports the write.
	AppendInbox(ctx context.Context, inbox, id string, body []byte, committed func(item string)) error
}

// Config configures a Notifier.
type Config struct {
	Store  store.Store
	Host   Host
	Logger *slog.Logger
	// Client posts to webhooks and remote LDN inboxes (default: 10 s
	// timeout, no redirects).
	Client *http.Client
	// MaxChannelsPerAgent bounds the channels one agent may have (default
	// 25,000; anonymous subscribers share one allowance).
	MaxChannelsPerAgent int
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
	// Outbox replaces the built-in durable retry queue for push channels.
	Outbox Outbox
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
}

// Notifier is the Solid Notifications server of one podserver.
type Notifier struct {
	cfg  Config
	host Host
	log  *slog.Logger
	out  Outbox

	mu       sync.RWMutex
	channels map[string]*channel
	byTopic  map[string][]*channel // storage path -> channels (copy on write)
	legacy   map[string][]*legacyConn
	perAgent map[string]int

	qmu     sync.Mutex
	queue   []event
	dropped int
	wake    chan struct{}

	smu      sync.Mutex
	suppress map[string]struct{} // inbox items written by LDN channels

	ctx         context.Context
	cancel      context.CancelFunc
	streamsDone chan struct{}
	streamsOnce sync.Once
	wg          sync.WaitGroup
}

// New loads the channels from the store and starts the dispatcher, the
// expiry sweeper and the push queue.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil || cfg.Host == nil {
		return nil, errors.New("notify: Config needs Store and Host")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxChannelsPerAgent <= 0 {
		cfg.MaxChannelsPerAgent = 25000
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
		cfg: cfg, host: cfg.Host, log: cfg.Logger,
		channels:    make(map[string]*channel),
		byTopic:     make(map[string][]*channel),
		legacy:      make(map[string][]*legacyConn),
		perAgent:    make(map[string]int),
		wake:        make(chan struct{}, 1),
		suppress:    make(map[string]struct{}),
		streamsDone: make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.load(); err != nil {
		return nil, err
	}
	n.out = cfg.Outbox
	if n.out == nil {
		q, err := newRetryQueue(retryConfig{
			Store: cfg.Store, Logger: cfg.Logger, Client: cfg.Client, Schedule: cfg.Retry,
			Resolve: n.pushTarget, Local: n.deliverLocal,
		})
		if err != nil {
			return nil, err
		}
		n.out = q
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
}

// Close stops the notifier: it closes every connection and stops the
// dispatcher and the push queue.
func (n *Notifier) Close() {
	n.CloseStreams()
	n.cancel()
	n.wg.Wait()
	n.mu.Lock()
	var all []*channel
	for _, ch := range n.channels {
		all = append(all, ch)
	}
	var legacy []*legacyConn
	for _, ls := range n.legacy {
		legacy = append(legacy, ls...)
	}
	n.mu.Unlock()
	for _, ch := range all {
		for _, s := range ch.close() {
			s.drop("server shutting down")
		}
	}
	for _, l := range legacy {
		l.drop("server shutting down")
	}
	n.out.Close()
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

// OnChange receives the store's durable writes of resource records. It runs
// on the store's writer goroutine and never blocks: it keeps the changes
// someone watches and queues them for the dispatcher.
func (n *Notifier) OnChange(changes []store.Change) {
	var evs []event
	now := time.Now()
	n.mu.RLock()
	watching := len(n.byTopic) > 0 || len(n.legacy) > 0
	for i := range changes {
		if !watching {
			break
		}
		c := &changes[i]
		if len(c.Key) <= len(store.PrefixResource) {
			continue
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
		evs = append(evs, event{kind: ch.Kind, path: p, etag: ch.ETag, at: at})
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

// run is the dispatcher goroutine.
func (n *Notifier) run() {
	defer n.wg.Done()
	for {
		select {
		case <-n.wake:
		case <-n.ctx.Done():
			return
		}
		for {
			n.qmu.Lock()
			batch := n.queue
			n.queue = nil
			n.qmu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, ev := range batch {
				n.dispatch(ev)
			}
		}
	}
}

// authCache remembers Read decisions for one topic while one change is
// dispatched.
type authCache map[string]bool

// dispatch sends the notifications of one change.
func (n *Notifier) dispatch(ev event) {
	pod, _ := ldp.SplitStoragePath(ev.path)
	root := n.host.PodRoot(pod)
	url := func(p string) string { return root + strings.TrimPrefix(p, "/"+pod+"/") }
	suppressed := ev.kind == ldp.Created && n.takeSuppressed(ev.path)

	var parent string
	if !ldp.IsRoot(ev.path) {
		parent = ldp.Parent(ev.path)
	}
	n.mu.RLock()
	own, ownLegacy := n.byTopic[ev.path], n.legacy[ev.path]
	var up []*channel
	var upLegacy []*legacyConn
	if parent != "" {
		up, upLegacy = n.byTopic[parent], n.legacy[parent]
	}
	n.mu.RUnlock()

	if len(own) > 0 {
		typ := ActUpdate
		switch ev.kind {
		case ldp.Created:
			typ = ActCreate
		case ldp.Deleted:
			typ = ActDelete
		}
		n.deliverAll(own, ev.path, root, newMessage(typ, url(ev.path), "", ev.etag, ev.at), suppressed)
	}
	if len(up) > 0 && !ldp.IsAuxiliary(ev.path) && ev.kind != ldp.Updated {
		typ := ActAdd
		if ev.kind == ldp.Deleted {
			typ = ActRemove
		}
		n.deliverAll(up, parent, root, newMessage(typ, url(ev.path), url(parent), ev.etag, ev.at), suppressed)
	}
	if len(ownLegacy) > 0 {
		n.publishLegacy(ownLegacy, ev.path, root)
	}
	if len(upLegacy) > 0 && !ldp.IsAuxiliary(ev.path) {
		n.publishLegacy(upLegacy, parent, root)
	}
}

// deliverAll sends msg, about topic, to the channels allowed to read it.
// Notifications about items that an LDN channel wrote are not pushed to
// push channels, so that channels cannot feed each other in a loop.
func (n *Notifier) deliverAll(chs []*channel, topic, root string, msg *Message, suppressed bool) {
	now := time.Now()
	auth := authCache{}
	for _, ch := range chs {
		if suppressed && isPush(ch.rec.Type) {
			continue
		}
		if !ch.active(now) {
			continue
		}
		if !n.allowed(auth, ch, topic, root) {
			continue
		}
		n.deliver(ch, msg)
	}
}

// allowed reports whether ch's creator may read topic, using and filling
// the cache.
func (n *Notifier) allowed(auth authCache, ch *channel, topic, root string) bool {
	if ok, found := auth[ch.pkey]; found {
		return ok
	}
	ok := n.canRead(&ch.rec, topic, root)
	auth[ch.pkey] = ok
	return ok
}

// canRead checks Read on topic (a storage path of r's pod) for r's creator.
func (n *Notifier) canRead(r *record, topic, root string) bool {
	err := n.authorize(n.ctx, r.principal(), r.Origin, r.Pod, root, topic, acl.Read)
	if err != nil && apierr.Status(err) >= 500 {
		n.log.Error("notification access check failed", "channel", r.ID, "topic", topic, "err", err)
	}
	return err == nil
}

// authorize checks mode on storage path p of pod for a principal.
func (n *Notifier) authorize(ctx context.Context, pr ldp.Principal, origin, pod, root, p string, mode acl.Mode) error {
	req := &ldp.Request{Target: ldp.Target{Pod: pod, Path: p, Root: root}, Principal: pr, Origin: origin}
	return n.host.Authorize(ctx, req, p, mode)
}

// deliver applies the rate feature and emits msg on ch.
func (n *Notifier) deliver(ch *channel, msg *Message) {
	now := time.Now()
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	if r := ch.rec.Rate; r > 0 && !ch.lastSent.IsZero() && now.Sub(ch.lastSent) < r {
		ch.pending = msg
		if ch.timer == nil {
			ch.timer = time.AfterFunc(ch.lastSent.Add(r).Sub(now), func() { n.flushRate(ch) })
		}
		ch.mu.Unlock()
		return
	}
	ch.lastSent = now
	if msg.Target == "" {
		ch.state = msg.State
	}
	sinks := slices.Clone(ch.sinks)
	ch.mu.Unlock()
	n.emit(ch, sinks, msg)
}

// flushRate sends the message the rate feature held back, if the creator
// may still read the topic.
func (n *Notifier) flushRate(ch *channel) {
	ch.mu.Lock()
	msg := ch.pending
	ch.pending, ch.timer = nil, nil
	if msg == nil || ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.lastSent = time.Now()
	if msg.Target == "" {
		ch.state = msg.State
	}
	sinks := slices.Clone(ch.sinks)
	ch.mu.Unlock()
	if !ch.active(time.Now()) || !n.canRead(&ch.rec, ch.rec.Path, n.host.PodRoot(ch.rec.Pod)) {
		return
	}
	n.emit(ch, sinks, msg)
}

// emit hands msg to ch's connections or to the push queue.
func (n *Notifier) emit(ch *channel, sinks []sink, msg *Message) {
	push := isPush(ch.rec.Type)
	if !push && len(sinks) == 0 {
		return
	}
	b, err := msg.Encode(ch.rec.Media)
	if err != nil {
		n.log.Error("cannot encode notification", "channel", ch.rec.ID, "media", ch.rec.Media, "err", err)
		return
	}
	if push {
		n.out.Send(Push{Channel: ch.rec.ID, ID: msg.ID, Body: b, ContentType: ch.rec.Media})
		return
	}
	for _, s := range sinks {
		if !s.send(b) {
			n.removeSink(ch, s)
		}
	}
}

// addSink attaches a live connection to ch, closing the oldest when ch has
// too many. It reports false when ch is closed.
func (n *Notifier) addSink(ch *channel, s sink) bool {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return false
	}
	var evicted sink
	if len(ch.sinks) >= n.cfg.MaxConnsPerChannel {
		evicted = ch.sinks[0]
		ch.sinks = slices.Delete(slices.Clone(ch.sinks), 0, 1)
	}
	ch.sinks = append(slices.Clip(ch.sinks), s)
	ch.mu.Unlock()
	if evicted != nil {
		evicted.drop("replaced by a newer connection to this channel")
	}
	return true
}

// removeSink detaches s from ch.
func (n *Notifier) removeSink(ch *channel, s sink) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if i := slices.Index(ch.sinks, s); i >= 0 {
		ch.sinks = slices.Delete(slices.Clone(ch.sinks), i, i+1)
	}
}

// lookup returns the channel with id, nil when there is none.
func (n *Notifier) lookup(id string) *channel {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.channels[id]
}

// create stores a new channel and starts watching its topic.
func (n *Notifier) create(ctx context.Context, r record) (*channel, error) {
	n.mu.Lock()
	if n.perAgent[r.Agent] >= n.cfg.MaxChannelsPerAgent {
		n.mu.Unlock()
		return nil, errTooMany
	}
	n.perAgent[r.Agent]++ // reserved while the record is written
	n.mu.Unlock()
	v, err := json.Marshal(r)
	if err == nil {
		err = n.cfg.Store.Update(ctx, func(tx store.Txn) error { return tx.Set(channelKey(r.ID), v) })
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.perAgent[r.Agent]--
	if err != nil {
		return nil, fmt.Errorf("store notification channel: %w", err)
	}
	ch := newChannel(r)
	n.addLocked(ch)
	return ch, nil
}

// remove deletes a channel and closes its connections.
func (n *Notifier) remove(ctx context.Context, ch *channel, reason string) error {
	if err := n.cfg.Store.Update(ctx, func(tx store.Txn) error { return tx.Delete(channelKey(ch.rec.ID)) }); err != nil {
		return fmt.Errorf("delete notification channel: %w", err)
	}
	n.mu.Lock()
	if n.channels[ch.rec.ID] == ch {
		delete(n.channels, ch.rec.ID)
		list := n.byTopic[ch.rec.Path]
		if i := slices.Index(list, ch); i >= 0 {
			list = slices.Delete(slices.Clone(list), i, i+1)
		}
		if len(list) == 0 {
			delete(n.byTopic, ch.rec.Path)
		} else {
			n.byTopic[ch.rec.Path] = list
		}
		if n.perAgent[ch.rec.Agent]--; n.perAgent[ch.rec.Agent] <= 0 {
			delete(n.perAgent, ch.rec.Agent)
		}
	}
	n.mu.Unlock()
	for _, s := range ch.close() {
		s.drop(reason)
	}
	return nil
}

// sweep removes expired channels, and channels whose creator's API key was
// revoked, once a minute.
func (n *Notifier) sweep() {
	defer n.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n.expire(time.Now())
		n.dropRevoked()
		select {
		case <-t.C:
		case <-n.ctx.Done():
			return
		}
	}
}

// expire removes the channels whose endAt has passed.
func (n *Notifier) expire(now time.Time) {
	n.mu.RLock()
	var old []*channel
	for _, ch := range n.channels {
		if !now.Before(ch.rec.EndAt) {
			old = append(old, ch)
		}
	}
	n.mu.RUnlock()
	for _, ch := range old {
		if err := n.remove(n.ctx, ch, "channel expired (endAt)"); err != nil && n.ctx.Err() == nil {
			n.log.Error("cannot remove expired notification channel", "channel", ch.rec.ID, "err", err)
		}
	}
}

// dropRevoked removes the channels made with API keys that no longer exist.
func (n *Notifier) dropRevoked() {
	type key struct{ pod, id string }
	n.mu.RLock()
	byKey := map[key][]*channel{}
	for _, ch := range n.channels {
		if ch.rec.KeyID != "" {
			k := key{ch.rec.KeyPod, ch.rec.KeyID}
			byKey[k] = append(byKey[k], ch)
		}
	}
	n.mu.RUnlock()
	for k, chs := range byKey {
		ok, err := n.host.KeyActive(n.ctx, k.pod, k.id)
		if err != nil || ok {
			continue
		}
		for _, ch := range chs {
			if err := n.remove(n.ctx, ch, "the API key that made this channel was revoked"); err != nil && n.ctx.Err() == nil {
				n.log.Error("cannot remove notification channel", "channel", ch.rec.ID, "err", err)
			}
		}
	}
}

// keyActive reports whether ch's creator's API key still exists (true for
// anonymous channels). When it does not, ch is removed.
func (n *Notifier) keyActive(ctx context.Context, ch *channel) bool {
	if ch.rec.KeyID == "" {
		return true
	}
	ok, err := n.host.KeyActive(ctx, ch.rec.KeyPod, ch.rec.KeyID)
	if err != nil {
		n.log.Error("cannot check a notification channel's API key", "channel", ch.rec.ID, "err", err)
		return true
	}
	if !ok {
		_ = n.remove(ctx, ch, "the API key that made this channel was revoked")
	}
	return ok
}

// suppressItem records an inbox item written by an LDN channel.
func (n *Notifier) suppressItem(p string) {
	n.smu.Lock()
	n.suppress[p] = struct{}{}
	n.smu.Unlock()
}

func (n *Notifier) takeSuppressed(p string) bool {
	n.smu.Lock()
	defer n.smu.Unlock()
	_, ok := n.suppress[p]
	delete(n.suppress, p)
	return ok
}

// currentState returns the topic's ETag, "" when it does not exist.
func (n *Notifier) currentState(ctx context.Context, p string) (string, bool, error) {
	var etag string
	var exists bool
	err := n.cfg.Store.View(ctx, func(rd store.Reader) error {
		res, err := ldp.Get(rd, p)
		if errors.Is(err, ldp.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		etag, exists = res.Meta.ETag(), true
		return nil
	})
	return etag, exists, err
}

// stateMessage returns the notification a receiver whose last known state
// of ch's topic is known gets when the topic is now different: an Update
// (or Create) with the current state, or a Delete. It returns nil when the
// state is the same or unknown.
func (n *Notifier) stateMessage(ctx context.Context, ch *channel) *Message {
	ch.mu.Lock()
	known := ch.state
	ch.mu.Unlock()
	if known == "" {
		return nil
	}
	etag, exists, err := n.currentState(ctx, ch.rec.Path)
	if err != nil {
		n.log.Error("cannot read topic state", "channel", ch.rec.ID, "err", err)
		return nil
	}
	if exists && etag == known {
		return nil
	}
	root := n.host.PodRoot(ch.rec.Pod)
	obj := root + strings.TrimPrefix(ch.rec.Path, "/"+ch.rec.Pod+"/")
	if !exists {
		return newMessage(ActDelete, obj, "", "", time.Now())
	}
	return newMessage(ActUpdate, obj, "", etag, time.Now())
}

package notify

import (
	"context"
	"slices"
	"strings"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
)

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

// authCache remembers, while one change is dispatched, the decisions for
// one topic by principalKey: whether the creator's credential still works
// and the creator may read the topic. revoked collects the channels whose
// credential no longer works, for dispatch to remove.
type authCache struct {
	ok      map[string]access
	revoked []*channel
}

// access is a decision of authCache.
type access int8

const (
	accessDenied access = iota
	accessAllowed
	accessRevoked
)

// dispatch sends the notifications of one change.
func (n *Notifier) dispatch(ev event) {
	pod, _ := ldp.SplitStoragePath(ev.path)
	root := n.cfg.URLs.PodRoot(pod)
	url := func(p string) string { return n.cfg.URLs.URL(pod, strings.TrimPrefix(p, "/"+pod+"/")) }
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
		state := ev.etag
		if ldp.IsContainer(ev.path) && ev.kind != ldp.Deleted {
			state = n.containerState(ev.path)
		}
		n.deliverAll(own, ev.path, root, newMessage(typ, url(ev.path), "", state, ev.at), suppressed, ev.remote)
	}
	if len(up) > 0 && !ldp.IsAuxiliary(ev.path) && ev.kind != ldp.Updated {
		typ := ActAdd
		if ev.kind == ldp.Deleted {
			typ = ActRemove
		}
		n.deliverAll(up, parent, root, newMessage(typ, url(ev.path), url(parent), n.containerState(parent), ev.at), suppressed, ev.remote)
	}
	if len(ownLegacy) > 0 {
		n.publishLegacy(ownLegacy, ev.path, root)
	}
	if len(upLegacy) > 0 && !ldp.IsAuxiliary(ev.path) {
		n.publishLegacy(upLegacy, parent, root)
	}
}

// removeRevoked removes the channels deliverAll found made with a
// credential that no longer works, closing their connections.
func (n *Notifier) removeRevoked(chs []*channel) {
	for _, ch := range chs {
		if err := n.remove(n.ctx, ch, msgRevoked); err != nil && n.ctx.Err() == nil {
			n.log.Error("cannot remove notification channel", "channel", ch.rec.ID, "err", err)
		}
	}
}

// containerState is the state an Add or Remove (or a change of the
// container itself) carries: the state of the container, the channel's
// topic, as a GET of it and the state feature know it (currentState), or
// "" when the container is gone or cannot be read. It is read when the
// change is dispatched, so a change may carry the state of a later one.
func (n *Notifier) containerState(container string) string {
	etag, exists, err := n.currentState(n.ctx, container)
	if err != nil {
		n.log.Error("cannot read the state of a container", "container", container, "err", err)
		return ""
	}
	if !exists {
		return ""
	}
	return etag
}

// deliverAll sends msg, about topic, to the channels allowed to read it.
// Notifications about items that an LDN channel wrote are not pushed to
// push channels, so that channels cannot feed each other in a loop.
func (n *Notifier) deliverAll(chs []*channel, topic, root string, msg *Message, suppressed, remote bool) {
	now := time.Now()
	auth := authCache{ok: map[string]access{}}
	defer func() { n.removeRevoked(auth.revoked) }()
	for _, ch := range chs {
		if (suppressed || remote) && isPush(ch.rec.Type) {
			continue // the node that committed a change pushes it
		}
		if !ch.active(now) {
			continue
		}
		if !n.allowed(&auth, ch, topic, root) {
			continue
		}
		n.deliver(ch, msg)
	}
}

// allowed reports whether ch's creator's credential still works and it
// may read topic, using and filling the cache. A channel whose credential
// was revoked is added to auth.revoked.
func (n *Notifier) allowed(auth *authCache, ch *channel, topic, root string) bool {
	a, found := auth.ok[ch.pkey]
	if !found {
		a = accessDenied
		switch {
		case !n.credentialWorks(n.ctx, &ch.rec):
			a = accessRevoked
		case n.canRead(&ch.rec, topic, root):
			a = accessAllowed
		}
		auth.ok[ch.pkey] = a
	}
	if a == accessRevoked {
		auth.revoked = append(auth.revoked, ch)
	}
	return a == accessAllowed
}

// credentialWorks reports whether r's creator's credential still works
// (Host.CredentialActive). A failed check counts as working, as it does
// when a connection opens: Read is still checked.
func (n *Notifier) credentialWorks(ctx context.Context, r *record) bool {
	if r.credentialKey() == "" {
		return true
	}
	ok, err := n.host.CredentialActive(ctx, r.principal())
	if err != nil {
		n.log.Error("cannot check a notification channel's credential", "channel", r.ID, "err", err)
		return true
	}
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

// deliver applies the rate feature and sends msg on ch.
func (n *Notifier) deliver(ch *channel, msg *Message) {
	now := time.Now()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return
	}
	if r := ch.rec.Rate; r > 0 && !ch.lastSent.IsZero() && now.Sub(ch.lastSent) < r {
		ch.pending = msg
		if ch.timer == nil {
			ch.timer = time.AfterFunc(ch.lastSent.Add(r).Sub(now), func() { n.flushRate(ch) })
		}
		return
	}
	n.sendLocked(ch, msg, now)
}

// flushRate sends the message the rate feature held back, if the creator
// may still read the topic.
func (n *Notifier) flushRate(ch *channel) {
	ok := ch.active(time.Now()) && n.credentialWorks(n.ctx, &ch.rec) && n.canRead(&ch.rec, ch.rec.Path, n.cfg.URLs.PodRoot(ch.rec.Pod))
	ch.mu.Lock()
	defer ch.mu.Unlock()
	msg := ch.pending
	ch.pending, ch.timer = nil, nil
	if msg == nil || ch.closed || !ok {
		return
	}
	n.sendLocked(ch, msg, time.Now())
}

// sendLocked hands msg to ch's connections, or to the push queue; ch.mu is
// held. Sends never block; connections that are gone are detached. A
// receiveFrom channel without connections drops msg and keeps its last
// known state, so that the state feature tells a receiver that connects
// later.
func (n *Notifier) sendLocked(ch *channel, msg *Message, now time.Time) {
	push := isPush(ch.rec.Type)
	if !push && len(ch.sinks) == 0 {
		return
	}
	b, err := msg.Encode(ch.rec.Media)
	if err != nil {
		n.log.Error("cannot encode notification", "channel", ch.rec.ID, "media", ch.rec.Media, "err", err)
		return
	}
	ch.lastSent = now
	if msg.Target == "" || msg.State != "" {
		// The topic's state: an Add's or Remove's is its container's.
		ch.state = msg.State
	}
	if push {
		n.push(&ch.rec, msg.ID, b)
		return
	}
	ch.sinks = slices.DeleteFunc(ch.sinks, func(s sink) bool { return !offer(s, msg, b) })
}

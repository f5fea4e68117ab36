package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// join attaches the live connection s to ch, closing the oldest when ch
// has too many, and queues on s first the state message its receiver is
// owed (the state feature). It reports false when ch is closed.
//
// The topic's state is read and s attached under ch.mu, which the
// dispatcher holds to hand ch a notification: everything it hands ch
// from then on reaches s after the state message, so no change committed
// after the snapshot is lost, whether it comes during the WebSocket
// handshake or the moment after. A change committed before the snapshot
// may still be on its way through the dispatcher; s skips those that the
// snapshot covers (knownState.fresh), so its receiver hears of each
// change once, in commit order. The rate feature applies to s as to every
// connection of ch: what it holds back goes out, in order, after the
// state message. The store read under ch.mu holds up the dispatcher only
// when it has something for ch meanwhile.
func (n *Notifier) join(ctx context.Context, ch *channel, s sink) bool {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return false
	}
	etag, exists, err := n.currentState(ctx, ch.rec.Path)
	if err != nil {
		// Without a snapshot s gets what comes, and no state message.
		n.log.Error("cannot read topic state", "channel", ch.rec.ID, "err", err)
	} else if k := s.known(); k != nil {
		v, _ := etagVersion(etag)
		*k = knownState{set: true, gone: !exists, version: v}
	}
	var msg *Message
	if err == nil && ch.state != "" && ch.active(time.Now()) {
		msg = n.stateChange(ch, ch.state, etag, exists)
	}
	evicted := n.attachLocked(ch, s)
	if msg != nil {
		if b, err := msg.Encode(ch.rec.Media); err != nil {
			n.log.Error("cannot encode notification", "channel", ch.rec.ID, "media", ch.rec.Media, "err", err)
		} else {
			ch.state = msg.State
			s.send(b)
		}
	}
	ch.mu.Unlock()
	if evicted != nil {
		evicted.drop("replaced by a newer connection to this channel")
	}
	return true
}

// attachLocked adds s to ch's connections and returns the oldest one when
// there are too many, detached, for the caller to drop; ch.mu is held.
func (n *Notifier) attachLocked(ch *channel, s sink) (evicted sink) {
	if len(ch.sinks) >= n.cfg.MaxConnsPerChannel {
		evicted = ch.sinks[0]
		ch.sinks = slices.Delete(ch.sinks, 0, 1)
	}
	ch.sinks = append(ch.sinks, s)
	return evicted
}

// removeSink detaches s from ch.
func (n *Notifier) removeSink(ch *channel, s sink) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if i := slices.Index(ch.sinks, s); i >= 0 {
		ch.sinks = slices.Delete(ch.sinks, i, i+1)
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
	push := isPush(r.Type)
	n.mu.Lock()
	if n.perAgent[r.Agent] >= n.cfg.MaxChannelsPerAgent {
		n.mu.Unlock()
		return nil, errTooMany
	}
	if push && n.pushPerAgent[r.pushQuotaKey()] >= n.cfg.MaxPushChannelsPerAgent {
		n.mu.Unlock()
		return nil, errTooManyPush(n.cfg.MaxPushChannelsPerAgent)
	}
	// Reserved while the record is written.
	n.perAgent[r.Agent]++
	if push {
		n.pushPerAgent[r.pushQuotaKey()]++
	}
	n.mu.Unlock()
	v, err := json.Marshal(r)
	if err == nil {
		err = n.cfg.Store.Update(ctx, func(tx store.Txn) error { return tx.Set(channelKey(r.ID), v) })
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.perAgent[r.Agent]--
	if push {
		n.pushPerAgent[r.pushQuotaKey()]--
	}
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
	n.forget(ch, reason)
	return nil
}

// forget takes ch out of the registry, if it is there, and closes its
// connections with reason.
func (n *Notifier) forget(ch *channel, reason string) {
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
		if isPush(ch.rec.Type) {
			k := ch.rec.pushQuotaKey()
			if n.pushPerAgent[k]--; n.pushPerAgent[k] <= 0 {
				delete(n.pushPerAgent, k)
			}
		}
	}
	n.mu.Unlock()
	for _, s := range ch.close() {
		s.drop(reason)
	}
}

// followChannels keeps the registry in step with the channel records
// another node writes (Remote changes under the channel prefix): a
// channel created there is known here, so a receiveFrom connection that a
// load balancer sends to this node finds it, and one deleted there (by
// its owner, expiry or a revoked key) is closed here too. This node's own
// writes are indexed by create and remove themselves.
func (n *Notifier) followChannels(changes []store.Change) {
	for _, c := range changes {
		if !c.Remote || !bytes.HasPrefix(c.Key, channelPrefix) {
			continue
		}
		id := string(c.Key[len(channelPrefix):])
		if c.Deleted {
			if ch := n.lookup(id); ch != nil {
				n.forget(ch, "channel deleted")
			}
			continue
		}
		r, err := decodeRecord(c.Value)
		if err != nil || r.ID != id {
			n.log.Warn("skipping unreadable notification channel", "id", id, "err", err)
			continue
		}
		n.mu.Lock()
		if _, ok := n.channels[id]; !ok {
			n.addLocked(newChannel(r))
		}
		n.mu.Unlock()
	}
}

// Resync makes the registry what the store holds: channels created by
// another node are added, and channels no longer stored are closed. For
// when the change feed may have missed changes (pgstore.Options.OnReset).
func (n *Notifier) Resync(ctx context.Context) error {
	stored := map[string]record{}
	err := n.cfg.Store.View(ctx, func(rd store.Reader) error {
		return rd.Scan(channelPrefix, nil, false, func(k, v []byte) error {
			if r, err := decodeRecord(v); err == nil {
				stored[r.ID] = r
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("notify: resync channels: %w", err)
	}
	var gone []*channel
	n.mu.Lock()
	for id, ch := range n.channels {
		if _, ok := stored[id]; !ok {
			gone = append(gone, ch)
		}
	}
	for id, r := range stored {
		if _, ok := n.channels[id]; !ok {
			n.addLocked(newChannel(r))
		}
	}
	n.mu.Unlock()
	for _, ch := range gone {
		n.forget(ch, "channel deleted")
	}
	return nil
}

// sweep removes expired channels, and channels whose creator's
// credential no longer works, once a minute and whenever Recheck asks.
func (n *Notifier) sweep() {
	defer n.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n.expire(time.Now())
		n.dropRevoked()
		n.sweepSuppressed(time.Now())
		select {
		case <-t.C:
		case <-n.recheck:
		case <-n.ctx.Done():
			return
		}
	}
}

// Recheck makes the sweeper look at once for channels whose creator's
// credential no longer works, and end them: the server calls it when it
// withdrew one (a deleted app or client). It never blocks. A revoked API
// key is noticed by the notifier itself, through the change feed.
func (n *Notifier) Recheck() {
	select {
	case n.recheck <- struct{}{}:
	default:
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

// msgRevoked is why a channel whose creator's credential no longer works
// is closed.
const msgRevoked = "the credential that made this channel was revoked"

// dropRevoked removes the channels made with credentials that no longer
// work (Host.CredentialActive), asking once per credential.
func (n *Notifier) dropRevoked() {
	n.mu.RLock()
	byCred := map[string][]*channel{}
	for _, ch := range n.channels {
		if k := ch.rec.credentialKey(); k != "" {
			byCred[k] = append(byCred[k], ch)
		}
	}
	n.mu.RUnlock()
	for _, chs := range byCred {
		ok, err := n.host.CredentialActive(n.ctx, chs[0].rec.principal())
		if err != nil || ok {
			continue
		}
		for _, ch := range chs {
			if err := n.remove(n.ctx, ch, msgRevoked); err != nil && n.ctx.Err() == nil {
				n.log.Error("cannot remove notification channel", "channel", ch.rec.ID, "err", err)
			}
		}
	}
}

// credentialActive reports whether ch's creator's credential still works
// (credentialWorks). When it does not, ch is removed.
func (n *Notifier) credentialActive(ctx context.Context, ch *channel) bool {
	if n.credentialWorks(ctx, &ch.rec) {
		return true
	}
	_ = n.remove(ctx, ch, msgRevoked)
	return false
}

// suppressItem records an inbox item written by an LDN channel. The
// dispatcher takes the record when it sees the item's creation; records of
// items nobody watched are swept after a minute.
func (n *Notifier) suppressItem(p string) {
	n.smu.Lock()
	n.suppress[p] = time.Now()
	n.smu.Unlock()
}

// sweepSuppressed forgets suppression records older than a minute.
func (n *Notifier) sweepSuppressed(now time.Time) {
	n.smu.Lock()
	defer n.smu.Unlock()
	for p, t := range n.suppress {
		if now.Sub(t) > time.Minute {
			delete(n.suppress, p)
		}
	}
}

func (n *Notifier) takeSuppressed(p string) bool {
	n.smu.Lock()
	defer n.smu.Unlock()
	_, ok := n.suppress[p]
	delete(n.suppress, p)
	return ok
}

// currentState returns the topic's state, its ETag as a GET answers it
// (for a container, Host.ContainerETag; the record's when the answer
// carries none), "" when it does not exist.
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
	if err != nil || !exists || !ldp.IsContainer(p) {
		return etag, exists, err
	}
	listing, ok, err := n.host.ContainerETag(ctx, p)
	if err != nil {
		return "", false, err
	}
	if ok {
		etag = listing
	}
	return etag, exists, nil
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
	return n.stateChange(ch, known, etag, exists)
}

// stateChange returns the notification a receiver whose last known state
// of ch's topic is known gets when the topic's state is etag (exists) or
// gone (!exists): nil when that is the state it knows.
func (n *Notifier) stateChange(ch *channel, known, etag string, exists bool) *Message {
	if exists && etag == known {
		return nil
	}
	obj := n.cfg.URLs.URL(ch.rec.Pod, strings.TrimPrefix(ch.rec.Path, "/"+ch.rec.Pod+"/"))
	if !exists {
		return newMessage(ActDelete, obj, "", "", time.Now())
	}
	return newMessage(ActUpdate, obj, "", etag, time.Now())
}

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/deliver"
	"podserver/ldp"
	"podserver/store"
	"podserver/webhook"
)

// Push channels (WebhookChannel2023, LDNChannel2023) deliver through the
// server's durable delivery queue (package deliver) as records of
// deliver.KindPush, with the policy pushPolicy gives them. A request of a
// channel the topic's pod made itself (record.byTopicPod) is signed by
// that pod (HTTP Message Signatures, Host.SignRequest); anyone else's
// goes unsigned, since the pod vouches for no request a third party
// aimed. A webhook request is also signed with the channel's secret
// (Standard Webhooks, package webhook), which only its creator knows. The
// answer is judged by the queue's one rule (deliver.ReadResponse): 2xx
// delivered; 408, 429 and 5xx retried, honouring Retry-After; any other
// answer ends the notification.

// DefaultRetry returns the wait after each failed push attempt:
// notifications are live, so the first retries come fast; after the last
// the notification is dropped.
func DefaultRetry() []time.Duration {
	return []time.Duration{
		time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
	}
}

// Bounds of push notifications.
const (
	// maxPerChannel bounds the notifications waiting for one channel;
	// more are dropped.
	maxPerChannel = 1000
	// pushTimeout bounds one attempt.
	pushTimeout = 30 * time.Second
)

// errChannelGone ends the notifications of a channel that was deleted or
// expired, or whose creator may no longer read the topic.
var errChannelGone = errors.New("the channel is gone or its creator can no longer read the topic")

// pushPolicy is the queue policy of push notifications: unlike events,
// they are live and nobody lists them, so they retry on schedule (retry,
// DefaultRetry when empty) and are dropped, not kept as dead letters,
// when they fail for good; at most maxPerChannel wait for one channel.
func pushPolicy(retry []time.Duration) deliver.Policy {
	if len(retry) == 0 {
		retry = DefaultRetry()
	}
	return deliver.Policy{Schedule: retry, Transient: true, MaxPerChannel: maxPerChannel}
}

// push hands a notification of push channel r to the delivery queue. It
// never blocks: the dispatcher calls it.
func (n *Notifier) push(r *record, id string, body []byte) {
	ok := n.pushes.Offer(deliver.Record{
		Kind: deliver.KindPush, Pod: r.Pod, Target: r.SendTo, Channel: r.ID,
		EventID: id, Payload: body, MediaType: r.Media,
	})
	if !ok {
		n.log.Warn("push channel has too many undelivered notifications: notification dropped", "channel", r.ID, "id", id)
	}
}

// pushDest is where a push channel's notifications go.
type pushDest struct {
	typ    string
	sendTo string
	// secret signs webhook requests (Standard Webhooks); "" for none.
	secret string
	// inbox is the storage path of the local inbox sendTo names, "" when
	// sendTo is not on this server.
	inbox string
	// agent is who the copy in a local inbox names as its sender: the
	// channel's creator, whose Append on the inbox was checked.
	agent string
	// pod is the name of the pod whose key signs the request: the
	// topic's pod when it made the channel itself, else "" (unsigned).
	pod string
}

// attemptPush is the delivery queue's handler of deliver.KindPush: it
// resolves the channel afresh (a deleted channel or a revoked Read ends
// its notifications) and delivers r to a local inbox or POSTs it.
func (n *Notifier) attemptPush(ctx context.Context, r deliver.Record) (deliver.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	d, err := n.pushTarget(ctx, r.Channel)
	switch {
	case err != nil:
		return deliver.Response{}, err
	case d == nil:
		return deliver.Response{}, deliver.Permanent(errChannelGone)
	case d.inbox != "":
		return deliver.Response{}, n.deliverLocal(ctx, d, r)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.sendTo, bytes.NewReader(r.Payload))
	if err != nil {
		return deliver.Response{}, deliver.Permanent(err)
	}
	req.Header.Set("Content-Type", r.MediaType)
	req.Header.Set("User-Agent", "podserver-notifications")
	now := time.Now()
	if d.typ == TypeWebhook && d.secret != "" {
		if err := webhook.SetHeaders(req.Header, d.secret, r.EventID, now, r.Payload); err != nil {
			return deliver.Response{}, deliver.Permanent(fmt.Errorf("sign webhook: %w", err))
		}
	}
	if d.pod != "" {
		if err := n.host.SignRequest(ctx, d.pod, req, r.Payload); err != nil {
			n.log.Warn("cannot sign push notification: sending it unsigned", "channel", r.Channel, "pod", d.pod, "err", err)
		}
	}
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return deliver.Response{}, fmt.Errorf("POST %s: %w", d.sendTo, err)
	}
	return deliver.ReadResponse(resp, d.sendTo, now)
}

// pushTarget resolves a push channel for an attempt: nil (drop) when the
// channel is gone or expired, or its creator may no longer read the topic
// or, for a local inbox, append to it. An error (the access check itself
// failed) is retried.
func (n *Notifier) pushTarget(ctx context.Context, id string) (*pushDest, error) {
	ch := n.lookup(id)
	if ch == nil || !time.Now().Before(ch.rec.EndAt) {
		return nil, nil
	}
	r := &ch.rec
	if r.credentialKey() != "" {
		ok, err := n.host.CredentialActive(ctx, r.principal())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
	root := n.cfg.URLs.PodRoot(r.Pod)
	if err := n.authorize(ctx, r.principal(), r.Origin, r.Pod, root, r.Path, acl.Read); err != nil {
		if apierr.Status(err) >= 500 {
			return nil, err
		}
		return nil, nil
	}
	d := &pushDest{typ: r.Type, sendTo: r.SendTo, secret: r.Secret, agent: r.Agent}
	if r.byTopicPod(n.cfg.URLs.WebID(r.Pod)) {
		d.pod = r.Pod
	}
	if r.Type == TypeLDN {
		if inbox, pod, ok := n.localInbox(r.SendTo); ok {
			if err := n.authorize(ctx, r.principal(), r.Origin, pod, n.cfg.URLs.PodRoot(pod), inbox, acl.Append); err != nil {
				if apierr.Status(err) >= 500 {
					return nil, err
				}
				return nil, nil
			}
			d.inbox = inbox
		}
	}
	return d, nil
}

// localInbox reports whether u names a container on this server, and its
// storage path and pod.
func (n *Notifier) localInbox(u string) (p, pod string, ok bool) {
	pod, rel, ok := n.cfg.URLs.PodOfURL(u)
	if !ok || ldp.CleanPath(rel) != nil || !ldp.IsContainer(ldp.StoragePath(pod, rel)) {
		return "", "", false
	}
	return ldp.StoragePath(pod, rel), pod, true
}

// deliverLocal appends a notification to an inbox of this server, as an
// LDN sender would: the stored copy names the channel's creator as agent
// (the topic's pod only when it made the channel). Items written here are
// remembered so that they do not feed push channels.
func (n *Notifier) deliverLocal(ctx context.Context, d *pushDest, r deliver.Record) error {
	return n.host.AppendInbox(ctx, d.inbox, r.EventID, localBody(d.agent, r.Payload), n.suppressItem)
}

// localBody puts the server fields of an inbox copy in front of a
// notification (a JSON object).
func localBody(sender string, msg []byte) []byte {
	head, _ := json.Marshal(map[string]string{"agent": sender, "instrument": "solid-notifications"})
	out := make([]byte, 0, len(head)+len(msg))
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, msg[1:]...)
}

// legacyPushPrefix holds the push notifications that the notifier's own
// retry queue stored (store.PrefixChannel + "q" + seq) before they moved
// onto the delivery queue.
var legacyPushPrefix = []byte(store.PrefixChannel + "q")

// legacyPush is a push notification as that queue stored it.
type legacyPush struct {
	Push struct {
		Channel     string `json:"channel"`
		ID          string `json:"id"`
		Body        []byte `json:"body"`
		ContentType string `json:"contentType"`
	} `json:"push"`
	Attempts int       `json:"attempts"`
	Due      time.Time `json:"due"`
	Created  time.Time `json:"created"`
}

// adoptLegacyPushes moves the push notifications stored by the former
// retry queue onto the delivery queue, in one transaction: each becomes a
// deliver.KindPush record, due when it was, with its attempts counted,
// unless its channel is gone. Stores without such records are only read.
func (n *Notifier) adoptLegacyPushes(ctx context.Context) error {
	var found bool
	err := n.cfg.Store.View(ctx, func(rd store.Reader) error {
		return rd.Scan(legacyPushPrefix, nil, false, func(_, _ []byte) error {
			found = true
			return store.ErrStop
		})
	})
	if err != nil || !found {
		return err
	}
	moved := 0
	err = n.cfg.Store.Update(ctx, func(tx store.Txn) error {
		moved = 0
		var keys [][]byte
		var recs []deliver.Record
		err := tx.Scan(legacyPushPrefix, nil, false, func(k, v []byte) error {
			keys = append(keys, bytes.Clone(k))
			var p legacyPush
			if err := json.Unmarshal(v, &p); err != nil {
				n.log.Warn("dropping unreadable queued notification", "err", err)
				return nil
			}
			ch := n.lookup(p.Push.Channel)
			if ch == nil || !isPush(ch.rec.Type) {
				return nil
			}
			recs = append(recs, deliver.Record{
				Kind: deliver.KindPush, Pod: ch.rec.Pod, Target: ch.rec.SendTo, Channel: ch.rec.ID,
				EventID: p.Push.ID, Payload: p.Push.Body, MediaType: p.Push.ContentType,
				Attempts: p.Attempts, Due: p.Due, Created: p.Created,
			})
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := n.pushes.Enqueue(tx, r); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		moved = len(recs)
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: move queued notifications to the delivery queue: %w", err)
	}
	n.log.Info("queued push notifications moved to the delivery queue", "count", moved)
	return nil
}

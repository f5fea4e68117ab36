package notify

import (
	"context"
	"encoding/json"
	"time"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
)

// pushTarget resolves a push channel for an attempt: nil (drop) when the
// channel is gone or expired, or its creator may no longer read the topic
// or, for a local inbox, append to it. An error (the access check itself
// failed) is retried.
func (n *Notifier) pushTarget(ctx context.Context, id string) (*PushTarget, error) {
	ch := n.lookup(id)
	if ch == nil || !time.Now().Before(ch.rec.EndAt) {
		return nil, nil
	}
	if r := &ch.rec; r.KeyID != "" {
		ok, err := n.host.KeyActive(ctx, r.KeyPod, r.KeyID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
	r := &ch.rec
	root := n.host.PodRoot(r.Pod)
	if err := n.authorize(ctx, r.principal(), r.Origin, r.Pod, root, r.Path, acl.Read); err != nil {
		if apierr.Status(err) >= 500 {
			return nil, err
		}
		return nil, nil
	}
	t := &PushTarget{Channel: id, Type: r.Type, SendTo: r.SendTo, Secret: r.Secret, Sender: root + "profile/card#me", Pod: r.Pod}
	if r.Type == TypeLDN {
		if inbox, pod, ok := n.localInbox(r.SendTo); ok {
			if err := n.authorize(ctx, r.principal(), r.Origin, pod, n.host.PodRoot(pod), inbox, acl.Append); err != nil {
				if apierr.Status(err) >= 500 {
					return nil, err
				}
				return nil, nil
			}
			t.Inbox = inbox
		}
	}
	return t, nil
}

// localInbox reports whether u names a container on this server, and its
// storage path and pod.
func (n *Notifier) localInbox(u string) (p, pod string, ok bool) {
	pod, rel, ok := n.host.PodOfURL(u)
	if !ok || ldp.CleanPath(rel) != nil || !ldp.IsContainer(ldp.StoragePath(pod, rel)) {
		return "", "", false
	}
	return ldp.StoragePath(pod, rel), pod, true
}

// deliverLocal appends a notification to an inbox of this server, as an
// LDN sender would: the stored copy names the sending pod as agent. Items
// written here are remembered so that they do not feed push channels.
func (n *Notifier) deliverLocal(ctx context.Context, t *PushTarget, p Push) error {
	return n.host.AppendInbox(ctx, t.Inbox, p.ID, localBody(t.Sender, p.Body), n.suppressItem)
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

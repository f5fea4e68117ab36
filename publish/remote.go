package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/jsoncheck"
	"podserver/store"
)

// Messages of a signed delivery from another server refused by the
// receiving pod.
const (
	// MsgRemoteBody: the delivered notification is not a JSON object, or
	// an event copy for this pod has no id.
	MsgRemoteBody = "a delivered notification must be a JSON object; an event copy needs a string id (the event's URL)"
	// MsgRemoteAgent is a format: the copy's agent and the signer's WebID.
	MsgRemoteAgent = "the event's agent %s is not the WebID %s whose key signed the request"
	// MsgRemoteOrigin is a format: the event id and the signer's WebID.
	MsgRemoteOrigin = "the event id %s is not in the pod of %s, whose key signed the request"
)

// remoteCopy is what receiving reads from a delivered copy.
type remoteCopy struct {
	ID        string `json:"id"`
	Agent     string `json:"agent"`
	Recipient string `json:"recipient"`
	Source    string `json:"source"`
	Topic     string `json:"topic"`
}

// Received is the outcome of ReceiveRemote.
type Received struct {
	// Item is the storage path of the copy in the pod's inbox.
	Item string
	// Added is false when the inbox already held the event.
	Added bool
}

// ReceiveRemote stores a copy delivered by another server to pod's inbox,
// signed by sender (the verified WebID controlling the signing key). An
// event copy must pass the rule of copies.go: a recipient copy (its
// recipient or source is pod's WebID) needs its agent to be the sender,
// its id in the sender's pod, and a "publishes" item for the sender in
// pod's settings/subscriptions (403 with MsgNotAuthorized otherwise); a
// subscriber copy must come from the pod of its recipient or source (or
// from an agent its recipient here allows). The first copy of a recipient
// copy's event id is also handed to pod's subscribers: local inboxes at
// once, subscribers on other servers and webhooks through the delivery
// queue, as records of pod's own outbox (pod's settings routed them). Any
// other copy is stored once per event id; a plain notification without
// recipient and topic is stored as well. Every copy is stored as sent; its
// sender is recorded beside it (inbox.Sender) as its agent.
func (s *Service) ReceiveRemote(ctx context.Context, pod, sender string, body []byte) (Received, error) {
	if err := jsoncheck.Check(body); err != nil {
		return Received{}, apierr.Wrap(http.StatusBadRequest, MsgRemoteBody+": "+err.Error(), err)
	}
	var rc remoteCopy
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &rc) != nil {
		return Received{}, apierr.New(http.StatusBadRequest, MsgRemoteBody)
	}
	// The stored copy: as sent, so that reading it gives the sender's
	// graph; the verified sender (DESIGN section 2: the pod that forwarded
	// it; for a recipient copy that is the publisher, checked below) is
	// recorded beside it, and the app-facing listing shows it as "agent".
	doc := body
	sentBy := &inbox.Sender{Agent: sender}
	me := s.cfg.URLs.WebID(pod)
	parties := copyParties{Recipient: rc.Recipient, Source: rc.Source, Topic: rc.Topic}
	// Forwarded copies (a subscriber's copy from the recipient's server)
	// keep the publisher's id; only a recipient copy must come from the
	// publisher itself.
	if parties.eventCopy() && (rc.Recipient == me || rc.Source == me) {
		if rc.ID == "" {
			return Received{}, apierr.New(http.StatusBadRequest, MsgRemoteBody)
		}
		if rc.Agent != sender {
			return Received{}, apierr.Newf(http.StatusForbidden, MsgRemoteAgent, rc.Agent, sender)
		}
		root, _ := strings.CutSuffix(strings.SplitN(sender, "#", 2)[0], "profile/card")
		if root == "" || !strings.HasPrefix(rc.ID, root) {
			return Received{}, apierr.Newf(http.StatusForbidden, MsgRemoteOrigin, rc.ID, sender)
		}
	}
	now := s.cfg.Now().UTC()
	own := inbox.Path(pod)
	var fanout []Target
	err := s.view(ctx, func(rd snap) error {
		recipientCopy, e, err := s.authorizeCopy(rd, pod, sender, parties)
		if err != nil || !recipientCopy {
			return err
		}
		fanout, err = s.forwardTargets(ctx, rd, e, pod, rc.Topic, sender)
		return err
	})
	if err != nil {
		return Received{}, err
	}
	var res Received
	err = s.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var err error
		res.Item, res.Added, err = s.cfg.Inboxes.Append(tx, inbox.Copy{Inbox: own, EventID: rc.ID, Body: doc, Sender: sentBy}, now)
		if err != nil || !res.Added {
			return err
		}
		for _, t := range fanout {
			if t.Kind == deliver.KindInbox {
				if _, _, err := s.cfg.Inboxes.Append(tx, inbox.Copy{Inbox: t.Target, EventID: rc.ID, Body: doc, Sender: sentBy}, now); err != nil && !errors.Is(err, inbox.ErrNoInbox) {
					return err
				}
				continue
			}
			// Subscribers on other servers and webhooks: pod's own
			// deliveries of the copy it now holds.
			if _, err := s.cfg.Queue.Enqueue(tx, deliver.Record{
				Kind: t.Kind, Pod: pod, Event: res.Item, EventID: rc.ID, Target: t.Target, Via: pod, Created: now,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, inbox.ErrNoInbox) {
		return Received{}, errNoPod
	}
	if err != nil {
		return Received{}, fmt.Errorf("publish: receive into %s: %w", own, err)
	}
	return res, nil
}

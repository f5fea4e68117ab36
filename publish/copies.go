package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/store"
)

// One rule decides whether an agent may put an event copy into a pod's
// inbox, whichever way the copy arrives: signed by another server
// (ReceiveRemote) or POSTed by a local agent with an API key or a token
// (CheckCopy, called by the inbox handler). A notification that names a
// recipient or a topic is an event copy and needs both; one that names
// neither is a plain notification, stored as sent without this check.
//
//   - A recipient copy (its recipient or source is the receiving pod's
//     WebID) needs a "publishes" item for the sender in the receiving
//     pod's settings/subscriptions, as publishing does (DESIGN section 2).
//   - Any other copy is a subscriber copy: forwarded by the pod of its
//     recipient or source (the sender is that WebID; a pod forwards what
//     its own settings route, see Target.Via), or sent by an agent whose
//     recipient, a pod of this server, lets it publish the topic.
//
// Both refusals are the seed's 403 (MsgNotAuthorized), naming the pod whose
// permission is missing.

// copyParties are the members of a notification that make it an event
// copy.
type copyParties struct {
	Recipient string `json:"recipient"`
	Source    string `json:"source"`
	Topic     string `json:"topic"`
}

// eventCopy reports whether the notification is an event copy.
func (c copyParties) eventCopy() bool { return c.Recipient != "" || c.Topic != "" }

var errCopyFields = apierr.New(http.StatusBadRequest, MsgCopyFields)

// authorizeCopy checks, under the settings as of rd, that sender may put
// the notification c into pod's inbox. For a recipient copy it returns
// recipientCopy true and pod's settings, whose subscribers get the copy
// too.
func (s *Service) authorizeCopy(rd snap, pod, sender string, c copyParties) (recipientCopy bool, e *subsEntry, err error) {
	if !c.eventCopy() {
		return false, nil, nil
	}
	if c.Recipient == "" || c.Topic == "" {
		return false, nil, errCopyFields
	}
	me := s.cfg.URLs.WebID(pod)
	if c.Recipient == me || c.Source == me {
		e, exists, err := s.settings.subscriptions(rd, pod)
		if err != nil {
			return false, nil, err
		}
		if !exists {
			return false, nil, errNoPod
		}
		if !e.subs.CanPublish(sender, c.Topic) {
			return false, nil, apierr.Newf(http.StatusForbidden, MsgNotAuthorized, me, c.Topic)
		}
		return true, e, nil
	}
	if sender == c.Recipient || (c.Source != "" && sender == c.Source) {
		return false, nil, nil
	}
	if p := s.settings.podOf(c.Recipient); p != "" {
		e, exists, err := s.settings.subscriptions(rd, p)
		if err != nil {
			return false, nil, err
		}
		if exists && e.subs.CanPublish(sender, c.Topic) {
			return false, nil, nil
		}
	}
	return false, nil, apierr.Newf(http.StatusForbidden, MsgNotAuthorized, c.Recipient, c.Topic)
}

// CheckCopy applies the event copy rule above to a notification (body, a
// JSON object) that sender, a local agent, POSTs to pod's inbox: nil for a
// plain notification and for a copy sender may deliver; a 400 for a copy
// without a recipient or topic (or with one that is not a string); the
// seed's 403 otherwise. A copy that passes is stored in that inbox only: it
// is not handed to the pod's subscribers.
func (s *Service) CheckCopy(ctx context.Context, pod, sender string, body []byte) error {
	var c copyParties
	if err := json.Unmarshal(body, &c); err != nil {
		return errCopyFields
	}
	if !c.eventCopy() {
		return nil
	}
	return s.view(ctx, func(rd snap) error {
		_, _, err := s.authorizeCopy(rd, pod, sender, c)
		return err
	})
}

// Forwards returns where pod's own settings send stored, an event (or an
// event copy) whose recipient or source is pod's WebID, as of rd: pod's
// subscribers' inboxes, subscribers on other servers and webhooks, each
// with Via pod (pod's own deliveries; see Target.Owner). It is nil when
// pod is neither the event's recipient nor its source. As receiving does,
// it first checks that pod's settings let the event's agent publish its
// topic: an *apierr.Error with MsgNotAuthorized (403) when not.
func (s *Service) Forwards(ctx context.Context, rd store.Reader, pod string, stored []byte) ([]Target, error) {
	var ev struct {
		copyParties
		Agent string `json:"agent"`
	}
	if err := json.Unmarshal(stored, &ev); err != nil {
		return nil, fmt.Errorf("publish: stored event: %w", err)
	}
	me := s.cfg.URLs.WebID(pod)
	if ev.Topic == "" || (ev.Recipient != me && ev.Source != me) {
		return nil, nil
	}
	e, exists, err := s.settings.subscriptions(snap{Reader: rd}, pod)
	if err != nil || !exists {
		return nil, err
	}
	if !e.subs.CanPublish(ev.Agent, ev.Topic) {
		return nil, apierr.Newf(http.StatusForbidden, MsgNotAuthorized, me, ev.Topic)
	}
	return s.forwardTargets(ctx, rd, e, pod, ev.Topic, ev.Agent)
}

// forwardTargets lists where pod, holding a copy of an event of topic
// published by agent, forwards it under its settings e: its subscriber
// targets, without its own inbox and without agent itself.
func (s *Service) forwardTargets(ctx context.Context, rd store.Reader, e *subsEntry, pod, topic, agent string) ([]Target, error) {
	own := inbox.Path(pod)
	var out []Target
	err := s.eachSubscriberTarget(ctx, rd, e, pod, topic, func(t Target) {
		if (t.Kind == deliver.KindInbox && t.Target == own) || (t.Kind == deliver.KindLDN && t.Target == agent) {
			return
		}
		out = append(out, t)
	})
	return out, err
}

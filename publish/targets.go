package publish

import (
	"encoding/json"
	"fmt"
	"net/http"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/store"
)

// Target is one place a stored event is delivered to under the current
// settings.
type Target struct {
	// Kind is deliver.KindInbox, deliver.KindLDN or deliver.KindWebhook.
	Kind string
	// Target is the inbox's storage path (KindInbox), the WebID
	// (KindLDN) or the webhook URL (KindWebhook).
	Target string
	// Via is, for a webhook, the pod whose settings/subscriptions name it.
	Via string
}

// Targets returns the targets of stored (the body of an event of pod's
// publish/) under the settings as of rd: the recipient's and source's
// inboxes and their subscribers', local, on other servers and webhooks,
// recipient's first. As publishing does, it first checks that pod may
// publish the event's topic to its recipient and source: an *apierr.Error
// with MsgNotAuthorized (403) when not, and one with MsgNotLocal (409) when
// a party is not a pod here and cannot be delivered to elsewhere.
func (s *Service) Targets(rd store.Reader, pod string, stored []byte) ([]Target, error) {
	var ev struct {
		Recipient string `json:"recipient"`
		Source    string `json:"source"`
		Topic     string `json:"topic"`
	}
	if err := json.Unmarshal(stored, &ev); err != nil {
		return nil, fmt.Errorf("publish: stored event: %w", err)
	}
	// The caller's snapshot was taken before any generation this could
	// load now, so it is stamped with the oldest: what it reads is cached
	// as stale unless no settings changed since start.
	return s.targets(snap{Reader: rd}, ev.Recipient, ev.Source, ev.Topic, s.cfg.Pods.WebID(pod), func(field, webID string) error {
		return apierr.Newf(http.StatusConflict, MsgNotLocal, field, webID)
	})
}

// targets authorizes agent to publish topic to recipient and source (either
// may be "") under the settings as of rd and lists where the event goes:
// for each party in turn, a party on another server (KindLDN), or the
// party's inbox followed by its settings' local subscribers (KindInbox),
// remote subscribers (KindLDN) and webhooks (KindWebhook); each target once.
// A party that is not a pod here and cannot be delivered to elsewhere gets
// the error notLocal makes; a topic the party does not let agent publish,
// an *apierr.Error with MsgNotAuthorized (403).
func (s *Service) targets(rd snap, recipient, source, topic, agent string, notLocal func(field, webID string) error) ([]Target, error) {
	var out []Target
	add := func(t Target) {
		for _, x := range out {
			if x.Kind == t.Kind && x.Target == t.Target {
				return
			}
		}
		out = append(out, t)
	}
	parties := [2]struct{ field, webID string }{{"recipient", recipient}, {"source", source}}
	for _, party := range parties {
		if party.webID == "" {
			continue
		}
		p := s.settings.podOf(party.webID)
		if p == "" {
			if s.isRemote(party.webID) {
				// The receiving server checks its own settings.
				add(Target{Kind: deliver.KindLDN, Target: party.webID})
				continue
			}
			return nil, notLocal(party.field, party.webID)
		}
		e, exists, err := s.settings.subscriptions(rd, p)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, notLocal(party.field, party.webID)
		}
		if !e.subs.CanPublish(agent, topic) {
			return nil, apierr.Newf(http.StatusForbidden, MsgNotAuthorized, party.webID, topic)
		}
		add(Target{Kind: deliver.KindInbox, Target: inbox.Path(p)})
		for _, t := range s.settings.subscribers(e, topic) {
			add(Target{Kind: deliver.KindInbox, Target: t})
		}
		if s.cfg.Remote {
			for _, w := range s.settings.remoteSubscribers(e, topic) {
				add(Target{Kind: deliver.KindLDN, Target: w})
			}
			for _, it := range s.settings.webhooks(e, topic) {
				add(Target{Kind: deliver.KindWebhook, Target: it.Target, Via: p})
			}
		}
	}
	return out, nil
}

package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/podurl"
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
	// Via is the pod whose settings/subscriptions route the event here (a
	// subscriber's inbox, a subscriber on another server or a webhook),
	// or "" for the recipient and source themselves, the targets the
	// publisher addressed. A delivery belongs to the pod whose settings
	// caused it (DESIGN section 2): see Owner.
	Via string
}

// Owner returns the pod whose outbox holds the delivery to t of an event
// published by publisher: the pod whose settings routed it, else the
// publisher.
func (t Target) Owner(publisher string) string {
	if t.Via != "" {
		return t.Via
	}
	return publisher
}

// Targets returns the targets of stored (the body of an event of pod's
// publish/) under the settings as of rd: the recipient's and source's
// inboxes (or WebIDs on other servers), then their subscribers', local, on
// other servers and webhooks. As publishing does, it first checks that pod
// may publish the event's topic to its recipient and source: an
// *apierr.Error with MsgNotAuthorized (403) when not, and one with
// MsgNotLocal (409) when a party is not a pod here and cannot be delivered
// to elsewhere.
func (s *Service) Targets(ctx context.Context, rd store.Reader, pod string, stored []byte) ([]Target, error) {
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
	return s.targets(ctx, snap{Reader: rd}, ev.Recipient, ev.Source, ev.Topic, s.cfg.URLs.WebID(pod), func(msg string) error {
		return apierr.New(http.StatusConflict, msg)
	})
}

// targets authorizes agent to publish topic to recipient and source (either
// may be "") under the settings as of rd and lists where the event goes:
// first the parties themselves, each a party on another server (KindLDN)
// or the party's inbox (KindInbox); then, for each local party in turn, its
// settings' local subscribers (KindInbox), remote subscribers (KindLDN) and
// webhooks (KindWebhook), with Via the party's pod. Each target is listed
// once, under the first route that reaches it, so a party's inbox is never
// taken for another party's subscriber. A party that is not a pod here and
// cannot be delivered to elsewhere gets the error notLocal makes; a topic
// the party does not let agent publish, an *apierr.Error with
// MsgNotAuthorized (403); a party's inbox whose ACL does not let agent
// append, one with MsgInboxRefused (403). Subscribers' inboxes whose ACL
// does not let the routing pod append are left out (inboxTargets).
func (s *Service) targets(ctx context.Context, rd snap, recipient, source, topic, agent string, notLocal func(msg string) error) ([]Target, error) {
	var out []Target
	// seen indexes out once it is long (a topic with thousands of
	// subscribers): a linear search per target would make routing
	// quadratic in the fan-out.
	var seen map[kindTarget]struct{}
	add := func(t Target) {
		if seen == nil {
			for _, x := range out {
				if x.Kind == t.Kind && x.Target == t.Target {
					return
				}
			}
			out = append(out, t)
			if len(out) >= linearBound {
				seen = make(map[kindTarget]struct{}, 2*len(out))
				for _, x := range out {
					seen[kindTarget{x.Kind, x.Target}] = struct{}{}
				}
			}
			return
		}
		k := kindTarget{t.Kind, t.Target}
		if _, dup := seen[k]; dup {
			return
		}
		seen[k] = struct{}{}
		out = append(out, t)
	}
	var routed [2]*subsEntry
	var pods [2]string
	parties := [2]struct{ field, webID string }{{"recipient", recipient}, {"source", source}}
	for i, party := range parties {
		if party.webID == "" {
			continue
		}
		p := s.settings.podOf(party.webID)
		if p == "" {
			if msg := s.notAWebIDHere(party.field, party.webID); msg != "" {
				return nil, notLocal(msg)
			}
			if s.isRemote(party.webID) {
				// The receiving server checks its own settings.
				add(Target{Kind: deliver.KindLDN, Target: party.webID})
				continue
			}
			return nil, notLocal(fmt.Sprintf(MsgNotLocal, party.field, party.webID))
		}
		e, exists, err := s.settings.subscriptions(rd, p)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, notLocal(fmt.Sprintf(MsgNoSuchPod, party.field, party.webID, p))
		}
		if !e.subs.CanPublish(agent, topic) {
			return nil, apierr.Newf(http.StatusForbidden, MsgNotAuthorized, party.webID, topic)
		}
		if s.cfg.InboxACL != nil {
			ok, err := s.cfg.InboxACL.MayAppend(ctx, rd, inbox.Path(p), agent)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, apierr.Newf(http.StatusForbidden, MsgInboxRefused, party.field, party.webID, agent)
			}
		}
		add(Target{Kind: deliver.KindInbox, Target: inbox.Path(p)})
		routed[i], pods[i] = e, p
	}
	if routed[0] != nil && routed[1] != nil {
		// Both parties route: their lists may share targets.
		for i, e := range routed {
			if err := s.eachSubscriberTarget(ctx, rd, e, pods[i], topic, add); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for i, e := range routed {
		if e != nil {
			var err error
			if out, err = s.appendSubscriberTargets(ctx, rd, out, e, pods[i], topic); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// appendSubscriberTargets appends to parties (the recipient's and
// source's own targets, none twice) the places the settings e of pod send
// an event of topic to, as eachSubscriberTarget does, each once. Each of
// the plan's lists holds no target twice, so only the few parties' targets
// are looked for in them: no set is built per publish, and the inbox
// targets, made once per plan, are copied in one go.
func (s *Service) appendSubscriberTargets(ctx context.Context, rd store.Reader, parties []Target, e *subsEntry, pod, topic string) ([]Target, error) {
	p := s.settings.plan(e, topic)
	v, err := s.inboxTargets(ctx, rd, p, pod)
	if err != nil {
		return nil, err
	}
	out := parties
	isParty := func(kind, target string) bool {
		for _, t := range parties {
			if t.Kind == kind && t.Target == target {
				return true
			}
		}
		return false
	}
	ts := v.targets
	filter := false
	for _, t := range parties {
		if t.Kind == deliver.KindInbox && slices.Contains(v.local, t.Target) {
			filter = true
		}
	}
	if filter {
		for _, t := range ts {
			if !isParty(t.Kind, t.Target) {
				out = append(out, t)
			}
		}
	} else {
		out = append(out, ts...)
	}
	if s.cfg.Remote {
		for _, w := range p.remote {
			if !isParty(deliver.KindLDN, w) {
				out = append(out, Target{Kind: deliver.KindLDN, Target: w, Via: pod})
			}
		}
		for _, it := range p.hooks {
			out = append(out, Target{Kind: deliver.KindWebhook, Target: it.Target, Via: pod})
		}
	}
	return out, nil
}

// inboxTargets returns the local inboxes of plan p (of pod's settings)
// whose ACL lets pod append, decided once per ACL generation: an inbox
// whose owner does not let pod append gets no copies through pod's
// settings, as a server receiving them over LDN would refuse them.
func (s *Service) inboxTargets(ctx context.Context, rd store.Reader, p *topicPlan, pod string) (*inboxView, error) {
	var gen uint64
	if s.cfg.InboxACL != nil {
		gen = s.cfg.InboxACL.Generation()
	}
	if v := p.inboxes.Load(); v != nil && v.gen == gen {
		return v, nil
	}
	v := &inboxView{gen: gen, local: p.local}
	if s.cfg.InboxACL != nil {
		agent := s.cfg.URLs.WebID(pod)
		v.local = make([]string, 0, len(p.local))
		var refused []string
		for _, ib := range p.local {
			ok, err := s.cfg.InboxACL.MayAppend(ctx, rd, ib, agent)
			if err != nil {
				return nil, err
			}
			if ok {
				v.local = append(v.local, ib)
			} else {
				refused = append(refused, ib)
			}
		}
		if len(refused) > 0 {
			s.cfg.Logger.Warn("subscribers' inboxes refuse copies routed by this pod: their ACLs do not let it append",
				"pod", pod, "refused", len(refused), "first", refused[0])
		}
	}
	v.targets = make([]Target, len(v.local))
	for i, ib := range v.local {
		v.targets[i] = Target{Kind: deliver.KindInbox, Target: ib, Via: pod}
	}
	p.inboxes.Store(v)
	return v, nil
}

// linearBound is the list length past which duplicates are found with a
// map rather than by searching the list.
const linearBound = 32

// kindTarget identifies a Target for deduplication.
type kindTarget struct{ kind, target string }

// eachSubscriberTarget calls fn with each place the settings e of pod send
// an event of topic to besides the pod's own inbox: its local subscribers'
// inboxes and, with Config.Remote, its subscribers on other servers and
// its webhooks, each with Via pod.
func (s *Service) eachSubscriberTarget(ctx context.Context, rd store.Reader, e *subsEntry, pod, topic string, fn func(Target)) error {
	v, err := s.inboxTargets(ctx, rd, s.settings.plan(e, topic), pod)
	if err != nil {
		return err
	}
	for _, t := range v.targets {
		fn(t)
	}
	if s.cfg.Remote {
		for _, w := range s.settings.remoteSubscribers(e, topic) {
			fn(Target{Kind: deliver.KindLDN, Target: w, Via: pod})
		}
		for _, it := range s.settings.webhooks(e, topic) {
			fn(Target{Kind: deliver.KindWebhook, Target: it.Target, Via: pod})
		}
	}
	return nil
}

// notAWebIDHere returns the message for a party URL that names this
// server (by its host or an alias) but is not the WebID of a pod, saying
// what the WebID would be; "" for any other URL.
func (s *Service) notAWebIDHere(field, u string) string {
	if !s.cfg.URLs.OnServer(u) {
		return ""
	}
	if pod, _, ok := s.cfg.URLs.PodOfURL(u); ok {
		return fmt.Sprintf(MsgNotWebID, field, u, s.cfg.URLs.WebID(pod))
	}
	// A pod's root without its slash, or no pod at all.
	if pu, err := url.Parse(u); err == nil {
		if name, _, _ := strings.Cut(strings.TrimPrefix(pu.Path, "/"), "/"); podurl.ValidName(name) && s.cfg.URLs.Mode() == podurl.ModePath {
			return fmt.Sprintf(MsgNotWebID, field, u, s.cfg.URLs.WebID(name))
		}
	}
	return fmt.Sprintf(MsgNotPodURL, field, u, s.cfg.URLs.WebID("NAME"))
}

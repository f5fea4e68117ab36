package publish

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"podserver/acl"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// Settings documents of a pod that publishing reads.
const (
	subscriptionsRel = "settings/subscriptions"
	publishRel       = "settings/publish"
)

// The caches below keep what was parsed from a pod's settings documents,
// keyed by the document's version (ldp Meta.Version, the store sequence of
// its last write). Every publish reads the current record in its snapshot
// and re-parses only when the version differs, so a change takes effect on
// the next publish, and the caches never need invalidating. Entries are
// replaced, never mutated, except an entry's topic plans, which are
// computed from that same version and guarded by their own lock.

// maxCached bounds each cache; past it the cache is emptied (settings are
// cheap to parse again).
const maxCached = 100000

// maxPlans bounds the topic plans kept per pod.
const maxPlans = 1024

// subsEntry is a parsed settings/subscriptions document.
type subsEntry struct {
	version uint64
	subs    *acl.Subscriptions // nil: no valid document, nothing allowed

	mu    sync.Mutex
	plans map[string][]string // topic -> subscriber inbox paths
}

// limitsEntry is a parsed settings/publish document.
type limitsEntry struct {
	version uint64
	limits  Limits
}

// settingsCache caches parsed settings per pod.
type settingsCache struct {
	pods Pods
	log  *slog.Logger

	mu     sync.RWMutex
	subs   map[string]*subsEntry
	limits map[string]limitsEntry
	webids map[string]string // WebID -> local pod name, "" when not local
	// known holds containers (inbox/, publish/) seen to exist. Pods and
	// these containers are never deleted, so a positive answer stays true.
	known map[string]bool
}

func newSettingsCache(pods Pods, log *slog.Logger) *settingsCache {
	return &settingsCache{
		pods:   pods,
		log:    log,
		subs:   map[string]*subsEntry{},
		limits: map[string]limitsEntry{},
		webids: map[string]string{},
		known:  map[string]bool{},
	}
}

// podOf returns the pod of this server whose owner's WebID is webID, or ""
// when webID is not the WebID of a pod here (the pod may still not exist).
func (c *settingsCache) podOf(webID string) string {
	c.mu.RLock()
	pod, ok := c.webids[webID]
	c.mu.RUnlock()
	if ok {
		return pod
	}
	pod, rel, ok := c.pods.PodOfURL(webID)
	if !ok || rel != "profile/card" || c.pods.WebID(pod) != webID {
		pod = ""
	}
	c.mu.Lock()
	if len(c.webids) >= maxCached {
		clear(c.webids)
	}
	c.webids[webID] = pod
	c.mu.Unlock()
	return pod
}

// inboxOf returns the inbox storage path a subscription item delivers to,
// or "" when it is not a local pod inbox (a webhook or another server:
// see webhooks and remoteSubscribers).
func (c *settingsCache) inboxOf(it acl.SubscriptionItem) string {
	if it.Target != "" {
		pod, rel, ok := c.pods.PodOfURL(it.Target)
		if !ok || rel != "inbox/" {
			return ""
		}
		return inbox.Path(pod)
	}
	if pod := c.podOf(it.Agent); pod != "" {
		return inbox.Path(pod)
	}
	return ""
}

// subscriptions returns pod's parsed settings/subscriptions as of rd.
// exists is false when pod does not exist.
func (c *settingsCache) subscriptions(rd store.Reader, pod string) (e *subsEntry, exists bool, err error) {
	res, err := ldp.Get(rd, ldp.StoragePath(pod, subscriptionsRel))
	if errors.Is(err, ldp.ErrNotFound) {
		ok, err := ldp.PodExists(rd, pod)
		return &subsEntry{}, ok, err
	}
	if err != nil {
		return nil, false, err
	}
	c.mu.RLock()
	e = c.subs[pod]
	c.mu.RUnlock()
	if e != nil && e.version == res.Meta.Version {
		return e, true, nil
	}
	e = &subsEntry{version: res.Meta.Version, plans: map[string][]string{}}
	if e.subs, err = acl.ParseSubscriptions(res.Body); err != nil {
		// The pod validates the document on every write, so this is a
		// document from an older format: it allows nothing.
		c.log.Warn("publish: unreadable settings/subscriptions: it allows nothing", "pod", pod, "err", err)
		e.subs = nil
	}
	c.mu.Lock()
	if len(c.subs) >= maxCached {
		clear(c.subs)
	}
	c.subs[pod] = e
	c.mu.Unlock()
	return e, true, nil
}

// subscribers returns the local inboxes subscribed to topic in e.
func (c *settingsCache) subscribers(e *subsEntry, topic string) []string {
	if e.subs == nil {
		return nil
	}
	e.mu.Lock()
	p, ok := e.plans[topic]
	e.mu.Unlock()
	if ok {
		return p
	}
	for _, it := range e.subs.Subscribers(topic) {
		if ib := c.inboxOf(it); ib != "" {
			p = appendUnique(p, ib)
		}
	}
	e.mu.Lock()
	if len(e.plans) >= maxPlans {
		clear(e.plans)
	}
	e.plans[topic] = p
	e.mu.Unlock()
	return p
}

// remoteSubscribers returns the WebIDs subscribed to topic in e that are
// not on this server (items without a target; webhook targets are not
// delivered yet).
func (c *settingsCache) remoteSubscribers(e *subsEntry, topic string) []string {
	if e.subs == nil {
		return nil
	}
	var out []string
	for _, it := range e.subs.Subscribers(topic) {
		if it.Target != "" || it.Agent == "" {
			continue
		}
		if _, _, local := c.pods.PodOfURL(it.Agent); local {
			continue
		}
		out = appendUnique(out, it.Agent)
	}
	return out
}

// webhooks returns the subscription items of e for topic that deliver to a
// target other than a pod inbox of this server: webhooks.
func (c *settingsCache) webhooks(e *subsEntry, topic string) []acl.SubscriptionItem {
	if e.subs == nil {
		return nil
	}
	var out []acl.SubscriptionItem
	for _, it := range e.subs.Subscribers(topic) {
		if it.Target != "" && c.inboxOf(it) == "" {
			out = append(out, it)
		}
	}
	return out
}

// publishSettings is the JSON form of settings/publish.
type publishSettings struct {
	MaxDataBytes int    `json:"maxDataBytes"`
	DataKeys     string `json:"dataKeys"`
}

// maxDataLimit bounds what settings/publish may allow.
const maxDataLimit = 1 << 20

// limitsOf returns pod's publish limits as of rd.
func (c *settingsCache) limitsOf(rd store.Reader, pod string) (Limits, error) {
	res, err := ldp.Get(rd, ldp.StoragePath(pod, publishRel))
	if errors.Is(err, ldp.ErrNotFound) {
		return DefaultLimits, nil
	}
	if err != nil {
		return Limits{}, err
	}
	c.mu.RLock()
	e, ok := c.limits[pod]
	c.mu.RUnlock()
	if ok && e.version == res.Meta.Version {
		return e.limits, nil
	}
	lim := DefaultLimits
	var ps publishSettings
	if err := json.Unmarshal(res.Body, &ps); err != nil {
		c.log.Warn("publish: unreadable settings/publish: using the defaults", "pod", pod, "err", err)
	} else {
		if ps.MaxDataBytes > 0 {
			lim.MaxDataBytes = min(ps.MaxDataBytes, maxDataLimit)
		}
		lim.SnakeCaseKeys = ps.DataKeys == "snake_case"
	}
	c.mu.Lock()
	if len(c.limits) >= maxCached {
		clear(c.limits)
	}
	c.limits[pod] = limitsEntry{version: res.Meta.Version, limits: lim}
	c.mu.Unlock()
	return lim, nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// exists reports whether the container at path exists, remembering a yes.
func (c *settingsCache) exists(rd store.Reader, path string) (bool, error) {
	c.mu.RLock()
	ok := c.known[path]
	c.mu.RUnlock()
	if ok {
		return true, nil
	}
	ok, err := ldp.Exists(rd, path)
	if err != nil || !ok {
		return false, err
	}
	c.mu.Lock()
	if len(c.known) >= maxCached {
		clear(c.known)
	}
	c.known[path] = true
	c.mu.Unlock()
	return true, nil
}

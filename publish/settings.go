package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"podserver/acl"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/store"
)

// Settings documents of a pod that publishing reads.
const (
	subscriptionsRel = "settings/subscriptions"
	publishRel       = "settings/publish"
)

// The caches below keep what was parsed from a pod's settings documents.
//
// With a watch (Config.Watch: NewSettingsWatch, following the store's
// change feed as store.Watch describes), an entry is used without any read
// while no settings document changed since the generation the entry was
// read under: every publish first loads the watch's generation, then takes
// its snapshot (see Service.view), and an entry filled from a snapshot is
// stamped with the generation loaded before it. A settings write that
// commits after that snapshot bumps the generation once it is durable and
// before its writer is answered, so the entry is stale from then on, and a
// publish that starts after the write's 2xx reads the new document. A
// change takes effect on the next publish.
//
// Without a watch, or when the generation moved, the document's record is
// read in the snapshot and parsed again only when its version (ldp
// Meta.Version, the store sequence of its last write) differs from the
// entry's. Entries are replaced, never mutated, except an entry's topic
// plans, which are computed from that same version and guarded by their own
// lock; an entry that replaces one of the same version keeps its plans.

// NewSettingsWatch returns the store.Watch that a Service's caches follow
// (Config.Watch): it advances on every durable write or delete of a
// settings document. Feed it the store's change feed (store.Options.OnChange
// with store.PrefixResource among the ChangePrefixes) from before the first
// publish.
func NewSettingsWatch() *store.Watch { return store.NewWatch(SettingsChanged) }

// SettingsChanged reports whether ch wrote or deleted a settings document
// (anything under a pod's settings/, or a pod root).
func SettingsChanged(ch store.Change) bool {
	path, ok := bytes.CutPrefix(ch.Key, []byte(store.PrefixResource))
	if !ok {
		return false
	}
	_, rel := ldp.SplitStoragePath(string(path))
	return rel == "" || strings.HasPrefix(rel, "settings/")
}

// snap is a read snapshot together with the settings generation loaded
// before it was taken (see Service.view).
type snap struct {
	store.Reader
	gen uint64
}

// maxCached bounds each cache; past it the cache is emptied (settings are
// cheap to parse again).
const maxCached = 100000

// maxPlans bounds the topic plans kept per pod.
const maxPlans = 1024

// subsEntry is a parsed settings/subscriptions document.
type subsEntry struct {
	version uint64
	gen     uint64             // the watch's generation it was read under
	subs    *acl.Subscriptions // nil: no valid document, nothing allowed

	plans *planSet
}

// planSet holds the topic plans of one version of a settings document.
type planSet struct {
	mu sync.Mutex
	m  map[string]*topicPlan
}

// limitsEntry is a parsed settings/publish document.
type limitsEntry struct {
	version uint64
	gen     uint64
	limits  Limits
}

// settingsCache caches parsed settings per pod.
type settingsCache struct {
	urls  podurl.Scheme
	log   *slog.Logger
	watch *store.Watch // nil: check every document's version

	mu     sync.RWMutex
	subs   map[string]*subsEntry
	limits map[string]limitsEntry
	webids map[string]string // WebID -> local pod name, "" when not local
	// known holds containers (inbox/, publish/) seen to exist. Pods and
	// these containers are never deleted, so a positive answer stays true.
	known map[string]bool
}

func newSettingsCache(urls podurl.Scheme, log *slog.Logger, watch *store.Watch) *settingsCache {
	return &settingsCache{
		urls:   urls,
		log:    log,
		watch:  watch,
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
	pod, ok = c.urls.PodOfWebID(webID)
	if !ok {
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
		pod, rel, ok := c.urls.PodOfURL(it.Target)
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

// generation returns the watch's current generation (0 without a watch).
func (c *settingsCache) generation() uint64 {
	if c.watch == nil {
		return 0
	}
	return c.watch.Generation()
}

// fresh reports whether an entry read under generation gen is still
// current without reading its document.
func (c *settingsCache) fresh(gen uint64) bool {
	return c.watch != nil && c.watch.Current(gen)
}

// subscriptions returns pod's parsed settings/subscriptions as of v (or
// newer). exists is false when pod does not exist.
func (c *settingsCache) subscriptions(v snap, pod string) (e *subsEntry, exists bool, err error) {
	c.mu.RLock()
	old := c.subs[pod]
	c.mu.RUnlock()
	if old != nil && c.fresh(old.gen) {
		return old, true, nil
	}
	res, err := ldp.Get(v, ldp.StoragePath(pod, subscriptionsRel))
	if errors.Is(err, ldp.ErrNotFound) {
		ok, err := ldp.PodExists(v, pod)
		if err != nil || !ok {
			return &subsEntry{}, ok, err
		}
		// A pod without the document allows nothing; version 0 is no
		// document's version.
		res = &ldp.Resource{}
	} else if err != nil {
		return nil, false, err
	}
	e = &subsEntry{version: res.Meta.Version, gen: v.gen, plans: &planSet{m: map[string]*topicPlan{}}}
	switch {
	case old != nil && old.version == res.Meta.Version:
		// The same document: its plans hold (they depend on it and on
		// the server's URLs only), so a topic with 10,000 subscribers is
		// not planned again after every settings write elsewhere.
		e.subs, e.plans = old.subs, old.plans
	case res.Meta.Version == 0:
	default:
		if e.subs, err = acl.ParseSubscriptions(res.Body); err != nil {
			// The pod validates the document on every write, so this is a
			// document from an older format: it allows nothing.
			c.log.Warn("publish: unreadable settings/subscriptions: it allows nothing", "pod", pod, "err", err)
			e.subs = nil
		}
	}
	c.mu.Lock()
	if len(c.subs) >= maxCached {
		clear(c.subs)
	}
	c.subs[pod] = e
	c.mu.Unlock()
	return e, true, nil
}

// topicPlan is where the subscription items of one settings document send
// an event of one topic.
type topicPlan struct {
	// local holds the subscribed inboxes of this server (storage paths).
	local []string
	// remote holds the subscribed WebIDs on other servers (items without
	// a target).
	remote []string
	// hooks holds the items whose target is not a pod inbox of this
	// server: webhooks, one per target.
	hooks []acl.SubscriptionItem

	// inboxes holds the local inboxes that let the document's pod
	// append, as targets, for the ACL generation they were decided under
	// (see Service.inboxTargets): an event to 10,000 subscribers copies
	// them instead of deciding and making them again.
	inboxes atomic.Pointer[inboxView]
}

// inboxView is the part of a plan's local inboxes whose ACL lets the
// plan's pod append, decided under ACL generation gen.
type inboxView struct {
	gen     uint64
	local   []string // storage paths
	targets []Target // the same, as KindInbox targets via the pod
}

// plan returns the topic plan of e for topic, computed once per entry.
func (c *settingsCache) plan(e *subsEntry, topic string) *topicPlan {
	if e.subs == nil {
		return &topicPlan{}
	}
	e.plans.mu.Lock()
	p, ok := e.plans.m[topic]
	e.plans.mu.Unlock()
	if ok {
		return p
	}
	p = &topicPlan{}
	// One pass over the items with a set per list: computing the plan of
	// a topic with 10,000 subscribers stays linear.
	seen := map[string]struct{}{}
	add := func(list []string, kind byte, s string) []string {
		k := string(kind) + s
		if _, dup := seen[k]; dup {
			return list
		}
		seen[k] = struct{}{}
		return append(list, s)
	}
	for _, it := range e.subs.Subscribers(topic) {
		if ib := c.inboxOf(it); ib != "" {
			p.local = add(p.local, 'l', ib)
			continue
		}
		switch {
		case it.Target != "":
			if _, dup := seen["w"+it.Target]; !dup {
				seen["w"+it.Target] = struct{}{}
				p.hooks = append(p.hooks, it)
			}
		case it.Agent != "":
			if _, _, local := c.urls.PodOfURL(it.Agent); !local {
				p.remote = add(p.remote, 'r', it.Agent)
			}
		}
	}
	e.plans.mu.Lock()
	if len(e.plans.m) >= maxPlans {
		clear(e.plans.m)
	}
	e.plans.m[topic] = p
	e.plans.mu.Unlock()
	return p
}

// remoteSubscribers returns the WebIDs subscribed to topic in e that are
// not on this server.
func (c *settingsCache) remoteSubscribers(e *subsEntry, topic string) []string {
	return c.plan(e, topic).remote
}

// webhooks returns the subscription items of e for topic that deliver to a
// target other than a pod inbox of this server: webhooks.
func (c *settingsCache) webhooks(e *subsEntry, topic string) []acl.SubscriptionItem {
	return c.plan(e, topic).hooks
}

// publishSettings is the JSON form of settings/publish.
type publishSettings struct {
	MaxDataBytes int    `json:"maxDataBytes"`
	DataKeys     string `json:"dataKeys"`
}

// maxDataLimit bounds what settings/publish may allow.
const maxDataLimit = 1 << 20

// limitsOf returns pod's publish limits as of v (or newer).
func (c *settingsCache) limitsOf(v snap, pod string) (Limits, error) {
	c.mu.RLock()
	e, ok := c.limits[pod]
	c.mu.RUnlock()
	if ok && c.fresh(e.gen) {
		return e.limits, nil
	}
	res, err := ldp.Get(v, ldp.StoragePath(pod, publishRel))
	if errors.Is(err, ldp.ErrNotFound) {
		res = &ldp.Resource{} // no document: the defaults, version 0
	} else if err != nil {
		return Limits{}, err
	}
	if ok && e.version == res.Meta.Version {
		c.storeLimits(pod, limitsEntry{version: e.version, gen: v.gen, limits: e.limits})
		return e.limits, nil
	}
	lim := DefaultLimits()
	var ps publishSettings
	if res.Meta.Version == 0 {
		c.storeLimits(pod, limitsEntry{gen: v.gen, limits: lim})
		return lim, nil
	}
	if err := json.Unmarshal(res.Body, &ps); err != nil {
		c.log.Warn("publish: unreadable settings/publish: using the defaults", "pod", pod, "err", err)
	} else {
		if ps.MaxDataBytes > 0 {
			lim.MaxDataBytes = min(ps.MaxDataBytes, maxDataLimit)
		}
		lim.SnakeCaseKeys = ps.DataKeys == "snake_case"
	}
	c.storeLimits(pod, limitsEntry{version: res.Meta.Version, gen: v.gen, limits: lim})
	return lim, nil
}

func (c *settingsCache) storeLimits(pod string, e limitsEntry) {
	c.mu.Lock()
	if len(c.limits) >= maxCached {
		clear(c.limits)
	}
	c.limits[pod] = e
	c.mu.Unlock()
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

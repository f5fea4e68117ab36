package notify

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"podserver/ldp"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
)

// record is a channel as stored under store.PrefixChannel + "c" + ID. The
// topic is kept as a storage path, not a URL, so that channels outlive a
// change of the server's base URL; URLs are made when needed.
type record struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Pod and Path are the topic's pod and storage path.
	Pod  string `json:"pod"`
	Path string `json:"path"`
	// The creator: the principal of the subscription request. Read access
	// to the topic is checked with it before every notification.
	Agent  string `json:"agent,omitempty"`
	KeyPod string `json:"keyPod,omitempty"`
	App    string `json:"app,omitempty"`
	Owner  bool   `json:"owner,omitempty"`
	KeyID  string `json:"keyId,omitempty"`
	// ClientID is the creator's Solid-OIDC client id, for acl:client rules.
	ClientID string `json:"clientId,omitempty"`
	// Grant is what the creator's Solid-OIDC token of this server stands
	// on (ldp.Principal.Grant): the channel ends when it no longer does,
	// as it ends when the API key KeyID is revoked. A token of another
	// issuer bounds EndAt with its expiry instead.
	Grant  string `json:"grant,omitempty"`
	Origin string `json:"origin,omitempty"`
	// SendTo is the URL of push channels; Secret signs webhook requests.
	SendTo string `json:"sendTo,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Features.
	StartAt time.Time     `json:"startAt,omitzero"`
	EndAt   time.Time     `json:"endAt"`
	Rate    time.Duration `json:"rate,omitempty"`
	State   string        `json:"state,omitempty"`
	Accept  string        `json:"accept,omitempty"`
	// Media is the media type notifications are sent in.
	Media   string    `json:"media"`
	Created time.Time `json:"created"`
}

func (r *record) principal() ldp.Principal {
	return ldp.Principal{Agent: r.Agent, Pod: r.KeyPod, App: r.App, Owner: r.Owner, KeyID: r.KeyID, ClientID: r.ClientID, Grant: r.Grant}
}

// principalKey identifies what authorization depends on: channels with the
// same key get the same answer for the same topic, their credential
// included.
func (r *record) principalKey() string {
	return strings.Join([]string{creatorKey(r.principal()), r.Origin, r.KeyID, r.Grant}, "\x00")
}

// creatorKey identifies a creator as the channel list and the channel
// URLs match it: the agent, and which of its clients (the key's pod and
// app, owner or not, the Solid-OIDC client). Two keys of one app are one
// creator (a key replaced keeps its channels); an app key is not its
// pod's owner.
func creatorKey(pr ldp.Principal) string {
	owner := "0"
	if pr.Owner {
		owner = "1"
	}
	return strings.Join([]string{pr.Agent, pr.Pod, pr.App, owner, pr.ClientID}, "\x00")
}

// credentialKey identifies the credential the channel was made with, ""
// when nothing about it can be revoked (anonymous, another issuer's token).
func (r *record) credentialKey() string {
	switch {
	case r.KeyID != "":
		return "k\x00" + r.KeyPod + "\x00" + r.KeyID
	case r.Grant != "":
		return "g\x00" + r.Grant
	}
	return ""
}

// pushQuotaKey is what MaxPushChannelsPerAgent counts by: the topic's pod
// and the creator's agent.
func (r *record) pushQuotaKey() string { return r.Pod + "\x00" + r.Agent }

// byTopicPod reports whether the topic's pod made the channel itself: one
// of its keys, or its WebID logged in (webID is the pod's WebID). Only
// then do push notifications go out as the pod (signed with its key, the
// pod named as sender); anyone else's channel would make the pod a
// confused deputy, vouching for requests to URLs a third party chose.
func (r *record) byTopicPod(webID string) bool {
	return r.KeyPod == r.Pod || (r.Agent != "" && r.Agent == webID)
}

func channelKey(id string) []byte {
	return append([]byte(store.PrefixChannel+"c"), id...)
}

var channelPrefix = []byte(store.PrefixChannel + "c")

func decodeRecord(v []byte) (record, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("notify: corrupt channel record: %w", err)
	}
	if r.ID == "" || r.Path == "" {
		return r, fmt.Errorf("notify: channel record without id or topic")
	}
	return r, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns an unguessable channel id: it is also the capability that
// opens the channel's receiveFrom URL.
func newID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// validID reports whether s can be a channel id (it does not say one exists).
func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// sink is a live connection of a receiveFrom channel.
type sink interface {
	// send queues b without blocking; false means the sink is gone (closed,
	// or dropped because its queue was full).
	send(b []byte) bool
	// drop closes the sink, telling the client why when it can.
	drop(reason string)
	// known returns what the sink's receiver has been told of the
	// channel's topic (see join), nil for a sink that does not keep it.
	known() *knownState
}

// knownState is what a connection's receiver has been told of its
// channel's topic: the version of the topic (ldp.Meta.Version) it last
// heard of, or that the topic is gone. join sets it from the snapshot it
// takes when the connection joins; the dispatcher keeps it up to date. It
// is guarded by the channel's mu.
type knownState struct {
	set     bool // join took a snapshot
	gone    bool
	version uint64
}

// fresh reports whether msg, a notification on the connection's channel,
// tells the receiver something it has not been told, and records it.
//
// The dispatcher can hand a channel a change committed before the
// snapshot its newest connection joined with (the store makes a write
// visible before it reports it, and the dispatcher's queue or the rate
// feature may hold it), so a notification about the topic itself is fresh
// only when it moves the receiver on: a write of a later version than the
// one it knows, or a Delete of a topic it knows to exist. Versions grow in
// commit order, so every write committed after the snapshot is fresh, and
// the receiver never hears of an older state after a newer one. Add and
// Remove, about a container's members, are always fresh: the topic's state
// (the container's own version) says nothing about them.
func (k *knownState) fresh(msg *Message) bool {
	if !k.set || msg.Target != "" {
		return true
	}
	if msg.State == "" { // Delete
		if k.gone {
			return false
		}
		k.gone, k.version = true, 0
		return true
	}
	v, ok := etagVersion(msg.State)
	if !ok {
		return true // not an ETag of this server: deliver rather than lose it
	}
	if !k.gone && v <= k.version {
		return false
	}
	k.gone, k.version = false, v
	return true
}

// offer sends b, the encoding of msg, to s unless s's receiver knows it
// already; ch.mu is held. It reports false when s is gone.
func offer(s sink, msg *Message, b []byte) bool {
	if k := s.known(); k != nil && !k.fresh(msg) {
		return true
	}
	return s.send(b)
}

// etagVersion returns the resource version an ETag of this server carries:
// ldp.Meta.ETag is the version in base 36, quoted; a container's is
// followed by "-" and a hash of its listing.
func etagVersion(etag string) (uint64, bool) {
	s, ok := strings.CutPrefix(etag, `"`)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, `"`); !ok || s == "" {
		return 0, false
	}
	s, _, _ = strings.Cut(s, "-")
	v, err := strconv.ParseUint(s, 36, 64)
	return v, err == nil
}

// channel is a channel in memory.
type channel struct {
	rec  record // immutable
	pkey string

	mu       sync.Mutex
	sinks    []sink
	lastSent time.Time
	pending  *Message // held back by the rate feature; only the latest is kept
	timer    *time.Timer
	state    string // the topic's last state known to the receiver
	closed   bool
}

func newChannel(r record) *channel {
	return &channel{rec: r, pkey: r.principalKey(), state: r.State}
}

// active reports whether notifications may go out at t.
func (ch *channel) active(t time.Time) bool {
	return (ch.rec.StartAt.IsZero() || !t.Before(ch.rec.StartAt)) && t.Before(ch.rec.EndAt)
}

// channelJSON is a channel description (Notification Channel Data Model).
type channelJSON struct {
	Context     []any  `json:"@context"`
	ID          string `json:"id"`
	Type        string `json:"type"`
	Topic       string `json:"topic"`
	ReceiveFrom string `json:"receiveFrom,omitempty"`
	SendTo      string `json:"sendTo,omitempty"`
	Sender      string `json:"sender,omitempty"`
	StartAt     string `json:"startAt,omitempty"`
	EndAt       string `json:"endAt,omitempty"`
	Rate        string `json:"rate,omitempty"`
	State       string `json:"state,omitempty"`
	Accept      string `json:"accept,omitempty"`
	// Secret is the webhook signing secret, shown once when the channel is
	// made.
	Secret string `json:"secret,omitempty"`
}

// secretTerm maps "secret" in a channel description.
var secretTerm = map[string]any{"secret": rdf.PodVocab + "webhookSecret"}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// urls makes a channel's URLs from its pod's root URL.
func channelURL(root, id string) string { return root + ".notifications/channels/" + id }

func receiveFrom(root string, r *record) string {
	switch r.Type {
	case TypeWebSocket:
		return "ws" + strings.TrimPrefix(root, "http") + ".notifications/ws/" + r.ID
	case TypeStreaming:
		return root + ".notifications/stream/" + r.ID
	}
	return ""
}

// describe returns the channel's description; withSecret adds the webhook
// secret (only in the subscription response). A push channel names its
// sender only when the pod sends as itself (record.byTopicPod).
func (n *Notifier) describe(root string, r *record, withSecret bool) channelJSON {
	d := channelJSON{
		Context:     []any{rdf.NotificationContextURI},
		ID:          channelURL(root, r.ID),
		Type:        r.Type,
		Topic:       root + podurl.EscapePath(strings.TrimPrefix(r.Path, "/"+r.Pod+"/")),
		ReceiveFrom: receiveFrom(root, r),
		SendTo:      r.SendTo,
		EndAt:       r.EndAt.UTC().Format(timeLayout),
		State:       r.State,
		Accept:      r.Media,
	}
	if isPush(r.Type) && r.byTopicPod(n.cfg.URLs.WebID(r.Pod)) {
		d.Sender = root + "profile/card#me"
	}
	if !r.StartAt.IsZero() {
		d.StartAt = r.StartAt.UTC().Format(timeLayout)
	}
	if r.Rate > 0 {
		d.Rate = FormatDuration(r.Rate)
	}
	if withSecret && r.Secret != "" {
		d.Secret = r.Secret
		d.Context = append(d.Context, secretTerm)
	}
	return d
}

package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/rdf"
	"podserver/webhook"
)

// Paths, relative to a pod root.
const (
	descriptionPath = ".well-known/solid"
	servicesPath    = ".notifications/"
	// LegacyPath is the server-level path of the solid-0.1 WebSocket.
	LegacyPath = "/.notifications/solid-0.1"
)

// StorageDescriptionRel is the Link relation of the storage description.
const StorageDescriptionRel = "http://www.w3.org/ns/solid/terms#storageDescription"

// routeLabel names notification requests in logs and metrics.
const routeLabel = "notify"

// Headers adds the discovery headers to a response about a resource of a
// pod: the storage description link and the legacy Updates-Via. ServePod
// adds them to every pod request it sees, so that responses the LDP
// handler does not make (inbox listings, errors) carry them too; the LDP
// handler calls it again, which adds nothing twice.
func (n *Notifier) Headers(c *gin.Context, r *ldp.Request, p string) {
	h := c.Writer.Header()
	if h.Get("Updates-Via") != "" {
		return
	}
	h.Add("Link", `<`+r.Target.Root+descriptionPath+`>; rel="`+StorageDescriptionRel+`"`)
	h.Set("Updates-Via", n.legacyURL())
}

func (n *Notifier) legacyURL() string {
	return "ws" + strings.TrimPrefix(n.cfg.URLs.Base(), "http") + LegacyPath
}

// ServePod serves the notification paths of a pod (see the package
// documentation). It reports false for every other path.
func (n *Notifier) ServePod(c *gin.Context, r *ldp.Request) (bool, error) {
	n.Headers(c, r, r.Target.Path)
	_, rel := ldp.SplitStoragePath(r.Target.Path)
	m := c.Request.Method
	switch {
	case rel == descriptionPath:
		c.Set("route", routeLabel)
		return true, n.serveDocument(c, "OPTIONS, HEAD, GET", func() (any, error) { return n.storageDescription(r.Target.Root), nil })
	case rel == ".notifications":
		return true, errNotFound
	case !strings.HasPrefix(rel, servicesPath):
		return false, nil
	}
	c.Set("route", routeLabel)
	rest := strings.TrimPrefix(rel, servicesPath)
	if rest == "" {
		if m == http.MethodOptions {
			return true, n.options(c, "OPTIONS, HEAD, GET")
		}
		if m != http.MethodGet && m != http.MethodHead {
			return true, errMethod("OPTIONS, HEAD, GET")
		}
		return true, n.list(c, r)
	}
	if seg, ok := strings.CutSuffix(rest, "/"); ok && !strings.Contains(seg, "/") {
		t, ok := typeByService(seg)
		if !ok {
			return true, errNotFound
		}
		if m == http.MethodPost {
			return true, n.subscribe(c, r, t)
		}
		return true, n.serveDocument(c, "OPTIONS, HEAD, GET, POST", func() (any, error) { return service(r.Target.Root, t), nil })
	}
	kind, id, _ := strings.Cut(rest, "/")
	if !validID(id) {
		return true, errNotFound
	}
	switch kind {
	case "channels":
		return true, n.serveChannel(c, r, id)
	case "ws":
		return true, n.serveWebSocket(c, r, id)
	case "stream":
		return true, n.serveStream(c, r, id)
	}
	return true, errNotFound
}

// ServeTop serves the server-level notification paths: the solid-0.1
// WebSocket and the server description at the origin root
// (/.well-known/solid). It reports false for every other path.
func (n *Notifier) ServeTop(c *gin.Context) (bool, error) {
	switch c.Request.URL.Path {
	case LegacyPath:
		c.Set("route", routeLabel)
		return true, n.serveLegacy(c)
	case originDescriptionPath:
		c.Set("route", routeLabel)
		return true, n.serveOrigin(c)
	}
	return false, nil
}

// serviceJSON describes a subscription service.
type serviceJSON struct {
	Context     []string `json:"@context,omitempty"`
	ID          string   `json:"id"`
	ChannelType string   `json:"channelType"`
	Feature     []string `json:"feature"`
}

func service(root string, t channelType) serviceJSON {
	return serviceJSON{Context: []string{rdf.NotificationContextURI}, ID: root + servicesPath + t.service + "/", ChannelType: t.name, Feature: features}
}

// descriptionJSON is the storage description. Included states that the
// storage is a pim:Storage, a statement about the storage the Solid
// Protocol asks every storage description to make; JSON readers that look
// only for subscription are not disturbed by it.
type descriptionJSON struct {
	Context      []string      `json:"@context"`
	ID           string        `json:"id"`
	Subscription []serviceJSON `json:"subscription"`
	Included     []typedNode   `json:"@included"`
}

// typedNode is a JSON-LD node with an id and a type.
type typedNode struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// storageClass is pim:Storage.
const storageClass = "http://www.w3.org/ns/pim/space#Storage"

func (n *Notifier) storageDescription(root string) descriptionJSON {
	d := descriptionJSON{Context: []string{rdf.NotificationContextURI}, ID: root + descriptionPath,
		Included: []typedNode{{ID: root, Type: storageClass}}}
	for _, t := range channelTypes {
		s := service(root, t)
		s.Context = nil
		d.Subscription = append(d.Subscription, s)
	}
	return d
}

// options answers OPTIONS.
func (n *Notifier) options(c *gin.Context, allow string) error {
	c.Header("Allow", allow)
	c.Header("Accept-Post", "application/ld+json")
	c.Status(http.StatusNoContent)
	return nil
}

// serveDocument answers GET, HEAD and OPTIONS with a JSON-LD document.
func (n *Notifier) serveDocument(c *gin.Context, allow string, doc func() (any, error)) error {
	switch c.Request.Method {
	case http.MethodOptions:
		return n.options(c, allow)
	case http.MethodGet, http.MethodHead:
		d, err := doc()
		if err != nil {
			return err
		}
		c.Header("Allow", allow)
		return writeDocument(c, http.StatusOK, d)
	}
	return errMethod(allow)
}

// documentOffers are the representations of descriptions.
var documentOffers = []string{rdf.MediaTypeJSONLD, rdf.MediaTypeJSON, rdf.MediaTypeTurtle, rdf.MediaTypeNTriples, rdf.MediaTypeNQuads}

// writeDocument writes v as JSON-LD, or in the RDF format the Accept header
// prefers.
func writeDocument(c *gin.Context, status int, v any) error {
	mt, ok := rdf.Negotiate(c.GetHeader("Accept"), documentOffers)
	if !ok {
		return errDescriptionTypes
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if mt == rdf.MediaTypeJSON {
		mt = rdf.MediaTypeJSONLD
	}
	if mt != rdf.MediaTypeJSONLD {
		q, err := rdf.Parse(rdf.MediaTypeJSONLD, body, "")
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := rdf.Write(&buf, mt, q, ""); err != nil {
			return err
		}
		body = buf.Bytes()
	}
	c.Writer.Header().Add("Vary", "Accept")
	c.Header("Cache-Control", "no-store")
	ct := mt
	if strings.HasPrefix(mt, "text/") {
		ct += "; charset=utf-8"
	}
	if c.Request.Method == http.MethodHead {
		c.Header("Content-Type", ct)
		c.Status(status)
		return nil
	}
	c.Data(status, ct, body)
	return nil
}

// subscribe handles a subscription request to the service of type t.
//
// What can be decided without the body is decided before it is read: push
// channels are refused to anonymous callers. Whether the caller may read
// the topic depends on the topic the body names, so that check follows the
// parse; a parse error tells nothing about any resource, as the topic is
// not known yet.
func (n *Notifier) subscribe(c *gin.Context, r *ldp.Request, t channelType) error {
	ctx := c.Request.Context()
	pr := r.Principal
	if t.push && pr.Anonymous() {
		return errAnonPush
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxRequestBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooBig
	}
	if err != nil {
		return apierr.Wrap(http.StatusBadRequest, msgUnreadable, err)
	}
	req, err := ParseRequest(c.GetHeader("Content-Type"), body)
	if err != nil {
		return err
	}
	if req.Type != t.name {
		return errTypeService
	}
	pod, rel, ok := n.cfg.URLs.PodOfURL(req.Topic)
	if !ok || pod != r.Target.Pod {
		return errTopicElsewhere
	}
	if ldp.CleanPath(rel) != nil {
		return errTopic
	}
	topic := ldp.StoragePath(pod, rel)
	if err := n.authorize(ctx, pr, r.Origin, pod, r.Target.Root, topic, acl.Read); err != nil {
		return err
	}
	media, _ := negotiateAccept(req.Accept)
	if t.name == TypeLDN {
		if inbox, ipod, ok := n.localInbox(req.SendTo); ok {
			if inbox == topic {
				return errSendToLoop
			}
			if err := n.authorize(ctx, pr, r.Origin, ipod, n.cfg.URLs.PodRoot(ipod), inbox, acl.Append); err != nil {
				return err
			}
			media = rdf.MediaTypeJSONLD // inboxes of this server take JSON-LD
		}
	}
	now := time.Now()
	endAt := now.Add(n.cfg.MaxLifetime)
	if !req.EndAt.IsZero() {
		if !req.EndAt.After(now) {
			return errEndAt
		}
		if req.EndAt.Before(endAt) {
			endAt = req.EndAt
		}
	}
	if !pr.Expires.IsZero() && pr.Expires.Before(endAt) {
		// A token of another issuer cannot be checked later: the channel
		// lives no longer than the token.
		endAt = pr.Expires
	}
	rec := record{
		ID: newID(), Type: t.name, Pod: pod, Path: topic,
		Agent: pr.Agent, KeyPod: pr.Pod, App: pr.App, Owner: pr.Owner, KeyID: pr.KeyID, ClientID: pr.ClientID, Grant: pr.Grant, Origin: r.Origin,
		SendTo: req.SendTo, StartAt: req.StartAt, EndAt: endAt, Rate: req.Rate, State: req.State,
		Accept: req.Accept, Media: media, Created: now,
	}
	if t.name == TypeWebhook {
		rec.Secret = webhook.NewSecret()
	}
	ch, err := n.create(ctx, rec)
	if err != nil {
		return err
	}
	if t.push && ch.active(now) {
		// A push receiver whose state is stale hears of it right away.
		if msg := n.stateMessage(ctx, ch); msg != nil {
			n.deliver(ch, msg)
		}
	}
	c.Header("Location", channelURL(r.Target.Root, rec.ID))
	return writeDocument(c, http.StatusOK, n.describe(r.Target.Root, &ch.rec, true))
}

// list answers GET .notifications/: the channels the requester made on
// this pod, with the same client (creatorKey): an app key of a pod does
// not see the channels of its owner key, whose receiveFrom URLs are
// capabilities.
func (n *Notifier) list(c *gin.Context, r *ldp.Request) error {
	if r.Principal.Anonymous() {
		return errAnonList
	}
	me := creatorKey(r.Principal)
	n.mu.RLock()
	var mine []*channel
	for _, ch := range n.channels {
		if ch.rec.Pod == r.Target.Pod && creatorKey(ch.rec.principal()) == me {
			mine = append(mine, ch)
		}
	}
	n.mu.RUnlock()
	slices.SortFunc(mine, func(a, b *channel) int { return a.rec.Created.Compare(b.rec.Created) })
	doc := struct {
		Context []string      `json:"@context"`
		ID      string        `json:"id"`
		Channel []channelJSON `json:"channel"`
	}{Context: []string{rdf.NotificationContextURI}, ID: r.Target.Root + servicesPath, Channel: []channelJSON{}}
	for _, ch := range mine {
		d := n.describe(r.Target.Root, &ch.rec, false)
		d.Context = nil
		doc.Channel = append(doc.Channel, d)
	}
	return writeDocument(c, http.StatusOK, doc)
}

// serveChannel answers GET and DELETE on a channel, for its creator (the
// same agent with the same client, creatorKey).
func (n *Notifier) serveChannel(c *gin.Context, r *ldp.Request, id string) error {
	const allow = "OPTIONS, HEAD, GET, DELETE"
	m := c.Request.Method
	if m == http.MethodOptions {
		return n.options(c, allow)
	}
	if m != http.MethodGet && m != http.MethodHead && m != http.MethodDelete {
		return errMethod(allow)
	}
	ch := n.lookup(id)
	if ch == nil || ch.rec.Pod != r.Target.Pod {
		return errNoChannel
	}
	switch {
	case r.Principal.Anonymous():
		return apierr.Unauthenticated()
	case creatorKey(r.Principal) != creatorKey(ch.rec.principal()):
		return errNotCreator
	}
	if m == http.MethodDelete {
		if err := n.remove(c.Request.Context(), ch, "channel deleted"); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
	return writeDocument(c, http.StatusOK, n.describe(r.Target.Root, &ch.rec, false))
}

package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/jsoncheck"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
)

// Listing limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
	// MaxWait bounds ?wait= (seconds); it stays below the server's write
	// timeout.
	MaxWait = 60
)

// Config configures a Handler.
type Config struct {
	Store   store.Store
	Inboxes *Inboxes
	// URLs maps between the server's pods and their URLs.
	URLs podurl.Scheme
	// Authorize returns nil when r's principal has mode need on storage
	// path p, or the 401/403 to send.
	Authorize func(ctx context.Context, r *ldp.Request, p string, need acl.Mode) error
	// Headers, if set, sets the headers every successful GET or HEAD of
	// storage path p carries (ldp.Handler.ReadHeaders: Link, Allow,
	// Accept-*, WAC-Allow, Vary), so that the listing carries what the
	// inbox's other representations carry.
	Headers func(c *gin.Context, r *ldp.Request, p string)
	// CheckCopy, if set, returns nil when agent may POST the notification
	// body (a JSON object) to pod's inbox, or the 400/403 to send: an
	// event copy (one with a topic and a recipient) needs the same
	// permission whichever way it arrives (see publish.Service.CheckCopy).
	CheckCopy func(ctx context.Context, pod, agent string, body []byte) error
	Logger    *slog.Logger
	// MaxBodyBytes bounds a received notification (default 1 MiB).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Stopping, when closed, ends long-polls early (server shutdown): they
	// answer with what they have.
	Stopping <-chan struct{}
	// RDF checks received JSON-LD, loading the remote contexts it names;
	// nil: the built-in contexts only.
	RDF *rdf.Reader
}

// Handler serves GET and POST on pod inboxes.
type Handler struct {
	cfg  Config
	bufs sync.Pool
	flat flatCache
}

// NewHandler returns a Handler.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// AcceptPost lists the media types of the notifications POST inbox/
// takes, as the inbox's Accept-Post header says: JSON-LD (LDN's one
// requirement; plain JSON is read as JSON-LD) and the RDF text formats.
const AcceptPost = "application/ld+json, application/json, text/turtle, application/n-triples, application/n-quads"

// rdfNotification reports whether mt is an RDF text format a notification
// may come in besides JSON-LD; such a notification is stored as sent, in
// its own media type.
func rdfNotification(mt string) bool {
	return mt == ldp.MediaTurtle || mt == ldp.MediaNTriples || mt == ldp.MediaNQuads
}

// listOffers are the representations the inbox listing has.
var listOffers = []string{ldp.MediaJSONLD, ldp.MediaJSON}

// Accepts reports whether the request's Accept header takes the JSON-LD
// listing; other RDF types are left to the generic container listing.
func Accepts(req *http.Request) bool {
	_, ok := ldp.Negotiate(req.Header.Get("Accept"), listOffers)
	return ok
}

// listQuery is a parsed listing query.
type listQuery struct {
	limit int
	from  uint64
	at    time.Time // by=timestamp|datetime: list from this arrival time
	byT   bool
	ids   bool
	wait  time.Duration
}

// parseListQuery reads limit, from, by, format and wait. The rules:
//
//   - limit: 1 to 1000 items, default 50.
//   - from: a cursor (an item name: 16 hex digits) as given in a previous
//     page's next; the page starts at that item or the first after it.
//   - by=timestamp&from=MS: from is a Unix time in milliseconds; by=datetime&
//     from=TIME: an RFC 3339 time. The page starts at the first item that
//     arrived in this inbox at or after that time.
//   - format=ids: contains lists item URLs instead of the copies.
//   - wait=N: when the page would be empty, wait up to N seconds (at most
//     60) for an arrival.
func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{limit: DefaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return lq, errLimit
		}
		lq.limit = n
	}
	from := q.Get("from")
	switch by := q.Get("by"); by {
	case "":
		if from != "" {
			seq, ok := ParseItemName(from)
			if !ok {
				return lq, errFrom
			}
			lq.from = seq
		}
	case "timestamp":
		ms, err := strconv.ParseInt(from, 10, 64)
		if err != nil || ms < 0 {
			return lq, errFromTime
		}
		lq.at, lq.byT = time.UnixMilli(ms), true
	case "datetime":
		t, err := time.Parse(time.RFC3339Nano, from)
		if err != nil {
			return lq, errFromTime
		}
		lq.at, lq.byT = t, true
	default:
		return lq, errBy
	}
	switch q.Get("format") {
	case "":
	case "ids":
		lq.ids = true
	default:
		return lq, errFormat
	}
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxWait {
			return lq, errWait
		}
		lq.wait = time.Duration(n) * time.Second
	}
	return lq, nil
}

// List serves GET and HEAD on an inbox: a page of copies, oldest first.
// Reading needs Read on the inbox.
func (h *Handler) List(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if err := h.cfg.Authorize(ctx, r, p, acl.Read); err != nil {
		return err
	}
	q := c.Request.URL.Query()
	lq, err := parseListQuery(q)
	if err != nil {
		return err
	}
	var pg Page
	var deadline <-chan time.Time
	for {
		var woken <-chan struct{}
		if lq.wait > 0 {
			woken = h.cfg.Inboxes.notify.Watch(p)
		}
		exists := true
		err := h.cfg.Store.View(ctx, func(rd store.Reader) error {
			var err error
			if exists, err = ldp.Exists(rd, p); err != nil || !exists {
				return err
			}
			if lq.byT {
				if lq.from, err = CursorAt(rd, p, lq.at); err != nil {
					return err
				}
				lq.byT = false
			}
			pg, err = List(rd, p, lq.from, lq.limit)
			return err
		})
		if err != nil {
			return err
		}
		if !exists {
			return errNoInbox
		}
		if len(pg.Items) > 0 || lq.wait <= 0 {
			break
		}
		if deadline == nil {
			t := time.NewTimer(lq.wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-woken:
			continue
		case <-deadline:
		case <-h.cfg.Stopping:
		case <-ctx.Done():
			return ctx.Err()
		}
		break
	}
	var readable []bool
	if !lq.ids {
		if readable, err = h.readable(ctx, r, pg.Items); err != nil {
			return err
		}
	}
	return h.writePage(c, r, q, lq, pg, readable)
}

// readable reports, for each item, whether r's principal may read it: the
// listing embeds an item's content only then (Read on the inbox lets one
// list the items, as the LDP listing of any container does, not read them).
//
// An item without an ACL document of its own gets its access from the
// nearest ancestor's acl:default (the inbox's, usually), the same for all
// of them: one decision covers them, asked for the first such item. The
// items with an ACL of their own (List tells which, from the scan that
// read the page) are asked one by one. Both are the LDP handler's own
// decision (Config.Authorize), so a GET of the item would answer the same.
func (h *Handler) readable(ctx context.Context, r *ldp.Request, items []Item) ([]bool, error) {
	out := make([]bool, len(items))
	decided, inherited := false, false
	for i, it := range items {
		if !it.OwnACL && decided {
			out[i] = inherited
			continue
		}
		err := h.cfg.Authorize(ctx, r, it.Path, acl.Read)
		var ae *apierr.Error
		if err != nil && (!errors.As(err, &ae) || (ae.Status != http.StatusUnauthorized && ae.Status != http.StatusForbidden)) {
			if !it.OwnACL || ctx.Err() != nil {
				return nil, err
			}
			// The item's own ACL cannot be decided (a GET of the item
			// fails the same way): its content is withheld, the rest
			// of the page is listed.
			h.cfg.Logger.WarnContext(ctx, "inbox item access undecided; its content is left out of the listing", "item", it.Path, "err", err)
		}
		out[i] = err == nil
		if !it.OwnACL {
			decided, inherited = true, out[i]
		}
	}
	return out, nil
}

// writePage writes pg; readable (nil for format=ids) says whose content
// may be shown (see readable).
func (h *Handler) writePage(c *gin.Context, r *ldp.Request, q url.Values, lq listQuery, pg Page, readable []bool) error {
	self := r.Target.URL(r.Target.Path)
	next := ItemName(pg.Next)
	buf := h.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			h.bufs.Put(buf)
		}
	}()
	b := buf.AvailableBuffer()
	b = append(b, `{"@context":`...)
	b = AppendJSONString(b, rdf.ListingContextURL(h.cfg.URLs.Base()))
	b = append(b, `,"id":`...)
	b = AppendJSONString(b, self)
	b = append(b, `,"type":["ldp:Container","ldp:BasicContainer","ldp:Resource"],"contains":[`...)
	for i, it := range pg.Items {
		if i > 0 {
			b = append(b, ',')
		}
		u := r.Target.URL(it.Path)
		if lq.ids {
			b = AppendJSONString(b, u)
			continue
		}
		if !readable[i] {
			// An item the caller may not read is listed by its URL only,
			// as format=ids and the LDP listing list it: Read on the inbox
			// shows which items it holds, not what they say. Leaving it
			// out would make the page look shorter than its cursor says.
			b = append(b, `{"url":`...)
			b = AppendJSONString(b, u)
			b = append(b, '}')
			continue
		}
		b = appendEntry(b, u, it, &h.flat)
	}
	b = append(b, `],"next":`...)
	b = AppendJSONString(b, next)
	b = append(b, "}\n"...)
	buf.Write(b)

	hd := c.Writer.Header()
	if h.cfg.Headers != nil {
		h.cfg.Headers(c, r, r.Target.Path) // Link types and acl, Allow, Accept-*, WAC-Allow, Vary
	} else {
		hd.Add("Vary", "Accept")
	}
	if pg.More {
		hd.Add("Link", `<`+nextURL(self, q, next)+`>; rel="next"`)
	}
	hd.Set("Content-Type", ldp.MediaJSONLD)
	hd.Set("Cache-Control", "no-store")
	// The page's entity tag hashes what it shows, as the LDP container
	// listing's does: it changes when its items or their content do.
	hd.Set("ETag", pageETag(buf.Bytes()))
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(buf.Bytes())
	}
	return nil
}

// pageETag is the strong entity tag of a listing page's bytes.
func pageETag(b []byte) string {
	f := fnv.New64a()
	_, _ = f.Write(b)
	return `"p` + strconv.FormatUint(f.Sum64(), 36) + `"`
}

// nextURL is the URL of the page after this one: the same query with from
// set to the cursor (and by dropped: the cursor is not a time).
func nextURL(self string, q url.Values, next string) string {
	v := make(url.Values, len(q))
	for k, vs := range q {
		if k != "by" {
			v[k] = vs
		}
	}
	v.Set("from", next)
	return self + "?" + v.Encode()
}

// Receive serves POST on an inbox: a Linked Data Notification from a local
// authenticated agent with Append (POSTs signed with HTTP Message
// Signatures by other servers are served by remote.Remote.Receive).
//
// The notification is JSON-LD (a JSON object, or a top-level array of
// them; application/json is read as JSON-LD) or Turtle, N-Triples or
// N-Quads (AcceptPost). It is stored as sent, byte for byte and in its
// media type, so that reading the item gives the sender's graph, its
// relative IRIs resolved against the item's own URL. Who sent it (the
// sender's WebID and app) is recorded beside the item (Sender) and shown
// by the app-facing listing. An event copy (with a topic and a recipient)
// must pass Config.CheckCopy.
//
// A JSON notification's "id" names it: an inbox holds one notification
// per id. The same notification again (the same bytes: a sender retrying)
// is answered 200 with the existing item's Location; a different one
// under an id the inbox holds is refused (409), never silently dropped.
// An id naming a resource of another pod of this server is refused
// (403): only that pod's agents deliver its events. 201 and Location on
// a new item.
func (h *Handler) Receive(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if err := h.cfg.Authorize(ctx, r, p, acl.Append); err != nil {
		return err
	}
	mt := ldp.MediaJSONLD
	if ct := c.GetHeader("Content-Type"); ct != "" {
		var err error
		if mt, _, err = ldp.ParseContentType(ct); err != nil || (mt != ldp.MediaJSONLD && mt != ldp.MediaJSON && !rdfNotification(mt)) {
			return errMediaLDN
		}
	}
	body, err := ldp.ReadBody(c, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	self := r.Target.URL(p)
	var id string
	object := false // a JSON object: an event copy may be one
	if rdfNotification(mt) {
		if err := rdf.Validate(mt, body, self); err != nil {
			return apierr.Wrap(http.StatusBadRequest, "the notification is not valid "+mt+": "+err.Error(), err)
		}
	} else {
		mt = ldp.MediaJSONLD // stored as every JSON item is
		if id, object, err = checkNotification(body); err != nil {
			return err
		}
		if bytes.Contains(body, []byte(`"@`)) || !object {
			if err := h.cfg.RDF.ExpandJSONLD(ctx, body, self); err != nil {
				if e := ldp.ContextUnavailable(err); e != nil {
					return e
				}
				return apierr.Wrap(http.StatusBadRequest, err.Error(), err)
			}
		}
	}
	if id != "" {
		if pod, _, ok := h.cfg.URLs.PodOfURL(id); ok && pod != h.principalPod(r.Principal) {
			return errIDOwner
		}
	}
	if h.cfg.CheckCopy != nil && object {
		if err := h.cfg.CheckCopy(ctx, r.Target.Pod, r.Principal.Agent, body); err != nil {
			return err
		}
	}
	var item string
	var added bool
	now := h.cfg.Now()
	sender := &Sender{Agent: r.Principal.Agent, Instrument: r.Principal.App}
	err = h.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var err error
		item, added, err = h.cfg.Inboxes.Append(tx, Copy{Inbox: p, EventID: id, Body: body, MediaType: mt, Sender: sender}, now)
		if err != nil || added {
			return err
		}
		// The id is taken: by this same notification (a retry), or by
		// another one, which must not vanish behind a 200.
		held, err := ldp.Get(tx, item)
		if errors.Is(err, ldp.ErrNotFound) {
			return nil // received before, deleted since: not stored again
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(held.Body, body) {
			return errIDTaken
		}
		return nil
	})
	if errors.Is(err, ErrNoInbox) {
		return errNoInbox
	}
	if err != nil {
		return err
	}
	c.Header("Location", r.Target.URL(item))
	if added {
		c.Status(http.StatusCreated)
	} else {
		c.Status(http.StatusOK)
	}
	return nil
}

// principalPod returns the pod of this server whose agent pr is: the pod
// of its key, or (for a Solid-OIDC or signed principal, whose credential
// names no pod) the pod whose owner's WebID it is; "" for agents of other
// servers.
func (h *Handler) principalPod(pr ldp.Principal) string {
	if pr.Pod != "" {
		return pr.Pod
	}
	if pod, ok := h.cfg.URLs.PodOfWebID(pr.Agent); ok && h.cfg.URLs.WebID(pod) == pr.Agent {
		return pod
	}
	return ""
}

// checkNotification checks a received JSON notification: an object (a
// node, or a document with an @graph) whose "id", if any, is a non-empty
// string, or a top-level JSON-LD array of objects. It returns the id (""
// for an array: it names no one notification) and whether it is an
// object.
func checkNotification(body []byte) (id string, object bool, err error) {
	if err := jsoncheck.Check(body); err != nil {
		return "", false, apierr.Wrap(http.StatusBadRequest, errBadJSON.Msg+": "+err.Error(), err)
	}
	if !json.Valid(body) {
		return "", false, errBadJSON
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var nodes []map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &nodes); err != nil || len(nodes) == 0 {
			return "", false, errNotObj
		}
		return "", false, nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", false, errNotObj
	}
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return "", false, errNotObj
	}
	if m.ID != nil {
		if err := json.Unmarshal(m.ID, &id); err != nil || id == "" {
			return "", false, errIDType
		}
	}
	return id, true, nil
}

// AppendJSONString appends s to b as a JSON string, escaping quotes,
// backslashes and control characters (and DEL) without allocating.
func AppendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	return h.writePage(c, r, q, lq, pg)
}

func (h *Handler) writePage(c *gin.Context, r *ldp.Request, q url.Values, lq listQuery, pg Page) error {
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
		b = appendEntry(b, u, it, &h.flat)
	}
	b = append(b, `],"next":`...)
	b = AppendJSONString(b, next)
	b = append(b, "}\n"...)
	buf.Write(b)

	hd := c.Writer.Header()
	hd.Add("Link", `<http://www.w3.org/ns/ldp#Resource>; rel="type"`)
	hd.Add("Link", `<http://www.w3.org/ns/ldp#Container>; rel="type"`)
	hd.Add("Link", `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`)
	hd.Add("Link", `<`+r.Target.URL(ldp.ACLPath(r.Target.Path))+`>; rel="acl"`)
	if pg.More {
		hd.Add("Link", `<`+nextURL(self, q, next)+`>; rel="next"`)
	}
	hd.Set("Content-Type", ldp.MediaJSONLD)
	hd.Set("Cache-Control", "no-store")
	hd.Add("Vary", "Accept")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(buf.Bytes())
	}
	return nil
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
// The notification must be a JSON object; it is stored as sent, byte for
// byte, so that reading the item gives the sender's graph, and once per id
// (its "id", the URL of the event it copies). Who sent it (the sender's
// WebID and app) is recorded beside the item (Sender) and shown by the
// app-facing listing. An event copy (with a topic and a recipient) must
// pass Config.CheckCopy. 201 and Location on a new item; 200 and the
// existing item's Location when this inbox already holds that id.
func (h *Handler) Receive(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	p := r.Target.Path
	if err := h.cfg.Authorize(ctx, r, p, acl.Append); err != nil {
		return err
	}
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := ldp.ParseContentType(ct)
		if err != nil || (mt != ldp.MediaJSONLD && mt != ldp.MediaJSON) {
			return errMediaLDN
		}
	}
	body, err := ldp.ReadBody(c, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	id, err := checkNotification(body)
	if err != nil {
		return err
	}
	self := r.Target.URL(p)
	if bytes.Contains(body, []byte(`"@`)) {
		if err := h.cfg.RDF.ExpandJSONLD(ctx, body, self); err != nil {
			if e := ldp.ContextUnavailable(err); e != nil {
				return e
			}
			return apierr.Wrap(http.StatusBadRequest, err.Error(), err)
		}
	}
	if id != "" {
		if pod, _, ok := h.cfg.URLs.PodOfURL(id); ok && pod != r.Principal.Pod {
			return errIDOwner
		}
	}
	if h.cfg.CheckCopy != nil {
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
		item, added, err = h.cfg.Inboxes.Append(tx, Copy{Inbox: p, EventID: id, Body: body, Sender: sender}, now)
		return err
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

// checkNotification checks a received notification (a JSON object, whose
// "id", if any, is a non-empty string) and returns its id.
func checkNotification(body []byte) (string, error) {
	if err := jsoncheck.Check(body); err != nil {
		return "", apierr.Wrap(http.StatusBadRequest, errBadJSON.Msg+": "+err.Error(), err)
	}
	if !json.Valid(body) {
		return "", errBadJSON
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", errNotObj
	}
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return "", errNotObj
	}
	var id string
	if m.ID != nil {
		if err := json.Unmarshal(m.ID, &id); err != nil || id == "" {
			return "", errIDType
		}
	}
	return id, nil
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

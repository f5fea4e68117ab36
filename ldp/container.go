package ldp

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/rdf"
	"podserver/store"
)

// Paging limits of container listings.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page is a parsed ?limit= and ?from= pair.
type Page struct {
	Limit int
	From  uint64
}

// ParsePage reads ?limit= and ?from= with the given default limit.
func ParsePage(q url.Values, def int) (Page, error) {
	pg := Page{Limit: def}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return pg, apierr.Newf(http.StatusBadRequest, msgLimit, MaxPageSize)
		}
		pg.Limit = n
	}
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return pg, apierr.New(http.StatusBadRequest, msgFrom)
		}
		pg.From = n
	}
	return pg, nil
}

// NextURL returns the URL of the page after this one, starting at next.
func NextURL(base string, q url.Values, next uint64) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("from", strconv.FormatUint(next, 10))
	return base + "?" + v.Encode()
}

// containerJSON is the JSON-LD representation of a container page.
type containerJSON struct {
	Context  string   `json:"@context"`
	ID       string   `json:"id"`
	Type     []string `json:"type"`
	Contains []string `json:"contains"`
	Next     string   `json:"next,omitempty"`
}

func containerTypes(p string) []string {
	t := []string{"ldp:Container", "ldp:BasicContainer", "ldp:Resource"}
	if IsRoot(p) {
		t = append(t, "pim:Storage")
	}
	return t
}

// serveContainer serves a container's listing: every member, streamed
// (see streamContainer), unless the request asks for a page with ?limit=
// or ?from=.
func (h *Handler) serveContainer(c *gin.Context, r *Request, res *Resource) error {
	q := c.Request.URL.Query()
	pg, err := ParsePage(q, DefaultPageSize)
	if err != nil {
		return err
	}
	want, ok := Negotiate(c.GetHeader("Accept"), append(append([]string(nil), rdfTypes...), MediaJSON))
	if !ok {
		return apierr.Newf(http.StatusNotAcceptable, msgContainerTypes, strings.Join(rdfTypes, ", "))
	}
	if want == MediaJSON {
		want = MediaJSONLD
	}
	if !q.Has("limit") && !q.Has("from") {
		return h.streamContainer(c, r, res, want)
	}
	var members []Member
	var next uint64
	err = h.repo.st.View(c.Request.Context(), func(rd store.Reader) error {
		var err error
		members, next, err = h.list(rd, res.Path, pg.From, pg.Limit)
		return err
	})
	if err != nil {
		return err
	}
	self := r.Target.URL(res.Path)
	doc := containerJSON{Context: cmp.Or(h.ctxURL, rdf.ContextURI), ID: self, Type: containerTypes(res.Path), Contains: make([]string, 0, len(members))}
	for _, m := range members {
		doc.Contains = append(doc.Contains, r.Target.URL(m.Path))
	}
	if next != 0 {
		doc.Next = NextURL(self, q, next)
		c.Writer.Header().Add("Link", `<`+doc.Next+`>; rel="next"`)
	}
	var body []byte
	if want == MediaJSONLD {
		body, err = json.Marshal(doc)
	} else {
		body, err = writeRDF(want, containerQuads(doc, res.Path), self)
	}
	if err != nil {
		return err
	}
	etag := listingETag(res.Meta.Version, body)
	if done, err := checkRead(c, etag); done {
		return err
	}
	c.Header("ETag", etag)
	c.Header("Content-Type", contentTypeHeader(want))
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(body)
	}
	return nil
}

// list reads up to limit members of container c from seq from, as List
// or, for a sequence-named container, ListSeqNamed.
func (h *Handler) list(rd store.Reader, c string, from uint64, limit int) ([]Member, uint64, error) {
	if h.seqNamed != nil && h.seqNamed(c) {
		return ListSeqNamed(rd, c, from, limit)
	}
	return List(rd, c, from, limit)
}

func containerQuads(doc containerJSON, p string) []rdf.Quad {
	s := rdf.IRI(doc.ID)
	typ := rdf.IRI(rdf.RDFType)
	q := []rdf.Quad{
		{S: s, P: typ, O: rdf.IRI(ldpNS + "Container")},
		{S: s, P: typ, O: rdf.IRI(ldpNS + "BasicContainer")},
		{S: s, P: typ, O: rdf.IRI(ldpNS + "Resource")},
	}
	if IsRoot(p) {
		q = append(q, rdf.Quad{S: s, P: typ, O: rdf.IRI("http://www.w3.org/ns/pim/space#Storage")})
	}
	for _, m := range doc.Contains {
		q = append(q, rdf.Quad{S: s, P: rdf.IRI(ldpNS + "contains"), O: rdf.IRI(m)})
	}
	return q
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

package ldp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
)

// The LDP handler tested on its own, over HTTP: a real in-memory store,
// the real WAC evaluator reading ACL documents from the same repository,
// and the request's principal taken from an x-agent header (the server
// authenticates keys; this package only serves what it is handed).

const (
	testRoot  = "http://pod.test/alice/"
	testOwner = testRoot + "profile/card#me"
	testOther = "http://other.test/bob/profile/card#me"
)

// repoLocator reads ACL documents for the evaluator from repo.
type repoLocator struct{ repo *Repo }

func (l repoLocator) ACL(ctx context.Context, aclURL string) ([]rdf.Quad, bool, error) {
	esc, ok := strings.CutPrefix(aclURL, testRoot)
	if !ok {
		return nil, false, nil
	}
	rel, err := podurl.UnescapePath(esc)
	if err != nil {
		return nil, false, nil
	}
	res, err := l.repo.Get(ctx, StoragePath("alice", rel))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	q, err := ParseRDF(res.Meta.ContentType, res.Body, aclURL)
	return q, err == nil, nil
}

// wac is the Authorizer of these tests: Web Access Control alone.
type wac struct{ e *acl.Evaluator }

func (a wac) Modes(ctx context.Context, r *Request, p string) (acl.Mode, error) {
	return a.e.Allowed(ctx, acl.Request{ResourceURL: r.Target.URL(p), RootURL: r.Target.Root, Agent: r.Principal.Agent, Origin: r.Origin})
}

// newTestHandler serves pod alice at testRoot: its ACL gives testOwner
// every mode, and public/ is readable by everyone.
func newTestHandler(t *testing.T) http.Handler {
	t.Helper()
	h, _ := newTestHandlerConfig(t, Config{}, nil)
	return h
}

// newTestHandlerConfig is newTestHandler with cfg's SeqNamed and Hooks,
// over the store wrap returns (if set); it also returns the repository.
func newTestHandlerConfig(t *testing.T, cfg Config, wrap func(store.Store) store.Store) (http.Handler, *Repo) {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var rs store.Store = st
	if wrap != nil {
		rs = wrap(st)
	}
	repo := NewRepo(rs)
	now := time.Now()
	rootACL := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + testOwner + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
`
	publicACL := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + testOwner + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
`
	err = st.Update(context.Background(), func(tx store.Txn) error {
		if err := CreatePod(tx, "alice", now); err != nil {
			return err
		}
		for p, body := range map[string]string{"/alice/.acl": rootACL, "/alice/public/.acl": publicACL} {
			if _, _, err := Put(tx, p, MediaTurtle, []byte(body), now, Preconditions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Repo, cfg.Authorizer = repo, wac{acl.NewEvaluator(repoLocator{repo}, nil)}
	h := NewHandler(cfg)
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(apierr.Handle(nil, func(c *gin.Context) error {
		rel, ok := strings.CutPrefix(c.Request.URL.Path, "/alice/")
		if !ok {
			return apierr.NotFound()
		}
		r := &Request{Target: Target{Pod: "alice", Path: StoragePath("alice", rel), Root: testRoot},
			Principal: Principal{Agent: c.GetHeader("x-agent")}}
		return h.Serve(c, r)
	}))
	return e, repo
}

// step is one request and the one answer the contract gives it.
type step struct {
	name, method, path, agent, ctype, body string
	hdr                                    map[string]string
	status                                 int
	has                                    string            // in the body
	want                                   map[string]string // response headers (prefix match)
}

func (s step) run(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(s.method, "http://pod.test"+s.path, strings.NewReader(s.body))
	if s.ctype != "" {
		req.Header.Set("Content-Type", s.ctype)
	}
	if s.agent != "" {
		req.Header.Set("x-agent", s.agent)
	}
	for k, v := range s.hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Body)
	w.Body = bytes.NewBuffer(body)
	if w.Code != s.status {
		t.Fatalf("%s: %s %s = %d, want %d: %s", s.name, s.method, s.path, w.Code, s.status, body)
	}
	if !strings.Contains(string(body), s.has) {
		t.Errorf("%s: body %q lacks %q", s.name, body, s.has)
	}
	for k, v := range s.want {
		if got := w.Header().Get(k); !strings.HasPrefix(got, v) {
			t.Errorf("%s: %s = %q, want %q", s.name, k, got, v)
		}
	}
	return w
}

// TestHandlerLifecycle walks a resource and a container through their
// lives with the answers the Solid Protocol gives, access control
// included.
func TestHandlerLifecycle(t *testing.T) {
	h := newTestHandler(t)
	doc := "<#it> <http://schema.org/name> \"A\" .\n"
	steps := []step{
		{name: "anonymous may not read a private resource", method: "GET", path: "/alice/notes", status: 401},
		{name: "another agent may not write", method: "PUT", path: "/alice/notes", agent: testOther, ctype: MediaTurtle, body: doc, status: 403},
		{name: "a malformed body is refused before anything is stored", method: "PUT", path: "/alice/notes", agent: testOwner, ctype: MediaTurtle, body: "<#it> <p> .", status: 400, has: "invalid text/turtle body"},
		{name: "create", method: "PUT", path: "/alice/notes", agent: testOwner, ctype: MediaTurtle, body: doc, status: 201},
		{name: "read as Turtle", method: "GET", path: "/alice/notes", agent: testOwner, status: 200, has: `"A"`,
			want: map[string]string{"Content-Type": MediaTurtle, "ETag": `"`, "WAC-Allow": `user="read write append control"`}},
		{name: "read as JSON-LD", method: "GET", path: "/alice/notes", agent: testOwner, hdr: map[string]string{"Accept": MediaJSONLD}, status: 200, has: `"A"`,
			want: map[string]string{"Content-Type": MediaJSONLD}},
		{name: "no representation for image/png", method: "GET", path: "/alice/notes", agent: testOwner, hdr: map[string]string{"Accept": "image/png"}, status: 406},
		{name: "If-None-Match * on an existing resource", method: "PUT", path: "/alice/notes", agent: testOwner, ctype: MediaTurtle, body: doc, hdr: map[string]string{"If-None-Match": "*"}, status: 412},
		{name: "a stale If-Match", method: "PUT", path: "/alice/notes", agent: testOwner, ctype: MediaTurtle, body: doc, hdr: map[string]string{"If-Match": `"stale"`}, status: 412},
		{name: "replace", method: "PUT", path: "/alice/notes", agent: testOwner, ctype: MediaTurtle, body: doc, status: 204},
		{name: "PUT creates intermediate containers", method: "PUT", path: "/alice/a/b/c", agent: testOwner, ctype: "text/plain", body: "hi", status: 201},
		{name: "a non-empty container cannot be deleted", method: "DELETE", path: "/alice/a/b/", agent: testOwner, status: 409},
		{name: "POST with a Slug", method: "POST", path: "/alice/a/", agent: testOwner, ctype: "text/plain", body: "x", hdr: map[string]string{"Slug": "hello"}, status: 201,
			want: map[string]string{"Location": testRoot + "a/hello"}},
		{name: "POST to a non-container", method: "POST", path: "/alice/notes", agent: testOwner, ctype: "text/plain", body: "x", status: 405, want: map[string]string{"Allow": "OPTIONS"}},
		{name: "the container lists its members", method: "GET", path: "/alice/a/", agent: testOwner, status: 200, has: testRoot + "a/hello"},
		{name: "delete", method: "DELETE", path: "/alice/notes", agent: testOwner, status: 204},
		{name: "gone", method: "GET", path: "/alice/notes", agent: testOwner, status: 404},
		{name: "public read", method: "PUT", path: "/alice/public/page", agent: testOwner, ctype: "text/plain", body: "hello", status: 201},
		{name: "anonymous reads a public resource", method: "GET", path: "/alice/public/page", status: 200, has: "hello", want: map[string]string{"WAC-Allow": `user="read",public="read"`}},
		{name: "anonymous may not write there", method: "PUT", path: "/alice/public/page", ctype: "text/plain", body: "x", status: 401},
		{name: "another agent may not write there", method: "PUT", path: "/alice/public/page", agent: testOther, ctype: "text/plain", body: "x", status: 403},
		{name: "the ACL needs Control", method: "GET", path: "/alice/public/.acl", agent: testOther, status: 403},
		{name: "an invalid ACL is refused", method: "PUT", path: "/alice/public/.acl", agent: testOwner, ctype: MediaTurtle,
			body: "<#x> a <http://www.w3.org/ns/auth/acl#Authorization>; <http://www.w3.org/ns/auth/acl#mode> \"Read\" .", status: 400, has: "invalid ACL document"},
	}
	for _, s := range steps {
		s.run(t, h)
	}
}

// TestHandlerNames: names with characters a URL must escape are served
// at escaped URLs; a Slug is percent-decoded; Link headers are read in any
// RFC 8288 form, and a container-type Link on a document's URL is refused.
func TestHandlerNames(t *testing.T) {
	h := newTestHandler(t)
	bc := map[string]string{"Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel=type`}
	steps := []step{
		{name: "PUT a name with #", method: "PUT", path: "/alice/a/x%23y", agent: testOwner, ctype: "text/plain", body: "x", status: 201,
			want: map[string]string{"Location": testRoot + "a/x%23y"}},
		{name: "GET it", method: "GET", path: "/alice/a/x%23y", agent: testOwner, status: 200, has: "x"},
		{name: "the listing names it escaped", method: "GET", path: "/alice/a/", agent: testOwner, hdr: map[string]string{"Accept": MediaJSONLD}, status: 200, has: `"` + testRoot + `a/x%23y"`},
		{name: "a percent-encoded Slug", method: "POST", path: "/alice/a/", agent: testOwner, ctype: "text/plain", body: "x", hdr: map[string]string{"Slug": "caf%C3%A9"}, status: 201,
			want: map[string]string{"Location": testRoot + "a/caf%C3%A9"}},
		{name: "a UTF-8 Slug", method: "POST", path: "/alice/a/", agent: testOwner, ctype: "text/plain", body: "x", hdr: map[string]string{"Slug": "été 1"}, status: 201,
			want: map[string]string{"Location": testRoot + "a/%C3%A9t%C3%A9%201"}},
		{name: "GET the decoded name", method: "GET", path: "/alice/a/%C3%A9t%C3%A9%201", agent: testOwner, status: 200},
		{name: "a container by a token rel", method: "POST", path: "/alice/a/", agent: testOwner, hdr: map[string]string{"Slug": "sub", "Link": bc["Link"]}, status: 201,
			want: map[string]string{"Location": testRoot + "a/sub/"}},
		{name: "a container among other links", method: "POST", path: "/alice/a/", agent: testOwner,
			hdr: map[string]string{"Slug": "sub2", "Link": `<http://www.w3.org/ns/ldp#Resource>; rel="type", <http://www.w3.org/ns/ldp#Container>; rel="type"`}, status: 201,
			want: map[string]string{"Location": testRoot + "a/sub2/"}},
		{name: "a container-type Link on a document's URL", method: "PUT", path: "/alice/a/notdir", agent: testOwner, hdr: bc, status: 400, has: `a container's URL ends with \"/\"`},
		{name: "nothing was created", method: "GET", path: "/alice/a/notdir", agent: testOwner, status: 404},
		{name: "a container-type Link on a container's URL", method: "PUT", path: "/alice/a/dir/", agent: testOwner, hdr: bc, status: 201},
	}
	for _, s := range steps {
		s.run(t, h)
	}
}

// TestHandlerHead: HEAD answers GET's status and headers with no body.
func TestHandlerHead(t *testing.T) {
	h := newTestHandler(t)
	step{name: "create", method: "PUT", path: "/alice/doc", agent: testOwner, ctype: MediaTurtle, body: "<#a> <#b> <#c> .\n", status: 201}.run(t, h)
	for _, p := range []string{"/alice/doc", "/alice/"} {
		get := step{name: "GET", method: "GET", path: p, agent: testOwner, status: 200}.run(t, h)
		head := step{name: "HEAD", method: "HEAD", path: p, agent: testOwner, status: 200}.run(t, h)
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s has a body of %d bytes", p, head.Body.Len())
		}
		for _, k := range []string{"Content-Type", "ETag", "Link", "WAC-Allow", "Allow", "Accept-Put"} {
			if get.Header().Get(k) != head.Header().Get(k) {
				t.Errorf("HEAD %s: %s %q, GET has %q", p, k, head.Header().Get(k), get.Header().Get(k))
			}
		}
	}
}

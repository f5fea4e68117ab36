package ldp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/conformance"
	"podserver/podurl"
	"podserver/rdf"
	"podserver/store"
)

// fillContainer stores n members of container c (storage path) in one
// transaction: PUT members, or sequence-named ones when seq is set. Every
// tenth plain member is a container, and a few have names that Turtle
// cannot write as they are relative to the container (a colon in the first
// segment) or that need more than ASCII.
func fillContainer(t testing.TB, repo *Repo, c string, n int, seq bool) []string {
	t.Helper()
	var paths []string
	now := time.Now()
	err := repo.Store().Update(context.Background(), func(tx store.Txn) error {
		if err := EnsureContainer(tx, c, now); err != nil {
			return err
		}
		for i := range n {
			if seq {
				p, _, err := AppendSeqMember(tx, c, tx.NextSeq(), MediaJSONLD, []byte(`{}`), now)
				if err != nil {
					return err
				}
				paths = append(paths, p)
				continue
			}
			p := c + fmt.Sprintf("m%05d", i)
			switch {
			case i == 7:
				p = c + "urn:x-odd"
			case i == 8:
				p = c + "été"
			case i%10 == 0:
				p += "/"
			}
			if _, _, err := Put(tx, p, "text/plain", nil, now, Preconditions{}); err != nil {
				return err
			}
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// containerGraph is what a listing of container self with members must
// read as.
func containerGraph(self string, members []string) []rdf.Quad {
	s := rdf.IRI(self)
	q := []rdf.Quad{
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "Container")},
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "BasicContainer")},
		{S: s, P: rdf.IRI(rdf.RDFType), O: rdf.IRI(ldpNS + "Resource")},
	}
	for _, m := range members {
		q = append(q, rdf.Quad{S: s, P: rdf.IRI(ldpNS + "contains"), O: rdf.IRI(m)})
	}
	return q
}

// A container's RDF representation without paging parameters lists every
// member, in every RDF format, as an independent processor reads it; with
// ?limit= or ?from= it is paged as before. 2,345 members: more than a page
// and more than a batch of the stream.
func TestContainerListsEveryMember(t *testing.T) {
	conformance.Need(t)
	for _, seq := range []bool{false, true} {
		t.Run(fmt.Sprintf("seqNamed=%v", seq), func(t *testing.T) {
			const c = "/alice/big/"
			h, repo := newTestHandlerConfig(t, Config{SeqNamed: func(p string) bool { return seq && p == c }}, nil)
			paths := fillContainer(t, repo, c, 2*listBatch+345, seq)
			self := testRoot + "big/"
			var urls []string
			for _, p := range paths {
				urls = append(urls, testRoot+podurl.EscapePath(strings.TrimPrefix(p, "/alice/")))
			}
			want := containerGraph(self, urls)
			for _, mt := range []string{MediaTurtle, MediaNTriples, MediaNQuads} {
				w := step{name: "full listing", method: "GET", path: "/alice/big/", agent: testOwner, hdr: map[string]string{"Accept": mt}, status: 200,
					want: map[string]string{"Content-Type": mt}}.run(t, h)
				if w.Header().Get("Link") != "" && strings.Contains(strings.Join(w.Header().Values("Link"), ","), `rel="next"`) {
					t.Errorf("%s: a full listing links a next page", mt)
				}
				got, err := conformance.Parse(t, mt, self, w.Body.Bytes(), "")
				if err != nil {
					t.Fatalf("%s: %v\n%.500s", mt, err, w.Body.Bytes())
				}
				if !rdf.Isomorphic(got, want) {
					t.Errorf("%s: listing has %d statements, want %d (%d members)", mt, len(got), len(want), len(urls))
				}
			}
			// JSON-LD names a context jsonld.js cannot fetch today: the
			// listing is read as JSON here.
			w := step{name: "full JSON-LD listing", method: "GET", path: "/alice/big/", agent: testOwner, hdr: map[string]string{"Accept": MediaJSONLD}, status: 200}.run(t, h)
			var doc struct {
				ID       string   `json:"id"`
				Contains []string `json:"contains"`
				Next     string   `json:"next"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.ID != self || strings.Join(doc.Contains, " ") != strings.Join(urls, " ") || doc.Next != "" {
				t.Errorf("JSON-LD listing: id %q, %d members (want %d), next %q", doc.ID, len(doc.Contains), len(urls), doc.Next)
			}
			// Paging stays for those who ask.
			w = step{name: "a page", method: "GET", path: "/alice/big/?limit=100", agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 200}.run(t, h)
			page, err := conformance.Parse(t, MediaTurtle, self, w.Body.Bytes(), "")
			if err != nil {
				t.Fatal(err)
			}
			if !rdf.Isomorphic(page, containerGraph(self, urls[:100])) {
				t.Errorf("?limit=100 gave %d statements, want the first 100 members", len(page))
			}
			if !strings.Contains(strings.Join(w.Header().Values("Link"), ","), `rel="next"`) || w.Header().Get("ETag") == "" {
				t.Errorf("a page lacks its next link or ETag: %v", w.Header())
			}
		})
	}
}

// An empty container lists its types alone. A listing of one batch has
// Content-Length and an ETag that conditional reads match; a longer one
// has neither, so If-None-Match: * is the one tag that matches it, and any
// other If-Match fails. HEAD answers GET's headers without the body.
func TestContainerListingEdges(t *testing.T) {
	conformance.Need(t)
	h, repo := newTestHandlerConfig(t, Config{}, nil)
	fillContainer(t, repo, "/alice/empty/", 0, false)
	fillContainer(t, repo, "/alice/long/", listBatch+1, false)
	self := testRoot + "empty/"
	get := func(name, p string, hdr map[string]string, status int) *httptest.ResponseRecorder {
		if hdr == nil {
			hdr = map[string]string{}
		}
		hdr["Accept"] = MediaTurtle
		return step{name: name, method: "GET", path: p, agent: testOwner, hdr: hdr, status: status}.run(t, h)
	}
	w := get("empty", "/alice/empty/", nil, 200)
	got, err := conformance.Parse(t, MediaTurtle, self, w.Body.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !rdf.Isomorphic(got, containerGraph(self, nil)) {
		t.Errorf("empty container: %v", got)
	}
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
		t.Errorf("a one-batch listing has ETag %q, Content-Length %q (body %d bytes)", etag, w.Header().Get("Content-Length"), w.Body.Len())
	}
	get("If-None-Match the ETag", "/alice/empty/", map[string]string{"If-None-Match": etag}, 304)
	get("If-Match the ETag", "/alice/empty/", map[string]string{"If-Match": etag}, 200)
	fillContainer(t, repo, "/alice/empty/", 1, false)
	get("If-None-Match the old ETag after a member came", "/alice/empty/", map[string]string{"If-None-Match": etag}, 200)

	w = get("long", "/alice/long/", nil, 200)
	if w.Header().Get("ETag") != "" || w.Header().Get("Content-Length") != "" {
		t.Errorf("a streamed listing has ETag %q, Content-Length %q", w.Header().Get("ETag"), w.Header().Get("Content-Length"))
	}
	get("If-None-Match *", "/alice/long/", map[string]string{"If-None-Match": "*"}, 304)
	get("If-None-Match a tag", "/alice/long/", map[string]string{"If-None-Match": `"x"`}, 200)
	get("If-Match a tag", "/alice/long/", map[string]string{"If-Match": `"x"`}, 412)
	get("If-Match *", "/alice/long/", map[string]string{"If-Match": "*"}, 200)
	for _, p := range []string{"/alice/empty/", "/alice/long/"} {
		g := get("GET", p, nil, 200)
		head := step{name: "HEAD", method: "HEAD", path: p, agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 200}.run(t, h)
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s sent %d bytes", p, head.Body.Len())
		}
		for _, k := range []string{"Content-Type", "Content-Length", "ETag"} {
			if g.Header().Get(k) != head.Header().Get(k) {
				t.Errorf("HEAD %s: %s %q, GET's %q", p, k, head.Header().Get(k), g.Header().Get(k))
			}
		}
	}
}

// A listing cut off by a store error after its first byte aborts the
// response, so the client sees a broken transfer instead of a listing that
// ends as if complete.
func TestContainerListingAbort(t *testing.T) {
	h, repo := newTestHandlerConfig(t, Config{}, func(st store.Store) store.Store { return cursorFailStore{st} })
	fillContainer(t, repo, "/alice/big/", listBatch+10, false)
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+"/alice/big/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-agent", testOwner)
	req.Header.Set("Accept", MediaTurtle)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, reading the body: %v after %d bytes; want 200 and a broken transfer", resp.StatusCode, err, len(body))
	}
	if !strings.Contains(string(body), "m00001") {
		t.Errorf("the first batch was not sent: %.200s", body)
	}
}

// cursorFailStore fails every scan of a container's membership that starts
// at a cursor: a listing's second batch, never its first.
type cursorFailStore struct{ store.Store }

func (s cursorFailStore) View(ctx context.Context, fn func(store.Reader) error) error {
	return s.Store.View(ctx, func(rd store.Reader) error { return fn(cursorFailReader{rd}) })
}

type cursorFailReader struct{ store.Reader }

func (r cursorFailReader) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	if start != nil && strings.HasPrefix(string(prefix), store.PrefixMember) {
		return errors.New("injected store failure")
	}
	return r.Reader.Scan(prefix, start, reverse, fn)
}

package rdf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/netguard"
)

// contextServer serves remote contexts on loopback and counts the
// requests for each path.
type contextServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
	// vocab is the @vocab of /vocab, changed by tests.
	vocab string
}

func newContextServer(t *testing.T) *contextServer {
	cs := &contextServer{hits: map[string]int{}, vocab: "https://vocab.example/"}
	cs.Server = httptest.NewServer(http.HandlerFunc(cs.serve))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *contextServer) serve(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	cs.hits[r.URL.Path]++
	vocab := cs.vocab
	cs.mu.Unlock()
	ld := func(s string) {
		w.Header().Set("Content-Type", "application/ld+json")
		_, _ = w.Write([]byte(s))
	}
	p := r.URL.Path
	switch {
	case p == "/vocab":
		ld(`{"@context": {"@vocab": "` + vocab + `", "knows": {"@type": "@id"}}}`)
	case p == "/big":
		ld(`{"@context": {"@vocab": "https://vocab.example/", "x": "` + strings.Repeat("x", 128<<10) + `"}}`)
	case p == "/slow":
		<-r.Context().Done()
	case p == "/html":
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>a page about a vocabulary</body></html>"))
	case p == "/nocontext":
		ld(`{"@vocab": "https://vocab.example/"}`)
	case p == "/loop/a":
		ld(`{"@context": ["/loop/b", {"a": "https://vocab.example/a"}]}`)
	case p == "/loop/b":
		ld(`{"@context": {"b": {"@id": "https://vocab.example/b", "@context": "/loop/a"}}}`)
	case strings.HasPrefix(p, "/chain/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(p, "/chain/"))
		if n >= 10 {
			ld(`{"@context": {"@vocab": "https://vocab.example/"}}`)
			return
		}
		ld(fmt.Sprintf(`{"@context": ["/chain/%d", {"c%d": "https://vocab.example/c%d"}]}`, n+1, n, n))
	default:
		http.NotFound(w, r)
	}
}

func (cs *contextServer) count(path string) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.hits[path]
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newTestReader returns a Reader fetching through a real netguard Fetcher
// that may reach loopback, as the server's does with
// --allow-private-targets.
func newTestReader(opts ReaderOptions) *Reader {
	client := netguard.NewClient(netguard.Policy{AllowPrivate: true}, netguard.ClientOptions{MaxRedirects: 3})
	opts.Fetcher = netguard.NewFetcher(client, netguard.FetchLimits{HostMaxFailures: -1})
	return NewReader(opts)
}

func TestReaderLoadsAndCachesRemoteContext(t *testing.T) {
	cs := newContextServer(t)
	clock := &testClock{now: time.Unix(1e9, 0)}
	r := newTestReader(ReaderOptions{Now: clock.Now, TTL: time.Hour})
	doc := []byte(`{"@context": "` + cs.URL + `/vocab", "@id": "https://x.example/s", "name": "Alice", "knows": "https://x.example/bob"}`)
	want := []Quad{
		q(IRI("https://x.example/s"), IRI("https://vocab.example/name"), Literal("Alice", "")),
		q(IRI("https://x.example/s"), IRI("https://vocab.example/knows"), IRI("https://x.example/bob")),
	}
	for i := range 3 {
		got, err := r.Parse(context.Background(), MediaTypeJSONLD, doc, "")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !Isomorphic(got, want) {
			t.Fatalf("read %d: got %v, want %v", i, got, want)
		}
		if err := r.Validate(context.Background(), MediaTypeJSONLD, doc, ""); err != nil {
			t.Fatal(err)
		}
		if err := r.ExpandJSONLD(context.Background(), doc, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.count("/vocab"); n != 1 {
		t.Fatalf("context fetched %d times, want once", n)
	}

	// After the TTL the context is fetched again; the new one counts.
	cs.mu.Lock()
	cs.vocab = "https://vocab2.example/"
	cs.mu.Unlock()
	clock.Add(time.Hour + time.Second)
	got, err := r.Parse(context.Background(), MediaTypeJSONLD, doc, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := cs.count("/vocab"); n != 2 {
		t.Fatalf("context fetched %d times after its TTL, want 2", n)
	}
	if len(got) != 2 || got[0].P.Value != "https://vocab2.example/knows" && got[1].P.Value != "https://vocab2.example/knows" {
		t.Fatalf("refreshed context not used: %v", got)
	}

	// A context that fails to refresh is used as it was.
	cs.Close()
	clock.Add(time.Hour + time.Second)
	if _, err := r.Parse(context.Background(), MediaTypeJSONLD, doc, ""); err != nil {
		t.Fatalf("stale context not used when its server is gone: %v", err)
	}

	// The package functions load nothing remote.
	var uc *UnknownContextError
	if _, err := Parse(MediaTypeJSONLD, doc, ""); !errors.As(err, &uc) || uc.URL != cs.URL+"/vocab" {
		t.Fatalf("Parse: err = %v, want an unknown context error", err)
	}
}

// TestReaderRefusesBadContexts checks that each context that cannot be
// used is refused with a *ContextError naming its URL and the reason,
// inside a *JSONLDError, and that failures are remembered for FailureTTL.
func TestReaderRefusesBadContexts(t *testing.T) {
	cs := newContextServer(t)
	clock := &testClock{now: time.Unix(1e9, 0)}
	r := newTestReader(ReaderOptions{Now: clock.Now, Timeout: time.Second, MaxDepth: 4, MaxPerDocument: 16, MaxContextBytes: 64 << 10})
	many := make([]string, 17)
	for i := range many {
		many[i] = strconv.Quote(cs.URL + "/vocab?n=" + strconv.Itoa(i))
	}
	tests := []struct {
		name, context, url, reason string
	}{
		{"not found", `"` + cs.URL + `/missing"`, cs.URL + "/missing", "status 404"},
		{"too large", `"` + cs.URL + `/big"`, cs.URL + "/big", "response body too large"},
		{"no answer", `"` + cs.URL + `/slow"`, cs.URL + "/slow", "no answer within 1s"},
		{"a web page", `"` + cs.URL + `/html"`, cs.URL + "/html", "the document is text/html, not JSON-LD"},
		{"not a context", `"` + cs.URL + `/nocontext"`, cs.URL + "/nocontext", "not a JSON-LD context"},
		{"in @import", `{"@version": 1.1, "@import": "` + cs.URL + `/missing"}`, cs.URL + "/missing", "status 404"},
		{"loop", `"` + cs.URL + `/loop/a"`, cs.URL + "/loop/a", "contexts include each other in a loop: " +
			cs.URL + "/loop/a -> " + cs.URL + "/loop/b -> " + cs.URL + "/loop/a"},
		{"chain too deep", `"` + cs.URL + `/chain/5"`, cs.URL + "/chain/5", "remote contexts include remote contexts more than 4 deep: " +
			cs.URL + "/chain/5 -> " + cs.URL + "/chain/6 -> " + cs.URL + "/chain/7 -> " + cs.URL + "/chain/8 -> " + cs.URL + "/chain/9"},
		{"too many", "[" + strings.Join(many, ", ") + "]", cs.URL + "/vocab?n=16", "the document uses more than 16 remote contexts"},
		{"not http", `"ftp://x.example/ctx"`, "ftp://x.example/ctx", "not an http(s) URL"},
	}
	for _, tc := range tests {
		doc := []byte(`{"@context": ` + tc.context + `, "@id": "https://x.example/s", "name": "x"}`)
		for name, read := range map[string]func() error{
			"parse":  func() error { _, err := r.ParseJSONLD(context.Background(), doc, ""); return err },
			"expand": func() error { return r.ExpandJSONLD(context.Background(), doc, "") },
		} {
			err := read()
			var ce *ContextError
			var je *JSONLDError
			if !errors.As(err, &ce) || !errors.As(err, &je) {
				t.Errorf("%s %s: err = %v, want a *ContextError in a *JSONLDError", tc.name, name, err)
				continue
			}
			want := "invalid JSON-LD: cannot load remote context " + tc.url + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, tc.reason) {
				t.Errorf("%s %s: message %q, want %q...%q", tc.name, name, msg, want, tc.reason)
			}
		}
	}
	// Each failed context was fetched once, however often it was named.
	for _, p := range []string{"/missing", "/big", "/slow", "/html", "/nocontext"} {
		if n := cs.count(p); n != 1 {
			t.Errorf("%s fetched %d times, want once (failures are remembered)", p, n)
		}
	}
	// A chain within the limit is read.
	ok := []byte(`{"@context": "` + cs.URL + `/chain/7", "@id": "https://x.example/s", "c9": "x"}`)
	if _, err := r.ParseJSONLD(context.Background(), ok, ""); err != nil {
		t.Errorf("a chain 4 deep: %v", err)
	}
	// After FailureTTL a failed context is fetched again.
	clock.Add(DefaultContextFailureTTL + time.Second)
	doc := []byte(`{"@context": "` + cs.URL + `/missing", "name": "x"}`)
	if _, err := r.ParseJSONLD(context.Background(), doc, ""); err == nil {
		t.Fatal("missing context accepted")
	}
	if n := cs.count("/missing"); n != 2 {
		t.Errorf("/missing fetched %d times after FailureTTL, want 2", n)
	}
}

// TestReaderCacheBounds checks that the cache holds at most CacheEntries
// contexts, dropping the least recently used.
func TestReaderCacheBounds(t *testing.T) {
	cs := newContextServer(t)
	r := newTestReader(ReaderOptions{CacheEntries: 2})
	read := func(n int) {
		doc := []byte(`{"@context": "` + cs.URL + `/vocab?n=` + strconv.Itoa(n) + `", "name": "x"}`)
		if _, err := r.ParseJSONLD(context.Background(), doc, ""); err != nil {
			t.Fatal(err)
		}
	}
	read(1)
	read(2)
	read(1) // 1 is now the most recently used
	read(3) // drops 2
	if n := cs.count("/vocab"); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
	read(1)
	if n := cs.count("/vocab"); n != 3 {
		t.Fatalf("recently used context fetched again (%d fetches)", n)
	}
	read(2)
	if n := cs.count("/vocab"); n != 4 {
		t.Fatalf("dropped context not fetched again (%d fetches)", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lru.Len() != 2 || len(r.entries) != 2 {
		t.Fatalf("cache holds %d entries (%d in the index), want 2", r.lru.Len(), len(r.entries))
	}
}

// funcFetcher serves every URL from a function: for fuzzing the reading
// of context documents without a network.
type funcFetcher func(u string) []byte

func (f funcFetcher) Fetch(_ context.Context, u, _ string, maxBytes int64, read func(string, []byte) error) error {
	b := f(u)
	if int64(len(b)) > maxBytes {
		return errors.New("too large")
	}
	return read("application/ld+json", b)
}

// FuzzRemoteContext checks that any document served as a remote context,
// which may include itself and others under any name, is read or refused
// without a panic or a runaway recursion.
func FuzzRemoteContext(f *testing.F) {
	for _, seed := range []string{
		`{"@context": {"@vocab": "https://v.example/"}}`,
		`{"@context": "https://ctx.example/a"}`,
		`{"@context": ["b", {"p": {"@id": "https://v.example/p", "@context": "c"}}]}`,
		`{"@context": {"@version": 1.1, "@import": "https://ctx.example/a"}}`,
		`{"@context": {"t": {"@id": "https://v.example/t", "@context": {"@context": "/x"}}}}`,
		`{"@context": null}`,
		`[1]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, ctxDoc []byte) {
		r := NewReader(ReaderOptions{Fetcher: funcFetcher(func(string) []byte { return ctxDoc })})
		doc := []byte(`{"@context": "https://ctx.example/a", "@id": "https://x.example/s", "p": {"t": "x", "@type": "T"}, "name": "x"}`)
		_, err := r.ParseJSONLD(context.Background(), doc, "https://x.example/doc")
		var je *JSONLDError
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("error %v is not a *JSONLDError", err)
		}
	})
}

// TestReaderBoundsContextUses: json-gold processes a scoped remote context
// again on each use of its term; a document using it too often is refused,
// and one using it a few times is read with one fetch.
func TestReaderBoundsContextUses(t *testing.T) {
	cs := newContextServer(t)
	r := newTestReader(ReaderOptions{})
	doc := func(n int) []byte {
		items := strings.TrimSuffix(strings.Repeat(`{"name": "x"}, `, n), ", ")
		return []byte(`{"@context": {"@version": 1.1, "item": {"@id": "https://vocab.example/item", "@context": "` + cs.URL + `/vocab"}},
			"@id": "https://x.example/s", "item": [` + items + `]}`)
	}
	if _, err := r.ParseJSONLD(context.Background(), doc(10), ""); err != nil {
		t.Fatal(err)
	}
	_, err := r.ParseJSONLD(context.Background(), doc(maxContextLoadsPerDoc+1), "")
	var ce *ContextError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "the document uses remote contexts more than 256 times") {
		t.Fatalf("err = %v, want the per-document bound", err)
	}
	if n := cs.count("/vocab"); n != 1 {
		t.Fatalf("context fetched %d times, want once", n)
	}
}

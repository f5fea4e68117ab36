package inbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/podurl"
)

// The inbox handlers tested on their own, over HTTP, with a real store and
// the access rule a pod's inbox has by default: its owner reads it, any
// authenticated agent may append, anonymous callers may do neither.

const (
	hRoot  = "http://pod.test/alice/"
	hOwner = hRoot + "profile/card#me"
	hOther = "http://other.test/bob/profile/card#me"
)

func newInboxServer(t *testing.T) http.Handler {
	t.Helper()
	st, ib := newWatchedStore(t)
	h := NewHandler(Config{
		Store: st, Inboxes: ib, URLs: mustURLs("http://pod.test"),
		Authorize: func(_ context.Context, r *ldp.Request, _ string, need acl.Mode) error {
			switch {
			case r.Principal.Agent == "":
				return apierr.Unauthenticated()
			case r.Principal.Agent == hOwner, need == acl.Append:
				return nil
			}
			return apierr.Forbidden()
		},
		MaxBodyBytes: 4 << 10,
	})
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(apierr.Handle(nil, func(c *gin.Context) error {
		r := &ldp.Request{Target: ldp.Target{Pod: "alice", Path: Path("alice"), Root: hRoot},
			Principal: ldp.Principal{Agent: c.GetHeader("x-agent")}}
		if c.Request.Method == http.MethodPost {
			return h.Receive(c, r)
		}
		return h.List(c, r)
	}))
	return e
}

func inboxDo(t *testing.T, h http.Handler, method, query, agent, body string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://pod.test/alice/inbox/"+query, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/ld+json")
	}
	if agent != "" {
		req.Header.Set("x-agent", agent)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Body)
	return w.Code, w.Header(), string(b)
}

// TestHandlerReceive: what POST inbox/ stores and what it refuses, with
// the one answer for each.
func TestHandlerReceive(t *testing.T) {
	h := newInboxServer(t)
	for _, c := range []struct {
		name, agent, body string
		status            int
		has               string
	}{
		{"anonymous", "", `{"@id":"","http://ex.org/p":"x"}`, 401, ""},
		{"not JSON", hOther, `{"@id": `, 400, ""},
		{"invalid UTF-8", hOther, "{\"http://ex.org/p\":\"\xff\"}", 400, "offset"},
		{"too deep", hOther, strings.Repeat("[", 300) + strings.Repeat("]", 300), 400, "256"},
		{"too large", hOther, `{"http://ex.org/p":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"a notification", hOther, `{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce","summary":"hi"}`, 201, ""},
	} {
		code, hdr, body := inboxDo(t, h, "POST", "", c.agent, c.body)
		if code != c.status || !strings.Contains(body, c.has) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.status, c.has)
		}
		if code == 201 && !strings.HasPrefix(hdr.Get("Location"), hRoot+"inbox/") {
			t.Errorf("%s: Location %q", c.name, hdr.Get("Location"))
		}
	}
	// Only the notification was stored.
	_, _, body := inboxDo(t, h, "GET", "?format=ids", hOwner, "")
	var page struct{ Contains []string }
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Contains) != 1 {
		t.Fatalf("listing after the refusals: %v %s", err, body)
	}
}

// TestHandlerList: the listing is in arrival order, pages with a cursor,
// refuses what its query rules refuse, and is the owner's to read.
func TestHandlerList(t *testing.T) {
	h := newInboxServer(t)
	for i := range 5 {
		if code, _, body := inboxDo(t, h, "POST", "", hOther, `{"http://ex.org/n":`+string(rune('0'+i))+`}`); code != 201 {
			t.Fatalf("POST %d: %d %s", i, code, body)
		}
	}
	if code, _, _ := inboxDo(t, h, "GET", "", "", ""); code != 401 {
		t.Errorf("anonymous listing: %d", code)
	}
	if code, _, _ := inboxDo(t, h, "GET", "", hOther, ""); code != 403 {
		t.Errorf("listing by a sender: %d", code)
	}
	var all []string
	next := ""
	for pages := 0; pages < 5; pages++ {
		q := "?format=ids&limit=2"
		if next != "" {
			q += "&from=" + next
		}
		code, hdr, body := inboxDo(t, h, "GET", q, hOwner, "")
		if code != 200 {
			t.Fatalf("page: %d %s", code, body)
		}
		var page struct {
			Contains []string
			Next     string
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Contains...)
		if len(page.Contains) < 2 {
			break
		}
		if links := strings.Join(hdr.Values("Link"), ", "); !strings.Contains(links, `rel="next"`) {
			t.Errorf("a full page has no Link rel=next: %q", links)
		}
		next = page.Next
	}
	if len(all) != 5 {
		t.Fatalf("pages listed %d items, want 5: %v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Errorf("not in arrival order: %v", all)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?from=nope", "?wait=-1"} {
		if code, _, body := inboxDo(t, h, "GET", q, hOwner, ""); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %s, want 400", q, code, body)
		}
	}
}

// TestHandlerLongPoll: a listing with ?wait answers when a notification
// arrives, with it.
func TestHandlerLongPoll(t *testing.T) {
	h := newInboxServer(t)
	_, _, body := inboxDo(t, h, "GET", "?format=ids", hOwner, "")
	var first struct{ Next string }
	if err := json.Unmarshal([]byte(body), &first); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var code int
	wg.Add(1)
	go func() {
		defer wg.Done()
		code, _, body = inboxDo(t, h, "GET", "?format=ids&wait=30&from="+first.Next, hOwner, "")
	}()
	// The poll is answered by the arrival, not by its 30 s wait: keep
	// posting until it returns (the first post may come before the poll
	// is waiting, and is then in its first read).
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(10 * time.Second) // the poll's own wait is 30 s
	for posted := 0; ; posted++ {
		select {
		case <-done:
			if code != 200 || !strings.Contains(body, hRoot+"inbox/") {
				t.Fatalf("long-poll: %d %s", code, body)
			}
			return
		case <-deadline:
			t.Fatal("the long-poll was not woken by the arrivals")
		case <-time.After(20 * time.Millisecond):
			if posted < 50 {
				inboxDo(t, h, "POST", "", hOther, `{"http://ex.org/p":"x"}`)
			}
		}
	}
}

// mustURLs returns the pod URL scheme of a test server at base.
func mustURLs(base string) podurl.Scheme {
	u, err := podurl.New(base, podurl.ModePath)
	if err != nil {
		panic(err)
	}
	return u
}

// inboxPost POSTs body of media type ct to alice's inbox as agent.
func inboxPost(t *testing.T, h http.Handler, agent, ct, body string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest("POST", hRoot+"inbox/", strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("x-agent", agent)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Header(), w.Body.String()
}

// TestHandlerReceiveRDF: a notification may be any RDF the inbox's
// Accept-Post names: JSON-LD objects, arrays and @graph documents, Turtle,
// N-Triples and N-Quads; it is stored in its media type and listed as
// JSON-LD, relative IRIs resolved against the item's URL.
func TestHandlerReceiveRDF(t *testing.T) {
	h := newInboxServer(t)
	const as = "https://www.w3.org/ns/activitystreams#"
	for _, c := range []struct {
		name, ct, body string
		status         int
		has            string // in the listing entry of the item
	}{
		{"turtle", "text/turtle", `<> a <` + as + `Announce> ; <` + as + `summary> "from turtle" .`, 201, "from turtle"},
		{"turtle with charset", "text/turtle; charset=utf-8", `<#a> <` + as + `summary> "charset" .`, 201, "#a"},
		{"n-triples", "application/n-triples", `<http://ex.org/a> <` + as + `summary> "from n-triples" .` + "\n", 201, "from n-triples"},
		{"n-quads", "application/n-quads", `<http://ex.org/a> <` + as + `summary> "from n-quads" <http://ex.org/g> .` + "\n", 201, "from n-quads"},
		{"JSON-LD array", "application/ld+json", `[{"@id":"","@type":"` + as + `Announce","` + as + `summary":"from an array"}]`, 201, "from an array"},
		{"JSON-LD @graph", "application/ld+json", `{"@context":{"as":"` + as + `"},"@graph":[{"@id":"#n","as:summary":"from a graph"}]}`, 201, "from a graph"},
		{"bad turtle", "text/turtle", `<> a `, 400, ""},
		{"empty array", "application/ld+json", `[]`, 400, ""},
		{"array of numbers", "application/ld+json", `[1]`, 400, ""},
		{"plain text", "text/plain", `hello`, 415, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := inboxPost(t, h, hOther, c.ct, c.body)
			if code != c.status {
				t.Fatalf("%d %s, want %d", code, body, c.status)
			}
			if code != 201 {
				if !strings.Contains(body, `"error"`) {
					t.Fatalf("no error message: %s", body)
				}
				return
			}
			item := hdr.Get("Location")
			_, _, list := inboxDo(t, h, "GET", "?limit=1000", hOwner, "")
			var page struct{ Contains []map[string]any }
			if err := json.Unmarshal([]byte(list), &page); err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Contains {
				if e["url"] != item {
					continue
				}
				b, _ := json.Marshal(e["notification"])
				if !strings.Contains(string(b), c.has) || e["agent"] != hOther {
					t.Fatalf("entry %v lacks %q", e, c.has)
				}
				if c.has == "#a" && !strings.Contains(string(b), item+"#a") {
					t.Fatalf("relative IRI not resolved against the item %s: %s", item, b)
				}
				return
			}
			t.Fatalf("%s not listed: %s", item, list)
		})
	}
}

// TestHandlerReceiveID: a notification's id names it. The same one again
// is a 200 with the first Location, a different one under the same id a
// 409 (never dropped behind a 200); an id in another pod of this server is
// refused, unless the sender is that pod's owner, however it authenticated
// (a Solid-OIDC principal has no key, so no pod but its WebID's).
func TestHandlerReceiveID(t *testing.T) {
	h := newInboxServer(t)
	carol := "http://pod.test/carol/profile/card#me"
	first := `{"id":"https://example.org/act/1","type":"Announce"}`
	for _, c := range []struct {
		name, agent, body string
		status            int
	}{
		{"new id", hOther, first, 201},
		{"same notification again", hOther, first, 200},
		{"same notification, another sender", carol, first, 200},
		{"another notification, same id", hOther, `{"id":"https://example.org/act/1","type":"Like"}`, 409},
		{"id in the sender's own pod (WebID only)", carol, `{"id":"http://pod.test/carol/t1/a.ttl#act1","type":"Announce"}`, 201},
		{"id in another pod of this server", carol, `{"id":"http://pod.test/dave/publish/x","type":"Announce"}`, 403},
		{"id in another pod, another server's agent", hOther, `{"id":"http://pod.test/carol/t1/b#x","type":"Announce"}`, 403},
		{"not an owner's WebID", "http://pod.test/carol/people#me", `{"id":"http://pod.test/carol/t1/c#x","type":"Announce"}`, 403},
	} {
		code, hdr, body := inboxPost(t, h, c.agent, "application/ld+json", c.body)
		if code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.status)
		}
		if code >= 400 && !strings.Contains(body, `"error"`) {
			t.Errorf("%s: no error message: %s", c.name, body)
		}
		if code == 200 && !strings.HasPrefix(hdr.Get("Location"), hRoot+"inbox/") {
			t.Errorf("%s: Location %q", c.name, hdr.Get("Location"))
		}
	}
	_, _, list := inboxDo(t, h, "GET", "?limit=1000", hOwner, "")
	if strings.Contains(list, "Like") || strings.Count(list, "https://example.org/act/1") != 1 {
		t.Fatalf("listing: %s", list)
	}
}

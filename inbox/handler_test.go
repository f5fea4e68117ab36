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

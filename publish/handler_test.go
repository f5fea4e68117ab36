package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// POST publish/ tested on its own, over HTTP: a real in-memory store with
// pods producer, alice and crm, the real delivery queue, and the principal
// handed in as the server would after checking the key.

const hBase = "http://pod.test/"

func newPublishServer(t *testing.T) (http.Handler, store.Store) {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + testURLs(hBase).WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + testURLs(hBase).WebID("crm") + `","subscribes":["realestate/contact"]}]}`
	err = st.Update(context.Background(), func(tx store.Txn) error {
		for _, pod := range []string{"producer", "alice", "crm"} {
			if err := ldp.CreatePod(tx, pod, now); err != nil {
				return err
			}
			for _, c := range []string{"inbox/", "publish/"} {
				if _, _, err := ldp.Put(tx, ldp.StoragePath(pod, c), "", nil, now, ldp.Preconditions{}); err != nil {
					return err
				}
			}
		}
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", "settings/subscriptions"), ldp.MediaJSON, []byte(settings), now, ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	q := deliver.New(deliver.Config{Store: st})
	s := New(Config{Store: st, URLs: testURLs(hBase), Inboxes: inbox.New(), Queue: q})
	q.Start()
	t.Cleanup(q.Close)
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(apierr.Handle(nil, func(c *gin.Context) error {
		r := &ldp.Request{Target: ldp.Target{Pod: "producer", Path: ldp.StoragePath("producer", "publish/"), Root: hBase + "producer/"}}
		if pod := c.GetHeader("x-key-pod"); pod != "" {
			r.Principal = ldp.Principal{Pod: pod, Agent: testURLs(hBase).WebID(pod), App: "publisher"}
		}
		return s.Publish(c, r)
	}))
	return e, st
}

func publishDo(t *testing.T, h http.Handler, keyPod, ctype, body string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest("POST", hBase+"producer/publish/", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if keyPod != "" {
		req.Header.Set("x-key-pod", keyPod)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Body)
	return w.Code, w.Header(), string(b)
}

// copies counts the copies of event id in pod's inbox.
func copies(t *testing.T, st store.Store, pod, id string) int {
	t.Helper()
	n := 0
	err := st.View(context.Background(), func(rd store.Reader) error {
		pg, err := inbox.List(rd, inbox.Path(pod), 0, 1000)
		for _, it := range pg.Items {
			if strings.Contains(string(it.Body), `"id":"`+id+`"`) {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHandlerPublish: each refusal of POST publish/ with its one answer,
// and an accepted event stored with one copy in each inbox it goes to.
func TestHandlerPublish(t *testing.T) {
	h, st := newPublishServer(t)
	alice := testURLs(hBase).WebID("alice")
	event := func(recipient, topic string) string {
		return `{"recipient":"` + recipient + `","topic":"` + topic + `","data":{"type":"AddAction"}}`
	}
	msg := func(s string) string { b, _ := json.Marshal(map[string]string{"error": s}); return string(b) }
	for _, c := range []struct {
		name, keyPod, ctype, body string
		status                    int
		want                      string // the whole body
	}{
		{"no key", "", "application/json", event(alice, "realestate/contact#add"), 401, msg(acl.MsgNoKey)},
		{"another pod's key", "crm", "application/json", event(alice, "realestate/contact#add"), 403, msg(MsgForeignKey)},
		{"not JSON", "producer", "text/plain", event(alice, "realestate/contact#add"), 415, msg(MsgMediaType)},
		{"no recipient", "producer", "application/json", `{"topic":"realestate/contact#add","data":{}}`, 400, msg(MsgNoRecipient)},
		{"not permitted", "producer", "application/json", event(alice, "realestate/listing#add"), 403,
			msg(fmt.Sprintf(MsgNotAuthorized, alice, "realestate/listing#add"))},
		{"one bad event refuses the array", "producer", "application/json",
			"[" + event(alice, "realestate/contact#add") + `,{"topic":"realestate/contact#add","data":{}}]`, 400, msg("events[1]: " + MsgNoRecipient)},
	} {
		code, _, body := publishDo(t, h, c.keyPod, c.ctype, c.body)
		if code != c.status || strings.TrimSpace(body) != c.want {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.status, c.want)
		}
	}
	// Nothing was stored by the refusals: no inbox holds anything.
	for _, pod := range []string{"alice", "crm"} {
		if n := copies(t, st, pod, ""); n != 0 {
			t.Fatalf("%s's inbox holds %d items after refusals only", pod, n)
		}
	}

	// Accepted: 201, Location, one copy for the recipient and its subscriber.
	const id = "4c99d051-a526-4526-9cca-34f92a6c8c9d"
	body := `{"id":"` + id + `","recipient":"` + alice + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	code, hdr, resp := publishDo(t, h, "producer", "application/json", body)
	loc := hdr.Get("Location")
	if code != 201 || !strings.HasPrefix(loc, hBase+"producer/publish/") || !strings.Contains(resp, loc) {
		t.Fatalf("publish: %d %s (Location %q)", code, resp, loc)
	}
	for _, pod := range []string{"alice", "crm"} {
		if n := copies(t, st, pod, loc); n != 1 {
			t.Errorf("%s holds %d copies of the event, want 1", pod, n)
		}
	}
	// The same id and body again: a safe retry, 200 with the same Location.
	if code, hdr, _ := publishDo(t, h, "producer", "application/json", body); code != 200 || hdr.Get("Location") != loc {
		t.Errorf("retry: %d %q, want 200 %q", code, hdr.Get("Location"), loc)
	}
	// The same id with another body: 409 (naming the id as stored, without
	// its dashes).
	other := strings.Replace(body, "AddAction", "RemoveAction", 1)
	if code, _, resp := publishDo(t, h, "producer", "application/json", other); code != 409 || strings.TrimSpace(resp) != msg(fmt.Sprintf(MsgConflict, strings.ReplaceAll(id, "-", ""))) {
		t.Errorf("reused id: %d %s", code, resp)
	}
	for _, pod := range []string{"alice", "crm"} {
		if n := copies(t, st, pod, loc); n != 1 {
			t.Errorf("after the retry and the conflict %s holds %d copies, want 1", pod, n)
		}
	}
}

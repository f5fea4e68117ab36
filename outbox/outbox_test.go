package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/publish"
	"podserver/store"
)

const root = "http://x/"

// pods returns the pod URL scheme of the test server at http://x/.
func pods() podurl.Scheme {
	u, err := podurl.New(root, podurl.ModePath)
	if err != nil {
		panic(err)
	}
	return u
}

// fixture is an outbox Handler over an in-memory store with the pods
// producer, alice and crm; alice lets producer publish realestate/contact
// and routes it to crm's inbox and to a webhook. The queue is not started unless a test starts it.
type fixture struct {
	h  *Handler
	st store.Store
	q  *deliver.Queue
}

func newFixture(t *testing.T) *fixture { return newFixtureSchedule(t, nil) }

// newFixtureSchedule is newFixture with the queue's retry schedule (nil:
// the default).
func newFixtureSchedule(t *testing.T, schedule []time.Duration) *fixture {
	t.Helper()
	// The change feed wakes the listing's long-polls, as in the server.
	var h atomic.Pointer[Handler]
	st, err := store.Open(store.Options{InMemory: true, ChangePrefixes: []string{store.PrefixOutbox}, OnChange: func(ch []store.Change) {
		if h := h.Load(); h != nil {
			h.Observe(ch)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := deliver.New(deliver.Config{Store: st, Schedule: schedule})
	t.Cleanup(q.Close)
	p := pods()
	settings := `{"version":"1","items":[` +
		`{"type":"Subscription","agent":"` + p.WebID("producer") + `","publishes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"` + p.WebID("crm") + `","subscribes":["realestate/contact"]},` +
		`{"type":"Subscription","agent":"https://hooks.example/#me","subscribes":["realestate/*"],"target":"https://hooks.example/cb"}]}`
	err = st.Update(context.Background(), func(tx store.Txn) error {
		for _, name := range []string{"producer", "alice", "crm"} {
			if err := ldp.CreatePod(tx, name, time.Now()); err != nil {
				return err
			}
		}
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", "settings/subscriptions"), ldp.MediaJSONLD, []byte(settings), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Remote, so that alice's webhook is one of the event's targets (the
	// client is never used: no test attempts a webhook through publish).
	pub := publish.New(publish.Config{Store: st, URLs: p, Inboxes: inbox.New(), Queue: q, Remote: true, Client: &http.Client{}})
	f := &fixture{h: New(Config{Store: st, Queue: q, URLs: p, Publish: pub}), st: st, q: q}
	h.Store(f.h)
	return f
}

// owner is the principal of producer's owner key.
var owner = ldp.Principal{Agent: pods().WebID("producer"), Pod: "producer", Owner: true}

// do serves one request for url (in producer's pod) as pr, through
// apierr.Handle as the server does.
func (f *fixture) do(t *testing.T, pr ldp.Principal, method, url, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	return f.doHeader(t, pr, method, url, contentType, body, nil)
}

// doHeader is do with request headers.
func (f *fixture) doHeader(t *testing.T, pr ldp.Principal, method, url, contentType, body string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	rel := strings.TrimPrefix(url, root+"producer/")
	rel, _, _ = strings.Cut(rel, "?")
	r := &ldp.Request{Target: ldp.Target{Pod: "producer", Path: ldp.StoragePath("producer", rel), Root: root + "producer/"}, Principal: pr}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Any("/*any", apierr.Handle(slog.New(slog.DiscardHandler), func(c *gin.Context) error {
		if strings.HasPrefix(rel, "publish/") {
			LinkEventStatus(c, r, rel)
			return nil
		}
		return f.h.Serve(c, r, rel)
	}))
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

// enqueue adds r to the queue and returns it as stored.
func (f *fixture) enqueue(t *testing.T, r deliver.Record) deliver.Record {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx store.Txn) error {
		var err error
		r, err = f.q.Enqueue(tx, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// errorBody returns the "error" of a JSON error answer.
func errorBody(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var m struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return m.Error
}

// Only the pod's owner reads its outbox.
func TestOutboxOwnerOnly(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		pr     ldp.Principal
		status int
		msg    string
	}{
		{"anonymous", ldp.Principal{}, http.StatusUnauthorized, apierr.MsgUnauthenticated},
		{"app key", ldp.Principal{Agent: owner.Agent, Pod: "producer", App: "app"}, http.StatusForbidden, errOutboxOwner.Msg},
		{"another pod's owner", ldp.Principal{Agent: pods().WebID("alice"), Pod: "alice", Owner: true}, http.StatusForbidden, errOutboxOwner.Msg},
		{"owner", owner, http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, tc.pr, http.MethodGet, root+"producer/outbox/", "", "")
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.msg != "" && errorBody(t, w) != tc.msg {
				t.Errorf("error %q, want %q", errorBody(t, w), tc.msg)
			}
		})
	}
}

// The outbox lists the pod's records with their state, filters by status,
// serves each record, and refuses what it does not serve by name.
func TestOutboxListAndItems(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Hour)
	hook := f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "producer", Event: "/producer/publish/e1", EventID: root + "producer/publish/e1", Target: "https://hooks.example/cb", Due: later})
	local := f.enqueue(t, deliver.Record{Kind: deliver.KindInbox, Pod: "producer", Event: "/producer/publish/e1", EventID: root + "producer/publish/e1", Target: inbox.Path("alice"), Due: later})
	alices := f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "alice", EventID: "not producer's", Target: "https://hooks.example/cb", Due: later})

	w := f.do(t, owner, http.MethodGet, root+"producer/outbox/", "", "")
	var list struct {
		ID       string
		Contains []string
		Items    []outboxJSON
		Next     string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != http.StatusOK {
		t.Fatalf("GET outbox/: %d %s", w.Code, w.Body)
	}
	hookURL := root + "producer/outbox/" + strconv.FormatUint(hook.Seq, 10)
	if list.ID != root+"producer/outbox/" || len(list.Items) != 2 || list.Next != "" ||
		list.Contains[0] != hookURL || list.Items[0].ID != hookURL {
		t.Fatalf("GET outbox/: %s", w.Body)
	}
	if it := list.Items[0]; it.Status != outboxPending || it.Kind != deliver.KindWebhook || it.Target != "https://hooks.example/cb" || it.Due.IsZero() {
		t.Errorf("webhook record: %+v", it)
	}
	// A local record names the inbox by its URL, not its storage path.
	if it := list.Items[1]; it.Seq != local.Seq || it.Target != root+"alice/inbox/" {
		t.Errorf("inbox record: %+v", it)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}

	w = f.do(t, owner, http.MethodGet, root+"producer/outbox/?status=failed", "", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Errorf("status=failed: %d %s", w.Code, w.Body)
	}

	cases := []struct {
		name, method, url string
		status            int
		msg               string
	}{
		{"unknown status", http.MethodGet, root + "producer/outbox/?status=dead", http.StatusBadRequest, errOutboxStatus.Msg},
		{"no such record", http.MethodGet, root + "producer/outbox/999999", http.StatusNotFound, errOutboxItem.Msg},
		{"not a seq", http.MethodGet, root + "producer/outbox/abc", http.StatusNotFound, errOutboxItem.Msg},
		{"another pod's record", http.MethodGet, root + "producer/outbox/" + strconv.FormatUint(alices.Seq, 10), http.StatusNotFound, errOutboxItem.Msg},
		{"PUT", http.MethodPut, root + "producer/outbox/", http.StatusMethodNotAllowed, errOutboxMethod.Msg},
		{"DELETE a record", http.MethodDelete, hookURL, http.StatusMethodNotAllowed, errOutboxMethod.Msg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, owner, tc.method, tc.url, "", "")
			if w.Code != tc.status || errorBody(t, w) != tc.msg {
				t.Fatalf("%d %s, want %d %q", w.Code, w.Body, tc.status, tc.msg)
			}
		})
	}

	w = f.do(t, owner, http.MethodGet, hookURL, "", "")
	var one outboxJSON
	if err := json.Unmarshal(w.Body.Bytes(), &one); err != nil || w.Code != http.StatusOK || one.ID != hookURL || one.Status != outboxPending {
		t.Fatalf("GET %s: %d %s", hookURL, w.Code, w.Body)
	}
}

// A dead letter is listed as failed with its last error, and POST to it
// makes it pending again (202).
func TestOutboxRetryDeadLetter(t *testing.T) {
	f := newFixture(t)
	f.q.HandleRemote(deliver.KindWebhook, func(context.Context, deliver.Record) (deliver.Response, error) {
		return deliver.Response{}, deliver.Permanent(errors.New("the hook is gone"))
	})
	f.q.Start()
	rec := f.enqueue(t, deliver.Record{Kind: deliver.KindWebhook, Pod: "producer", EventID: root + "producer/publish/e1", Target: "https://hooks.example/cb", Due: time.Now()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res := f.q.Wait(ctx, rec); res.Status != deliver.StatusDead {
		t.Fatalf("first attempt: %+v", res)
	}
	u := root + "producer/outbox/" + strconv.FormatUint(rec.Seq, 10)
	var v outboxJSON
	w := f.do(t, owner, http.MethodGet, root+"producer/outbox/?status=failed", "", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"contains":["`+u+`"]`) {
		t.Fatalf("status=failed: %d %s", w.Code, w.Body)
	}
	w = f.do(t, owner, http.MethodGet, u, "", "")
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Status != outboxFailed || v.Attempts != 1 || !strings.Contains(v.LastError, "the hook is gone") || !v.Due.IsZero() {
		t.Fatalf("GET dead letter: %d %s", w.Code, w.Body)
	}
	w = f.do(t, owner, http.MethodPost, u, "", "")
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusAccepted || v.Status != outboxPending || v.Attempts != 0 || v.ID != u {
		t.Fatalf("POST (retry): %d %s", w.Code, w.Body)
	}
}

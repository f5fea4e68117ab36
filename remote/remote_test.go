package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/deliver"
	"podserver/httpsig"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/publish"
	"podserver/rdf"
	"podserver/store"
)

// world is one HTTP server on loopback holding, under /{pod}/, the Turtle
// WebID profiles of its pods (producer's names its signing key; nobox's
// names no inbox; down's answers 500), and bob's inbox/, served by
// Remote.Receive. The same Remote sends, so a delivery goes the whole way:
// signed by DeliverLDN, verified by Receive.
type world struct {
	srv    *httptest.Server
	pods   podurl.Scheme
	st     store.Store
	q      *deliver.Queue
	rm     *Remote
	key    ed25519.PrivateKey
	keyID  string
	mu     sync.Mutex
	agents []string // the agents Authorize was asked about
	deny   string   // an agent Authorize refuses
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, key: key}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	w.srv = httptest.NewServer(e)
	t.Cleanup(w.srv.Close)
	if w.pods, err = podurl.New(w.srv.URL, podurl.ModePath); err != nil {
		t.Fatal(err)
	}
	w.keyID = w.pods.PodRoot("producer") + "profile/card#key"
	err = st.Update(context.Background(), func(tx store.Txn) error {
		for _, name := range []string{"producer", "bob"} {
			if err := ldp.CreatePod(tx, name, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q := deliver.New(deliver.Config{Store: st, Schedule: []time.Duration{time.Hour}})
	t.Cleanup(q.Close)
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)
	w.rm = New(Config{
		Store:  st,
		Client: client,
		Logger: slog.New(slog.DiscardHandler),
		SigningKey: func(_ context.Context, pod string) (ed25519.PrivateKey, string, error) {
			if pod != "producer" {
				return nil, "", fmt.Errorf("no key for %s", pod)
			}
			return key, w.keyID, nil
		},
		URLs: w.pods,
		Authorize: func(_ context.Context, r *ldp.Request, _ string, mode acl.Mode) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.agents = append(w.agents, r.Principal.Agent)
			if mode != acl.Append || r.Principal.Agent == w.deny {
				return apierr.Forbidden()
			}
			return nil
		},
		Publish:       publish.New(publish.Config{Store: st, URLs: w.pods, Inboxes: inbox.New(), Queue: q}),
		MaxBodyBytes:  1 << 20,
		SignerKeyWait: 10 * time.Second,
	})
	q.HandleRemote(deliver.KindLDN, w.rm.DeliverLDN)
	q.Start()
	profile := func(inboxLine string) string {
		return "@prefix ldp: <http://www.w3.org/ns/ldp#> .\n@prefix sec: <https://w3id.org/security#> .\n" +
			"<#me> " + inboxLine + "sec:assertionMethod <#key> .\n" +
			"<#key> a sec:Multikey ; sec:controller <#me> ; sec:publicKeyMultibase \"" + httpsig.PublicKeyMultibase(pub) + "\" .\n"
	}
	e.GET("/:pod/profile/card", func(c *gin.Context) {
		if c.Query("slow") != "" {
			time.Sleep(200 * time.Millisecond) // so that concurrent fetches overlap
		}
		switch c.Param("pod") {
		case "down":
			c.Status(http.StatusInternalServerError)
		case "nobox":
			c.Data(http.StatusOK, "text/turtle", []byte(profile("")))
		default:
			c.Data(http.StatusOK, "text/turtle", []byte(profile("ldp:inbox <../inbox/> ; ")))
		}
	})
	e.POST("/bob/inbox/", apierr.Handle(slog.New(slog.DiscardHandler), func(c *gin.Context) error {
		r := &ldp.Request{Target: ldp.Target{Pod: "bob", Path: inbox.Path("bob"), Root: w.pods.PodRoot("bob")}}
		return w.rm.Receive(c, r)
	}))
	w.q = q
	return w
}

// post sends body to bob's inbox, signed with key under keyID unless
// keyID is "".
func (w *world) post(t *testing.T, keyID, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.pods.PodRoot("bob")+"inbox/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if keyID != "" {
		if err := (&httpsig.Signer{KeyID: keyID, Key: w.key}).Sign(req, []byte(body)); err != nil {
			t.Fatal(err)
		}
	} else {
		req.Header.Set("Signature-Input", `sig1=("@method");keyid="x";alg="ed25519"`)
		req.Header.Set("Signature", "sig1=:AAAA:")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func errorOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	var m struct{ Error string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return m.Error
}

// A notification signed with producer's key is stored once in bob's inbox
// (201, then 200 with the same Location), after the verified agent was
// authorized; every refusal says why, and a sender whose profile cannot be
// fetched is told to retry.
func TestReceiveSigned(t *testing.T) {
	w := newWorld(t)
	producer := w.pods.WebID("producer")
	note := `{"id":"` + w.pods.PodRoot("producer") + `publish/e1","type":"Announce"}`

	first := w.post(t, w.keyID, ldp.MediaJSONLD, note)
	loc := first.Header.Get("Location")
	if first.StatusCode != http.StatusCreated || !strings.HasPrefix(loc, w.pods.PodRoot("bob")+"inbox/") {
		t.Fatalf("first delivery: %d Location %q", first.StatusCode, loc)
	}
	again := w.post(t, w.keyID, ldp.MediaJSONLD, note)
	if again.StatusCode != http.StatusOK || again.Header.Get("Location") != loc {
		t.Fatalf("second delivery: %d Location %q, want 200 %q", again.StatusCode, again.Header.Get("Location"), loc)
	}
	w.mu.Lock()
	agents := append([]string(nil), w.agents...)
	w.mu.Unlock()
	if len(agents) != 2 || agents[0] != producer {
		t.Errorf("Authorize was asked about %v, want producer's WebID twice", agents)
	}

	cases := []struct {
		name, keyID, contentType string
		status                   int
		msg                      string
	}{
		{"bad signature", "", ldp.MediaJSONLD, http.StatusUnauthorized, "the request's HTTP message signature was refused: "},
		{"key not in its profile", w.pods.PodRoot("producer") + "profile/card#other", ldp.MediaJSONLD, http.StatusUnauthorized, errSignerKey.Msg},
		{"profile unreachable", w.pods.PodRoot("down") + "profile/card#key", ldp.MediaJSONLD, http.StatusServiceUnavailable, errSignerUnreachable.Msg},
		{"not JSON", w.keyID, "text/plain", http.StatusUnsupportedMediaType, errSignedMedia.Msg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.post(t, tc.keyID, tc.contentType, note)
			if msg := errorOf(t, resp); resp.StatusCode != tc.status || !strings.HasPrefix(msg, tc.msg) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, msg, tc.status, tc.msg)
			}
			if tc.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}

	// The inbox's ACL has the last word on a verified sender.
	w.mu.Lock()
	w.deny = producer
	w.mu.Unlock()
	if resp := w.post(t, w.keyID, ldp.MediaJSONLD, note); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused by the ACL: %d", resp.StatusCode)
	}
}

// DeliverLDN POSTs the stored event, signed with the sending pod's key, to
// the inbox the target's profile names; Receive on the other end verifies
// it. A deleted event and a profile without an inbox are dead letters at
// once; an unreachable profile is retried.
func TestDeliverLDN(t *testing.T) {
	w := newWorld(t)
	ev := `{"id":"` + w.pods.PodRoot("producer") + `publish/e1","type":"Announce"}`
	err := w.st.Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, ldp.StoragePath("producer", "publish/e1"), ldp.MediaJSONLD, []byte(ev), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	send := func(event, target string) deliver.Result {
		var rec deliver.Record
		err := w.st.Update(ctx, func(tx store.Txn) error {
			var err error
			rec, err = w.q.Enqueue(tx, deliver.Record{Kind: deliver.KindLDN, Pod: "producer", Event: event,
				EventID: w.pods.PodRoot("producer") + "publish/e1", Target: target, Due: time.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return w.q.Wait(ctx, rec)
	}

	if res := send("/producer/publish/e1", w.pods.WebID("bob")); res.Status != deliver.StatusDelivered || res.ResponseStatus != http.StatusCreated {
		t.Fatalf("delivery to bob: %+v", res)
	}
	// Stored as sent (the context inline, as it went on the wire), with
	// the verified sender recorded beside it.
	var items []inbox.Item
	err = w.st.View(ctx, func(rd store.Reader) error {
		pg, err := inbox.List(rd, inbox.Path("bob"), 0, 10)
		items = pg.Items
		return err
	})
	if err != nil || len(items) != 1 || items[0].Sender == nil || items[0].Sender.Agent != w.pods.WebID("producer") ||
		!bytes.HasPrefix(items[0].Body, append(append([]byte(`{"@context":`), rdf.InlineContext()...), `,"id":"`+w.pods.PodRoot("producer")+`publish/e1"`...)) {
		t.Fatalf("bob's inbox holds %+v (%v), want the event as sent, from producer", items, err)
	}

	for _, tc := range []struct{ name, event, target, status string }{
		{"deleted event", "/producer/publish/gone", w.pods.WebID("bob"), deliver.StatusDead},
		{"profile without an inbox", "/producer/publish/e1", w.pods.WebID("nobox"), deliver.StatusDead},
		{"profile unreachable", "/producer/publish/e1", w.pods.WebID("down"), deliver.StatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := send(tc.event, tc.target); res.Status != tc.status || !res.Tried {
				t.Fatalf("%+v, want %s", res, tc.status)
			}
		})
	}
}

// Signed POSTs whose key ids name missing documents on a peer, sent by
// anyone without credentials, leave the peer usable: its answers (404s)
// do not make the server refuse it, for deliveries to it nor for
// signatures from it.
func TestKeyIDFloodLeavesPeerUsable(t *testing.T) {
	w := newWorld(t)
	for i := range 3 * 5 { // three times the default failure threshold
		resp := w.post(t, fmt.Sprintf("%s/nope%d/card#key", w.srv.URL, i), "application/ld+json", `{"type":"Announce"}`)
		if resp.StatusCode == http.StatusCreated {
			t.Fatalf("key id %d: accepted", i)
		}
	}
	ev := `{"id":"` + w.pods.PodRoot("producer") + `publish/e1","type":"Announce"}`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rec deliver.Record
	err := w.st.Update(ctx, func(tx store.Txn) error {
		if _, _, err := ldp.Put(tx, ldp.StoragePath("producer", "publish/e1"), ldp.MediaJSONLD, []byte(ev), time.Now(), ldp.Preconditions{}); err != nil {
			return err
		}
		var err error
		rec, err = w.q.Enqueue(tx, deliver.Record{Kind: deliver.KindLDN, Pod: "producer", Event: "/producer/publish/e1",
			EventID: w.pods.PodRoot("producer") + "publish/e1", Target: w.pods.WebID("bob"), Due: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := w.q.Wait(ctx, rec); res.Status != deliver.StatusDelivered || res.ResponseStatus != http.StatusCreated {
		t.Fatalf("delivery to the peer after the flood: %+v (%s), want delivered, 201", res, res.Error)
	}
	if resp := w.post(t, w.keyID, "application/ld+json", `{"id":"`+w.pods.PodRoot("producer")+`publish/e2","type":"Announce"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signed POST from the peer after the flood: %d %s, want 201", resp.StatusCode, errorOf(t, resp))
	}
}

// Deliveries to many recipients whose profiles are on one slow server
// wait for the profile fetcher's slots (2 per host) instead of failing
// their attempt at once.
func TestDeliveriesWaitForProfileFetches(t *testing.T) {
	w := newWorld(t)
	ev := `{"id":"` + w.pods.PodRoot("producer") + `publish/e1","type":"Announce"}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []deliver.Record
	err := w.st.Update(ctx, func(tx store.Txn) error {
		if _, _, err := ldp.Put(tx, ldp.StoragePath("producer", "publish/e1"), ldp.MediaJSONLD, []byte(ev), time.Now(), ldp.Preconditions{}); err != nil {
			return err
		}
		for i := range 10 {
			target := fmt.Sprintf("%sprofile/card?slow=%d#me", w.pods.PodRoot("bob"), i)
			rec, err := w.q.Enqueue(tx, deliver.Record{Kind: deliver.KindLDN, Pod: "producer", Event: "/producer/publish/e1",
				EventID: w.pods.PodRoot("producer") + "publish/e1", Target: target, Due: time.Now()})
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		if res := w.q.Wait(ctx, rec); res.Status != deliver.StatusDelivered {
			t.Errorf("delivery %d: %s (%s), want delivered at the first attempt", i, res.Status, res.Error)
		}
	}
}

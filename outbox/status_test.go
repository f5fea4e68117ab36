package outbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/store"
)

// eventURL is the event the status and replay tests store in producer's
// publish/: addressed to alice, whose settings also route it to crm's inbox
// and a webhook (alice's deliveries, not producer's).
const eventURL = root + "producer/publish/e1"

func (f *fixture) storeEvent(t *testing.T) {
	t.Helper()
	body := `{"id":"` + eventURL + `","recipient":"` + pods().WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	err := f.st.Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, ldp.StoragePath("producer", "publish/e1"), ldp.MediaJSONLD, []byte(body), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type statusBody struct {
	ID, Event string
	Targets   []statusTarget
}

func (f *fixture) status(t *testing.T, ev string) statusBody {
	t.Helper()
	w := f.do(t, owner, http.MethodGet, root+"producer/outbox/?event="+url.QueryEscape(ev), "", "")
	var st statusBody
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != http.StatusOK {
		t.Fatalf("status of %s: %d %s", ev, w.Code, w.Body)
	}
	return st
}

// The event's delivery status lists the targets producer owns (alice's
// inbox, not crm's inbox or the webhook alice's settings route), by URL or by id, and the
// record of a delivery once there is one.
func TestEventStatus(t *testing.T) {
	f := newFixture(t)
	f.storeEvent(t)
	want := root + "producer/outbox/?event=" + url.QueryEscape(eventURL)
	for _, ev := range []string{eventURL, "e1"} {
		st := f.status(t, ev)
		if st.ID != want || st.Event != eventURL || len(st.Targets) != 1 {
			t.Fatalf("status of %s: %+v", ev, st)
		}
		if tg := st.Targets[0]; tg.Target != root+"alice/inbox/" || tg.Status != statusAbsent || tg.Record != "" {
			t.Errorf("status of %s: target %+v", ev, tg)
		}
	}
	for _, ev := range []string{root + "producer/publish/nope", root + "alice/publish/e1", "a/b"} {
		w := f.do(t, owner, http.MethodGet, root+"producer/outbox/?event="+url.QueryEscape(ev), "", "")
		if w.Code != http.StatusNotFound || errorBody(t, w) != errStatusEvent.Msg {
			t.Errorf("status of %s: %d %s", ev, w.Code, w.Body)
		}
	}

	// The owner's read of the event links to its status; an app's does not.
	w := f.do(t, owner, http.MethodGet, eventURL, "", "")
	if got := w.Header().Get("Link"); got != "<"+want+`>; rel="`+RelDeliveryStatus+`"` {
		t.Errorf("owner's Link %q", got)
	}
	app := ldp.Principal{Agent: owner.Agent, Pod: "producer", App: "app"}
	if got := f.do(t, app, http.MethodGet, eventURL, "", "").Header().Get("Link"); got != "" {
		t.Errorf("app's Link %q", got)
	}
}

// Replay queues the event to a target producer owns and refuses every
// other: a body that is not the request, a target that is alice's (her
// webhook, her subscriber crm), an event that does not exist.
func TestReplay(t *testing.T) {
	f := newFixture(t)
	f.storeEvent(t)
	outbox := root + "producer/outbox/"
	cases := []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"not JSON", "text/plain", `{}`, http.StatusUnsupportedMediaType, errReplayMedia.Msg},
		{"empty object", "application/json", `{}`, http.StatusBadRequest, errReplayBody.Msg},
		{"unknown field", "application/json", `{"event":"e1","target":"x","extra":1}`, http.StatusBadRequest, errReplayBody.Msg},
		{"alice's webhook", "application/json", `{"event":"e1","target":"https://hooks.example/cb"}`, http.StatusUnprocessableEntity, errReplayTarget.Msg},
		{"alice's subscriber", "application/json", `{"event":"e1","target":"` + pods().WebID("crm") + `"}`, http.StatusUnprocessableEntity, errReplayTarget.Msg},
		{"no such event", "application/json", `{"event":"e2","target":"` + pods().WebID("alice") + `"}`, http.StatusNotFound, errStatusEvent.Msg},
		{"another pod's event not addressed to producer", "application/json", `{"event":"` + root + `alice/publish/e1","target":"` + pods().WebID("alice") + `"}`, http.StatusNotFound, errReplayEvent.Msg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, owner, http.MethodPost, outbox, tc.contentType, tc.body)
			if w.Code != tc.status || errorBody(t, w) != tc.msg {
				t.Fatalf("%d %s, want %d %q", w.Code, w.Body, tc.status, tc.msg)
			}
		})
	}

	w := f.do(t, owner, http.MethodPost, outbox, "application/json", `{"event":"`+eventURL+`","target":"`+root+`alice/inbox/"}`)
	var v outboxJSON
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusAccepted {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
	if u := outbox + strconv.FormatUint(v.Seq, 10); v.ID != u || w.Header().Get("Location") != u ||
		v.Status != outboxPending || v.Target != root+"alice/inbox/" || v.EventID != eventURL {
		t.Fatalf("replay: %s (Location %q)", w.Body, w.Header().Get("Location"))
	}
	// The event's status now shows the pending record.
	st := f.status(t, eventURL)
	if len(st.Targets) != 1 || st.Targets[0].Status != outboxPending || st.Targets[0].Record != v.ID {
		t.Fatalf("status after replay: %+v", st)
	}
}

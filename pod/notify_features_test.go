package pod_test

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// The state feature: a receiver whose last known state is stale hears the
// current one as soon as it connects.
func TestNotifyFeatureState(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	etag := ntPut(t, root+"stateful", ntAlice, `{"http://schema.org/name": "x"}`)

	stale := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "stateful", "state": `"old"`})
	if stale.State != `"old"` {
		t.Errorf("state in description: %q", stale.State)
	}
	ws := ntDial(t, stale.ReceiveFrom)
	m := ws.nextMsg(t)
	ntExpect(t, m, "Update", root+"stateful", "")
	if m.State != etag {
		t.Errorf("state %q want %q", m.State, etag)
	}
	// Reconnecting now that the receiver knows the state sends nothing.
	ws.c.CloseNow()
	ntDial(t, stale.ReceiveFrom).quiet(t, 300*time.Millisecond)

	current := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", ntAlice, map[string]any{"topic": root + "stateful", "state": etag})
	st := ntOpenStream(t, current.ReceiveFrom)
	select {
	case l := <-st.lines:
		t.Errorf("current state, yet got %s", l)
	case <-time.After(300 * time.Millisecond):
	}

	gone := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "never", "state": etag})
	ntExpect(t, ntDial(t, gone.ReceiveFrom).nextMsg(t), "Delete", root+"never", "")

	// A webhook with a stale state is told at once.
	hook := ntStartHook(t, "127.0.0.1:0")
	ntSubscribe(t, s, "alice", "WebhookChannel2023", ntAlice, map[string]any{"topic": root + "stateful", "sendTo": hook.url(), "state": `"old"`})
	ntExpect(t, ntParse(t, hook.next(t, 5*time.Second).body), "Update", root+"stateful", "")
}

// The rate feature: at most one notification per period; what happens in
// between is summed up by the latest notification at the end of it.
func TestNotifyFeatureRate(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "busy", "rate": "PT1S"})
	if ch.Rate != "PT1S" {
		t.Errorf("rate in description: %q", ch.Rate)
	}
	ws := ntDial(t, ch.ReceiveFrom)
	start := time.Now()
	ntPut(t, root+"busy", ntAlice, `{"http://schema.org/name": "1"}`)
	ntPut(t, root+"busy", ntAlice, `{"http://schema.org/name": "2"}`)
	last := ntPut(t, root+"busy", ntAlice, `{"http://schema.org/name": "3"}`)
	ntExpect(t, ws.nextMsg(t), "Create", root+"busy", "")
	m := ws.nextMsg(t)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("second notification after %v, before the rate allows", d)
	}
	if m.Type != "Update" || m.State != last {
		t.Errorf("held-back notification %+v, want the last Update %s", m, last)
	}
	ws.quiet(t, 1200*time.Millisecond)
}

// startAt and endAt bound when notifications go out.
func TestNotifyFeatureStartEnd(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	start := time.Now().Add(time.Second).UTC()
	later := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "timed", "startAt": start.Format(time.RFC3339Nano)})
	end := time.Now().Add(time.Second).UTC()
	soon := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "timed", "endAt": end.Format(time.RFC3339Nano)})
	if soon.EndAt == "" || later.StartAt == "" {
		t.Fatalf("descriptions: %+v %+v", soon, later)
	}
	wl, ws := ntDial(t, later.ReceiveFrom), ntDial(t, soon.ReceiveFrom)
	ntPut(t, root+"timed", ntAlice, `{"http://schema.org/name": "1"}`)
	ntExpect(t, ws.nextMsg(t), "Create", root+"timed", "")
	wl.quiet(t, 100*time.Millisecond)

	time.Sleep(time.Until(start.Add(100 * time.Millisecond)))
	time.Sleep(time.Until(end.Add(100 * time.Millisecond)))
	ntPut(t, root+"timed", ntAlice, `{"http://schema.org/name": "2"}`)
	ntExpect(t, wl.nextMsg(t), "Update", root+"timed", "")
	ws.quiet(t, 300*time.Millisecond)

	// Without endAt a channel lasts the server's maximum lifetime.
	def := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "timed"})
	e, err := time.Parse(time.RFC3339, def.EndAt)
	if err != nil || e.Before(time.Now().Add(29*24*time.Hour)) {
		t.Errorf("default endAt %q", def.EndAt)
	}
}

// The accept feature: notifications in Turtle.
func TestNotifyFeatureAccept(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "turtle", "accept": "text/turtle"})
	if ch.Accept != "text/turtle" {
		t.Errorf("accept in description: %q", ch.Accept)
	}
	ws := ntDial(t, ch.ReceiveFrom)
	ntPut(t, root+"turtle", ntAlice, `{"http://schema.org/name": "x"}`)
	b := string(ws.next(t, 5*time.Second))
	for _, want := range []string{"Create", "<" + root + "turtle>", "published"} {
		if !strings.Contains(b, want) {
			t.Errorf("Turtle notification lacks %q:\n%s", want, b)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(b), "{") {
		t.Errorf("not Turtle: %s", b)
	}
}

// The legacy solid-0.1 WebSocket: sub, ack, pub, for public resources only.
func TestNotifyLegacy(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntMkdir(t, s, "public/")
	ntPublicDir(t, s, "public/")
	uv := ntDo(t, "OPTIONS", root+"public/", "", "", "").hdr.Get("Updates-Via")
	ws := ntDial(t, uv, "solid-0.1")
	if ws.c.Subprotocol() != "solid-0.1" {
		t.Errorf("subprotocol %q", ws.c.Subprotocol())
	}
	line := func() string { return string(ws.next(t, 5*time.Second)) }
	if l := line(); l != "protocol solid-0.1" {
		t.Errorf("greeting %q", l)
	}
	ws.send(t, "sub "+root+"public/")
	ws.send(t, "sub "+root+"public/x")
	ws.send(t, "sub "+root+"inbox/")
	rel := strings.TrimPrefix(root, s.BaseURL()) + "public/y"
	ws.send(t, "sub "+rel)
	want := []string{"ack " + root + "public/", "ack " + root + "public/x", "err " + root + "inbox/ forbidden", "ack " + rel}
	for _, w := range want {
		if l := line(); l != w {
			t.Errorf("got %q, want %q", l, w)
		}
	}
	ntPut(t, root+"public/x", ntAlice, `{"http://schema.org/name": "x"}`)
	got := []string{line(), line()}
	sort.Strings(got)
	if got[0] != "pub "+root+"public/" || got[1] != "pub "+root+"public/x" {
		t.Errorf("pubs %q", got)
	}
	ntPut(t, root+"public/y", ntAlice, `{"http://schema.org/name": "y"}`)
	got = []string{line(), line()}
	sort.Strings(got)
	if got[0] != "pub "+rel || got[1] != "pub "+root+"public/" {
		t.Errorf("pubs %q", got)
	}
	// No longer public: no more pubs.
	ntGrantRead(t, s, "public/", false)
	ntPut(t, root+"public/x", ntAlice, `{"http://schema.org/name": "x2"}`)
	ws.quiet(t, 500*time.Millisecond)
}

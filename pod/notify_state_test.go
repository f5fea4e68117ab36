package pod_test

import (
	"testing"
	"time"
)

// The state of a notification on a container topic is the container's
// ETag, as a GET of it answers (JSON-LD, the default): a client that
// compares them, or sends the ETag as a subscription's state, finds them
// equal when nothing changed since.
func TestNotifyContainerState(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntMkdir(t, s, "t1/")
	etag := func() string {
		t.Helper()
		r := ntDo(t, "HEAD", root+"t1/", ntAlice, "", "")
		if r.status != 200 || r.hdr.Get("ETag") == "" {
			t.Fatalf("HEAD t1/: %d %v", r.status, r.hdr)
		}
		return r.hdr.Get("ETag")
	}
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "t1/"})
	ws := ntDial(t, ch.ReceiveFrom)
	ntPut(t, root+"t1/a", ntAlice, `{"http://schema.org/name": "a"}`)
	add := ws.nextMsg(t)
	ntExpect(t, add, "Add", root+"t1/a", root+"t1/")
	if want := etag(); add.State != want {
		t.Errorf("Add state %q, container ETag %q", add.State, want)
	}
	if r := ntDo(t, "DELETE", root+"t1/a", ntAlice, "", ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	rm := ws.nextMsg(t)
	ntExpect(t, rm, "Remove", root+"t1/a", root+"t1/")
	if want := etag(); rm.State != want {
		t.Errorf("Remove state %q, container ETag %q", rm.State, want)
	}

	// A receiver that knows the current ETag gets no state message when
	// it connects; one that knows an older one gets an Update at once.
	known := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "t1/", "state": etag()})
	ntDial(t, known.ReceiveFrom).quiet(t, 500*time.Millisecond)
	stale := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "t1/", "state": add.State})
	up := ntDial(t, stale.ReceiveFrom).nextMsg(t)
	ntExpect(t, up, "Update", root+"t1/", "")
	if want := etag(); up.State != want {
		t.Errorf("state message %q, container ETag %q", up.State, want)
	}
}

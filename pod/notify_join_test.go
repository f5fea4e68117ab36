package pod_test

import (
	"fmt"
	"testing"
)

// A WebSocket client that changes its topic as soon as its dial returns
// hears of every change, once and in order, after the state message. Each
// round subscribes with a stale state, dials, and at once updates the
// topic (and, every other round, deletes and re-creates it).
func TestNotifyWebSocketChangeOnConnect(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	topic := root + "onconnect"
	cur := ntPut(t, topic, ntAlice, `{"http://schema.org/name": "start"}`)
	const rounds = 40
	for i := range rounds {
		ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": topic, "state": `"old"`})
		ws := ntDial(t, ch.ReceiveFrom)
		type want struct{ typ, state string }
		wants := []want{{"Update", cur}}
		cur = ntPut(t, topic, ntAlice, fmt.Sprintf(`{"http://schema.org/name": "%d-1"}`, i))
		wants = append(wants, want{"Update", cur})
		if i%2 == 1 {
			if r := ntDo(t, "DELETE", topic, ntAlice, "", ""); r.status != 204 {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			cur = ntPut(t, topic, ntAlice, fmt.Sprintf(`{"http://schema.org/name": "%d-2"}`, i))
			wants = append(wants, want{"Delete", ""}, want{"Create", cur})
		}
		cur = ntPut(t, topic, ntAlice, fmt.Sprintf(`{"http://schema.org/name": "%d-3"}`, i))
		wants = append(wants, want{"Update", cur})
		for j, w := range wants {
			m := ws.nextMsg(t)
			if m.Type != w.typ || m.State != w.state {
				t.Fatalf("round %d, notification %d: %s %s, want %s %s (all: %v)", i, j, m.Type, m.State, w.typ, w.state, wants)
			}
		}
		ws.c.CloseNow()
	}
}

// A receiver that connects while the rate feature holds a notification
// back learns the state at once and does not get the held notification
// again when the period ends; the receiver that was connected gets it
// then, and both get the next change, once, when the rate allows.
func TestNotifyFeatureRateConnectWhileHeld(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	topic := root + "held"
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": topic, "rate": "PT1S"})
	ws1 := ntDial(t, ch.ReceiveFrom)
	a := ntPut(t, topic, ntAlice, `{"http://schema.org/name": "a"}`)
	if m := ws1.nextMsg(t); m.Type != "Create" || m.State != a {
		t.Fatalf("first notification %s %s, want Create %s", m.Type, m.State, a)
	}
	b := ntPut(t, topic, ntAlice, `{"http://schema.org/name": "b"}`) // held back
	ws2 := ntDial(t, ch.ReceiveFrom)
	if m := ws2.nextMsg(t); m.Type != "Update" || m.State != b {
		t.Fatalf("state message %s %s, want Update %s", m.Type, m.State, b)
	}
	if m := ws1.nextMsg(t); m.Type != "Update" || m.State != b {
		t.Fatalf("held notification %s %s, want Update %s", m.Type, m.State, b)
	}
	c := ntPut(t, topic, ntAlice, `{"http://schema.org/name": "c"}`)
	for name, ws := range map[string]*ntWS{"first": ws1, "second": ws2} {
		if m := ws.nextMsg(t); m.Type != "Update" || m.State != c {
			t.Errorf("%s receiver: %s %s, want Update %s", name, m.Type, m.State, c)
		}
	}
}

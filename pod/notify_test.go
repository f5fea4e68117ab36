package pod_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Discovery: every LDP response links the pod's storage description, which
// lists a subscription service per channel type; each service describes
// itself.
func TestNotifyDiscovery(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		r := ntDo(t, m, root, ntAlice, "", "")
		want := `<` + root + `.well-known/solid>; rel="http://www.w3.org/ns/solid/terms#storageDescription"`
		if !strings.Contains(strings.Join(r.hdr.Values("Link"), ", "), want) {
			t.Errorf("%s %s: Link %q lacks %s", m, root, r.hdr.Values("Link"), want)
		}
		if uv := r.hdr.Get("Updates-Via"); !strings.HasPrefix(uv, "ws://") || !strings.HasSuffix(uv, "/.notifications/solid-0.1") {
			t.Errorf("%s: Updates-Via %q", m, uv)
		}
	}
	// Inbox listings and refusals carry the link too, once.
	for _, r := range []ntReply{ntDo(t, "GET", root+"inbox/", ntAlice, "", "", "Accept", "application/ld+json"), ntDo(t, "GET", root+"notes", "", "", "")} {
		n := strings.Count(strings.Join(r.hdr.Values("Link"), ", "), "storageDescription")
		if n != 1 {
			t.Errorf("%d response: %d storage description links in %q", r.status, n, r.hdr.Values("Link"))
		}
	}
	r := ntDo(t, "GET", root+".well-known/solid", "", "", "", "Accept", "application/ld+json")
	if r.status != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/ld+json") {
		t.Fatalf("storage description: %d %s %s", r.status, r.hdr.Get("Content-Type"), r.body)
	}
	var desc struct {
		Context      []string `json:"@context"`
		ID           string   `json:"id"`
		Subscription []struct {
			ID          string   `json:"id"`
			ChannelType string   `json:"channelType"`
			Feature     []string `json:"feature"`
		} `json:"subscription"`
	}
	if err := json.Unmarshal([]byte(r.body), &desc); err != nil {
		t.Fatal(err)
	}
	if desc.ID != root+".well-known/solid" || len(desc.Context) == 0 || desc.Context[0] != ntContext {
		t.Errorf("description id/context: %s", r.body)
	}
	got := map[string]string{}
	for _, sub := range desc.Subscription {
		got[sub.ChannelType] = sub.ID
		if strings.Join(sub.Feature, " ") != "accept endAt rate startAt state" {
			t.Errorf("%s features %v", sub.ChannelType, sub.Feature)
		}
	}
	for typ, svc := range ntServices {
		if got[typ] != root+".notifications/"+svc+"/" {
			t.Errorf("service of %s: %q", typ, got[typ])
		}
		sr := ntDo(t, "GET", got[typ], "", "", "")
		if sr.status != 200 || !strings.Contains(sr.body, `"channelType":"`+typ+`"`) {
			t.Errorf("service %s: %d %s", typ, sr.status, sr.body)
		}
	}
	// The description is RDF: Turtle on request.
	tr := ntDo(t, "GET", root+".well-known/solid", "", "", "", "Accept", "text/turtle")
	if tr.status != 200 || !strings.Contains(tr.body, "WebSocketChannel2023") || !strings.HasPrefix(tr.hdr.Get("Content-Type"), "text/turtle") {
		t.Errorf("description as Turtle: %d %s", tr.status, tr.body)
	}
}

// WebSocketChannel2023 on a resource and on its container: Create, Update
// and Delete on the resource; Add and Remove with target on the container.
func TestNotifyWebSocket(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntMkdir(t, s, "docs/")
	res := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "docs/a"})
	dir := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "docs/"})
	if res.Type != "WebSocketChannel2023" || res.Topic != root+"docs/a" || !strings.HasPrefix(res.ReceiveFrom, "ws://") ||
		!strings.HasPrefix(res.ID, root+".notifications/channels/") || res.EndAt == "" || res.Accept != "application/ld+json" {
		t.Fatalf("channel description: %+v", res)
	}
	ws1 := ntDial(t, res.ReceiveFrom, "http://www.w3.org/ns/solid/notifications#WebSocketChannel2023")
	ws2 := ntDial(t, dir.ReceiveFrom)
	if ws1.c.Subprotocol() != "http://www.w3.org/ns/solid/notifications#WebSocketChannel2023" {
		t.Errorf("subprotocol %q", ws1.c.Subprotocol())
	}

	etag := ntPut(t, root+"docs/a", ntAlice, `{"@id": "#it", "http://schema.org/name": "A"}`)
	m := ws1.nextMsg(t)
	ntExpect(t, m, "Create", root+"docs/a", "")
	if m.State != etag || len(m.Context) != 2 {
		t.Errorf("state %q, want ETag %q; context %v", m.State, etag, m.Context)
	}
	m = ws2.nextMsg(t)
	ntExpect(t, m, "Add", root+"docs/a", root+"docs/")

	etag = ntPut(t, root+"docs/a", ntAlice, `{"@id": "#it", "http://schema.org/name": "B"}`)
	m = ws1.nextMsg(t)
	ntExpect(t, m, "Update", root+"docs/a", "")
	if m.State != etag {
		t.Errorf("update state %q, want %q", m.State, etag)
	}
	ws2.quiet(t, 200*time.Millisecond) // a member's update changes no membership

	if r := ntDo(t, "DELETE", root+"docs/a", ntAlice, "", ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	ntExpect(t, ws1.nextMsg(t), "Delete", root+"docs/a", "")
	ntExpect(t, ws2.nextMsg(t), "Remove", root+"docs/a", root+"docs/")

	// PATCH creates and updates too.
	res2 := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "docs/p"})
	ws3 := ntDial(t, res2.ReceiveFrom)
	const prefix = "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix ex: <http://example.org/>.\n"
	if r := ntDo(t, "PATCH", root+"docs/p", ntAlice, "text/n3", prefix+`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:n 1 . }.`); r.status != 201 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	ntExpect(t, ws3.nextMsg(t), "Create", root+"docs/p", "")
	ntExpect(t, ws2.nextMsg(t), "Add", root+"docs/p", root+"docs/")
	r := ntDo(t, "PATCH", root+"docs/p", ntAlice, "text/n3", prefix+`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:n 2 . }.`)
	if r.status != 204 && r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	m = ws3.nextMsg(t)
	ntExpect(t, m, "Update", root+"docs/p", "")
	if m.State != r.hdr.Get("ETag") {
		t.Errorf("patch state %q, ETag %q", m.State, r.hdr.Get("ETag"))
	}

	// POST into the container: Add.
	r = ntDo(t, "POST", root+"docs/", ntAlice, "application/ld+json", `{"http://schema.org/name": "C"}`)
	if r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	ntExpect(t, ws2.nextMsg(t), "Add", r.hdr.Get("Location"), root+"docs/")
}

// An inbox arrival is an Add to inbox/ that reaches a WebSocket subscriber
// within milliseconds.
func TestNotifyInboxArrival(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "inbox/"})
	ws := ntDial(t, ch.ReceiveFrom)
	start := time.Now()
	// CRM (authenticated) posts a notification to alice's inbox.
	r := ntDo(t, "POST", root+"inbox/", ntCRM, "application/ld+json",
		`{"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce", "summary": "hello"}`)
	if r.status != 201 {
		t.Fatalf("post to inbox: %d %s", r.status, r.body)
	}
	m := ws.nextMsg(t)
	took := time.Since(start)
	ntExpect(t, m, "Add", r.hdr.Get("Location"), root+"inbox/")
	if m.State == "" {
		t.Error("Add without state")
	}
	t.Logf("inbox arrival to notification: %v", took)

	// A second subscriber on the same inbox: the next arrival reaches both.
	ch2 := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "inbox/"})
	ws2 := ntDial(t, ch2.ReceiveFrom)
	r = ntDo(t, "POST", root+"inbox/", ntAlice, "application/ld+json", `{"summary": "second"}`)
	if r.status != 201 {
		t.Fatalf("post to inbox: %d %s", r.status, r.body)
	}
	ntExpect(t, ws.nextMsg(t), "Add", r.hdr.Get("Location"), root+"inbox/")
	ntExpect(t, ws2.nextMsg(t), "Add", r.hdr.Get("Location"), root+"inbox/")
}

// StreamingHTTPChannel2023: the receiveFrom response streams notifications.
func TestNotifyStreamingHTTP(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ch := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", ntAlice, map[string]any{"topic": root + "notes"})
	if !strings.HasPrefix(ch.ReceiveFrom, root+".notifications/stream/") {
		t.Fatalf("receiveFrom %q", ch.ReceiveFrom)
	}
	st := ntOpenStream(t, ch.ReceiveFrom)
	if ct := st.resp.Header.Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("stream Content-Type %q", ct)
	}
	etag := ntPut(t, root+"notes", ntAlice, `{"http://schema.org/name": "n1"}`)
	m := st.nextMsg(t)
	ntExpect(t, m, "Create", root+"notes", "")
	if m.State != etag {
		t.Errorf("state %q want %q", m.State, etag)
	}
	ntPut(t, root+"notes", ntAlice, `{"http://schema.org/name": "n2"}`)
	ntExpect(t, st.nextMsg(t), "Update", root+"notes", "")
}

// Bad subscription requests: 401 and 403 without Read on the topic, 415
// for other media types and profiles, 422 for bodies that describe no
// channel this service can make.
func TestNotifyBadSubscriptions(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	svc := root + ".notifications/websocket/"
	good := `{"@context": ["` + ntContext + `"], "type": "WebSocketChannel2023", "topic": "` + root + `notes"}`
	cases := []struct {
		name, url, key, ctype, body string
		status                      int
		msg                         string
	}{
		{"anonymous on a private topic", svc, "", "application/ld+json", good, 401, "Authentication required"},
		{"another pod's owner", svc, ntBob, "application/ld+json", good, 403, "Forbidden"},
		{"bad key", svc, "pk_nope", "application/ld+json", good, 401, "Invalid API key"},
		{"turtle", svc, ntAlice, "text/turtle", good, 415, "must be JSON-LD"},
		{"no content type", svc, ntAlice, "", good, 415, "must be JSON-LD"},
		{"unknown profile", svc, ntAlice, `application/ld+json; profile="https://example.org/p"`, good, 415, "unsupported profile"},
		{"known profile", svc, ntAlice, `application/ld+json; profile="` + ntContext + `"`, good, 200, ""},
		{"not JSON", svc, ntAlice, "application/ld+json", `{"@context":`, 422, "not a JSON object"},
		{"array", svc, ntAlice, "application/ld+json", `[` + good + `]`, 422, "not a JSON object"},
		{"no context", svc, ntAlice, "application/ld+json", `{"type": "WebSocketChannel2023", "topic": "` + root + `notes"}`, 422, "@context"},
		{"unknown context", svc, ntAlice, "application/ld+json", `{"@context": ["` + ntContext + `", "https://example.org/ctx"], "type": "WebSocketChannel2023", "topic": "` + root + `notes"}`, 422, "unknown JSON-LD context"},
		{"unknown type", svc, ntAlice, "application/ld+json", strings.Replace(good, "WebSocketChannel2023", "CarrierPigeon2023", 1), 422, `"type"`},
		{"type of another service", svc, ntAlice, "application/ld+json", strings.Replace(good, "WebSocketChannel2023", "StreamingHTTPChannel2023", 1), 422, "does not match"},
		{"no topic", svc, ntAlice, "application/ld+json", `{"@context": "` + ntContext + `", "type": "WebSocketChannel2023"}`, 422, `"topic"`},
		{"relative topic", svc, ntAlice, "application/ld+json", strings.Replace(good, root+"notes", "notes", 1), 422, `"topic"`},
		{"topic in another pod", svc, ntAlice, "application/ld+json", strings.Replace(good, root+"notes", s.PodRoot("bob")+"notes", 1), 422, "resource of this pod"},
		{"topic elsewhere", svc, ntAlice, "application/ld+json", strings.Replace(good, root+"notes", "https://example.org/x", 1), 422, "resource of this pod"},
		{"sendTo on websocket", svc, ntAlice, "application/ld+json", strings.Replace(good, `"topic"`, `"sendTo": "https://example.org/hook", "topic"`, 1), 422, `"sendTo" is only`},
		{"webhook without sendTo", root + ".notifications/webhook/", ntAlice, "application/ld+json", strings.Replace(good, "WebSocketChannel2023", "WebhookChannel2023", 1), 422, `needs "sendTo"`},
		{"bad rate", svc, ntAlice, "application/ld+json", strings.Replace(good, `"topic"`, `"rate": "10 seconds", "topic"`, 1), 422, `"rate"`},
		{"bad endAt", svc, ntAlice, "application/ld+json", strings.Replace(good, `"topic"`, `"endAt": "2001-01-01T00:00:00Z", "topic"`, 1), 422, `"endAt"`},
		{"bad accept", svc, ntAlice, "application/ld+json", strings.Replace(good, `"topic"`, `"accept": "image/png", "topic"`, 1), 422, `"accept"`},
		{"unknown service", root + ".notifications/pigeon/", ntAlice, "application/ld+json", good, 404, "Not found"},
		{"anonymous webhook on a public topic", root + ".notifications/webhook/", "", "application/ld+json",
			`{"@context": "` + ntContext + `", "type": "WebhookChannel2023", "topic": "` + root + `profile/card", "sendTo": "https://example.org/hook"}`, 401, "authenticated subscriber"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ntDo(t, "POST", c.url, c.key, c.ctype, c.body)
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal([]byte(r.body), &e)
			if r.status != c.status || !strings.Contains(e.Error, c.msg) {
				t.Errorf("%d %s, want %d with %q", r.status, r.body, c.status, c.msg)
			}
		})
	}
	// Anonymous subscribers may watch public resources.
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", "", map[string]any{"topic": root + "profile/card"})
	if ch.ReceiveFrom == "" {
		t.Error("anonymous channel on the public profile has no receiveFrom")
	}
}

// Channels are listed and deleted by the agent that made them; deleting one
// closes its connections.
func TestNotifyListAndDelete(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntGrantRead(t, s, "shared/", true)
	a := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "shared/"})
	b := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", ntBob, map[string]any{"topic": root + "shared/"})

	list := func(key string) (int, []string) {
		r := ntDo(t, "GET", root+".notifications/", key, "", "")
		var doc struct {
			Channel []ntChannel `json:"channel"`
		}
		_ = json.Unmarshal([]byte(r.body), &doc)
		var ids []string
		for _, c := range doc.Channel {
			ids = append(ids, c.ID)
		}
		return r.status, ids
	}
	if st, ids := list(ntAlice); st != 200 || len(ids) != 1 || ids[0] != a.ID {
		t.Errorf("alice's channels: %d %v", st, ids)
	}
	if st, ids := list(ntBob); st != 200 || len(ids) != 1 || ids[0] != b.ID {
		t.Errorf("bob's channels: %d %v", st, ids)
	}
	if st, _ := list(""); st != 401 {
		t.Errorf("anonymous list: %d", st)
	}
	if r := ntDo(t, "GET", a.ID, ntAlice, "", ""); r.status != 200 || !strings.Contains(r.body, a.ReceiveFrom) {
		t.Errorf("GET own channel: %d %s", r.status, r.body)
	}
	if r := ntDo(t, "GET", a.ID, ntBob, "", ""); r.status != 403 {
		t.Errorf("bob reads alice's channel: %d", r.status)
	}
	if r := ntDo(t, "DELETE", a.ID, ntBob, "", ""); r.status != 403 {
		t.Errorf("bob deletes alice's channel: %d", r.status)
	}
	if r := ntDo(t, "DELETE", a.ID, "", "", ""); r.status != 401 {
		t.Errorf("anonymous delete: %d", r.status)
	}

	ws := ntDial(t, a.ReceiveFrom)
	if r := ntDo(t, "DELETE", a.ID, ntAlice, "", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	select {
	case <-ws.done:
	case <-time.After(5 * time.Second):
		t.Fatal("deleting the channel did not close its WebSocket")
	}
	if r := ntDo(t, "GET", a.ID, ntAlice, "", ""); r.status != 404 {
		t.Errorf("GET deleted channel: %d", r.status)
	}
	if st, ids := list(ntAlice); st != 200 || len(ids) != 0 {
		t.Errorf("after delete: %d %v", st, ids)
	}
	// Its receiveFrom is gone too.
	if r := ntDo(t, "GET", strings.Replace(a.ReceiveFrom, "ws://", "http://", 1), "", "", "", "Connection", "Upgrade", "Upgrade", "websocket"); r.status != http.StatusNotFound {
		t.Errorf("receiveFrom of a deleted channel: %d", r.status)
	}
}

// Revoking Read stops delivery: the channel's creator is checked before
// every notification.
func TestNotifyRevokeRead(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntGrantRead(t, s, "shared/", true)
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntBob, map[string]any{"topic": root + "shared/doc"})
	ws := ntDial(t, ch.ReceiveFrom)
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v1"}`)
	ntExpect(t, ws.nextMsg(t), "Create", root+"shared/doc", "")

	ntGrantRead(t, s, "shared/", false) // bob loses Read
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v2"}`)
	ws.quiet(t, 500*time.Millisecond)

	ntGrantRead(t, s, "shared/", true) // and gets it back
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v3"}`)
	ntExpect(t, ws.nextMsg(t), "Update", root+"shared/doc", "")
}

// A channel outlives a restart: its receiveFrom URL works on the restarted
// server and it is still listed.
func TestNotifyChannelSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s1, stop1 := ntServer(t, "", dir)
	addr := s1.Addr()
	root := s1.PodRoot("alice")
	ch := ntSubscribe(t, s1, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "inbox/"})
	stop1()

	s2, _ := ntServer(t, addr, dir)
	if s2.PodRoot("alice") != root {
		t.Fatalf("root changed: %s", s2.PodRoot("alice"))
	}
	r := ntDo(t, "GET", ch.ID, ntAlice, "", "")
	if r.status != 200 {
		t.Fatalf("channel after restart: %d %s", r.status, r.body)
	}
	ws := ntDial(t, ch.ReceiveFrom)
	p := ntDo(t, "POST", root+"inbox/", ntBob, "application/ld+json", `{"summary": "after restart"}`)
	if p.status != 201 {
		t.Fatalf("post: %d %s", p.status, p.body)
	}
	ntExpect(t, ws.nextMsg(t), "Add", p.hdr.Get("Location"), root+"inbox/")
}

// A channel ends when the API key that made it is revoked.
func TestNotifyKeyRevoked(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	secret, key, err := s.Keys().Create(context.Background(), "alice", "reader-app", false)
	if err != nil {
		t.Fatal(err)
	}
	ch := ntSubscribe(t, s, "alice", "WebSocketChannel2023", secret, map[string]any{"topic": root + "inbox/"})
	if r := ntDo(t, "GET", ch.ID, secret, "", ""); r.status != 200 {
		t.Fatalf("channel: %d %s", r.status, r.body)
	}
	if err := s.Keys().Revoke(context.Background(), "alice", key.ID); err != nil {
		t.Fatal(err)
	}
	r := ntDo(t, "GET", strings.Replace(ch.ReceiveFrom, "ws://", "http://", 1), "", "", "", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if r.status != http.StatusNotFound {
		t.Errorf("receiveFrom after the key was revoked: %d %s", r.status, r.body)
	}
	if r := ntDo(t, "GET", ch.ID, ntAlice, "", ""); r.status != http.StatusNotFound {
		t.Errorf("channel after the key was revoked: %d", r.status)
	}
}

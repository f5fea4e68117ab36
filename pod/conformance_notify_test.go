package pod_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"podserver/conformance"
	"podserver/rdf"
)

// ntLegacy dials the solid-0.1 WebSocket a pod response's Updates-Via
// names and reads its greeting.
func ntLegacy(t *testing.T, updatesVia string) *ntWS {
	t.Helper()
	ws := ntDial(t, updatesVia, "solid-0.1")
	if got := string(ws.next(t, 5*time.Second)); got != "protocol solid-0.1" {
		t.Fatalf("greeting %q", got)
	}
	return ws
}

// say sends a solid-0.1 message and returns the answer.
func (w *ntWS) say(t *testing.T, msg string) string {
	t.Helper()
	w.send(t, msg)
	return string(w.next(t, 5*time.Second))
}

// Legacy solid-0.1 notifications for private resources: an anonymous
// connection watches only public resources; "auth <API key>" makes it act
// as the key's agent, whose Read access is checked on "sub" and before
// every "pub". A refusal says the same whether or not the resource exists.
func TestConformanceNotifyLegacyAuth(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntPut(t, root+"private/doc", ntAlice, `{"http://schema.org/name": "secret"}`)
	ntGrantRead(t, s, "shared/", true) // bob may read shared/
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v1"}`)
	ntPublicDir(t, s, "public/")
	via := ntDo(t, "GET", root+"shared/doc", ntAlice, "", "").hdr.Get("Updates-Via")
	if !strings.HasPrefix(via, "ws://") {
		t.Fatalf("Updates-Via %q", via)
	}

	// Anonymous: public resources stay open; private ones are refused, and
	// a missing private resource is refused alike.
	anon := ntLegacy(t, via)
	if got := anon.say(t, "sub "+root+"public/doc"); got != "ack "+root+"public/doc" {
		t.Fatalf("anonymous sub public: %q", got)
	}
	for _, p := range []string{"private/doc", "private/missing"} {
		if got := anon.say(t, "sub "+root+p); got != "err "+root+p+" forbidden" {
			t.Fatalf("anonymous sub %s: %q", p, got)
		}
	}

	// A bad credential: a clear error, and the connection stays anonymous.
	if got := anon.say(t, "auth pk_not_a_key"); !strings.HasPrefix(got, "err auth invalid credential") {
		t.Fatalf("auth with a bad key: %q", got)
	}
	if got := anon.say(t, "sub "+root+"shared/doc"); got != "err "+root+"shared/doc forbidden" {
		t.Fatalf("sub after a failed auth: %q", got)
	}

	// bob: what bob may read, and nothing else.
	bob := ntLegacy(t, via)
	if got := bob.say(t, "auth "+ntBob); got != "ack auth "+s.WebID("bob") {
		t.Fatalf("auth as bob: %q", got)
	}
	if got := bob.say(t, "sub "+root+"private/doc"); got != "err "+root+"private/doc forbidden" {
		t.Fatalf("bob sub private: %q", got)
	}
	for _, u := range []string{root + "shared/doc", root + "shared/"} {
		if got := bob.say(t, "sub "+u); got != "ack "+u {
			t.Fatalf("bob sub %s: %q", u, got)
		}
	}
	// alice's owner key, and an app key of alice that is revoked later.
	alice := ntLegacy(t, via)
	if got := alice.say(t, "auth "+ntAlice); got != "ack auth "+s.WebID("alice") {
		t.Fatalf("auth as alice: %q", got)
	}
	app := ntLegacy(t, via)
	kr := ntDo(t, "POST", root+"settings/keys/", ntAlice, "application/json", `{"app": "legacy-reader"}`)
	var key struct{ ID, Key string }
	if err := json.Unmarshal([]byte(kr.body), &key); kr.status != 201 || err != nil || key.Key == "" {
		t.Fatalf("app key: %d %s", kr.status, kr.body)
	}
	if got := app.say(t, "auth "+key.Key); got != "ack auth "+s.WebID("alice") {
		t.Fatalf("auth with an app key: %q", got)
	}
	for _, w := range []*ntWS{alice, app} {
		if got := w.say(t, "sub "+root+"private/doc"); got != "ack "+root+"private/doc" {
			t.Fatalf("alice sub private: %q", got)
		}
	}

	// Writes reach those who may read them.
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v2"}`)
	pubs := []string{string(bob.next(t, 5*time.Second)), string(bob.next(t, 5*time.Second))}
	slices.Sort(pubs)
	if want := []string{"pub " + root + "shared/", "pub " + root + "shared/doc"}; !slices.Equal(pubs, want) {
		t.Fatalf("bob got %q, want %q", pubs, want)
	}
	ntPut(t, root+"private/doc", ntAlice, `{"http://schema.org/name": "secret 2"}`)
	for _, w := range []*ntWS{alice, app} {
		if got := string(w.next(t, 5*time.Second)); got != "pub "+root+"private/doc" {
			t.Fatalf("alice got %q", got)
		}
	}
	ntPut(t, root+"public/doc", ntAlice, `{"http://schema.org/name": "hello"}`)
	if got := string(anon.next(t, 5*time.Second)); got != "pub "+root+"public/doc" {
		t.Fatalf("anonymous got %q", got)
	}

	// Revoking bob's Read stops bob's pubs; revoking the app key stops its.
	ntGrantRead(t, s, "shared/", false)
	if r := ntDo(t, "DELETE", root+"settings/keys/"+key.ID, ntAlice, "", ""); r.status != 204 {
		t.Fatalf("revoke the app key: %d %s", r.status, r.body)
	}
	ntPut(t, root+"shared/doc", ntAlice, `{"http://schema.org/name": "v3"}`)
	ntPut(t, root+"private/doc", ntAlice, `{"http://schema.org/name": "secret 3"}`)
	if got := string(alice.next(t, 5*time.Second)); got != "pub "+root+"private/doc" {
		t.Fatalf("alice got %q", got)
	}
	bob.quiet(t, 300*time.Millisecond)
	app.quiet(t, 300*time.Millisecond)

	// Repeated bad credentials close the connection (policy violation): the
	// fifth on this connection.
	for range 3 {
		if got := anon.say(t, "auth nope"); !strings.HasPrefix(got, "err auth invalid credential") {
			t.Fatalf("bad auth: %q", got)
		}
	}
	anon.send(t, "auth nope")
	select {
	case <-anon.done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open after repeated bad credentials")
	}
	if st := websocket.CloseStatus(anon.err); st != websocket.StatusPolicyViolation {
		t.Errorf("close status %v (%v), want policy violation", st, anon.err)
	}
}

// Remove carries state: the state of the container the member left (the
// channel's topic), the same one the state feature compares with. A
// Delete of the topic itself carries none.
func TestConformanceNotifyRemoveState(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntMkdir(t, s, "box/")
	dir := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "box/"})
	ws := ntDial(t, dir.ReceiveFrom)
	ntPut(t, root+"box/a", ntAlice, `{"http://schema.org/name": "A"}`)
	ntExpect(t, ws.nextMsg(t), "Add", root+"box/a", root+"box/")
	if r := ntDo(t, "DELETE", root+"box/a", ntAlice, "", ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	rm := ws.nextMsg(t)
	ntExpect(t, rm, "Remove", root+"box/a", root+"box/")
	if rm.State == "" {
		t.Fatal("Remove without state")
	}

	// The state feature agrees: a receiver that knows that state hears
	// nothing when it connects; one that knows another state is told this
	// one.
	same := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "box/", "state": rm.State})
	ntDial(t, same.ReceiveFrom).quiet(t, 300*time.Millisecond)
	stale := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "box/", "state": `"stale"`})
	if m := ntDial(t, stale.ReceiveFrom).nextMsg(t); m.Type != "Update" || m.State != rm.State {
		t.Fatalf("state message %s %q, want Update %q", m.Type, m.State, rm.State)
	}

	// A Delete of the topic itself has no state to carry.
	res := ntSubscribe(t, s, "alice", "WebSocketChannel2023", ntAlice, map[string]any{"topic": root + "box/b"})
	wb := ntDial(t, res.ReceiveFrom)
	ntPut(t, root+"box/b", ntAlice, `{"http://schema.org/name": "B"}`)
	ntExpect(t, wb.nextMsg(t), "Create", root+"box/b", "")
	ntExpect(t, ws.nextMsg(t), "Add", root+"box/b", root+"box/")
	if r := ntDo(t, "DELETE", root+"box/b", ntAlice, "", ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	ntExpect(t, wb.nextMsg(t), "Delete", root+"box/b", "")
	ntExpect(t, ws.nextMsg(t), "Remove", root+"box/b", root+"box/")
}

// Discovery at the origin: /.well-known/solid answers at the origin root in
// path naming too, describing the server and linking every pod's storage
// and storage description, as an independent Turtle processor reads it; the
// JSON-LD form (an inline context) gives the same graph to jsonld.js.
func TestConformanceNotifyOriginDiscovery(t *testing.T) {
	s, _ := ntServer(t, "", "")
	base := s.BaseURL()
	u := base + "/.well-known/solid"
	tr := ntDo(t, "GET", u, "", "", "", "Accept", "text/turtle")
	if tr.status != 200 || !strings.HasPrefix(tr.hdr.Get("Content-Type"), "text/turtle") {
		t.Fatalf("GET %s as Turtle: %d %s %s", u, tr.status, tr.hdr.Get("Content-Type"), tr.body)
	}
	if tr.hdr.Get("Updates-Via") == "" {
		t.Error("no Updates-Via on the origin description")
	}
	g, err := conformance.Parse(t, tr.hdr.Get("Content-Type"), u, []byte(tr.body), "")
	if err != nil {
		t.Fatal(err)
	}
	const (
		pim   = "http://www.w3.org/ns/pim/space#"
		solid = "http://www.w3.org/ns/solid/terms#"
	)
	has := func(s, p, o string) bool {
		return slices.ContainsFunc(g, func(q rdf.Quad) bool {
			return q.S == rdf.IRI(s) && q.P == rdf.IRI(p) && q.O == rdf.IRI(o) && q.G == (rdf.Term{})
		})
	}
	server := base + "/"
	for _, name := range []string{"alice", "bob", "crm", "producer"} {
		root := s.PodRoot(name)
		for _, want := range [][3]string{
			{server, pim + "storage", root},
			{root, rdf.RDFType, pim + "Storage"},
			{root, solid + "storageDescription", root + ".well-known/solid"},
			{root, solid + "owner", s.WebID(name)},
		} {
			if !has(want[0], want[1], want[2]) {
				t.Errorf("origin description lacks <%s> <%s> <%s>", want[0], want[1], want[2])
			}
		}
	}
	// The linked storage description answers and offers subscriptions.
	var desc string
	for _, q := range g {
		if q.P == rdf.IRI(solid+"storageDescription") && strings.HasPrefix(q.S.Value, s.PodRoot("alice")) {
			desc = q.O.Value
		}
	}
	d := ntDo(t, "GET", desc, "", "", "")
	if d.status != 200 || !strings.Contains(d.body, "WebSocketChannel2023") || d.hdr.Get("Allow") == "" {
		t.Errorf("GET %s: %d Allow=%q %s", desc, d.status, d.hdr.Get("Allow"), d.body)
	}
	// It states that the storage is a pim:Storage (Solid Protocol,
	// storage description). Read as Turtle: its JSON-LD names the W3C
	// notification context, which the independent processor cannot fetch
	// here.
	dt := ntDo(t, "GET", desc, "", "", "", "Accept", "text/turtle")
	dg, err := conformance.Parse(t, dt.hdr.Get("Content-Type"), desc, []byte(dt.body), "")
	if err != nil {
		t.Fatal(err)
	}
	alice := s.PodRoot("alice")
	if !slices.ContainsFunc(dg, func(q rdf.Quad) bool {
		return q.S == rdf.IRI(alice) && q.P == rdf.IRI(rdf.RDFType) && q.O == rdf.IRI(pim+"Storage")
	}) {
		t.Errorf("%s does not say <%s> a pim:Storage: %v", desc, alice, dg)
	}
	// JSON-LD, the default, gives the same graph to jsonld.js.
	jr := ntDo(t, "GET", u, "", "", "")
	if jr.status != 200 || !strings.HasPrefix(jr.hdr.Get("Content-Type"), "application/ld+json") {
		t.Fatalf("GET %s: %d %s", u, jr.status, jr.hdr.Get("Content-Type"))
	}
	jg, err := conformance.Parse(t, jr.hdr.Get("Content-Type"), u, []byte(jr.body), "")
	if err != nil {
		t.Fatal(err)
	}
	if !rdf.Isomorphic(g, jg) {
		t.Errorf("JSON-LD and Turtle differ:\nJSON-LD %v\nTurtle %v", jg, g)
	}
	// HEAD and OPTIONS as for the pods' descriptions; no other method.
	if r := ntDo(t, "HEAD", u, "", "", ""); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}
	if r := ntDo(t, "POST", u, ntAlice, "text/turtle", "<a> <b> <c>."); r.status != 405 {
		t.Errorf("POST: %d %s", r.status, r.body)
	}
}

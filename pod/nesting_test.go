package pod_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"podserver/jsoncheck"
	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
	"podserver/rdf"
	"podserver/store"
)

// errorOf returns the "error" member of a JSON error body.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Error == "" {
		t.Fatalf("not a JSON error body: %q", body)
	}
	return m.Error
}

// TestDeepAndInvalidBodies: for every format a body nested past its limit,
// or JSON with invalid UTF-8, gets the documented status and a message that
// names the limit or gives the byte offset, and the server keeps serving.
func TestDeepAndInvalidBodies(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	alice, root := s.WebID("alice"), s.PodRoot("alice")
	deepTTL := func(n int) string {
		return "<#s> <#p> " + strings.Repeat("[ <#p> ", n) + "1" + strings.Repeat(" ]", n) + " ."
	}
	deepJSON := func(n int) string {
		return strings.Repeat(`{"http://ex/p": `, n) + "1" + strings.Repeat("}", n)
	}
	n3 := func(inner string) string {
		return "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> " + inner + " }."
	}
	event := func(data string) string {
		return `{"recipient":"` + alice + `","topic":"realestate/contact#add","data":` + data + `}`
	}
	badData := event("{\"type\":\"AddAction\",\"name\":\"caf\xe9\"}")
	badDataOffset := strings.Index(badData, "\xe9")
	deepData := event(`{"type":"AddAction","x":` + strings.Repeat("[", jsoncheck.MaxDepth) + strings.Repeat("]", jsoncheck.MaxDepth) + "}")
	settings := "{\"version\": \"1\", \"items\": [], \"x\": \"\xff\"}"
	tooDeepJSON := fmt.Sprintf(jsoncheck.MsgTooDeep, jsoncheck.MaxDepth)
	tests := []struct {
		name   string
		c      call
		status int
		want   []string // substrings of the error message
	}{
		{"Turtle nested past the limit", call{method: "PUT", path: "/alice/deep.ttl", key: aliceKey, ctype: "text/turtle", body: deepTTL(rdf.MaxDepth + 1)}, 400,
			[]string{fmt.Sprintf("nested more than %d deep", rdf.MaxDepth)}},
		{"Turtle: megabytes of brackets", call{method: "PUT", path: "/alice/deep.ttl", key: aliceKey, ctype: "text/turtle", body: deepTTL(1 << 18)}, 400,
			[]string{"nesting limit"}},
		{"JSON-LD nested past the limit", call{method: "PUT", path: "/alice/deep.json", key: aliceKey, ctype: "application/ld+json", body: deepJSON(jsoncheck.MaxDepth + 1)}, 400,
			[]string{tooDeepJSON, fmt.Sprintf("byte offset %d", len(`{"http://ex/p": `)*jsoncheck.MaxDepth)}},
		{"JSON-LD with invalid UTF-8", call{method: "PUT", path: "/alice/bad.json", key: aliceKey, ctype: "application/json", body: "{\"http://ex/p\": \"caf\xe9\"}"}, 400,
			[]string{"invalid UTF-8", "byte offset 20"}},
		{"settings document with invalid UTF-8", call{method: "PUT", path: "/alice/settings/subscriptions", key: aliceKey, ctype: "application/json", body: settings}, 400,
			[]string{"invalid UTF-8", fmt.Sprintf("byte offset %d", strings.IndexByte(settings, 0xff))}},
		{"N3 Patch nested past the limit", call{method: "PATCH", path: "/alice/deep.ttl", key: aliceKey, ctype: "text/n3", body: n3(strings.Repeat("( ", 200) + strings.Repeat(" )", 200))}, 422,
			[]string{"nested more than 64 deep"}},
		{"SPARQL Update nested past the limit", call{method: "PATCH", path: "/alice/deep.ttl", key: aliceKey, ctype: "application/sparql-update", body: "INSERT DATA { <#a> <#b> " + strings.Repeat("[ <#b> ", 1<<16) + " }"}, 422,
			[]string{"nested more than 64 deep"}},
		{"publish data with invalid UTF-8", call{method: "POST", path: "/producer/publish/", key: producerApp, ctype: "application/json", body: badData}, 400,
			[]string{publish.MsgBadJSON + fmt.Sprintf("invalid UTF-8 at byte offset %d", badDataOffset)}},
		{"publish data nested past the limit", call{method: "POST", path: "/producer/publish/", key: producerApp, ctype: "application/json", body: deepData}, 400,
			[]string{publish.MsgBadJSON + tooDeepJSON}},
		{"inbox POST with invalid UTF-8", call{method: "POST", path: "/bob/inbox/", key: aliceKey, ctype: "application/ld+json", body: "{\"name\": \"\xc3\"}"}, 400,
			[]string{"invalid UTF-8 at byte offset 10"}},
		{"inbox POST nested past the limit", call{method: "POST", path: "/bob/inbox/", key: aliceKey, ctype: "application/ld+json", body: `{"x":` + deepJSON(jsoncheck.MaxDepth) + "}"}, 400,
			[]string{tooDeepJSON}},
		{"keys API with invalid UTF-8", call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: "{\"app\": \"\xff\"}"}, 400,
			[]string{"invalid UTF-8 at byte offset 9"}},
		{"subscription request with invalid UTF-8", call{method: "POST", path: "/alice/.notifications/webhook/", key: aliceKey, ctype: "application/ld+json", body: "{\"topic\": \"" + root + "\xff\"}"}, 400,
			[]string{"invalid UTF-8 at byte offset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, base, tt.c)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.status, r.body)
			}
			msg := errorOf(t, r.body)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
	// Nothing of the refused writes was stored, and the server still serves.
	for _, p := range []string{"/alice/deep.ttl", "/alice/deep.json", "/alice/bad.json"} {
		if r := do(t, base, call{method: "GET", path: p, key: aliceKey}); r.status != http.StatusNotFound {
			t.Errorf("GET %s after a refused write: %d", p, r.status)
		}
	}
	// At the limit, documents are accepted.
	if r := do(t, base, call{method: "PUT", path: "/alice/limit.ttl", key: aliceKey, ctype: "text/turtle", body: deepTTL(rdf.MaxDepth)}); r.status != http.StatusCreated {
		t.Errorf("Turtle at the limit: %d %s", r.status, r.body)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/limit.json", key: aliceKey, ctype: "application/ld+json", body: deepJSON(jsoncheck.MaxDepth)}); r.status != http.StatusCreated {
		t.Errorf("JSON-LD at the limit: %d %s", r.status, r.body)
	}
}

// TestDeepStoredData: data already in the store that nests without bound
// (through N-Triples, which is flat, or written before the limits, straight
// into the store) never crashes a read. It is served in every format, or
// refused for that resource alone.
func TestDeepStoredData(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	const n = 20000
	// A blank-node chain n deep and a list of lists n deep, as N-Triples.
	var nt strings.Builder
	nt.WriteString("<http://ex/s> <http://ex/p> _:c0 .\n")
	for i := range n {
		fmt.Fprintf(&nt, "_:c%d <http://ex/p> _:c%d .\n", i, i+1)
		fmt.Fprintf(&nt, "_:l%d <%s> _:l%d .\n_:l%d <%s> <%s> .\n", i, rdf.RDFFirst, i+1, i, rdf.RDFRest, rdf.RDFNil)
	}
	nt.WriteString("<http://ex/s> <http://ex/q> _:l0 .\n")
	if r := do(t, base, call{method: "PUT", path: "/alice/chain.nt", key: aliceKey, ctype: rdf.MediaTypeNTriples, body: nt.String()}); r.status != http.StatusCreated {
		t.Fatalf("PUT N-Triples: %d %s", r.status, r.body)
	}
	// A Turtle document nested past today's limit, stored as a server
	// before this change would have accepted it.
	old := "<http://ex/s> <http://ex/p> " + strings.Repeat("[ <http://ex/p> ", 4*rdf.MaxDepth) + "1" + strings.Repeat(" ]", 4*rdf.MaxDepth) + " .\n"
	err := s.Store().Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, ldp.StoragePath("alice", "old.ttl"), rdf.MediaTypeTurtle, []byte(old), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range rdf.MediaTypes() {
		t.Run("chain as "+mt, func(t *testing.T) {
			r := do(t, base, call{method: "GET", path: "/alice/chain.nt", key: aliceKey, hdr: map[string]string{"Accept": mt}})
			if r.status != http.StatusOK {
				t.Fatalf("GET: %d %.300s", r.status, r.body)
			}
			q, err := rdf.Parse(mt, []byte(r.body), s.PodRoot("alice")+"chain.nt")
			if err != nil {
				t.Fatalf("the %s served does not read back: %v", mt, err)
			}
			if len(q) != 3*n+2 {
				t.Fatalf("%d quads served, want %d", len(q), 3*n+2)
			}
		})
		t.Run("old Turtle as "+mt, func(t *testing.T) {
			r := do(t, base, call{method: "GET", path: "/alice/old.ttl", key: aliceKey, hdr: map[string]string{"Accept": mt}})
			if mt == rdf.MediaTypeTurtle {
				if r.status != http.StatusOK || r.body != old {
					t.Fatalf("the stored Turtle is not served as stored: %d", r.status)
				}
				return
			}
			if r.status != http.StatusNotAcceptable {
				t.Fatalf("status %d, want 406: %.300s", r.status, r.body)
			}
			if msg := errorOf(t, r.body); !strings.Contains(msg, "nested more than") || !strings.Contains(msg, "available as text/turtle") {
				t.Errorf("error %q does not say why or what is available", msg)
			}
		})
	}
	r := do(t, base, call{method: "PATCH", path: "/alice/old.ttl", key: aliceKey, ctype: "application/sparql-update", body: "INSERT DATA { <#a> <#b> <#c> }"})
	if r.status != http.StatusConflict || !strings.Contains(errorOf(t, r.body), "replace it with PUT") {
		t.Errorf("PATCH of the old document: %d %s", r.status, r.body)
	}
	// The refusals were for that resource alone.
	if r := do(t, base, call{method: "GET", path: "/alice/chain.nt", key: aliceKey, hdr: map[string]string{"Accept": "text/turtle"}}); r.status != http.StatusOK {
		t.Errorf("GET chain.nt after the refusals: %d", r.status)
	}
}

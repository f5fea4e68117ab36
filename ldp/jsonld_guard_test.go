package ldp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"podserver/store"
)

// hostileJSONLD returns the hostile review's JSON-LD documents, smaller
// than there but over rdf's context limits: a chain of terms each defined
// by the next (json-gold recursed once per term and overflowed the stack),
// a property-scoped context used by many values (CPU grew with the square
// of the body), and a long prefix used by many compact IRIs (memory grew
// with the prefix times the names).
func hostileJSONLD() map[string]string {
	var chain strings.Builder
	chain.WriteString(`{"@context":{`)
	for i := range 200 {
		fmt.Fprintf(&chain, `"t%d":"t%d",`, i, i+1)
	}
	chain.WriteString(`"t200":"http://ex.org/"},"@id":"","t0":"v"}`)

	var inner []string
	for i := range 300 {
		inner = append(inner, fmt.Sprintf(`"k%d":"http://ex.org/%d"`, i, i))
	}
	scoped := `{"@context":{"@version":1.1,"a":{"@id":"http://ex.org/a","@context":{` + strings.Join(inner, ",") +
		`}}},"@id":"","a":[` + strings.TrimSuffix(strings.Repeat(`{"k1":1},`, 300), ",") + `]}`

	var names []string
	for i := range 800 {
		names = append(names, fmt.Sprintf(`{"@id":"p:s%d"}`, i))
	}
	prefix := `{"@context":{"p":"http://ex.org/` + strings.Repeat("a", 100_000) + `#"},"@id":"","p:p":[` + strings.Join(names, ",") + `]}`
	return map[string]string{"term chain": chain.String(), "scoped context": scoped, "compact IRIs": prefix}
}

// TestHostileJSONLD: each hostile document is refused with a 400 naming
// the limit (PUT), or, stored by a path that does not parse (a remote
// server's inbox notification), served as stored but not converted (406);
// the server answers afterwards.
func TestHostileJSONLD(t *testing.T) {
	h, repo := newTestHandlerConfig(t, Config{}, nil)
	wants := map[string]string{"term chain": "term chain limit", "scoped context": "context work limit", "compact IRIs": "expansion limit"}
	i := 0
	for name, doc := range hostileJSONLD() {
		t.Run(name, func(t *testing.T) {
			i++
			path := fmt.Sprintf("/alice/hostile%d", i)
			w := step{name: "PUT", method: "PUT", path: path, agent: testOwner, ctype: MediaJSONLD, body: doc, status: 400, has: wants[name]}.run(t, h)
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("PUT answer is not a JSON error: %v %s", err, w.Body)
			}
			err := repo.Store().Update(context.Background(), func(tx store.Txn) error {
				_, _, err := Put(tx, StoragePath("alice", path[len("/alice/"):]), MediaJSONLD, []byte(doc), time.Now(), Preconditions{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			step{name: "GET as Turtle", method: "GET", path: path, agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 406, has: wants[name]}.run(t, h)
			step{name: "GET as stored", method: "GET", path: path, agent: testOwner, hdr: map[string]string{"Accept": MediaJSONLD}, status: 200, has: `"@context"`}.run(t, h)
			step{name: "the server still answers", method: "PUT", path: path + "ok", agent: testOwner, ctype: MediaJSONLD, body: `{"@id":"","http://ex.org/p":1}`, status: 201}.run(t, h)
		})
	}
}

// TestHostileTurtlePrefix: the hostile review's Turtle, a 100 KB prefix
// used by 400 distinct names (300 MB of N-Triples from a 210 KB body
// there), is refused on PUT with a 400 naming the expansion limit, and
// when stored all the same it is served as stored, not converted (406).
func TestHostileTurtlePrefix(t *testing.T) {
	h, repo := newTestHandlerConfig(t, Config{}, nil)
	var doc strings.Builder
	doc.WriteString("@prefix p: <http://ex.org/" + strings.Repeat("a", 100_000) + "#> .\n")
	for i := range 400 {
		fmt.Fprintf(&doc, "p:s%d p:p p:o%d .\n", i, i)
	}
	step{name: "PUT", method: "PUT", path: "/alice/pfx", agent: testOwner, ctype: MediaTurtle, body: doc.String(), status: 400, has: "expansion limit"}.run(t, h)
	err := repo.Store().Update(context.Background(), func(tx store.Txn) error {
		_, _, err := Put(tx, StoragePath("alice", "pfx"), MediaTurtle, []byte(doc.String()), time.Now(), Preconditions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	step{name: "GET as N-Triples", method: "GET", path: "/alice/pfx", agent: testOwner, hdr: map[string]string{"Accept": "application/n-triples"}, status: 406, has: "expansion limit"}.run(t, h)
	step{name: "GET as JSON-LD", method: "GET", path: "/alice/pfx", agent: testOwner, hdr: map[string]string{"Accept": MediaJSONLD}, status: 406, has: "expansion limit"}.run(t, h)
	step{name: "GET as stored", method: "GET", path: "/alice/pfx", agent: testOwner, hdr: map[string]string{"Accept": MediaTurtle}, status: 200, has: "@prefix"}.run(t, h)
}

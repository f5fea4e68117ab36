package pod_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// update rewrites the golden files under testdata/golden from the current
// output instead of comparing with them: go test ./pod -run TestGolden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenVarying matches what changes from run to run in a representation;
// normalise replaces each match with a fixed placeholder.
var goldenVarying = []struct {
	re   *regexp.Regexp
	repl string
}{
	// RFC 3339 / xsd:dateTime timestamps (creation and modification times).
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`), "<TIME>"},
	// Ed25519 public keys as Multikey (base58btc "z6Mk..."): each pod's
	// signing key is generated when the pod is provisioned.
	{regexp.MustCompile(`z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}`), "<PUBLIC-KEY>"},
}

// normalise makes a response comparable across runs. It replaces the base
// URL (its port changes every run) with http://pod.test, then RFC 3339
// timestamps, event ids (random) and the pods' public keys
// (generated at provisioning) with placeholders. Key ids (#key), inbox
// item names (a sequence) and the order of everything are stable and are
// compared; no ETag appears in a body and these serialisations use no
// blank nodes. Anything else in the output is
// compared byte for byte.
func normalise(s *pod.Server, text string, ids []string) string {
	for i, id := range ids {
		text = strings.ReplaceAll(text, id, "<EVENT-"+string(rune('A'+i))+">")
	}
	text = strings.ReplaceAll(text, s.BaseURL(), "http://pod.test")
	for _, v := range goldenVarying {
		text = v.re.ReplaceAllString(text, v.repl)
	}
	return text
}

// TestGolden pins the Turtle and JSON-LD representations a real server
// serves for the WebID profile, an ACL document, a container listing and
// an inbox listing (app-facing JSON and RDF), against the golden files in
// testdata/golden. Each golden file holds the status, the Content-Type and
// the normalised body.
func TestGolden(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	// One event in alice's inbox so the inbox listing has an item.
	ids := publishN(t, s, 1)
	for i, id := range ids {
		// Locations are URLs; the id is the last segment and may also
		// appear alone.
		ids[i] = id[strings.LastIndex(strings.TrimSuffix(id, "/"), "/")+1:]
	}
	cases := []struct {
		name, path, key, accept string
	}{
		{"profile.ttl", "/alice/profile/card", "", "text/turtle"},
		{"profile.jsonld", "/alice/profile/card", "", "application/ld+json"},
		{"acl.ttl", "/alice/.acl", aliceKey, "text/turtle"},
		{"acl.jsonld", "/alice/.acl", aliceKey, "application/ld+json"},
		{"container.ttl", "/alice/", aliceKey, "text/turtle"},
		{"container.jsonld", "/alice/", aliceKey, "application/ld+json"},
		{"inbox.json", "/alice/inbox/", aliceKey, "application/json"},
		{"inbox.ttl", "/alice/inbox/", aliceKey, "text/turtle"},
		{"inbox.jsonld", "/alice/inbox/", aliceKey, "application/ld+json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, s.BaseURL(), call{method: "GET", path: c.path, key: c.key, hdr: map[string]string{"Accept": c.accept}})
			if r.status != http.StatusOK {
				t.Fatalf("GET %s (%s): %d %s", c.path, c.accept, r.status, r.body)
			}
			got := "Content-Type: " + r.hdr.Get("Content-Type") + "\n\n" + normalise(s, r.body, ids)
			file := filepath.Join("testdata", "golden", c.name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("GET %s (%s) differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", c.path, c.accept, file, got, want)
			}
		})
	}
}

package rdf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The W3C RDF 1.1 Turtle test suite lives in shared/ beside the repository:
// ../../shared/conformance/rdf-turtle from this package's directory, or
// under $PODSERVER_SHARED when that is set. Without it the suite's tests
// skip, unless PODSERVER_CONFORMANCE=1 (set by .ci/run) makes that a failure.
const (
	mfNS    = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
	rdftNS  = "http://www.w3.org/ns/rdftest#"
	suiteRe = "conformance/rdf-turtle"
)

// suiteDirPath is where the suite should be.
func suiteDirPath() string {
	if shared := os.Getenv("PODSERVER_SHARED"); shared != "" {
		return filepath.Join(shared, filepath.FromSlash(suiteRe))
	}
	return filepath.Join("..", "..", "shared", filepath.FromSlash(suiteRe))
}

// turtleSuiteDir finds the suite, or skips the test (fails it when
// PODSERVER_CONFORMANCE=1).
func turtleSuiteDir(t testing.TB) string {
	t.Helper()
	dir := suiteDirPath()
	if _, err := os.Stat(filepath.Join(dir, "manifest.ttl")); err != nil {
		if os.Getenv("PODSERVER_CONFORMANCE") == "1" {
			t.Fatalf("PODSERVER_CONFORMANCE=1 but the Turtle test suite is not at %s (set PODSERVER_SHARED to the shared/ directory): %v", dir, err)
		}
		t.Skipf("Turtle test suite not found at %s (set PODSERVER_SHARED to the shared/ directory; PODSERVER_CONFORMANCE=1 makes this a failure): %v", dir, err)
	}
	return dir
}

// suiteTest is one entry of the manifest.
type suiteTest struct {
	name, kind     string // kind: the rdft: type without namespace
	action, result string // file names in the suite directory
	base           string // the IRI the action is parsed against
}

// loadTurtleSuite reads the manifest with our own Turtle parser.
func loadTurtleSuite(t testing.TB) (string, []suiteTest) {
	t.Helper()
	dir := turtleSuiteDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.ttl"))
	if err != nil {
		t.Fatal(err)
	}
	// Parse without a base so that the manifest's relative IRIs stay as
	// written; the tests' base comes from mf:assumedTestBase.
	triples, err := ParseTurtle(data, "")
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	props := map[Term]map[string][]Term{}
	for _, tr := range triples {
		if props[tr.S] == nil {
			props[tr.S] = map[string][]Term{}
		}
		props[tr.S][tr.P.Value] = append(props[tr.S][tr.P.Value], tr.O)
	}
	one := func(s Term, p string) Term {
		if v := props[s][p]; len(v) == 1 {
			return v[0]
		}
		return Term{}
	}
	manifest := IRI("")
	base := one(manifest, mfNS+"assumedTestBase").Value
	if base == "" {
		t.Fatal("manifest has no mf:assumedTestBase")
	}
	var tests []suiteTest
	for node := one(manifest, mfNS+"entries"); node.Value != RDFNil; node = one(node, RDFRest) {
		if node.IsZero() {
			t.Fatal("manifest: malformed mf:entries list")
		}
		entry := one(node, RDFFirst)
		st := suiteTest{
			name:   one(entry, mfNS+"name").Value,
			kind:   strings.TrimPrefix(one(entry, RDFType).Value, rdftNS),
			action: one(entry, mfNS+"action").Value,
			result: one(entry, mfNS+"result").Value,
		}
		st.base = base + st.action
		tests = append(tests, st)
	}
	return dir, tests
}

func readSuiteFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestTurtleConformance runs the W3C RDF 1.1 Turtle test suite: eval tests
// compare with the expected N-Triples by isomorphism, positive syntax tests
// must parse and negative ones must fail with a *SyntaxError.
func TestTurtleConformance(t *testing.T) {
	dir, tests := loadTurtleSuite(t)
	counts := map[string]int{}
	for _, st := range tests {
		counts[st.kind]++
		t.Run(st.name, func(t *testing.T) {
			input := readSuiteFile(t, dir, st.action)
			got, err := ParseTurtle(input, st.base)
			switch st.kind {
			case "TestTurtleEval":
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				want, err := ParseNTriples(readSuiteFile(t, dir, st.result))
				if err != nil {
					t.Fatalf("parse expected result: %v", err)
				}
				if !Isomorphic(triplesToQuads(got), triplesToQuads(want)) {
					t.Fatalf("graphs differ\ngot:\n%s\nwant:\n%s", dumpTriples(got), dumpTriples(want))
				}
			case "TestTurtlePositiveSyntax":
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
			case "TestTurtleNegativeSyntax", "TestTurtleNegativeEval":
				if err == nil {
					t.Fatalf("parsed bad input into %d triples:\n%s", len(got), dumpTriples(got))
				}
				if _, ok := err.(*SyntaxError); !ok {
					t.Fatalf("error is %T, not *SyntaxError: %v", err, err)
				}
			default:
				t.Fatalf("unknown test type %q", st.kind)
			}
		})
	}
	t.Logf("Turtle suite: %d tests: %d eval, %d positive syntax, %d negative syntax, %d negative eval",
		len(tests), counts["TestTurtleEval"], counts["TestTurtlePositiveSyntax"],
		counts["TestTurtleNegativeSyntax"], counts["TestTurtleNegativeEval"])
	if len(tests) != 313 || counts["TestTurtleEval"] != 145 || counts["TestTurtlePositiveSyntax"] != 74 ||
		counts["TestTurtleNegativeSyntax"]+counts["TestTurtleNegativeEval"] != 94 {
		t.Errorf("the suite should have 313 tests (145 eval, 74 positive, 94 negative)")
	}
}

func dumpTriples(triples []Triple) string {
	var b strings.Builder
	for _, t := range triples {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestTurtleSuiteRoundTrips writes every eval test's graph as Turtle and as
// JSON-LD, reads it back and compares.
func TestTurtleSuiteRoundTrips(t *testing.T) {
	dir, tests := loadTurtleSuite(t)
	for _, st := range tests {
		if st.kind != "TestTurtleEval" {
			continue
		}
		t.Run(st.name, func(t *testing.T) {
			triples, err := ParseTurtle(readSuiteFile(t, dir, st.action), st.base)
			if err != nil {
				t.Fatal(err)
			}
			quads := triplesToQuads(triples)

			var ttl bytes.Buffer
			if err := WriteTurtle(&ttl, triples, nil); err != nil {
				t.Fatal(err)
			}
			back, err := ParseTurtle(ttl.Bytes(), "")
			if err != nil {
				t.Fatalf("re-parse written Turtle: %v\n%s", err, ttl.Bytes())
			}
			if !Isomorphic(quads, triplesToQuads(back)) {
				t.Fatalf("Turtle round trip differs:\n%s\nwant:\n%s", ttl.Bytes(), dumpTriples(triples))
			}

			var jsonld bytes.Buffer
			if err := WriteJSONLD(&jsonld, quads, st.base); err != nil {
				t.Fatal(err)
			}
			backLD, err := ParseJSONLD(jsonld.Bytes(), st.base)
			if err != nil {
				t.Fatalf("re-parse written JSON-LD: %v\n%s", err, jsonld.Bytes())
			}
			if !Isomorphic(quads, backLD) {
				t.Fatalf("JSON-LD round trip differs:\n%s\ngot:\n%s\nwant:\n%s", jsonld.Bytes(), dumpQuads(backLD), dumpTriples(triples))
			}
		})
	}
}

func dumpQuads(quads []Quad) string {
	var b strings.Builder
	for _, q := range quads {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

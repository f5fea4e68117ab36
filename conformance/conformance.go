// Package conformance parses what podserver serves with independent RDF
// processors, as Solid clients read it: N3.js for Turtle and N-Triples,
// jsonld.js for JSON-LD (remote contexts fetched over HTTP, nothing built
// in), both run by Node.js from conformance/js. Tests compare the graphs
// they give, not strings, and not through podserver's own parsers.
//
// Without Node.js or the modules (installed by `npm ci` in conformance/js)
// the tests that need them skip, saying how to enable them; with
// PODSERVER_CONFORMANCE=1 (set by .ci/run) that is a failure instead.
//
// It is imported by tests only.
package conformance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"podserver/rdf"
)

// EnvRequire, set to 1, makes missing processors a test failure.
const EnvRequire = "PODSERVER_CONFORMANCE"

// dir returns conformance/js, next to this file.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}

// Available reports why the processors cannot run, or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node not found: %w", err)
	}
	for _, m := range []string{"jsonld", "n3"} {
		if _, err := os.Stat(filepath.Join(dir(), "node_modules", m)); err != nil {
			return fmt.Errorf("module %s missing: run npm ci in %s", m, dir())
		}
	}
	return nil
}

// Need skips t (fails it with PODSERVER_CONFORMANCE=1) when the
// processors cannot run.
func Need(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("independent RDF processors unavailable (%s=1): %v", EnvRequire, err)
		}
		t.Skipf("independent RDF processors unavailable: %v (install Node.js, run npm ci in conformance/js)", err)
	}
}

// Parse returns the graph an independent processor reads in body, a
// document of contentType at base. linkContext is the context URL a Link
// header gave a plain-JSON document ("" for none). A document the
// processor refuses (or a context it cannot fetch) is returned as an
// error with its message.
func Parse(t testing.TB, contentType, base string, body []byte, linkContext string) ([]rdf.Quad, error) {
	t.Helper()
	Need(t)
	args := []string{filepath.Join(dir(), "parse.mjs"), contentType, base}
	if linkContext != "" {
		args = append(args, linkContext)
	}
	cmd := exec.Command("node", args...)
	cmd.Stdin = bytes.NewReader(body)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("independent processor refused the %s document: %v: %s", contentType, err, firstLine(stderr.Bytes()))
	}
	q, err := rdf.ParseNQuads(out.Bytes())
	if err != nil {
		t.Fatalf("reading the processor's N-Quads: %v\n%s", err, out.Bytes())
	}
	return q, nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

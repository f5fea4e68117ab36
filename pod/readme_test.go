package pod_test

// The README's promises about the HTTP API, each pinned to the answer the
// README gives: the walk-through's PUT, GET and container listing, the LDP
// 401 and 403 bodies, and HEAD.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// readmeBlocks returns the fenced blocks of the README after the first line
// that starts with intro, up to the next heading, each as its lines.
func readmeBlocks(t *testing.T, intro string) [][]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+intro)
	if i < 0 {
		t.Fatalf("README has no line starting %q", intro)
	}
	rest := doc[i+1:]
	if j := strings.Index(rest, "\n#"); j >= 0 {
		rest = rest[:j]
	}
	var blocks [][]string
	for {
		start := strings.Index(rest, "```")
		if start < 0 {
			return blocks
		}
		rest = rest[start:]
		nl := strings.Index(rest, "\n")
		rest = rest[nl+1:]
		end := strings.Index(rest, "```")
		if end < 0 {
			t.Fatalf("README block after %q is not closed", intro)
		}
		blocks = append(blocks, strings.Split(strings.TrimSuffix(rest[:end], "\n"), "\n"))
		rest = rest[end+3:]
	}
}

// readmeBase is the base URL the README's examples use.
const readmeBase = "http://localhost:8080"

// TestReadmeWalkthroughLDP: alice's PUT answers 201 with the Location the
// README shows, the GET gives the text back, and the container listing is
// the README's JSON exactly.
func TestReadmeWalkthroughLDP(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	put := readmeBlocks(t, "PUT a resource as alice")
	if len(put) < 4 {
		t.Fatalf("README's PUT walk-through has %d blocks, want 4", len(put))
	}
	r := do(t, base, call{method: "PUT", path: "/alice/notes/hello.txt", key: aliceKey, ctype: "text/plain", body: "Hello, pod!"})
	got := []string{"HTTP/1.1 " + r.statusLine(), "Location: " + r.hdr.Get("Location")}
	if want := readmeRebase(put[1], base); !slices.Equal(got, want) {
		t.Errorf("PUT: got %q, want %q", got, want)
	}
	r = do(t, base, call{method: "GET", path: "/alice/notes/hello.txt", key: aliceKey})
	if want := strings.Join(put[3], "\n"); r.status != http.StatusOK || r.body != want {
		t.Errorf("GET: %d %q, want 200 %q", r.status, r.body, want)
	}

	list := readmeBlocks(t, "List the container:")
	if len(list) < 2 || len(list[1]) != 1 {
		t.Fatalf("README's container listing: %q", list)
	}
	r = do(t, base, call{method: "GET", path: "/alice/notes/", key: aliceKey, hdr: map[string]string{"Accept": "*/*"}})
	if want := readmeRebase(list[1], base)[0]; r.status != http.StatusOK || strings.TrimSuffix(r.body, "\n") != want {
		t.Errorf("container listing:\n got %d %s\nwant 200 %s", r.status, r.body, want)
	}
}

// statusLine is the status line's code and text, as curl -i shows it.
func (r reply) statusLine() string {
	return strconv.Itoa(r.status) + " " + http.StatusText(r.status)
}

// readmeRebase replaces the README's base URL with base in lines.
func readmeRebase(lines []string, base string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.ReplaceAll(l, readmeBase, base)
	}
	return out
}

// TestReadmeLDPErrorBodies: without a key a private resource gets the
// README's 401 body; with a valid key the ACL does not admit, its 403 body.
func TestReadmeLDPErrorBodies(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	blocks := readmeBlocks(t, "Without a key the note is private (401)")
	if len(blocks) < 2 || len(blocks[1]) != 2 {
		t.Fatalf("README's 401/403 example: %q", blocks)
	}
	if r := do(t, base, call{method: "PUT", path: "/alice/notes/hello.txt", key: aliceKey, ctype: "text/plain", body: "Hello, pod!"}); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	for i, c := range []call{
		{method: "GET", path: "/alice/notes/hello.txt"},
		{method: "GET", path: "/alice/notes/hello.txt", key: bobKey},
	} {
		r := do(t, base, c)
		// curl -w ' %{http_code}\n' prints the body, a space and the code.
		if got, want := r.body+" "+strconv.Itoa(r.status), blocks[1][i]; got != want {
			t.Errorf("GET with key %q: got %q, want %q", c.key, got, want)
		}
		if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET with key %q: Content-Type %q, want JSON", c.key, ct)
		}
	}
}

// TestReadmeHead: HEAD answers with GET's status and headers and sends no
// body, for a resource, a container and an inbox.
func TestReadmeHead(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	base := s.BaseURL()
	if r := do(t, base, call{method: "PUT", path: "/alice/notes/hello.txt", key: aliceKey, ctype: "text/plain", body: "Hello, pod!"}); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	// Headers that differ between any two requests.
	perRequest := []string{"Date", "X-Request-Id"}
	for _, path := range []string{"/alice/notes/hello.txt", "/alice/notes/", "/alice/inbox/", "/alice/profile/card"} {
		get := do(t, base, call{method: "GET", path: path, key: aliceKey})
		if get.status != http.StatusOK || get.body == "" {
			t.Fatalf("GET %s: %d %q", path, get.status, get.body)
		}
		status, hdr, rest := rawHead(t, s.Addr(), path, aliceKey)
		if status != get.status {
			t.Errorf("HEAD %s: status %d, GET's %d", path, status, get.status)
		}
		if rest != "" {
			t.Errorf("HEAD %s sent a body: %q", path, rest)
		}
		for k := range merge(get.hdr, hdr) {
			if slices.Contains(perRequest, k) {
				continue
			}
			if !slices.Equal(get.hdr.Values(k), hdr.Values(k)) {
				t.Errorf("HEAD %s: %s %q; GET's %q", path, k, hdr.Values(k), get.hdr.Values(k))
			}
		}
		if hdr.Get("Content-Type") == "" {
			t.Errorf("HEAD %s lacks Content-Type: %v", path, hdr)
		}
		if cl := hdr.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(get.body)) {
			t.Errorf("HEAD %s: Content-Length %s; GET's body has %d bytes", path, cl, len(get.body))
		}
	}
}

// merge returns the keys of a and b.
func merge(a, b http.Header) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// rawHead sends HEAD path over a plain TCP connection that the server then
// closes, and returns the status, the headers and every byte after them,
// so a body sent after a HEAD answer would show.
func rawHead(t *testing.T, addr, path, key string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HEAD "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nx-api-key: "+key+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(rest)
}

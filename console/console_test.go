package console

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"podserver/apierr"
)

func testHandler(t *testing.T, naming string) *Handler {
	t.Helper()
	h, err := New(Config{Info: func() Info { return Info{BaseURL: "http://pods.test:8080", PodNaming: naming} }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve runs one request and writes a returned error the way the server
// does (apierr), so the recorded response is what a client gets.
func serve(h *Handler, method, target string, hdr map[string]string) (*httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	err := h.Serve(rec, req)
	if err != nil {
		rec.Code = apierr.Status(err)
	}
	return rec, err
}

func TestServe(t *testing.T) {
	h := testHandler(t, "path")
	cases := []struct {
		name, method, target string
		hdr                  map[string]string
		status               int
		ctype, body          string
	}{
		{"index", "GET", "/console/", nil, 200, "text/html; charset=utf-8", `<script type="module" src="js/app.js">`},
		{"index head", "HEAD", "/console/", nil, 200, "text/html; charset=utf-8", ""},
		{"no slash", "GET", "/console", nil, 301, "", ""},
		{"module", "GET", "/console/js/app.js", nil, 200, "text/javascript; charset=utf-8", "import"},
		{"page module", "GET", "/console/js/pages/inbox.js", nil, 200, "text/javascript; charset=utf-8", "export function inboxPage"},
		{"style", "GET", "/console/style.css", nil, 200, "text/css; charset=utf-8", ":root"},
		{"icon", "GET", "/console/favicon.svg", nil, 200, "image/svg+xml", "<svg"},
		{"config", "GET", "/console/config.json", nil, 200, "application/json; charset=utf-8", `{"baseURL":"http://pods.test:8080","podNaming":"path"}`},
		{"missing", "GET", "/console/nope.js", nil, 404, "", ""},
		{"directory", "GET", "/console/js/", nil, 404, "", ""},
		{"dot dot", "GET", "/console/js/../index.html", nil, 404, "", ""},
		{"post", "POST", "/console/", nil, 405, "", ""},
		{"put", "PUT", "/console/js/app.js", nil, 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, _ := serve(h, c.method, c.target, c.hdr)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if c.ctype != "" && rec.Header().Get("Content-Type") != c.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), c.ctype)
			}
			if c.body != "" && !strings.Contains(rec.Body.String(), c.body) {
				t.Errorf("body does not contain %q:\n%.300s", c.body, rec.Body.String())
			}
			if c.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body")
			}
			// Every response, errors and redirects included, has the headers.
			for k, v := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"X-Frame-Options":        "DENY",
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
			}
		})
	}
	rec, _ := serve(h, "GET", "/console", nil)
	if rec.Header().Get("Location") != "/console/" {
		t.Errorf("redirect to %q", rec.Header().Get("Location"))
	}
	_, err := serve(h, "POST", "/console/", nil)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("405 without Allow: %v", err)
	}
}

func TestCaching(t *testing.T) {
	h := testHandler(t, "path")
	rec, _ := serve(h, "GET", "/console/js/api.js", nil)
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	rec, _ = serve(h, "GET", "/console/js/api.js", map[string]string{"If-None-Match": etag})
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rec.Code)
	}
	rec, _ = serve(h, "GET", "/console/config.json", nil)
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("config Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
}

func TestPolicy(t *testing.T) {
	cases := []struct {
		info          Info
		want, notWant []string
	}{
		{Info{"http://localhost:8080", "path"},
			[]string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self' http://localhost:8080", "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'", "form-action 'none'", "base-uri 'none'"},
			[]string{"unsafe-inline", "unsafe-eval", "*."}},
		{Info{"https://pods.example", "subdomain"},
			[]string{"connect-src 'self' https://pods.example https://*.pods.example"}, nil},
		{Info{"http://evil; script-src *", "path"}, []string{"connect-src 'self';"}, []string{"evil"}},
		{Info{"", "path"}, []string{"connect-src 'self';"}, nil},
	}
	for _, c := range cases {
		p := policy(c.info)
		for _, w := range c.want {
			if !strings.Contains(p, w) {
				t.Errorf("policy for %+v lacks %q: %s", c.info, w, p)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(p, w) {
				t.Errorf("policy for %+v has %q: %s", c.info, w, p)
			}
		}
	}
}

func TestOwns(t *testing.T) {
	for p, want := range map[string]bool{"/console": true, "/console/": true, "/console/js/app.js": true, "/consoles": false, "/": false, "/alice/console/": false} {
		if Owns(p) != want {
			t.Errorf("Owns(%q) = %v", p, !want)
		}
	}
}

// jsFiles returns the console's scripts by name.
func jsFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") {
			return err
		}
		b, err := fs.ReadFile(static, name)
		out[name] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 5 {
		t.Fatalf("only %d scripts found", len(out))
	}
	return out
}

// codeLines drops comment lines, so comments may name what code must not do.
func codeLines(src string) []string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); !strings.HasPrefix(t, "//") && !strings.HasPrefix(t, "*") && !strings.HasPrefix(t, "/*") {
			out = append(out, l)
		}
	}
	return out
}

// TestNoHTMLSinks is a lint: event data is untrusted, so no script may
// parse HTML or code from strings. (The CSP's Trusted Types would make
// such a call throw in the browser anyway.)
func TestNoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\s*\(|new\s+Function|setTimeout\(\s*["'` + "`" + `]|\.srcdoc|setAttribute\(\s*["'](on|style)`)
	for name, src := range jsFiles(t) {
		for _, l := range codeLines(src) {
			if sinks.MatchString(l) {
				t.Errorf("%s: line %q uses an HTML or code sink", name, strings.TrimSpace(l))
			}
		}
	}
}

// TestNoInlineCode checks the page needs no 'unsafe-inline': no inline
// script, no style element or attribute, no event handler attribute.
func TestNoInlineCode(t *testing.T) {
	b, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, re := range []string{`\sstyle\s*=`, `\son[a-z]+\s*=`, `<style`, `javascript:`} {
		if regexp.MustCompile(re).MatchString(html) {
			t.Errorf("index.html matches %s", re)
		}
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1)
	if len(scripts) == 0 {
		t.Fatal("index.html loads no script")
	}
	for _, m := range scripts {
		if !strings.Contains(m, ` src="`) {
			t.Errorf("inline script: %s", m)
		}
	}
}

// TestModuleImports checks that every relative import of every script
// names an embedded file, so a typo cannot break the page.
func TestModuleImports(t *testing.T) {
	h := testHandler(t, "path")
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)`)
	for name, src := range jsFiles(t) {
		dir := name[:strings.LastIndex(name, "/")+1]
		for _, m := range imp.FindAllStringSubmatch(src, -1) {
			rel := m[1] + m[2]
			target := cleanJoin(strings.TrimPrefix(dir, "static/"), rel)
			if _, ok := h.files[target]; !ok {
				t.Errorf("%s imports %s (%s), which is not embedded", name, rel, target)
			}
		}
	}
}

func cleanJoin(dir, rel string) string {
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	if dir == "" {
		parts = nil
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "/")
}

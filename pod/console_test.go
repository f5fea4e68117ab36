package pod_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podurl"
)

// conHTTPServer serves a new in-memory server's handler with httptest.
func conHTTPServer(t *testing.T, naming string) (*pod.Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	s, err := pod.New(pod.Options{InMemory: true, BaseURL: ts.URL, PodNaming: naming})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, ts
}

func TestConsoleHTTP(t *testing.T) {
	s, ts := conHTTPServer(t, pod.NamingPath)
	if got, want := s.ConsoleURL(), ts.URL+"/console/"; got != want {
		t.Errorf("ConsoleURL %q, want %q", got, want)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, method, path, key string
		status                  int
		ctype, body             string
	}{
		{"page", "GET", "/console/", "", 200, "text/html; charset=utf-8", "podserver console"},
		{"page with a key", "GET", "/console/", conAliceKey, 200, "text/html; charset=utf-8", "podserver console"},
		{"page with a bad key", "GET", "/console/", "pk_wrong", 200, "text/html; charset=utf-8", ""},
		{"head", "HEAD", "/console/", "", 200, "text/html; charset=utf-8", ""},
		{"redirect", "GET", "/console", "", 301, "", ""},
		{"script", "GET", "/console/js/pages/permissions.js", "", 200, "text/javascript; charset=utf-8", "export function permissionsPage"},
		{"config", "GET", "/console/config.json", "", 200, "application/json; charset=utf-8", `"baseURL":"` + ts.URL + `"`},
		{"missing", "GET", "/console/missing.js", "", 404, "application/json; charset=utf-8", `{"error":"Not found: the console is at /console/"}`},
		{"post", "POST", "/console/", "", 405, "application/json; charset=utf-8", `"error":`},
		{"delete", "DELETE", "/console/js/app.js", conAliceKey, 405, "application/json; charset=utf-8", `"error":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.URL+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.key != "" {
				req.Header.Set("x-api-key", c.key)
			}
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var sb bytes.Buffer
			_, _ = sb.ReadFrom(res.Body)
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, sb.String())
			}
			if c.ctype != "" && res.Header.Get("Content-Type") != c.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), c.ctype)
			}
			if c.body != "" && !strings.Contains(sb.String(), c.body) {
				t.Errorf("body lacks %q: %.300s", c.body, sb.String())
			}
			conCheckHeaders(t, res.Header, ts.URL)
		})
	}
}

// conCheckHeaders checks the security headers of a console response.
func conCheckHeaders(t *testing.T, h http.Header, base string) {
	t.Helper()
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
		"require-trusted-types-for 'script'", "connect-src 'self' " + base} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("Content-Security-Policy allows unsafe sources: %s", csp)
	}
	if h.Get("Set-Cookie") != "" {
		t.Errorf("the console sets a cookie: %s", h.Get("Set-Cookie"))
	}
}

// TestConsoleSubdomain: with pods on subdomains the console is served on
// the base host, and its policy lets it call every pod host.
func TestConsoleSubdomain(t *testing.T) {
	_, ts := conHTTPServer(t, pod.NamingSubdomain)
	res, err := http.Get(ts.URL + "/console/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct{ BaseURL, PodNaming string }
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.BaseURL != ts.URL || info.PodNaming != pod.NamingSubdomain {
		t.Errorf("config %+v", info)
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+ts.URL+" http://*."+host) {
		t.Errorf("policy does not cover pod hosts: %s", csp)
	}
}

// TestConsoleNotAPod: "console" is reserved, so no pod can shadow the
// console, and the console's paths never reach the LDP handler.
func TestConsoleNotAPod(t *testing.T) {
	if podurl.ValidName("console") {
		t.Error(`"console" is a valid pod name`)
	}
	s, ts := conHTTPServer(t, pod.NamingPath)
	if _, err := s.CreatePod(context.Background(), "console"); err == nil {
		t.Error(`created a pod named "console"`)
	}
	req, _ := http.NewRequest("PUT", ts.URL+"/console/x", strings.NewReader("x"))
	req.Header.Set("x-api-key", conAliceKey)
	req.Header.Set("Content-Type", "text/plain")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /console/x: %d, want 405", res.StatusCode)
	}
}

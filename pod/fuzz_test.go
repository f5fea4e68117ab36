package pod_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"podserver/pod"
)

// FuzzRequest sends arbitrary paths, hosts and headers through the full
// handler: it never panics, never answers 5xx, and never serves a private
// resource to an anonymous request.
func FuzzRequest(f *testing.F) {
	seeds := []struct{ method, path, host, accept, key, origin string }{
		{"GET", "/alice/", "bench.local", "", "", ""},
		{"GET", "/alice/profile/card", "bench.local", "text/turtle", "", "https://x"},
		{"PUT", "/alice/../bob/", "bench.local", "*/*", aliceKey, ""},
		{"GET", "/alice/%2e%2e/x", "alice.bench.local", "", "bad", ""},
		{"DELETE", "/alice/.acl", "bench.local", "", aliceKey, ""},
		{"OPTIONS", "//", "", ";;", "", "null"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.host, s.accept, s.key, s.origin)
	}
	srv, err := pod.New(pod.Options{BaseURL: "http://bench.local", InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	if _, err := srv.ProvisionDemo(context.Background()); err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, method, path, host, accept, key, origin string) {
		req, err := http.NewRequest(method, "http://bench.local/", nil)
		if err != nil {
			return
		}
		req.URL.Path = path
		req.URL.RawPath = ""
		if host != "" {
			req.Host = host
		}
		for k, v := range map[string]string{"Accept": accept, "x-api-key": key, "Origin": origin} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q host %q: %d %s", method, path, host, w.Code, w.Body.String())
		}
		if key == "" && w.Code == 200 && method == "GET" && !strings.HasPrefix(path, "/alice/profile/card") &&
			!strings.HasPrefix(path, "/bob/profile/card") && !strings.HasPrefix(path, "/crm/profile/card") &&
			!strings.HasPrefix(path, "/producer/profile/card") && strings.Count(path, "/") > 1 {
			t.Fatalf("anonymous GET %q served: %s", path, w.Body.String())
		}
	})
}

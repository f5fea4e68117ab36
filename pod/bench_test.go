package pod_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/ldp"
	"podserver/pod"
	"podserver/store"
)

// benchServer builds a server over an on-disk store, served in-process
// through its full handler stack (routing, authentication, WAC, LDP).
func benchServer(b *testing.B) *pod.Server {
	b.Helper()
	s, err := pod.New(pod.Options{BaseURL: "http://bench.local", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

func serveGET(b *testing.B, h http.Handler, path, key string) {
	req := httptest.NewRequest("GET", "http://bench.local"+path, nil)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
}

// BenchmarkGetSmallResource reads a 100-byte resource through the full
// stack, as its owner and anonymously (public, WAC-evaluated).
func BenchmarkGetSmallResource(b *testing.B) {
	s := benchServer(b)
	h := s.Handler()
	err := s.Store().Update(context.Background(), func(tx store.Txn) error {
		_, _, err := ldp.Put(tx, "/alice/notes/small", "text/plain", make([]byte, 100), time.Now(), ldp.Preconditions{})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("owner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serveGET(b, h, "/alice/notes/small", aliceKey)
		}
	})
	b.Run("public-profile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serveGET(b, h, "/alice/profile/card", "")
		}
	})
}

// BenchmarkContainerFirstPage lists the first page of a container with 100
// and with 100,000 children: the page costs the same.
func BenchmarkContainerFirstPage(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := benchServer(b)
			fill(b, s.Store(), "/alice/big/", n)
			h := s.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serveGET(b, h, "/alice/big/", aliceKey)
			}
		})
	}
}

// fill creates n small resources in container c, 1000 per transaction.
func fill(b *testing.B, st store.Store, c string, n int) {
	b.Helper()
	now := time.Now()
	for i := 0; i < n; i += 1000 {
		err := st.Update(context.Background(), func(tx store.Txn) error {
			for j := i; j < i+1000 && j < n; j++ {
				if _, _, err := ldp.Put(tx, fmt.Sprintf("%sr%07d", c, j), "text/plain", []byte("x"), now, ldp.Preconditions{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetTurtleCached reads a JSON-LD resource as Turtle: after the
// first request the converted representation comes from the cache.
func BenchmarkGetTurtleCached(b *testing.B) {
	s := benchServer(b)
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "http://bench.local/alice/profile/card", nil)
		req.Header.Set("Accept", "text/turtle")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/turtle") {
			b.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
		}
	}
}

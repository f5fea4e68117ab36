package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The publishers' minimal client reads what net/http's server writes:
// Content-Length and chunked bodies, Location, Connection: close, and it
// keeps one connection alive across requests.
func TestWireConn(t *testing.T) {
	var conns atomic.Int32
	big := strings.Repeat("x", 100<<10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/created":
			if r.Header.Get("X-Api-Key") != "k" || string(b) != `{"a":1}` || r.Host == "" {
				http.Error(w, "bad request: "+r.Header.Get("X-Api-Key")+" "+string(b), http.StatusBadRequest)
				return
			}
			w.Header().Set("Location", "http://h/p/1")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"http://h/p/1"}`))
		case "/chunked":
			_, _ = w.Write([]byte(big[:5000]))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(big[5000:]))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	w, err := newWireConn(srv.URL+"/", "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	hdr := []string{"Content-Type: application/json", "X-Api-Key: k"}
	for range 3 {
		r, err := w.Post(ctx, "/created", hdr, []byte(`{"a":1}`))
		if err != nil || r.Status != 201 || r.Location != "http://h/p/1" || string(r.Body) != `{"id":"http://h/p/1"}` {
			t.Fatalf("created: %+v %s %v", r, r.Body, err)
		}
	}
	r, err := w.Post(ctx, "/empty", hdr, nil)
	if err != nil || r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("empty: %+v %v", r, err)
	}
	r, err = w.Post(ctx, "/chunked", hdr, nil)
	if err != nil || r.Status != 200 || string(r.Body) != big {
		t.Fatalf("chunked: status %d, %d bytes, %v", r.Status, len(r.Body), err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 keep-alive requests", n)
	}
	r, err = w.Post(ctx, "/close", hdr, nil)
	if err != nil || string(r.Body) != "bye" {
		t.Fatalf("close: %+v %v", r, err)
	}
	if w.c != nil {
		t.Fatal("connection kept after Connection: close")
	}
	r, err = w.Post(ctx, "/created", hdr, []byte(`{"a":2}`))
	if err != nil || r.Status != 400 || !strings.Contains(string(r.Body), "bad request: k") {
		t.Fatalf("after close: %+v %s %v", r, r.Body, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want a second one after Connection: close", n)
	}
	if _, err := newWireConn("https://h/", ""); err == nil {
		t.Fatal("https target accepted")
	}
}

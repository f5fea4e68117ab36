package netguard

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func hello(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") }

func TestLoopbackServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, target := range []string{srv.URL, "http://localhost:" + port + "/"} {
		// Refused without AllowPrivate, also through a name that resolves
		// to loopback.
		_, err := NewClient(Policy{}, ClientOptions{}).Get(target)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s without AllowPrivate: %v, want ErrRefused", target, err)
		}
	}
	resp, err := NewClient(Policy{AllowPrivate: true}, ClientOptions{}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadLimited(resp, 100)
	if err != nil || string(b) != "hello" {
		t.Fatalf("body %q, %v", b, err)
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", hello)
	mux.HandleFunc("/to-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
	})
	mux.HandleFunc("/to-userinfo", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://user:pw@example.com/", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path   string
		opts   ClientOptions
		want   error
		status int
	}{
		{"/to-ok", ClientOptions{}, nil, http.StatusOK},
		{"/to-metadata", ClientOptions{}, ErrRefused, 0},
		{"/to-ftp", ClientOptions{}, ErrBadURL, 0},
		{"/to-userinfo", ClientOptions{}, ErrBadURL, 0},
		{"/loop", ClientOptions{}, ErrTooManyRedirects, 0},
		{"/loop", ClientOptions{MaxRedirects: 10}, ErrTooManyRedirects, 0},
		{"/to-ok", ClientOptions{MaxRedirects: -1}, nil, http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := NewClient(Policy{AllowPrivate: true}, tt.opts).Get(srv.URL + tt.path)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("GET = %v, want %v", err, tt.want)
			}
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
			}
		})
	}
}

func TestResponseLimits(t *testing.T) {
	huge := bytes.Repeat([]byte("x"), 2<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, _ *http.Request) {
		for range 64 {
			_, _ = w.Write(huge[:16<<10])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge[:1024]) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path     string
		clientMx int64 // ClientOptions.MaxResponseBytes
		readMx   int64 // ReadLimited max
		ok       bool
	}{
		{"/huge", 1024, 1 << 30, false},       // the client's limit
		{"/chunked", 1024, 1 << 30, false},    // no Content-Length
		{"/huge", -1, 1024, false},            // ReadLimited's limit, by Content-Length
		{"/chunked", -1, 1024, false},         // ReadLimited's limit, by reading
		{"/exact", 1024, 1024, true},          // exactly at both limits
		{"/exact", 1023, 1 << 20, false},      // one over the client's limit
		{"/huge", -1, int64(len(huge)), true}, // no client limit
	}
	for _, tt := range tests {
		resp, err := NewClient(Policy{AllowPrivate: true}, ClientOptions{MaxResponseBytes: tt.clientMx}).Get(srv.URL + tt.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		b, err := ReadLimited(resp, tt.readMx)
		if tt.ok != (err == nil) {
			t.Errorf("%s client %d read %d: %d bytes, %v; want ok=%v", tt.path, tt.clientMx, tt.readMx, len(b), err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrResponseTooLarge) {
			t.Errorf("%s: %v does not wrap ErrResponseTooLarge", tt.path, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	_, err := NewClient(Policy{AllowPrivate: true}, ClientOptions{Timeout: 200 * time.Millisecond}).Get(srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GET = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timed out after %s", d)
	}
}

func TestBodyTrickle(t *testing.T) {
	// Headers at once, then a body that never ends: the total timeout
	// still applies while reading.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := io.WriteString(w, "x"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	resp, err := NewClient(Policy{AllowPrivate: true}, ClientOptions{Timeout: 300 * time.Millisecond}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLimited(resp, 1<<20); err == nil {
		t.Fatal("trickling body read without a timeout")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/inbox/", true},
		{"http://example.com:8080/a?b#c", true},
		{"HTTPS://EXAMPLE.COM/", true},
		{"http://[::1]:80/", true}, // addresses are the dialer's business
		{"/relative", false},
		{"example.com/x", false},
		{"ftp://example.com/", false},
		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"mailto:a@example.com", false},
		{"http://user:pw@example.com/", false},
		{"http://user@example.com/", false},
		{"http:///nohost", false},
		{"http://:80/", false},
		{"http://%zz/", false},
		{"", false},
	} {
		err := CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadURL) {
			t.Errorf("CheckURL(%q) = %v, not ErrBadURL", tt.url, err)
		}
	}
	// The client checks the first URL too.
	_, err := NewClient(Policy{AllowPrivate: true}, ClientOptions{}).Get("http://user:pw@127.0.0.1:1/")
	if !errors.Is(err, ErrBadURL) || strings.Contains(err.Error(), "pw") {
		t.Fatalf("GET with userinfo = %v", err)
	}
}

package webid

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/netguard"
)

// profileServer serves documents that tests can change, and counts GETs.
type profileServer struct {
	*httptest.Server

	mu      sync.Mutex
	docs    map[string]doc // path -> document
	fetches map[string]int
}

type doc struct {
	contentType string
	body        string
	status      int           // 0 means 200
	delay       time.Duration // before answering
	gate        chan struct{} // when set, answer only once it is closed
}

func newProfileServer(t *testing.T) *profileServer {
	t.Helper()
	s := &profileServer{docs: map[string]doc{}, fetches: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d, ok := s.docs[r.URL.Path]
		s.fetches[r.URL.Path]++
		s.mu.Unlock()
		if r.Header.Get("Accept") != AcceptHeader {
			http.Error(w, "bad Accept "+r.Header.Get("Accept"), http.StatusNotAcceptable)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if d.gate != nil {
			select {
			case <-d.gate:
			case <-r.Context().Done():
				return
			}
		}
		if d.delay > 0 {
			select {
			case <-time.After(d.delay):
			case <-r.Context().Done():
				return
			}
		}
		if d.contentType != "" {
			w.Header().Set("Content-Type", d.contentType)
		}
		if d.status != 0 {
			w.WriteHeader(d.status)
		}
		_, _ = w.Write([]byte(d.body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *profileServer) set(path string, d doc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = d
}

func (s *profileServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches[path]
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newResolver returns a resolver allowed to reach loopback servers.
func newResolver(t *testing.T, opts Options) (*Resolver, *clock) {
	t.Helper()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	if opts.Client == nil {
		opts.Client = netguard.NewClient(netguard.Policy{AllowPrivate: true}, netguard.ClientOptions{Timeout: 5 * time.Second})
	}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	return NewResolver(opts), c
}

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// turtleProfile is a profile in the format podserver publishes.
func turtleProfile(inbox, multibase string) string {
	var b strings.Builder
	b.WriteString("@prefix ldp: <http://www.w3.org/ns/ldp#> .\n@prefix sec: <https://w3id.org/security#> .\n")
	b.WriteString("@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n\n<> a foaf:PersonalProfileDocument; foaf:primaryTopic <#me> .\n")
	b.WriteString("<#me> a foaf:Agent")
	if inbox != "" {
		b.WriteString(";\n    ldp:inbox <" + inbox + ">")
	}
	if multibase != "" {
		b.WriteString(";\n    sec:assertionMethod <#key> .\n<#key> a sec:Multikey;\n    sec:controller <#me>;\n    sec:publicKeyMultibase \"" + multibase + "\"")
	}
	b.WriteString(" .\n")
	return b.String()
}

package webid

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"podserver/netguard"
	"podserver/rdf"
)

// hostileDoc repeats item after head until the document is about n bytes.
func hostileDoc(head, item, tail string, n int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, item, i)
	}
	b.WriteString(tail)
	return b.String()
}

// Documents within the size limit that would cost far more than their
// size to parse are refused unparsed, as malformed.
func TestParseCostBounds(t *testing.T) {
	long := strings.Repeat("a", 4096)
	const size = 200 << 10
	tests := []struct {
		name, ct, body string
	}{
		{"turtle prefix expansion", "text/turtle", hostileDoc("@prefix p: <http://h.example/"+long+"> .\n<#me> <#q> p:0", ",p:%x", " .", size)},
		{"turtle collection", "text/turtle", hostileDoc("<#me> <#q> (", " %d", ") .", size)},
		{"turtle many triples", "text/turtle", hostileDoc("", "<#s%d> <#p> 1 .\n", "", size)},
		{"turtle nesting", "text/turtle", strings.Repeat("<#me> <#q> [", 100) + strings.Repeat("]", 100) + " ."},
		{"json-ld compact IRIs", "application/ld+json", hostileDoc(`{"@context":{"p":"http://h.example/`+long+`"},"@id":"#me"`, `,"p:%x":1`, "}", size)},
		{"json-ld many values", "application/ld+json", hostileDoc(`{"@id":"#me","http://x.example/p":[0`, `,%d`, "]}", size)},
		{"json-ld contexts", "application/ld+json", `{"@graph":[` + strings.TrimSuffix(strings.Repeat(`{"@context":{"a":"http://a.example/"},"a":1},`, 10), ",") + `]}`},
		{"json-ld nesting", "application/ld+json", strings.Repeat(`{"http://x.example/p":`, 100) + "1" + strings.Repeat("}", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newProfileServer(t)
			srv.set("/card", doc{contentType: tt.ct, body: tt.body})
			r, _ := newResolver(t, Options{})
			_, err := r.Profile(context.Background(), srv.URL+"/card#me")
			if !errors.Is(err, ErrMalformedProfile) || !errors.Is(err, errTooCostly) {
				t.Fatalf("Profile = %v, want a too costly ErrMalformedProfile", err)
			}
		})
	}
}

// Every kind of failure is remembered for ErrorTTL: the document is not
// fetched again before.
func TestNegativeCacheEveryKind(t *testing.T) {
	srv := newProfileServer(t)
	kinds := map[string]doc{
		"/status":    {status: 500},
		"/notfound":  {status: 404},
		"/malformed": {contentType: "text/turtle", body: "<#me> <#p> ."},
		"/notype":    {body: turtleProfile("../inbox/", "")},
		"/oversize":  {contentType: "text/turtle", body: "# " + strings.Repeat("x", 2000)},
		"/costly":    {contentType: "text/turtle", body: hostileDoc("<#me> <#q> (", " %d", ") .", 1800)},
	}
	for path, d := range kinds {
		srv.set(path, d)
	}
	r, clk := newResolver(t, Options{ErrorTTL: 10 * time.Second, MaxProfileBytes: 1900, MaxProfileTerms: 100,
		Fetcher: netguard.NewFetcher(netguard.NewClient(netguard.Policy{AllowPrivate: true}, netguard.ClientOptions{}), netguard.FetchLimits{HostMaxFailures: -1})})
	for path := range kinds {
		for range 3 {
			if _, err := r.Profile(context.Background(), srv.URL+path+"#me"); err == nil {
				t.Fatalf("%s: no error", path)
			}
		}
		if n := srv.count(path); n != 1 {
			t.Errorf("%s: fetched %d times within ErrorTTL, want 1", path, n)
		}
	}
	clk.advance(10 * time.Second)
	_, _ = r.Profile(context.Background(), srv.URL+"/costly#me")
	if n := srv.count("/costly"); n != 2 {
		t.Errorf("/costly: %d fetches after ErrorTTL, want 2", n)
	}
}

// A flood of distinct key ids on one host that gives no answer cannot get
// around the cache of failed documents: after a few failures the host is
// not asked. A host that answers 404 to each is asked each time, and
// stays usable for the documents it has.
func TestFailingHostFlood(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close() // no answer
		}
	}()
	srv := newProfileServer(t)
	srv.set("/alice/card", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
	r, _ := newResolver(t, Options{})
	for i := range 50 {
		for _, host := range []string{"http://" + ln.Addr().String(), srv.URL} {
			if _, err := r.ResolveKey(context.Background(), fmt.Sprintf("%s/p%d/card#key", host, i)); !errors.Is(err, ErrFetch) {
				t.Fatalf("key %d on %s: %v", i, host, err)
			}
		}
	}
	if n := conns.Load(); n != netguard.DefaultHostMaxFailures {
		t.Fatalf("the silent host was asked %d times for 50 key ids, want %d", n, netguard.DefaultHostMaxFailures)
	}
	if _, err := r.Profile(context.Background(), srv.URL+"/alice/card#me"); err != nil {
		t.Fatalf("after 50 404s from its host: %v, want the profile", err)
	}
}

// FuzzCostBounds checks that the scans bound what a parse produces: at
// most two triples per counted term, and no more expanded bytes (new
// strings) than estimated.
func FuzzCostBounds(f *testing.F) {
	f.Add("text/turtle", turtleProfile("../inbox/", "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"))
	f.Add("text/turtle", `@prefix p: <http://a.example/long> . <#a> p:b (1 2 [ p:c "x"@en ]), p:d, """multi
line""" .`)
	f.Add("application/ld+json", `{"@context":{"p":"http://a.example/","q":{"@id":"p:q","@type":"@id"}},"@id":"#me","q":["#a","#b"],"p:x":{"@value":"v"}}`)
	f.Add("application/ld+json", `{"@context":{"@vocab":"http://v.example/"},"@graph":[{"@id":"#a","n":1},{"@id":"#b","l":{"@list":[1,2]}}]}`)
	const base = "https://a.example/alice/profile/card"
	f.Fuzz(func(t *testing.T, ct, body string) {
		if ct != "text/turtle" && ct != "application/ld+json" {
			return
		}
		var c cost
		if ct == "text/turtle" {
			c = turtleCost([]byte(body), base)
		} else {
			var err error
			if c, err = jsonldCost([]byte(body), base, 0); err != nil {
				return
			}
		}
		if c.contexts > 8 || c.nesting > 32 {
			return // refused unparsed anyway; keep json-gold's work small
		}
		quads, err := rdf.Parse(ct, []byte(body), base)
		if err != nil {
			return
		}
		// Objects are built per triple; subjects and predicates repeat
		// for lists of objects and share their memory.
		var expanded int64
		seen := map[string]bool{}
		for _, q := range quads {
			expanded += int64(len(q.O.Value))
			for _, v := range []string{q.S.Value, q.P.Value} {
				if !seen[v] {
					seen[v] = true
					expanded += int64(len(v))
				}
			}
		}
		if len(quads) > 2*c.terms+1 {
			t.Fatalf("%d triples from %d counted terms", len(quads), c.terms)
		}
		if expanded > c.expanded {
			t.Fatalf("%d expanded bytes, estimate %d", expanded, c.expanded)
		}
	})
}

package webid

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"podserver/httpsig"
)

func TestCacheTTL(t *testing.T) {
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
	r, clk := newResolver(t, Options{TTL: time.Minute})
	ctx := context.Background()
	webID := srv.URL + card + "#me"

	steps := []struct {
		advance time.Duration
		id      string
		fetches int
	}{
		{0, webID, 1},
		{30 * time.Second, webID, 1},       // cached
		{0, srv.URL + card + "#other", 1},  // same document, no inbox for #other
		{31 * time.Second, webID, 2},       // expired
		{0, srv.URL + card + "?x=1#me", 3}, // another document URL
	}
	for i, s := range steps {
		clk.advance(s.advance)
		_, _ = r.Profile(ctx, s.id)
		if got := srv.count(card); got != s.fetches {
			t.Fatalf("step %d: %d fetches, want %d", i, got, s.fetches)
		}
	}
	r.Invalidate(webID)
	if _, err := r.Profile(ctx, webID); err != nil || srv.count(card) != 4 {
		t.Fatalf("after Invalidate: %v, %d fetches", err, srv.count(card))
	}
}

func TestCacheErrors(t *testing.T) {
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	srv.set(card, doc{status: 503, body: "down"})
	r, clk := newResolver(t, Options{ErrorTTL: 10 * time.Second})
	ctx := context.Background()
	webID := srv.URL + card + "#me"

	if _, err := r.Profile(ctx, webID); !errors.Is(err, ErrFetch) {
		t.Fatal(err)
	}
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
	if _, err := r.Profile(ctx, webID); !errors.Is(err, ErrFetch) || srv.count(card) != 1 {
		t.Fatalf("error not cached: %v, %d fetches", err, srv.count(card))
	}
	clk.advance(10 * time.Second)
	if _, err := r.Profile(ctx, webID); err != nil || srv.count(card) != 2 {
		t.Fatalf("after ErrorTTL: %v, %d fetches", err, srv.count(card))
	}

	// Negative ErrorTTL: errors are not remembered.
	r, _ = newResolver(t, Options{ErrorTTL: -1})
	srv.set("/down", doc{status: 500})
	for range 3 {
		_, _ = r.Profile(ctx, srv.URL+"/down#me")
	}
	if n := srv.count("/down"); n != 3 {
		t.Fatalf("%d fetches of /down, want 3", n)
	}
}

func TestSingleflight(t *testing.T) {
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	gate := make(chan struct{})
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", ""), gate: gate})
	r, _ := newResolver(t, Options{})

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i == 0 {
				// The caller that may have started the fetch gives up; the
				// others still get the result.
				c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				ctx = c
			}
			_, err := r.Profile(ctx, srv.URL+card+"#me")
			if i != 0 {
				errs <- err
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.count(card); got != 1 {
		t.Fatalf("%d fetches for %d concurrent callers, want 1", got, n)
	}
}

func TestCacheMaxEntries(t *testing.T) {
	srv := newProfileServer(t)
	r, clk := newResolver(t, Options{MaxEntries: 3})
	for i := range 10 {
		path := fmt.Sprintf("/p%d/profile/card", i)
		srv.set(path, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "")})
		if _, err := r.Profile(context.Background(), srv.URL+path+"#me"); err != nil {
			t.Fatal(err)
		}
		clk.advance(time.Second)
		r.mu.Lock()
		n := len(r.cache)
		r.mu.Unlock()
		if n > 3 {
			t.Fatalf("%d cached documents, max 3", n)
		}
	}
	// The newest stayed, the oldest went.
	_, _ = r.Profile(context.Background(), srv.URL+"/p9/profile/card#me")
	_, _ = r.Profile(context.Background(), srv.URL+"/p0/profile/card#me")
	if srv.count("/p9/profile/card") != 1 || srv.count("/p0/profile/card") != 2 {
		t.Fatal("eviction did not drop the oldest entry")
	}
}

func TestKey(t *testing.T) {
	pub, _ := newKey(t)
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	srv.set(card, doc{contentType: "text/turtle", body: turtleProfile("../inbox/", httpsig.PublicKeyMultibase(pub))})
	r, _ := newResolver(t, Options{})
	ctx := context.Background()

	k, err := r.Key(ctx, srv.URL+card+"#key")
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != srv.URL+card+"#key" || k.Controller != srv.URL+card+"#me" || !k.Public.Equal(pub) {
		t.Fatalf("key %+v", k)
	}
	k.Public[0] ^= 0xff // the caller's copy
	if got, _ := r.ResolveKey(ctx, srv.URL+card+"#key"); !got.Equal(pub) {
		t.Fatal("changing a returned key changed the cache")
	}
	for _, tt := range []struct {
		id   string
		want error
	}{
		{srv.URL + card + "#nokey", ErrKeyNotFound},
		{srv.URL + card + "#me", ErrKeyNotFound},
		{srv.URL + card, ErrBadWebID},
		{srv.URL + card + "#", ErrBadWebID},
		{"key-1", ErrBadWebID},
		{srv.URL + "/missing#key", ErrFetch},
	} {
		if _, err := r.KeyResolver()(ctx, tt.id); !errors.Is(err, tt.want) {
			t.Errorf("ResolveKey(%s) = %v, want %v", tt.id, err, tt.want)
		}
	}
	srv.set("/bad/profile/card", doc{contentType: "text/turtle", body: turtleProfile("../inbox/", "z6MkNOPE")})
	if _, err := r.ResolveKey(ctx, srv.URL+"/bad/profile/card#key"); !errors.Is(err, ErrMalformedProfile) {
		t.Errorf("unusable key: %v", err)
	}
}

// A failed refetch, forced (a key id's refresh) or at expiry, keeps
// serving the last good copy of the document for MaxStale; only a
// successful fetch replaces it.
func TestStaleIfError(t *testing.T) {
	pub, _ := newKey(t)
	srv := newProfileServer(t)
	card := "/alice/profile/card"
	good := doc{contentType: "text/turtle", body: turtleProfile("../inbox/", httpsig.PublicKeyMultibase(pub))}
	srv.set(card, good)
	r, clk := newResolver(t, Options{TTL: time.Minute, ErrorTTL: 5 * time.Second, MinRefreshInterval: 30 * time.Second, MaxStale: time.Hour})
	ctx := context.Background()
	keyID := srv.URL + card + "#key"
	if _, err := r.ResolveKey(ctx, keyID); err != nil {
		t.Fatal(err)
	}
	for _, broken := range []doc{
		{status: 503, body: "down"},
		{status: 404},
		{contentType: "text/turtle", body: "<unterminated"},
	} {
		srv.set(card, broken)
		before := srv.count(card)
		clk.advance(31 * time.Second)
		if k, err := r.RefreshKey(ctx, keyID); err != nil || !k.Equal(pub) {
			t.Fatalf("forced refresh against %+v: %v, want the cached key", broken, err)
		}
		clk.advance(31 * time.Second) // past TTL
		if p, err := r.Profile(ctx, srv.URL+card+"#me"); err != nil || p.Inbox == "" {
			t.Fatalf("expired, refetch against %+v: %v, want the cached profile", broken, err)
		}
		if srv.count(card) != before+2 {
			t.Fatalf("%d fetches, want %d", srv.count(card), before+2)
		}
	}
	srv.set(card, good)
	clk.advance(5 * time.Second)
	if _, err := r.Profile(ctx, srv.URL+card+"#me"); err != nil {
		t.Fatal(err)
	}
	// Older than MaxStale, the copy goes.
	srv.set(card, doc{status: 503})
	clk.advance(time.Hour)
	if _, err := r.ResolveKey(ctx, keyID); !errors.Is(err, ErrFetch) {
		t.Fatalf("after MaxStale: %v, want ErrFetch", err)
	}
}

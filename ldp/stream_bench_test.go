package ldp

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/store"
)

// allModes is an Authorizer that grants everything: the benchmark measures
// the listing, not access control.
type allModes struct{}

func (allModes) Modes(context.Context, *Request, string) (acl.Mode, error) {
	return acl.Read | acl.Write | acl.Append | acl.Control, nil
}

// BenchmarkContainerListing100k reads a 100,000-member container (and,
// "-10k", a 10,000-member one, to show the peak does not grow with size)
// as Turtle
// over HTTP from an on-disk store: streamed whole (what a Solid client now
// gets from one GET), and page by page at the largest page (what it took
// before to read every member, following Link rel="next"). "seqnamed" is a
// sequence-named container (an inbox), listed from its records. Reported:
// ns/op the total time, ttfb-ms the time to the first byte of the first
// response, peak-heap-MB the highest HeapInuse sampled during the read
// above the level before it, and members the members read.
//
//	go test -run '^$' -bench ContainerListing100k -benchtime 5x ./ldp/
func BenchmarkContainerListing100k(b *testing.B) {
	const n = 100_000
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	repo := NewRepo(st)
	ctx := context.Background()
	now := time.Now()
	if err := st.Update(ctx, func(tx store.Txn) error { return CreatePod(tx, "alice", now) }); err != nil {
		b.Fatal(err)
	}
	sizes := map[string]int{"/alice/big/": n, "/alice/inbox/": n, "/alice/small/": n / 10, "/alice/inbox10k/": n / 10}
	seqNamed := func(c string) bool { return strings.HasPrefix(c, "/alice/inbox") }
	for c, size := range sizes {
		for done := 0; done < size; {
			err := st.Update(ctx, func(tx store.Txn) error {
				if err := EnsureContainer(tx, c, now); err != nil {
					return err
				}
				for i := 0; i < 5000 && done+i < size; i++ {
					var err error
					if seqNamed(c) {
						_, _, err = AppendSeqMember(tx, c, tx.NextSeq(), MediaJSONLD, []byte(`{"type":"Announce","object":"https://example.org/x"}`), now)
					} else {
						_, _, err = Put(tx, c+NewID(), "text/plain", []byte("x"), now, Preconditions{})
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			done += 5000
		}
	}
	h := NewHandler(Config{Repo: repo, Authorizer: allModes{},
		SeqNamed: seqNamed})
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(apierr.Handle(nil, func(c *gin.Context) error {
		rel := strings.TrimPrefix(c.Request.URL.Path, "/alice/")
		return h.Serve(c, &Request{Target: Target{Pod: "alice", Path: StoragePath("alice", rel), Root: "http://pod.test/alice/"}})
	}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	// read GETs path as Turtle and returns the next page's path (from the
	// Link header), the members read and the time to the first byte.
	read := func(b *testing.B, path string) (string, int, time.Duration) {
		start := time.Now()
		var ttfb time.Duration
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { ttfb = time.Since(start) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", srv.URL+path, nil)
		req.Header.Set("Accept", MediaTurtle)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		members, err := countContains(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
		}
		next := ""
		for _, l := range resp.Header.Values("Link") {
			if u, ok := strings.CutSuffix(l, `>; rel="next"`); ok {
				next = strings.TrimPrefix(strings.TrimPrefix(u, "<"), "http://pod.test")
			}
		}
		return next, members, ttfb
	}
	for _, bc := range []struct{ name, path string }{
		{"streamed", "/alice/big/"},
		{"paged-1000", "/alice/big/?limit=1000"},
		{"streamed-seqnamed", "/alice/inbox/"},
		{"paged-1000-seqnamed", "/alice/inbox/?limit=1000"},
		{"streamed-10k", "/alice/small/"},
		{"streamed-seqnamed-10k", "/alice/inbox10k/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var peak uint64
			var ttfb time.Duration
			members := 0
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				members = 0
				for path, first := bc.path, true; path != ""; first = false {
					var m int
					var t time.Duration
					path, m, t = read(b, path)
					members += m
					if first {
						ttfb += t
					}
				}
				b.StopTimer()
				stop()
				b.StartTimer()
			}
			if want := sizes[strings.TrimSuffix(bc.path, "?limit=1000")]; members != want {
				b.Fatalf("read %d members, want %d", members, want)
			}
			b.ReportMetric(float64(ttfb.Microseconds())/1e3/float64(b.N), "ttfb-ms")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(members), "members")
		})
	}
}

// sampleHeap records in *peak the highest HeapInuse above the current
// level seen every millisecond until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > *peak {
				*peak = ms.HeapInuse - base
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// countContains counts the ldp:contains objects of a Turtle listing as
// the server writes it (one statement a line, its objects separated by
// ", "), reading it a line at a time.
func countContains(r io.Reader) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	for {
		line, err := br.ReadBytes('\n')
		if bytes.Contains(line, []byte("ldp:contains <")) {
			n += bytes.Count(line, []byte(">, <")) + 1
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

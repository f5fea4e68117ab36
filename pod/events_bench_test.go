package pod_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"podserver/bench"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
	"podserver/store"
)

// BenchmarkPublish publishes the seed's event (fan-out: alice, bob and crm)
// through the full handler stack: authentication, validation, settings,
// the atomic durable write. "handler" calls the server's http.Handler in
// process; "http" goes over loopback. Run with -cpu to vary parallelism.
func BenchmarkPublish(b *testing.B) {
	s := podtest.RunServer(b, pod.Options{})
	body := []byte(seedEvent(s))
	url := s.PodRoot("producer") + "publish/"
	b.Run("handler", func(b *testing.B) {
		h := s.Handler()
		b.SetParallelism(16)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Api-Key", evKeys.producer)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusCreated {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
	})
	b.Run("http", func(b *testing.B) { postLoad(b, url, evKeys.producer, body, "publishes/s") })
}

// postLoad POSTs body to url with key from 64 connections (32 goroutines
// per CPU), expecting 201s, and reports the rate as unit and the process's
// CPU time per request.
func postLoad(b *testing.B, url, key string, body []byte, unit string) {
	c := bench.NewClient(64)
	b.SetParallelism(32)
	cpu0 := bench.CPUTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Api-Key", key)
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatal(resp.Status)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	b.ReportMetric(float64((bench.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

// BenchmarkPublishStoreFloor is the store's share of a publish, without
// HTTP, parsing or authorization: from 64 concurrent writers, each
// iteration durably writes what a publish with fan-out 3 writes (the event
// in publish/, 4 inbox copies, their copies entry) through group commit.
// cpu-us/op is the process's CPU time per publish.
func BenchmarkPublishStoreFloor(b *testing.B) {
	s := podtest.RunServer(b, pod.Options{})
	ib := inbox.New()
	pub := ldp.StoragePath("producer", "publish/")
	targets := []string{inbox.Path("alice"), inbox.Path("bob"), inbox.Path("crm"), inbox.Path("producer")}
	root := s.PodRoot("producer") + "publish/"
	body := []byte(`{"id":"` + root + `00000000-0000-0000-0000-000000000000","agent":"` + s.WebID("producer") +
		`","instrument":"publisher","received_at":"2024-05-01T12:00:00.000Z","recipient":"` + s.WebID("alice") +
		`","topic":"bench/event","data":{"type":"BenchAction","sent_ns":1732600000000000000,"n":12345}}`)
	var n atomic.Int64
	b.SetParallelism(32)
	cpu0 := bench.CPUTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		copies := make([]inbox.Copy, len(targets))
		for pb.Next() {
			id := root + strconv.FormatInt(n.Add(1), 10)
			err := s.Store().Update(context.Background(), func(tx store.Txn) error {
				now := time.Now()
				if _, _, err := ldp.AppendMember(tx, pub, path.Base(id), tx.NextSeq(), ldp.MediaJSONLD, body, now); err != nil {
					return err
				}
				for i, t := range targets {
					copies[i] = inbox.Copy{Inbox: t, EventID: id, Body: body, NewEvent: true, InboxExists: true}
				}
				_, err := ib.AppendAll(tx, copies, now)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
	b.ReportMetric(float64((bench.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

// BenchmarkHTTPFloor is the floor under BenchmarkPublish/http: the same
// client, body and parallelism against a handler that only reads the body
// and answers 201 with a Location, so it measures what loopback HTTP alone
// costs on this machine (client and server sharing it).
func BenchmarkHTTPFloor(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "http://127.0.0.1/producer/publish/0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"http://127.0.0.1/producer/publish/0"}`))
	}))
	defer srv.Close()
	body := []byte(`{"recipient":"http://127.0.0.1/alice/profile/card#me","topic":"realestate/contact#add","data":{"type":"AddAction"}}`)
	postLoad(b, srv.URL+"/producer/publish/", "k", body, "requests/s")
}

// fillInbox stores n copies in pod's inbox directly through the store, in
// batches that fit one transaction.
func fillInbox(b *testing.B, s *pod.Server, podName string, n int) {
	b.Helper()
	ib := inbox.New()
	path := inbox.Path(podName)
	root := s.PodRoot("producer") + "publish/"
	const batch = 4000
	start := time.Now()
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := s.Store().Update(context.Background(), func(tx store.Txn) error {
			now := time.Now()
			for i := range k {
				id := root + "fill" + strconv.Itoa(done+i)
				body := []byte(`{"id":"` + id + `","agent":"` + s.WebID("producer") + `","instrument":"publisher","received_at":"2024-05-01T12:00:00.000Z","correlationId":"` + id +
					`","recipient":"` + s.WebID(podName) + `","topic":"realestate/contact#add","data":{"type":"AddAction","object":{"type":"Contact","name":"Bruce Wayne"}}}`)
				if _, _, err := ib.Append(tx, inbox.Copy{Inbox: path, EventID: id, Body: body, NewEvent: true, InboxExists: true}, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += k
	}
	b.Logf("filled %s with %d copies in %v", path, n, time.Since(start))
}

// BenchmarkInboxFirstPage reads the first page (50 copies) of an inbox
// holding 100 copies and one holding 1,000,000, over loopback HTTP with the
// owner's key: the cost must not grow with the inbox.
func BenchmarkInboxFirstPage(b *testing.B) {
	s := podtest.RunServer(b, pod.Options{})
	fillInbox(b, s, "bob", 100)
	big := 1000000
	if testing.Short() {
		big = 20000
	}
	fillInbox(b, s, "alice", big)
	for _, c := range []struct {
		name, pod, key string
	}{{"100", "bob", evKeys.bob}, {strconv.Itoa(big), "alice", evKeys.alice}} {
		url := s.PodRoot(c.pod) + "inbox/"
		b.Run(c.name+"/http", func(b *testing.B) {
			client := bench.NewClient(16)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("X-Api-Key", c.key)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || n < 1000 {
						b.Fatalf("%s: %d bytes", resp.Status, n)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(c.name+"/handler", func(b *testing.B) {
			h := s.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("X-Api-Key", c.key)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || rec.Body.Len() < 1000 {
						b.Fatalf("%d: %d bytes", rec.Code, rec.Body.Len())
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkInboxPoll is a subscriber polling its inbox with the cursor of
// its last read (GET inbox/?from=cursor), as the bench's readers do:
// "empty" finds nothing new, "10" finds the last ten copies. Through the
// server's handler, without HTTP.
func BenchmarkInboxPoll(b *testing.B) {
	s := podtest.RunServer(b, pod.Options{})
	fillInbox(b, s, "bob", 100)
	h := s.Handler()
	get := func(b *testing.B, query string) []byte {
		req := httptest.NewRequest(http.MethodGet, s.PodRoot("bob")+"inbox/?"+query, nil)
		req.Header.Set("X-Api-Key", evKeys.bob)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	next := func(page []byte) string {
		const mark = `"next":"`
		i := bytes.LastIndex(page, []byte(mark))
		if i < 0 {
			b.Fatalf("no next in %.200s", page)
		}
		rest := page[i+len(mark):]
		return string(rest[:bytes.IndexByte(rest, '"')])
	}
	first := get(b, "limit=90")
	tail := next(get(b, "limit=1000"))
	for _, c := range []struct{ name, query string }{
		{"empty", "limit=1000&from=" + tail},
		{"10", "limit=1000&from=" + next(first)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				get(b, c.query)
			}
		})
	}
	// "reader/10": another pod's owner, whom bob's inbox ACL lets read
	// the inbox and (acl:default) its items: the Web Access Control
	// decisions of a page (the inbox's, and the items' content) are not
	// the owner's shortcut.
	acl := "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n" +
		"<#owner> a acl:Authorization; acl:agent <" + s.WebID("bob") + ">; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.\n" +
		"<#crm> a acl:Authorization; acl:agent <" + s.WebID("crm") + ">; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.\n"
	req := httptest.NewRequest(http.MethodPut, s.PodRoot("bob")+"inbox/.acl", strings.NewReader(acl))
	req.Header.Set("X-Api-Key", evKeys.bob)
	req.Header.Set("Content-Type", "text/turtle")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		b.Fatalf("PUT inbox ACL: %d %s", rec.Code, rec.Body)
	}
	b.Run("reader/10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, s.PodRoot("bob")+"inbox/?limit=1000&from="+next(first), nil)
			req.Header.Set("X-Api-Key", evKeys.crm)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"data"`)) {
				b.Fatalf("%d %.300s", rec.Code, rec.Body)
			}
		}
	})
}

package pod_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"podserver/ldp"
	"podserver/pod"
	"podserver/podtest"
)

// hostileProfiles serves the most expensive profiles within the size
// limit: Turtle whose prefixed names expand to gigabytes, JSON-LD whose
// compact IRIs do the same, and one over the size limit. It counts GETs.
func hostileProfiles(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	long := strings.Repeat("a", 4096)
	var ttl, jsonld strings.Builder
	ttl.WriteString("@prefix p: <http://h.example/" + long + "> .\n<#me> <#q> p:0")
	jsonld.WriteString(`{"@context":{"p":"http://h.example/` + long + `"},"@id":"#me"`)
	for i := 1; ttl.Len() < 250<<10; i++ {
		fmt.Fprintf(&ttl, ",p:%x", i)
		fmt.Fprintf(&jsonld, `,"p:%x":1`, i)
	}
	ttl.WriteString(" .\n")
	jsonld.WriteString("}")
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		switch {
		case strings.HasPrefix(r.URL.Path, "/ttl/"):
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = w.Write([]byte(ttl.String()))
		case strings.HasPrefix(r.URL.Path, "/jsonld/"):
			w.Header().Set("Content-Type", "application/ld+json")
			_, _ = w.Write([]byte(jsonld.String()))
		default:
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = w.Write([]byte("# " + strings.Repeat("x", 300<<10)))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

// A signed POST whose keyid names a hostile profile is answered 401 with a
// message that names nothing but the problem; concurrent ones are all
// answered, and the hostile host is asked once per document at most
// (failures are remembered), then not at all (the host is remembered).
func TestSignedHostileKeyProfile(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	hostile, gets := hostileProfiles(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	inboxURL := s.PodRoot("alice") + "inbox/"
	body := `{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce"}`

	var wg sync.WaitGroup
	statuses := make(chan int, 24)
	for round := range 3 {
		for i, kind := range []string{"ttl", "jsonld", "big", "ttl", "jsonld", "big", "ttl", "jsonld"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keyID := fmt.Sprintf("%s/%s/%d/profile/card#key", hostile.URL, kind, i)
				resp, _ := signedPost(fromGoroutine(t), inboxURL, keyID, key, body)
				got := respBody(resp)
				for _, leak := range []string{hostile.URL, "127.0.0.1", "dial", "lookup", "netguard", "webid", "turtle", "bytes"} {
					if strings.Contains(got, leak) {
						t.Errorf("round %d %s: the answer %q tells %q", round, keyID, got, leak)
					}
				}
				statuses <- resp.StatusCode
			}()
		}
		wg.Wait()
	}
	close(statuses)
	n401 := 0
	for st := range statuses {
		switch st {
		case http.StatusUnauthorized:
			n401++
		case http.StatusServiceUnavailable: // too many fetches at once, or the host is remembered as failing
		default:
			t.Errorf("status %d, want 401 or 503", st)
		}
	}
	if n401 == 0 {
		t.Error("no hostile profile was refused as unusable (401)")
	}
	// 8 distinct documents, each fetched at most once (errors are
	// remembered), and fewer once the host is remembered as failing.
	if g := gets.Load(); g > 8 {
		t.Errorf("the hostile host was asked %d times for 8 documents", g)
	}
}

// An unreachable keyid host gets a 503 (the sender may retry) that tells
// nothing of DNS or addresses.
func TestSignedUnreachableKeyProfile(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	inboxURL := s.PodRoot("alice") + "inbox/"
	body := `{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce"}`
	for _, keyID := range []string{
		"http://no-such-host.invalid/profile/card#key",
		"http://127.0.0.1:1/profile/card#key",
	} {
		resp, _ := signedPost(t, inboxURL, keyID, key, body)
		got := respBody(resp)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s, want 503 with Retry-After", keyID, resp.StatusCode, got)
		}
		for _, leak := range []string{"invalid", "127.0.0.1", ":1", "dial", "lookup", "refused", "no such host"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: the answer %q tells %q", keyID, got, leak)
			}
		}
	}
}

// A signed request accepted before a restart is refused after it: the
// nonces are in the store.
func TestSignedReplayAfterRestart(t *testing.T) {
	a := remoteServer(t)
	dirB, addrB := t.TempDir(), freeAddr(t)
	optsB := pod.Options{Addr: addrB, DataDir: dirB, BaseURL: "http://" + addrB, AllowPrivateTargets: true}
	b, stopB := podtest.RunStoppable(t, optsB)
	allowRemote(t, b, "alice", evKeys.alice, a.WebID("producer"))
	key, keyID, err := a.SigningKey(context.Background(), "producer")
	if err != nil {
		t.Fatal(err)
	}
	inboxURL := b.PodRoot("alice") + "inbox/"
	id := a.PodRoot("producer") + "publish/" + ldp.NewID()
	body := `{"id":"` + id + `","agent":"` + a.WebID("producer") + `","recipient":"` + b.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	resp, req := signedPost(t, inboxURL, keyID, key, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signed copy: %d %s", resp.StatusCode, respBody(resp))
	}
	stopB()
	podtest.RunStoppable(t, optsB)
	if resp := send(t, req, body); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(respBody(resp), "seen before") {
		t.Fatalf("replay after restart: %d, want 401 seen before", resp.StatusCode)
	}
}

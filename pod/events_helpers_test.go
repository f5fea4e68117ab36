package pod_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// Demo keys (fixtures/demo.json) used by the event tests.
var evKeys = struct {
	alice, bob, crm, producer, producerOwner string
}{
	alice:         "pk_demo_alice_owner_0123456789",
	bob:           "pk_demo_bob_owner_0123456789",
	crm:           "pk_demo_crm_owner_0123456789",
	producer:      "pk_demo_producer_publisher_0123456789",
	producerOwner: "pk_demo_producer_owner_0123456789",
}

// evServer starts a server over dir (a new temporary directory when "")
// with the demo pods, on a loopback port. The returned stop function shuts
// it down (also done at the end of the test, if not called before).
func evServer(t testing.TB, dir string) (*pod.Server, func()) {
	t.Helper()
	return podtest.RunStoppable(t, pod.Options{DataDir: dir})
}

// evReq is one HTTP request of an event test.
type evReq struct {
	method, url, key, body string
	ctype                  string // default application/json when body is set
	hdr                    map[string]string
}

type evResp struct {
	status int
	hdr    http.Header
	body   string
}

// json decodes the response body into a generic value.
func (r evResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func evDo(t testing.TB, q evReq) evResp {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	req, err := http.NewRequest(q.method, q.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.key != "" {
		req.Header.Set("x-api-key", q.key)
	}
	switch {
	case q.ctype != "":
		req.Header.Set("Content-Type", q.ctype)
	case q.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range q.hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return evResp{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

// publishTo posts body to pod's publish/ with key.
func publishTo(t testing.TB, s *pod.Server, pod, key, body string) evResp {
	t.Helper()
	return evDo(t, evReq{method: "POST", url: s.PodRoot(pod) + "publish/", key: key, body: body})
}

// inboxPage is a decoded GET inbox/ answer.
type inboxPage struct {
	ID       string           `json:"id"`
	Type     []string         `json:"type"`
	Contains []map[string]any `json:"contains"`
	Next     string           `json:"next"`
	Context  string           `json:"@context"`
}

// readInbox GETs pod's inbox with the query and key and decodes the page.
func readInbox(t testing.TB, s *pod.Server, pod, key, query string) (inboxPage, evResp) {
	t.Helper()
	u := s.PodRoot(pod) + "inbox/"
	if query != "" {
		u += "?" + query
	}
	r := evDo(t, evReq{method: "GET", url: u, key: key})
	var pg inboxPage
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &pg); err != nil {
			t.Fatalf("inbox page: %v: %s", err, r.body)
		}
	}
	return pg, r
}

// allCopies reads pod's whole inbox with its owner key.
func allCopies(t testing.TB, s *pod.Server, pod, key string) []map[string]any {
	t.Helper()
	pg, r := readInbox(t, s, pod, key, "limit=1000")
	if r.status != http.StatusOK {
		t.Fatalf("read inbox of %s: %d %s", pod, r.status, r.body)
	}
	return pg.Contains
}

// countID counts the copies of event id in copies.
func countID(copies []map[string]any, id string) int {
	n := 0
	for _, c := range copies {
		if c["id"] == id {
			n++
		}
	}
	return n
}

// seedEvent is the seed's example event (API contract 001) with the demo
// pods: producer publishes for alice, with bob as the participant.
func seedEvent(s *pod.Server) string {
	return `{
    "recipient": "` + s.WebID("alice") + `",
    "source": "` + s.WebID("bob") + `",
    "topic": "realestate/contact#add",
    "data": {
        "type": "AddAction",
        "object": {
            "type": "Contact",
            "name": "Bruce Wayne"
        }
    }
  }`
}

package pod_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"podserver/apierr"
	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
	"podserver/rdf"
)

// clusterBase is the public base URL every node of a test cluster shares,
// as nodes behind one load balancer do. Nothing resolves it: requests go
// to a chosen node with at (nodes serve paths whatever the Host).
const clusterBase = "http://pods.cluster.test"

// startCluster starts n nodes on one fresh PostgreSQL schema, each on its
// own loopback port, all with the public base URL clusterBase and the demo
// pods.
func startCluster(t *testing.T, n int) []*pod.Server {
	t.Helper()
	url := pgCluster.URL(t)
	nodes := make([]*pod.Server, n)
	for i := range nodes {
		nodes[i] = podtest.RunServer(t, pod.Options{StoreURL: url, BaseURL: clusterBase, AllowPrivateTargets: true})
	}
	return nodes
}

// at rewrites a URL under clusterBase (http or ws) to reach node.
func at(node *pod.Server, u string) string {
	for _, scheme := range []string{"http", "ws"} {
		base := scheme + strings.TrimPrefix(clusterBase, "http")
		if rest, ok := strings.CutPrefix(u, base); ok {
			return scheme + "://" + node.Addr() + rest
		}
	}
	return u
}

// TestClusterCachesFollowOtherNodes: a change made through node A applies
// to the very next request on node B, for each cache B keeps: ACL
// evaluations, topic permissions (settings) and API keys. B's caches are
// warm before each change.
func TestClusterCachesFollowOtherNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	a, b := nodes[0], nodes[1]

	// ACL: a public document stops being public.
	doc := a.PodRoot("alice") + "pub/doc"
	if r := evDo(t, evReq{method: "PUT", url: at(a, doc), key: evKeys.alice, ctype: "text/plain", body: "hello"}); r.status != http.StatusCreated {
		t.Fatalf("PUT doc on A: %d %s", r.status, r.body)
	}
	public := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#", "foaf": "http://xmlns.com/foaf/0.1/"}, "@graph": [
		{"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": "../profile/card#me"}, "acl:accessTo": {"@id": "./"}, "acl:default": {"@id": "./"}, "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]}%s]}`
	putACL := func(node *pod.Server, extra string) {
		t.Helper()
		r := evDo(t, evReq{method: "PUT", url: at(node, a.PodRoot("alice")+"pub/.acl"), key: evKeys.alice, ctype: "application/ld+json", body: fmt.Sprintf(public, extra)})
		if r.status != http.StatusCreated && r.status != http.StatusNoContent && r.status != http.StatusOK {
			t.Fatalf("PUT .acl: %d %s", r.status, r.body)
		}
	}
	putACL(a, `, {"@id": "#public", "@type": "acl:Authorization", "acl:agentClass": {"@id": "foaf:Agent"}, "acl:default": {"@id": "./"}, "acl:mode": {"@id": "acl:Read"}}`)
	for range 2 {
		if r := evDo(t, evReq{method: "GET", url: at(b, doc)}); r.status != http.StatusOK || r.body != "hello" {
			t.Fatalf("anonymous GET on B of a public doc: %d %q", r.status, r.body)
		}
	}
	putACL(a, "")
	if r := evDo(t, evReq{method: "GET", url: at(b, doc)}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous GET on B right after A removed the public rule: %d, want 401", r.status)
	}

	// Settings: producer may publish to alice until alice, on A, removes
	// the permission; B refuses the next publish.
	ev := `{"recipient":"` + a.WebID("alice") + `","topic":"realestate/contact#add","data":{"type":"AddAction"}}`
	for range 2 {
		if r := evDo(t, evReq{method: "POST", url: at(b, a.PodRoot("producer")+"publish/"), key: evKeys.producer, body: ev}); r.status != http.StatusCreated {
			t.Fatalf("publish on B: %d %s", r.status, r.body)
		}
	}
	noPublishers := `{"@context": "` + rdf.ContextURI + `", "version": "1", "items": [{"type": "Subscription", "agent": "` +
		a.WebID("crm") + `", "subscribes": ["realestate/contact"]}]}`
	if r := evDo(t, evReq{method: "PUT", url: at(a, a.PodRoot("alice")+"settings/subscriptions"), key: evKeys.alice, ctype: "application/ld+json", body: noPublishers}); r.status >= 300 {
		t.Fatalf("PUT settings/subscriptions on A: %d %s", r.status, r.body)
	}
	r := evDo(t, evReq{method: "POST", url: at(b, a.PodRoot("producer")+"publish/"), key: evKeys.producer, body: ev})
	if want := fmt.Sprintf(publish.MsgNotAuthorized, a.WebID("alice"), "realestate/contact#add"); r.status != http.StatusForbidden || r.json(t)["error"] != want {
		t.Errorf("publish on B right after A removed the permission: %d %s, want 403 %q", r.status, r.body, want)
	}

	// Keys: a key made and revoked on A.
	r = evDo(t, evReq{method: "POST", url: at(a, a.PodRoot("bob")+"settings/keys/"), key: evKeys.bob, body: `{"app": "reader"}`})
	if r.status != http.StatusCreated {
		t.Fatalf("create a key on A: %d %s", r.status, r.body)
	}
	key := r.json(t)
	inbox := at(b, a.PodRoot("bob")+"inbox/")
	for range 2 {
		if r := evDo(t, evReq{method: "GET", url: inbox, key: key["key"].(string)}); r.status != http.StatusOK {
			t.Fatalf("GET on B with the key made on A: %d %s", r.status, r.body)
		}
	}
	if r := evDo(t, evReq{method: "DELETE", url: at(a, a.PodRoot("bob")+"settings/keys/"+key["id"].(string)), key: evKeys.bob}); r.status != http.StatusNoContent {
		t.Fatalf("revoke on A: %d %s", r.status, r.body)
	}
	if r := evDo(t, evReq{method: "GET", url: inbox, key: key["key"].(string)}); r.status != http.StatusUnauthorized {
		t.Errorf("GET on B right after A revoked the key: %d, want 401", r.status)
	}
}

// TestClusterWakeUps: a publish on node A wakes a long-poll of the
// recipient's inbox on node B, and a WebSocket subscriber of that inbox
// connected to node B. The issue asks for 100 ms; the test allows 5 s
// (a loaded CI machine) and logs what it measured.
func TestClusterWakeUps(t *testing.T) {
	nodes := startCluster(t, 3)
	a, b := nodes[0], nodes[1]
	inbox := a.PodRoot("alice") + "inbox/"

	sub, _ := json.Marshal(map[string]any{"@context": []string{ntContext}, "type": "WebSocketChannel2023", "topic": inbox})
	rs := ntDo(t, "POST", at(b, b.PodRoot("alice")+".notifications/websocket/"), evKeys.alice, "application/ld+json", string(sub))
	var ch ntChannel
	if rs.status != http.StatusOK || json.Unmarshal([]byte(rs.body), &ch) != nil {
		t.Fatalf("subscribe on B: %d %s", rs.status, rs.body)
	}
	ws := ntDial(t, at(b, ch.ReceiveFrom))

	type polled struct {
		r   evResp
		err error
		at  time.Time
	}
	if pg := clusterInbox(t, b, "alice", evKeys.alice, ""); len(pg.Contains) != 0 {
		t.Fatalf("alice's inbox holds %d items before the publish, want none", len(pg.Contains))
	}
	done := make(chan polled, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, at(b, inbox)+"?wait=30", nil)
		req.Header.Set("x-api-key", evKeys.alice)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- polled{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		done <- polled{r: evResp{status: res.StatusCode, body: string(body)}, err: err, at: time.Now()}
	}()
	time.Sleep(200 * time.Millisecond) // let the long-poll start waiting on B

	start := time.Now()
	r := evDo(t, evReq{method: "POST", url: at(a, a.PodRoot("producer")+"publish/"), key: evKeys.producer, body: seedEvent(a)})
	if r.status != http.StatusCreated {
		t.Fatalf("publish on A: %d %s", r.status, r.body)
	}
	loc := r.hdr.Get("Location")
	select {
	case p := <-done:
		if p.err != nil || p.r.status != http.StatusOK || !strings.Contains(p.r.body, loc) {
			t.Fatalf("long-poll on B: %v %d %s, want the event %s", p.err, p.r.status, p.r.body, loc)
		}
		t.Logf("long-poll on B woken %v after the publish on A was sent", p.at.Sub(start))
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll on B was not woken by the publish on A")
	}
	m := ntParse(t, ws.next(t, 5*time.Second))
	t.Logf("WebSocket notification on B %v after the publish on A was sent", time.Since(start))
	if m.Type != "Add" || m.Target != inbox {
		t.Errorf("notification %+v, want Add to %s", m, inbox)
	}
}

// TestClusterOneCopyPerInbox: the same event (one client id) published
// concurrently through two nodes is stored once, with one copy in each
// inbox; every publish gets the same event.
func TestClusterOneCopyPerInbox(t *testing.T) {
	nodes := startCluster(t, 3)
	const perNode = 8
	body := `{"id": "7d444840-9dc0-11d1-b245-5ffdce74fad2", "recipient": "` + nodes[0].WebID("alice") + `", "source": "` + nodes[0].WebID("bob") +
		`", "topic": "realestate/contact#add", "data": {"type": "AddAction"}}`
	var wg sync.WaitGroup
	locs := make(chan string, 2*perNode)
	for _, n := range nodes[:2] {
		for range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, at(n, n.PodRoot("producer")+"publish/"), strings.NewReader(body))
				req.Header.Set("x-api-key", evKeys.producer)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					locs <- "error: " + err.Error()
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
					locs <- fmt.Sprintf("status %d", res.StatusCode)
					return
				}
				locs <- res.Header.Get("Location")
			}()
		}
	}
	wg.Wait()
	close(locs)
	var loc string
	for l := range locs {
		if loc == "" {
			loc = l
		}
		if l != loc || !strings.HasPrefix(l, clusterBase) {
			t.Fatalf("publishes of one client id answered %q and %q", loc, l)
		}
	}
	c := nodes[2]
	for _, who := range []struct{ pod, key string }{{"alice", evKeys.alice}, {"bob", evKeys.bob}, {"crm", evKeys.crm}} {
		pg := clusterInbox(t, c, who.pod, who.key, "limit=1000")
		if n := countID(pg.Contains, loc); n != 1 {
			t.Errorf("%s's inbox holds %d copies of %s, want 1", who.pod, n, loc)
		}
	}
}

// clusterInbox reads a page of pod's inbox through node.
func clusterInbox(t *testing.T, node *pod.Server, podName, key, query string) inboxPage {
	t.Helper()
	r := evDo(t, evReq{method: "GET", url: at(node, node.PodRoot(podName)+"inbox/?"+query), key: key})
	var pg inboxPage
	if r.status != http.StatusOK {
		t.Fatalf("read %s's inbox: %d %s", podName, r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &pg); err != nil {
		t.Fatalf("inbox page: %v: %s", err, r.body)
	}
	return pg
}

// TestClusterDatabaseDown: while PostgreSQL is down, requests get 503
// with Retry-After and the JSON error, /healthz answers 503 "unavailable",
// all within seconds (no hang); once it is back the same server serves
// again, without a restart.
func TestClusterDatabaseDown(t *testing.T) {
	nodes := startCluster(t, 1)
	n := nodes[0]
	profile := at(n, n.WebID("alice"))
	if r := evDo(t, evReq{method: "GET", url: profile}); r.status != http.StatusOK {
		t.Fatalf("GET profile: %d", r.status)
	}
	pgCluster.Restart(t, func() {
		for _, q := range []evReq{
			{method: "GET", url: profile},
			{method: "POST", url: at(n, n.PodRoot("producer")+"publish/"), key: evKeys.producer, body: seedEvent(n)},
		} {
			start := time.Now()
			r := evDo(t, q)
			if r.status != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") == "" || r.json(t)["error"] != apierr.MsgUnavailable {
				t.Errorf("%s %s with the database down: %d %s (Retry-After %q), want 503 %q", q.method, q.url, r.status, r.body, r.hdr.Get("Retry-After"), apierr.MsgUnavailable)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("%s took %v with the database down", q.method, d)
			}
		}
		r := evDo(t, evReq{method: "GET", url: "http://" + n.Addr() + "/healthz"})
		if r.status != http.StatusServiceUnavailable || r.json(t)["status"] != "unavailable" {
			t.Errorf("/healthz with the database down: %d %s, want 503 unavailable", r.status, r.body)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := evDo(t, evReq{method: "POST", url: at(n, n.PodRoot("producer")+"publish/"), key: evKeys.producer, body: seedEvent(n)})
		if r.status == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the database came back: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := evDo(t, evReq{method: "GET", url: "http://" + n.Addr() + "/healthz"}); r.status != http.StatusOK || r.json(t)["status"] != "ok" {
		t.Errorf("/healthz after the database came back: %d %s", r.status, r.body)
	}
	m := evDo(t, evReq{method: "GET", url: "http://" + n.Addr() + "/metrics"})
	for _, want := range []string{"podserver_pg_reachable 1", "podserver_pg_batches_total ", "podserver_pg_pool_connections ", "podserver_pg_feed_lag "} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

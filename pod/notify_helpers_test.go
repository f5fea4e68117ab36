package pod_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"podserver/pod"
	"podserver/podtest"
)

// Demo owner keys (fixtures/demo.json).
const (
	ntAlice = "pk_demo_alice_owner_0123456789"
	ntBob   = "pk_demo_bob_owner_0123456789"
	ntCRM   = "pk_demo_crm_owner_0123456789"
)

const ntContext = "https://www.w3.org/ns/solid/notification/v1"

// ntServer starts a server with the demo pods on a loopback port over an
// on-disk store in dir (a new temporary directory when ""), stopped when
// the test ends unless the test stops it first.
func ntServer(t testing.TB, addr, dir string) (*pod.Server, func()) {
	t.Helper()
	return podtest.RunStoppable(t, pod.Options{Addr: addr, DataDir: dir, AllowPrivateTargets: true})
}

type ntReply struct {
	status int
	hdr    http.Header
	body   string
}

// ntDo sends one request; hdr holds extra headers as name, value pairs.
func ntDo(t testing.TB, method, url, key, ctype, body string, hdr ...string) ntReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return ntReply{status: resp.StatusCode, hdr: resp.Header, body: string(b)}
}

// ntPut writes a JSON-LD resource and returns its ETag.
func ntPut(t testing.TB, url, key, body string) string {
	t.Helper()
	r := ntDo(t, "PUT", url, key, "application/ld+json", body)
	if r.status != 201 && r.status != 204 {
		t.Fatalf("PUT %s: %d %s", url, r.status, r.body)
	}
	return r.hdr.Get("ETag")
}

// ntChannel is a channel description.
type ntChannel struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Topic       string `json:"topic"`
	ReceiveFrom string `json:"receiveFrom"`
	SendTo      string `json:"sendTo"`
	Sender      string `json:"sender"`
	StartAt     string `json:"startAt"`
	EndAt       string `json:"endAt"`
	Rate        string `json:"rate"`
	State       string `json:"state"`
	Accept      string `json:"accept"`
	Secret      string `json:"secret"`
}

var ntServices = map[string]string{
	"WebSocketChannel2023":     "websocket",
	"StreamingHTTPChannel2023": "streaming-http",
	"WebhookChannel2023":       "webhook",
	"LDNChannel2023":           "ldn",
}

// ntSubscribeRaw posts a subscription request to pod's service for typ.
func ntSubscribeRaw(t testing.TB, s *pod.Server, podName, typ, key string, fields map[string]any) ntReply {
	t.Helper()
	doc := map[string]any{"@context": []string{ntContext}, "type": typ}
	for k, v := range fields {
		doc[k] = v
	}
	b, _ := json.Marshal(doc)
	return ntDo(t, "POST", s.PodRoot(podName)+".notifications/"+ntServices[typ]+"/", key, "application/ld+json", string(b))
}

// ntSubscribe subscribes and fails the test unless it succeeds.
func ntSubscribe(t testing.TB, s *pod.Server, podName, typ, key string, fields map[string]any) ntChannel {
	t.Helper()
	r := ntSubscribeRaw(t, s, podName, typ, key, fields)
	if r.status != 200 {
		t.Fatalf("subscribe %s %v: %d %s", typ, fields, r.status, r.body)
	}
	var ch ntChannel
	if err := json.Unmarshal([]byte(r.body), &ch); err != nil {
		t.Fatalf("channel description %q: %v", r.body, err)
	}
	return ch
}

// ntMsg is a notification.
type ntMsg struct {
	Context   []string `json:"@context"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Object    string   `json:"object"`
	Target    string   `json:"target"`
	State     string   `json:"state"`
	Published string   `json:"published"`
}

func ntParse(t testing.TB, b []byte) ntMsg {
	t.Helper()
	var m ntMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("notification %q: %v", b, err)
	}
	if m.ID == "" || m.Published == "" {
		t.Fatalf("notification without id or published: %s", b)
	}
	if _, err := time.Parse(time.RFC3339, m.Published); err != nil {
		t.Fatalf("published %q: %v", m.Published, err)
	}
	return m
}

// ntWS is a WebSocket client that collects what it receives.
type ntWS struct {
	c    *websocket.Conn
	msgs chan []byte
	done chan struct{}
	err  error
}

func ntDial(t testing.TB, url string, protocols ...string) *ntWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	w := &ntWS{c: c, msgs: make(chan []byte, 256), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				w.err = err
				return
			}
			w.msgs <- b
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return w
}

func (w *ntWS) send(t testing.TB, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next message, failing after d.
func (w *ntWS) next(t testing.TB, d time.Duration) []byte {
	t.Helper()
	select {
	case b := <-w.msgs:
		return b
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
	}
	return nil
}

// nextMsg returns the next notification.
func (w *ntWS) nextMsg(t testing.TB) ntMsg {
	t.Helper()
	return ntParse(t, w.next(t, 5*time.Second))
}

// quiet fails if a message arrives within d.
func (w *ntWS) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case b := <-w.msgs:
		t.Fatalf("unexpected message: %s", b)
	case <-time.After(d):
	}
}

// ntStream reads a streaming HTTP channel line by line.
type ntStream struct {
	resp  *http.Response
	lines chan string
}

func ntOpenStream(t testing.TB, url string) *ntStream {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	st := &ntStream{resp: resp, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				st.lines <- line
			}
		}
		close(st.lines)
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return st
}

func (st *ntStream) nextMsg(t testing.TB) ntMsg {
	t.Helper()
	select {
	case l, ok := <-st.lines:
		if !ok {
			t.Fatal("stream ended")
		}
		return ntParse(t, []byte(l))
	case <-time.After(5 * time.Second):
		t.Fatal("no notification on the stream within 5s")
	}
	return ntMsg{}
}

// ntExpect checks a notification's type, object and target, and its state:
// a quoted ETag (the object's new one; for a Remove the container's), and
// none after a Delete.
func ntExpect(t testing.TB, m ntMsg, typ, object, target string) {
	t.Helper()
	if m.Type != typ || m.Object != object || m.Target != target {
		t.Fatalf("got %s %s (target %q), want %s %s (target %q)", m.Type, m.Object, m.Target, typ, object, target)
	}
	gone := typ == "Delete"
	if quoted := len(m.State) > 2 && strings.HasPrefix(m.State, `"`) && strings.HasSuffix(m.State, `"`); gone != (m.State == "") || (!gone && !quoted) {
		t.Fatalf("%s %s: state %q, want %s", m.Type, m.Object, m.State, map[bool]string{true: "none", false: "an ETag"}[gone])
	}
}

// ntGrantRead writes an ACL for container dir of alice's pod giving bob
// Read (when bob is true) besides the owner's control.
func ntGrantRead(t testing.TB, s *pod.Server, dir string, bob bool) {
	t.Helper()
	root := s.PodRoot("alice")
	rules := []string{fmt.Sprintf(`{"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": %q},
		"acl:accessTo": {"@id": %q}, "acl:default": {"@id": %q},
		"acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]}`, s.WebID("alice"), root+dir, root+dir)}
	if bob {
		rules = append(rules, fmt.Sprintf(`{"@id": "#bob", "@type": "acl:Authorization", "acl:agent": {"@id": %q},
		"acl:accessTo": {"@id": %q}, "acl:default": {"@id": %q}, "acl:mode": {"@id": "acl:Read"}}`, s.WebID("bob"), root+dir, root+dir))
	}
	doc := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [` + strings.Join(rules, ",") + `]}`
	ntPut(t, root+dir+".acl", ntAlice, doc)
}

// ntPublicDir makes container dir of alice's pod publicly readable.
func ntPublicDir(t testing.TB, s *pod.Server, dir string) {
	t.Helper()
	root := s.PodRoot("alice")
	doc := fmt.Sprintf(`{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [
		{"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": %q},
		 "acl:accessTo": {"@id": %q}, "acl:default": {"@id": %q},
		 "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]},
		{"@id": "#public", "@type": "acl:Authorization", "acl:agentClass": {"@id": "http://xmlns.com/foaf/0.1/Agent"},
		 "acl:accessTo": {"@id": %q}, "acl:default": {"@id": %q}, "acl:mode": {"@id": "acl:Read"}}]}`,
		s.WebID("alice"), root+dir, root+dir, root+dir, root+dir)
	ntPut(t, root+dir+".acl", ntAlice, doc)
}

// ntMkdir creates a container (and its parents) in alice's pod.
func ntMkdir(t testing.TB, s *pod.Server, dir string) {
	t.Helper()
	r := ntDo(t, "PUT", s.PodRoot("alice")+dir, ntAlice, "", "")
	if r.status != 201 && r.status != 204 {
		t.Fatalf("PUT %s: %d %s", dir, r.status, r.body)
	}
}

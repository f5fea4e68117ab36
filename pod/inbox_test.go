package pod_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"podserver/inbox"
	"podserver/pod"
)

// publishN publishes n events for alice and returns their ids in order.
func publishN(t testing.TB, s *pod.Server, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		r := publishTo(t, s, "producer", evKeys.producer, `{"recipient":"`+s.WebID("alice")+`","topic":"realestate/contact#add","data":{"n":`+strconv.Itoa(i)+`}}`)
		if r.status != http.StatusCreated {
			t.Fatal(r.status, r.body)
		}
		ids = append(ids, r.hdr.Get("Location"))
	}
	return ids
}

// nextLink returns the URL of the Link rel="next" header, "" if none.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, l := range strings.Split(v, ",") {
			l = strings.TrimSpace(l)
			if strings.HasSuffix(l, `rel="next"`) {
				return strings.TrimSuffix(strings.TrimPrefix(l[:strings.Index(l, ">")], "<"), ">")
			}
		}
	}
	return ""
}

// Paging oldest first with limit, next and Link; deletes in between do not
// break cursors; format=ids; by=timestamp and by=datetime.
func TestInboxPaging(t *testing.T) {
	s, _ := evServer(t, "")
	before := time.Now()
	ids := publishN(t, s, 7)

	pg, r := readInbox(t, s, "alice", evKeys.alice, "limit=3")
	if r.status != http.StatusOK {
		t.Fatal(r.status, r.body)
	}
	if pg.ID != s.PodRoot("alice")+"inbox/" || pg.Context != s.BaseURL()+"/ns/v1/listing" || len(pg.Type) != 3 || pg.Type[0] != "ldp:Container" || pg.Type[1] != "ldp:BasicContainer" || pg.Type[2] != "ldp:Resource" {
		t.Errorf("page header: %+v", pg)
	}
	if ct := r.hdr.Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if len(pg.Contains) != 3 || pg.Contains[0]["id"] != ids[0] || pg.Contains[2]["id"] != ids[2] {
		t.Fatalf("first page: %s", r.body)
	}
	link := nextLink(r.hdr)
	if link == "" || !strings.Contains(link, "from="+pg.Next) {
		t.Fatalf("Link next %q, next %q", link, pg.Next)
	}
	// Delete the last item of page 1 and the first of page 2: the cursor
	// still leads to what follows.
	for _, u := range []string{pg.Contains[2]["url"].(string)} {
		if d := evDo(t, evReq{method: "DELETE", url: u, key: evKeys.alice}); d.status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", u, d.status, d.body)
		}
	}
	pg2, r := readInbox(t, s, "alice", evKeys.alice, "limit=3&from="+pg.Next)
	if len(pg2.Contains) != 3 || pg2.Contains[0]["id"] != ids[3] {
		t.Fatalf("second page: %s", r.body)
	}
	if d := evDo(t, evReq{method: "DELETE", url: pg2.Contains[0]["url"].(string), key: evKeys.alice}); d.status != http.StatusNoContent {
		t.Fatal(d.status, d.body)
	}
	if d := evDo(t, evReq{method: "GET", url: pg2.Contains[0]["url"].(string), key: evKeys.alice}); d.status != http.StatusNotFound {
		t.Fatalf("GET deleted item: %d", d.status)
	}
	// Follow the Link of page 1 after the deletes.
	r = evDo(t, evReq{method: "GET", url: link, key: evKeys.alice})
	pgL := r.json(t)
	got := pgL["contains"].([]any)
	if len(got) != 3 || got[0].(map[string]any)["id"] != ids[4] || got[2].(map[string]any)["id"] != ids[6] {
		t.Fatalf("page after deletes: %s", r.body)
	}
	if nextLink(r.hdr) != "" {
		t.Errorf("last page has a next link: %v", r.hdr.Values("Link"))
	}
	// The tail cursor returns nothing now, and the next arrival later.
	tail := pgL["next"].(string)
	pgT, _ := readInbox(t, s, "alice", evKeys.alice, "from="+tail)
	if len(pgT.Contains) != 0 || pgT.Next != tail {
		t.Fatalf("tail page: %+v", pgT)
	}
	more := publishN(t, s, 1)
	pgT, _ = readInbox(t, s, "alice", evKeys.alice, "from="+tail)
	if len(pgT.Contains) != 1 || pgT.Contains[0]["id"] != more[0] {
		t.Fatalf("after tail: %+v", pgT)
	}

	// format=ids lists item URLs.
	r = evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "inbox/?format=ids&limit=2", key: evKeys.alice})
	idsPage := r.json(t)["contains"].([]any)
	if len(idsPage) != 2 || !strings.HasPrefix(idsPage[0].(string), s.PodRoot("alice")+"inbox/") {
		t.Fatalf("format=ids: %s", r.body)
	}

	// by=timestamp / by=datetime: from before everything lists all; from
	// after everything lists nothing.
	all := len(allCopies(t, s, "alice", evKeys.alice))
	ms := strconv.FormatInt(before.Add(-time.Second).UnixMilli(), 10)
	pgB, r := readInbox(t, s, "alice", evKeys.alice, "by=timestamp&limit=1000&from="+ms)
	if r.status != http.StatusOK || len(pgB.Contains) != all {
		t.Fatalf("by=timestamp: %d items of %d: %s", len(pgB.Contains), all, r.body)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	pgB, r = readInbox(t, s, "alice", evKeys.alice, "by=datetime&from="+future)
	if r.status != http.StatusOK || len(pgB.Contains) != 0 {
		t.Fatalf("by=datetime in the future: %s", r.body)
	}
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	late := publishN(t, s, 2)
	pgB, r = readInbox(t, s, "alice", evKeys.alice, "by=datetime&from="+url.QueryEscape(mid.Format(time.RFC3339Nano)))
	if len(pgB.Contains) != 2 || pgB.Contains[0]["id"] != late[0] {
		t.Fatalf("by=datetime from the middle: %s", r.body)
	}

	// Bad queries.
	for q, msg := range map[string]string{
		"limit=0":               "limit must be a whole number from 1 to 1000",
		"limit=1001":            "limit must be a whole number from 1 to 1000",
		"from=xyz":              "from must be a cursor",
		"by=size&from=1":        "by must be timestamp or datetime",
		"by=timestamp&from=abc": "with by=timestamp",
		"format=turtle":         "format must be ids",
		"wait=61":               "wait must be a whole number",
	} {
		_, r := readInbox(t, s, "alice", evKeys.alice, q)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, msg) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}

// ?wait=N long-polls: the reader wakes within milliseconds of an arrival.
func TestInboxLongPoll(t *testing.T) {
	s, _ := evServer(t, "")
	type result struct {
		pg      inboxPage
		r       evResp
		arrived time.Time
	}
	done := make(chan result, 1)
	go func() {
		pg, r := readInbox(fromGoroutine(t), s, "crm", evKeys.crm, "wait=20")
		done <- result{pg, r, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case res := <-done:
		t.Fatalf("long-poll answered before anything arrived: %s", res.r.body)
	default:
	}
	start := time.Now()
	r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s))
	acked := time.Now()
	if r.status != http.StatusCreated {
		t.Fatal(r.status, r.body)
	}
	select {
	case res := <-done:
		if res.r.status != http.StatusOK || len(res.pg.Contains) != 1 || res.pg.Contains[0]["id"] != r.hdr.Get("Location") {
			t.Fatalf("long-poll answer: %d %s", res.r.status, res.r.body)
		}
		t.Logf("publish took %v; the reader had the copy %v after the publish started", acked.Sub(start), res.arrived.Sub(start))
		if d := res.arrived.Sub(acked); d > 500*time.Millisecond {
			t.Errorf("reader woke %v after the publish was acknowledged", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll did not wake")
	}
	// A wait that times out answers an empty page with the same cursor.
	start = time.Now()
	pg, resp := readInbox(t, s, "alice", evKeys.alice, "wait=1&from=00000000ffffffff")
	if resp.status != http.StatusOK || len(pg.Contains) != 0 || time.Since(start) < time.Second || pg.Next != "00000000ffffffff" {
		t.Fatalf("timed-out wait: %d %s after %v", resp.status, resp.body, time.Since(start))
	}
}

// Reading an inbox needs Read: other agents get 401/403 and no content,
// for the listing and for items; POST needs an authenticated agent.
func TestInboxAccess(t *testing.T) {
	s, _ := evServer(t, "")
	ids := publishN(t, s, 1)
	pg, _ := readInbox(t, s, "alice", evKeys.alice, "")
	item := pg.Contains[0]["url"].(string)
	cases := []struct {
		name, method, url, key string
		status                 int
	}{
		{"anonymous list", "GET", s.PodRoot("alice") + "inbox/", "", 401},
		{"other owner list", "GET", s.PodRoot("alice") + "inbox/", evKeys.bob, 403},
		{"producer app list", "GET", s.PodRoot("alice") + "inbox/", evKeys.producer, 403},
		{"other owner long-poll", "GET", s.PodRoot("alice") + "inbox/?wait=5", evKeys.bob, 403},
		{"other owner ids", "GET", s.PodRoot("alice") + "inbox/?format=ids", evKeys.bob, 403},
		{"anonymous item", "GET", item, "", 401},
		{"other owner item", "GET", item, evKeys.bob, 403},
		{"other owner delete", "DELETE", item, evKeys.bob, 403},
		{"owner PUT into inbox", "PUT", s.PodRoot("alice") + "inbox/x", evKeys.alice, 405},
		{"owner PUT into publish", "PUT", s.PodRoot("producer") + "publish/x", evKeys.producerOwner, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := evDo(t, evReq{method: c.method, url: c.url, key: c.key, body: map[bool]string{true: "{}"}[c.method == "PUT"]})
			if r.status != c.status {
				t.Fatalf("%d, want %d: %s", r.status, c.status, r.body)
			}
			if strings.Contains(r.body, ids[0]) || strings.Contains(r.body, "contains") {
				t.Fatalf("content leaked: %s", r.body)
			}
		})
	}
	// The owner can grant Read to another agent through the inbox ACL.
	acl := `{"@context": {"acl": "http://www.w3.org/ns/auth/acl#"}, "@graph": [
	  {"@id": "#owner", "@type": "acl:Authorization", "acl:agent": {"@id": "` + s.WebID("alice") + `"},
	   "acl:accessTo": {"@id": "./"}, "acl:default": {"@id": "./"},
	   "acl:mode": [{"@id": "acl:Read"}, {"@id": "acl:Write"}, {"@id": "acl:Control"}]},
	  {"@id": "#bob", "@type": "acl:Authorization", "acl:agent": {"@id": "` + s.WebID("bob") + `"},
	   "acl:accessTo": {"@id": "./"}, "acl:mode": [{"@id": "acl:Read"}]}]}`
	if r := evDo(t, evReq{method: "PUT", url: s.PodRoot("alice") + "inbox/.acl", key: evKeys.alice, body: acl, ctype: "application/ld+json"}); r.status != http.StatusNoContent {
		t.Fatalf("PUT inbox ACL: %d %s", r.status, r.body)
	}
	pgB, r := readInbox(t, s, "alice", evKeys.bob, "")
	if r.status != http.StatusOK || len(pgB.Contains) != 1 {
		t.Fatalf("bob with Read: %d %s", r.status, r.body)
	}
}

// POST to an inbox (LDN) from a local authenticated agent: stored once per
// id, with the server's agent and instrument.
func TestInboxReceive(t *testing.T) {
	s, _ := evServer(t, "")
	inbox := s.PodRoot("alice") + "inbox/"
	note := `{"id":"https://elsewhere.example/publish/1","type":"Announce","agent":"spoofed","summary":"hello"}`
	r := evDo(t, evReq{method: "POST", url: inbox, key: evKeys.bob, body: note, ctype: "application/ld+json"})
	if r.status != http.StatusCreated || !strings.HasPrefix(r.hdr.Get("Location"), inbox) {
		t.Fatalf("LDN POST: %d %s", r.status, r.body)
	}
	again := evDo(t, evReq{method: "POST", url: inbox, key: evKeys.bob, body: note, ctype: "application/ld+json"})
	if again.status != http.StatusOK || again.hdr.Get("Location") != r.hdr.Get("Location") {
		t.Fatalf("duplicate LDN POST: %d %v", again.status, again.hdr)
	}
	copies := allCopies(t, s, "alice", evKeys.alice)
	if len(copies) != 1 || copies[0]["agent"] != s.WebID("bob") || copies[0]["instrument"] != "owner" || copies[0]["summary"] != "hello" {
		t.Fatalf("stored notification: %v", copies)
	}
	for _, c := range []struct {
		key, body, ctype string
		status           int
	}{
		{"", note, "application/ld+json", 401},
		{evKeys.bob, `[1]`, "application/ld+json", 400},
		{evKeys.bob, `{"id": 5}`, "application/ld+json", 400},
		{evKeys.bob, `{"a":`, "application/ld+json", 400},
		{evKeys.bob, `{}`, "text/plain", 415},
		{evKeys.bob, `{"id":"` + s.PodRoot("producer") + `publish/x"}`, "application/json", 403},
	} {
		r := evDo(t, evReq{method: "POST", url: inbox, key: c.key, body: c.body, ctype: c.ctype})
		if r.status != c.status {
			t.Errorf("POST %s: %d, want %d: %s", c.body, r.status, c.status, r.body)
		}
	}
	if n := len(allCopies(t, s, "alice", evKeys.alice)); n != 1 {
		t.Errorf("alice has %d items", n)
	}
	_ = fmt.Sprint()
}

// A long-poll in progress does not hold up Shutdown.
func TestInboxLongPollShutdown(t *testing.T) {
	s, stop := evServer(t, "")
	done := make(chan int, 1)
	go func() {
		_, r := readInbox(fromGoroutine(t), s, "crm", evKeys.crm, "wait=30")
		done <- r.status
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	stop()
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Shutdown took %v with a long-poll open", el)
	}
	select {
	case st := <-done:
		if st != http.StatusOK {
			t.Errorf("long-poll answered %d", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long-poll still open")
	}
}

// The inbox as a plain LDP container (Turtle, paged) lists the same items
// as its JSON listing, and a deleted item leaves it.
func TestInboxAsLDPContainer(t *testing.T) {
	s, _ := evServer(t, "")
	for range 3 {
		if r := publishTo(t, s, "producer", evKeys.producer, seedEvent(s)); r.status != http.StatusCreated {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	pg, r := readInbox(t, s, "crm", evKeys.crm, "")
	if r.status != http.StatusOK || len(pg.Contains) != 3 {
		t.Fatalf("JSON listing: %d %s", r.status, r.body)
	}
	var items []string
	for _, it := range pg.Contains {
		u, _ := it["url"].(string)
		items = append(items, u)
	}
	ttl := func(query string) evResp {
		t.Helper()
		r := evDo(t, evReq{method: "GET", url: s.PodRoot("crm") + "inbox/" + query, key: evKeys.crm, hdr: map[string]string{"Accept": "text/turtle"}})
		if r.status != http.StatusOK || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/turtle") {
			t.Fatalf("Turtle listing: %d %s %s", r.status, r.hdr.Get("Content-Type"), r.body)
		}
		return r
	}
	all := ttl("")
	for _, item := range items {
		if !strings.Contains(all.body, "<"+item+">") && !strings.Contains(all.body, path.Base(item)) {
			t.Fatalf("Turtle listing lacks %s:\n%s", item, all.body)
		}
	}
	first := ttl("?limit=2")
	if links := strings.Join(first.hdr.Values("Link"), ", "); !strings.Contains(links, `rel="next"`) || strings.Contains(first.body, path.Base(items[2])) {
		t.Fatalf("first page of 2: Link %q\n%s", links, first.body)
	}
	if d := evDo(t, evReq{method: "DELETE", url: items[0], key: evKeys.crm}); d.status != http.StatusNoContent {
		t.Fatalf("DELETE item: %d %s", d.status, d.body)
	}
	if after := ttl(""); strings.Contains(after.body, path.Base(items[0])) || !strings.Contains(after.body, path.Base(items[1])) {
		t.Fatalf("after deleting %s:\n%s", items[0], after.body)
	}
}

// putACL writes the Turtle ACL document at u with alice's owner key.
func putACL(t *testing.T, u, body string) {
	t.Helper()
	if r := evDo(t, evReq{method: "PUT", url: u, key: evKeys.alice, body: "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n" + body, ctype: "text/turtle"}); r.status/100 != 2 {
		t.Fatalf("PUT %s: %d %s", u, r.status, r.body)
	}
}

// The JSON listing shows an item's content only to who may read the item,
// as GET of the item decides: Read on the inbox alone lists the items'
// URLs. Items inherit from the inbox's acl:default unless they have an
// ACL of their own.
func TestInboxListingItemAccess(t *testing.T) {
	s, _ := evServer(t, "")
	ids := publishN(t, s, 3)
	pg, _ := readInbox(t, s, "alice", evKeys.alice, "")
	var items []string
	for _, e := range pg.Contains {
		items = append(items, e["url"].(string))
	}
	inbox := s.PodRoot("alice") + "inbox/"
	owner := `<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.` + "\n"
	crmList := `<#crm> a acl:Authorization; acl:agent <` + s.WebID("crm") + `>; acl:accessTo <./>; acl:mode acl:Read.` + "\n"
	crmAll := `<#crm> a acl:Authorization; acl:agent <` + s.WebID("crm") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.` + "\n"
	ownItem := func(item string) string {
		return `<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <` + path.Base(item) + `>; acl:mode acl:Read, acl:Write, acl:Control.` + "\n"
	}
	for _, c := range []struct {
		name      string
		inboxACL  string
		itemACL   int  // index of the item given an ACL of its own, -1 for none
		itemCRM   bool // whether that ACL lets crm read the item
		readsItem []bool
	}{
		{"Read on the inbox only", owner + crmList, -1, false, []bool{false, false, false}},
		{"Read inherited by the items", owner + crmAll, -1, false, []bool{true, true, true}},
		{"one item closed by its own ACL", owner + crmAll, 1, false, []bool{true, false, true}},
		{"one item opened by its own ACL", owner + crmList, 2, true, []bool{false, false, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			putACL(t, inbox+".acl", c.inboxACL)
			for i, item := range items {
				if i == c.itemACL {
					acl := ownItem(item)
					if c.itemCRM {
						acl += `<#crm> a acl:Authorization; acl:agent <` + s.WebID("crm") + `>; acl:accessTo <` + path.Base(item) + `>; acl:mode acl:Read.` + "\n"
					}
					putACL(t, item+".acl", acl)
				} else {
					evDo(t, evReq{method: "DELETE", url: item + ".acl", key: evKeys.alice})
				}
			}
			for _, limit := range []string{"", "limit=1", "limit=2"} {
				got, r := readInbox(t, s, "alice", evKeys.crm, limit)
				if r.status != http.StatusOK {
					t.Fatalf("crm's listing: %d %s", r.status, r.body)
				}
				for _, e := range got.Contains {
					i := slices.Index(items, e["url"].(string))
					if i < 0 {
						t.Fatalf("unknown entry %v", e)
					}
					shows := e["id"] == ids[i] && e["data"] != nil
					if shows != c.readsItem[i] || (!shows && len(e) != 1) {
						t.Errorf("%s item %d: entry %v, want content %v", limit, i, e, c.readsItem[i])
					}
					g := evDo(t, evReq{method: "GET", url: items[i], key: evKeys.crm})
					if (g.status == http.StatusOK) != c.readsItem[i] {
						t.Errorf("GET item %d: %d, the listing shows content %v", i, g.status, c.readsItem[i])
					}
				}
			}
		})
	}
}

// Every representation of inbox/ carries the LDP and Solid headers (the
// JSON listing too, however it is asked for), and Accept-Post names the
// notification types POST takes.
func TestInboxHeaders(t *testing.T) {
	s, _ := evServer(t, "")
	publishN(t, s, 2)
	box := s.PodRoot("alice") + "inbox/"
	var etag string
	for _, c := range []struct {
		method, accept, ctype string
	}{
		{"GET", "", "application/ld+json"},
		{"GET", "*/*", "application/ld+json"},
		{"GET", "application/json", "application/ld+json"},
		{"HEAD", "", "application/ld+json"},
		{"GET", "text/turtle", "text/turtle"},
		{"GET", "application/n-triples", "application/n-triples"},
		{"OPTIONS", "", ""},
	} {
		r := evDo(t, evReq{method: c.method, url: box, key: evKeys.alice, hdr: map[string]string{"Accept": c.accept}})
		name := c.method + " " + c.accept
		if want := map[bool]int{true: 204, false: 200}[c.method == "OPTIONS"]; r.status != want {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		if got := r.hdr.Get("Accept-Post"); got != inbox.AcceptPost {
			t.Errorf("%s: Accept-Post %q", name, got)
		}
		for _, h := range []string{"Allow", "Accept-Put"} {
			if r.hdr.Get(h) == "" {
				t.Errorf("%s: no %s", name, h)
			}
		}
		links := strings.Join(r.hdr.Values("Link"), ", ")
		if !strings.Contains(links, `ldp#BasicContainer>; rel="type"`) || !strings.Contains(links, `rel="acl"`) {
			t.Errorf("%s: Link %q", name, links)
		}
		if !slices.Contains(r.hdr.Values("Vary"), "Accept") {
			t.Errorf("%s: Vary %q", name, r.hdr.Values("Vary"))
		}
		if c.method == "OPTIONS" {
			continue
		}
		if w := r.hdr.Get("WAC-Allow"); !strings.Contains(w, `user="`) || !strings.Contains(w, "read") {
			t.Errorf("%s: WAC-Allow %q", name, w)
		}
		if r.hdr.Get("ETag") == "" {
			t.Errorf("%s: no ETag", name)
		}
		if c.accept == "" && c.method == "GET" {
			etag = r.hdr.Get("ETag")
		}
	}
	publishN(t, s, 1)
	if r := evDo(t, evReq{method: "GET", url: box, key: evKeys.alice}); r.hdr.Get("ETag") == etag {
		t.Errorf("ETag %s unchanged by an arrival", etag)
	}
}

package pod_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
)

// hookServer is a webhook receiver whose answer the test sets.
type hookServer struct {
	*httptest.Server
	status atomic.Int64
	mu     sync.Mutex
	hits   []string // the names (data.name) of the events received, in order
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.status.Store(http.StatusServiceUnavailable)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ce struct {
			Data struct{ Name string }
		}
		_ = json.Unmarshal(b, &ce)
		h.mu.Lock()
		h.hits = append(h.hits, ce.Data.Name)
		h.mu.Unlock()
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.Close)
	return h
}

// count returns how often the event named name was received.
func (h *hookServer) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, x := range h.hits {
		if x == name {
			n++
		}
	}
	return n
}

// TestConsoleDeliveries drives the console's delivery tools and the
// polish of issue 15 in headless Chromium, as alice, whose settings route
// realestate/contact to a webhook that fails, then recovers: the outbox
// shows each change live (no reload); Retry now brings a failed delivery
// waiting an hour forward; Retry revives a dead letter; Replay sends an
// event again; the filters by status and target narrow the list; the
// Permissions page shows the webhook's delivery log with its last error
// and takes a pod name for an agent; the Sign out button is hidden on the
// sign-in form; the ACL editor says where it will save, says when it has,
// and keeps the order of the rules; inbox cards show the event's source.
func TestConsoleDeliveries(t *testing.T) {
	bin := needChromium(t)
	hook := newHookServer(t)
	hookURL := hook.URL + "/cb"
	// A failed delivery waits an hour: only Retry now brings it forward.
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true, RetrySchedule: []time.Duration{time.Hour, time.Hour}})
	settings := fmt.Sprintf(`{"version":"1","items":[
 {"type":"Subscription","agent":%q,"publishes":["realestate/contact"]},
 {"type":"Subscription","agent":%q,"subscribes":["realestate/contact"]},
 {"type":"Subscription","agent":"https://hooks.example/profile/card#me","subscribes":["realestate/contact"],"target":%q,"secret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}]}`,
		s.WebID("producer"), s.WebID("crm"), hookURL)
	if st, _, body := conDo(t, "PUT", s.PodRoot("alice")+"settings/subscriptions", conAliceKey, "application/json", settings); st/100 != 2 {
		t.Fatalf("alice's settings: %d %s", st, body)
	}
	b := startChromium(t, bin)
	p := b.newPage(t)
	step := func(name string) {
		t.Helper()
		dialogs, problems := p.takeProblems()
		for _, d := range dialogs {
			t.Errorf("%s: a JavaScript dialog opened: %s", name, d)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s", name, pr)
		}
	}
	publish := func(name string, extra map[string]any) {
		t.Helper()
		ev := map[string]any{"recipient": s.WebID("alice"), "topic": "realestate/contact#add", "data": map[string]any{"type": "AddAction", "name": name}}
		for k, v := range extra {
			ev[k] = v
		}
		body, _ := json.Marshal(ev)
		if st, _, resp := conDo(t, "POST", s.PodRoot("producer")+"publish/", conProducerApp, "application/json", string(body)); st != http.StatusCreated {
			t.Fatalf("publish %s: %d %s", name, st, resp)
		}
	}
	row := func(status string) string { return fmt.Sprintf(`#outbox-table tbody tr[data-status=%q]`, status) }
	rows := func() int {
		var n int
		p.eval(`document.querySelectorAll("#outbox-table tbody tr").length`, &n)
		return n
	}

	// Sign out is not shown on the sign-in form, and is once signed in.
	p.navigate(s.ConsoleURL())
	p.waitFor("the sign-in form", `find("label=Owner key")`)
	var signout struct{ Shown bool }
	p.eval(`({shown: document.querySelector("#signout").getClientRects().length > 0})`, &signout)
	if signout.Shown {
		t.Error("the Sign out button shows on the sign-in form")
	}
	signIn(p, "alice", conAliceKey)
	p.waitText("h1", "Pod alice")
	p.waitFor("the Sign out button", `find("#signout", "Sign out")`)
	step("sign out hidden until signed in")

	// The outbox, live: a failed delivery appears without a reload.
	p.click(`a[data-route="outbox"]`, "")
	p.waitText("#outbox-live", "Live")
	p.waitText("#outbox-empty", "No delivery records")
	p.eval(`window.consoleTestMarker = 7`, nil)
	publish("first", nil)
	p.waitText(row("pending"), "HTTP 503")
	p.waitText(row("pending"), hookURL)
	if n := hook.count("first"); n != 1 {
		t.Fatalf("the hook got %d attempts of the first event, want 1", n)
	}
	step("a failed delivery appears live")

	// The Permissions page shows the hook's delivery log and last error.
	p.click(`a[data-route="permissions"]`, "")
	p.waitText("#delivery-log", "Last error")
	p.waitText(`#delivery-log .log-entry[data-target="`+hookURL+`"]`, "503")
	p.waitText(`#delivery-log .log-entry[data-target="`+hookURL+`"]`, "pending")
	step("delivery log on the Permissions page")

	// Retry now: the hook has recovered; the delivery is made at once.
	p.click(`a[data-route="outbox"]`, "")
	p.waitText(row("pending"), "HTTP 503")
	p.eval(`window.consoleTestMarker = 7`, nil)
	hook.status.Store(http.StatusNoContent)
	p.click(row("pending")+" button", "Retry now")
	p.waitText(".status", "is due now")
	p.waitText(row("delivered"), hookURL)
	if n := hook.count("first"); n != 2 {
		t.Errorf("the hook got %d attempts of the first event, want 2", n)
	}
	step("retry now")

	// A dead letter (410 is permanent) appears live; Retry revives it.
	hook.status.Store(http.StatusGone)
	publish("second", nil)
	p.waitText(row("failed"), "HTTP 410")
	hook.status.Store(http.StatusNoContent)
	p.click(row("failed")+" button", "Retry")
	p.waitText(".status", "is pending again")
	p.waitFor("both delivered", `document.querySelectorAll(`+jsArgs(row("delivered"))+`).length === 2 && !find(`+jsArgs(row("failed"))+`)`)
	if n := hook.count("second"); n != 2 {
		t.Errorf("the hook got %d attempts of the second event, want 2", n)
	}
	step("retry a dead letter")

	// Replay the first event to the hook: a new delivery, made at once.
	var firstSeq string
	p.eval(`document.querySelector(`+jsArgs(row("delivered")+":last-child")+`).dataset.seq`, &firstSeq)
	p.click(`#outbox-table tbody tr[data-seq="`+firstSeq+`"] button`, "Replay")
	p.waitText(".status", "Replayed: delivery")
	p.waitFor("three delivered", `document.querySelectorAll(`+jsArgs(row("delivered"))+`).length === 3`)
	if n := hook.count("first"); n != 3 {
		t.Errorf("the hook got %d attempts of the first event after the replay, want 3", n)
	}
	var kept int
	p.eval(`window.consoleTestMarker || 0`, &kept)
	if kept != 7 {
		t.Error("the outbox page reloaded: its updates were not live")
	}
	step("replay")

	// Filters, kept in the address.
	p.eval(`(() => { const s = document.querySelector("#outbox-filters select"); s.value = "failed"; s.dispatchEvent(new Event("change")); return true; })()`, nil)
	p.click("#outbox-filters button", "Filter")
	p.waitText("#outbox-empty", "No delivery records match these filters")
	p.waitFor("the status filter in the address", `location.hash === "#/outbox?status=failed"`)
	p.eval(`(() => { const s = document.querySelector("#outbox-filters select"); s.value = "delivered"; s.dispatchEvent(new Event("change")); return true; })()`, nil)
	p.fill("label=Target", hookURL)
	p.click("#outbox-filters button", "Filter")
	p.waitText("#outbox-table caption", "delivered, to "+hookURL)
	if n := rows(); n != 3 {
		t.Errorf("status=delivered, target=the hook: %d rows, want 3", n)
	}
	p.fill("label=Target", "https://nobody.example/cb")
	p.click("#outbox-filters button", "Filter")
	p.waitText("#outbox-empty", "No delivery records match these filters")
	p.click("#outbox-filters button", "Show all")
	p.waitFor("all records", `location.hash === "#/outbox" && document.querySelectorAll("#outbox-table tbody tr").length === 3`)
	step("filters")

	// A pod name of this server for an agent; an unknown one is refused.
	p.click(`a[data-route="permissions"]`, "")
	p.waitText("#permissions-table", "realestate/contact")
	p.click("button", "Add a permission or subscription")
	p.fill("label=Agent (WebID)", "nosuchpod")
	p.fill("label=May publish these topics", "test/names")
	p.click("form.editor button[type=submit]", "Add")
	p.waitText("form.editor .error", "there is no pod named nosuchpod on this server")
	p.fill("label=Agent (WebID)", "bob")
	p.click("form.editor button[type=submit]", "Add")
	p.waitText(".status", "Added")
	_, _, stored := conDo(t, "GET", s.PodRoot("alice")+"settings/subscriptions", conAliceKey, "", "")
	if !strings.Contains(stored, `"`+s.WebID("bob")+`"`) || strings.Contains(stored, "nosuchpod") {
		t.Errorf("settings after adding pod bob by name: %s", stored)
	}
	step("pod name as agent")

	// Inbox cards show the event's source.
	publish("sourced", map[string]any{"source": s.WebID("bob")})
	p.click(`a[data-route="inbox"]`, "")
	p.waitText("#inbox-items li:first-child", "sourced")
	p.waitText("#inbox-items li:first-child .meta", "source bob")
	step("inbox source")

	// The ACL editor: where it saves, that it saved, the rules' order.
	p.click(`a[data-route="access"]`, "")
	p.fill("label=Resource or container", "settings/subscriptions")
	p.press("Enter")
	p.waitText("#acl-source", "Inherited from")
	p.click("button", "Give this resource its own ACL")
	p.waitText("#acl-where", "Not saved yet")
	var before int
	p.eval(`document.querySelectorAll(".rules > fieldset.rule").length`, &before)
	want := []string{}
	for _, name := range []string{"producer", "crm", "bob", "nosuch-a", "nosuch-b", "nosuch-c", "nosuch-d", "nosuch-e", "nosuch-f", "nosuch-g"} {
		p.click("button", "Add a rule")
		p.fill(".rules > fieldset:last-child textarea", s.WebID(name))
		want = append(want, s.WebID(name))
	}
	p.click("form.editor button[type=submit]", "Create this ACL")
	p.waitText(".status", "ACL created: settings/subscriptions now has its own ACL")
	p.waitText("#acl-where", "Stored at")
	p.waitText("#acl-source", "This resource has its own ACL")
	var agents []string
	p.eval(`[...document.querySelectorAll(".rules > fieldset.rule")].map((f) => f.querySelector("textarea").value)`, &agents)
	if len(agents) != before+len(want) || strings.Join(agents[before:], " ") != strings.Join(want, " ") {
		t.Errorf("rules after saving, in order: %q; want %d inherited ones then %q", agents, before, want)
	}
	p.click("form.editor button[type=submit]", "Save ACL")
	p.waitText(".status", "ACL saved: the rules of settings/subscriptions are stored at")
	step("ACL editor")

	// The new parts fit a phone, with every control labelled.
	p.viewport(390, 844, true)
	for _, page := range []struct{ route, ready string }{{"outbox", "#outbox-table"}, {"permissions", "#delivery-log .log-entry"}} {
		p.navigate(s.ConsoleURL() + "#/" + page.route)
		p.waitFor(page.route+" to load", `find(`+jsArgs(page.ready)+`) && !find(".status.busy")`)
		var w struct{ Scroll, Inner int }
		p.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &w)
		if w.Scroll > w.Inner+1 {
			t.Errorf("%s page is %dpx wide on a %dpx phone screen", page.route, w.Scroll, w.Inner)
		}
		if dir := os.Getenv("PODSERVER_CONSOLE_SHOTS"); dir != "" {
			_ = os.WriteFile(dir+"/deliveries-phone-"+page.route+".png", p.screenshot(true), 0o644)
		}
		var unlabelled []string
		p.eval(`[...document.querySelectorAll("input, select, textarea, button, a[href]")].filter((e) => e.getClientRects().length > 0).filter((e) =>
  (e.matches("input, select, textarea") ? !(e.labels && e.labels.length) && !e.getAttribute("aria-label") : !(e.textContent.trim() || e.getAttribute("aria-label")))).map((e) => e.outerHTML.slice(0, 120))`, &unlabelled)
		for _, u := range unlabelled {
			t.Errorf("%s page: control without a label: %s", page.route, u)
		}
	}
	step("phone width and labels")
}

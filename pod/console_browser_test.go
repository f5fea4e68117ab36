package pod_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"podserver/acl"
	"podserver/pod"
	"podserver/podtest"
	"podserver/publish"
	"podserver/solidoidc/oidctest"
)

// Demo keys (fixtures/demo.json).
const (
	conAliceKey    = "pk_demo_alice_owner_0123456789"
	conCRMKey      = "pk_demo_crm_owner_0123456789"
	conProducerApp = "pk_demo_producer_publisher_0123456789"
)

// conDo sends one request and returns the status, headers and body.
func conDo(t testing.TB, method, url, key, ctype, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// conPublish publishes one event as the demo producer app to recipient.
func conPublish(t testing.TB, s *pod.Server, recipient, topic string, data map[string]any) (int, string) {
	t.Helper()
	ev, err := json.Marshal(map[string]any{"recipient": s.WebID(recipient), "topic": topic, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := conDo(t, "POST", s.PodRoot("producer")+"publish/", conProducerApp, "application/json", string(ev))
	return status, body
}

// TestConsoleBrowser drives the owner console in headless Chromium through
// the "Done when" list of the Owner console issue: sign in as alice; grant
// producer a topic and publish; revoke and get the 403; create and revoke
// an app key; an event whose data holds HTML renders as text; edit an ACL
// with the guard against losing Control; watch an event arrive live in
// crm's inbox; the pages fit a phone. Set PODSERVER_UPDATE_SCREENSHOT=1 to
// write docs/console.png.
func TestConsoleBrowser(t *testing.T) {
	bin := needChromium(t)
	began := time.Now()
	last := began
	s := podtest.RunServer(t, pod.Options{})
	b := startChromium(t, bin)
	p := b.newPage(t)
	console := s.ConsoleURL()
	step := func(name string) {
		t.Helper()
		dialogs, problems := p.takeProblems()
		for _, d := range dialogs {
			t.Errorf("%s: a JavaScript dialog opened: %s", name, d)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s", name, pr)
		}
		t.Logf("%-28s %6.2fs", name, time.Since(last).Seconds())
		last = time.Now()
	}
	t.Cleanup(func() { t.Logf("browser test: %.2fs in all", time.Since(began).Seconds()) })
	// PODSERVER_CONSOLE_SHOTS=DIR keeps a screenshot of each step there.
	shots := os.Getenv("PODSERVER_CONSOLE_SHOTS")
	snap := func(name string) {
		if shots != "" {
			if err := os.WriteFile(filepath.Join(shots, name+".png"), p.screenshot(true), 0o644); err != nil {
				t.Error(err)
			}
		}
	}

	step("start server and Chromium")

	// Sign in as alice, after two refusals.
	p.navigate(console)
	step("open the console")
	signIn(p, "alice", "pk_not_a_key_0123456789")
	p.waitText(".error", "This key is not valid here")
	signIn(p, "alice", "pk_demo_bob_owner_0123456789")
	p.waitText(".error", "not this pod's owner key")
	signIn(p, "alice", conAliceKey)
	p.waitText("h1", "Pod alice")
	p.waitText("dd", s.WebID("alice"))
	var leaks struct {
		Cookie, URL, Stored string
	}
	p.eval(`({cookie: document.cookie, url: location.href, stored: sessionStorage.getItem("podserver.console.session") || ""})`, &leaks)
	if leaks.Cookie != "" || strings.Contains(leaks.URL, conAliceKey) || !strings.Contains(leaks.Stored, conAliceKey) {
		t.Errorf("the key must live in sessionStorage only: cookie %q, url %q, sessionStorage %q", leaks.Cookie, leaks.URL, leaks.Stored)
	}
	snap("pod")
	step("sign in as alice")

	// Grant producer publishes for a topic; the publish succeeds.
	aliceWebID := s.WebID("alice")
	if st, body := conPublish(t, s, "alice", "test/ping#add", map[string]any{"type": "AddAction"}); st != http.StatusForbidden {
		t.Fatalf("publish before the grant: %d %s", st, body)
	}
	p.click(`a[data-route="permissions"]`, "")
	p.waitText("#permissions-table", "realestate/contact")
	p.click("button", "Add a permission or subscription")
	p.fill("label=Agent (WebID)", s.WebID("producer"))
	p.fill("label=May publish these topics", "test/ping!")
	p.waitText(".field-error", `invalid topic pattern "test/ping!": character '!' not allowed`)
	snap("permissions-editor")
	p.fill("label=May publish these topics", "test/ping")
	p.waitFor("the topic error to clear", `![...document.querySelectorAll(".field-error")].some((e) => e.textContent)`)
	p.click("form.editor button[type=submit]", "Add")
	p.waitText("#permissions-table", "test/ping")
	p.waitText(".status", "Added")
	p.eval(`window.scrollTo(0, 0)`, nil)
	shot := p.screenshot(false)
	step("grant producer test/ping")
	if st, body := conPublish(t, s, "alice", "test/ping#add", map[string]any{"type": "AddAction"}); st != http.StatusCreated {
		t.Errorf("publish after the grant: %d %s", st, body)
	}

	// A webhook subscription: its signing secret is shown once; editing the
	// item later keeps it.
	p.click("button", "Add a permission or subscription")
	p.fill("label=Agent (WebID)", "https://hooks.example/profile/card#me")
	p.fill("label=Gets a copy of events", "realestate/*")
	p.click("label", "a webhook")
	p.fill("label=Webhook URL", "https://hooks.example/cb")
	p.click("form.editor button[type=submit]", "Add")
	p.waitFor("the secret", `find("#webhook-secret")`)
	var hookSecret string
	p.eval(`document.querySelector("#webhook-secret").textContent`, &hookSecret)
	p.waitText(`#permissions-table tr[data-index="3"]`, "secret hidden")
	if strings.Contains(mustText(p, "#permissions-table"), hookSecret) {
		t.Error("the table shows the webhook secret")
	}
	p.click(`#permissions-table tr[data-index="3"] button`, "Edit")
	p.fill("label=Gets a copy of events", "realestate/contact")
	p.click("form.editor button[type=submit]", "Save changes")
	p.waitText(`#permissions-table tr[data-index="3"]`, "realestate/contact")
	p.waitFor("the secret box to go", `!find("#webhook-secret")`)
	_, _, stored := conDo(t, "GET", s.PodRoot("alice")+"settings/subscriptions", conAliceKey, "", "")
	if !strings.HasPrefix(hookSecret, "whsec_") || !strings.Contains(stored, hookSecret) || strings.Contains(stored, "realestate/*") {
		t.Errorf("webhook item after the edit: secret %q, stored %s", hookSecret, stored)
	}
	p.click(`#permissions-table tr[data-index="3"] button`, "Remove")
	p.click(`#permissions-table tr[data-index="3"] button`, "Yes, remove")
	p.waitFor("the webhook item to go", `!document.querySelector("#permissions-table").textContent.includes("hooks.example")`)
	step("webhook subscription")

	// Revoke it: the same publish gets the 403 with the seed's message.
	p.click(`#permissions-table tr[data-index="2"] button`, "Remove")
	p.click(`#permissions-table tr[data-index="2"] button`, "Yes, remove")
	p.waitFor("the grant to go", `!document.querySelector("#permissions-table").textContent.includes("test/ping")`)
	st, body := conPublish(t, s, "alice", "test/ping#add", map[string]any{"type": "AddAction"})
	want := fmt.Sprintf(publish.MsgNotAuthorized, aliceWebID, "test/ping#add")
	if st != http.StatusForbidden || !strings.Contains(body, want) {
		t.Errorf("publish after the revoke: %d %s, want 403 %q", st, body, want)
	}
	step("revoke producer test/ping")

	// A change behind the console's back: saving shows why it was refused.
	status, hdr, doc := conDo(t, "GET", s.PodRoot("alice")+"settings/subscriptions", conAliceKey, "", "")
	if status != http.StatusOK {
		t.Fatalf("read settings: %d", status)
	}
	if status, _, body := conDo(t, "PUT", s.PodRoot("alice")+"settings/subscriptions", conAliceKey, "application/ld+json", doc); status != http.StatusNoContent {
		t.Fatalf("rewrite settings: %d %s (etag was %s)", status, body, hdr.Get("ETag"))
	}
	p.click("button", "Add a permission or subscription")
	p.fill("label=Agent (WebID)", s.WebID("bob"))
	p.fill("label=Gets a copy of events", "realestate/*")
	p.click("form.editor button[type=submit]", "Add")
	p.waitText("form.editor .error", "The settings changed since this page loaded them")
	snap("permissions-stale")
	p.click("button", "Cancel")
	p.click("button", "Reload")
	p.waitText("#permissions-table", "realestate/contact")
	step("stale save is refused")

	// Create an app key, see it once, use it, revoke it.
	p.click(`a[data-route="keys"]`, "")
	p.waitText("#keys-table", "owner")
	p.fill("label=App name", "Bad Name")
	p.waitText(".field-error", "Use 1-63 characters")
	p.fill("label=App name", "console-test")
	p.click("button", "Create key")
	p.waitFor("the new key", `find("#new-key-secret")`)
	p.waitText("#keys-table", "console-test")
	var secret string
	p.eval(`document.querySelector("#new-key-secret").textContent`, &secret)
	if !strings.HasPrefix(secret, "pk_") {
		t.Fatalf("new key %q", secret)
	}
	p.waitText("button", "Copy key")
	snap("keys")
	if st, _, body := conDo(t, "GET", s.PodRoot("alice")+"inbox/", secret, "", ""); st != http.StatusOK {
		t.Errorf("the new key does not work: %d %s", st, body)
	}
	p.click(`button[aria-label="Revoke the key of console-test"]`, "")
	p.click("button", "Yes, revoke")
	p.waitFor("the key to go", `!document.querySelector("#keys-table").textContent.includes("console-test")`)
	if st, _, _ := conDo(t, "GET", s.PodRoot("alice")+"inbox/", secret, "", ""); st != http.StatusUnauthorized {
		t.Errorf("the revoked key still works: %d", st)
	}
	step("create and revoke a key")

	// Event data is text, never markup.
	const xss = `<img src=x onerror=alert(1)>`
	if st, body := conPublish(t, s, "alice", "realestate/contact#add", map[string]any{
		"type": "AddAction", "name": xss, "object": map[string]any{"type": "Contact", "note": `"><script>alert(2)</script>`},
	}); st != http.StatusCreated {
		t.Fatalf("publish the HTML event: %d %s", st, body)
	}
	p.click(`a[data-route="inbox"]`, "")
	p.waitText("#inbox-items", xss)
	p.click("#inbox-items li button", "View")
	p.waitText("#item-json", xss)
	snap("inbox-xss")
	var dom struct {
		Imgs, Scripts int
		TT            string
	}
	p.eval(`({imgs: document.querySelectorAll("img").length, scripts: document.querySelectorAll("main script").length,
  tt: (() => { try { document.createElement("div").innerHTML = "<b>x</b>"; return "assigned"; } catch (e) { return e.name; } })()})`, &dom)
	if dom.Imgs != 0 || dom.Scripts != 0 {
		t.Errorf("event data became markup: %d img, %d script elements", dom.Imgs, dom.Scripts)
	}
	if dom.TT != "TypeError" {
		t.Errorf("Trusted Types are not enforced: innerHTML assignment gave %q", dom.TT)
	}
	// That refused assignment is reported as a security error: expected.
	p.dropProblems("TrustedHTML")
	var itemURL string
	p.eval(`document.querySelector("#item-view").dataset.url`, &itemURL)
	p.click("#item-view button", "Delete")
	p.waitFor("the item to go", `!document.querySelector("#inbox-items").textContent.includes("onerror")`)
	if st, _, _ := conDo(t, "GET", itemURL, conAliceKey, "", ""); st != http.StatusNotFound {
		t.Errorf("deleted item %s: %d", itemURL, st)
	}
	step("HTML in event data is text")

	// Paging back: the newest page first, then older items on demand.
	var batch []map[string]any
	for i := range 30 {
		batch = append(batch, map[string]any{"recipient": aliceWebID, "topic": "realestate/contact#add",
			"data": map[string]any{"type": "AddAction", "name": fmt.Sprintf("page-%02d", i)}})
	}
	body30, _ := json.Marshal(batch)
	if st, _, body := conDo(t, "POST", s.PodRoot("producer")+"publish/", conProducerApp, "application/json", string(body30)); st != http.StatusCreated {
		t.Fatalf("publish 30 events: %d %s", st, body)
	}
	p.click(`a[data-route="pod"]`, "")
	p.waitText("dd", "31")
	p.click(`a[data-route="inbox"]`, "")
	p.waitText("#inbox-items li:first-child", "page-29")
	p.waitFor("a page of 25", `document.querySelectorAll("#inbox-items li").length === 25`)
	p.click("button", "Load older items")
	p.waitFor("all 31 items", `document.querySelectorAll("#inbox-items li").length === 31`)
	p.waitText("#inbox-items li:last-child", "test/ping#add")
	p.waitFor("no older items", `!find("button", "Load older items")`)
	step("inbox paging and delete")

	// Access control: inherited, then its own ACL; the guard keeps the
	// owner's Control.
	if st, _, _ := conDo(t, "GET", s.PodRoot("alice")+"settings/subscriptions", conProducerApp, "", ""); st != http.StatusForbidden {
		t.Fatalf("producer reads alice's settings before the grant: %d", st)
	}
	p.click(`a[data-route="access"]`, "")
	p.fill("label=Resource or container", "settings/subscriptions")
	p.press("Enter")
	p.waitText("#acl-source", "Inherited from")
	p.click("button", "Give this resource its own ACL")
	p.click("button", "Add a rule")
	p.fill(".rules > fieldset:last-child textarea", s.WebID("producer"))
	p.click(`button[aria-label="Remove rule 1"]`, "")
	p.click("form.editor button[type=submit]", "")
	p.waitText("form.editor .error", "Not saved: this would take Control of this resource away from you")
	snap("access-guard")
	p.click("button", "Give me Control back")
	p.click("form.editor button[type=submit]", "")
	p.waitText("#acl-source", "This resource has its own ACL")
	p.waitText("#acl-effective", "producer")
	snap("access-own")
	if st, _, body := conDo(t, "GET", s.PodRoot("alice")+"settings/subscriptions", conProducerApp, "", ""); st != http.StatusOK {
		t.Errorf("producer reads alice's settings after the grant: %d %s", st, body)
	}
	step("edit an ACL")

	// crm watches an event arrive in its inbox without a reload; signed in
	// with the keyboard only.
	p.click("#signout", "")
	p.waitFor("the sign-in form", `document.activeElement && document.activeElement.labels && document.activeElement.labels[0] && document.activeElement.labels[0].textContent.startsWith("Pod name")`)
	p.call("Input.insertText", map[string]any{"text": "crm"}, nil)
	p.press("Tab")
	p.call("Input.insertText", map[string]any{"text": conCRMKey}, nil)
	p.press("Enter")
	p.waitText("h1", "Pod crm")
	p.navigate(console + "#/inbox")
	p.waitText("#live-state", "Live")
	p.eval(`window.consoleTestMarker = 42`, nil)
	marker := fmt.Sprintf("live-%d", time.Now().UnixNano())
	sent := time.Now()
	if st, body := conPublish(t, s, "alice", "realestate/contact#add", map[string]any{"type": "AddAction", "name": marker}); st != http.StatusCreated {
		t.Fatalf("publish for crm: %d %s", st, body)
	}
	p.waitText("#inbox-items li:first-child", marker)
	snap("inbox-live")
	t.Logf("live arrival in the console %v after the publish", time.Since(sent).Round(time.Millisecond))
	var kept int
	p.eval(`window.consoleTestMarker || 0`, &kept)
	if kept != 42 {
		t.Error("the page reloaded")
	}
	step("live inbox (crm)")

	// The topic checks as the owner types agree with the server's.
	topicCorpus := []string{"", "*", "a", "a/b", "a/b#c", "a/*", "a/b/*", "*/a", "a/*/b", "a/*#x", "a//b", "/a", "a/",
		"a/b#", "a/b#c#d", "a b/c", "a/ü", "a/b!", "realestate/contact", "example.com/x#y", "A/B", "a#b/c", "#a",
		"a/b/#x", "*#x", "a/**", "a/b*", "a/" + strings.Repeat("b", 254), "a/" + strings.Repeat("b", 255), "a/\\b", `a/"b`}
	var jsErrs struct{ Topics, Patterns []string }
	p.eval(`import("/console/js/topics.js").then((m) => { const c = `+jsArgs(topicCorpus)+`;
  return {topics: c.map(m.topicError), patterns: c.map(m.patternError)}; })`, &jsErrs)
	for i, c := range topicCorpus {
		for _, k := range []struct {
			kind string
			js   string
			err  error
		}{{"topic", jsErrs.Topics[i], acl.ValidateTopic(c)}, {"pattern", jsErrs.Patterns[i], acl.ValidatePattern(c)}} {
			goMsg := ""
			if k.err != nil {
				goMsg = k.err.Error()
			}
			if (goMsg == "") != (k.js == "") || goMsg != k.js {
				t.Errorf("%s %q: server says %q, console says %q", k.kind, c, goMsg, k.js)
			}
		}
	}
	step("topic checks match the server")

	// A key that stops working ends the session.
	p.eval(`(() => { const s = JSON.parse(sessionStorage.getItem("podserver.console.session")); s.key = "pk_revoked_0123456789"; sessionStorage.setItem("podserver.console.session", JSON.stringify(s)); return true; })()`, nil)
	p.navigate(console + "#/keys")
	p.call("Page.reload", map[string]any{"ignoreCache": true}, nil)
	p.waitText(".error", "The server no longer accepts this key")
	step("rejected key signs out")

	// Phone width: nothing is wider than the screen.
	signIn(p, "alice", conAliceKey)
	p.waitText("h1", "Keys")
	p.viewport(390, 844, true)
	for _, page := range []string{"pod", "permissions", "access", "keys", "apps", "clients", "password", "inbox", "outbox"} {
		p.navigate(console + "#/" + page)
		p.waitFor(page+" to load", `find("h1") && !find(".status.busy")`)
		var w struct{ Scroll, Inner int }
		p.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &w)
		if w.Scroll > w.Inner+1 {
			t.Errorf("%s page is %dpx wide on a %dpx phone screen", page, w.Scroll, w.Inner)
		}
		snap("phone-" + page)
		var unlabelled []string
		p.eval(`[...document.querySelectorAll("input, select, textarea, button, a[href]")].filter((e) => e.getClientRects().length > 0).filter((e) =>
  (e.matches("input, select, textarea") ? !(e.labels && e.labels.length) && !e.getAttribute("aria-label") : !(e.textContent.trim() || e.getAttribute("aria-label")))).map((e) => e.outerHTML.slice(0, 120))`, &unlabelled)
		for _, u := range unlabelled {
			t.Errorf("%s page: control without a label: %s", page, u)
		}
	}
	step("phone width and labels")

	if os.Getenv("PODSERVER_UPDATE_SCREENSHOT") == "1" {
		if err := os.MkdirAll(filepath.Join("..", "docs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "console.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// TestConsoleBrowserLogins drives the console pages of issue 17 in
// headless Chromium: alice removes, sets and changes her login password
// (the server's state follows each step); creates client credentials
// whose secret is shown once and works for a DPoP-bound client_credentials
// token that reads her private resource; deletes them, and that token and
// the secret stop working at once. The Apps page lists no app yet (the
// browser app test, oidc_browser_test.go, revokes one there).
func TestConsoleBrowserLogins(t *testing.T) {
	bin := needChromium(t)
	// No AllowPrivateTargets: the server verifies its own tokens with its
	// own keys, with no fetch, though its base URL is on loopback.
	s := podtest.RunServer(t, pod.Options{})
	b := startChromium(t, bin)
	p := b.newPage(t)
	root := s.PodRoot("alice")
	check := func(name string) {
		t.Helper()
		dialogs, problems := p.takeProblems()
		for _, d := range dialogs {
			t.Errorf("%s: a JavaScript dialog opened: %s", name, d)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s", name, pr)
		}
	}
	passwordState := func() (set bool, updated string) {
		t.Helper()
		st, _, body := conDo(t, "GET", root+"settings/password", conAliceKey, "", "")
		var v struct {
			Set     bool   `json:"set"`
			Updated string `json:"updated"`
		}
		if err := json.Unmarshal([]byte(body), &v); st != http.StatusOK || err != nil {
			t.Fatalf("GET settings/password: %d %s (%v)", st, body, err)
		}
		return v.Set, v.Updated
	}
	p.navigate(s.ConsoleURL())
	signIn(p, "alice", conAliceKey)
	p.waitText("h1", "Pod alice")

	// Password: remove (the demo pods have one), set, change; never shown
	// back.
	p.click(`a[data-route="password"]`, "")
	p.waitFor("the password state", `document.querySelector("#password-state[data-set]")`)
	if set, _ := passwordState(); set {
		p.waitText("#password-state", "A password is set")
		p.click("button", "Remove password")
		p.click("button", "Yes, remove")
		p.waitText(".status", "Removed the password.")
	}
	p.waitText("#password-state", "No password is set")
	if set, _ := passwordState(); set {
		t.Fatal("the password is still set after Remove")
	}
	p.fill("label=New password", "too short")
	p.waitText(".field-error", "Use at least 12 characters")
	p.fill("label=New password", "alice's first passphrase")
	p.fill("label=New password again", "alice's other passphrase")
	p.click("button", "Set password")
	p.waitText(".field-error", "The two passwords differ")
	if set, _ := passwordState(); set {
		t.Fatal("a refused form set the password")
	}
	p.fill("label=New password again", "alice's first passphrase")
	p.click("button", "Set password")
	p.waitText(".status", "Set the password.")
	p.waitText("#password-state", "A password is set")
	set, first := passwordState()
	if !set || first == "" {
		t.Fatalf("after setting: set %v, updated %q", set, first)
	}
	if strings.Contains(mustText(p, "main"), "alice's first passphrase") {
		t.Error("the page shows the password")
	}
	time.Sleep(1100 * time.Millisecond) // so "updated" (RFC 3339, seconds) moves
	p.fill("label=New password", "alice's second passphrase")
	p.fill("label=New password again", "alice's second passphrase")
	p.click("button", "Change password")
	p.waitText(".status", "Changed the password.")
	if set, second := passwordState(); !set || second == first {
		t.Errorf("after changing: set %v, updated %q (was %q)", set, second, first)
	}
	check("password")

	// Client credentials: the secret once, then it works until deleted.
	note := fmt.Sprintf("for the client %d\n", time.Now().UnixNano())
	noteURL := root + "private/console-client.txt"
	if st, _, body := conDo(t, "PUT", noteURL, conAliceKey, "text/plain", note); st != http.StatusCreated && st != http.StatusNoContent {
		t.Fatalf("put %s: %d %s", noteURL, st, body)
	}
	p.click(`a[data-route="clients"]`, "")
	p.waitText("#clients-empty", "No client credentials yet")
	p.waitText("#clients-issuer", issuerOf(s))
	p.click("button", "Create client")
	p.waitText(".field-error", "Enter a name")
	p.fill("label=Name", "nightly backup")
	p.click("button", "Create client")
	p.waitFor("the new secret", `find("#new-client-secret")`)
	p.waitText("#clients-table", "nightly backup")
	p.waitText("button", "Copy secret")
	var made struct{ ID, Secret string }
	p.eval(`({id: document.querySelector("#new-client-id").textContent, secret: document.querySelector("#new-client-secret").textContent})`, &made)
	if made.ID == "" || made.Secret == "" {
		t.Fatalf("new client: %+v", made)
	}
	if strings.Contains(mustText(p, "#clients-table"), made.Secret) {
		t.Error("the table shows the secret")
	}
	_, _, list := conDo(t, "GET", root+"settings/clients/", conAliceKey, "", "")
	if !strings.Contains(list, made.ID) || !strings.Contains(list, "nightly backup") || strings.Contains(list, made.Secret) {
		t.Errorf("GET settings/clients/ after the console made one: %s", list)
	}
	key := oidctest.NewKey(t)
	st, token, body := clientCredentials(t, s, key, made.ID, made.Secret)
	if st != http.StatusOK {
		t.Fatalf("client_credentials with the console's secret: %d %s", st, body)
	}
	if st, _, body := dpopDo(t, key, "GET", noteURL, token, "", "", nil); st != http.StatusOK || body != note {
		t.Errorf("read with the client's token: %d %q, want 200 %q", st, body, note)
	}
	p.click("button", "Done")
	p.waitFor("the secret to go", `!find("#new-client-secret")`)
	p.click(`button[aria-label="Delete the client nightly backup"]`, "")
	p.click("button", "Yes, delete")
	p.waitText(".status", "its tokens no longer work")
	p.waitText("#clients-empty", "No client credentials yet")
	if st, _, body := dpopDo(t, key, "GET", noteURL, token, "", "", nil); st != http.StatusUnauthorized {
		t.Errorf("the deleted client's token: %d %s, want 401", st, body)
	}
	if st, _, body := clientCredentials(t, s, oidctest.NewKey(t), made.ID, made.Secret); st == http.StatusOK {
		t.Errorf("client_credentials of a deleted client: %d %s", st, body)
	}
	check("clients")

	// Apps: none allowed yet.
	p.click(`a[data-route="apps"]`, "")
	p.waitText("#apps-empty", "No app has been allowed")
	check("apps")
}

// mustText returns the text of the element matching sel.
func mustText(p *cdpPage, sel string) string {
	p.t.Helper()
	var s string
	p.eval(`(document.querySelector(`+jsArgs(sel)+`) || {}).textContent || ""`, &s)
	return s
}

// signIn fills the sign-in form.
func signIn(p *cdpPage, podName, key string) {
	p.t.Helper()
	p.fill("label=Pod name or URL", podName)
	p.fill("label=Owner key", key)
	p.click("button", "Sign in")
}

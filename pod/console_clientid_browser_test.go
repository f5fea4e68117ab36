package pod_test

import (
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
	"podserver/solidoidc/oidctest"
)

// TestConsoleBrowserClientRestriction drives the access page in headless
// Chromium: alice gives a resource its own ACL with a rule for carol
// limited to two clients (a Client ID Document URL and an opaque id); the
// stored ACL holds both as acl:client (the URL an IRI, the opaque id a
// string); the server then admits carol through a listed client only; the
// page shows the restriction and a save without changes keeps it.
func TestConsoleBrowserClientRestriction(t *testing.T) {
	bin := needChromium(t)
	iss := oidctest.NewIssuer(t)
	s := podtest.RunServer(t, pod.Options{AllowPrivateTargets: true})
	remote := profileServer(t, map[string]string{"/carol/card": "@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n<#me> solid:oidcIssuer <" + iss.URL + "> .\n"})
	carol := remote.URL + "/carol/card#me"
	const (
		appA   = "https://app.example/id"
		script = "script-7f3a"
	)
	doc := s.PodRoot("alice") + "clients/doc"
	if st, _, body := conDo(t, "PUT", doc, conAliceKey, "text/plain", "diary"); st != 201 {
		t.Fatalf("PUT doc: %d %s", st, body)
	}
	get := func(client string) int {
		t.Helper()
		key := oidctest.NewKey(t)
		tok := iss.Token(t, time.Now(), carol, key, oidctest.Claims{"client_id": client})
		r := do(t, s.BaseURL(), call{method: "GET", path: doc, hdr: map[string]string{
			"Authorization": "DPoP " + tok, "DPoP": oidctest.Proof(t, key, "GET", doc, tok, time.Now(), nil)}})
		return r.status
	}
	storedClients := func() string {
		t.Helper()
		r := do(t, s.BaseURL(), call{method: "GET", path: doc + ".acl", key: conAliceKey, hdr: map[string]string{"Accept": "application/n-triples"}})
		if r.status != 200 {
			t.Fatalf("GET the ACL: %d %s", r.status, r.body)
		}
		return r.body
	}

	b := startChromium(t, bin)
	p := b.newPage(t)
	p.navigate(s.ConsoleURL())
	signIn(p, "alice", conAliceKey)
	p.waitText("h1", "Pod alice")
	p.navigate(s.ConsoleURL() + "#/access?path=clients/doc")
	p.waitText("#acl-source", "Inherited from")
	p.click("button", "Give this resource its own ACL")
	p.click("button", "Add a rule")
	p.fill(".rules > fieldset:last-child textarea", carol)
	// The client ids field of the new rule, found by its label.
	p.eval(`(() => { const f = document.querySelector(".rules > fieldset:last-child");
  const l = [...f.querySelectorAll("label")].find((l) => l.textContent.startsWith("Only through these apps"));
  l.control.focus(); return true; })()`, nil)
	p.call("Input.insertText", map[string]any{"text": appA + " " + script}, nil)
	p.click("form.editor button[type=submit]", "")
	p.waitText("#acl-source", "This resource has its own ACL")
	p.waitText("#acl-effective", "only through the apps (client ids) "+appA+", "+script)

	// The server stores and enforces what the page wrote.
	const clientPred = "<http://www.w3.org/ns/auth/acl#client>"
	nt := storedClients()
	for _, want := range []string{clientPred + " <" + appA + ">", clientPred + ` "` + script + `"`} {
		if !strings.Contains(nt, want) {
			t.Errorf("stored ACL lacks %s:\n%s", want, nt)
		}
	}
	for client, want := range map[string]int{appA: 200, script: 200, "https://other.example/id": 403} {
		if got := get(client); got != want {
			t.Errorf("carol through %s: %d, want %d", client, got, want)
		}
	}

	// Reopened, the editor shows the client ids; saving again keeps them.
	var shown string
	p.eval(`(() => { const f = document.querySelector(".rules > fieldset:last-child");
  const l = [...f.querySelectorAll("label")].find((l) => l.textContent.startsWith("Only through these apps"));
  return l.control.value; })()`, &shown)
	if shown != appA+"\n"+script {
		t.Errorf("the editor shows the clients as %q", shown)
	}
	p.click("form.editor button[type=submit]", "Save ACL")
	p.waitText(".status", "ACL saved")
	if again := storedClients(); strings.Count(again, clientPred) != 2 || !strings.Contains(again, `"`+script+`"`) {
		t.Errorf("after a save without changes the ACL is:\n%s", again)
	}
	if get("https://other.example/id") != 403 {
		t.Error("another client reads after the second save")
	}
	dialogs, problems := p.takeProblems()
	for _, d := range append(dialogs, problems...) {
		t.Errorf("page: %s", d)
	}
}

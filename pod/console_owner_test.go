package pod_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"podserver/pod"
	"podserver/podtest"
)

// conBrowser starts Chromium for a browser test, or skips the test when
// there is none (a failure with PODSERVER_BROWSER_TESTS=1).
func conBrowser(t *testing.T) *cdpPage {
	t.Helper()
	bin := needChromium(t)
	return startChromium(t, bin).newPage(t)
}

// conStep fails the test for the dialogs and page problems (console
// errors, CSP violations, uncaught exceptions) seen since the last step.
func conStep(t *testing.T, p *cdpPage, name string) {
	t.Helper()
	dialogs, problems := p.takeProblems()
	for _, d := range dialogs {
		t.Errorf("%s: a JavaScript dialog opened: %s", name, d)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", name, pr)
	}
}

// podKey is a key as the key API lists it.
type podKey struct {
	ID       string     `json:"id"`
	App      string     `json:"app"`
	Owner    bool       `json:"owner"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed"`
}

// podKeys lists a pod's keys through the key API.
func podKeys(t *testing.T, s *pod.Server, podName, key string) []podKey {
	t.Helper()
	st, _, body := conDo(t, "GET", s.PodRoot(podName)+"settings/keys/", key, "", "")
	if st != http.StatusOK {
		t.Fatalf("list %s's keys: %d %s", podName, st, body)
	}
	var out struct{ Keys []podKey }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Keys
}

// TestConsoleOwnerKeys drives the owner keys of issue 15 in headless
// Chromium, on a fresh pod whose only owner key is the one the test signs
// in with: revoking that last owner key is refused with the server's
// message and the key keeps working; the owner creates a second owner key,
// sees it once and listed with its creation time and "never" used, then,
// once it has been used, its last-use time; with two owner keys, revoking
// the new one works and the key stops working, while revoking the last
// one is refused again.
func TestConsoleOwnerKeys(t *testing.T) {
	p := conBrowser(t)
	s := podtest.RunServer(t, pod.Options{})
	first, err := s.CreatePod(t.Context(), "keyowner")
	if err != nil {
		t.Fatal(err)
	}
	ownerKeys := func() []podKey {
		var out []podKey
		for _, k := range podKeys(t, s, "keyowner", first) {
			if k.Owner {
				out = append(out, k)
			}
		}
		return out
	}
	if n := len(ownerKeys()); n != 1 {
		t.Fatalf("a new pod has %d owner keys, want 1", n)
	}
	firstID := ownerKeys()[0].ID
	firstRow := `#keys-table tr[data-key="` + firstID + `"]`

	p.navigate(s.ConsoleURL())
	signIn(p, "keyowner", first)
	p.waitText("h1", "Pod keyowner")
	p.click(`a[data-route="keys"]`, "")
	p.waitText("#keys-table caption", "1 of them owner key")
	// The listing shows when the key was made, and that it was used (the
	// console has just used it).
	p.waitFor("the first key's created time", `find(`+jsArgs(firstRow+" td.key-created time")+`)`)
	conStep(t, p, "sign in, keys page")

	// The last owner key: the server refuses, and the page says why.
	p.click(firstRow+" button", "Revoke")
	p.waitText(firstRow, "It is the pod's only one")
	p.click(firstRow+" button", "Yes, revoke")
	p.waitText(".error", "last owner key")
	p.waitText(firstRow+" button", "Revoke") // the row is back as it was
	if st, _, body := conDo(t, "GET", s.PodRoot("keyowner")+"settings/keys/", first, "", ""); st != http.StatusOK {
		t.Fatalf("the last owner key after the refused revocation: %d %s", st, body)
	}
	conStep(t, p, "refused revocation of the last owner key")

	// A second owner key, labelled, shown once.
	p.fill("label=Owner key label (optional)", "Bad Label")
	p.waitText("#new-owner-key .field-error", "Use 1-63 characters")
	p.fill("label=Owner key label (optional)", "backup")
	p.click("button", "Create owner key")
	p.waitFor("the new owner key", `find("#new-key-secret")`)
	p.waitText(".card.once", "Save this owner key now")
	var second string
	p.eval(`document.querySelector("#new-key-secret").textContent`, &second)
	if !strings.HasPrefix(second, "pk_") || second == first {
		t.Fatalf("new owner key %q", second)
	}
	p.waitText("#keys-table caption", "2 of them owner keys")
	keys := ownerKeys()
	if len(keys) != 2 {
		t.Fatalf("after creating one, %d owner keys, want 2: %+v", len(keys), keys)
	}
	var secondID string
	for _, k := range keys {
		if k.ID != firstID {
			secondID = k.ID
			if k.App != "backup" {
				t.Errorf("the new owner key's label is %q, want backup", k.App)
			}
		}
	}
	secondRow := `#keys-table tr[data-key="` + secondID + `"][data-owner="true"]`
	p.waitText(secondRow, "backup")
	p.waitText(secondRow+" td.key-used", "never")
	var shown struct{ Created, Datetime string }
	p.eval(`(() => { const t = document.querySelector(`+jsArgs(secondRow+" td.key-created time")+`); return t ? {created: t.textContent, datetime: t.getAttribute("datetime")} : {}; })()`, &shown)
	if shown.Created == "" || shown.Datetime == "" {
		t.Errorf("the new owner key's row shows no creation time: %+v", shown)
	} else if at, err := time.Parse(time.RFC3339Nano, shown.Datetime); err != nil || time.Since(at) > time.Hour || time.Until(at) > time.Minute {
		t.Errorf("the new owner key's creation time %q (%v): not now", shown.Datetime, err)
	}
	conStep(t, p, "create an owner key")

	// The new key is an owner key (the key API needs Control); once used,
	// its last use is listed.
	if st, _, body := conDo(t, "GET", s.PodRoot("keyowner")+"settings/keys/", second, "", ""); st != http.StatusOK {
		t.Fatalf("the key API with the new owner key: %d %s", st, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		used := false
		for _, k := range ownerKeys() {
			if k.ID == secondID && k.LastUsed != nil {
				used = true
			}
		}
		if used {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key API never listed the new owner key's last use")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.click("#keys-reload", "Reload")
	p.waitFor("the new key's last-use time", `find(`+jsArgs(secondRow+" td.key-used time")+`)`)
	conStep(t, p, "last use")

	// Revoke the new owner key: it goes, and stops working.
	p.click(secondRow+" button", "Revoke")
	p.waitText(secondRow, "Whoever holds it loses control")
	p.click(secondRow+" button", "Yes, revoke")
	p.waitText(".status", "Revoked the owner key backup")
	p.waitFor("the key to go", `!find(`+jsArgs(`#keys-table tr[data-key="`+secondID+`"]`)+`)`)
	p.waitText("#keys-table caption", "1 of them owner key")
	if st, _, _ := conDo(t, "GET", s.PodRoot("keyowner")+"settings/keys/", second, "", ""); st != http.StatusUnauthorized {
		t.Errorf("the revoked owner key still works: %d", st)
	}
	// The first is the last again: refused again.
	p.click(firstRow+" button", "Revoke")
	p.click(firstRow+" button", "Yes, revoke")
	p.waitText(".error", "last owner key")
	if n := len(ownerKeys()); n != 1 {
		t.Errorf("%d owner keys at the end, want 1", n)
	}
	conStep(t, p, "revoke an owner key")
}

// TestConsoleRegistration drives open registration in headless Chromium:
// off (the default), the sign-in screen offers no "Create a pod" and
// #/register says the server takes none; on, the sign-in screen offers it,
// a taken and a reserved name are refused with the server's reasons, a new
// pod is created, its owner key shown once with "save it now", and the
// user signs in with it, landing on the new pod's page; the key works
// through the API too.
func TestConsoleRegistration(t *testing.T) {
	p := conBrowser(t)

	closed := podtest.RunServer(t, pod.Options{OpenRegistration: false})
	p.navigate(closed.ConsoleURL())
	p.waitFor("the registration check", `find("form[data-registration]")`)
	var state string
	p.eval(`document.querySelector("form[data-registration]").dataset.registration`, &state)
	if state != "closed" {
		t.Errorf("the sign-in form says registration is %q on a closed server", state)
	}
	var offered bool
	p.eval(`(() => { `+finder+` return Boolean(find("a, button", "Create a pod")); })()`, &offered)
	if offered {
		t.Error(`"Create a pod" is offered on a server without open registration`)
	}
	p.navigate(closed.ConsoleURL() + "#/register")
	p.waitText("#register-closed", "does not take registrations")
	p.click("a", "Back to sign in")
	p.waitText("h1", "Sign in to your pod")
	conStep(t, p, "registration off")

	s := podtest.RunServer(t, pod.Options{OpenRegistration: true})
	p.navigate(s.ConsoleURL())
	p.waitFor("the registration check", `find("form[data-registration=open]")`)
	p.click("#register-offer a", "Create a pod")
	p.waitText("h1", "Create a pod")
	p.fill("label=Pod name", "Not Valid")
	p.waitText("#register-form .field-error", "Use 1-63 characters")
	p.fill("label=Pod name", "alice") // a demo pod: taken
	p.click("#register-form button", "Create pod")
	p.waitText("#register-form .field-error", "The name alice is taken")
	p.fill("label=Pod name", "admin") // reserved: the server says so
	p.click("#register-form button", "Create pod")
	p.waitFor("the server's refusal of admin", `find("#register-form .field-error") && find("#register-form .field-error").textContent.includes("admin")`)
	p.fill("label=Pod name", "newcomer")
	p.click("#register-form button", "Create pod")
	p.waitText("#register-done", "Pod newcomer created")
	p.waitText("#register-done", "Save your owner key now")
	p.waitText("#register-done", "shown only this once")
	p.waitText("#register-done", s.WebID("newcomer"))
	var key string
	p.eval(`document.querySelector("#register-key").textContent`, &key)
	if !strings.HasPrefix(key, "pk_") {
		t.Fatalf("the new pod's key %q", key)
	}
	var leaks struct{ URL, Stored string }
	p.eval(`({url: location.href, stored: sessionStorage.getItem("podserver.console.session") || ""})`, &leaks)
	if strings.Contains(leaks.URL, key) || leaks.Stored != "" {
		t.Errorf("before signing in the key is on the page only: url %q, session %q", leaks.URL, leaks.Stored)
	}
	var disabled bool
	p.eval(`(() => { `+finder+` return find("#register-done button", "Sign in to newcomer").disabled; })()`, &disabled)
	if !disabled {
		t.Error(`"Sign in" is enabled before the user says the key is saved`)
	}
	conStep(t, p, "create a pod")

	p.click("#register-saved", "")
	p.click("#register-done button", "Sign in to newcomer")
	p.waitText("h1", "Pod newcomer")
	p.waitText("#who-pod", "newcomer")
	p.waitFor("the pod route", `location.hash === "#/pod"`)
	p.eval(`sessionStorage.getItem("podserver.console.session") || ""`, &leaks.Stored)
	if !strings.Contains(leaks.Stored, key) {
		t.Errorf("signed in, the session holds %q", leaks.Stored)
	}
	if st, _, body := conDo(t, "PUT", s.PodRoot("newcomer")+"hello.txt", key, "text/plain", "hi"); st != http.StatusCreated {
		t.Errorf("a write with the registered pod's key: %d %s", st, body)
	}
	conStep(t, p, "sign in with the new key")
}

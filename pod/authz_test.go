package pod_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"podserver/pod"
	"podserver/podtest"
)

// TestAuthorizeBeforeParsing sends a malformed body to every handler that
// reads one: with no credentials it gets 401, with credentials lacking
// access 403, never the parse error, and the same for a target that exists
// and one that does not (a refused caller cannot tell them apart); with
// access, the same body gets the parse error.
func TestAuthorizeBeforeParsing(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	setup := []call{
		{method: "PUT", path: "/alice/private/doc", key: aliceKey, ctype: "text/turtle", body: "<#a> <#b> <#c> .\n"}, // 201: created
		// crm's inbox takes notifications from crm only, so that another
		// pod's key lacks access to it.
		{method: "PUT", path: "/crm/inbox/.acl", key: "pk_demo_crm_owner_0123456789", ctype: "text/turtle", body: `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("crm") + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
`}, // 204: every inbox has an ACL from provisioning
	}
	for i, c := range setup {
		want := []int{http.StatusCreated, http.StatusNoContent}[i]
		if r := do(t, base, c); r.status != want {
			t.Fatalf("setup %s %s: %d %s, want %d", c.method, c.path, r.status, r.body, want)
		}
	}
	const (
		badJSONLD  = `{"@id": `
		badTurtle  = `<#a> <#b> .`
		badSPARQL  = `INSERT DATA { <#a> <#b> `
		badJSON    = `{"app": `
		badSubsDoc = `{"version": "2", "items": 7}`
	)
	cases := []struct {
		name        string
		c           call
		missing     string // a path that does not exist, answered like c.path when refused ("" for none)
		owner       string // a key with access
		other       string // a key lacking access ("" when none can be refused before the body is read)
		wantWithKey int    // the parse error the key with access gets
	}{
		{"LDP PUT", call{method: "PUT", path: "/alice/private/doc", ctype: "application/ld+json", body: badJSONLD}, "/alice/private/none", aliceKey, bobKey, 400},
		{"LDP PUT ACL", call{method: "PUT", path: "/alice/private/doc.acl", ctype: "text/turtle", body: badTurtle}, "/alice/private/none.acl", aliceKey, bobKey, 400},
		{"LDP PUT root ACL", call{method: "PUT", path: "/alice/.acl", ctype: "text/turtle", body: badTurtle}, "", aliceKey, producerApp, 400},
		{"LDP POST", call{method: "POST", path: "/alice/private/", ctype: "application/ld+json", body: badJSONLD}, "/alice/none/", aliceKey, bobKey, 400},
		{"LDP PATCH", call{method: "PATCH", path: "/alice/private/doc", ctype: "application/sparql-update", body: badSPARQL}, "/alice/private/none", aliceKey, bobKey, 422},
		{"LDP PATCH of an ACL", call{method: "PATCH", path: "/alice/.acl", ctype: "application/sparql-update", body: badSPARQL}, "/alice/private/none.acl", aliceKey, bobKey, 422},
		{"LDP PATCH, unknown patch type", call{method: "PATCH", path: "/alice/private/doc", ctype: "text/plain", body: "x"}, "/alice/private/none", aliceKey, bobKey, 415},
		{"settings/subscriptions PUT", call{method: "PUT", path: "/producer/settings/subscriptions", ctype: "application/ld+json", body: badSubsDoc}, "", producerOwner, producerApp, 400},
		{"settings/publish PUT", call{method: "PUT", path: "/producer/settings/publish", ctype: "application/ld+json", body: badJSONLD}, "", producerOwner, producerApp, 400},
		{"key API POST", call{method: "POST", path: "/producer/settings/keys/", ctype: "application/json", body: badJSON}, "", producerOwner, producerApp, 400},
		{"inbox POST", call{method: "POST", path: "/crm/inbox/", ctype: "application/json", body: badJSON}, "", "pk_demo_crm_owner_0123456789", bobKey, 400},
		{"publish POST", call{method: "POST", path: "/producer/publish/", ctype: "application/json", body: badJSON}, "", producerApp, bobKey, 400},
		{"outbox replay POST", call{method: "POST", path: "/producer/outbox/", ctype: "application/json", body: badJSON}, "", producerOwner, producerApp, 400},
		// Which resource a subscription needs Read on is named in the body,
		// so only what needs no body is refused before it: anonymous push.
		{"notification webhook subscription", call{method: "POST", path: "/alice/.notifications/webhook/", ctype: "application/ld+json", body: badJSON}, "", aliceKey, "", 422},
		{"notification LDN subscription", call{method: "POST", path: "/alice/.notifications/ldn/", ctype: "text/plain", body: badJSON}, "", aliceKey, "", 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refused := []struct {
				key  string
				want int
			}{{"", http.StatusUnauthorized}}
			if tc.other != "" {
				refused = append(refused, struct {
					key  string
					want int
				}{tc.other, http.StatusForbidden})
			}
			for _, rf := range refused {
				c := tc.c
				c.key = rf.key
				got := do(t, base, c)
				if got.status != rf.want {
					t.Errorf("key %q: %d, want %d (%s)", rf.key, got.status, rf.want, got.body)
				}
				if tc.missing != "" {
					c.path = tc.missing
					if m := do(t, base, c); m.status != got.status || m.body != got.body {
						t.Errorf("key %q: existing %s: %d %s; missing %s: %d %s", rf.key, tc.c.path, got.status, got.body, tc.missing, m.status, m.body)
					}
				}
			}
			c := tc.c
			c.key = tc.owner
			if got := do(t, base, c); got.status != tc.wantWithKey {
				t.Errorf("with access: %d, want %d (%s)", got.status, tc.wantWithKey, got.body)
			}
		})
	}
}

// TestSignedInboxAuthorizedFirst: a POST to an inbox carrying a signature
// that does not verify gets 401, whatever its Content-Type and body.
func TestSignedInboxAuthorizedFirst(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	r := do(t, s.BaseURL(), call{method: "POST", path: "/alice/inbox/", ctype: "text/plain", body: "{",
		hdr: map[string]string{"Signature-Input": `sig1=("@method");keyid="https://example.invalid/k"`, "Signature": "sig1=:AAAA:"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("%d, want 401 (%s)", r.status, r.body)
	}
}

// TestSettingsBelongToOwner: every write under settings/ and on the key API
// is refused to an app key of the pod, another pod's owner key and
// anonymous callers, even when an ACL grants them every mode, and leaves
// everything as it was; the pod's owner key may make each of them. Reads
// follow the ACL.
func TestSettingsBelongToOwner(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	own := func(t *testing.T, c call, want int) reply {
		t.Helper()
		c.key = producerOwner
		r := do(t, base, c)
		if r.status != want {
			t.Fatalf("owner %s %s: %d %s, want %d", c.method, c.path, r.status, r.body, want)
		}
		return r
	}
	// An ACL that would grant everyone every mode on settings/.
	grantAll := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("producer") + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
<#everyone> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:agentClass foaf:Agent, acl:AuthenticatedAgent;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Append, acl:Control.
`
	own(t, call{method: "PUT", path: "/producer/settings/.acl", ctype: "text/turtle", body: grantAll}, http.StatusCreated)
	own(t, call{method: "PUT", path: "/producer/settings/notes", ctype: "text/turtle", body: "<#a> <#b> <#c> .\n"}, http.StatusCreated)
	own(t, call{method: "PUT", path: "/producer/settings/old", ctype: "text/plain", body: "old"}, http.StatusCreated)
	created := own(t, call{method: "POST", path: "/producer/settings/keys/", ctype: "application/json", body: `{"app": "victim"}`}, http.StatusCreated)
	var victim struct{ ID string }
	if err := json.Unmarshal([]byte(created.body), &victim); err != nil || victim.ID == "" {
		t.Fatalf("key reply: %s", created.body)
	}
	subs := `{"version": "1", "items": [{"type": "Subscription", "agent": "` + s.WebID("alice") + `", "subscribes": ["*"]}]}`
	delAll := `PREFIX acl: <http://www.w3.org/ns/auth/acl#>
DELETE DATA { <#everyone> acl:mode acl:Control . }`

	cases := []struct {
		name  string
		c     call
		read  string // what to read back as the owner to see that nothing changed
		owner int    // the owner's answer to c
	}{
		{"PUT subscriptions", call{method: "PUT", path: "/producer/settings/subscriptions", ctype: "application/ld+json", body: subs}, "/producer/settings/subscriptions", http.StatusNoContent},
		{"PUT publish limits", call{method: "PUT", path: "/producer/settings/publish", ctype: "application/json", body: `{"maxDataBytes": 16}`}, "/producer/settings/publish", http.StatusCreated},
		{"PATCH", call{method: "PATCH", path: "/producer/settings/notes", ctype: "application/sparql-update", body: "INSERT DATA { <#x> <#y> <#z> . }"}, "/producer/settings/notes", http.StatusNoContent},
		{"POST", call{method: "POST", path: "/producer/settings/", ctype: "text/plain", body: "x", hdr: map[string]string{"Slug": "posted"}}, "/producer/settings/", http.StatusCreated},
		{"DELETE", call{method: "DELETE", path: "/producer/settings/old"}, "/producer/settings/old", http.StatusNoContent},
		{"PUT settings ACL", call{method: "PUT", path: "/producer/settings/.acl", ctype: "text/turtle", body: grantAll}, "/producer/settings/.acl", http.StatusNoContent},
		{"PATCH settings ACL", call{method: "PATCH", path: "/producer/settings/.acl", ctype: "application/sparql-update", body: delAll}, "/producer/settings/.acl", http.StatusNoContent},
		{"key API POST", call{method: "POST", path: "/producer/settings/keys/", ctype: "application/json", body: `{"app": "intruder"}`}, "/producer/settings/keys/", http.StatusCreated},
		{"key API DELETE", call{method: "DELETE", path: "/producer/settings/keys/" + victim.ID}, "/producer/settings/keys/", http.StatusNoContent},
	}
	principals := []struct {
		name, key string
		want      int
	}{
		{"the pod's app key", producerApp, http.StatusForbidden},
		{"another pod's owner key", aliceKey, http.StatusForbidden},
		{"anonymous", "", http.StatusUnauthorized},
	}
	// state reads p back as the owner: the key API by its keys' ids and
	// apps (lastUsed moves whenever a key is used, refused or not), anything
	// else by status, ETag and body.
	state := func(t *testing.T, p string) string {
		t.Helper()
		r := do(t, base, call{method: "GET", path: p, key: producerOwner})
		if !strings.HasSuffix(p, "/settings/keys/") {
			return strconv.Itoa(r.status) + " " + r.hdr.Get("ETag") + " " + r.body
		}
		var l struct{ Keys []struct{ ID, App string } }
		if err := json.Unmarshal([]byte(r.body), &l); err != nil {
			t.Fatalf("key listing: %v: %s", err, r.body)
		}
		var out []string
		for _, k := range l.Keys {
			out = append(out, k.ID+"="+k.App)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := state(t, tc.read)
			for _, p := range principals {
				c := tc.c
				c.key = p.key
				if got := do(t, base, c); got.status != p.want {
					t.Errorf("%s: %d, want %d (%s)", p.name, got.status, p.want, got.body)
				}
				if after := state(t, tc.read); after != before {
					t.Fatalf("%s changed %s:\nbefore %s\nafter  %s", p.name, tc.read, before, after)
				}
			}
			c := tc.c
			c.key = producerOwner
			if got := do(t, base, c); got.status != tc.owner {
				t.Errorf("owner: %d, want %d (%s)", got.status, tc.owner, got.body)
			}
		})
	}

	// Reads follow the ACL (which grants Read to all); app keys and others
	// see Read only in WAC-Allow, and still never read the key API or the
	// ACL documents under settings/.
	reads := []struct {
		name, path, key string
		want            int
		wacUser         string
	}{
		{"app key reads subscriptions", "/producer/settings/subscriptions", producerApp, 200, "read"},
		{"other owner reads subscriptions", "/producer/settings/subscriptions", aliceKey, 200, "read"},
		{"anonymous reads subscriptions", "/producer/settings/subscriptions", "", 200, "read"},
		{"owner reads subscriptions", "/producer/settings/subscriptions", producerOwner, 200, "read write append control"},
		{"app key lists keys", "/producer/settings/keys/", producerApp, 403, ""},
		{"other owner lists keys", "/producer/settings/keys/", aliceKey, 403, ""},
		{"app key reads the settings ACL", "/producer/settings/.acl", producerApp, 403, ""},
		{"other owner reads the settings ACL", "/producer/settings/.acl", aliceKey, 403, ""},
	}
	for _, rc := range reads {
		r := do(t, base, call{method: "GET", path: rc.path, key: rc.key})
		if r.status != rc.want {
			t.Errorf("%s: %d, want %d (%s)", rc.name, r.status, rc.want, r.body)
			continue
		}
		if rc.wacUser != "" && !strings.HasPrefix(r.hdr.Get("WAC-Allow"), `user="`+rc.wacUser+`"`) {
			t.Errorf("%s: WAC-Allow %q, want user=%q", rc.name, r.hdr.Get("WAC-Allow"), rc.wacUser)
		}
	}
}

// TestSettingsPatchValidated: a PATCH of settings/subscriptions is
// validated as a PUT of its result would be. The owner cannot patch the
// document into one that publishing could not read: 409, and the document
// and what it allows stay as they were.
func TestSettingsPatchValidated(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	const path = "/alice/settings/subscriptions"
	before := do(t, base, call{method: "GET", path: path, key: aliceKey})
	if before.status != http.StatusOK {
		t.Fatalf("GET settings: %d %s", before.status, before.body)
	}
	for name, body := range map[string]string{
		"n3":     `@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { <#x> <http://example.org/p> "q" }.`,
		"sparql": `INSERT DATA { <#x> <http://example.org/p> "q" }`,
	} {
		ctype := "text/n3"
		if name == "sparql" {
			ctype = "application/sparql-update"
		}
		r := do(t, base, call{method: "PATCH", path: path, key: aliceKey, ctype: ctype, body: body})
		if r.status != http.StatusConflict || !strings.Contains(r.body, "the patched document is not valid") {
			t.Errorf("%s PATCH of settings: %d %s", name, r.status, r.body)
		}
	}
	if after := do(t, base, call{method: "GET", path: path, key: aliceKey}); after.body != before.body {
		t.Errorf("settings changed by refused patches:\nbefore %s\nafter  %s", before.body, after.body)
	}
}

// TestControlAsGranted: acl:Control is what an ACL grants, to any agent:
// with Control granted to everyone (foaf:Agent), anonymous requests and
// another pod's owner read and write the ACL; an app key of the pod does
// not, whatever the ACL grants (our rule for apps); without the grant,
// nobody but the owner does.
func TestControlAsGranted(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	if r := do(t, base, call{method: "PUT", path: "/alice/shared/doc", key: aliceKey, ctype: "text/plain", body: "x"}); r.status != http.StatusCreated {
		t.Fatalf("PUT doc: %d %s", r.status, r.body)
	}
	acl := func(everyone string) string {
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>;
  acl:mode acl:Read, acl:Write, acl:Control.
` + everyone
	}
	granted := acl(`<#everyone> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Control.
`)
	if r := do(t, base, call{method: "PUT", path: "/alice/shared/.acl", key: aliceKey, ctype: "text/turtle", body: granted}); r.status != http.StatusCreated {
		t.Fatalf("PUT .acl: %d %s", r.status, r.body)
	}
	aliceApp := do(t, base, call{method: "POST", path: "/alice/settings/keys/", key: aliceKey, ctype: "application/json", body: `{"app": "notes"}`})
	var app struct{ Key string }
	if err := json.Unmarshal([]byte(aliceApp.body), &app); err != nil || app.Key == "" {
		t.Fatalf("app key: %d %s", aliceApp.status, aliceApp.body)
	}
	for _, tc := range []struct {
		who, key string
		get, put int
	}{
		{"anonymous", "", http.StatusOK, http.StatusNoContent},
		{"another pod's owner", bobKey, http.StatusOK, http.StatusNoContent},
		{"alice's app key", app.Key, http.StatusForbidden, http.StatusForbidden},
	} {
		if r := do(t, base, call{method: "GET", path: "/alice/shared/.acl", key: tc.key}); r.status != tc.get {
			t.Errorf("%s GET .acl with Control granted to everyone: %d, want %d", tc.who, r.status, tc.get)
		}
		if r := do(t, base, call{method: "PUT", path: "/alice/shared/.acl", key: tc.key, ctype: "text/turtle", body: granted}); r.status != tc.put {
			t.Errorf("%s PUT .acl with Control granted to everyone: %d %s, want %d", tc.who, r.status, r.body, tc.put)
		}
	}
	// Without the grant, Control is the owner's alone.
	if r := do(t, base, call{method: "PUT", path: "/alice/shared/.acl", key: aliceKey, ctype: "text/turtle", body: acl("")}); r.status != http.StatusNoContent {
		t.Fatalf("owner PUT .acl: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		who, key string
		want     int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"another pod's owner", bobKey, http.StatusForbidden},
		{"alice's app key", app.Key, http.StatusForbidden},
	} {
		if r := do(t, base, call{method: "GET", path: "/alice/shared/.acl", key: tc.key}); r.status != tc.want {
			t.Errorf("%s GET .acl without a grant: %d, want %d", tc.who, r.status, tc.want)
		}
	}
}

// TestPostNeverCreatesACL: an agent with only Append on a container
// cannot name a new member as an ACL document ("secret.txt.acl.acl" used
// to become "secret.txt.acl", which then governed alice's secret.txt),
// nor can the pod's app key, which never has Control.
func TestPostNeverCreatesACL(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{InMemory: true})
	base := s.BaseURL()
	dropACL := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + s.WebID("alice") + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#drop> a acl:Authorization; acl:agentClass acl:AuthenticatedAgent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Append.
`
	evil := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#all> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <secret.txt>; acl:mode acl:Read, acl:Write, acl:Control.
`
	for _, c := range []call{
		{method: "PUT", path: "/alice/drop/secret.txt", key: aliceKey, ctype: "text/plain", body: "alice's secret"},
		{method: "PUT", path: "/alice/drop/.acl", key: aliceKey, ctype: "text/turtle", body: dropACL},
	} {
		if r := do(t, base, c); r.status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	for _, slug := range []string{"secret.txt.acl", "secret.txt.acl.acl", "secret.txt.acl.acl.acl", "secret.txt.acl..acl", "secret.txt.acl.", ".acl.acl", "..acl"} {
		for _, who := range []struct{ name, key string }{{"bob", bobKey}, {"alice's app", producerApp}} {
			path := "/alice/drop/"
			if who.key == producerApp {
				path = "/producer/" // the publisher app has Append on its pod's root
			}
			r := do(t, base, call{method: "POST", path: path, key: who.key, ctype: "text/turtle", body: evil, hdr: map[string]string{"Slug": slug}})
			loc := r.hdr.Get("Location")
			if r.status == http.StatusCreated && strings.HasSuffix(loc, ".acl") {
				t.Errorf("%s POST Slug %q: created the ACL document %s", who.name, slug, loc)
			}
			if r.status != http.StatusCreated {
				t.Errorf("%s POST Slug %q: %d %s, want 201 under another name", who.name, slug, r.status, r.body)
			}
		}
	}
	if r := do(t, base, call{method: "GET", path: "/alice/drop/secret.txt", key: bobKey}); r.status != http.StatusForbidden {
		t.Errorf("bob GET secret.txt after posting: %d %s, want 403", r.status, r.body)
	}
	if r := do(t, base, call{method: "GET", path: "/alice/drop/secret.txt"}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous GET secret.txt after posting: %d %s, want 401", r.status, r.body)
	}
}

package pod_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestHostileJSONLDContexts: the hostile review's JSON-LD contexts, sent to
// publish/ with an app key and to another pod's inbox, are refused with a
// 400 JSON error naming the limit before json-gold sees them (a longer
// term chain killed the process), and the server answers afterwards.
func TestHostileJSONLDContexts(t *testing.T) {
	s, _ := evServer(t, "")
	var chain strings.Builder
	chain.WriteString(`{`)
	for i := range 200 {
		fmt.Fprintf(&chain, `"t%d":"t%d",`, i, i+1)
	}
	chain.WriteString(`"t200":"http://ex.org/"}`)
	var inner []string
	for i := range 300 {
		inner = append(inner, fmt.Sprintf(`"k%d":"http://ex.org/%d"`, i, i))
	}
	scoped := `{"@version":1.1,"a":{"@id":"http://ex.org/a","@context":{` + strings.Join(inner, ",") + `}}}`
	values := `[` + strings.TrimSuffix(strings.Repeat(`{"k1":1},`, 300), ",") + `]`
	event := func(ctx, data string) string {
		return `{"@context":[` + ctx + `,{"recipient":"https://w3id.org/podserver/ns#recipient","topic":"https://w3id.org/podserver/ns#topic","data":"https://w3id.org/podserver/ns#data"}],` +
			`"recipient":"` + s.WebID("alice") + `","topic":"realestate/contact#add","data":` + data + `}`
	}
	for _, c := range []struct {
		name, body, want string
	}{
		{"term chain", event(chain.String(), `{"t0":"v"}`), "term chain limit"},
		{"scoped context", event(scoped, `{"a":`+values+`}`), "context work limit"},
	} {
		for _, to := range []struct{ name, url, key string }{
			{"publish", s.PodRoot("producer") + "publish/", evKeys.producer},
			{"inbox", s.PodRoot("alice") + "inbox/", evKeys.crm},
		} {
			t.Run(c.name+" to "+to.name, func(t *testing.T) {
				r := evDo(t, evReq{method: "POST", url: to.url, key: to.key, body: c.body, ctype: "application/ld+json"})
				if r.status != http.StatusBadRequest {
					t.Fatalf("POST: %d %s, want 400", r.status, r.body)
				}
				if msg, _ := r.json(t)["error"].(string); !strings.Contains(msg, c.want) {
					t.Fatalf("error %q does not name the %s", msg, c.want)
				}
				if r := evDo(t, evReq{method: "GET", url: s.PodRoot("alice") + "profile/card", key: evKeys.alice}); r.status != http.StatusOK {
					t.Fatalf("the server no longer answers: %d %s", r.status, r.body)
				}
			})
		}
	}
}

package inbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"podserver/apierr"
	"podserver/jsoncheck"
)

// FuzzPrepareNotification: a received notification is refused with a 400,
// or stored as one valid UTF-8 JSON object whose agent and instrument are
// the server's, whatever the sender wrote.
func FuzzPrepareNotification(f *testing.F) {
	for _, s := range []string{
		`{"id":"https://p.example/publish/1","topic":"a/b#c","data":{"type":"AddAction"}}`,
		`{"@context":"https://www.w3.org/ns/activitystreams","agent":"forged","url":"x","n":[1,{"a":null}]}`,
		"{\"name\":\"caf\xe9\"}",
		`{"x":` + strings.Repeat("[", jsoncheck.MaxDepth) + strings.Repeat("]", jsoncheck.MaxDepth) + `}`,
		`{"x":` + strings.Repeat("[", 1000) + `}`,
		`[1]`, `{"id":5}`, ``,
	} {
		f.Add([]byte(s))
	}
	const agent, app = "https://a.example/profile/card#me", "crm"
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, _, err := prepareNotification(body, agent, app)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if !utf8.Valid(doc) || jsoncheck.Check(doc) != nil {
			t.Fatalf("stored document fails the JSON check: %q", doc)
		}
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatalf("stored document is not a JSON object: %v: %q", err, doc)
		}
		if m["agent"] != agent || m["instrument"] != app {
			t.Fatalf("agent %v, instrument %v: not the server's", m["agent"], m["instrument"])
		}
		if _, ok := m["url"]; ok {
			t.Fatalf("url kept: %q", doc)
		}
	})
}

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

// FuzzCheckNotification: a received notification is refused with a 400,
// or is a valid UTF-8 JSON object (stored as sent), whose id, if any, is a
// string; and its listing entry is one valid JSON object whose "url" is the
// item's and whose server fields are the sender's, whatever the sender
// wrote.
func FuzzCheckNotification(f *testing.F) {
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
	sender := &Sender{Agent: "https://a.example/profile/card#me", Instrument: "crm"}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, object, err := checkNotification(body)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if !utf8.Valid(body) || jsoncheck.Check(body) != nil {
			t.Fatalf("accepted document fails the JSON check: %q", body)
		}
		var m map[string]any
		if !object {
			var nodes []map[string]any
			if err := json.Unmarshal(body, &nodes); err != nil || len(nodes) == 0 || id != "" {
				t.Fatalf("accepted document is neither a JSON object nor an array of them (or has an id %q): %v: %q", id, err, body)
			}
		} else if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted document is not a JSON object: %v: %q", err, body)
		}
		if v, ok := m["id"]; ok && v != id {
			t.Fatalf("id %q, document's %v", id, v)
		}
		const item = "https://p.example/alice/inbox/0000000000000001"
		entry := appendEntry(nil, item, Item{Body: body, Sender: sender}, nil)
		var e map[string]any
		if err := json.Unmarshal(entry, &e); err != nil {
			t.Fatalf("entry is not a JSON object: %v: %s", err, entry)
		}
		if e["url"] != item || e["agent"] != sender.Agent || e["instrument"] != sender.Instrument {
			t.Fatalf("entry's url, agent or instrument is not the server's: %s", entry)
		}
	})
}

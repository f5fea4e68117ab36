package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"podserver/jsoncheck"
)

const base = "http://localhost/producer/publish/"

var now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestDecodeValid(t *testing.T) {
	evs, array, err := Decode([]byte(` [ {"recipient": "https://u.example/profile/card#me", "source": "https://p.example/profile/card#me",
	  "topic": "realestate/contact#add", "data": {"type": "AddAction", "object": {"name": "Bruce \"B\" Wayne"}},
	  "id": "4C99D051-A526-4526-9CCA-34F92A6C8C9D", "timestamp": "2024-05-01T11:00:00.5+02:00",
	  "causationId": "c-1", "delay": 1.5, "agent": "spoofed", "type": "Event"} ] `), DefaultLimits(), base, now)
	if err != nil {
		t.Fatal(err)
	}
	if !array || len(evs) != 1 {
		t.Fatalf("array %v, %d events", array, len(evs))
	}
	ev := evs[0]
	if ev.Recipient != "https://u.example/profile/card#me" || ev.Source != "https://p.example/profile/card#me" ||
		ev.Topic != "realestate/contact#add" || ev.ClientID != "4c99d051a52645269cca34f92a6c8c9d" ||
		ev.Delay != 1500*time.Millisecond || ev.HasCorrelation || ev.JSONLD {
		t.Fatalf("decoded %+v", ev)
	}
	if due := ev.Due(now); !due.Equal(now.Add(1500 * time.Millisecond)) {
		t.Errorf("due %v", due)
	}
	stored := ev.appendStored(nil, base+"x", "https://producer/profile/card#me", "app", now)
	var m map[string]any
	if err := json.Unmarshal(stored, &m); err != nil {
		t.Fatalf("stored form is not JSON: %v\n%s", err, stored)
	}
	want := map[string]any{
		"id": base + "x", "agent": "https://producer/profile/card#me", "instrument": "app",
		"received_at": "2024-05-01T12:00:00.000Z", "correlationId": base + "x", "causationId": "c-1", "type": "Event",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if obj := m["data"].(map[string]any)["object"].(map[string]any); obj["name"] != `Bruce "B" Wayne` {
		t.Errorf("data: %v", m["data"])
	}
}

func TestDecodeJSONLD(t *testing.T) {
	ok := `{"@context": "https://w3id.org/podserver/v1", "recipient": "https://u.example/profile/card#me",
	  "topic": "a/b", "data": {"@type": "AddAction", "@id": "#x"}}`
	evs, _, err := Decode([]byte(ok), DefaultLimits(), base, now)
	if err != nil || !evs[0].JSONLD {
		t.Fatalf("valid JSON-LD event: %v", err)
	}
	bad := `{"@context": {"@version": 2}, "recipient": "https://u.example/profile/card#me", "topic": "a/b", "data": {}}`
	_, _, err = Decode([]byte(bad), DefaultLimits(), base, now)
	if err == nil || !strings.HasPrefix(err.Error(), MsgInvalidJSONLD) {
		t.Fatalf("bad JSON-LD event: %v", err)
	}
}

func TestDecodeMessagesNameIndex(t *testing.T) {
	good := `{"recipient": "https://u.example/profile/card#me", "topic": "a/b", "data": {}}`
	_, _, err := Decode([]byte(`[`+good+`,`+good+`,{"topic":"a/b","data":{}}]`), DefaultLimits(), base, now)
	if err == nil || err.Error() != "events[2]: "+MsgNoRecipient {
		t.Fatalf("got %v", err)
	}
	_, _, err = Decode([]byte(strings.TrimSuffix(strings.Repeat(good+",", MaxEvents+1), ",")), DefaultLimits(), base, now)
	if err == nil {
		t.Fatal("several top-level values accepted")
	}
	_, _, err = Decode([]byte("["+strings.TrimSuffix(strings.Repeat(good+",", MaxEvents+1), ",")+"]"), DefaultLimits(), base, now)
	if err == nil || err.Error() != MsgTooManyEvents {
		t.Fatalf("too many: %v", err)
	}
}

// FuzzPublishBody checks the publish body decoder against encoding/json:
// it never panics; what it accepts is JSON whose events have the required
// fields, and whose stored form is a JSON object holding the same data.
func FuzzPublishBody(f *testing.F) {
	seeds := []string{
		`{"recipient":"https://u.example/profile/card#me","topic":"a/b#c","data":{"type":"AddAction"}}`,
		`[{"recipient":"https://u.example/profile/card#me","source":"http://s.example/x","topic":"a/b","data":{"k":[1,{"x":"\u00e9\"\\"}]},"id":"4c99d051-a526-4526-9cca-34f92a6c8c9d","delay":3}]`,
		`{"recipient":"https://u.example/profile/card#me","topic":"a/b","data":{},"@context":{"@vocab":"https://schema.org/"}}`,
		`{"recipient":"https://u.example/profile/card#me","topic":"a/b","data":{},"deliverAt":"2024-05-01T12:00:01Z","correlationId":"x"}`,
		`[]`, `{}`, `[1]`, `"x"`, `{"recipient":`, `{"a":1,"a":2}`, `[{"recipient":"https://u.example/","topic":"a/b","data":{},"recipient":"x"}]`,
	}
	seeds = append(seeds,
		`{"recipient":"https://u.example/profile/card#me","topic":"a/b","data":{"x":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}}`,
		"{\"recipient\":\"https://u.example/profile/card#me\",\"topic\":\"a/b\",\"data\":{\"x\":\"\xe9\"}}")
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, snake bool) {
		lim := Limits{MaxDataBytes: 512, SnakeCaseKeys: snake}
		evs, array, err := Decode(body, lim, base, now)
		if err != nil {
			var be *bodyError
			if !errors.As(err, &be) || be.msg == "" {
				t.Fatalf("error %v is not a body error", err)
			}
			return
		}
		if !json.Valid(body) || jsoncheck.Check(body) != nil {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var top any
		_ = json.Unmarshal(body, &top)
		var objs []any
		if list, ok := top.([]any); ok {
			if !array {
				t.Fatal("array not reported")
			}
			objs = list
		} else {
			objs = []any{top}
		}
		if len(objs) != len(evs) {
			t.Fatalf("%d events decoded from %d", len(evs), len(objs))
		}
		for i, ev := range evs {
			obj, ok := objs[i].(map[string]any)
			if !ok {
				t.Fatalf("event %d is not an object", i)
			}
			if obj["recipient"] != ev.Recipient || obj["topic"] != ev.Topic {
				t.Fatalf("event %d: decoded %q %q from %v", i, ev.Recipient, ev.Topic, obj)
			}
			if _, ok := obj["data"].(map[string]any); !ok {
				t.Fatalf("event %d: data %v", i, obj["data"])
			}
			stored := ev.appendStored(nil, base+"id", "https://a.example/profile/card#me", "app", now)
			var m map[string]any
			if err := json.Unmarshal(stored, &m); err != nil {
				t.Fatalf("stored form of %q is not JSON: %v\n%s", body, err, stored)
			}
			if m["id"] != base+"id" || m["agent"] != "https://a.example/profile/card#me" {
				t.Fatalf("server fields: %v", m)
			}
			a, _ := json.Marshal(obj["data"])
			b, _ := json.Marshal(m["data"])
			if !bytes.Equal(a, b) {
				t.Fatalf("data changed: %s -> %s", a, b)
			}
		}
	})
}

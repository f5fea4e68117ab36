package notify

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"podserver/apierr"
	"podserver/jsoncheck"
)

// FuzzParseRequest: the subscription request parser never panics, refuses
// with 415 or 422 only, and what it accepts is a well-formed channel
// request.
func FuzzParseRequest(f *testing.F) {
	const topic = "https://pod.example/alice/notes"
	f.Add("application/ld+json", `{"@context": ["`+ctxURI+`"], "type": "WebSocketChannel2023", "topic": "`+topic+`"}`)
	f.Add("application/ld+json; profile=\""+ctxURI+"\"", `{"@context": "`+ctxURI+`", "type": "WebhookChannel2023", "topic": "`+topic+`", "sendTo": "https://h.example/x", "rate": "PT1S", "startAt": "2030-01-01T00:00:00Z", "endAt": "2030-01-02T00:00:00Z", "state": "e", "accept": "text/turtle"}`)
	f.Add("application/json", `{"@context": ["`+ctxURI+`", "https://www.w3.org/ns/activitystreams"], "@type": ["notify:LDNChannel2023"], "notify:topic": {"@id": "`+topic+`"}, "sendTo": [{"@id": "https://b.example/inbox/"}]}`)
	f.Add("application/ld+json", `{"@context": [{"a": "b"}], "type": 1}`)
	f.Add("text/plain", `{}`)
	f.Add("application/ld+json", `[]`)
	f.Add("application/ld+json", `{"@context": "`+ctxURI+`", "type": "StreamingHTTPChannel2023", "topic": "`+topic+`", "rate": "P1DT2H3M4.5S", "endAt": {"@value": "2031-01-01T00:00:00"}}`)
	f.Add("application/ld+json", `{"@context": "`+ctxURI+`", "type": "WebSocketChannel2023", "topic": "`+topic+`", "x": `+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}`)
	f.Add("application/ld+json", "{\"@context\": \""+ctxURI+"\", \"type\": \"WebSocketChannel2023\", \"topic\": \""+topic+"\xff\"}")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r, err := ParseRequest(ctype, []byte(body))
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || (ae.Status != 400 && ae.Status != 415 && ae.Status != 422) {
				t.Fatalf("error %v is not a 400, 415 or 422", err)
			}
			if bad := jsoncheck.Check([]byte(body)) != nil; (ae.Status == 400 && !bad) || (ae.Status == 422 && bad) {
				t.Fatalf("%v, but the JSON check says %v", err, jsoncheck.Check([]byte(body)))
			}
			return
		}
		tp, ok := typeByName(r.Type)
		if !ok {
			t.Fatalf("accepted unknown type %q", r.Type)
		}
		if u, err := url.Parse(r.Topic); err != nil || !u.IsAbs() || u.Fragment != "" {
			t.Fatalf("accepted topic %q", r.Topic)
		}
		if tp.push != (r.SendTo != "") {
			t.Fatalf("type %s with sendTo %q", r.Type, r.SendTo)
		}
		if r.Rate < 0 || r.Rate > maxRate {
			t.Fatalf("rate %v", r.Rate)
		}
		if !r.StartAt.IsZero() && !r.EndAt.IsZero() && !r.EndAt.After(r.StartAt) {
			t.Fatalf("endAt %v not after startAt %v", r.EndAt, r.StartAt)
		}
		if _, ok := negotiateAccept(r.Accept); !ok {
			t.Fatalf("accepted accept %q", r.Accept)
		}
	})
}

// FuzzParseDuration: durations parse without panicking, within bounds.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT10S", "P1DT2H", "P1W", "PT0.25S", "P", "PT", "P1Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && (d < 0 || d > maxRate) {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}

package notify

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"podserver/apierr"
)

const ctxURI = "https://www.w3.org/ns/solid/notification/v1"

func TestParseRequest(t *testing.T) {
	const topic = "https://pod.example/alice/notes"
	ok := func(body string) string { return body }
	cases := []struct {
		name, ctype, body string
		err               error
		check             func(*testing.T, *Request)
	}{
		{name: "minimal", ctype: "application/ld+json",
			body: ok(`{"@context": ["` + ctxURI + `"], "type": "WebSocketChannel2023", "topic": "` + topic + `"}`),
			check: func(t *testing.T, r *Request) {
				if r.Type != TypeWebSocket || r.Topic != topic {
					t.Errorf("%+v", r)
				}
			}},
		{name: "0.3 context and profile", ctype: `application/ld+json; profile="https://www.w3.org/ns/solid/notifications-context/v1"`,
			body: `{"@context": "https://www.w3.org/ns/solid/notifications-context/v1", "type": "StreamingHTTPChannel2023", "topic": "` + topic + `"}`},
		{name: "all features", ctype: "application/json",
			body: `{"@context": ["` + ctxURI + `"], "@type": "notify:WebhookChannel2023", "notify:topic": {"@id": "` + topic + `"},
				"sendTo": ["https://hooks.example/cb"], "startAt": "2030-01-01T00:00:00Z", "endAt": {"@value": "2030-01-02T00:00:00.5Z"},
				"rate": "PT10s", "state": "\"e1\"", "accept": "text/turtle, application/ld+json;q=0.5"}`,
			check: func(t *testing.T, r *Request) {
				if r.Type != TypeWebhook || r.SendTo != "https://hooks.example/cb" || r.Rate != 10*time.Second ||
					r.State != `"e1"` || r.StartAt.Year() != 2030 || r.EndAt.Nanosecond() != 5e8 || r.Accept == "" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "full IRI type", ctype: "application/ld+json",
			body: `{"@context": "` + ctxURI + `", "type": "http://www.w3.org/ns/solid/notifications#LDNChannel2023", "topic": "` + topic + `", "sendTo": "https://b.example/inbox/"}`,
			check: func(t *testing.T, r *Request) {
				if r.Type != TypeLDN {
					t.Errorf("%+v", r)
				}
			}},
		{name: "media type", ctype: "text/turtle", body: `{}`, err: errMediaType},
		{name: "bad media type", ctype: "garbage;;", body: `{}`, err: errMediaType},
		{name: "profile", ctype: `application/ld+json;profile="https://example.org/x"`, body: `{}`, err: errProfile},
		{name: "trailing data", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `"} {}`, err: errNotJSON},
		{name: "null", ctype: "application/ld+json", body: `null`, err: errNotJSON},
		{name: "no context", ctype: "application/ld+json", body: `{"type": "WebSocketChannel2023", "topic": "` + topic + `"}`, err: errContextMissing},
		{name: "only other context", ctype: "application/ld+json", body: `{"@context": "https://www.w3.org/ns/activitystreams", "type": "WebSocketChannel2023", "topic": "` + topic + `"}`, err: errContextMissing},
		{name: "inline context", ctype: "application/ld+json", body: `{"@context": ["` + ctxURI + `", {"topic": "http://evil.example/t"}], "type": "WebSocketChannel2023", "topic": "` + topic + `"}`, err: errContextInline},
		{name: "two types", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": ["WebSocketChannel2023", "WebhookChannel2023"], "topic": "` + topic + `"}`, err: errTypeMissing},
		{name: "two topics", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": ["` + topic + `", "` + topic + `2"]}`, err: errTopic},
		{name: "topic with fragment", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `#it"}`, err: errTopic},
		{name: "topic ftp", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "ftp://x/y"}`, err: errTopic},
		{name: "sendTo with user", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebhookChannel2023", "topic": "` + topic + `", "sendTo": "https://u:p@h.example/"}`, err: errSendTo},
		{name: "endAt before startAt", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `", "startAt": "2030-01-02T00:00:00Z", "endAt": "2030-01-01T00:00:00Z"}`, err: errEndAt},
		{name: "startAt number", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `", "startAt": 5}`, err: errStartAt},
		{name: "rate in months", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `", "rate": "P1M"}`, err: errRate},
		{name: "long state", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `", "state": "` + strings.Repeat("x", 300) + `"}`, err: errState},
		{name: "accept nothing usable", ctype: "application/ld+json", body: `{"@context": "` + ctxURI + `", "type": "WebSocketChannel2023", "topic": "` + topic + `", "accept": "text/html"}`, err: errAccept},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRequest(c.ctype, []byte(c.body))
			if c.err != nil {
				if err != c.err {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
	// Unknown contexts are a 422 naming the context.
	_, err := ParseRequest("application/ld+json", []byte(`{"@context": ["`+ctxURI+`", "https://example.org/c"], "type": "WebSocketChannel2023", "topic": "`+topic+`"}`))
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(ae.Msg, "https://example.org/c") {
		t.Errorf("unknown context: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"PT10S": 10 * time.Second, "pt10s": 10 * time.Second, "PT0.5S": 500 * time.Millisecond,
		"PT1M30S": 90 * time.Second, "PT2H": 2 * time.Hour, "P1D": 24 * time.Hour, "P1W": 7 * 24 * time.Hour,
		"P1DT1H1M1S": 25*time.Hour + time.Minute + time.Second, "P365D": 365 * 24 * time.Hour,
	}
	for s, want := range good {
		if d, err := ParseDuration(s); err != nil || d != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "10S", "PT10", "P1Y", "P1M", "-PT1S", "PT1S1M", "P1DT", "PT1.5M", "P366D", "PTS", "P1D1D", "PT1H2H"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
	for _, d := range []time.Duration{time.Second, 90 * time.Second, 1500 * time.Millisecond, 26 * time.Hour, 24 * time.Hour} {
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Errorf("FormatDuration(%v) = %q -> %v, %v", d, FormatDuration(d), back, err)
		}
	}
}

func TestMessageEncode(t *testing.T) {
	m := newMessage(ActAdd, "https://pod.example/alice/inbox/1", "https://pod.example/alice/inbox/", `"7"`, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	js := string(m.JSON())
	for _, want := range []string{`"type":"Add"`, `"target":"https://pod.example/alice/inbox/"`, `"published":"2024-05-01T12:00:00.000Z"`, `"state":"\"7\""`, `"id":"urn:uuid:`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON-LD lacks %s: %s", want, js)
		}
	}
	for _, mt := range []string{"text/turtle", "application/n-triples", "application/n-quads"} {
		b, err := m.Encode(mt)
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		if !strings.Contains(string(b), "https://pod.example/alice/inbox/1") || !strings.Contains(string(b), "activitystreams#Add") && !strings.Contains(string(b), "as:Add") {
			t.Errorf("%s: %s", mt, b)
		}
	}
	if mt, ok := negotiateAccept("application/json"); !ok || mt != "application/ld+json" {
		t.Errorf("negotiate json: %q %v", mt, ok)
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := newID()
		if !validID(id) || seen[id] || url.PathEscape(id) != id {
			t.Fatalf("bad id %q", id)
		}
		seen[id] = true
	}
	if validID("ABC") || validID(strings.Repeat("a", 31)+"1") {
		t.Error("validID accepts bad ids")
	}
}

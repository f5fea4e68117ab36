package acl

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// A Standard Webhooks secret: "whsec_" + base64 of 24 bytes.
const testWebhookSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"

const testSubscriptions = `{
  "@context": "https://w3id.org/podserver/v1",
  "id": "http://h/alice/settings/subscriptions",
  "version": "1",
  "items": [
    {"type": "Subscription", "agent": "https://producer.example/profile/card#me",
     "publishes": ["realestate/contact"]},
    {"type": "Subscription", "agent": "https://crm.example/profile/card#me",
     "subscribes": ["realestate/contact#add"]},
    {"type": "Subscription", "agent": "https://hooks.example/profile/card#me",
     "subscribes": ["realestate/*"], "target": "https://hooks.example/cb", "secret": "` + testWebhookSecret + `"},
    {"@type": "Subscription", "@id": "#dup", "agent": "https://crm.example/profile/card#me",
     "subscribes": ["*"], "publishes": ["crm/*"]},
    {"agent": "https://all.example/profile/card#me", "publishes": ["*"], "subscribes": ["other/x"]}
  ]
}`

func TestParseSubscriptions(t *testing.T) {
	s, err := ParseSubscriptions([]byte(testSubscriptions))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1" || s.ID != "http://h/alice/settings/subscriptions" || string(s.Context) != `"https://w3id.org/podserver/v1"` {
		t.Errorf("document fields: %+v", s)
	}
	if len(s.Items) != 5 {
		t.Fatalf("%d items, want 5", len(s.Items))
	}
	want := SubscriptionItem{
		Type: "Subscription", Agent: "https://hooks.example/profile/card#me",
		Subscribes: []string{"realestate/*"}, Target: "https://hooks.example/cb", Secret: testWebhookSecret,
	}
	if !reflect.DeepEqual(s.Items[2], want) {
		t.Errorf("items[2] = %+v, want %+v", s.Items[2], want)
	}
	if s.Items[3].ID != "#dup" || s.Items[3].Type != "Subscription" {
		t.Errorf("items[3] JSON-LD keys: %+v", s.Items[3])
	}

	// The parsed document marshals back to an equivalent document.
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseSubscriptions(out)
	if err != nil {
		t.Fatalf("re-parse %s: %v", out, err)
	}
	if !reflect.DeepEqual(again, s) {
		t.Errorf("re-parsed = %+v, want %+v", again, s)
	}

	for _, doc := range []string{`{}`, `{"items": []}`, `{"version": "1", "items": null}`, ` {"items":[]} `} {
		s, err := ParseSubscriptions([]byte(doc))
		if err != nil || len(s.Items) != 0 {
			t.Errorf("ParseSubscriptions(%s) = %+v, %v", doc, s, err)
		}
	}
}

func TestSubscriptionsCanPublish(t *testing.T) {
	s, err := ParseSubscriptions([]byte(testSubscriptions))
	if err != nil {
		t.Fatal(err)
	}
	const (
		producer = "https://producer.example/profile/card#me"
		crm      = "https://crm.example/profile/card#me"
		all      = "https://all.example/profile/card#me"
	)
	tests := []struct {
		agent, topic string
		want         bool
	}{
		{producer, "realestate/contact", true},
		{producer, "realestate/contact#add", true},
		{producer, "realestate/contacts#add", false},
		{producer, "realestate/listing#add", false},
		{crm, "realestate/contact#add", false}, // subscribes only, for this topic
		{crm, "crm/lead#add", true},
		{all, "anything/at#all", true},
		{"https://stranger.example/profile/card#me", "realestate/contact", false},
		{"", "realestate/contact", false},
	}
	for _, tt := range tests {
		if got := s.CanPublish(tt.agent, tt.topic); got != tt.want {
			t.Errorf("CanPublish(%q, %q) = %v, want %v", tt.agent, tt.topic, got, tt.want)
		}
	}
	var none *Subscriptions
	if none.CanPublish(producer, "realestate/contact") || none.Subscribers("realestate/contact") != nil {
		t.Error("a nil Subscriptions must allow nothing")
	}
}

func TestSubscriptionsSubscribers(t *testing.T) {
	s, err := ParseSubscriptions([]byte(testSubscriptions))
	if err != nil {
		t.Fatal(err)
	}
	agents := func(items []SubscriptionItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Agent+" "+it.Target)
		}
		return out
	}
	tests := []struct {
		topic string
		want  []string
	}{
		// crm matches through items[1] and items[3]: listed once.
		{"realestate/contact#add", []string{"https://crm.example/profile/card#me ", "https://hooks.example/profile/card#me https://hooks.example/cb"}},
		{"realestate/contact#update", []string{"https://hooks.example/profile/card#me https://hooks.example/cb", "https://crm.example/profile/card#me "}},
		{"other/x", []string{"https://crm.example/profile/card#me ", "https://all.example/profile/card#me "}},
		{"unrelated/topic", []string{"https://crm.example/profile/card#me "}},
	}
	for _, tt := range tests {
		if got := agents(s.Subscribers(tt.topic)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Subscribers(%q) = %q, want %q", tt.topic, got, tt.want)
		}
	}
}

func TestParseSubscriptionsErrors(t *testing.T) {
	item := func(fields string) string { return `{"version":"1","items":[` + fields + `]}` }
	ok := `{"agent":"https://a.example/#me","publishes":["a/b"]}`
	tests := []struct {
		doc, want string
		also      error
	}{
		{``, `settings/subscriptions must be a JSON object`, nil},
		{`null`, `settings/subscriptions must be a JSON object`, nil},
		{`[]`, `settings/subscriptions must be a JSON object`, nil},
		{`{"items": [}`, `settings/subscriptions must be a JSON object`, nil},
		{`{"version": "2"}`, `version must be "1"`, nil},
		{`{"version": 1}`, `version must be "1"`, nil},
		{`{"version": null}`, `version must be "1"`, nil},
		{`{"items": {}}`, `items must be an array`, nil},
		{`{"id": 5}`, `id must be a string`, nil},
		{`{"item": []}`, `unknown field "item"`, nil},
		{item(`"x"`), `items[0] must be an object`, nil},
		{item(ok + `,{"publishes":["a/b"]}`), `items[1].agent is required`, nil},
		{item(ok + `,` + ok + `,{"agent":"mailto:x@example","publishes":["a/b"]}`), `items[2].agent must be an absolute http(s) URI`, nil},
		{item(`{"agent":"/profile/card#me","publishes":["a/b"]}`), `items[0].agent must be an absolute http(s) URI`, nil},
		{item(`{"agent":"https:///card#me","publishes":["a/b"]}`), `items[0].agent must be an absolute http(s) URI`, nil},
		{item(`{"agent":"https://a.example/ x","publishes":["a/b"]}`), `items[0].agent must be an absolute http(s) URI`, nil},
		{item(`{"agent":5,"publishes":["a/b"]}`), `items[0].agent must be a string`, nil},
		{item(`{"agent":null,"publishes":["a/b"]}`), `items[0].agent must be a string`, nil},
		{item(`{"agent":"https://a.example/#me"}`), `items[0] needs publishes or subscribes`, nil},
		{item(`{"agent":"https://a.example/#me","publishes":[],"subscribes":[]}`), `items[0] needs publishes or subscribes`, nil},
		{item(`{"agent":"https://a.example/#me","publishes":"a/b"}`), `items[0].publishes must be an array of strings`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":[1]}`), `items[0].subscribes must be an array of strings`, nil},
		{item(`{"agent":"https://a.example/#me","publishes":null}`), `items[0].publishes must be an array of strings`, nil},
		{item(`{"agent":"https://a.example/#me","publishes":["a/b","x y"]}`),
			`items[0].publishes[1]: invalid topic pattern "x y": must be {domain}/{topic} or {domain}/{topic}#{action}`, ErrInvalidPattern},
		{item(ok + `,{"agent":"https://a.example/#me","subscribes":["a/*/b"]}`),
			`items[1].subscribes[0]: invalid topic pattern "a/*/b": "*" is only allowed alone or as the last segment`, ErrInvalidPattern},
		{item(`{"agent":"https://a.example/#me","publish":["a/b"]}`), `items[0]: unknown field "publish"`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"target":"ftp://x.example/cb"}`), `items[0].target must be an absolute http(s) URL`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"target":"cb"}`), `items[0].target must be an absolute http(s) URL`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"secret":"` + testWebhookSecret + `"}`), `items[0].secret is only allowed with a target`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"target":"https://x.example/cb","secret":"MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"}`),
			`items[0].secret must be "whsec_" followed by base64 of at least 24 bytes`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"target":"https://x.example/cb","secret":"whsec_c2hvcnQ="}`),
			`items[0].secret must be "whsec_" followed by base64 of at least 24 bytes`, nil},
		{item(`{"agent":"https://a.example/#me","subscribes":["a/b"],"target":"https://x.example/cb","secret":"whsec_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}`),
			`items[0].secret must be "whsec_" followed by base64 of at least 24 bytes`, nil},
	}
	for _, tt := range tests {
		_, err := ParseSubscriptions([]byte(tt.doc))
		if err == nil {
			t.Errorf("ParseSubscriptions(%s) succeeded, want %s", tt.doc, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseSubscriptions(%s)\n got %s\nwant %s", tt.doc, err, tt.want)
		}
		if !errors.Is(err, ErrInvalidSubscriptions) {
			t.Errorf("%s: does not match ErrInvalidSubscriptions", err)
		}
		if tt.also != nil && !errors.Is(err, tt.also) {
			t.Errorf("%s: does not match %v", err, tt.also)
		}
		if strings.Contains(err.Error(), "MDEyMzQ1Njc4") {
			t.Errorf("%s: error holds the secret", err)
		}
	}
}

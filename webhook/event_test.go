package webhook

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleEvent() Event {
	return Event{
		ID:      "https://producer.example/prod/publish/5b7c",
		Source:  "https://producer.example/prod/",
		Type:    "realestate/contact#add",
		Subject: "https://user.example/profile/card#me",
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("x", 3600)),
		Data:    json.RawMessage(`{"type": "AddAction", "object": {"name": "Bruce & <Wayne>"}}`),
		Extensions: map[string]string{
			ExtCorrelationID: "c-1",
			ExtCausationID:   "c-0",
		},
	}
}

func TestMarshalEvent(t *testing.T) {
	got, err := sampleEvent().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"specversion":"1.0","id":"https://producer.example/prod/publish/5b7c","source":"https://producer.example/prod/",` +
		`"type":"realestate/contact#add","subject":"https://user.example/profile/card#me","datacontenttype":"application/json",` +
		`"time":"2026-01-02T02:04:05.6Z","causationid":"c-0","correlationid":"c-1",` +
		`"data":{"type": "AddAction", "object": {"name": "Bruce & <Wayne>"}}}`
	if string(got) != want {
		t.Fatalf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Fatal("not JSON")
	}
	// Through json.Marshal: compacted and HTML-escaped, the same JSON.
	viaMarshal, err := json.Marshal(sampleEvent())
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(got, &a)
	_ = json.Unmarshal(viaMarshal, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("json.Marshal gives other JSON: %s", viaMarshal)
	}
	if MediaType != "application/cloudevents+json; charset=utf-8" {
		t.Fatal(MediaType)
	}
}

func TestEventRoundTrip(t *testing.T) {
	e := sampleEvent()
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	e.SpecVersion, e.DataContentType = SpecVersion, "application/json"
	if !back.Time.Equal(e.Time) {
		t.Fatalf("time %s, want %s", back.Time, e.Time)
	}
	back.Time = e.Time
	if !reflect.DeepEqual(*back, e) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", *back, e)
	}
	// Minimal event: no optional members.
	b, err = json.Marshal(Event{ID: "1", Source: "/s", Type: "t"})
	if err != nil || string(b) != `{"specversion":"1.0","id":"1","source":"/s","type":"t"}` {
		t.Fatalf("minimal event %s, %v", b, err)
	}
}

func TestEventValidation(t *testing.T) {
	ok := sampleEvent()
	tests := []struct {
		name   string
		mutate func(e *Event)
		valid  bool
	}{
		{"sample", func(*Event) {}, true},
		{"20-char extension", func(e *Event) { e.Extensions = map[string]string{"abcdefghij0123456789": "x"} }, true},
		{"21-char extension", func(e *Event) { e.Extensions = map[string]string{"abcdefghij0123456789x": "x"} }, false},
		{"upper-case extension", func(e *Event) { e.Extensions = map[string]string{"correlationId": "x"} }, false},
		{"underscore extension", func(e *Event) { e.Extensions = map[string]string{"correlation_id": "x"} }, false},
		{"empty extension name", func(e *Event) { e.Extensions = map[string]string{"": "x"} }, false},
		{"reserved extension name", func(e *Event) { e.Extensions = map[string]string{"subject": "x"} }, false},
		{"data extension name", func(e *Event) { e.Extensions = map[string]string{"data": "x"} }, false},
		{"no id", func(e *Event) { e.ID = "" }, false},
		{"no source", func(e *Event) { e.Source = "" }, false},
		{"no type", func(e *Event) { e.Type = "" }, false},
		{"other spec version", func(e *Event) { e.SpecVersion = "0.3" }, false},
		{"data not JSON", func(e *Event) { e.Data = json.RawMessage(`{"a":`) }, false},
	}
	for _, tt := range tests {
		e := ok
		tt.mutate(&e)
		_, err := json.Marshal(e)
		if tt.valid != (err == nil) {
			t.Errorf("%s: Marshal error %v, want valid=%v", tt.name, err, tt.valid)
		}
		if err != nil && !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: %v does not wrap ErrBadEvent", tt.name, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{}`,
		`{"id":"1","source":"/s","type":"t"}`,
		`{"specversion":"0.3","id":"1","source":"/s","type":"t"}`,
		`{"specversion":"1.0","id":1,"source":"/s","type":"t"}`,
		`{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}`,
		`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AA=="}`,
		`{"specversion":"1.0","id":"1","source":"/s","type":"t","Bad":"x"}`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrBadEvent) {
			t.Errorf("Parse(%s) = %v, want ErrBadEvent", in, err)
		}
	}
	e, err := Parse([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","n":42,"b":true}`))
	if err != nil || e.Extensions["n"] != "42" || e.Extensions["b"] != "true" {
		t.Fatalf("non-string extensions: %+v, %v", e, err)
	}
}

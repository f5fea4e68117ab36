package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// MediaType is the media type of a CloudEvent in structured JSON mode.
const MediaType = "application/cloudevents+json; charset=utf-8"

// SpecVersion is the CloudEvents version of the events this package makes.
const SpecVersion = "1.0"

// Extension attribute names podserver uses.
const (
	ExtCorrelationID = "correlationid"
	ExtCausationID   = "causationid"
)

// reservedAttributes are the context attributes of CloudEvents 1.0 and the
// data member, which extensions cannot be named.
var reservedAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true,
	"subject": true, "time": true, "datacontenttype": true, "dataschema": true,
	"data": true, "data_base64": true,
}

// Event is a CloudEvents 1.0 event. MarshalJSON writes it in structured
// JSON mode (the JSON Event Format), extensions as top-level members.
type Event struct {
	// SpecVersion is "1.0"; empty means "1.0".
	SpecVersion string
	// ID identifies the event within its source (required).
	ID string
	// Source is a URI reference naming the context the event happened in
	// (required).
	Source string
	// Type is the kind of event (required); podserver uses the topic.
	Type string
	// Subject is what the event is about, within the source (optional).
	Subject string
	// Time is when the event happened; the zero time omits it.
	Time time.Time
	// DataContentType is the media type of Data; empty with Data set means
	// "application/json".
	DataContentType string
	// Data is the event payload, a JSON value (optional).
	Data json.RawMessage
	// Extensions are extension attributes with string values, such as
	// correlationid and causationid. Names are 1-20 lower-case ASCII
	// letters or digits and not a context attribute name.
	Extensions map[string]string
}

// ValidAttributeName reports whether name can name a CloudEvents extension
// attribute: 1 to 20 lower-case ASCII letters or digits, and not one of the
// context attributes or "data".
func ValidAttributeName(name string) bool {
	if name == "" || len(name) > 20 || reservedAttributes[name] {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Validate checks the required attributes, the data and the extension
// names.
func (e *Event) Validate() error {
	if e.SpecVersion != "" && e.SpecVersion != SpecVersion {
		return fmt.Errorf("%w: specversion %q is not %q", ErrBadEvent, e.SpecVersion, SpecVersion)
	}
	if e.ID == "" || e.Source == "" || e.Type == "" {
		return fmt.Errorf("%w: id, source and type are required", ErrBadEvent)
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return fmt.Errorf("%w: data is not JSON", ErrBadEvent)
	}
	for name := range e.Extensions {
		if !ValidAttributeName(name) {
			return fmt.Errorf("%w: extension name %q must be 1-20 lower-case letters or digits and not a context attribute", ErrBadEvent, name)
		}
	}
	return nil
}

// MarshalJSON writes the event in structured JSON mode: the context
// attributes in a fixed order, the extensions sorted by name, then data as
// given. json.Marshal of an Event compacts and HTML-escapes this output
// (the same JSON); call MarshalJSON directly to send exactly these bytes.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	member := func(name string, value []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(jsonString(name))
		b.WriteByte(':')
		b.Write(value)
	}
	contentType := e.DataContentType
	if contentType == "" && len(e.Data) > 0 {
		contentType = "application/json"
	}
	members := []struct {
		name, value string
	}{
		{"specversion", SpecVersion}, {"id", e.ID}, {"source", e.Source}, {"type", e.Type},
		{"subject", e.Subject}, {"datacontenttype", contentType},
	}
	if !e.Time.IsZero() {
		members = append(members, struct{ name, value string }{"time", e.Time.UTC().Format(time.RFC3339Nano)})
	}
	names := make([]string, 0, len(e.Extensions))
	for name := range e.Extensions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		members = append(members, struct{ name, value string }{name, e.Extensions[name]})
	}
	for _, m := range members {
		if m.value != "" {
			member(m.name, jsonString(m.value))
		}
	}
	if len(e.Data) > 0 {
		member("data", bytes.TrimSpace(e.Data))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonString encodes s as a JSON string without escaping <, > and &, which
// would make URLs in events needlessly hard to read.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Parse reads an event in structured JSON mode. Extension attributes of
// other types than string keep their JSON text. data_base64 (binary data)
// is not supported.
func Parse(data []byte) (*Event, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	e := &Event{}
	str := func(name string) (string, error) {
		raw, ok := members[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a string", ErrBadEvent, name)
		}
		return s, nil
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"specversion", &e.SpecVersion}, {"id", &e.ID}, {"source", &e.Source}, {"type", &e.Type},
		{"subject", &e.Subject}, {"datacontenttype", &e.DataContentType},
	} {
		if *f.dst, err = str(f.name); err != nil {
			return nil, err
		}
	}
	t, err := str("time")
	if err != nil {
		return nil, err
	}
	if t != "" {
		if e.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return nil, fmt.Errorf("%w: time: %w", ErrBadEvent, err)
		}
	}
	if _, ok := members["data_base64"]; ok {
		return nil, fmt.Errorf("%w: data_base64 is not supported", ErrBadEvent)
	}
	if raw, ok := members["data"]; ok {
		e.Data = raw
	}
	for name, raw := range members {
		if reservedAttributes[name] {
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]string{}
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			e.Extensions[name] = s
		} else {
			e.Extensions[name] = strings.TrimSpace(string(raw))
		}
	}
	if e.SpecVersion == "" {
		return nil, fmt.Errorf("%w: specversion is required", ErrBadEvent)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

package notify

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"podserver/apierr"
	"podserver/jsoncheck"
	"podserver/rdf"
)

// contextAliases are the context URIs a subscription request may name for
// the notification vocabulary: the one the rdf package serves and the one
// Solid Notifications 0.3 names.
var contextAliases = []string{
	rdf.NotificationContextURI,
	"https://www.w3.org/ns/solid/notifications-context/v1",
}

// otherContexts may appear in a request's @context besides a notification
// context; they define no term the request uses differently.
var otherContexts = []string{rdf.ActivityStreamsContextURI}

// Request is a parsed subscription request: the channel the client asks for.
type Request struct {
	// Type is the channel type (TypeWebSocket, ...).
	Type string
	// Topic is the absolute URL of the resource to watch.
	Topic string
	// SendTo is where push channels post notifications ("" otherwise).
	SendTo string
	// StartAt and EndAt bound the channel's life (zero: not given).
	StartAt, EndAt time.Time
	// Rate is the minimum time between notifications (0: none).
	Rate time.Duration
	// State is the client's last known state (ETag) of the topic.
	State string
	// Accept is the accept feature as sent ("" when not given).
	Accept string
}

// MaxRequestBytes bounds a subscription request body.
const MaxRequestBytes = 64 << 10

// ParseRequest parses a subscription request: its Content-Type header and
// body. Errors are *apierr.Error values: 415 for a media type or profile
// other than JSON-LD with the notification context, 422 for a body that
// does not describe a channel. It checks the shape of each field; whether
// the topic is on this server and the subscriber may read it is for the
// caller.
func ParseRequest(contentType string, body []byte) (*Request, error) {
	if err := checkContentType(contentType); err != nil {
		return nil, err
	}
	if err := jsoncheck.Check(body); err != nil {
		return nil, apierr.Wrap(errInvalidJSON.Status, errInvalidJSON.Msg+": "+err.Error(), err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, errNotJSON
	}
	if dec.More() {
		return nil, errNotJSON
	}
	if err := checkContext(doc["@context"]); err != nil {
		return nil, err
	}
	var r Request
	var err error
	if r.Type, err = channelTypeOf(doc); err != nil {
		return nil, err
	}
	topic, found, ok := iriValue(field(doc, "topic"))
	if !found || !ok || !validTopic(topic) {
		return nil, errTopic
	}
	r.Topic = topic
	if v := field(doc, "sendTo"); v != nil {
		s, found, ok := iriValue(v)
		if !found || !ok || !validTarget(s) {
			return nil, errSendTo
		}
		r.SendTo = s
	}
	t, _ := typeByName(r.Type)
	switch {
	case t.push && r.SendTo == "":
		return nil, errSendToMissing
	case !t.push && r.SendTo != "":
		return nil, errSendToUnexpected
	}
	if v := field(doc, "startAt"); v != nil {
		s, ok := literal(v)
		if r.StartAt, err = parseDateTime(s); !ok || err != nil {
			return nil, errStartAt
		}
	}
	if v := field(doc, "endAt"); v != nil {
		s, ok := literal(v)
		if r.EndAt, err = parseDateTime(s); !ok || err != nil {
			return nil, errEndAt
		}
		if !r.StartAt.IsZero() && !r.EndAt.After(r.StartAt) {
			return nil, errEndAt
		}
	}
	if v := field(doc, "rate"); v != nil {
		s, ok := literal(v)
		if r.Rate, err = ParseDuration(s); !ok || err != nil {
			return nil, errRate
		}
	}
	if v := field(doc, "state"); v != nil {
		s, ok := literal(v)
		if !ok || len(s) > 256 {
			return nil, errState
		}
		r.State = s
	}
	if v := field(doc, "accept"); v != nil {
		s, ok := literal(v)
		if !ok || len(s) > 1024 {
			return nil, errAccept
		}
		if _, ok := negotiateAccept(s); !ok {
			return nil, errAccept
		}
		r.Accept = s
	}
	return &r, nil
}

// checkContentType accepts application/ld+json (and application/json) with
// no profile or a notification context as profile.
func checkContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/ld+json" && mt != "application/json") {
		return errMediaType
	}
	if p, ok := params["profile"]; ok {
		for _, u := range strings.Fields(p) {
			if !knownContext(u, contextAliases) {
				return errProfile
			}
		}
	}
	return nil
}

// knownContext reports whether u is one of list, ignoring the http/https
// difference and a trailing slash.
func knownContext(u string, list []string) bool {
	u = strings.TrimSuffix(u, "/")
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		u = "https://" + rest
	}
	for _, c := range list {
		if u == c {
			return true
		}
	}
	return false
}

// checkContext requires a notification context and refuses contexts the
// server does not know: the request's terms are then read as plain JSON
// keys, which the known contexts define as the specification says.
func checkContext(v any) error {
	var list []any
	switch v := v.(type) {
	case nil:
		return errContextMissing
	case string:
		list = []any{v}
	case []any:
		list = v
	default:
		return errContextInline
	}
	found := false
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return errContextInline
		}
		switch {
		case knownContext(s, contextAliases):
			found = true
		case knownContext(s, otherContexts):
		default:
			return errUnknownContext(s)
		}
	}
	if !found {
		return errContextMissing
	}
	return nil
}

// field returns the value of a term, given by its name, as a notify:
// compact IRI or as a full IRI.
func field(doc map[string]any, name string) any {
	for _, k := range []string{name, "notify:" + name, NS + name} {
		if v, ok := doc[k]; ok {
			return v
		}
	}
	return nil
}

// channelTypeOf reads "type" (or "@type"): exactly one known channel type,
// by name, compact or full IRI. Other types may be listed besides it.
func channelTypeOf(doc map[string]any) (string, error) {
	v, ok := doc["type"]
	if !ok {
		v = doc["@type"]
	}
	var list []any
	switch v := v.(type) {
	case string:
		list = []any{v}
	case []any:
		list = v
	default:
		return "", errTypeMissing
	}
	found := ""
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return "", errTypeMissing
		}
		name := s
		for _, p := range []string{"notify:", NS, "http://www.w3.org/ns/solid/notification#"} {
			name = strings.TrimPrefix(name, p)
		}
		if _, ok := typeByName(name); ok {
			if found != "" && found != name {
				return "", errTypeMissing
			}
			found = name
		}
	}
	if found == "" {
		return "", errTypeMissing
	}
	return found, nil
}

// iriValue reads an IRI-valued term: a string, {"@id": string}, or a
// one-element array of either. found is false when v is nil; ok is false
// when it has another shape (or several values).
func iriValue(v any) (s string, found, ok bool) {
	switch v := v.(type) {
	case nil:
		return "", false, false
	case string:
		return v, true, true
	case map[string]any:
		s, ok := v["@id"].(string)
		return s, true, ok
	case []any:
		if len(v) != 1 {
			return "", true, false
		}
		return iriValue(v[0])
	}
	return "", true, false
}

// literal reads a literal-valued term: a string or {"@value": string}.
func literal(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case map[string]any:
		s, ok := v["@value"].(string)
		return s, ok
	case []any:
		if len(v) == 1 {
			return literal(v[0])
		}
	}
	return "", false
}

// validTopic: an absolute http(s) URL without fragment or user info.
func validTopic(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 4096 && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && u.User == nil && u.Fragment == "" && !strings.HasSuffix(s, "#") && u.RawQuery == "" && !u.ForceQuery
}

// validTarget: an absolute http(s) URL without fragment or user info.
func validTarget(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2048 && (u.Scheme == "http" || u.Scheme == "https") &&
		u.Host != "" && u.User == nil && u.Fragment == "" && !strings.HasSuffix(s, "#")
}

// parseDateTime parses an xsd:dateTime; one without a time zone is UTC.
func parseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// maxRate bounds the rate feature.
const maxRate = 365 * 24 * time.Hour

// ParseDuration parses an xsd:duration made of weeks, days, hours, minutes
// and seconds (P1W, P2D, PT1H30M, PT0.5S; letters in either case). Years
// and months, whose length varies, and negative durations are refused, as
// are durations over 365 days.
func ParseDuration(s string) (time.Duration, error) {
	bad := &durationError{s}
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "P")
	if !ok || rest == "" || rest == "T" {
		return 0, bad
	}
	var total float64
	inTime := false
	order := "WD" // units allowed next, in order
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime, order, rest = true, "HMS", rest[1:]
			if rest == "" {
				return 0, bad
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) || i > 20 {
			return 0, bad
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, bad
		}
		unit := rest[i]
		j := strings.IndexByte(order, unit)
		if j < 0 || (unit != 'S' && strings.Contains(rest[:i], ".")) {
			return 0, bad
		}
		order = order[j+1:]
		rest = rest[i+1:]
		var d float64
		switch unit {
		case 'W':
			d = float64(7 * 24 * time.Hour)
		case 'D':
			d = float64(24 * time.Hour)
		case 'H':
			d = float64(time.Hour)
		case 'M':
			d = float64(time.Minute)
		case 'S':
			d = float64(time.Second)
		}
		total += n * d
		if total > float64(maxRate) {
			return 0, bad
		}
	}
	return time.Duration(total), nil
}

type durationError struct{ s string }

func (e *durationError) Error() string { return "invalid xsd:duration " + strconv.Quote(e.s) }

// FormatDuration writes d as an xsd:duration (PT10S, PT1M30S, P1DT2H).
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
	}
	if d == 0 {
		return b.String()
	}
	b.WriteByte('T')
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S")
	}
	return b.String()
}

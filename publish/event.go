package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"podserver/acl"
	"podserver/inbox"
	"podserver/jsoncheck"
	"podserver/rdf"
)

// Publish limits.
const (
	// DefaultMaxDataBytes bounds an event's data when settings/publish
	// sets no limit.
	DefaultMaxDataBytes = 64 << 10
	// MaxEvents bounds the events of one array body.
	MaxEvents = 100
	// maxDelay bounds delay and deliverAt.
	maxDelay = 365 * 24 * time.Hour
	// maxIDField bounds correlationId and causationId.
	maxIDField = 256
)

// Limits are a pod's publish limits, from its settings/publish.
type Limits struct {
	// MaxDataBytes bounds the JSON text of data (whitespace outside
	// strings not counted).
	MaxDataBytes int
	// SnakeCaseKeys asks every key in data to be lower-case snake_case
	// ("dataKeys": "snake_case").
	SnakeCaseKeys bool
}

// DefaultLimits returns the limits that apply when a pod has no
// settings/publish.
func DefaultLimits() Limits { return Limits{MaxDataBytes: DefaultMaxDataBytes} }

// Event is one decoded, validated event of a publish body.
type Event struct {
	// Raw is the event's JSON text as sent.
	Raw []byte
	// Recipient and Source are WebIDs; Source may be empty.
	Recipient, Source string
	// Topic is the validated topic.
	Topic string
	// ClientID is the client's id normalised to 32 lower-case hex digits,
	// "" when the client sent none.
	ClientID string
	// HasCorrelation is true when the client sent correlationId.
	HasCorrelation bool
	// Delay holds delivery back: from received_at (delay), or until
	// DeliverAt.
	Delay     time.Duration
	DeliverAt time.Time
	// JSONLD is true when the event uses JSON-LD keywords, so it was
	// validated by expansion.
	JSONLD bool

	// members are the client's members to store, raw, in order.
	members []member
}

type member struct{ key, val []byte }

// bodyError is a validation failure; index is the array index, -1 for an
// object body.
type bodyError struct {
	index int
	msg   string
}

func (e *bodyError) Error() string {
	if e.index < 0 {
		return e.msg
	}
	return "events[" + strconv.Itoa(e.index) + "]: " + e.msg
}

// field bits, for duplicate detection.
const (
	fRecipient = 1 << iota
	fSource
	fTopic
	fData
	fID
	fTimestamp
	fCorrelation
	fCausation
	fDelay
	fDeliverAt
)

// Decode reads a publish body: one event object, or an array of 1 to
// MaxEvents of them. It checks every rule of DESIGN section 4 except those
// that need the store (authorization, idempotency) and returns the events
// and whether the body was an array. base is the URL relative IRIs resolve
// against when an event is validated as JSON-LD; now bounds deliverAt.
//
// Validation is structural and cheap: JSON syntax, the fields and their
// types and formats, data's size and key case. An event whose text contains
// `"@` (a JSON-LD keyword such as @context or @id, or a value starting with
// @) is also expanded as JSON-LD (rdf.ExpandJSONLD), which catches bad
// contexts; any other event is plain JSON read with podserver's context,
// where every key maps to an IRI and every value to a literal or an IRI, so
// it is valid JSON-LD by construction and is not expanded.
func Decode(body []byte, lim Limits, base string, now time.Time) ([]Event, bool, error) {
	if lim.MaxDataBytes <= 0 {
		lim.MaxDataBytes = DefaultMaxDataBytes
	}
	if err := jsoncheck.Check(body); err != nil {
		return nil, false, &bodyError{-1, MsgBadJSON + err.Error()}
	}
	if !json.Valid(body) {
		return nil, false, &bodyError{-1, MsgBadJSON + syntaxError(body)}
	}
	i := skipWS(body, 0)
	switch body[i] {
	case '{':
		end := skipValue(body, i)
		ev, err := decodeEvent(body[i:end], lim, base, now)
		if err != nil {
			return nil, false, &bodyError{-1, err.Error()}
		}
		return []Event{ev}, false, nil
	case '[':
	default:
		return nil, false, &bodyError{-1, MsgBodyShape}
	}
	var evs []Event
	ids := map[string]bool{}
	_, err := eachElement(body, i, func(val []byte) error {
		n := len(evs)
		if n == MaxEvents {
			return &bodyError{-1, MsgTooManyEvents}
		}
		if val[0] != '{' {
			return &bodyError{n, MsgNotObject}
		}
		ev, err := decodeEvent(val, lim, base, now)
		if err != nil {
			return &bodyError{n, err.Error()}
		}
		if ev.ClientID != "" {
			if ids[ev.ClientID] {
				return &bodyError{n, fmt.Sprintf(MsgDuplicateID, ev.ClientID)}
			}
			ids[ev.ClientID] = true
		}
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		return nil, true, err
	}
	if len(evs) == 0 {
		return nil, true, &bodyError{-1, MsgEmptyArray}
	}
	return evs, true, nil
}

// msgErr is a plain validation message, prefixed by the caller.
type msgErr string

func (e msgErr) Error() string { return string(e) }

func msgf(format string, args ...any) error { return msgErr(fmt.Sprintf(format, args...)) }

// decodeEvent validates one event object.
func decodeEvent(raw []byte, lim Limits, base string, now time.Time) (Event, error) {
	ev := Event{Raw: raw, members: make([]member, 0, 8)}
	var seen int
	once := func(bit int, name string) error {
		if seen&bit != 0 {
			return msgf(MsgDuplicateField, name)
		}
		seen |= bit
		return nil
	}
	var hasDelay, hasDeliverAt bool
	_, err := eachMember(raw, 0, func(rk, val []byte) error {
		k, _ := unquote(rk)
		keep := true
		var err error
		switch k {
		case "recipient":
			if err = once(fRecipient, k); err == nil {
				ev.Recipient, err = webID(val, MsgBadRecipient)
			}
		case "source":
			if err = once(fSource, k); err == nil {
				ev.Source, err = webID(val, MsgBadSource)
			}
		case "topic":
			if err = once(fTopic, k); err != nil {
				break
			}
			s, ok := unquote(val)
			if !ok {
				return msgErr(MsgBadTopicType)
			}
			if err := acl.ValidateTopic(s); err != nil {
				return msgErr(err.Error())
			}
			ev.Topic = s
		case "data":
			if err = once(fData, k); err == nil {
				err = checkData(val, lim)
			}
		case "id":
			if err = once(fID, k); err != nil {
				break
			}
			s, ok := unquote(val)
			if ev.ClientID, ok = normalizeUUID(s, ok); !ok {
				return msgErr(MsgBadID)
			}
			keep = false // the server writes id (the event's URL)
		case "timestamp":
			if err = once(fTimestamp, k); err != nil {
				break
			}
			s, ok := unquote(val)
			if _, perr := time.Parse(time.RFC3339Nano, s); !ok || perr != nil {
				return msgErr(MsgBadTimestamp)
			}
		case "correlationId", "causationId":
			bit := fCorrelation
			if k == "causationId" {
				bit = fCausation
			}
			if err = once(bit, k); err != nil {
				break
			}
			s, ok := unquote(val)
			if !ok || s == "" || len(s) > maxIDField {
				return msgf(MsgBadCorrelation, k)
			}
			ev.HasCorrelation = ev.HasCorrelation || k == "correlationId"
		case "delay":
			if err = once(fDelay, k); err != nil {
				break
			}
			f, perr := strconv.ParseFloat(string(val), 64)
			if val[0] == '"' || perr != nil || f < 0 || f > maxDelay.Seconds() {
				return msgErr(MsgBadDelay)
			}
			ev.Delay, hasDelay = time.Duration(f*float64(time.Second)), true
		case "deliverAt":
			if err = once(fDeliverAt, k); err != nil {
				break
			}
			s, ok := unquote(val)
			t, perr := time.Parse(time.RFC3339Nano, s)
			if !ok || perr != nil || t.After(now.Add(maxDelay)) {
				return msgErr(MsgBadDeliverAt)
			}
			ev.DeliverAt, hasDeliverAt = t, true
		case "agent", "instrument", "received_at":
			keep = false // set by the server
		case "type", "@type", "@context":
		default:
			return msgf(MsgUnknownField, k)
		}
		if err != nil {
			return err
		}
		if keep {
			ev.members = append(ev.members, member{rk, val})
		}
		return nil
	})
	if err != nil {
		return ev, err
	}
	switch {
	case seen&fRecipient == 0:
		return ev, msgErr(MsgNoRecipient)
	case seen&fTopic == 0:
		return ev, msgErr(MsgNoTopic)
	case seen&fData == 0:
		return ev, msgErr(MsgNoData)
	case hasDelay && hasDeliverAt:
		return ev, msgErr(MsgDelayAndDeliverAt)
	}
	if bytes.Contains(raw, []byte(`"@`)) {
		ev.JSONLD = true
		if err := rdf.ExpandJSONLD(raw, base); err != nil {
			return ev, msgErr(MsgInvalidJSONLD + err.Error())
		}
	}
	return ev, nil
}

// webID reads a WebID field: a string holding an absolute http(s) URI.
func webID(val []byte, msg string) (string, error) {
	s, ok := unquote(val)
	if !ok || !absoluteHTTP(s) {
		return "", msgErr(msg)
	}
	return s, nil
}

// absoluteHTTP reports whether s is an absolute http(s) URI with a host.
func absoluteHTTP(s string) bool {
	if len(s) > 2048 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != ""
}

// checkData checks data against the limits.
func checkData(val []byte, lim Limits) error {
	if val[0] != '{' {
		return msgErr(MsgDataNotObject)
	}
	if n := len(val); n > lim.MaxDataBytes {
		var buf bytes.Buffer
		buf.Grow(n)
		_ = json.Compact(&buf, val)
		if buf.Len() > lim.MaxDataBytes {
			return msgf(MsgDataTooLarge, buf.Len(), lim.MaxDataBytes)
		}
	}
	if lim.SnakeCaseKeys {
		if err := checkKeys(val); err != nil {
			if ke, ok := err.(errKeyCase); ok {
				return msgf(MsgDataKeyCase, ke.key)
			}
			return err
		}
	}
	return nil
}

// normalizeUUID returns s, a UUID in its 36-character form or as 32 hex
// digits in any case, as 32 lower-case hex digits.
func normalizeUUID(s string, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}

// hash identifies an event's content for idempotent retries: the SHA-256 of
// its compacted JSON text, so whitespace does not matter.
func (ev *Event) hash() [sha256.Size]byte {
	var buf bytes.Buffer
	buf.Grow(len(ev.Raw))
	if err := json.Compact(&buf, ev.Raw); err != nil {
		return sha256.Sum256(ev.Raw)
	}
	return sha256.Sum256(buf.Bytes())
}

// Due returns when the event may be delivered, given its received time.
func (ev *Event) Due(received time.Time) time.Time {
	switch {
	case !ev.DeliverAt.IsZero():
		return ev.DeliverAt
	case ev.Delay > 0:
		return received.Add(ev.Delay)
	}
	return received
}

// timeLayout is received_at's format: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendStored appends the stored form of ev: the server fields first (id,
// agent, instrument, received_at, and correlationId when the client sent
// none), then the client's members as sent, without id, agent, instrument
// and received_at.
func (ev *Event) appendStored(b []byte, id, agent, instrument string, received time.Time) []byte {
	b = append(b, `{"id":`...)
	b = inbox.AppendJSONString(b, id)
	b = append(b, `,"agent":`...)
	b = inbox.AppendJSONString(b, agent)
	b = append(b, `,"instrument":`...)
	b = inbox.AppendJSONString(b, instrument)
	b = append(b, `,"received_at":"`...)
	b = received.UTC().AppendFormat(b, timeLayout)
	b = append(b, '"')
	if !ev.HasCorrelation {
		b = append(b, `,"correlationId":`...)
		b = inbox.AppendJSONString(b, id)
	}
	for _, m := range ev.members {
		b = append(b, ',')
		b = append(b, m.key...)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"sync"

	"podserver/rdf"
)

// The entries of the app-facing listing (see doc.go, "Listing"). The
// listing is JSON-LD under rdf.ListingContextURL, whose "contains" makes
// each entry's "url" its @id and its "id" pod:event, so an entry's data
// hangs off the item's IRI. Two shapes:
//
//   - flat, {"url": item, ...the item's members}, for an item that is plain
//     JSON under podserver's context (an event copy): no JSON-LD keyword
//     but a top-level "@context" naming podserver's context, no "url" of
//     its own, and no relative "id" anywhere (it would name a node of the
//     listing, such as the inbox, and not of the item's document);
//   - wrapped, {"url": item, "agent", "instrument", "received_at",
//     "notification": the item as sent}, for any other notification:
//     "notification" is a JSON literal, so none of its statements can land
//     on the listing's nodes.
//
// For an item stored as sent (it has a Sender), the server's fields come
// from the Sender: "agent" and (when the sender used an app) "instrument"
// replace the item's own; "received_at" is the item's own (an event's, as
// its publishing server recorded it) or else the arrival time here.

// member is a top-level member of a JSON object, its value raw.
type member struct {
	key string
	raw json.RawMessage
}

// objectMembers returns the members of a JSON object in order; ok is
// false when body is not an object.
func objectMembers(body []byte) ([]member, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, false
		}
		out = append(out, member{k, raw})
	}
	return out, true
}

// plainValue reports whether raw holds no JSON-LD keyword and no relative
// "id" at any depth.
func plainValue(raw []byte) bool {
	if !bytes.Contains(raw, []byte(`"@`)) && !bytes.Contains(raw, []byte(`"id"`)) {
		return true
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	type frame struct{ object, expectKey bool }
	var stack []frame
	key := ""
	for {
		t, err := d.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch v := t.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, frame{object: v == '{', expectKey: v == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if top != nil && top.object && top.expectKey {
				if len(v) > 0 && v[0] == '@' {
					return false
				}
				key, top.expectKey = v, false
				continue
			}
			if top != nil && top.object && key == "id" {
				if u, err := url.Parse(v); err != nil || !u.IsAbs() {
					return false
				}
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
}

// flatMembers returns the members of an item that can be listed flat, and
// whether it can.
func flatMembers(body []byte) ([]member, bool) {
	ms, ok := objectMembers(body)
	if !ok {
		return nil, false
	}
	for _, m := range ms {
		switch {
		case m.key == "@context":
			if !rdf.IsPodserverContext(m.raw) {
				return nil, false
			}
		case m.key == "url", len(m.key) > 0 && m.key[0] == '@':
			return nil, false
		case !plainValue(m.raw):
			return nil, false
		case m.key == "id":
			var s string
			if json.Unmarshal(m.raw, &s) != nil {
				return nil, false
			}
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				return nil, false
			}
		}
	}
	return ms, true
}

// flatCache remembers which bodies of server-written copies can be listed
// flat: the copies of one event in a thousand inboxes hold the same bytes,
// and deciding it parses the whole body. It is bounded by the bytes of
// its keys, and emptied when full. The zero value is ready; nil caches
// nothing.
type flatCache struct {
	mu    sync.Mutex
	m     map[string]bool
	bytes int
}

// Bounds of a flatCache: the bytes of all its keys, and of one.
const (
	flatCacheBytes = 4 << 20
	flatCacheBody  = 64 << 10
)

// flat reports whether body, a copy the server wrote whole (no Sender, no
// "@context"), is listed flat (flatMembers).
func (fc *flatCache) flat(body []byte) bool {
	if fc == nil || len(body) > flatCacheBody {
		_, ok := flatMembers(body)
		return ok
	}
	fc.mu.Lock()
	ok, hit := fc.m[string(body)]
	fc.mu.Unlock()
	if hit {
		return ok
	}
	_, ok = flatMembers(body)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.m == nil || fc.bytes+len(body) > flatCacheBytes {
		fc.m, fc.bytes = map[string]bool{}, 0
	}
	fc.m[string(body)] = ok
	fc.bytes += len(body)
	return ok
}

// appendEntry appends the listing entry of item it, whose URL is u; fc,
// if not nil, caches the shape of server-written copies.
func appendEntry(b []byte, u string, it Item, fc *flatCache) []byte {
	b = append(b, `{"url":`...)
	b = AppendJSONString(b, u)
	if it.Sender == nil && !bytes.Contains(it.Body, []byte(`"@context"`)) && fc.flat(it.Body) {
		// A copy the server wrote whole: its members as stored.
		if body := bytes.TrimSpace(it.Body); len(body) > 2 {
			b = append(b, ',')
			return append(b, body[1:]...)
		}
		return append(b, '}')
	}
	var ms []member
	flat := false
	if !rdfNotification(it.MediaType) {
		ms, flat = flatMembers(it.Body)
	}
	received := it.Arrived.UTC().Format(receivedLayout)
	if !flat {
		if it.Sender != nil {
			b = appendSender(b, it.Sender)
			b = append(b, `,"received_at":`...)
			b = AppendJSONString(b, received)
		}
		b = append(b, `,"notification":`...)
		body := it.Body
		if rdfNotification(it.MediaType) {
			body = rdfAsJSONLD(it, u)
		}
		var cb bytes.Buffer
		if json.Compact(&cb, body) != nil {
			return append(append(b, "null"...), '}')
		}
		return append(append(b, cb.Bytes()...), '}')
	}
	skip := map[string]bool{"@context": true}
	if it.Sender != nil {
		b = appendSender(b, it.Sender)
		skip["agent"] = true
		if it.Sender.Instrument != "" {
			skip["instrument"] = true
		}
		own := false
		for _, m := range ms {
			own = own || m.key == "received_at"
		}
		if !own {
			b = append(b, `,"received_at":`...)
			b = AppendJSONString(b, received)
		}
	}
	var cb bytes.Buffer
	for _, m := range ms {
		if skip[m.key] {
			continue
		}
		b = append(b, ',')
		b = AppendJSONString(b, m.key)
		b = append(b, ':')
		cb.Reset()
		_ = json.Compact(&cb, m.raw) // raw came from the decoder: valid JSON
		b = append(b, cb.Bytes()...)
	}
	return append(b, '}')
}

// rdfAsJSONLD returns the graph of an item stored in an RDF text format,
// whose URL is u, as JSON-LD (IRIs absolute: its relative ones resolved
// against u, as a GET of the item resolves them); nil when it no longer
// reads.
func rdfAsJSONLD(it Item, u string) []byte {
	q, err := rdf.Parse(it.MediaType, it.Body, u)
	if err != nil {
		return nil
	}
	var buf bytes.Buffer
	if rdf.WriteJSONLD(&buf, q, u) != nil {
		return nil
	}
	return buf.Bytes()
}

func appendSender(b []byte, s *Sender) []byte {
	b = append(b, `,"agent":`...)
	b = AppendJSONString(b, s.Agent)
	if s.Instrument != "" {
		b = append(b, `,"instrument":`...)
		b = AppendJSONString(b, s.Instrument)
	}
	return b
}

// receivedLayout is received_at's format: RFC 3339, UTC, milliseconds (as
// publish writes it).
const receivedLayout = "2006-01-02T15:04:05.000Z07:00"

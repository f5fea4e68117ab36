package rdf

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// writeJSON pretty-prints a decoded JSON value with two-space indentation,
// object keys in a reader-friendly order (see jsonKeyOrder).
func writeJSON(buf *bytes.Buffer, v any, depth int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteString("{\n")
		for i, k := range jsonKeyOrder(v) {
			if i > 0 {
				buf.WriteString(",\n")
			}
			indent(buf, depth+1)
			writeJSONString(buf, k)
			buf.WriteString(": ")
			writeJSON(buf, v[k], depth+1)
		}
		buf.WriteByte('\n')
		indent(buf, depth)
		buf.WriteByte('}')
	case []any:
		if len(v) == 0 {
			buf.WriteString("[]")
			return
		}
		buf.WriteString("[\n")
		for i, e := range v {
			if i > 0 {
				buf.WriteString(",\n")
			}
			indent(buf, depth+1)
			writeJSON(buf, e, depth+1)
		}
		buf.WriteByte('\n')
		indent(buf, depth)
		buf.WriteByte(']')
	case string:
		writeJSONString(buf, v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= maxExactInt {
			buf.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
			return
		}
		b, _ := json.Marshal(v)
		buf.Write(b)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			buf.WriteString("null")
			return
		}
		buf.Write(b)
	}
}

func indent(buf *bytes.Buffer, depth int) {
	for range depth {
		buf.WriteString("  ")
	}
}

// jsonKeyOrder lists the keys of m: @context, id/@id, @value, type/@type,
// @language, then the others sorted.
func jsonKeyOrder(m map[string]any) []string {
	keys := sortedKeys(m)
	rank := func(k string) int {
		switch k {
		case "@context":
			return 0
		case "id", "@id":
			return 1
		case "@value":
			return 2
		case "type", "@type":
			return 3
		case "@language":
			return 4
		}
		return 5
	}
	out := keys[:0:0]
	for r := range 6 {
		for _, k := range keys {
			if rank(k) == r {
				out = append(out, k)
			}
		}
	}
	return out
}

// writeJSONString writes s as a JSON string without HTML escaping; invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func writeJSONString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[r>>4])
			buf.WriteByte(hex[r&0xf])
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}

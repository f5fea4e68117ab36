package publish

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// A minimal scanner over JSON text that json.Valid has accepted: it walks
// the members of objects and the elements of arrays without building
// values, so the publish path inspects an event without allocating a
// decoded tree. Every function here assumes valid JSON.

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// eachMember calls fn with the raw key (with quotes) and raw value of each
// member of the object starting at b[i] == '{', in order. It returns the
// index after the object.
func eachMember(b []byte, i int, fn func(key, val []byte) error) (int, error) {
	i = skipWS(b, i+1)
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		ks := i
		i = skipString(b, i)
		key := b[ks:i]
		i = skipWS(b, i)
		i = skipWS(b, i+1) // ':'
		vs := i
		i = skipValue(b, i)
		if err := fn(key, b[vs:i]); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if b[i] == '}' {
			return i + 1, nil
		}
		i = skipWS(b, i+1) // ','
	}
}

// eachElement calls fn with the raw value of each element of the array
// starting at b[i] == '['.
func eachElement(b []byte, i int, fn func(val []byte) error) (int, error) {
	i = skipWS(b, i+1)
	if b[i] == ']' {
		return i + 1, nil
	}
	for {
		vs := i
		i = skipValue(b, i)
		if err := fn(b[vs:i]); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if b[i] == ']' {
			return i + 1, nil
		}
		i = skipWS(b, i+1)
	}
}

// unquote returns the string a raw JSON string (with quotes) holds.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// errKeyCase is returned by checkKeys with the offending key.
type errKeyCase struct{ key string }

func (e errKeyCase) Error() string { return "key " + e.key }

// checkKeys checks that every object key in the value v (recursively) is
// lower-case snake_case: [a-z][a-z0-9_]*. JSON-LD keywords ("@type") are
// allowed.
func checkKeys(v []byte) error {
	switch v[0] {
	case '{':
		_, err := eachMember(v, 0, func(key, val []byte) error {
			k, _ := unquote(key)
			if !snakeCase(k) && !strings.HasPrefix(k, "@") {
				return errKeyCase{k}
			}
			return checkKeys(val)
		})
		return err
	case '[':
		_, err := eachElement(v, 0, checkKeys)
		return err
	}
	return nil
}

func snakeCase(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// syntaxError describes why data is not valid JSON, with the byte offset.
func syntaxError(data []byte) string {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " (at byte " + strconv.FormatInt(se.Offset, 10) + ")"
	}
	if err != nil {
		return err.Error()
	}
	return "invalid JSON"
}

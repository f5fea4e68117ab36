package jsoncheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func nested(depth int) []byte {
	return []byte(strings.Repeat(`{"a":[`, depth/2) + strings.Repeat(`[`, depth%2) + "1" + strings.Repeat(`]`, depth%2) + strings.Repeat(`]}`, depth/2))
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		want   error // nil, ErrInvalidUTF8 or ErrTooDeep
		offset int64
	}{
		{"empty", nil, nil, 0},
		{"plain object", []byte(`{"a": "b", "c": [1, 2, {"d": null}]}`), nil, 0},
		{"UTF-8 text", []byte(`{"name": "Zoë 日本 🎉"}`), nil, 0},
		{"brackets in strings do not count", []byte(`{"a": "` + strings.Repeat("[{", 1000) + `"}`), nil, 0},
		{"escaped quote keeps the string open", []byte(`{"a": "\"[[[[", "b": 1}`), nil, 0},
		{"escaped backslash ends before the quote", []byte(`{"a": "\\", "b": [1]}`), nil, 0},
		{"depth at the limit", nested(MaxDepth), nil, 0},
		{"depth over the limit", nested(MaxDepth + 1), ErrTooDeep, int64(bytes.LastIndexByte(nested(MaxDepth+1), '['))},
		{"very deep array", []byte(strings.Repeat("[", 1<<20)), ErrTooDeep, MaxDepth},
		{"invalid byte in a string", []byte("{\"a\": \"x\xffy\"}"), ErrInvalidUTF8, 8},
		{"truncated sequence", []byte("[\"\xe6\x97\"]"), ErrInvalidUTF8, 2},
		{"surrogate encoded in UTF-8", []byte("[\"\xed\xa0\x80\"]"), ErrInvalidUTF8, 2},
		{"invalid byte outside strings", []byte("[1,\x80]"), ErrInvalidUTF8, 3},
		{"backslash before a multi-byte rune", []byte("[\"\\é\"]"), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want an *Error wrapping %v", err, tt.want)
			}
			if ce.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d", ce.Offset, tt.offset)
			}
			if !strings.Contains(err.Error(), "byte offset") {
				t.Errorf("message %q does not give the byte offset", err)
			}
		})
	}
}

func TestCheckNamesTheLimit(t *testing.T) {
	err := Check(nested(MaxDepth + 1))
	if err == nil || !strings.Contains(err.Error(), "nested more than 256 deep") {
		t.Fatalf("Check = %v, want a message naming the limit of %d", err, MaxDepth)
	}
}

// TestPassedDepthDecodes shows the limit sits below encoding/json's own.
func TestPassedDepthDecodes(t *testing.T) {
	var v any
	if err := json.Unmarshal(nested(MaxDepth), &v); err != nil {
		t.Fatalf("a body at the limit does not decode: %v", err)
	}
}

func BenchmarkCheck10MB(b *testing.B) {
	unit := nested(MaxDepth)
	body := bytes.Repeat(append(unit, ' '), 10<<20/len(unit))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Check(body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"a": [1, "x\"]"]}`))
	f.Add(nested(MaxDepth))
	f.Add(nested(MaxDepth + 1))
	f.Add([]byte(strings.Repeat("[", 100000)))
	f.Add([]byte("[\"\xff\"]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		var ce *Error
		if err != nil && (!errors.As(err, &ce) || ce.Offset < 0 || ce.Offset >= int64(len(data))) {
			t.Fatalf("Check = %v: not an *Error with an offset inside the input", err)
		}
		// What passes is valid UTF-8 and, if it is JSON at all, decodes
		// without hitting encoding/json's own depth limit.
		if err == nil && json.Valid(data) {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber() // numbers past float64 are not this check's business
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("passed the check but does not decode: %v", err)
			}
		}
		if !errors.Is(err, ErrTooDeep) && errors.Is(err, ErrInvalidUTF8) == utf8.Valid(data) {
			t.Fatalf("Check = %v, but utf8.Valid = %v", err, utf8.Valid(data))
		}
	})
}

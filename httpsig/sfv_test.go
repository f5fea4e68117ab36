package httpsig

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// serializeDictionary serialises d; tests use it to check that parsing and
// serialising agree.
func serializeDictionary(d *httpsfv.Dictionary) (string, error) {
	return httpsfv.Marshal(d)
}

func TestParseDictionary(t *testing.T) {
	tests := []struct {
		in, want string // want "" means a parse error
	}{
		{`a=1`, `a=1`},
		{`a=1, b=2`, `a=1, b=2`},
		{`a=1,b=2`, `a=1, b=2`},
		{"a=1 ,\tb=2", `a=1, b=2`},
		{`  a=1  `, `a=1`},
		{`a`, `a`},
		{`a;x=1`, `a;x=1`},
		{`a=?1`, `a`},
		{`a=?0`, `a=?0`},
		{`a=1, a=2`, `a=2`},
		{`a=1, b=2, a=3`, `a=3, b=2`},
		{`a=-42`, `a=-42`},
		{`a=999999999999999`, `a=999999999999999`},
		{`a=1000000000000000`, ``},
		{`a=1.5`, `a=1.5`},
		{`a=1.500`, `a=1.5`},
		{`a=-0.25`, `a=-0.25`},
		{`a=123456789012.123`, `a=123456789012.123`},
		{`a=1234567890123.1`, ``},
		{`a=1.2345`, ``},
		{`a=1.`, ``},
		{`a="x\"y\\z"`, `a="x\"y\\z"`},
		{`a="\n"`, ``},
		{"a=\"\x7f\"", ``},
		{`a="unterminated`, ``},
		{`a=tok/en:x`, `a=tok/en:x`},
		{`a=*tok`, `a=*tok`},
		{`a=:aGVsbG8=:`, `a=:aGVsbG8=:`},
		// RFC 8941 4.2.7 says parsers SHOULD accept a byte sequence without
		// its "=" padding; httpsfv refuses it (every signer we know pads).
		{`a=:aGVsbG8:`, ``},
		{`a=:a-b:`, ``},
		{`a=:aGVsbG8=`, ``},
		{`a=()`, `a=()`},
		{`a=( "x"  "y" );p="q"`, `a=("x" "y");p="q"`},
		{`a=("x";k=1 y);z`, `a=("x";k=1 y);z`},
		{`a=("x""y")`, ``},
		{`a=("x"`, ``},
		{`a=(1, 2)`, ``},
		{`a=1;`, ``},
		{`a=1;B=2`, ``},
		{`a=1; b=2`, `a=1;b=2`},
		{`A=1`, ``},
		{`1a=1`, ``},
		{`*a.b_c-d=1`, `*a.b_c-d=1`},
		{`a=1,`, ``},
		{`a=1,,b=2`, ``},
		{`a=1 b=2`, ``},
		{``, ``},
		{`a=?2`, ``},
		{`a=%"x"`, ``},            // an RFC 9651 display string
		{`a=@1659578233`, ``},     // an RFC 9651 date
		{`a=1;d=@1659578233`, ``}, // a date parameter
		{`a=("x";d=%"y")`, ``},    // a display string in an inner list
		{`a="` + strings.Repeat("k", maxFieldBytes) + `"`, ``}, // longer than maxFieldBytes
		{`a=-`, ``},
	}
	for _, tt := range tests {
		d, err := parseDictionary(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseDictionary(%q) = %v, want an error", tt.in, d)
			} else if !errors.Is(err, errSyntax) {
				t.Errorf("parseDictionary(%q) error %v does not wrap errSyntax", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseDictionary(%q): %v", tt.in, err)
			continue
		}
		got, err := serializeDictionary(d)
		if err != nil || got != tt.want {
			t.Errorf("parseDictionary(%q) serialises to %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSignatureSplitLines(t *testing.T) {
	// A field may arrive in several lines; they combine with commas.
	s, err := parseSignature(
		[]string{`other=("@method");created=1;keyid="k";nonce="n"`, `sig1=("@method" "@target-uri");created=2;keyid="k2";nonce="n2"`},
		[]string{`other=:AAAA:`, `sig1=:AAAA:`},
	)
	if err != nil {
		t.Fatal(err)
	}
	if s.label != "sig1" || s.keyID != "k2" || s.created != 2 || len(s.components) != 2 {
		t.Fatalf("parsed %+v", s)
	}
	// Without sig1, the first signature is used.
	s, err = parseSignature([]string{`x=("@method");created=1;keyid="k";nonce="n", y=()`}, []string{`y=:AAAA:, x=:AAAA:`})
	if err != nil || s.label != "x" {
		t.Fatalf("parsed %+v, %v", s, err)
	}
}

func encodeB64(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

// The size limit stands in front of httpsfv on the verifying path too: a
// Signature-Input of more than maxFieldBytes is refused before parsing, even
// when it is well formed.
func TestParseSignatureFieldLimit(t *testing.T) {
	base := `sig1=("@method");created=1;keyid="k";nonce="n"`
	pad := `, x` + strings.Repeat("a", 60) + `=1`
	long := base
	for len(long) <= maxFieldBytes {
		long += pad
	}
	if _, err := parseSignature([]string{base}, []string{`sig1=:AAAA:`}); err != nil {
		t.Fatalf("short input: %v", err)
	}
	_, err := parseSignature([]string{long}, []string{`sig1=:AAAA:`})
	if !errors.Is(err, ErrBadSignature) || !errors.Is(err, errSyntax) {
		t.Fatalf("input of %d bytes: err = %v, want ErrBadSignature and errSyntax", len(long), err)
	}
	// The limit counts all field lines together: each line alone is short.
	lines := []string{base}
	for n := len(base); n <= maxFieldBytes; n += len(pad) {
		lines = append(lines, pad[2:])
	}
	_, err = parseSignature(lines, []string{`sig1=:AAAA:`})
	if !errors.Is(err, errSyntax) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("%d lines over the limit: err = %v", len(lines), err)
	}
}

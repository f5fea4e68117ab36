package httpsig

// Structured field values (RFC 8941) come from github.com/dunglas/httpsfv.
// This file is the one door to it: it bounds the input before the library
// sees it, narrows the library's RFC 9651 grammar back to RFC 8941 (no
// dates, no display strings), and refuses an empty dictionary.

import (
	"errors"
	"fmt"
	"time"

	"github.com/dunglas/httpsfv"
)

// errSyntax is wrapped by every structured field parse error.
var errSyntax = errors.New("malformed structured field")

// maxFieldBytes bounds a structured field value (all its lines joined)
// before it is parsed. A Signer's Signature-Input is a few hundred bytes and
// the key id, its largest part, is at most maxKeyIDLen; 16 KiB leaves room
// for several signatures and digests. httpsfv has no limit of its own.
const maxFieldBytes = 16 << 10

// parseDictionary parses a whole field value as an RFC 8941 dictionary. A
// repeated key keeps its first position and takes the last value.
func parseDictionary(field string) (*httpsfv.Dictionary, error) {
	if len(field) > maxFieldBytes {
		return nil, fmt.Errorf("%w: field value is %d bytes, more than %d", errSyntax, len(field), maxFieldBytes)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{field})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSyntax, err)
	}
	if len(d.Names()) == 0 {
		return nil, fmt.Errorf("%w: empty dictionary", errSyntax)
	}
	for _, key := range d.Names() {
		m, _ := d.Get(key)
		if err := checkMember(m); err != nil {
			return nil, fmt.Errorf("%w: member %q: %w", errSyntax, key, err)
		}
	}
	return d, nil
}

// checkMember refuses the bare item types RFC 9651 added to RFC 8941.
func checkMember(m httpsfv.Member) error {
	switch m := m.(type) {
	case httpsfv.Item:
		return checkItem(m)
	case httpsfv.InnerList:
		for _, it := range m.Items {
			if err := checkItem(it); err != nil {
				return err
			}
		}
		return checkParams(m.Params)
	}
	return fmt.Errorf("unknown member type %T", m)
}

func checkItem(it httpsfv.Item) error {
	if err := checkBareItem(it.Value); err != nil {
		return err
	}
	return checkParams(it.Params)
}

func checkParams(ps *httpsfv.Params) error {
	if ps == nil {
		return nil
	}
	for _, k := range ps.Names() {
		v, _ := ps.Get(k)
		if err := checkBareItem(v); err != nil {
			return fmt.Errorf("parameter %q: %w", k, err)
		}
	}
	return nil
}

func checkBareItem(v any) error {
	switch v.(type) {
	case time.Time:
		return errors.New("dates are not RFC 8941 structured fields")
	case httpsfv.DisplayString:
		return errors.New("display strings are not RFC 8941 structured fields")
	}
	return nil
}

// serializeInnerList serialises an inner list with its parameters.
func serializeInnerList(l httpsfv.InnerList) (string, error) {
	s, err := httpsfv.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errSyntax, err)
	}
	return s, nil
}

// serializeString quotes s as an sf-string; s must be printable ASCII.
func serializeString(s string) (string, error) {
	out, err := httpsfv.Marshal(httpsfv.NewItem(s))
	if err != nil {
		return "", fmt.Errorf("%w: string %q: %w", errSyntax, s, err)
	}
	return out, nil
}

// printableASCII reports whether s can be an sf-string.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

package httpsig

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Serialization of structured fields (RFC 8941 section 4.1). The values
// serialized here come from the parser or from this package, so they are
// already valid except for strings, which serializeString checks.

func serializeInnerList(l innerList) (string, error) {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range l.items {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := writeBareItem(&b, it.val); err != nil {
			return "", err
		}
		if err := writeParams(&b, it.params); err != nil {
			return "", err
		}
	}
	b.WriteByte(')')
	if err := writeParams(&b, l.params); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeParams(b *strings.Builder, ps params) error {
	for _, p := range ps {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.val.kind == kindBoolean && p.val.flag {
			continue
		}
		b.WriteByte('=')
		if err := writeBareItem(b, p.val); err != nil {
			return err
		}
	}
	return nil
}

func writeBareItem(b *strings.Builder, v bareItem) error {
	switch v.kind {
	case kindInteger:
		b.WriteString(strconv.FormatInt(v.num, 10))
	case kindDecimal:
		n := v.num
		if n < 0 {
			b.WriteByte('-')
			n = -n
		}
		frac := strings.TrimRight(fmt.Sprintf("%03d", n%1000), "0")
		if frac == "" {
			frac = "0"
		}
		b.WriteString(strconv.FormatInt(n/1000, 10) + "." + frac)
	case kindString:
		s, err := serializeString(v.str)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case kindToken:
		b.WriteString(v.str)
	case kindBytes:
		b.WriteString(":" + base64.StdEncoding.EncodeToString(v.raw) + ":")
	case kindBoolean:
		if v.flag {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	default:
		return fmt.Errorf("%w: item of unknown kind", errSyntax)
	}
	return nil
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

// serializeString quotes s as an sf-string; s must be printable ASCII.
func serializeString(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%w: string %q has a byte outside printable ASCII", errSyntax, s)
		}
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String(), nil
}

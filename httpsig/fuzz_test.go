package httpsig

import (
	"bytes"
	"testing"
)

// FuzzParseSignature feeds arbitrary Signature-Input and Signature values
// to the parser: it must not panic, and what it accepts must serialise back
// to text it parses to the same signature.
func FuzzParseSignature(f *testing.F) {
	f.Add(`sig1=("@method" "@target-uri" "content-digest" "content-type");created=1700000000;expires=1700000300;keyid="https://a.example/p/profile/card#key";alg="ed25519";nonce="abc"`, `sig1=:AAAA:`)
	f.Add(b26Input, b26Signature)
	f.Add(`a=1, b=(x y;z=?0);c=1.5, d=:aGk=:`, `a=:YQ==:`)
	f.Add(`sig1=();created=-1;keyid="";nonce=""`, `sig1=?1`)
	f.Fuzz(func(t *testing.T, input, sig string) {
		s, err := parseSignature([]string{input}, []string{sig})
		if err != nil {
			return
		}
		text, err := serializeInnerList(s.input)
		if err != nil {
			t.Fatalf("accepted input does not serialise: %v", err)
		}
		again, err := parseSignature([]string{s.label + "=" + text}, []string{s.label + "=:" + encodeB64(s.sig) + ":"})
		if err != nil {
			t.Fatalf("re-serialised %q does not parse: %v", text, err)
		}
		text2, _ := serializeInnerList(again.input)
		if text2 != text || !bytes.Equal(again.sig, s.sig) || again.keyID != s.keyID || again.nonce != s.nonce || again.created != s.created {
			t.Fatalf("round trip changed %q into %q", text, text2)
		}
	})
}

// FuzzParseDictionary checks that serialising a parsed dictionary is a
// fixed point: parse(serialize(d)) serialises to the same text.
func FuzzParseDictionary(f *testing.F) {
	f.Add(`a=1, b=2;x="y", c=("a" b 1.5 ?0 :aGk=:);p`)
	f.Add(`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`)
	f.Add(b26Input)
	f.Fuzz(func(t *testing.T, in string) {
		d, err := parseDictionary(in)
		if err != nil {
			return
		}
		text, err := serializeDictionary(d)
		if err != nil {
			t.Fatalf("accepted %q does not serialise: %v", in, err)
		}
		d2, err := parseDictionary(text)
		if err != nil {
			t.Fatalf("serialised %q does not parse: %v", text, err)
		}
		if text2, _ := serializeDictionary(d2); text2 != text {
			t.Fatalf("not a fixed point: %q -> %q", text, text2)
		}
	})
}

package webhook

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary webhook headers to VerifyAt: it must not
// panic, and it must accept only the signature made with the secret.
func FuzzVerify(f *testing.F) {
	f.Add(vecMsgID, "1614265330", vecSignature, vecPayload)
	f.Add("evt_1", "-1", "v1,AAAA v1a,BBBB", "")
	f.Add("a.b", "99999999999999999999", "v1,", "{}")
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := VerifyAt(vecSecret, h, []byte(body), time.Hour, time.Unix(vecTimestamp, 0))
		if err != nil {
			return
		}
		// Accepted: the header must hold the HMAC of exactly this input.
		want := independentSignText(vecSecret, h.Get(HeaderID), h.Get(HeaderTimestamp), body)
		if !slices.Contains(strings.Fields(h.Get(HeaderSignature)), want) {
			t.Fatalf("accepted id %q ts %q body %q with signature %q", id, ts, body, sig)
		}
	})
}

// FuzzParse checks that Parse does not panic and that what it accepts
// marshals and parses back to an equal event.
func FuzzParse(f *testing.F) {
	b, _ := sampleEvent().MarshalJSON()
	f.Add(string(b))
	f.Add(`{"specversion":"1.0","id":"1","source":"/s","type":"t","n":42}`)
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse([]byte(in))
		if err != nil {
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("parsed event does not marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("marshalled event %s does not parse: %v", out, err)
		}
		out2, _ := again.MarshalJSON()
		if string(out2) != string(out) {
			t.Fatalf("not a fixed point:\n%s\n%s", out, out2)
		}
	})
}

package storecopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
)

// encode returns a backup file of the given pairs (in key order) and
// sequence, as Backup writes it.
func encode(seq uint64, kv ...string) []byte {
	var b bytes.Buffer
	e := &encoder{w: &b, h: sha256.New()}
	e.write([]byte(header))
	for i := 0; i+1 < len(kv); i += 2 {
		e.record([]byte(kv[i]), []byte(kv[i+1]))
	}
	e.trailer(seq)
	return b.Bytes()
}

// FuzzDecode: the reader never panics, and it accepts only the valid
// files of the seed corpus: any change to one is refused (the checksum
// makes a valid file out of reach of a mutation), whether it only checks
// or also passes the records on.
func FuzzDecode(f *testing.F) {
	valid := [][]byte{
		encode(0),
		encode(7, "a", "1", "b", ""),
		encode(1<<40, "r/alice/profile/card", "{}", "s\x00\xff", string(bytes.Repeat([]byte{0xff}, 300))),
	}
	for _, v := range valid {
		f.Add(v)
	}
	f.Add([]byte("podserver-backup 1\nE"))
	f.Add([]byte("podserver-backup 1\nR\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		st, err := decode(ctx, bytes.NewReader(data), int64(len(data)), nil)
		var n int64
		st2, err2 := decode(ctx, bytes.NewReader(data), int64(len(data)), func(k, v []byte) error { n++; return nil })
		if (err == nil) != (err2 == nil) || (err == nil && st != st2) {
			t.Fatalf("checking alone: %+v, %v; passing records on: %+v, %v", st, err, st2, err2)
		}
		if err != nil {
			return
		}
		for _, v := range valid {
			if bytes.Equal(data, v) {
				if n != st.Keys {
					t.Fatalf("passed on %d records of %d", n, st.Keys)
				}
				return
			}
		}
		t.Fatalf("accepted a file that is none of the valid ones: %q (%+v)", data, st)
	})
}

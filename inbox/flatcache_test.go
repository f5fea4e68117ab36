package inbox

import (
	"bytes"
	"testing"
)

// The listing entries of copies are the same whether their shape comes
// from the cache or from parsing them, for bodies listed flat and not.
func TestFlatCacheSameEntries(t *testing.T) {
	bodies := []string{
		`{"id":"http://x/publish/1","topic":"t","data":{"n":1}}`,
		`{"id":"http://x/publish/2","data":{"@type":"X"}}`,
		`{"id":"rel","data":1}`,
		`{"url":"http://x/other"}`,
		`[1,2]`,
		`{"id":"http://x/publish/3","data":{"id":"relative"}}`,
	}
	var fc flatCache
	for round := range 2 { // the second round hits the cache
		for _, b := range bodies {
			it := Item{Body: []byte(b)}
			want := appendEntry(nil, "http://x/inbox/1", it, nil)
			if got := appendEntry(nil, "http://x/inbox/1", it, &fc); !bytes.Equal(got, want) {
				t.Errorf("round %d, %s: cached entry %s, want %s", round, b, got, want)
			}
		}
	}
	if len(fc.m) != len(bodies) {
		t.Errorf("%d bodies cached, want %d", len(fc.m), len(bodies))
	}
}

package lockedbuf_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"podserver/podtest/lockedbuf"
)

// Concurrent writers lose nothing (run with -race), and Lines picks the
// lines holding a substring, in order.
func TestBuffer(t *testing.T) {
	var b lockedbuf.Buffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				fmt.Fprintf(&b, "w%d line %d\n", w, i)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 200 {
		t.Fatalf("%d lines written, want 200", n)
	}
	got := b.Lines("w2 line 4")
	want := []string{"w2 line 4", "w2 line 40", "w2 line 41", "w2 line 42", "w2 line 43", "w2 line 44", "w2 line 45", "w2 line 46", "w2 line 47", "w2 line 48", "w2 line 49"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

package pod

import (
	"testing"
	"time"
)

// TestCommitIntervalOption: Options.CommitInterval 0 takes the 3ms default
// and a negative value becomes the store's 0, "commit each batch at once"
// (what serve --commit-interval 0 asks for; see cmd/podserver's
// TestCommitIntervalFlag).
func TestCommitIntervalOption(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0:                     3 * time.Millisecond,
		-1:                    0,
		-time.Second:          0,
		10 * time.Millisecond: 10 * time.Millisecond,
	} {
		o := Options{InMemory: true, CommitInterval: in}
		if err := o.setDefaults(); err != nil {
			t.Fatal(err)
		}
		if o.CommitInterval != want {
			t.Errorf("Options.CommitInterval %v: store gets %v, want %v", in, o.CommitInterval, want)
		}
	}
}

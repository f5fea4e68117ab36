package publish

// The fan-out backlog: the copies fan-out jobs have yet to write, in the
// whole store, and the bound on it (Config.FanoutMaxPending).
//
// The count is read from the store (the store.PrefixFanout batches left,
// one inbox path a line), so every node sharing a store sees the same
// backlog, whichever node published or runs the jobs. A read is cached for
// backlogFresh and made by one caller at a time; at 1,000,000 pending
// copies it reads about 25 MB of paths, so at most ten times a second, and
// the others go on with the last read meanwhile.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"podserver/apierr"
	"podserver/store"
)

// DefaultFanoutMaxPending is Config.FanoutMaxPending's default: at this
// machine's 60,000-80,000 copies a second, about a quarter of a minute of
// copies.
const DefaultFanoutMaxPending = 1_000_000

// backlogFresh is how long a read of the backlog is used before it is read
// again.
const backlogFresh = 100 * time.Millisecond

// fanoutAdmitWait is the longest a publish waits for the backlog to fall
// under the bound before it is refused.
const fanoutAdmitWait = 10 * time.Second

// MsgBacklogFull is a format: the copies pending and the bound. A publish
// that would queue more fan-out copies than the server takes gets it with
// 503 and Retry-After.
const MsgBacklogFull = "This server has %d event copies for subscribers still to write, and takes at most %d (serve --fanout-max-pending): publish again in a few seconds"

// backlog caches the last read of the fan-out backlog.
type backlog struct {
	mu sync.Mutex
	at time.Time // when n was read (zero: never)
	n  int
	// reading is closed when the read under way ends (nil: none).
	reading chan struct{}
}

// backlogStale is how old a read may be to answer while another caller
// reads the backlog again: at 1,000,000 pending copies a read takes tens
// of milliseconds, which publishes then need not wait for.
const backlogStale = time.Second

// FanoutPending returns the copies the store's fan-out jobs have yet to
// write (a read at most backlogFresh old, or backlogStale old while a new
// one is under way). Failed jobs' copies, kept as dead letters, are not
// counted.
func (s *Service) FanoutPending(ctx context.Context) (int, error) {
	b := &s.backlog
	b.mu.Lock()
	for {
		age := time.Since(b.at)
		switch {
		case !b.at.IsZero() && age < backlogFresh,
			!b.at.IsZero() && age < backlogStale && b.reading != nil:
			n := b.n
			b.mu.Unlock()
			return n, nil
		case b.reading != nil:
			reading := b.reading
			b.mu.Unlock()
			select {
			case <-reading:
			case <-ctx.Done():
				return 0, fmt.Errorf("publish: read the fan-out backlog: %w", ctx.Err())
			}
			b.mu.Lock()
			continue
		}
		break
	}
	reading := make(chan struct{})
	b.reading = reading
	b.mu.Unlock()
	n := 0
	err := s.cfg.Store.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixFanout), nil, false, func(_, v []byte) error {
			if len(v) > 0 {
				n += bytes.Count(v, []byte{'\n'}) + 1
			}
			return nil
		})
	})
	b.mu.Lock()
	b.reading = nil
	if err == nil {
		b.at, b.n = time.Now(), n
	}
	b.mu.Unlock()
	close(reading)
	if err != nil {
		// Not kept: the error may be the caller's (its request ended).
		return 0, fmt.Errorf("publish: read the fan-out backlog: %w", err)
	}
	return n, nil
}

// admitFanout returns once the store's fan-out backlog leaves room for n
// more copies under Config.FanoutMaxPending (or is empty, so that a fan-out
// larger than the bound still goes through), waiting up to
// fanoutAdmitWait; past that, or when ctx ends first, it returns the 503.
// Publishes admitted together may take the backlog past the bound by
// their copies: the bound holds the backlog near it, not exactly under.
func (s *Service) admitFanout(ctx context.Context, n int) error {
	limit := s.cfg.FanoutMaxPending
	if limit < 0 || n == 0 {
		return nil
	}
	deadline := time.Now().Add(fanoutAdmitWait)
	t := time.NewTimer(backlogFresh)
	defer t.Stop()
	last := -1 // the backlog last read
	for {
		pending, err := s.FanoutPending(ctx)
		if err != nil {
			if ctx.Err() != nil && last >= 0 {
				// The request ended while the backlog was read again.
				return s.backlogFull(last, limit)
			}
			return err
		}
		last = pending
		if pending == 0 || pending+n <= limit {
			return nil
		}
		if !time.Now().Add(backlogFresh).Before(deadline) {
			return s.backlogFull(pending, limit)
		}
		t.Reset(backlogFresh)
		select {
		case <-t.C:
		case <-ctx.Done():
			return s.backlogFull(pending, limit)
		}
	}
}

// backlogFull is the 503 of a publish refused for the backlog.
func (s *Service) backlogFull(pending, limit int) error {
	if s.cfg.OnBacklogFull != nil {
		s.cfg.OnBacklogFull()
	}
	return apierr.Newf(http.StatusServiceUnavailable, MsgBacklogFull, pending, limit).With("Retry-After", "5")
}

// fanoutCopies returns the subscriber copies the planned events would
// queue as fan-out jobs.
func (s *Service) fanoutCopies(plan []planned, now time.Time) int {
	n := 0
	for i := range plan {
		if s.fansOut(&plan[i], now) {
			n += plan[i].subs
		}
	}
	return n
}

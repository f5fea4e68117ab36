package publish

// ?wait for a fan-out job, on whichever node runs it.

import (
	"context"
	"errors"

	"podserver/deliver"
	"podserver/store"
)

// awaitJob waits, until ctx is done, for the fan-out job of p to end, and
// sets p.queued to the copies it has not written and p.failed when it
// failed for good (a dead letter now holds them). It reads the job's state
// from the store (the batches left, and the dead letter), so it follows a
// job that another node sharing the store runs: it reads again whenever
// the delivery queue learns of a change (deliver.Queue.Changed: an attempt
// here, or another node's write to the queue, through the change feed),
// or this node ends the job.
func (s *Service) awaitJob(ctx context.Context, p *planned) {
	var local <-chan struct{}
	if p.waiter != nil {
		local = p.waiter.done
	}
	for {
		changed := s.cfg.Queue.Changed()
		left, failed, err := s.jobState(ctx, p)
		if err == nil {
			p.queued, p.failed = left, failed
			if left == 0 || failed {
				return
			}
		} else if ctx.Err() == nil {
			s.cfg.Logger.Warn("publish: read the state of a fan-out job", "event", p.url, "err", err)
		}
		select {
		case <-local:
			local = nil // read once more, then wait for changes
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// jobState returns the copies the fan-out job of p has yet to write (in
// its batches left), or, once none are left, those its dead letter holds,
// with failed true.
func (s *Service) jobState(ctx context.Context, p *planned) (left int, failed bool, err error) {
	err = s.cfg.Store.View(ctx, func(rd store.Reader) error {
		left, failed = 0, false
		err := rd.Scan(fanoutPrefix(p.path), nil, false, func(_, v []byte) error {
			left += countLines(v)
			return nil
		})
		if err != nil || left > 0 {
			return err
		}
		rs, err := deliver.ForEvent(rd, p.job.Pod, p.path)
		if err != nil && !errors.Is(err, deliver.ErrNoRecord) {
			return err
		}
		for _, r := range rs {
			if r.Kind == deliver.KindFanout && r.Status == deliver.StatusDead {
				left, failed = left+FanoutCopies(r), true
			}
		}
		return nil
	})
	return left, failed, err
}

// countLines counts the newline-separated lines of a non-empty v.
func countLines(v []byte) int {
	if len(v) == 0 {
		return 0
	}
	n := 1
	for _, c := range v {
		if c == '\n' {
			n++
		}
	}
	return n
}
